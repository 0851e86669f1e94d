"""Parts of Theano's API that programs and layer libraries rely on, beyond values: Theano-style
ops (``perform(node, inputs, output_storage)``, gradient markers, ``destroy_map``, C-only ops),
graph walks, modes, monitors, printing, the GPU probes and ``d3viz``."""
import io
import warnings

import numpy as np
import pytest

import symgraph
import symgraph.compat.theano_alias  # noqa: F401
import theano  # noqa: E402
import theano.tensor as T  # noqa: E402
from theano.gradient import DisconnectedType, grad_undefined  # noqa: E402


class Double(theano.Op):
    """A user op as the Theano documentation teaches it (types from itypes/otypes)."""

    __props__ = ()
    itypes = [T.dmatrix]
    otypes = [T.dmatrix]

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0] * 2

    def infer_shape(self, node, shapes):
        return shapes

    def grad(self, inputs, output_grads):
        return [output_grads[0] * 2]


class ScaleBy(theano.Op):
    """Two inputs: the gradient w.r.t. the integer factor is undefined, w.r.t. a flag input
    disconnected."""

    __props__ = ()

    def make_node(self, x, k, flag):
        x, k, flag = (T.as_tensor_variable(v) for v in (x, k, flag))
        return theano.Apply(self, [x, k, flag], [x.type()])

    def perform(self, node, inputs, output_storage):
        x, k, _ = inputs
        output_storage[0][0] = x * k

    def grad(self, inputs, output_grads):
        x, k, flag = inputs
        return [output_grads[0] * k, grad_undefined(self, 1, k), DisconnectedType()()]


class InPlaceNeg(theano.Op):
    """Declares that it overwrites its input (destroy_map)."""

    __props__ = ()
    destroy_map = {0: [0]}

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return theano.Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        x = inputs[0]
        np.negative(x, out=x)
        output_storage[0][0] = x


class COnly(theano.Op):
    __props__ = ()

    def make_node(self, x):
        return theano.Apply(self, [x], [x.type()])

    def c_code(self, node, name, inputs, outputs, sub):
        return ""


def test_user_op_with_itypes_computes_differentiates_and_infers_shapes(rng):
    x = T.dmatrix("x")
    y = Double()(x)
    assert y.type == T.dmatrix and Double() == Double()
    v = rng.standard_normal((3, 2))
    f = theano.function([x], [y, T.grad((y ** 2).sum(), x), y.shape])
    out, g, shape = f(v)
    np.testing.assert_allclose(out, 2 * v)
    np.testing.assert_allclose(g, 8 * v)
    assert tuple(shape) == (3, 2)
    with pytest.raises(TypeError, match="expected"):
        Double()(T.fmatrix())


def test_gradient_markers_of_user_ops():
    x, k, flag = T.dvector("x"), T.dscalar("k"), T.dscalar("flag")
    y = ScaleBy()(x, k, flag).sum()
    g = theano.function([x, k, flag], T.grad(y, x), on_unused_input="ignore")
    np.testing.assert_allclose(g(np.ones(3), 4.0, 0.0), [4.0] * 3)
    with pytest.raises(TypeError):  # only through an undefined gradient: NullTypeGradError
        T.grad(y, k)
    with pytest.raises(ValueError, match="not part of the computational graph"):
        T.grad(y, flag)


def test_destroy_map_ops_get_copies_of_their_inputs():
    x = T.dvector("x")
    f = theano.function([x], [InPlaceNeg()(x), x * 1])
    v = np.arange(3.0)
    neg, same = f(v)
    np.testing.assert_allclose(neg, -np.arange(3.0))
    np.testing.assert_allclose(v, np.arange(3.0))  # the caller's array is untouched


def test_c_only_ops_say_they_cannot_run():
    x = T.dvector("x")
    with pytest.raises(NotImplementedError, match="perform"):
        theano.function([x], COnly()(x))(np.ones(2))


def test_as_op_has_no_gradient():
    @theano.compile.ops.as_op(itypes=[T.dvector], otypes=[T.dvector])
    def rev(v):
        return v[::-1]
    x = T.dvector("x")
    np.testing.assert_allclose(theano.function([x], rev(x))(np.arange(3.0)), [2, 1, 0])
    with pytest.raises(NotImplementedError, match="as_op"):
        T.grad(rev(x).sum(), x)


def test_opfromgraph_grad_overrides(rng):
    x = T.dvector("x")
    op = theano.OpFromGraph([x], [T.exp(x)], grad_overrides=lambda i, g: [g[0] * 0 + 7.0])
    g = theano.function([x], T.grad(op(x).sum(), x))
    np.testing.assert_allclose(g(np.zeros(3)), [7.0] * 3)


def test_graph_walks_and_clone():
    x, y = T.dscalars("x", "y")
    z = (x + y) * x
    assert set(theano.gof.graph.inputs([z])) == {x, y}
    assert len(theano.gof.graph.ops([x, y], [z])) == 2
    assert x in theano.gof.graph.ancestors([z])
    z2 = theano.clone(z, replace={y: x})
    assert theano.gof.graph.inputs([z2]) == [x]
    assert theano.gof.graph.is_same_graph(z, (x + y) * x)
    assert not theano.gof.graph.is_same_graph(z, (x + y) * y)
    assert theano.gof.graph.is_same_graph(z2, (x + x) * x)
    cz = theano.clone(z)
    assert cz is not z and theano.gof.graph.equal_computations([cz], [z])
    new_in, new_out = theano.gof.graph.clone([x, y], [z])
    assert new_in[0] is not x and theano.gof.graph.equal_computations(new_out, [z], new_in,
                                                                       [x, y])


def test_modes_and_monitor():
    x = T.dvector("x")
    calls = []
    mode = theano.compile.MonitorMode(post_func=lambda i, node, fn: calls.append(
        (i, fn.outputs[0][0])))
    f = theano.function([x], T.exp(x) * 2, mode=mode)
    out = f(np.zeros(2))
    assert calls and np.allclose(calls[-1][1], out)
    m = theano.Mode(optimizer="fast_run").excluding("fusion")
    assert "fuse" not in m.phases and "canonicalize" in m.phases
    assert theano.compile.mode.get_mode("FAST_COMPILE").phases == ()
    with pytest.raises(ValueError, match="optimizer"):
        theano.Mode(optimizer="no_such_optimizer")


def test_printing():
    x = T.dvector("x")
    assert theano.pp(x * 2 + 1) == "((x * TensorConstant{2.0}) + TensorConstant{1.0})"
    text = theano.printing.debugprint(T.exp(x * 2).sum(), depth=2, file="str")
    assert text.count("\n") == 2
    buf = io.StringIO()
    import contextlib
    with contextlib.redirect_stdout(buf):
        theano.function([x], theano.printing.Print("seen")(x) * 2)(np.arange(2.0))
    assert "seen" in buf.getvalue()


def test_param_is_deprecated_in():
    x = T.dscalar("x")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        p = theano.Param(x, default=2.0)
    assert any("deprecated" in str(m.message) for m in w)
    assert theano.function([p], x * 3)() == 6.0


def test_gpu_modules_import_and_say_there_is_no_gpu():
    import theano.gpuarray
    import theano.gpuarray.dnn
    import theano.sandbox.cuda
    assert not theano.gpuarray.pygpu_activated and not theano.sandbox.cuda.cuda_available
    assert not theano.gpuarray.dnn.dnn_present() and "no GPU" in theano.gpuarray.dnn.dnn_present.msg
    with pytest.raises(RuntimeError, match="no GPU"):
        theano.gpuarray.use("cuda0")
    with pytest.raises(RuntimeError, match="no GPU"):
        theano.gpuarray.GpuArrayType("float32", (False,))


def test_d3viz_uses_symgraphs_page_or_says_it_is_missing(tmp_path):
    import theano.d3viz
    x = T.dvector("x")
    f = theano.function([x], x * 2)
    if callable(getattr(symgraph, "d3viz", None)):
        theano.d3viz.d3viz(f, str(tmp_path / "g.html"))
        assert (tmp_path / "g.html").exists()
    else:
        with pytest.raises(NotImplementedError, match="pydotprint"):
            theano.d3viz.d3viz(f, str(tmp_path / "g.html"))


def test_unsupported_pieces_fail_clearly():
    with pytest.raises(NotImplementedError, match="until"):
        theano.scan_module.until(T.dscalar() > 0)
    with pytest.raises(NotImplementedError, match="bsr"):
        theano.sparse.bsr_matrix("x")
    with pytest.raises(T.NotScalarConstantError):
        T.get_scalar_constant_value(T.dscalar())
    assert float(T.get_scalar_constant_value(T.constant(2.0) * 3)) == 6.0


@pytest.fixture
def at_exit(monkeypatch):
    """The profiles to print at exit, emptied for the test (and dropped after it)."""
    from symgraph.compat.theano.compile import profiling
    monkeypatch.setattr(profiling, "_atexit_print_list", [])
    return profiling


def test_profile_stats_arguments(at_exit):
    from theano.compile.profiling import ProfileStats
    x = T.dvector("x")
    p = ProfileStats(atexit_print=False, message="named", compile_time=0.5, gpu_checks=False)
    assert at_exit._atexit_print_list == []  # atexit_print=False: not registered
    f = theano.function([x], T.exp(x) * 2, profile=p)
    f(np.ones(3))
    f(np.ones(3))
    assert p.fct_callcount == 2 and p.fct_call_time == p.call_time > 0
    assert p.compile_time > 0.5 and p.message == "named" and "Message: named" in p.summary()
    assert p.flag_time_thunks and p.times
    q = ProfileStats(flag_time_thunks=False)
    assert at_exit._atexit_print_list == [q]  # printed at exit (when config.profile is set)
    g = theano.function([x], x + 1, profile=q)
    g(np.ones(2))
    assert q.calls == 1 and q.times == []
    with theano.config.change_flags(**{"profiling.time_thunks": False}):
        assert not ProfileStats(atexit_print=False).flag_time_thunks
    with pytest.raises(TypeError, match=r"ProfileStats.*\['line_width'\].*message"):
        ProfileStats(atexit_print=False, line_width=80)


def test_profile_mode_profiles(at_exit):
    x = T.dvector("x")
    for name in ("ProfileMode", "PROFILE_MODE"):
        f = theano.function([x], x * 2, mode=name)
        f(np.ones(2))
        assert f.mode.profile and f.profile.calls == 1 and f.profile._profile_mode
        assert at_exit._atexit_print_list[-1] is f.profile
    assert theano.function([x], x * 2, mode="ProfileMode", profile=False).profile is None
    assert theano.function([x], x * 2).profile is None


def test_function_rebuild_strict_and_accept_inplace(rng):
    m, v = T.dmatrix("m"), T.dvector("v")
    with pytest.raises(TypeError, match="rebuild_strict=False"):
        theano.function([v], T.exp(m), givens={m: v})
    f = theano.function([v], T.exp(m), givens={m: v}, rebuild_strict=False)
    x = rng.standard_normal(3)
    np.testing.assert_allclose(f(x), np.exp(x))
    # accept_inplace has nothing to guard: the destroying op works on a copy either way
    for accept in (False, True):
        g = theano.function([m], [InPlaceNeg()(m), m * 1], accept_inplace=accept)
        a = np.ones((2, 2))
        neg, same = g(a)
        np.testing.assert_array_equal(neg, -a)
        np.testing.assert_array_equal(same, a)
        np.testing.assert_array_equal(a, np.ones((2, 2)))


def test_function_dump_strips_tags_and_recompiles(tmp_path):
    import pickle
    x = T.dvector("x")
    y = x * 2
    y.tag.test_value, y.tag.note, x.tag.keep = np.ones(2), "drop me", "kept"
    path = str(tmp_path / "dump.pkl")
    theano.compile.function_dump(path, [x], y, extra_tag_to_remove=["note"])
    with open(path, "rb") as f:
        d = pickle.load(f)
    out = d["outputs"]
    assert not hasattr(out.tag, "test_value") and not hasattr(out.tag, "note")
    assert d["inputs"][0].tag.keep == "kept"
    np.testing.assert_array_equal(theano.function(**d)(np.arange(2.0)), [0.0, 2.0])


def test_profile_given_as_a_message(at_exit):
    x = T.dvector("x")
    f = theano.function([x], x * 2, profile="my message")
    assert f.profile.message == "my message" and at_exit._atexit_print_list == [f.profile]
    with pytest.raises(TypeError, match="profile must be"):
        theano.function([x], x * 2, profile=3)


def test_rebuild_collect_shared():
    from theano.compile import rebuild_collect_shared
    x, y, m = T.dvector("x"), T.dvector("y"), T.dmatrix("m")
    W = theano.shared(np.ones(3), name="W")
    W.default_update = W + 1
    s = theano.shared(np.zeros(3), name="s")
    out = (x * W).sum()
    ins, o, (clone_d, update_d, update_expr, shared_inputs) = rebuild_collect_shared(
        out, [y], replace={x: y}, updates=[(s, s + x)])
    assert ins == [y] and clone_d[x] is y and clone_d[out] is o and clone_d[W] is W
    assert [t for t, _ in update_expr] == [s, W] and set(update_d) == {s, W}
    assert shared_inputs == [W, s]
    f = theano.function([y], [o], updates=update_expr)
    assert float(f(np.arange(3.0))[0]) == 3.0
    np.testing.assert_array_equal(s.get_value(), [0.0, 1.0, 2.0])  # s + x, x replaced by y
    np.testing.assert_array_equal(W.get_value(), [2.0, 2.0, 2.0])  # the default update
    # no_default_updates: True drops them all, a list those it names
    for ndu in (True, [W]):
        _, _, (_, _, update_expr, _) = rebuild_collect_shared([out], [x],
                                                              no_default_updates=ndu)
        assert update_expr == []
    # copy_inputs_over=False: the rebuilt graph reads copies of its leaves
    ins, o, (clone_d, _, _, shared_inputs) = rebuild_collect_shared(
        [out], [x], copy_inputs_over=False, no_default_updates=True)
    assert ins[0] is not x and ins[0].name == "x" and clone_d[x] is ins[0]
    assert shared_inputs[0] is not W and shared_inputs[0].container is W.container
    assert float(theano.function(ins, o)(np.arange(3.0))[0]) == 6.0
    # rebuild_strict=False: a replacement of another type
    with pytest.raises(TypeError, match="substitution changes the type"):
        rebuild_collect_shared(T.exp(m), [x], replace={m: x})
    _, o, _ = rebuild_collect_shared(T.exp(m), [x], replace={m: x}, rebuild_strict=False)
    assert o.ndim == 1
    with pytest.raises(TypeError, match="shared variable"):
        rebuild_collect_shared(out, [W])
    with pytest.raises(TypeError, match="no_default_updates"):
        rebuild_collect_shared(out, [x], no_default_updates=(W,))


@pytest.mark.parametrize("call,error,message", [
    (lambda: theano.compile.debugmode.DebugMode(stability_patience=5), NotImplementedError,
     "stability_patience"),
    (lambda: theano.compile.debugmode.DebugMode(check_py_code=False), NotImplementedError,
     "check_py_code"),
    (lambda: theano.compile.debugmode.DebugMode(check_isfinite=True), NotImplementedError,
     "NanGuardMode"),
    (lambda: theano.compile.debugmode.DebugMode(optimizer="nope"), ValueError, "optimizer"),
    (lambda: theano.compile.debugmode.DebugMode(linker="nope"), ValueError, "linker"),
    (lambda: theano.printing.debugprint(T.dvector(), stop_on_name=True, file="str"),
     NotImplementedError, "stop_on_name"),
    (lambda: theano.printing.debugprint(T.dvector(), print_storage=True, file="str"),
     NotImplementedError, "print_storage"),
    (lambda: theano.printing.debugprint(T.dvector(), print_clients=True, file="str"),
     NotImplementedError, "print_clients"),
    (lambda: theano.printing.debugprint(T.dvector(), done={}, file="str"),
     NotImplementedError, "done"),
    (lambda: theano.scan_module.scan_utils.map_variables(lambda v: v, [T.dvector()],
                                                         additional_inputs=[T.dvector()]),
     NotImplementedError, "additional_inputs"),
    (lambda: theano.In(T.dvector(), implicit=True), NotImplementedError, "implicit"),
    (lambda: T.nnet.abstract_conv.conv2d_grad_wrt_weights(
        T.TensorType("float64", (False, True, False, False))("x"), T.dtensor4(), (2, 1, 3, 3),
        input_shape=(None, 5, None, None)), ValueError, "input_shape"),
    (lambda: T.nnet.abstract_conv.bilinear_upsampling(
        T.TensorType("float64", (True, False, False, False))("x"), 2, batch_size=4),
     ValueError, "batch_size"),
    (lambda: T.ScalarFromTensor("unused"), TypeError, "positional"),
])
def test_arguments_that_cannot_be_honoured_are_refused(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_debugmode_optimizer_chooses_the_phases():
    from symgraph.compile.mode import DEBUG
    assert theano.compile.debugmode.DebugMode() is DEBUG
    m = theano.compile.debugmode.DebugMode(optimizer="fast_compile", check_c_code=True,
                                           check_preallocated_output=["initial"],
                                           linker="py")
    assert m.phases == () and m.check == "debug"
    x = T.dvector("x")
    assert np.allclose(theano.function([x], T.exp(x), mode=m)(np.zeros(2)), 1.0)


def test_subgraph_grad_chains_and_details():
    w, x = T.dscalar("w"), T.dscalar("x")
    h = w * x
    cost = h ** 2 + w
    wrt_g, end_g = theano.gradient.subgraph_grad([w], [h], cost=cost)
    f = theano.function([w, x], wrt_g + end_g)
    # d cost / d w stops at h (1), d cost / d h = 2 h
    np.testing.assert_allclose(f(2.0, 3.0), [1.0, 12.0])
    # the next stage starts from h's gradient; the two stages sum to the full gradient
    wrt_g2, _ = theano.gradient.subgraph_grad([w], [x], start={h: end_g[0]})
    g = theano.function([w, x], wrt_g[0] + wrt_g2[0])
    full = theano.function([w, x], T.grad(cost, w))
    np.testing.assert_allclose(g(2.0, 3.0), full(2.0, 3.0))
    out = theano.gradient.subgraph_grad([w], [h], cost=cost, details=True)
    assert len(out) == 4 and out[2] is None and len(out[3]) == 2


def test_graph_helpers_honour_their_arguments():
    from theano.gof import graph as G
    x, y = T.dvector("x"), T.dvector("y")
    z = T.exp(x) + y
    leaves = G.as_string([x, y], [z], leaf_formatter=lambda v: f"<{v.name}>",
                         node_formatter=lambda node, args: f"{type(node.op).__name__}"
                                                           f"[{'|'.join(args)}]")
    assert "<x>" in leaves[0] and "<y>" in leaves[0] and "|" in leaves[0]
    assert G.op_as_string([x, y], z.owner, leaf_formatter=lambda v: "L") == \
        f"{z.owner.op}({G.as_string([x, y], [z.owner.inputs[0]], lambda v: 'L')[0]}, L)"
    items, inverse = G.stack_search([z], lambda v: v.owner.inputs if v.owner else None,
                                    build_inv=True)
    assert items[0] is z and inverse[y] == [z]
    assert G.stack_search([z], lambda v: None) == [z]


def test_as_string_of_a_deep_graph_needs_no_recursion():
    """A 3,000-step chain is written with the recursion limit 150 frames above the test."""
    import sys
    from theano.gof import graph as G
    x = T.dvector("x")
    y = x
    for _ in range(3000):
        y = y + 1
    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 150)
    try:
        text = G.as_string([x], [y], leaf_formatter=lambda v: "x" if v is x else "c")[0]
    finally:
        sys.setrecursionlimit(old)
    assert text == f"{y.owner.op}(" * 3000 + "x" + ", c)" * 3000


def test_utils_deprecated_and_traces(capsys):
    from theano.gof import utils
    calls = []

    @utils.deprecated("mymodule", "use g instead")
    def f(a):
        calls.append(a)
        return a * 2
    assert f(1) == 2 and f(2) == 4 and calls == [1, 2]
    assert capsys.readouterr().out == "WARNING: mymodule.f deprecated. use g instead\n"
    v = T.dvector("v")
    assert utils.get_variable_trace_string(v) == ""
    utils.add_tag_trace(v, user_line=1)
    assert len(v.tag.trace[0]) == 1
    assert "test_utils_deprecated_and_traces" in utils.get_variable_trace_string(v)


def test_values_eq_approx_and_descriptions():
    t = T.dvector().type
    a, b = np.array([1.0, np.inf, np.nan]), np.array([1.0, 5.0, 2.0])
    assert not t.values_eq_approx(a, b)
    assert not t.values_eq_approx(a, b, allow_remove_inf=True)
    assert t.values_eq_approx(a, b, allow_remove_inf=True, allow_remove_nan=True)
    assert t.values_eq_approx(np.array([np.nan]), np.array([np.nan]))
    x = T.dvector("x")
    assert theano.printing.min_informative_str(x, indent_level=3) == "   x"
    assert T.min_informative_str(x, 2) == "  x"
    assert "(x)" in str(theano.gradient.grad_undefined(None, 0, x))


def test_shape_hints_are_checked_not_ignored():
    from theano.tensor.nnet import abstract_conv as A
    x = T.TensorType("float64", (False, True, False))("x")
    w = T.dtensor3("w")
    with pytest.raises(ValueError, match="input_shape"):
        A.causal_conv1d(x, w, (2, 1, 2), input_shape=(None, 3, None))
    with pytest.raises(ValueError, match="entries"):
        A.causal_conv1d(x, w, (2, 1, 2), input_shape=(None, 1))
    A.causal_conv1d(x, w, (2, 1, 2), input_shape=(None, 1, None))
    img = T.dtensor4("img")
    dw, pw = T.dtensor4("dw"), T.dtensor4("pw")
    out = A.separable_conv2d(img, dw, pw, 2, input_shape=(None, 2, None, None),
                             depthwise_filter_shape=(2, 1, 3, 3),
                             pointwise_filter_shape=(4, 2, 1, 1))
    rng = np.random.default_rng(0)
    vals = [rng.standard_normal(s) for s in ((1, 2, 5, 5), (2, 1, 3, 3), (4, 2, 1, 1))]
    assert theano.function([img, dw, pw], out)(*vals).shape == (1, 4, 3, 3)
    with pytest.raises(ValueError, match="assert me"):
        theano.function([img], A.assert_shape(img, (1, 2, None, None), "assert me"))(
            np.zeros((3, 2, 1, 1)))

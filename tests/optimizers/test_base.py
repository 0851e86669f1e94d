"""The shared machinery: inputs, errors, ordering, state, registry, dtypes, generated code."""
import inspect
import re

import numpy as np
import pytest

import optimizers
import symgraph
import symgraph.tensor as T
from symgraph.gradient import DisconnectedInputError
from optim_reference import linreg_grads

ALL = optimizers.names()


def _model(rng, dtype="float64"):
    W = symgraph.shared(rng.standard_normal((3, 2)).astype(dtype), name="W")
    b = symgraph.shared(np.zeros(2, dtype=dtype), name="b")
    x, y = T.matrix("x", dtype=dtype), T.matrix("y", dtype=dtype)
    cost = T.mean(T.sqr(T.dot(x, W) + b - y))
    return W, b, x, y, cost


def test_registry_names_and_classes():
    assert ALL == ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam",
                   "adamw", "adamax", "nadam"]
    assert isinstance(optimizers.get("Adam", lr=0.5), optimizers.Adam)
    assert optimizers.get("adam", lr=0.5).lr == 0.5
    assert isinstance(optimizers.get("momentum_sgd"), optimizers.Momentum)
    with pytest.raises(KeyError, match="unknown optimizer 'lbfgs'.*adam"):
        optimizers.get("lbfgs")
    with pytest.raises(TypeError, match="get\\('sgd'\\).*momentum"):
        optimizers.get("sgd", momentum=0.9)


ISSUE_DEFAULTS = {
    "sgd": {"lr": 0.01}, "momentum": {"lr": 0.01, "momentum": 0.9},
    "nesterov": {"lr": 0.01, "momentum": 0.9}, "adagrad": {"lr": 0.01, "eps": 1e-6},
    "rmsprop": {"lr": 0.001, "alpha": 0.99, "eps": 1e-8},
    "adadelta": {"lr": 1.0, "rho": 0.95, "eps": 1e-6},
    "adam": {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
    "adamw": {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.01},
    "adamax": {"lr": 0.002, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
    "nadam": {"lr": 0.002, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
}


@pytest.mark.parametrize("name", ALL)
def test_defaults_are_in_the_signature(name):
    cls = optimizers.REGISTRY[name]
    params = inspect.signature(cls.__init__).parameters
    for key, value in ISSUE_DEFAULTS[name].items():
        assert params[key].default == value, (name, key)
    for key in ("weight_decay", "clip_norm", "clip_value"):
        assert params[key].default is not inspect.Parameter.empty
    assert "**" not in str(inspect.signature(cls.__init__))
    # and the docstring states the update equations
    assert "←" in cls.__doc__


@pytest.mark.parametrize("name", ALL)
def test_order_and_state(name, rng):
    W, b, x, y, cost = _model(rng)
    opt = optimizers.get(name)
    updates = opt.updates(cost, [W, b])
    keys = list(updates)
    n_state = len(opt.state_names)
    assert keys[:2] == [W, b]
    assert keys[-1] is opt.state[-1] and keys[-1].dtype == "int64"
    assert keys[2:-1] == opt.state[:-1]
    assert len(opt.state) == 2 * n_state + 1
    # each parameter's state in the class's fixed order, with the parameter's shape/dtype
    for i, p in enumerate([W, b]):
        for j, sname in enumerate(opt.state_names):
            s = keys[2 + i * n_state + j]
            assert s.name == f"{p.name}_{sname}"
            assert s.get_value().shape == p.get_value().shape
            assert s.dtype == p.dtype and s.ndim == p.ndim
            assert not s.get_value().any()
    # same construction -> same order (deterministic)
    again = optimizers.get(name).updates(cost, [W, b])
    assert [k.name for k in again] == [k.name for k in keys]


@pytest.mark.parametrize("name", ALL)
def test_float32_model_stays_float32(name, rng):
    W, b, x, y, cost = _model(rng, "float32")
    updates = optimizers.get(name, weight_decay=1e-3, clip_norm=10.0, clip_value=5.0) \
        .updates(cost, [W, b])
    for target, value in updates.items():
        assert value.dtype == target.dtype, (target, value.type)
    f = symgraph.function([x, y], cost, updates=updates)
    xv = rng.standard_normal((5, 3)).astype("float32")
    yv = rng.standard_normal((5, 2)).astype("float32")
    for _ in range(3):
        f(xv, yv)
    assert W.get_value().dtype == np.float32 and b.get_value().dtype == np.float32
    assert np.isfinite(W.get_value()).all()
    assert int(updates[list(updates)[-1]].owner is not None)
    assert list(updates)[-1].get_value() == 3  # the step counter counted the calls


def test_step_counter_and_state_save_restore(rng):
    W, b, x, y, cost = _model(rng)
    opt = optimizers.Adam(lr=0.1)
    f = symgraph.function([x, y], cost, updates=opt.updates(cost, [W, b]))
    xv, yv = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    f(xv, yv)
    saved = opt.get_state_values(), W.get_value(), b.get_value()
    f(xv, yv)
    after_two = W.get_value()
    f(xv, yv)
    opt.set_state_values(saved[0])
    W.set_value(saved[1])
    b.set_value(saved[2])
    assert opt.state[-1].get_value() == 1
    f(xv, yv)
    np.testing.assert_array_equal(W.get_value(), after_two)
    with pytest.raises(ValueError, match="Adam.set_state_values: got 1 arrays for 5"):
        opt.set_state_values([np.zeros(1)])


def test_grads_argument(rng):
    W, b, x, y, cost = _model(rng)
    gW, gb = symgraph.grad(cost, [W, b])
    u = optimizers.SGD(lr=0.5).updates(grads=[gW, gb], params=[W, b])
    f = symgraph.function([x, y], cost, updates=u)
    xv, yv = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    W0, b0 = W.get_value(), b.get_value()
    f(xv, yv)
    rW, rb = linreg_grads(xv, yv, W0, b0)
    np.testing.assert_allclose(W.get_value(), W0 - 0.5 * rW, rtol=1e-12)
    np.testing.assert_allclose(b.get_value(), b0 - 0.5 * rb, rtol=1e-12, atol=1e-15)


def test_bad_inputs(rng):
    W, b, x, y, cost = _model(rng)
    opt = optimizers.Adam()
    with pytest.raises(TypeError, match=r"params\[1\].*not a shared variable"):
        opt.updates(cost, [W, x])
    with pytest.raises(TypeError, match="cost must be a scalar"):
        opt.updates(T.sqr(T.dot(x, W)), [W])
    with pytest.raises(ValueError, match="1 grads for 2 params"):
        opt.updates(grads=[symgraph.grad(cost, W)], params=[W, b])
    with pytest.raises(TypeError, match=r"grads\[0\] is 1-d but param W is 2-d"):
        opt.updates(grads=[b * 1.0], params=[W])
    with pytest.raises(TypeError, match="either cost or grads"):
        opt.updates(cost, [W], grads=[W * 1.0])
    with pytest.raises(TypeError, match="give a cost or grads"):
        opt.updates(params=[W])
    with pytest.raises(ValueError, match="given twice"):
        opt.updates(cost, [W, W])
    with pytest.raises(ValueError, match="params is empty"):
        opt.updates(cost, [])
    k = symgraph.shared(np.arange(3), name="k")
    with pytest.raises(TypeError, match="k.*int64.*float"):
        opt.updates(cost, [W, k])
    with pytest.raises(TypeError, match="Adam.lr must be a scalar"):
        optimizers.Adam(lr=T.vector("lrs")).updates(cost, [W])
    with pytest.raises(TypeError, match="Adam.lr must be a number or a symbolic scalar"):
        optimizers.Adam(lr="fast").updates(cost, [W])


def test_disconnected_parameter(rng):
    W, b, x, y, cost = _model(rng)
    unused = symgraph.shared(np.ones(4), name="unused")
    with pytest.raises(DisconnectedInputError, match="unused.*ignore_disconnected=True"):
        optimizers.SGD().updates(cost, [W, unused])
    u = optimizers.Momentum(lr=0.1).updates(cost, [W, unused], ignore_disconnected=True)
    f = symgraph.function([x, y], cost, updates=u)
    f(rng.standard_normal((5, 3)), rng.standard_normal((5, 2)))
    np.testing.assert_array_equal(unused.get_value(), np.ones(4))


def _committed(source: str, pname: str):
    """(the commit line's index, the name of the value committed to ``pname``, its cell)."""
    lines = source.splitlines()
    sv = re.search(rf"^\s+{pname} = (_sv\d+)\.value", source, re.M).group(1)
    commit = next(i for i, ln in enumerate(lines) if ln.strip().startswith("_commit("))
    cells, attrs, values = (re.findall(r"[\w']+", part) for part in
                            re.match(r"\s*_commit\(\((.*?)\), \((.*?)\), \((.*?)\)\)",
                                     lines[commit]).groups())
    k = next(k for k, (c, a) in enumerate(zip(cells, attrs)) if c == sv and a == "'value'")
    return commit, values[k], sv


def _update_block(source: str, pname: str):
    """The node comment and the source lines that produce the committed value of ``pname``."""
    lines = source.splitlines()
    commit, final, _ = _committed(source, pname)
    assigned = [i for i, ln in enumerate(lines[:commit])
                if re.match(rf"\s+{re.escape(final)} = ", ln)]
    first, last = min(assigned), max(assigned)
    if "  # " in lines[first]:  # one-line form: ``v = expr  # Op -> type``
        return lines[first].split("  # ", 1)[1], lines[first:last + 1]
    start = max(i for i in range(first) if lines[i].strip().startswith("#"))
    return lines[start], lines[start:last + 1]


@pytest.mark.parametrize("name", ["sgd", "momentum", "rmsprop", "adam"])
def test_update_is_one_fused_kernel(name, rng):
    """Compiled with the fusing pipeline, each parameter's new value comes from ONE fused
    node (the whole update expression: an elementwise Composite, or a GEMM for SGD on a dot
    gradient), written into the parameter's spare buffer (its storage after the commit)."""
    pytest.importorskip("symgraph.rewrite.fusion", reason="needs the elementwise fusion pass")
    W, b, x, y, cost = _model(rng)
    f = symgraph.function([x, y], cost, updates=optimizers.get(name).updates(cost, [W, b]))
    rule_ops = {"sgd": ("sub", "mul"), "momentum": ("add",),
                "rmsprop": ("sqrt", "true_div", "mul"), "adam": ("sqrt", "true_div", "mul")}
    for p in (W, b):
        comment, block = _update_block(f.source, p.name)
        if "Gemm" in comment:
            # p - lr * dot(a, b) became one in-place GEMM (the gradient's dot folded in)
            assert name == "sgd" and p is W, (p, comment)
        else:
            assert "Composite{" in comment, (p, comment, f.source)
            for op in rule_ops[name]:
                assert f"{op}(" in comment, (p, op, comment)
        # no other node is computed between the fused kernel and the commit
        # (the whole-array fallback of a chunked or one-loop group repeats the same update)
        # every branch that produces the value takes it from this one node (a group's
        # comment lists its members, the update's node among them)
        final = _committed(f.source, p.name)[1]
        node = comment.strip().lstrip("# ").split(": ", 1)[-1].split("; ")[-1]
        for i, ln in enumerate(block):
            if re.match(rf"\s+{re.escape(final)} = ", ln) and "  # " not in ln:
                above = next(b for b in reversed(block[:i]) if b.strip().startswith("#"))
                assert node in above or "Gemm" in comment, (p, ln, above)
        spare = "_spare" + _committed(f.source, p.name)[2][3:]
        assert any(f"out={spare})" in ln or f"_gemm_update({spare}," in ln or
                   f"{spare})" in ln for ln in block), ("not into its spare", p, block)


# a hyper-parameter outside its range -> the fragment the error must contain
BAD_HYPER = [
    ({"lr": -0.1}, "lr must be >= 0, got -0.1 (a negative rate climbs the cost"),
    ({"lr": float("nan")}, "lr must be >= 0, got nan"),
    ({"weight_decay": -1e-4}, "weight_decay must be >= 0"),
    ({"clip_norm": 0.0}, "clip_norm must be > 0, got 0.0"),
    ({"clip_value": -1.0}, "clip_value must be > 0"),
]
BAD_OWN = [  # hyper-parameters of some optimizers only
    ("momentum", {"momentum": -0.5}, "momentum must be >= 0"),
    ("nesterov", {"momentum": -0.5}, "momentum must be >= 0"),
    ("adam", {"beta1": 1.0}, "beta1 must be >= 0 and < 1, got 1.0"),
    ("adamw", {"beta2": -0.1}, "beta2 must be >= 0 and < 1"),
    ("nadam", {"eps": -1e-8}, "eps must be >= 0"),
    ("rmsprop", {"alpha": -0.9}, "alpha must be >= 0"),
    ("adadelta", {"rho": 1.5}, "rho must be >= 0 and <= 1, got 1.5"),
]


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("hyper,fragment", BAD_HYPER)
def test_out_of_range_hyper_parameter_is_refused(name, hyper, fragment):
    cls = optimizers.REGISTRY[name]
    with pytest.raises(ValueError) as err:
        cls(**hyper)
    assert str(err.value).startswith(f"{cls.__name__}.{next(iter(hyper))} must be")
    assert fragment in str(err.value)


@pytest.mark.parametrize("name,hyper,fragment", BAD_OWN)
def test_out_of_range_own_hyper_parameter_is_refused(name, hyper, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)):
        optimizers.get(name, **hyper)


@pytest.mark.parametrize("name", ALL)
def test_zero_learning_rate_and_range_edges_are_accepted(name, rng):
    W, b, x, y, cost = _model(rng)
    opt = optimizers.get(name, lr=0.0, weight_decay=0.0)
    f = symgraph.function([x, y], cost, updates=opt.updates(cost, [W, b]))
    W0 = W.get_value()
    f(rng.standard_normal((4, 3)), rng.standard_normal((4, 2)))
    np.testing.assert_array_equal(W.get_value(), W0)  # a zero rate leaves the parameters


def test_learning_rate_checked_again_when_updates_are_built(rng):
    """A value set after construction, or a shared schedule's current value, is checked when
    the updates are built; nothing is created then."""
    W, b, x, y, cost = _model(rng)
    opt = optimizers.SGD(lr=0.1)
    opt.lr = -0.1
    with pytest.raises(ValueError, match="SGD.lr must be >= 0"):
        opt.updates(cost, [W, b])
    assert opt.state == []
    schedule = symgraph.shared(np.float64(-0.01), name="lr")
    with pytest.raises(ValueError, match=r"Momentum.lr must be >= 0, got -0.01"):
        optimizers.Momentum(lr=schedule)
    schedule.set_value(np.float64(0.01))
    opt = optimizers.Momentum(lr=schedule)
    schedule.set_value(np.float64(-0.01))
    with pytest.raises(ValueError, match="Momentum.lr must be >= 0"):
        opt.updates(cost, [W, b])
    # a symbolic expression cannot be checked before it runs: accepted as before
    optimizers.SGD(lr=T.dscalar("lr")).updates(cost, [W, b])

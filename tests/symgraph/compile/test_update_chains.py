"""Elementwise intermediates recomputed inside the updates that read them
(:mod:`symgraph.rewrite.update_chains`), and updates that read another update's old value:
the values are those of the graph as written, the chain runs as one loop, and every update is
computed into its spare buffer (no array allocated per call)."""
from collections import OrderedDict

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.backends import numba_loops
from symgraph.backends.numba_backend import NumbaBackend
from symgraph.rewrite import update_chains
from symgraph.compile.mode import FAST_RUN
from symgraph.fgraph import FunctionGraph
from symgraph.ops.composite import Composite, inline_producer
from symgraph.rewrite.fusion import fuse_elemwise

from linker_helpers import assert_one_storage, assert_two_buffers

NUMBA = FAST_RUN.__class__("NUMBA", backend="numba")
NUMPY = FAST_RUN.__class__("NUMPY", backend="numpy")


def adadelta_like(mode, shape=(40, 30), seed=3):
    """AdaDelta's updates of shared ``p``, ``eg``, ``ex`` from a gradient input ``g``: its
    step ``dx`` reads the new ``eg`` and is read by two updates, one of which (``p``'s) also
    reads the old value of another update's target (``ex``)."""
    r = np.random.default_rng(seed)
    p = symgraph.shared(r.standard_normal(shape).astype("float32"), "p")
    eg = symgraph.shared(r.uniform(0.1, 1, shape).astype("float32"), "eg")
    ex = symgraph.shared(r.uniform(0.1, 1, shape).astype("float32"), "ex")
    g = T.fmatrix("g")
    eg1 = 0.95 * eg + 0.05 * T.sqr(g)
    dx = -T.sqrt(ex + 1e-6) / T.sqrt(eg1 + 1e-6) * g
    ups = OrderedDict([(eg, eg1), (p, p + dx), (ex, 0.95 * ex + 0.05 * T.sqr(dx))])
    return symgraph.function([g], [], updates=ups, mode=mode), (p, eg, ex)


def reference(state, g):
    p, eg, ex = (a.astype(np.float64) for a in state)
    eg1 = 0.95 * eg + 0.05 * g * g
    dx = -np.sqrt(ex + 1e-6) / np.sqrt(eg1 + 1e-6) * g
    return p + dx, eg1, 0.95 * ex + 0.05 * dx * dx


@pytest.mark.parametrize("mode", ["NUMBA", "NUMPY", "FAST_COMPILE"])
def test_adadelta_chain_matches_the_reference(mode, rng):
    if mode == "NUMBA":
        pytest.importorskip("numba")
    f, shared = adadelta_like({"NUMBA": NUMBA, "NUMPY": NUMPY}.get(mode, mode))
    for _ in range(3):
        g = rng.standard_normal((40, 30)).astype("float32")
        want = reference([s.get_value() for s in shared], g.astype(np.float64))
        f(g)
        for s, w in zip(shared, want):
            np.testing.assert_allclose(s.get_value(), w, rtol=2e-5, atol=1e-6, err_msg=s.name)


def test_numba_runs_the_chain_as_one_loop_in_place(rng, monkeypatch):
    """With numba the step is recomputed inside both of its readers: the three updates are
    one group loop, nothing before the commit computes an update, the commit runs the loop
    over the variables' own storage, and the values are bit for bit those without the
    recomputation (updates computed into spare buffers)."""
    pytest.importorskip("numba")
    monkeypatch.setattr(numba_loops, "NUMBA_MIN_SIZE", 1)
    f, fast = adadelta_like(NUMBA)
    body, commit = f.source.split("# -- results and updates", 1)
    assert "# one loop:" in commit and commit.split("# one loop:")[1].split("\n")[0].count(
        "Composite{") == 3
    assert "_kernel" not in body.split("def compiled", 1)[-1]  # no fused node before it
    monkeypatch.setattr(NumbaBackend, "recompute_into_updates", False)
    h, plain = adadelta_like(NUMBA)
    assert "# one loop:" not in h.source

    def step():
        g = rng.standard_normal((40, 30)).astype("float32")
        f(g)
        h(g)
    assert_one_storage(fast, step)
    for a, b in zip(fast, plain):
        np.testing.assert_array_equal(a.get_value(), b.get_value(), err_msg=a.name)


@pytest.mark.parametrize("mode", ["NUMBA", "NUMPY"])
@pytest.mark.parametrize("n", [50, 300_000])  # below and above the NumPy chunked groups' size
def test_updates_read_each_others_old_values(mode, n, rng):
    """``a <- b + a``, ``b <- a * b``: each reads the other's OLD value, both are computed
    into their spares at the commit and each alternates between two buffers."""
    if mode == "NUMBA":
        pytest.importorskip("numba")
    a0, b0 = rng.standard_normal(n), rng.standard_normal(n)
    a, b = symgraph.shared(a0.copy(), "a"), symgraph.shared(b0.copy(), "b")
    f = symgraph.function([], [], updates=OrderedDict([(a, b + a), (b, a * b)]),
                          mode={"NUMBA": NUMBA, "NUMPY": NUMPY}[mode])
    assert "_spare" in f.source.split("# -- results and updates", 1)[1]
    want = [(a0, b0)]
    for _ in range(4):
        x, y = want[-1]
        want.append((y + x, x * y))
    it = iter(want[1:])

    def step():
        f()
        x, y = next(it)
        np.testing.assert_array_equal(a.get_value(), x)
        np.testing.assert_array_equal(b.get_value(), y)
    assert_two_buffers([a, b], step)


def _composite_of(expr_inputs, expr):
    fg = FunctionGraph(expr_inputs, [expr])
    fuse_elemwise(fg)
    node = fg.outputs[0].owner
    assert isinstance(node.op, Composite)
    return node


CASES = {
    # producer over (x, y); consumer over (producer, y, z)
    "shared input": (lambda x, y: T.exp(x) * y, lambda u, y, z: u + y * z),
    "read twice": (lambda x, y: T.sqrt(T.abs(x) + y * y), lambda u, y, z: u * u - z / (u + 1)),
    "broadcast row": (lambda x, y: x + y, lambda u, y, z: T.tanh(u) * z),
    "integers": (lambda x, y: T.cast(x * 3, "int32") + 1, lambda u, y, z: u * z + y),
}


@pytest.mark.parametrize("case", list(CASES))
def test_inline_producer_keeps_the_values(case, rng):
    """The merged program computes what the two composites computed, over every input
    once, with the broadcast shape of them all."""
    make_u, make_c = CASES[case]
    x, y, z = T.matrix("x"), T.row("y") if case == "broadcast row" else T.matrix("y"), \
        T.matrix("z")
    u = make_u(x, y)
    producer = _composite_of([x, y], u)
    pu = producer.outputs[0]
    uu = T.matrix("uu", dtype=pu.dtype)
    consumer_alone = _composite_of([uu, y, z], make_c(uu, y, z))
    consumer = consumer_alone.op(*[pu if v is uu else v for v in consumer_alone.inputs])
    merged = inline_producer(consumer.owner, pu)
    assert isinstance(merged.owner.op, Composite)
    assert len(merged.owner.inputs) == len(set(merged.owner.inputs))
    assert pu not in merged.owner.inputs
    xv = rng.standard_normal((3, 4))
    yv = rng.standard_normal((1, 4)) if case == "broadcast row" else rng.standard_normal((3, 4))
    zv = rng.standard_normal((3, 4))
    env = {x: xv, y: yv, z: zv}
    uv = producer.op.perform(*[env[v] for v in producer.inputs])
    env[pu] = uv
    want = consumer.owner.op.perform(*[env[v] for v in consumer.owner.inputs])
    got = merged.owner.op.perform(*[env[v] for v in merged.owner.inputs])
    np.testing.assert_array_equal(got, want)


def test_inline_producer_refuses_what_is_not_a_composite_input():
    x = T.matrix("x")
    node = _composite_of([x], T.exp(x) + 1)
    with pytest.raises(ValueError, match="inline_producer"):
        inline_producer(node, x)


def test_intermediates_read_by_other_nodes_stay(rng):
    """An intermediate that a returned value also reads is computed once, as before."""
    p = symgraph.shared(np.ones((4, 5), "float32"), "p")
    q = symgraph.shared(np.ones((4, 5), "float32"), "q")
    g = T.fmatrix("g")
    step = T.sqrt(T.abs(g) + 1) * 0.5
    fg = FunctionGraph([g, p, q], [T.sum(step), p - step, q + step * step])
    fuse_elemwise(fg)
    assert update_chains.inline_into_updates(fg, 1) == 0
    fg2 = FunctionGraph([g, p, q], [p - step, q + step * step])
    fuse_elemwise(fg2)
    assert update_chains.inline_into_updates(fg2, 0) == 1
    assert all(len(n.inputs) and n.op.program is not None for n in fg2.toposort())


def test_a_chain_of_intermediates_goes_whole_in_one_pass(rng):
    """``a`` feeds ``b`` and an update, ``b`` feeds two updates: both are recomputed into the
    updates (counted once each), and the compiled updates equal NumPy's."""
    p = symgraph.shared(rng.standard_normal((4, 5)), "p")
    q = symgraph.shared(rng.standard_normal((4, 5)), "q")
    g = T.matrix("g")
    a = T.sqrt(T.abs(g) + 1) * 0.5
    b = T.exp(-a) * a + g
    fg = FunctionGraph([g, p, q], [p - b * a, q + b * b])
    fuse_elemwise(fg)
    assert len(fg.toposort()) == 4  # a, b and the two updates
    assert update_chains.inline_into_updates(fg, 0) == 2
    assert len(fg.toposort()) == 2 and all(
        n.outputs[0] in fg.outputs for n in fg.toposort())
    gv, pv, qv = rng.standard_normal((4, 5)), p.get_value(), q.get_value()
    av = np.sqrt(np.abs(gv) + 1) * 0.5
    bv = np.exp(-av) * av + gv
    for out, want in zip(fg.outputs, (pv - bv * av, qv + bv * bv)):
        node = out.owner
        env = {g: gv, p: pv, q: qv}
        np.testing.assert_allclose(node.op.perform(*[env[x] for x in node.inputs]), want,
                                   rtol=1e-12)


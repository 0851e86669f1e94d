"""Updates the commit computes over their variables' own storage (a GEMM accumulated into
``W``, a chain of elementwise updates as one loop): each reads the values before the call,
whatever the order the commit runs them in, as the plain updates do."""
from collections import OrderedDict

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.compile.commit import CommitWriter

N = 6


def _vars(seed):
    r = np.random.default_rng(seed)
    names = ("A", "B", "m1", "p1", "m2", "p2")
    return {k: symgraph.shared(r.standard_normal((N, N)), k) for k in names}


def _chain(m, p, g):
    """An Adam-like pair: ``m`` from ``g``, then ``p`` from the new ``m``."""
    m1 = 0.9 * m + 0.1 * g
    return [(m, m1), (p, p - 0.01 * m1 / (T.sqrt(abs(m1)) + 1.0))]


def _two_products(s, x):
    return [(s["A"], s["A"] - 0.1 * T.dot(s["B"], x)), (s["B"], s["B"] - 0.1 * T.dot(s["A"], x))]


def _chain_reads_chain(s, x):
    return _chain(s["m1"], s["p1"], x) + _chain(s["m2"], s["p2"], s["p1"])


def _product_reads_chain(s, x):
    return _chain(s["m1"], s["p1"], x) + [(s["A"], s["A"] - 0.1 * T.dot(s["p1"], x))]


def _chain_reads_product(s, x):
    return [(s["A"], s["A"] - 0.1 * T.dot(x, s["B"]))] + _chain(s["m1"], s["p1"], s["A"])


def _independent(s, x):
    return _chain(s["m1"], s["p1"], x) + [(s["A"], s["A"] - 0.1 * T.dot(x, s["B"]))]


def _chain_writes_fresh(s, x):
    """The second member does not read its own variable: the loop stores into it anyway."""
    m1 = 0.9 * s["m1"] + 0.1 * x
    return [(s["m1"], m1), (s["p1"], T.tanh(m1) * 2.0)]


CASES = [_two_products, _chain_reads_chain, _product_reads_chain, _chain_reads_product,
         _independent, _chain_writes_fresh]
PARALLEL = symgraph.FAST_RUN.__class__("NUMBA_PARALLEL", backend="numba-parallel")


@pytest.mark.parametrize("mode", ["FAST_RUN", "NUMBA", "NUMPY"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__.strip("_"))
def test_updates_read_the_values_before_the_call(case, mode, rng):
    if mode == "NUMBA":
        pytest.importorskip("numba")
    x = T.dmatrix("x")
    s, r = _vars(1), _vars(1)
    f = symgraph.function([x], [], updates=OrderedDict(case(s, x)), mode=mode)
    h = symgraph.function([x], [], updates=OrderedDict(case(r, x)), mode="FAST_COMPILE")
    for _ in range(3):
        xv = rng.standard_normal((N, N))
        f(xv)
        h(xv)
        for k in s:
            np.testing.assert_allclose(s[k].get_value(), r[k].get_value(), rtol=1e-12,
                                       atol=1e-12, err_msg=k)


def test_an_update_whose_target_a_late_one_reads_goes_to_its_spare():
    """Of two products reading each other's variable, neither runs in its own storage: the
    commit runs late updates one after another, so the second would read the first's new
    value. An update no late one reads keeps its late run."""
    x = T.dmatrix("x")
    s = _vars(2)
    f = symgraph.function([x], [], updates=OrderedDict(_two_products(s, x)))
    assert "_gemm_late" not in f.source
    g = symgraph.function([x], [], updates=OrderedDict(_independent(s, x)))
    assert "_gemm_late" in g.source


@pytest.mark.parametrize("build, gemm", [
    (lambda c, a, b, m: c - 0.1 * T.dot(a, b), True),            # a leaf: accumulated into
    (lambda c, a, b, m: T.exp(c) + 2.0 * T.dot(a, b), False),    # fuses with exp instead
    (lambda c, a, b, m: 0.9 * c - 0.1 * T.dot(a, b), False),     # momentum's velocity
    (lambda c, a, b, m: T.dot(c, m) - 0.1 * T.dot(a, b), True),  # not elementwise
    (lambda c, a, b, m: [T.exp(c) - T.dot(a, b), T.exp(c)], True),  # exp(c) read elsewhere
])
def test_which_sums_become_gemm(build, gemm, rng):
    """``C + s * dot(A, B)`` becomes a Gemm unless C is an elementwise result read by nothing
    else (then the sum fuses with it: one pass instead of a pass, a copy and an array); the
    values agree with the graph as written either way."""
    from symgraph.ops.blas import Gemm
    c, a, b, m = T.dmatrix("c"), T.dmatrix("a"), T.dmatrix("b"), T.dmatrix("m")
    out = build(c, a, b, m)
    f = symgraph.function([c, a, b, m], out, on_unused_input="ignore")
    h = symgraph.function([c, a, b, m], out, mode="FAST_COMPILE", on_unused_input="ignore")
    assert any(isinstance(n.op, Gemm) for n in f.fgraph.toposort()) == gemm
    args = [rng.standard_normal((4, 4)) for _ in range(4)]
    for got, want in zip(f(*args), h(*args)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_momentum_runs_as_one_chain_in_place(rng):
    """Momentum's velocity and parameter are one loop over their own storage with numba (no
    Gemm over a scaled copy of the velocity), with the values of the plain updates."""
    pytest.importorskip("numba")
    import optimizers
    from symgraph.ops.blas import Gemm

    def build(mode):
        r = np.random.default_rng(4)
        W = symgraph.shared(r.standard_normal((30, 20)).astype("float32"), "W")
        x, y = T.fmatrix("x"), T.fmatrix("y")
        cost = T.mean(T.sqr(T.dot(x, W) - y))
        ups = optimizers.Momentum(lr=0.1).updates(cost, [W])
        return symgraph.function([x, y], cost, updates=ups, mode=mode), W
    (f, W), (h, W2) = build("NUMBA"), build("FAST_COMPILE")
    assert not any(isinstance(n.op, Gemm) for n in f.fgraph.toposort())
    assert "_late_group(" in f.source
    for _ in range(3):
        xv = rng.standard_normal((8, 30)).astype("float32")
        yv = rng.standard_normal((8, 20)).astype("float32")
        np.testing.assert_allclose(f(xv, yv), h(xv, yv), rtol=1e-5)
    np.testing.assert_allclose(W.get_value(), W2.get_value(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case, late", [(_chain_reads_chain, 1), (_chain_writes_fresh, 1),
                                        (_independent, 1), (_two_products, 0)])
def test_which_chains_the_commit_runs_in_place(case, late):
    """With numba, the commit runs a chain in its variables' own storage: one late loop per
    chain whose variables no other late update reads."""
    pytest.importorskip("numba")
    x = T.dmatrix("x")
    f = symgraph.function([x], [], updates=OrderedDict(case(_vars(3), x)), mode="NUMBA")
    assert f.source.count("_late_group(") == late


def test_parallel_loops_are_not_run_by_the_commit(rng):
    """numba-parallel's loops run on numba's threads, not as one native call: its chains go
    to their spares, with the values of the plain updates."""
    pytest.importorskip("numba")
    x = T.dmatrix("x")
    s, r = _vars(4), _vars(4)
    f = symgraph.function([x], [], updates=OrderedDict(_independent(s, x)), mode=PARALLEL)
    h = symgraph.function([x], [], updates=OrderedDict(_independent(r, x)),
                          mode="FAST_COMPILE")
    assert "_late_group" not in f.source and "_group(" in f.source
    xv = rng.standard_normal((N, N))
    f(xv)
    h(xv)
    for k in s:
        np.testing.assert_allclose(s[k].get_value(), r[k].get_value(), rtol=1e-12, err_msg=k)


@pytest.mark.parametrize("mode", ["FAST_RUN", "NUMBA", "NUMPY"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__.strip("_"))
def test_outputs_show_the_values_before_the_call(case, mode, rng):
    """A function returning the variables it updates returns their values before the call,
    though the commit then writes over their storage."""
    if mode == "NUMBA":
        pytest.importorskip("numba")
    x = T.dmatrix("x")
    s = _vars(5)
    ups = OrderedDict(case(s, x))
    outs = [v for v in ups] + [v.T for v in ups] + [v * 1.0 for v in ups]
    f = symgraph.function([x], outs, updates=ups, mode=mode)
    for _ in range(2):
        before = [v.get_value() for v in ups]
        got = f(rng.standard_normal((N, N)))
        n = len(before)
        for k, b in enumerate(before):
            np.testing.assert_array_equal(got[k], b)
            np.testing.assert_array_equal(got[n + k], b.T)
            np.testing.assert_array_equal(got[2 * n + k], b)

"""Graphs of any depth: nothing recurses once per level of a graph.

Each test runs under a recursion limit only ~150 frames above the test's own stack, so a walk
that recursed once per level of a graph would fail on the graphs here (several hundred levels
deep; with the default limit, fusion used to fail from 165 chained steps and pickling a
compiled function from 56). Every kind of graph is compiled in each mode, run against a NumPy
reference, pickled and unpickled, deep-copied, printed and checked by the IR verifier.
Compile time against size is measured by ``python -m benchmarks.compile_scaling``.
"""
import copy
import io
import pickle
import sys
from contextlib import contextmanager

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.fgraph import FunctionGraph
from symgraph.graph import clone_replace, toposort
from symgraph.ops.composite import Composite
from symgraph.printing import debugprint
from symgraph.verify import check_fgraph

HEADROOM = 150  # frames above the test's stack that the code under test may use


@contextmanager
def shallow_stack(headroom: int = HEADROOM):
    """Lower the recursion limit to the current depth plus ``headroom``."""
    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + headroom)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


# ---------------------------------------------------------------------------------------
# graph kinds: builder(n) -> (inputs, outputs, updates, args, reference(args, shared) ->
# (outputs, new shared values))
# ---------------------------------------------------------------------------------------

def elementwise_chain(n):
    """``y = tanh(y) + x``, n times."""
    x = T.dvector("x")
    y = x
    for _ in range(n):
        y = T.tanh(y) + x

    def reference(xv):
        y = xv
        for _ in range(n):
            y = np.tanh(y) + xv
        return [y], []
    return [x], [y], [], [np.linspace(-1, 1, 5)], reference


def scalar_chain(n):
    """``y = tanh(y) * x + 0.5``, n times, on scalars (a 0-d fused program)."""
    x = T.dscalar("x")
    y = x
    for _ in range(n):
        y = T.tanh(y) * x + 0.5

    def reference(xv):
        y = xv
        for _ in range(n):
            y = np.tanh(y) * xv + 0.5
        return [y], []
    return [x], [y], [], [0.7], reference


def product_chain(n):
    """``y = y * x + 1``, n times, summed."""
    x = T.dvector("x")
    y = x
    for _ in range(n):
        y = y * x + 1

    def reference(xv):
        y = xv
        for _ in range(n):
            y = y * xv + 1
        return [y.sum()], []
    return [x], [y.sum()], [], [np.linspace(-0.5, 0.5, 4)], reference


def update_chain(n):
    """A shared vector updated by a chain of n affine steps."""
    w0 = np.arange(3.0)
    W = symgraph.shared(w0.copy(), "W")
    x = T.dvector("x")
    v = W
    for _ in range(n):
        v = v * 0.5 + x

    def reference(xv):
        v = w0
        for _ in range(n):
            v = v * 0.5 + xv
        return [], [v]
    return [x], [], [(W, v)], [np.array([0.1, -0.2, 0.3])], reference


def deep_sums(n):
    """``y = y + 0.001 * sum(y, axis=0)``, n times: reductions inside the chain."""
    x = T.dmatrix("x")
    y = x
    for _ in range(n):
        y = y + y.sum(axis=0) * 0.001

    def reference(xv):
        y = xv
        for _ in range(n):
            y = y + y.sum(axis=0) * 0.001
        return [y.sum()], []
    return [x], [y.sum()], [], [np.linspace(-1, 1, 6).reshape(2, 3)], reference


def unrolled_rnn(n):
    """n steps of ``h = tanh(h W + x_t U)`` (no scan), its gradient and SGD updates."""
    rng = np.random.default_rng(0)
    w0, u0 = rng.standard_normal((4, 4)) * 0.3, rng.standard_normal((3, 4)) * 0.3
    W, U = symgraph.shared(w0.copy(), "W"), symgraph.shared(u0.copy(), "U")
    xs = T.dmatrix("xs")
    h = T.zeros((4,))
    for t in range(n):
        h = T.tanh(T.dot(h, W) + T.dot(xs[t % 5], U))
    cost = (h ** 2).sum()
    gW, gU = symgraph.grad(cost, [W, U])

    def reference(xv):
        hs = [np.zeros(4)]
        for t in range(n):
            hs.append(np.tanh(hs[-1] @ w0 + xv[t % 5] @ u0))
        dh, gw, gu = 2 * hs[-1], np.zeros_like(w0), np.zeros_like(u0)
        for t in range(n, 0, -1):
            da = dh * (1 - hs[t] ** 2)
            gw += np.outer(hs[t - 1], da)
            gu += np.outer(xv[(t - 1) % 5], da)
            dh = da @ w0.T
        return [(hs[-1] ** 2).sum()], [w0 - 0.01 * gw, u0 - 0.01 * gu]
    xv = np.linspace(-1, 1, 15).reshape(5, 3)
    return [xs], [cost], [(W, W - 0.01 * gW), (U, U - 0.01 * gU)], [xv], reference


def gradient_chain(n):
    """``d/dw sum(tanh^n(x w))``: the backward pass doubles the depth."""
    x, w = T.dvector("x"), T.dscalar("w")
    y = x * w
    for _ in range(n):
        y = T.tanh(y)
    cost = y.sum()

    def reference(xv, wv):
        y, dy = xv * wv, xv
        for _ in range(n):
            y = np.tanh(y)
            dy = (1 - y ** 2) * dy
        return [y.sum(), dy.sum()], []
    return [x, w], [cost, symgraph.grad(cost, w)], [], [np.linspace(-1, 1, 3), 0.7], reference


KINDS = {  # kind -> (builder, depth)
    "elementwise_chain": (elementwise_chain, 400),
    "product_chain": (product_chain, 400),
    "scalar_chain": (scalar_chain, 400),
    "update_chain": (update_chain, 400),
    "deep_sums": (deep_sums, 200),
    "unrolled_rnn": (unrolled_rnn, 80),
    "gradient_chain": (gradient_chain, 300),
}


def _check(f, args, reference, shared, rtol=1e-9):
    before = [s.get_value() for s, _ in shared]
    outs = f(*args)
    want_outs, want_shared = reference(*args)
    assert len(outs) == len(want_outs)
    for got, want in zip(outs, want_outs):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-12)
    for (s, _), want in zip(shared, want_shared):
        np.testing.assert_allclose(s.get_value(), want, rtol=rtol, atol=1e-12)
    for (s, _), value in zip(shared, before):  # restore: every call starts from the same state
        s.set_value(value)


@pytest.mark.parametrize("mode", ["FAST_RUN", "FAST_COMPILE"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_deep_graph_compiles_runs_and_pickles(kind, mode):
    build, n = KINDS[kind]
    inputs, outputs, updates, args, reference = build(n)
    with shallow_stack():
        f = symgraph.function(inputs, outputs, updates=updates, mode=mode)
        _check(f, args, reference, updates)
        g = pickle.loads(pickle.dumps(f, protocol=pickle.HIGHEST_PROTOCOL))
        # the loaded function updates the loaded shared variables, with the same results
        loaded_shared = [(t, None) for t, _ in g.updates]
        _check(g, args, reference, loaded_shared)
        assert all(t is not s for (t, _), (s, _) in zip(g.updates, updates))
        check_fgraph(f.fgraph)


@pytest.mark.parametrize("kind", ["elementwise_chain", "scalar_chain", "update_chain",
                                  "gradient_chain"])
def test_deep_graph_in_checking_modes(kind):
    # DebugMode and NanGuardMode write a fused program as one expression: a deep one runs
    # through the composite's perform instead of overflowing Python's parser
    build, n = KINDS[kind]
    inputs, outputs, updates, args, reference = build(n // 3)
    with shallow_stack():
        for mode in ("DebugMode", "NanGuardMode"):
            f = symgraph.function(inputs, outputs, updates=updates, mode=mode)
            _check(f, args, reference, updates)


def test_deep_graph_pickles_copies_clones_and_prints():
    inputs, outputs, _, args, reference = gradient_chain(400)
    x, w = inputs
    cost, grad = outputs
    with shallow_stack():
        loaded = pickle.loads(pickle.dumps((x, w, cost, grad)))
        copied = copy.deepcopy((x, w, cost, grad))
        for x2, w2, cost2, grad2 in (loaded, copied):
            f = symgraph.function([x2, w2], [cost2, grad2], mode="FAST_COMPILE")
            _check(f, args, reference, [])
        # givens rebuild the graph downstream of the replaced input (clone_replace)
        scale = T.dvector("scale")
        f = symgraph.function([scale, w], [cost, grad], givens={x: scale * 1.0})
        _check(f, args, reference, [])
        (rebuilt,) = clone_replace([cost], {w: w * 1.0})
        assert len(toposort([rebuilt])) == len(toposort([cost])) + 1
        text = debugprint(grad, file=io.StringIO(), depth=40)
        assert len(text.splitlines()) > 40 and "[id" in text
        check_fgraph(FunctionGraph([x, w], [cost, grad]))


def test_pickling_many_variables_of_one_graph_stays_linear():
    # each variable of a pickle lists only the nodes no earlier one listed: pickling every
    # variable of a chain costs about what pickling its last one does, and keeps identities
    x = T.dvector("x")
    chain = [x]
    for _ in range(400):
        chain.append(T.tanh(chain[-1]) + x)
    with shallow_stack():
        one = pickle.dumps(chain[-1])
        every = pickle.dumps(chain)
        assert len(every) < 1.5 * len(one)
        loaded = pickle.loads(every)
        assert loaded[-1].owner.inputs[0].owner.inputs[0] is loaded[-2]
        assert all(v.owner.inputs[1] is loaded[0] for v in loaded[1:])
        # a pickle made while another one is under way still lists what it needs
        late = pickle.loads(pickle.dumps(chain[200]))
        assert len(toposort([late])) == len(toposort([chain[200]]))


def test_composite_text_and_code_stay_small():
    x = T.dvector("x")
    y = x
    for _ in range(300):
        y = T.tanh(y) + x
    f = symgraph.function([x], y)
    (node,) = [n for n in f.fgraph.apply_nodes if isinstance(n.op, Composite)]
    assert len(node.op.program) == 600
    assert len(str(node.op)) < 2 * Composite.EXPRESSION_WIDTH
    assert node.op.emit(["x"]) is None  # too deep for one expression: perform runs it
    np.testing.assert_allclose(node.op.perform(np.ones(2)), f(np.ones(2)), rtol=1e-12)


def test_threads_pickling_one_deep_graph_at_once():
    import threading
    inputs, outputs, _, args, reference = elementwise_chain(400)
    results, errors = [], []

    def work():
        try:
            for _ in range(3):
                (y,) = pickle.loads(pickle.dumps(outputs))
                results.append(len(toposort([y])))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
    with shallow_stack():
        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors and results == [len(toposort(outputs))] * 12

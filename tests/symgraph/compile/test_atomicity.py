"""A call that raises changes no shared variable, wherever it raises.

The fault-injection tests rewrite the generated function of real train steps so that an
exception is raised before each statement of its commit section in turn (every statement from
the section's opening comment to the commit itself), the kinds of exception a call can meet
there taken in turn, and check every shared variable is left exactly as it was; the next
normal call then gives the reference result."""
from collections import OrderedDict

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from models import MLP
from optimizers import SGD, Adam
from symgraph.compile.commit import SECTION
from symgraph.compile.mode import FAST_RUN

BACKENDS = ["numpy"] + (["numba"] if pytest.importorskip("numpy") and
                        __import__("importlib").util.find_spec("numba") else [])
EXCEPTIONS = [FloatingPointError, MemoryError, KeyboardInterrupt, ImportError]


def _train_step(optimizer, backend, seed=0):
    model = MLP([12, 9, 4], activation="relu", seed=seed, dtype="float32")
    x, y = T.fmatrix("x"), T.lvector("y")
    cost = model.cost(x, y)
    mode = FAST_RUN.__class__("ATOMIC", backend=backend)
    f = symgraph.function([x, y], cost, updates=optimizer.updates(cost, model.params),
                          mode=mode)
    shared = [v for v in f.fgraph.inputs if hasattr(v, "container")]
    return f, shared


def _with_faults(f):
    """(namespace, source lines, statement line numbers of the commit section)."""
    lines = f._main_source.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.strip() == SECTION)
    stmts = [i for i in range(start + 1, len(lines))
             if lines[i].strip() and not lines[i].strip().startswith(("#", "else:", "elif "))
             and not lines[i].strip().startswith("return ")]
    return lines, stmts


def _faulty(f, lines, at: int, exc: type):
    """f's generated function, raising ``exc`` just before source line ``at``."""
    indent = lines[at][:len(lines[at]) - len(lines[at].lstrip())]
    src = "\n".join(lines[:at] + [f"{indent}raise _fault"] + lines[at:]) + "\n"
    ns = dict(f._fn.__globals__)
    ns["_fault"] = exc("injected")
    exec(compile(src, "<faulty>", "exec"), ns)
    return ns[f._fn.__name__]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("optimizer", [Adam, lambda: SGD(lr=0.1)], ids=["adam", "sgd"])
def test_a_fault_at_any_statement_of_the_commit_changes_nothing(optimizer, backend, rng):
    f, shared = _train_step(optimizer(), backend)
    ref, ref_shared = _train_step(optimizer(), "numpy")
    xv = rng.standard_normal((16, 12)).astype("float32")
    yv = rng.integers(0, 4, 16)
    for _ in range(2):  # warm: spares exist, kernels are compiled
        np.testing.assert_allclose(f(xv, yv), ref(xv, yv), rtol=1e-5)
    lines, stmts = _with_faults(f)
    assert len(stmts) > 5 and "_commit(" in lines[stmts[-1]]
    good = f._fn
    reached = set()
    for n, at in enumerate(stmts):
        # each statement meets one kind of exception, the kinds in turn
        for exc in EXCEPTIONS[n % len(EXCEPTIONS):][:1]:
            before = [s.get_value() for s in shared]
            f._fn = _faulty(f, lines, at, exc)
            try:
                f(xv, yv)
            except exc as e:
                assert str(e) == "injected"
                reached.add(at)
                for s, old in zip(shared, before):
                    np.testing.assert_array_equal(s.get_value(), old,
                                                  err_msg=f"{exc.__name__} before line {at}: "
                                                          f"{lines[at].strip()!r} changed {s}")
            else:
                ref(xv, yv)  # a branch this call does not take: it ran whole, so does ref
            finally:
                f._fn = good
        # the failed calls left the function usable: it continues exactly like the reference
        np.testing.assert_allclose(f(xv, yv), ref(xv, yv), rtol=1e-5)
        for a, b in zip(shared, ref_shared):
            np.testing.assert_allclose(a.get_value(), b.get_value(), rtol=1e-4, atol=1e-6)
    # the path the calls take was walked to its end: the commit itself was interrupted too
    assert stmts[-1] in reached and len(reached) > 10


def test_floating_point_error_in_an_update_under_errstate_raise_changes_nothing():
    """The case of the report: W's update is fine, b's overflows; with over='raise' the call
    raises and neither is committed (the NumPy back end honours errstate)."""
    W = symgraph.shared(np.ones((300, 300)), "W")
    b = symgraph.shared(np.full(300, 1e308), "b")
    x = T.vector("x")
    f = symgraph.function([x], [], updates=OrderedDict([(W, W - 0.2 * T.outer(x, x)),
                                                        (b, b * 10 + x)]))
    before_W, before_b = W.get_value(), b.get_value()
    with np.errstate(over="raise"):
        with pytest.raises(FloatingPointError):
            f(np.ones(300))
    np.testing.assert_array_equal(W.get_value(), before_W)
    np.testing.assert_array_equal(b.get_value(), before_b)


def test_a_borrowed_value_passed_as_input_is_never_written(rng):
    """An update is computed into a spare buffer that aliases no input: f(W's own storage)
    leaves that array as it was, call after call."""
    W = symgraph.shared(rng.standard_normal((50, 50)), "W")
    X = T.matrix("X")
    f = symgraph.function([X], [], updates=[(W, 0.5 * W + X)])
    for _ in range(4):
        arg = W.get_value(borrow=True)
        kept = arg.copy()
        f(arg)
        np.testing.assert_array_equal(arg, kept)
        np.testing.assert_allclose(W.get_value(), 1.5 * kept)


def test_an_in_place_update_that_fails_in_the_commit_changes_nothing(rng):
    """SGD's weight products are accumulated into the weights' own storage by the commit's
    C-level loop, before it assigns the other updates: when that call raises (it would before
    writing), no shared variable changes, and the function goes on like the reference."""
    f, shared = _train_step(SGD(lr=0.1), "numpy")
    ref, ref_shared = _train_step(SGD(lr=0.1), "numpy")
    assert "_gemm_late(" in f._main_source
    xv = rng.standard_normal((16, 12)).astype("float32")
    yv = rng.integers(0, 4, 16)
    for _ in range(2):
        np.testing.assert_allclose(f(xv, yv), ref(xv, yv), rtol=1e-6)
    ns = f._fn.__globals__
    good = ns["_gemm_late"]
    calls = []

    def failing(*args):
        late = good(*args)
        assert late is not None  # the case under test: the weights' own storage

        def run():
            calls.append(1)
            raise MemoryError("injected")
        return run
    before = [s.get_value() for s in shared]
    ns["_gemm_late"] = failing
    try:
        with pytest.raises(MemoryError, match="injected"):
            f(xv, yv)
    finally:
        ns["_gemm_late"] = good
    assert calls == [1]  # the commit called the first in-place update, which raised
    for s, old in zip(shared, before):
        np.testing.assert_array_equal(s.get_value(), old, err_msg=str(s))
    for _ in range(2):
        np.testing.assert_allclose(f(xv, yv), ref(xv, yv), rtol=1e-6)
    for a, b in zip(shared, ref_shared):
        np.testing.assert_array_equal(a.get_value(), b.get_value())

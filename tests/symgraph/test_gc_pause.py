"""The collector is paused during compilation and grad, and restored as it was found."""
import gc
import threading

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.gc_pause import gc_paused


def test_paused_blocks_nest_and_restore_the_state_found():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # a caller's own choice is kept
    finally:
        gc.enable()


def test_compile_and_grad_pause_it_and_a_failing_compile_restores_it(monkeypatch):
    from symgraph import gradient
    from symgraph.compile import function as function_module
    states = []

    def spying(original):
        def wrapper(*args, **kwargs):
            states.append(gc.isenabled())
            return original(*args, **kwargs)
        return wrapper
    monkeypatch.setattr(function_module, "optimize", spying(function_module.optimize))
    monkeypatch.setattr(gradient, "_backprop", spying(gradient._backprop))
    x = T.vector("x")
    symgraph.function([x], symgraph.grad(T.tanh(x).sum(), x))
    assert states == [False, False] and gc.isenabled()
    with pytest.raises(ValueError, match="not in the inputs"):
        symgraph.function([], x * 2)
    assert gc.isenabled()


def test_threads_compiling_at_once_leave_it_enabled():
    x = T.vector("x")
    errors = []

    def work():
        try:
            for _ in range(5):
                f = symgraph.function([x], T.exp(x) + 1)
                np.testing.assert_allclose(f(np.zeros(2)), [2.0, 2.0])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and gc.isenabled()

"""One compiled function called from several threads: calls run one at a time, so the buffers
the generated code reuses across calls are never shared by two calls in flight."""
import sys
import threading
from collections import OrderedDict

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T


@pytest.fixture
def eager_switching():
    """Switch threads as often as the interpreter allows (BLAS calls release the GIL too)."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def test_concurrent_calls_give_each_caller_its_own_result(rng, eager_switching):
    x, W = T.matrix("x"), T.matrix("W")
    h = T.tanh(T.dot(x, W) * 2 + 1)
    f = symgraph.function([x, W], [T.dot(h, W.T).sum(axis=1), (h * h).mean()])
    assert "_getbuf(" in f.source  # the function really reuses buffers across calls
    Wv = rng.standard_normal((40, 40))
    inputs = [rng.standard_normal((30, 40)) for _ in range(8)]
    wants = []
    for a in inputs:
        hv = np.tanh(a @ Wv * 2 + 1)
        wants.append(((hv @ Wv.T).sum(axis=1), (hv * hv).mean()))
    errors = []

    def worker(k):
        for _ in range(150):
            got = f(inputs[k], Wv)
            if not (np.allclose(got[0], wants[k][0], rtol=1e-10)
                    and np.allclose(got[1], wants[k][1], rtol=1e-10)):
                errors.append(k)
                return
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, f"threads {sorted(set(errors))} got another call's values"


def test_concurrent_updates_are_all_applied(eager_switching):
    """Every call of an updating function commits exactly once: n calls from k threads add
    n to the counter and n * x to the accumulator."""
    count = symgraph.shared(np.float64(0), "count")
    acc = symgraph.shared(np.zeros(500), "acc")
    x, M = T.vector("x"), T.matrix("M")
    # the product releases the GIL between reading the shared values and committing them
    f = symgraph.function([x, M], [], updates=OrderedDict([(count, count + 1),
                                                           (acc, acc + T.dot(M, x))]))
    ones, eye = np.ones(500), np.eye(500)

    def worker():
        for _ in range(200):
            f(ones, eye)
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert count.get_value() == 800
    np.testing.assert_array_equal(acc.get_value(), np.full(500, 800.0))


def test_pickled_and_copied_functions_have_their_own_lock(rng):
    import copy
    import pickle
    x = T.vector("x")
    f = symgraph.function([x], T.exp(x) + 1)
    for g in (pickle.loads(pickle.dumps(f)), copy.deepcopy(f)):
        assert g._lock is not f._lock
        a = rng.standard_normal(5)
        np.testing.assert_allclose(g(a), np.exp(a) + 1)


@pytest.mark.parametrize("mode", ["FAST_RUN", "FAST_COMPILE"])
def test_different_functions_updating_one_variable_from_threads(mode, eager_switching):
    """Two functions that update the same shared variables (and a third that only reads
    them), called from 4 threads: every update lands once, none is torn, and a reader sees
    the variables of one commit (acc is always 2 x count)."""
    count = symgraph.shared(np.float64(0), "count")
    acc = symgraph.shared(np.zeros(400), "acc")
    x, M = T.vector("x"), T.matrix("M")
    ones, eye = np.ones(400), np.eye(400)
    # each call adds 1 (f) or 2 (g) to count, and twice that to every element of acc
    f = symgraph.function([x, M], [], mode=mode,
                          updates=OrderedDict([(count, count + 1), (acc, acc + 2 * T.dot(M, x))]))
    g = symgraph.function([x, M], [], mode=mode,
                          updates=OrderedDict([(acc, acc + 4 * T.dot(M, x)), (count, count + 2)]))
    look = symgraph.function([], [count, acc], mode=mode)
    torn = []

    def writer(fn):
        for _ in range(100):
            fn(ones, eye)

    def reader():
        for _ in range(200):
            c, a = look()
            if not np.all(a == 2 * c):
                torn.append((float(c), float(a.min()), float(a.max())))
    threads = [threading.Thread(target=writer, args=(fn,)) for fn in (f, g, f, g)]
    threads.append(threading.Thread(target=reader))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert count.get_value() == 2 * 100 * (1 + 2)
    np.testing.assert_array_equal(acc.get_value(), np.full(400, 2 * 2 * 100 * (1 + 2.0)))
    assert not torn, torn[:3]

"""The planned buffers' memory (symgraph/backends/buffers.py ``Arena``, ``place``) and the
schedule that decides how many values are alive at once (symgraph/compile/storage.py
``schedule``): slots busy at the same time never share memory, the first call measures and
the arena is packed after it, a call that needs more is served and packs again, values are
freed as soon as their last reader (or their views' last reader) ran, and the results stay
what the unplanned function gives."""
import re

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.backends import buffers

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

BACKENDS = ["numpy", pytest.param("numba", marks=pytest.mark.skipif(
    not symgraph.backends.numba_available(), reason="numba not installed"))]


def _meet(a, b):
    return a[0] <= b[1] and b[0] <= a[1]


@st.composite
def blocks(draw):
    n = draw(st.integers(0, 40))
    sizes = draw(st.lists(st.integers(0, 5) .map(lambda k: 64 * k), min_size=n, max_size=n))
    spans = []
    for _ in range(n):
        start = draw(st.integers(0, 30))
        spans.append((start, start + draw(st.integers(0, 10))))
    return sizes, spans


@pytest.mark.parametrize("placer", [buffers.place, buffers.sweep])
@settings(max_examples=300, deadline=None)
@given(blocks())
def test_place_never_overlaps_blocks_busy_at_once(placer, case):
    sizes, spans = case
    offsets, total = placer(sizes, spans)
    used = [k for k, s in enumerate(sizes) if s]
    for i in used:
        assert offsets[i] >= 0 and offsets[i] + sizes[i] <= total
        for j in used:
            if i < j and _meet(spans[i], spans[j]):
                assert (offsets[i] + sizes[i] <= offsets[j] or
                        offsets[j] + sizes[j] <= offsets[i]), (i, j, offsets)
    assert total == max((offsets[k] + sizes[k] for k in used), default=0)
    # never more than no sharing at all, never less than what is busy at one position
    assert total <= sum(sizes)
    busy = max((sum(sizes[k] for k in used if spans[k][0] <= p <= spans[k][1])
                for p in range(42)), default=0)
    assert total >= busy


@pytest.mark.parametrize("sizes, spans, total", [
    ([640, 64, 128], [(0, 1), (2, 3), (4, 5)], 640),        # one after another: one region
    ([640, 64, 128], [(0, 5), (1, 2), (3, 4)], 640 + 128),  # the two small ones share
    ([64, 64], [(0, 2), (2, 3)], 128),                      # meeting at one position
    ([], [], 0),
])
def test_place_table(sizes, spans, total):
    assert buffers.place(sizes, spans)[1] == total
    assert buffers.sweep(sizes, spans)[1] == total


def test_many_slots_are_swept(monkeypatch):
    """Past GREEDY_SLOTS blocks, place takes the one-pass sweep (a long unrolled graph)."""
    assert buffers.GREEDY_SLOTS < 3000
    sizes = [64 * (1 + k % 3) for k in range(3000)]
    spans = [(k, k + 2) for k in range(3000)]  # three busy at a time
    offsets, total = buffers.place(sizes, spans)
    assert (offsets, total) == buffers.sweep(sizes, spans)
    assert total <= 2 * 6 * 64  # memory of a few blocks, not of 3000


def test_arena_measures_then_packs_then_grows():
    arena = buffers.Arena(["float32", "float64"], [(0, 1), (2, 3)])
    a, b = arena.slots
    x = buffers.get_buffer(a, (10, 3), "float32")
    assert arena.flag[0] and buffers.BASE not in a  # measured, not kept
    assert buffers.get_buffer(a, (10, 3), "float32") is not x
    buffers.get_buffer(b, (7,), "float64")
    arena.pack()
    assert not arena.flag[0]
    # disjoint spans: both at the front of one array as large as the larger one
    assert arena.nbytes == buffers.ALIGN * 2 and arena.memory.ctypes.data % buffers.ALIGN == 0
    x = buffers.get_buffer(a, (10, 3), "float32")
    y = buffers.get_buffer(b, (7,), "float64")
    assert np.shares_memory(x, arena.memory) and np.shares_memory(x, y)
    assert buffers.get_buffer(a, (10, 3), "float32") is x  # one lookup per call
    assert buffers.get_buffer(a, (2, 3), "float32").base is not None  # smaller: the front
    big = buffers.get_buffer(a, (100, 3), "float32")  # more than its region
    assert arena.flag[0] and not np.shares_memory(big, arena.memory)
    arena.pack()
    assert arena.nbytes == 1216  # 1200 bytes, aligned
    assert np.shares_memory(buffers.get_buffer(a, (100, 3), "float32"), arena.memory)


def _convnet():
    from symgraph.tensor.nnet import conv2d
    from symgraph.tensor.signal.pool import pool_2d
    x, w1, w2 = T.tensor4("x"), T.tensor4("w1"), T.tensor4("w2")
    h = pool_2d(T.maximum(conv2d(x, w1, border_mode="half") + 0.1, 0), (2, 2),
                ignore_border=True)
    h = pool_2d(T.maximum(conv2d(h, w2, border_mode="half") - 0.1, 0), (2, 2),
                ignore_border=True)
    cost = (h ** 2).sum()
    return [x, w1, w2], [cost] + T.grad(cost, [w1, w2])


@pytest.mark.parametrize("backend", BACKENDS)
def test_convnet_through_the_arena(rng, backend):
    """Batches of several sizes through one compiled convnet gradient: a larger batch is
    served with new arrays and packs the arena again, a smaller one uses the front of the
    regions, and every call gives what the unplanned function gives."""
    ins, outs = _convnet()
    mode = symgraph.compile.mode.FAST_RUN.__class__("t", backend=backend)
    f = symgraph.function(ins, outs, mode=mode)
    ref = symgraph.function(ins, outs, mode="FAST_COMPILE")
    arena = f._fn.__globals__["_arena"]
    w = (rng.standard_normal((4, 2, 3, 3)), rng.standard_normal((5, 4, 3, 3)))
    sizes = []
    for batch in (3, 3, 6, 2, 6):
        x = rng.standard_normal((batch, 2, 12, 12))
        for g, r in zip(f(x, *w), ref(x, *w)):
            np.testing.assert_allclose(g, r, rtol=1e-10)
        assert not arena.flag[0]
        sizes.append(arena.nbytes)
    assert 0 < sizes[0] == sizes[1] < sizes[2] == sizes[3] == sizes[4]
    # the slots share the arena: it is smaller than their regions laid end to end
    regions = [s[buffers.BASE].nbytes for s in arena.slots if buffers.BASE in s]
    assert len(regions) > 2 and arena.nbytes < sum(regions)


def _deep_convnet(rng, depth=5, channels=4):
    from symgraph.tensor.nnet import conv2d
    x = T.tensor4("x")
    params, h, cin = [], x, 2
    for k in range(depth):
        W = symgraph.shared(rng.standard_normal((channels, cin, 3, 3)) * 0.1, name=f"W{k}")
        b = symgraph.shared(np.zeros(channels), name=f"b{k}")
        params += [W, b]
        cin = channels
        h = T.maximum(conv2d(h, W, border_mode="half") + b.dimshuffle("x", 0, "x", "x"), 0)
    return x, (h ** 2).sum(), params


def test_the_schedule_does_not_depend_on_the_updates_order(rng):
    """A deep network's step keeps as few values alive whichever order its updates are given
    in: its gradients run layer by layer from the top, each filter gradient right after the
    output gradient it reads. (In the parameters' order, the first layer's filter gradient
    needed every output gradient, which all stayed alive until the filter gradients ran:
    half as much memory again here.)"""
    arenas = []
    x_val = rng.standard_normal((8, 2, 16, 16))
    for reverse in (False, True):
        x, cost, params = _deep_convnet(rng)
        grads = T.grad(cost, params)
        pairs = [(p, p - 0.1 * g) for p, g in zip(params, grads)]
        f = symgraph.function([x], cost, updates=pairs[::-1] if reverse else pairs)
        f(x_val)
        arenas.append(f._fn.__globals__["_arena"].nbytes)
    assert arenas[0] == arenas[1]


_ASSIGNED = re.compile(r"^    (v_\w+(?:, v_\w+)*) = ")


def _dense_relu():
    x, gz = T.matrix("x"), T.matrix("gz")
    W, b = T.matrix("W"), T.vector("b")
    cost = (T.maximum(T.dot(x, W) + b, 0) * gz).sum()
    return [x, gz, W, b], T.grad(cost, [W, b, x])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("graph", [_convnet, _dense_relu])
def test_every_value_is_freed_after_its_last_reader(backend, graph):
    """No local of the generated function outlives its last reader: each value computed
    before the commit and not read in it is deleted (a value read only through a view is
    deleted after that view's last reader)."""
    ins, outs = graph()
    mode = symgraph.compile.mode.FAST_RUN.__class__("t", backend=backend)
    lines = symgraph.function(ins, outs, mode=mode)._main_source.splitlines()
    end = next(k for k, ln in enumerate(lines) if ln.strip().startswith(("# commit", "_out =")))
    body, tail = lines[:end], "\n".join(lines[end:])
    deleted = set()
    for ln in body:
        if ln.strip().startswith("del "):
            deleted.update(n.strip() for n in ln.strip()[4:].split(","))
    # the graph's values (not a fused program's temporaries, ``v_3_t1``: their memory is
    # kept by the function anyway)
    names = {n for ln in body for m in [_ASSIGNED.match(ln)] if m
             for n in m.group(1).split(", ") if re.fullmatch(r"v(_\d+)?", n)}
    kept = {n for n in names - deleted if not re.search(rf"\b{n}\b", tail)}
    assert not kept, kept

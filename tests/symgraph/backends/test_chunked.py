"""Cache-blocked NumPy kernels: chunk by chunk equals whole-array NumPy, refusals fall back."""

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.backends import chunked
from symgraph.backends.chunked import ChunkedGroup
from symgraph.compile.mode import FAST_RUN
from symgraph.ops.composite import Composite

from linker_helpers import adam_like, assert_two_buffers


def _member(build, refs, target, n_scalar=0, dtype="float64"):
    """``(program, refs, target)`` for the Composite that ``build`` fuses to; ``build`` takes
    tensors (vectors, then ``n_scalar`` scalars) that come from ``refs`` in that order."""
    n_vec = len(refs) - n_scalar
    xs = [T.vector(f"x{k}", dtype=dtype) if k < n_vec else T.scalar(f"s{k}", dtype=dtype)
          for k in range(len(refs))]
    f = symgraph.function(xs, build(*xs))
    (node,) = [n for n in f.fgraph.toposort() if isinstance(n.op, Composite)]
    return node.op.program, [refs[xs.index(x)] for x in node.inputs], target


def test_single_program_over_chunks_equals_numpy(rng):
    member = _member(lambda a, b: T.exp(a * 2 + b) - T.log(a * a + 1), [("e", 0), ("e", 1)], 2)
    group = ChunkedGroup([member], ["float64"] * 3, [False] * 3,
                         chunk=64, min_size=1)
    a, b = rng.standard_normal(1000), rng.standard_normal(1000)  # 15 chunks and a partial one
    out = np.empty(1000)
    assert group(a, b, out)
    np.testing.assert_allclose(out, np.exp(a * 2 + b) - np.log(a * a + 1), rtol=1e-13)


def test_chained_updates_read_new_values_per_chunk(rng):
    """Adam's three updates as one group: m and v are new when the parameter reads them, every
    member reads old values from operands the group never writes, scalars pass whole."""
    shp = (37, 29)  # 1073 elements: not a multiple of the chunk
    p, m, v = rng.standard_normal(shp), rng.standard_normal(shp), rng.uniform(0.1, 1, shp)
    g, lr = rng.standard_normal(shp), 0.01
    want_m = 0.9 * m + 0.1 * g
    want_v = 0.999 * v + 0.001 * g * g
    want_p = p - lr * want_m / (np.sqrt(want_v) + 1e-8)
    # operands: 0 m, 1 g, 2 v, 3 p, 4 lr; written: 5 new m, 6 new v, 7 new p
    members = [_member(lambda m_, g_: 0.9 * m_ + 0.1 * g_, [("e", 0), ("e", 1)], 5),
               _member(lambda v_, g_: 0.999 * v_ + 0.001 * g_ * g_, [("e", 2), ("e", 1)], 6),
               _member(lambda p_, m_, v_, s: p_ - s * m_ / (T.sqrt(v_) + 1e-8),
                       [("e", 3), ("r", 0), ("r", 1), ("e", 4)], 7, n_scalar=1)]
    group = ChunkedGroup(members, ["float64"] * 8, [False] * 4 + [True] + [False] * 3,
                         chunk=100, min_size=1)
    olds = [x.copy() for x in (m, g, v, p)]
    news = [np.empty(shp) for _ in range(3)]
    assert group(m, g, v, p, np.float64(lr), *news)
    for got, want in zip(news, (want_m, want_v, want_p)):
        np.testing.assert_allclose(got, want, rtol=1e-13)
    for x, old in zip((m, g, v, p), olds):
        np.testing.assert_array_equal(x, old)


@pytest.mark.parametrize("members, message", [
    ([(lambda a, b: a * 2 + b, [("e", 0), ("e", 1)], 0)], "reads operand 0, which the group"),
    ([(lambda a, b: a * 2 + b, [("e", 0), ("e", 1)], 2),
      (lambda a, b: a - b, [("e", 1), ("r", 0)], 2)], "two members write the same operand"),
])
def test_groups_that_would_read_what_they_write_are_refused(members, message):
    built = [_member(*m) for m in members]
    with pytest.raises(ValueError, match=message):
        ChunkedGroup(built, ["float64"] * 3, [False] * 3)


@pytest.mark.parametrize("case", ["small", "strided", "shapes", "overlap"])
def test_refusals_leave_everything_untouched(case, rng):
    member = _member(lambda a, b: a * 2 + b, [("e", 0), ("e", 1)], 2)
    group = ChunkedGroup([member], ["float64"] * 3, [False] * 3,
                         chunk=16, min_size=100)
    a, b, out = rng.standard_normal(200), rng.standard_normal(200), np.zeros(200)
    if case == "small":
        a, b, out = a[:50].copy(), b[:50].copy(), out[:50].copy()
    elif case == "strided":
        a = rng.standard_normal(400)[::2]
    elif case == "shapes":
        b = rng.standard_normal((10, 20))
    else:
        b = out[::-1]  # reads the output backwards: chunks would see written values
    before = [x.copy() for x in (a, b, out)]
    assert group(a, b, out) is False
    for x, y in zip((a, b, out), before):
        np.testing.assert_array_equal(x, y)


def test_compiled_updates_run_in_chunks_in_place(rng, monkeypatch):
    monkeypatch.setattr(chunked, "CHUNK", 128)
    monkeypatch.setattr(chunked, "MIN_SIZE", 1000)
    shape = (41, 53)  # 2173 elements
    (f, got), (h, ref) = adam_like(FAST_RUN, shape=shape), adam_like("FAST_COMPILE", shape=shape)
    assert "# chunks:" in f.source

    def step():
        gv = rng.standard_normal(shape).astype("float32")
        f(gv, np.float32(0.5))
        h(gv, np.float32(0.5))
    assert_two_buffers(got, step)
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a.get_value(), b.get_value(), rtol=2e-5, atol=1e-6)
    # an input that is the storage of m itself: the chunked pass refuses, values stay right
    f(got[1].get_value(borrow=True), np.float32(2.0))
    h(ref[1].get_value(borrow=True), np.float32(2.0))
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a.get_value(), b.get_value(), rtol=2e-5, atol=1e-6)


EXPRESSIONS = {
    "chain": lambda p, x, y: T.exp(p * 0.1 + x) - T.log(p * p + 1),
    "tree": lambda p, x, y: (p + x) * (x - y) / (T.abs(y) + 1),
    "nary": lambda p, x, y: p + x + y + p * x * y,
    "compare": lambda p, x, y: T.switch(p > x, p * 3, y - 1) + (p >= 0) * x,
    "sigmoid": lambda p, x, y: T.sigmoid(p) * (1 - T.sigmoid(x)) + T.softplus(y),
    "cast": lambda p, x, y: T.cast(T.cast(p * 3, "int32"), "float64") + x * y,
    "clip": lambda p, x, y: T.clip(p, -0.5, 0.5) * T.maximum(x, y) + T.minimum(p, 0),
    "self_only": lambda p, x, y: T.sqrt(T.abs(p) + 1) * 0.5 - p,
    # a boolean mask converted to a float, which the NumPy code reads as it is
    "mask": lambda p, x, y: p - 0.1 * x * T.cast(y > 0, "float64"),
}


@pytest.mark.parametrize("expr", list(EXPRESSIONS))
def test_in_place_updates_of_every_kind_equal_whole_array_code(expr, rng, monkeypatch):
    """Updates built from the elementwise table (ufuncs with and without ``out=``, switch,
    casts, n-ary sums, the target read at several steps) give, chunk by chunk, what the
    unoptimized graph gives, including on the last partial chunk."""
    monkeypatch.setattr(chunked, "CHUNK", 100)
    monkeypatch.setattr(chunked, "MIN_SIZE", 1)

    def build(mode):
        p = symgraph.shared(np.random.default_rng(1).standard_normal((37, 29)), "p")
        x, y = T.matrix("x"), T.matrix("y")
        return symgraph.function([x, y], [], updates=[(p, EXPRESSIONS[expr](p, x, y))],
                                 mode=mode, on_unused_input="ignore"), p
    (f, p), (h, ref) = build(FAST_RUN), build("FAST_COMPILE")
    assert "# chunks:" in f.source, f.source
    for _ in range(2):
        xv, yv = rng.standard_normal((37, 29)), rng.standard_normal((37, 29))
        f(xv, yv)
        h(xv, yv)
        np.testing.assert_allclose(p.get_value(), ref.get_value(), rtol=1e-12, atol=1e-12)

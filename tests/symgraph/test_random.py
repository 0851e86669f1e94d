"""Random streams: distributions, default updates, reseeding, independence, Theano names."""
import importlib.util

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.random import RandomDraw, RandomStream, decode_state, encode_state
from symgraph.sandbox.rng_mrg import MRG_RandomStreams
from symgraph.tensor.shared_randomstreams import RandomStreams

N = 200_000  # large draws: standard errors are ~0.2% of the scale


def _draw(sample, inputs=(), values=(), **kw):
    return symgraph.function(list(inputs), sample, **kw)(*values)


def _seed(rng) -> int:
    return int(rng.integers(2 ** 31))


def test_state_round_trip(rng):
    bg = np.random.PCG64(_seed(rng))
    np.random.Generator(bg).random(3)  # move off the initial state
    words = encode_state(bg)
    assert words.dtype == np.uint64 and words.shape == (6,)
    a = np.random.Generator(decode_state(words)).random(5)
    b = np.random.Generator(bg).random(5)
    np.testing.assert_array_equal(a, b)


def test_uniform_statistics(rng):
    s = RandomStream(_seed(rng))
    v = _draw(s.uniform((N,), low=-2.0, high=3.0))
    assert v.dtype == np.float64 and v.shape == (N,)
    assert v.min() >= -2.0 and v.max() < 3.0
    assert abs(v.mean() - 0.5) < 0.02            # std of the mean ~ 0.0032
    assert abs(v.var() - 25 / 12) < 0.03


def test_normal_statistics(rng):
    s = RandomStream(_seed(rng))
    v = _draw(s.normal((N,), avg=1.5, std=2.0))
    assert abs(v.mean() - 1.5) < 0.03            # std of the mean ~ 0.0045
    assert abs(v.std() - 2.0) < 0.03


def test_binomial_statistics_and_symbolic_p(rng):
    s = RandomStream(_seed(rng))
    p = T.scalar("p")
    v = _draw(s.binomial((N,), n=5, p=p), [p], [0.3])
    assert v.dtype == np.int64 and v.min() >= 0 and v.max() <= 5
    assert abs(v.mean() - 1.5) < 0.03            # std of the mean ~ 0.0023
    assert abs(v.var() - 5 * 0.3 * 0.7) < 0.05
    # a tensor of probabilities: each column follows its own p
    pv = T.vector("pv")
    m = _draw(s.binomial((N // 10, 3), p=pv, dtype="float32"), [pv], [[0.1, 0.5, 0.9]])
    assert m.dtype == np.float32
    np.testing.assert_allclose(m.mean(axis=0), [0.1, 0.5, 0.9], atol=0.02)


def test_integers_choice_permutation_multinomial(rng):
    s = RandomStream(_seed(rng))
    v = _draw(s.random_integers((N,), low=1, high=6))
    assert v.min() == 1 and v.max() == 6 and abs(v.mean() - 3.5) < 0.03
    c = _draw(s.choice((N,), a=3, p=[0.2, 0.3, 0.5]))
    np.testing.assert_allclose(np.bincount(c) / N, [0.2, 0.3, 0.5], atol=0.01)
    c2 = _draw(s.choice((4,), a=np.array([10, 20, 30, 40]), replace=False))
    assert sorted(c2.tolist()) == [10, 20, 30, 40]
    perm = s.permutation(n=6)
    assert perm.ndim == 1
    pv = _draw(perm)
    assert sorted(pv.tolist()) == list(range(6))
    perms = _draw(s.permutation((3,), n=5))
    assert perms.shape == (3, 5) and all(sorted(r) == list(range(5)) for r in perms.tolist())
    pvals = T.matrix("pvals")
    counts = _draw(s.multinomial(n=1, pvals=pvals), [pvals], [np.full((N // 10, 4), 0.25)])
    assert counts.shape == (N // 10, 4) and np.all(counts.sum(axis=1) == 1)
    np.testing.assert_allclose(counts.mean(axis=0), 0.25, atol=0.02)


def test_symbolic_sizes(rng):
    s = RandomStream(_seed(rng))
    x = T.matrix("x")
    n = T.lscalar("n")
    xv = np.zeros((3, 4))
    assert _draw(s.uniform(x.shape), [x], [xv]).shape == (3, 4)
    assert _draw(s.normal((n, 2)), [n], [5]).shape == (5, 2)
    assert _draw(s.normal((x.shape[0], 7)), [x], [xv]).shape == (3, 7)
    # no size: the broadcast shape of the parameters
    lo = T.vector("lo")
    out = s.uniform(low=lo, high=lo + 1)
    assert out.ndim == 1
    v = _draw(out, [lo], [np.arange(4.0)])
    assert v.shape == (4,) and np.all((v >= np.arange(4)) & (v < np.arange(4) + 1))
    with pytest.raises(ValueError, match="ndim"):
        s.uniform((2, 3), ndim=3)


def test_static_shape_and_inferred_shape(rng):
    s = RandomStream(_seed(rng))
    x = T.matrix("x")
    u = s.uniform((2, 5))
    assert u.type.shape == (2, 5)
    n = s.normal(x.shape)
    assert n.type.shape == (None, None)
    from symgraph.testing import check_infer
    check_infer(lambda m: [s.normal(m.shape) * 2, s.binomial((3,), p=0.5),
                           s.permutation((2,), n=4), s.uniform(low=m, high=m + 1)],
                [np.zeros((3, 4))])


def test_default_updates_advance_and_no_default_updates_repeat(rng):
    s = RandomStream(_seed(rng))
    u = s.uniform((5,))
    f = symgraph.function([], u)
    a, b = f(), f()
    assert not np.allclose(a, b)
    g = symgraph.function([], u, no_default_updates=True)
    c, d = g(), g()
    np.testing.assert_array_equal(c, d)
    # g did not advance the state: f continues where it was
    f2 = symgraph.function([], u, no_default_updates=True)
    np.testing.assert_array_equal(f2(), c)


def test_explicit_update_overrides_default(rng):
    s = RandomStream(_seed(rng))
    u = s.uniform((3,))
    state, new_state = s.updates()[0]
    f = symgraph.function([], u, updates=[(state, state)])
    np.testing.assert_array_equal(f(), f())


def test_reseeding_reproduces(rng):
    seed = _seed(rng)
    s = RandomStream(seed)
    u, n, b = s.uniform((4,)), s.normal((4,)), s.bernoulli((64,))
    f = symgraph.function([], [u, n, b])
    first = f()
    f()
    s.seed(seed)
    again = f()
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    # a new stream with the same seed, building the same draws, gives the same numbers
    t = RandomStream(seed)
    other = symgraph.function([], [t.uniform((4,)), t.normal((4,)), t.bernoulli((64,))])()
    for a, b in zip(first, other):
        np.testing.assert_array_equal(a, b)
    s.seed(seed + 1)
    reseeded = f()
    assert not np.allclose(reseeded[0], first[0])
    assert not np.array_equal(reseeded[2], first[2])


def test_two_draws_in_one_graph_are_independent(rng):
    s = RandomStream(_seed(rng))
    a, b = s.normal((N,)), s.normal((N,))
    av, bv = symgraph.function([], [a, b])()
    assert not np.allclose(av, bv)
    assert abs(np.corrcoef(av, bv)[0, 1]) < 0.02   # std of the correlation ~ 0.0022
    # merge must not unify them either
    f = symgraph.function([], a - b)
    assert np.std(f()) > 1.3                        # sqrt(2) for independent draws


def test_same_draw_used_twice_is_one_sample(rng):
    s = RandomStream(_seed(rng))
    u = s.uniform((6,))
    v = symgraph.function([], u - u)()
    np.testing.assert_array_equal(v, 0)


def test_float32_and_floatx(rng):
    s = RandomStream(_seed(rng))
    assert s.uniform((2,), dtype="float32").dtype == "float32"
    with symgraph.config.change_flags(floatX="float32"):
        u = s.normal((3,))
    assert u.dtype == "float32"
    assert _draw(u).dtype == np.float32


def test_gradients(rng):
    s = RandomStream(_seed(rng))
    mu, sigma = T.scalar("mu"), T.scalar("sigma")
    z = s.normal((1000,), avg=mu, std=sigma)
    g_mu, g_sigma = symgraph.grad(z.sum(), [mu, sigma])
    f = symgraph.function([mu, sigma], [z, g_mu, g_sigma], no_default_updates=True)
    zv, gm, gs = f(0.5, 2.0)
    assert gm == pytest.approx(1000.0)
    assert gs == pytest.approx(np.sum((zv - 0.5) / 2.0))
    lo, hi = T.scalar("lo"), T.scalar("hi")
    u = s.uniform((100,), low=lo, high=hi)
    gl, gh = symgraph.grad(u.sum(), [lo, hi])
    uv, glv, ghv = symgraph.function([lo, hi], [u, gl, gh], no_default_updates=True)(1.0, 3.0)
    assert glv + ghv == pytest.approx(100.0)
    assert ghv == pytest.approx(np.sum((uv - 1.0) / 2.0))
    p = T.scalar("p")
    bern = s.binomial((10,), p=p, dtype="float64")
    with pytest.raises(Exception):
        symgraph.grad(bern.sum(), p)


def test_theano_names(rng):
    seed = _seed(rng)
    for cls in (RandomStreams, MRG_RandomStreams):
        r = cls(seed)
        u = r.uniform(size=(2, 3), low=0.0, high=1.0, ndim=2)
        n = r.normal(size=(2, 3), avg=0.0, std=1.0, ndim=None, dtype="float32")
        b = r.binomial(size=(2, 3), n=1, p=0.5, ndim=2, dtype="int64")
        assert (u.dtype, n.dtype, b.dtype) == ("float64", "float32", "int64")
        f = symgraph.function([], [u, n, b])
        first = f()
        r.seed(seed)
        np.testing.assert_array_equal(f()[0], first[0])
    assert MRG_RandomStreams().normal((2,), nstreams=4).ndim == 1
    assert symgraph.RandomStream is RandomStream


def test_dropout(rng):
    s = RandomStream(_seed(rng))
    x = T.matrix("x")
    xv = np.ones((400, 500))
    out = symgraph.function([x], T.nnet.dropout(x, 0.3, s))(xv)
    kept = out != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(out[kept], 1 / 0.7)
    assert abs(out.mean() - 1.0) < 0.02
    assert T.nnet.dropout(x, 0.3, s, training=False) is x
    p = T.scalar("p")
    sym = symgraph.function([x, p], T.nnet.dropout(x, p, s))(xv, 0.5)
    assert abs((sym != 0).mean() - 0.5) < 0.01
    fx = T.fmatrix("fx")
    assert T.nnet.dropout(fx, 0.5, s).dtype == "float32"
    # the gradient is the same mask, scaled
    g = symgraph.grad((T.nnet.dropout(x, 0.5, s) * 1.0).sum(), x)
    gv = symgraph.function([x], g)(xv)
    assert set(np.unique(gv).tolist()) <= {0.0, 2.0}
    with pytest.raises(ValueError, match="dropout"):
        T.nnet.dropout(x, 1.0, s)


def test_random_draw_errors():
    with pytest.raises(ValueError, match="unknown distribution"):
        RandomDraw("cauchy", "float64")
    with pytest.raises(TypeError, match="state"):
        RandomDraw("uniform", "float64")(T.vector(), (2,), 0.0, 1.0)


def test_truncated_normal(rng):
    s = MRG_RandomStreams(_seed(rng))
    v = _draw(s.normal((N,), avg=1.0, std=3.0, truncate=True))
    assert v.min() >= 1.0 - 6.0 and v.max() <= 1.0 + 6.0
    assert abs(v.mean() - 1.0) < 0.03
    # variance of a standard normal truncated to [-2, 2]: 1 - 4 phi(2) / (2 Phi(2) - 1)
    from math import erf, exp, pi, sqrt
    phi2 = exp(-2.0) / sqrt(2 * pi)
    ref_var = 1 - 4 * phi2 / erf(2 / sqrt(2))
    assert abs(v.var() / 9.0 - ref_var) < 0.01
    w = _draw(s.truncated_normal((3, 2)))
    assert w.shape == (3, 2) and np.all(np.abs(w) <= 2)


def test_unsupported_theano_arguments_are_refused(rng):
    s = MRG_RandomStreams(_seed(rng))
    s.uniform((2,), nstreams=8)  # accepted: meaningless for this generator
    with pytest.raises(TypeError, match="unsupported argument"):
        s.uniform((2,), bogus=1)


def test_documented_derivation_of_the_numbers(rng):
    """Draw k of RandomStream(seed) is NumPy's Generator(PCG64) on the k-th SeedSequence child
    of seed: the numbers depend on nothing but the seed and the creation order."""
    seed = _seed(rng)
    s = RandomStream(seed)
    a, b = s.uniform((5,)), s.normal((3,), avg=1.0, std=2.0)
    got_a, got_b = symgraph.function([], [a, b])()
    children = np.random.SeedSequence(seed).spawn(2)
    np.testing.assert_array_equal(got_a, np.random.Generator(np.random.PCG64(children[0]))
                                  .uniform(0.0, 1.0, 5))
    np.testing.assert_array_equal(got_b, np.random.Generator(np.random.PCG64(children[1]))
                                  .normal(1.0, 2.0, 3))


@pytest.mark.parametrize("mode", ["DebugMode", "NanGuardMode", "FAST_COMPILE"])
def test_checked_modes(mode, rng):
    # DebugMode re-runs perform on the same state: a draw is deterministic given its state
    s = RandomStream(_seed(rng))
    x = T.matrix("x")
    f = symgraph.function([x], [T.nnet.dropout(x, 0.5, s), s.normal(x.shape)], mode=mode)
    a, b = f(np.ones((4, 3)))
    assert a.shape == b.shape == (4, 3) and set(np.unique(a)) <= {0.0, 2.0}


def _splitmix(key: int, j: int) -> int:
    """Output ``j`` (1, 2, ...) of SplitMix64 seeded with ``key``, in Python integers."""
    m = (1 << 64) - 1
    z = (key + j * 0x9E3779B97F4A7C15) & m
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
    return z ^ (z >> 31)


def test_bernoulli_is_counter_based_splitmix64(rng):
    """The documented derivation: draw k of RandomStream(seed) is the SplitMix64 stream keyed
    by the first word of the k-th SeedSequence child of seed; a call drawing n booleans takes
    the next ceil(n / 2) 64-bit outputs, element i the low (even i) or high (odd i) half of
    output i // 2, True when below round(p * 2**32)."""
    seed = _seed(rng)
    s = RandomStream(seed)
    s.uniform((2,))  # draw 0: a PCG64 draw, which takes its own child
    f = symgraph.function([], s.bernoulli((3, 5), p=0.3))
    key = int(np.random.SeedSequence(seed, spawn_key=(1,)).generate_state(1, np.uint64)[0])
    threshold = round(0.3 * 2 ** 32)
    for call in range(3):  # 15 numbers per call: 8 outputs, the last high half unused
        words = [_splitmix(key, 8 * call + j) for j in range(1, 9)]
        halves = [h for w in words for h in (w & 0xFFFFFFFF, w >> 32)][:15]
        want = np.array([h < threshold for h in halves]).reshape(3, 5)
        np.testing.assert_array_equal(f(), want)
    state = s.state_updates[1][0].get_value()
    np.testing.assert_array_equal(state, np.array([key, 24], dtype=np.uint64))


def test_bernoulli_same_numbers_on_every_back_end(rng):
    """NumPy's arithmetic, numba's loops (above and below their size threshold) and the
    reference ``perform`` of DebugMode draw the same masks, call after call."""
    seed = _seed(rng)
    x = T.fmatrix("x")
    xs = [np.ones((100, 784), np.float32), np.ones((7, 9), np.float32)]
    results = {}
    modes = ["NUMPY", "DebugMode", "FAST_COMPILE"]
    if importlib.util.find_spec("numba") is not None:
        modes.append("NUMBA")
    p = T.scalar("p", dtype="float32")
    for mode in modes:
        s = RandomStream(seed)
        f = symgraph.function([x, p], [T.nnet.dropout(x, 0.1, s), T.nnet.dropout(x, p, s)],
                              mode=mode)
        results[mode] = [out for xv in xs + xs for out in f(xv, 0.25)]
    for mode in modes[1:]:
        for a, b in zip(results[modes[0]], results[mode]):
            np.testing.assert_array_equal(a, b)
    big = results["NUMPY"][0]
    assert abs((results["NUMPY"][1] == 0).mean() - 0.25) < 0.01
    assert set(np.unique(big).tolist()) == {0.0, np.float32(1 / 0.9)}


def test_bernoulli_streams_are_uniform_and_independent(rng):
    """The 32-bit numbers behind the masks, seen through masks at p = 1/2 and 1/16: each
    mask's frequency, the serial correlation of neighbours (the two halves of one 64-bit output
    and consecutive outputs), consecutive calls, two draws of a stream and two seeds all
    behave as independent fair coins (5 standard errors)."""
    seed = _seed(rng)
    n = 200_000
    s = RandomStream(seed)
    a, b = s.bernoulli((n,), p=0.5), s.bernoulli((n,), p=0.5)
    f = symgraph.function([], [a, b])
    a1, b1 = f()
    a2, _ = f()
    c1 = symgraph.function([], RandomStream(seed + 1).bernoulli((n,), p=0.5))()
    tol = 5 / np.sqrt(n)  # the standard error of a mean or correlation of n coins ~ 1/sqrt(n)

    def corr(u, v):
        return abs(np.corrcoef(u.astype(float), v.astype(float))[0, 1])
    for m in (a1, b1, a2, c1):
        assert abs(m.mean() - 0.5) < tol / 2
    assert corr(a1[:-1], a1[1:]) < tol           # neighbours (halves of one output, or not)
    assert corr(a1[0::2], a1[1::2]) < 2 * tol    # low and high half of the same output
    assert corr(a1[:-2], a1[2:]) < tol           # consecutive outputs
    assert corr(a1, a2) < tol and corr(a1, b1) < tol and corr(a1, c1) < tol
    # pairs of neighbours spread evenly over the four outcomes (chi-square, 3 dof)
    pairs = np.bincount(2 * a1[0::2].astype(int) + a1[1::2], minlength=4)
    chi2 = ((pairs - n / 8) ** 2 / (n / 8)).sum()
    assert chi2 < 16.3  # p = 0.001
    rare = symgraph.function([], s.bernoulli((n,), p=1 / 16))()
    assert abs(rare.mean() - 1 / 16) < 5 * np.sqrt(1 / 16 * 15 / 16 / n)


def test_bernoulli_state_of_another_layout_is_refused(rng):
    s = RandomStream(_seed(rng))
    f = symgraph.function([], s.bernoulli((4,), p=0.5))
    state = s.state_updates[0][0]
    before = np.array([1, 2, 3, 4, 5, 6], dtype=np.uint64)  # a PCG64 state
    state.set_value(before)
    with pytest.raises(ValueError, match="counter-based random state has 2"):
        f()
    np.testing.assert_array_equal(state.get_value(), before)


@pytest.mark.parametrize("p", [0.0, 1e-3, 0.1, 0.5, 0.9, 1.0])
def test_bernoulli_statistics(p, rng):
    s = RandomStream(_seed(rng))
    v = _draw(s.binomial((N,), n=1, p=p, dtype="float32"))
    assert v.dtype == np.float32 and set(np.unique(v)) <= {0.0, 1.0}
    # within 5 standard deviations of the mean (exact at p = 0 and p = 1)
    assert abs(v.mean() - p) <= 5 * np.sqrt(p * (1 - p) / N) + 1e-12


def test_bernoulli_probabilities_per_element_and_out_of_range(rng):
    s = RandomStream(_seed(rng))
    pv = T.vector("pv")
    m = _draw(s.bernoulli((N // 10, 3), p=pv), [pv], [[0.1, 0.5, 0.9]])
    assert m.dtype == np.bool_
    np.testing.assert_allclose(m.mean(axis=0), [0.1, 0.5, 0.9], atol=0.02)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        s.bernoulli((3,), p=1.5)
    p = T.scalar("p")
    f = symgraph.function([p], s.binomial((4,), n=1, p=p))
    state = s.state_updates[-1][0]
    before = state.get_value()
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        f(-0.25)
    np.testing.assert_array_equal(state.get_value(), before)  # the failed call drew nothing


@pytest.mark.parametrize("dist", ["uniform", "normal"])
def test_float32_draws_use_float32_generators(dist, rng):
    """float32 samples come from NumPy's float32 generators (no float64 round trip), with
    the right moments; the same seed gives the same numbers."""
    seed = _seed(rng)
    draw = (lambda s: s.uniform((N,), low=-1.0, high=3.0, dtype="float32")) if dist == "uniform" \
        else (lambda s: s.normal((N,), avg=2.0, std=0.5, dtype="float32"))
    v = _draw(draw(RandomStream(seed)))
    assert v.dtype == np.float32
    mean, std = (1.0, 4 / np.sqrt(12)) if dist == "uniform" else (2.0, 0.5)
    assert abs(v.mean() - mean) < 5 * std / np.sqrt(N)
    assert abs(v.std() - std) < 0.01 * std + 5 * std / np.sqrt(2 * N)
    np.testing.assert_array_equal(v, _draw(draw(RandomStream(seed))))
    gen = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed).spawn(1)[0]))
    want = (np.float32(-1) + np.float32(4) * gen.random(N, np.float32)) if dist == "uniform" \
        else (np.float32(2) + np.float32(0.5) * gen.standard_normal(N, np.float32))
    np.testing.assert_array_equal(v, want)

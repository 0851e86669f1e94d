"""``function(..., profile=True)``: the generated code times every node and the commit, the
summary reports them; without ``profile`` the code reads no clock."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.compile.profile import ProfileStats


def _mlp_step(profile):
    x = T.matrix("x")
    W = symgraph.shared(np.ones((3, 4)), name="W")
    cost = T.tanh(T.dot(x, W)).sum()
    return symgraph.function([x], cost, updates=[(W, W - 0.1 * T.grad(cost, W))],
                             profile=profile), W


def test_profile_counts_calls_and_times_every_node():
    f, W = _mlp_step(True)
    for _ in range(7):
        f(np.ones((5, 3)))
    p = f.profile
    assert isinstance(p, ProfileStats) and p.calls == 7
    assert len(p.labels) >= 2 and p.labels[-1].startswith("outputs and updates")
    assert all(t >= 0 for t in p.times) and sum(p.times) <= p.call_time + 1e-9
    assert p.call_time > 0 and p.compile_time > 0
    text = p.summary()
    assert "Time in 7 calls" in text and "Class" in text and "Apply" in text
    assert any(label.split(" -> ")[0] in text for label in p.labels[:-1])
    # the profiled function computes what an unprofiled one does
    g, W2 = _mlp_step(None)
    W.set_value(np.ones((3, 4)))
    np.testing.assert_allclose(f(np.ones((5, 3))), g(np.ones((5, 3))))
    np.testing.assert_allclose(W.get_value(), W2.get_value())


def test_no_clock_without_profile():
    f, _ = _mlp_step(None)
    assert f.profile is None and "_clock" not in f.source
    g, _ = _mlp_step(True)
    assert "_clock" in g.source


def test_a_given_profile_collects_and_copies_get_their_own():
    stats = ProfileStats("shared")
    f, _ = _mlp_step(stats)
    f(np.ones((2, 3)))
    assert f.profile is stats and stats.calls == 1
    g = f.copy()
    g(np.ones((2, 3)))
    assert g.profile is not stats and g.profile.calls == 1 and stats.calls == 1


def test_bad_profile_argument():
    with pytest.raises(TypeError, match="profile"):
        symgraph.function([], T.constant(1.0), profile="yes")


def test_monitor_callable_sees_every_node():
    seen = []
    x = T.vector("x")
    mode = symgraph.Mode(check=lambda node, ins, outs: seen.append((str(node.op), outs[0])))
    f = symgraph.function([x], T.exp(x) * 2, mode=mode)
    out = f(np.arange(3.0))
    assert seen and np.allclose(seen[-1][1], out)


def test_without_node_times_only_the_calls_are_recorded():
    stats = ProfileStats("calls only", flag_time_thunks=False)
    f, _ = _mlp_step(stats)
    for _ in range(3):
        f(np.ones((2, 3)))
    assert stats.calls == 3 and stats.call_time > 0
    assert stats.labels == [] and stats.times == [] and "_ptimes" not in f.source
    text = stats.summary()
    assert "Time in 3 calls" in text and "not timed (flag_time_thunks=False)" in text
    assert "Apply" not in text


@pytest.mark.parametrize("mode,profile,profiled", [
    ("PROFILE_MODE", None, True),      # the mode profiles when profile is not given
    ("PROFILE_MODE", False, False),    # an explicit False wins
    (symgraph.Mode(profile=True), None, True),
    ("FAST_RUN", None, False),
    ("FAST_RUN", True, True),
])
def test_profile_mode(mode, profile, profiled):
    x = T.vector("x")
    f = symgraph.function([x], T.exp(x).sum(), mode=mode, profile=profile)
    f(np.ones(3))
    assert (f.profile is not None) == profiled
    if profiled:
        assert f.profile.calls == 1 and "Time in 1 calls" in f.profile.summary()
        assert f.copy().profile is not None  # a copy is profiled too


def test_profiling_modes_stay_hashable():
    from symgraph.compile.mode import PROFILE, get_mode
    assert get_mode("PROFILE_MODE") is PROFILE and PROFILE.profile
    assert hash(PROFILE) != hash(symgraph.Mode()) and PROFILE != symgraph.Mode()
    assert PROFILE.excluding("fuse").profile

"""The rewrite driver: fixpoint through rule chains, which nodes a later sweep revisits, the
iteration cap, and rule calls linear in the depth of a compiled chain."""
from collections import defaultdict

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from benchmarks.compile_scaling import build_chain
from symgraph.fgraph import FunctionGraph
from symgraph.ops import elemwise as E
from symgraph.ops import scalar as S
from symgraph.rewrite import engine

PHASE = "test_engine"


def _is(node, sop) -> bool:
    return isinstance(node.op, E.Elemwise) and node.op.scalar_op == sop


def exp_to_sin(fgraph, node):
    """exp(x) -> sin(x) (a new node, for the next rule)"""
    return E.sin(node.inputs[0]) if _is(node, S.exp) else None


def sin_to_cos(fgraph, node):
    """sin(x) -> cos(x)"""
    return E.cos(node.inputs[0]) if _is(node, S.sin) else None


def cos_to_sin(fgraph, node):
    """cos(x) -> sin(x) (undoes sin_to_cos)"""
    return E.sin(node.inputs[0]) if _is(node, S.cos) else None


def neg_cos_to_abs(fgraph, node):
    """-cos(x) -> |x| (matches one level up, on a node made by another rule)"""
    if _is(node, S.neg) and node.inputs[0].owner is not None and \
            _is(node.inputs[0].owner, S.cos):
        return E.abs_(node.inputs[0].owner.inputs[0])
    return None


@pytest.fixture
def rules(monkeypatch):
    """Install ``rules`` (a list) as the only local rules of the test phase, for Elemwise."""
    monkeypatch.setattr(engine, "_RULES", defaultdict(lambda: defaultdict(list)))
    monkeypatch.setattr(engine, "_GLOBAL", defaultdict(list))
    monkeypatch.setattr(engine, "_INDEX", {})

    def install(*fns):
        for fn in fns:
            engine.register(PHASE, E.Elemwise)(fn)
    return install


def _counting(monkeypatch):
    """Count the calls of every rule the engine looks up; returns the counter list."""
    calls = []
    original = engine.rules_for

    def rules_for(phase, op):
        found = original(phase, op)

        def wrap(rule):
            def counted(fgraph, node):
                calls.append((rule.__name__, node))
                return rule(fgraph, node)
            counted.__name__ = rule.__name__
            return counted
        return [wrap(r) for r in found]
    monkeypatch.setattr(engine, "rules_for", rules_for)
    return calls


def _scalar_ops(fgraph):
    return [n.op.scalar_op.name for n in fgraph.toposort()]


def test_rule_chain_reaches_fixpoint(rules, rng):
    rules(exp_to_sin, sin_to_cos, neg_cos_to_abs)
    x = T.vector("x")
    fg = FunctionGraph([x], [-T.exp(x), T.exp(x * 2)])
    n = engine.run_phase(fg, PHASE)
    # exp -> sin -> cos twice (4), then -cos(x) -> |x| once the consumer is revisited
    assert n == 5
    ops = _scalar_ops(fg)
    assert sorted(ops) == ["abs", "cos", "mul"]
    xv = rng.standard_normal(5)
    f = symgraph.function([x], fg.outputs, mode="FAST_COMPILE")
    a, b = f(xv)
    np.testing.assert_allclose(a, np.abs(xv), rtol=0, atol=0)
    np.testing.assert_allclose(b, np.cos(2 * xv), rtol=1e-15)


def test_later_sweeps_visit_only_what_changed(rules, monkeypatch):
    rules(sin_to_cos)
    x = T.vector("x")
    y = x
    for _ in range(50):
        y = T.tanh(y)
    fg = FunctionGraph([x], [T.sin(y) * 2])
    calls = _counting(monkeypatch)
    assert engine.run_phase(fg, PHASE) == 1
    visited = [node for _, node in calls]
    # every node once (the mul after its input became cos), then only the new cos and the
    # producer of its input (whose clients changed)
    assert [n.op.scalar_op.name for n in visited] == ["tanh"] * 50 + ["sin", "mul", "tanh",
                                                                      "cos"]
    assert visited[-2].outputs[0] is fg.outputs[0].owner.inputs[0].owner.inputs[0]


def test_upstream_change_reaches_a_deep_pattern(rules):
    """A rule that looks at its whole ancestry fires after a change far upstream."""
    def top_when_all_cos(fgraph, node):
        """mul(a, b) -> a when every elementwise ancestor of a is cos (a deep pattern)"""
        if not _is(node, S.mul):
            return None
        v = node.inputs[0]
        while v.owner is not None:
            if not _is(v.owner, S.cos):
                return None
            v = v.owner.inputs[0]
        return node.inputs[0]

    rules(sin_to_cos, top_when_all_cos)
    x = T.vector("x")
    y = T.sin(x)
    for _ in range(5):
        y = T.cos(y)
    fg = FunctionGraph([x], [y * 3.0])
    engine.run_phase(fg, PHASE)
    assert _scalar_ops(fg) == ["cos"] * 6


def test_client_count_change_revisits_the_remaining_reader(rules):
    """A single-client rule fires once the other reader of its input disappears."""
    def fold_single_client_neg(fgraph, node):
        """exp(-x) -> |x| when -x has no other reader"""
        if _is(node, S.exp) and node.inputs[0].owner is not None and \
                _is(node.inputs[0].owner, S.neg) and fgraph.n_clients(node.inputs[0]) == 1:
            return E.abs_(node.inputs[0].owner.inputs[0])
        return None

    def drop_sin(fgraph, node):
        """a + sin(b) -> a (so b loses a reader)"""
        if _is(node, S.add) and node.inputs[1].owner is not None and \
                _is(node.inputs[1].owner, S.sin):
            return node.inputs[0]
        return None

    rules(fold_single_client_neg, drop_sin)
    x = T.vector("x")
    nx = -x
    fg = FunctionGraph([x], [T.exp(nx) + T.sin(nx)])
    assert engine.run_phase(fg, PHASE) == 2
    assert _scalar_ops(fg) == ["abs"]


def test_cap_raises_on_rules_that_undo_each_other(rules):
    rules(sin_to_cos, cos_to_sin)
    x = T.vector("x")
    fg = FunctionGraph([x], [T.sin(x)])
    with pytest.raises(RuntimeError, match="did not reach a fixpoint in 7 sweeps"):
        engine.run_phase(fg, PHASE, max_iterations=7)


def test_cap_counts_sweeps_that_changed(rules):
    """Two chained replacements need two changing sweeps and a quiet one."""
    rules(exp_to_sin, sin_to_cos)
    x = T.vector("x")
    with pytest.raises(RuntimeError, match="in 2 sweeps"):
        engine.run_phase(FunctionGraph([x], [T.exp(x)]), PHASE, max_iterations=2)
    fg = FunctionGraph([x], [T.exp(x)])
    assert engine.run_phase(fg, PHASE, max_iterations=3) == 2
    assert _scalar_ops(fg) == ["cos"]


def test_global_pass_runs_each_sweep_until_quiet(rules, monkeypatch):
    rules(exp_to_sin)
    seen = []

    def record(fgraph):
        seen.append(len(fgraph.apply_nodes))
        return False
    monkeypatch.setitem(engine._GLOBAL, PHASE, [record])
    x = T.vector("x")
    fg = FunctionGraph([x], [T.exp(x)])
    assert engine.run_phase(fg, PHASE) == 1
    assert seen == [1, 1]


def test_compiling_a_chain_calls_rules_linearly_in_depth(monkeypatch, rng):
    calls = _counting(monkeypatch)
    counts = {}
    for depth in (25, 50, 100, 200):
        del calls[:]
        inputs, outputs, _ = build_chain(depth)
        f = symgraph.function(inputs, outputs)
        counts[depth] = len(calls)
    per_level = [counts[d] / d for d in (25, 50, 100, 200)]
    # a constant number of rule calls per level (plus a small constant): linear, not more
    assert max(per_level[1:]) <= 1.1 * min(per_level[1:]), counts
    # the calls each added level costs do not grow with depth
    assert (counts[200] - counts[100]) / 100 <= 1.05 * (counts[100] - counts[50]) / 50, counts
    xv, wv = rng.standard_normal(4), 0.7
    y = xv * wv
    ys = []
    for _ in range(200):
        y = np.tanh(y)
        ys.append(y)
    g = (1 - ys[-1] ** 2)
    for y in reversed(ys[:-1]):
        g = g * (1 - y ** 2)
    cost, grad = f(xv, wv)
    np.testing.assert_allclose(cost, ys[-1].sum(), rtol=1e-12)
    np.testing.assert_allclose(grad, (g * xv).sum(), rtol=1e-10)


def test_ir_checker_runs_after_every_phase(verified_phases, rng):
    """The per-phase IR checker of tests/symgraph/rewrite/conftest.py still wraps the engine."""
    from symgraph.compile.mode import FAST_RUN
    inputs, outputs, _ = build_chain(10)
    f = symgraph.function(inputs, outputs)
    assert verified_phases == list(FAST_RUN.phases)
    xv = rng.standard_normal(3)
    np.testing.assert_allclose(f(xv, 0.5)[0], _tanh_chain(xv * 0.5, 10).sum(), rtol=1e-12)


def _tanh_chain(y, depth):
    for _ in range(depth):
        y = np.tanh(y)
    return y


def test_rules_keyed_by_scalar_op_are_tried_only_on_it_in_registration_order(monkeypatch):
    """A rule registered for a scalar op sees only elementwise nodes of that op; rules for the
    op class, for scalar ops and for scalar-op classes interleave in registration order."""
    monkeypatch.setattr(engine, "_RULES", defaultdict(lambda: defaultdict(list)))
    monkeypatch.setattr(engine, "_INDEX", {})

    def rule(name):
        def r(fgraph, node):
            return None
        r.__name__ = name
        return r
    engine.register(PHASE, E.Elemwise)(rule("any_elemwise_1"))
    engine.register(PHASE, S.exp)(rule("exp_only"))
    engine.register(PHASE, S.ScalarOp)(rule("any_scalar_class"))
    engine.register(PHASE, S.cos, S.exp)(rule("cos_or_exp"))
    engine.register(PHASE, S.CastScalar)(rule("casts"))
    engine.register(PHASE)(rule("every_node"))
    names = lambda op: [r.__name__ for r in engine.rules_for(PHASE, op)]  # noqa: E731
    assert names(E.exp) == ["any_elemwise_1", "exp_only", "any_scalar_class", "cos_or_exp",
                            "every_node"]
    assert names(E.cos) == ["any_elemwise_1", "any_scalar_class", "cos_or_exp", "every_node"]
    assert names(E.Elemwise(S.cast_op("float32"))) == ["any_elemwise_1", "any_scalar_class",
                                                       "casts", "every_node"]
    assert names(T.sum(T.vector()).owner.op) == ["every_node"]
    with pytest.raises(TypeError, match="op classes, scalar ops or scalar-op classes"):
        engine.register(PHASE, "exp")

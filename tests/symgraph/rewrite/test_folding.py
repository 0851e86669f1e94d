"""Constant folding: structure (no op left on constants) and values (= FAST_COMPILE)."""
import numpy as np

import symgraph
import symgraph.tensor as T
from symgraph.fgraph import FunctionGraph
from symgraph.graph import Apply, Constant, Variable
from symgraph.ops.variable import TensorVariable
from symgraph.op import Op
from symgraph.rewrite import folding
from symgraph.rewrite.engine import run_phase

from rewrite_helpers import assert_same, op_counts


def test_folds_constant_subgraph(rng):
    x = T.vector("x")
    c = T.constant(np.arange(4.0))
    expr = x + T.exp(c) * 2 + T.sqrt(c).sum()
    xv = rng.standard_normal(4)
    f = assert_same([x], expr, [xv])
    counts = op_counts(f)
    assert counts.get("exp", 0) == 0 and counts.get("sqrt", 0) == 0
    assert counts.get("Reduce", 0) == 0
    np.testing.assert_allclose(f(xv), xv + np.exp(np.arange(4.0)) * 2 +
                               np.sqrt(np.arange(4.0)).sum(), rtol=1e-12)


def test_fold_keeps_output_type():
    c = T.constant(np.ones((2, 3), dtype="float32"))
    node = (c * 3).owner
    (folded,) = folding.constant_fold(None, node)
    assert isinstance(folded, Constant)
    assert folded.type == node.outputs[0].type
    assert folded.dtype == "float32"
    np.testing.assert_array_equal(folded.data, np.full((2, 3), 3, dtype="float32"))


def test_fold_integer_division_keeps_dtype():
    c = T.constant(np.array([7, 9], dtype="int32"))
    out = c // 2
    f = symgraph.function([], out)
    assert f().dtype == np.int32
    np.testing.assert_array_equal(f(), [3, 4])
    assert not f.fgraph.apply_nodes


def test_huge_results_are_not_folded(monkeypatch):
    monkeypatch.setattr(folding, "MAX_FOLD_SIZE", 10)
    c = T.constant(np.zeros(3))
    big = T.alloc(c.sum() + 1.0, 4, 5)
    fg = FunctionGraph([], [big])
    run_phase(fg, "canonicalize")
    assert fg.outputs[0].owner is not None  # the 20-element alloc stays
    small = T.alloc(c.sum() + 1.0, 2, 3)
    fg2 = FunctionGraph([], [small])
    run_phase(fg2, "canonicalize")
    assert isinstance(fg2.outputs[0], Constant)
    np.testing.assert_array_equal(fg2.outputs[0].data, np.ones((2, 3)))


def test_nondeterministic_ops_are_not_folded():
    class Noisy(type(T.exp(T.scalar()).owner.op)):
        deterministic = False
    from symgraph.ops import scalar as S
    node = Noisy(S.exp).make_node(T.constant(1.0))
    assert folding.constant_fold(None, node) is None


class _Failing(Op):
    """Identity at build time, an error at run time."""

    def make_node(self, x):
        return Apply(self, [x], [TensorVariable(x.type)])

    def perform(self, x):
        raise ValueError("bad value")


def test_failing_perform_is_left_to_run_time():
    node = _Failing().make_node(T.constant(np.zeros(6)))
    assert folding.constant_fold(None, node) is None


def test_fold_shape_of_constant():
    c = T.constant(np.zeros((3, 5)))
    f = symgraph.function([], c.shape)
    np.testing.assert_array_equal(f(), [3, 5])
    assert not f.fgraph.apply_nodes


def test_ir_checker_runs_after_every_phase(verified_phases):
    x = T.vector("x")
    symgraph.function([x], T.exp(x) + 1)
    assert verified_phases == list(symgraph.FAST_RUN.phases)

"""The op-testing helpers catch what they promise to catch: a wrong gradient, a gradient with
the wrong shape, a wrong ``infer_shape`` and an ``emit`` that disagrees with ``perform``."""
import numpy as np
import pytest

import symgraph.tensor as T
from symgraph.graph import Apply, Variable
from symgraph.ops.variable import TensorVariable, as_tensor_variable
from symgraph.op import Op
from symgraph.testing import check_emit, check_grad, check_infer


class _Double(Op):
    """2 x, with switchable mistakes in its gradient, shape inference and emitted code.

    Gradient: ``2 gz`` (or a wrong one, see ``bug``).
    """

    props = ("bug",)

    def __init__(self, bug: str = ""):
        self.bug = bug

    def make_node(self, x) -> Apply:
        x = as_tensor_variable(x)
        return Apply(self, [x], [TensorVariable(x.type)])

    def perform(self, x):
        return 2 * x

    def emit(self, names):
        return f"({names[0]} * 3)" if self.bug == "emit" else f"({names[0]} * 2)"

    def infer_shape(self, node, shapes):
        if self.bug == "infer":
            return [tuple(d + 1 for d in shapes[0])]
        return [shapes[0]]

    def grad(self, inputs, outputs, output_grads):
        (gz,) = output_grads
        if self.bug == "grad":
            return [gz * 3]
        return [gz * 2]


def test_correct_op_passes_every_check(rng):
    x = rng.standard_normal((3, 4))
    check_grad(_Double(), [x], rng)
    check_infer(_Double(), [x])
    check_emit(_Double(), [x])


def test_check_grad_catches_a_wrong_gradient(rng):
    with pytest.raises(AssertionError, match="verify_grad"):
        check_grad(_Double("grad"), [rng.standard_normal((3, 4))], rng)


def test_check_grad_catches_a_gradient_of_the_wrong_shape(rng):
    # a (3, 4) gradient for a (1, 4) input slips through a directional derivative alone,
    # because NumPy broadcasts the (1, 4) direction against it
    class Broadcasting(_Double):
        def grad(self, inputs, outputs, output_grads):
            return [T.alloc(output_grads[0] * 2, 3, inputs[0].shape[1])]

    with pytest.raises(AssertionError, match=r"gradient of input 0 has shape \(3, 4\)"):
        check_grad(Broadcasting(), [rng.standard_normal((1, 4))], rng)


def test_check_infer_catches_a_wrong_shape_and_names_the_op(rng):
    with pytest.raises(AssertionError, match=r"_Double\{infer\}: infer_shape gives \(4, 5\)"):
        check_infer(_Double("infer"), [rng.standard_normal((3, 4))])


def test_check_emit_catches_emitted_code_that_differs_from_perform(rng):
    with pytest.raises(AssertionError, match=r"_Double\{emit\}: emitted code vs perform"):
        check_emit(_Double("emit"), [rng.standard_normal((3, 4))])


def test_check_grad_wants_an_explicit_rng():
    with pytest.raises(TypeError, match="explicit rng"):
        check_grad(_Double(), [np.ones(3)], None)

"""``theano.tensor.nnet.sigm``: the sigmoid family."""
from symgraph.ops.elemwise import sigmoid, softplus  # noqa: F401
from symgraph.graph import Apply
from symgraph.ops.nnet import hard_sigmoid  # noqa: F401
from symgraph.ops.variable import as_tensor_variable
from symgraph.types import upgrade_to_float
from symgraph.compat.theano.gof.op import Op

scalar_sigmoid = sigmoid


def _ultra_fast(x):
    """Theano's piecewise approximation of the sigmoid (error below 2e-2)."""
    import numpy as np
    h = 0.5 * np.asarray(x, dtype=np.float64)
    a = np.abs(h)
    z = np.where(a < 1.7, 1.5 * a / (1 + a),
                 np.where(a < 3, 0.935409070603099 + 0.0458812946797165 * (a - 1.7),
                          0.99505475368673))
    return (0.5 * np.sign(h) * z + 0.5).astype(np.result_type(x, np.float32))


class UltraFastSigmoid(Op):
    """Theano's fast approximation of the sigmoid; its gradient is the exact sigmoid's
    ``sigmoid(x) (1 - sigmoid(x))``, as in Theano."""

    __props__ = ()

    def make_node(self, x):
        x = as_tensor_variable(x)
        out = x.type if x.dtype in ("float32", "float64") else \
            x.type.clone(dtype=upgrade_to_float(x.dtype))
        return Apply(self, [x], [out()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = _ultra_fast(inputs[0])

    def infer_shape(self, node, shapes):
        return shapes

    def grad(self, inputs, output_grads):
        s = sigmoid(inputs[0])
        return [output_grads[0] * s * (1 - s)]


ultra_fast_sigmoid = UltraFastSigmoid()

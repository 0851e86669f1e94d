"""Neural-network ops: activations, the softmax family and the classification losses.

Activations are compositions of :class:`~symgraph.ops.elemwise.Elemwise` primitives so the
fusion pass can merge them with their neighbours. The softmax family and the categorical
cross-entropies are ops of their own because stability needs them to be recognisable: the
rewrites of :mod:`symgraph.rewrite.nnet_stability` turn ``log(softmax(x))`` into
``log_softmax(x)``, ``categorical_crossentropy(softmax(x), y)`` into the fused
:class:`SoftmaxCrossentropyWithLogits`, and ``binary_crossentropy(sigmoid(x), t)`` into
``sigmoid_binary_crossentropy(x, t)``, in the forward graph and in its gradient.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from symgraph.config import config
from symgraph.graph import Apply, Constant, Variable
from symgraph.op import Op
from symgraph.ops import elemwise as E
from symgraph.ops import scalar as S
from symgraph.ops.reduce import mean
from symgraph.ops.reduce import sum as _sum
from symgraph.ops.shape import dimshuffle, shape_i
from symgraph.ops.variable import TensorVariable, as_tensor_variable
from symgraph.types import TensorType, float_dtypes, int_dtypes, upgrade_to_float

# ---------------------------------------------------------------------------------------
# Activations (compositions of elementwise primitives)
# ---------------------------------------------------------------------------------------

sigmoid = E.sigmoid
softplus = E.softplus
tanh = E.tanh


def _as_float(x, what: str) -> Variable:
    x = as_tensor_variable(x)
    if x.dtype not in float_dtypes:
        if x.dtype in S.discrete_dtypes:
            return E.cast(x, upgrade_to_float(x.dtype))
        raise TypeError(f"{what}: expected a real tensor, got {x} of type {x.type}")
    return x


def hard_sigmoid(x) -> Variable:
    """Piecewise-linear sigmoid ``clip(0.2 x + 0.5, 0, 1)`` (Theano's constants).

    Gradient: ``0.2 gz`` inside ``(-2.5, 2.5)``, zero outside.
    """
    x = _as_float(x, "hard_sigmoid")
    return E.clip(x * 0.2 + 0.5, 0, 1)


def relu(x, alpha=0) -> Variable:
    """Rectifier ``max(x, 0)``; leaky ``x if x > 0 else alpha x`` when ``alpha != 0``.

    ``alpha`` may be a number or a symbolic scalar. Gradient: ``gz`` where ``x > 0``, else
    ``alpha gz``; at exactly 0 the plain rectifier passes none (as ``maximum`` against a
    constant bound does, and as PyTorch, JAX and TensorFlow do). The plain rectifier's
    gradient reads its output, not ``x``: a pre-activation used only by the rectifier is
    freed after the forward pass.
    """
    x = _as_float(x, "relu")
    if not isinstance(alpha, Variable) and alpha == 0:
        return E.maximum(x, 0)
    return E.switch(E.gt(x, 0), x, x * alpha)


def elu(x, alpha=1.0) -> Variable:
    """Exponential linear unit: ``x`` for ``x > 0``, else ``alpha (exp(x) - 1)``.

    The negative branch evaluates ``expm1(min(x, 0))`` so that neither branch overflows (an
    overflowing unselected branch would turn the gradient into ``0 * inf = nan``).
    Gradient: ``gz`` for ``x > 0``, ``alpha exp(x) gz`` otherwise.
    """
    x = _as_float(x, "elu")
    return E.switch(E.gt(x, 0), x, E.expm1(E.minimum(x, 0)) * alpha)


def selu(x) -> Variable:
    """Scaled ELU with the self-normalising constants of Klambauer et al. (2017)."""
    return elu(x, 1.6732632423543772) * 1.0507009873554805


def softsign(x) -> Variable:
    """``x / (1 + |x|)``. Gradient: ``gz / (1 + |x|)**2``."""
    x = _as_float(x, "softsign")
    return x / (E.abs(x) + 1)


# ---------------------------------------------------------------------------------------
# Softmax family
# ---------------------------------------------------------------------------------------

def _softmax_impl(x, axis):
    e = x - np.max(x, axis=axis, keepdims=True)  # a fresh array: the rest works in place
    np.exp(e, out=e)
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


def _log_softmax_impl(x, axis):
    z = x - np.max(x, axis=axis, keepdims=True)
    z -= np.log(np.sum(np.exp(z), axis=axis, keepdims=True))
    return z


def _softmax_grad_impl(dy, sm, axis):
    return (dy - np.sum(dy * sm, axis=axis, keepdims=True)) * sm


class _AxisOp(Op):
    """An op over one axis of a float tensor (the axis is normalised by the helpers)."""

    props = ("axis",)

    def __init__(self, axis: int = -1):
        self.axis = int(axis)

    def _check(self, x: Variable) -> Variable:
        x = as_tensor_variable(x)
        if x.dtype not in float_dtypes:
            raise TypeError(f"{self}: expected a float tensor, got {x} of type {x.type}")
        if not -x.ndim <= self.axis < x.ndim:
            raise ValueError(f"{self}: axis {self.axis} is out of range for {x} of type {x.type}")
        return x

    def infer_shape(self, node, shapes):
        return [shapes[0]]


class Softmax(_AxisOp):
    """``exp(x - max x) / sum(exp(x - max x))`` along ``axis`` (stable: the max is subtracted).

    Gradient: ``gx = (gz - sum(gz * sm, axis, keepdims)) * sm``, as :class:`SoftmaxGrad`.
    """

    def make_node(self, x) -> Apply:
        x = self._check(x)
        return Apply(self, [x], [TensorVariable(x.type)])

    def perform(self, x):
        return _softmax_impl(x, self.axis)

    def grad(self, inputs, outputs, output_grads):
        return [SoftmaxGrad(self.axis)(output_grads[0], outputs[0])]


class LogSoftmax(_AxisOp):
    """``x - max x - log(sum(exp(x - max x)))`` along ``axis``, finite for any finite ``x``.

    Gradient: ``gx = gz - exp(out) * sum(gz, axis, keepdims)``.
    """

    def make_node(self, x) -> Apply:
        x = self._check(x)
        return Apply(self, [x], [TensorVariable(x.type)])

    def perform(self, x):
        return _log_softmax_impl(x, self.axis)

    def grad(self, inputs, outputs, output_grads):
        (gz,), (out,) = output_grads, outputs
        return [gz - E.exp(out) * _sum(gz, axis=self.axis, keepdims=True)]


class SoftmaxGrad(_AxisOp):
    """The vector-Jacobian product of softmax: ``(dy - sum(dy * sm, axis, keepdims)) * sm``.

    An op of its own so that the stability rewrites can recognise the gradient of
    ``log(softmax(x))``. Gradient (it is linear in ``dy``): ``g_dy = SoftmaxGrad(g, sm)``,
    ``g_sm = g dy - g sum(dy sm) - sum(g sm) dy``.
    """

    def make_node(self, dy, sm) -> Apply:
        dy, sm = self._check(dy), self._check(sm)
        if dy.ndim != sm.ndim:
            raise TypeError(f"{self}: dy {dy.type} and sm {sm.type} must have the same rank")
        return Apply(self, [dy, sm], [TensorVariable(sm.type)])

    def perform(self, dy, sm):
        return _softmax_grad_impl(dy, sm, self.axis).astype(sm.dtype, copy=False)

    def grad(self, inputs, outputs, output_grads):
        (dy, sm), (g,) = inputs, output_grads
        ax = self.axis
        g_dy = SoftmaxGrad(ax)(g, sm)
        g_sm = g * dy - g * _sum(dy * sm, axis=ax, keepdims=True) - \
            _sum(g * sm, axis=ax, keepdims=True) * dy
        return [E.cast(g_dy, dy.dtype), g_sm]


def _axis(x: Variable, axis: int, what: str) -> int:
    if not -x.ndim <= axis < max(x.ndim, 1) or x.ndim == 0:
        raise ValueError(f"{what}: axis {axis} is out of range for {x} of type {x.type}")
    return axis % x.ndim


def softmax(x, axis: int = -1) -> Variable:
    """Softmax along ``axis`` (any rank; a vector stays a vector).

    ``symgraph.tensor.nnet.softmax`` keeps Theano's behaviour instead: a vector becomes a
    ``(1, n)`` matrix.
    """
    x = _as_float(x, "softmax")
    return Softmax(_axis(x, axis, "softmax"))(x)


def log_softmax(x, axis: int = -1) -> Variable:
    """Logarithm of the softmax along ``axis``, computed stably."""
    x = _as_float(x, "log_softmax")
    return LogSoftmax(_axis(x, axis, "log_softmax"))(x)


# ---------------------------------------------------------------------------------------
# One-hot codes and categorical cross-entropy
# ---------------------------------------------------------------------------------------

def check_labels(y, n: int, what: str) -> np.ndarray:
    """``y`` as an array once every label is a class index, ``0 <= y < n`` (NumPy would
    read ``-1`` as the last class and a silently wrong loss would follow)."""
    y = np.asarray(y)
    if y.size and (np.minimum.reduce(y, axis=None) < 0 or
                   np.maximum.reduce(y, axis=None) >= n):
        flat = y.reshape(-1)
        k = int(np.flatnonzero((flat < 0) | (flat >= n))[0])
        raise ValueError(f"{what}: label {flat[k]} (at flat position {k}) is not a class: "
                         f"with {n} classes the labels must be in 0 .. {n - 1}")
    return y


#: narrow signed labels are read through an unsigned view: a negative label is then an index
#: past every class, which indexing refuses (a range check for free)
_UNSIGNED_VIEW = {np.dtype(np.int8): np.uint8, np.dtype(np.int16): np.uint16,
                  np.dtype(np.int32): np.uint32}


def class_index(y, n: int, what: str) -> np.ndarray:
    """Labels as an index array of classes that indexing refuses when a label is out of
    ``0 .. n - 1`` (the caller turns that ``IndexError`` into :func:`check_labels`'s
    message). 64-bit labels are checked here, unsigned views cannot carry them."""
    y = np.asarray(y)
    view = _UNSIGNED_VIEW.get(y.dtype)
    if view is not None:
        return y.view(view)
    if y.dtype.itemsize == 8:
        return check_labels(y, n, what)
    return y


def _pick(p, y, what: str = "categorical_crossentropy"):
    try:
        return np.take_along_axis(p, class_index(y, p.shape[-1], what)[..., None],
                                  axis=-1)[..., 0]
    except IndexError:
        check_labels(y, p.shape[-1], what)
        raise


def _one_hot_impl(y, n, dtype):
    y = check_labels(y, int(n), "one_hot")
    out = np.zeros(y.shape + (int(n),), dtype=dtype)
    np.put_along_axis(out, y[..., None].astype(np.intp), 1, axis=-1)
    return out


class OneHot(Op):
    """``out[..., k] = (y[...] == k)`` for integer labels ``y`` and ``n`` classes (no gradient).
    """

    props = ("dtype",)

    def __init__(self, dtype: str = "float64"):
        self.dtype = dtype

    def make_node(self, y, n) -> Apply:
        y, n = as_tensor_variable(y), as_tensor_variable(n)
        if y.dtype not in int_dtypes:
            raise TypeError(f"{self}: labels must be integers, got {y} of type {y.type}")
        if n.ndim != 0 or n.dtype not in int_dtypes:
            raise TypeError(f"{self}: the number of classes must be an integer scalar, got "
                            f"{n.type}")
        n_static = int(n.data) if isinstance(n, Constant) else None
        return Apply(self, [y, n],
                     [TensorVariable(TensorType(self.dtype, y.type.shape + (n_static,)))])

    def perform(self, y, n):
        return _one_hot_impl(y, n, self.dtype)

    def infer_shape(self, node, shapes):
        n = node.inputs[1]
        last = int(n.data) if isinstance(n, Constant) else E.cast(n, "int64")
        return [tuple(shapes[0]) + (last,)]

    def grad(self, inputs, outputs, output_grads):
        return [None, None]


def to_one_hot(y, nb_class, dtype: Optional[str] = None) -> Variable:
    """One-hot rows of the integer labels ``y`` (``floatX`` unless ``dtype``)."""
    if not isinstance(nb_class, Variable):
        nb_class = np.int64(nb_class)
    return OneHot(dtype or config.floatX)(y, nb_class)


def _check_labels(op, p: Variable, y: Variable):
    if y.dtype not in int_dtypes:
        raise TypeError(f"{op}: labels must be an integer tensor, got {y} of type {y.type}")
    if p.dtype not in float_dtypes:
        raise TypeError(f"{op}: expected float scores, got {p} of type {p.type}")
    if p.ndim != y.ndim + 1:
        raise TypeError(f"{op}: the scores {p} ({p.type}) must have one more dimension than "
                        f"the labels {y} ({y.type})")


class CrossentropyCategorical1Hot(Op):
    """``-log(p[..., y])``: negative log-probability of integer labels ``y`` under rows ``p``.

    Gradient: ``gp = -gz / p[..., y]`` at each label's position, zero elsewhere
    (:class:`CrossentropyCategorical1HotGrad`); none for the labels.
    """

    def make_node(self, p, y) -> Apply:
        p, y = as_tensor_variable(p), as_tensor_variable(y)
        _check_labels(self, p, y)
        return Apply(self, [p, y], [TensorVariable(TensorType(p.dtype, p.type.shape[:-1]))])

    def perform(self, p, y):
        with np.errstate(divide="ignore"):
            return -np.log(_pick(p, y))

    def infer_shape(self, node, shapes):
        return [tuple(shapes[0][:-1])]

    def grad(self, inputs, outputs, output_grads):
        p, y = inputs
        return [CrossentropyCategorical1HotGrad()(output_grads[0], p, y), None]


class CrossentropyCategorical1HotGrad(Op):
    """``gp[..., y] = -gz / p[..., y]``, zero elsewhere (no zero divisions off the labels).

    Gradient (with ``h = one_hot(y)``, ``q = p[..., y]``, ``r = g[..., y]``):
    ``g_gz = -r / q``, ``g_p = h * (r gz / q**2)[..., None]``; none for the labels.
    """

    def make_node(self, gz, p, y) -> Apply:
        gz, p, y = (as_tensor_variable(v) for v in (gz, p, y))
        _check_labels(self, p, y)
        return Apply(self, [gz, p, y], [TensorVariable(p.type)])

    def grad(self, inputs, outputs, output_grads):
        (gz, p, y), (g,) = inputs, output_grads
        h = OneHot(p.dtype)(y, shape_i(p, p.ndim - 1))
        q = _sum(p * h, axis=-1)
        r = _sum(g * h, axis=-1)
        g_p = h * dimshuffle(r * gz / (q * q), list(range(gz.ndim)) + ["x"])
        return [E.cast(-r / q, gz.dtype), E.cast(g_p, p.dtype), None]

    def perform(self, gz, p, y):
        out = np.zeros_like(p)
        with np.errstate(divide="ignore"):
            vals = -np.asarray(gz, dtype=p.dtype) / _pick(p, y, "categorical_crossentropy "
                                                          "gradient")
        np.put_along_axis(out, np.asarray(y)[..., None], vals[..., None], axis=-1)
        return out

    def infer_shape(self, node, shapes):
        return [shapes[1]]


def categorical_crossentropy(coding_dist, true_dist) -> Variable:
    """Cross-entropy between predicted rows ``coding_dist`` and the truth, per example.

    ``true_dist`` is either integer labels (one dimension fewer than ``coding_dist``) giving
    ``-log(coding_dist[..., y])``, or rows of probabilities (e.g. one-hot) of the same rank
    giving ``-sum(true_dist * log(coding_dist), axis=-1)``. With ``coding_dist = softmax(x)``
    both forms are rewritten to stable ones at compile time.
    """
    coding_dist = _as_float(coding_dist, "categorical_crossentropy")
    true_dist = as_tensor_variable(true_dist)
    if true_dist.dtype in int_dtypes and true_dist.ndim == coding_dist.ndim - 1:
        return CrossentropyCategorical1Hot()(coding_dist, true_dist)
    if true_dist.ndim != coding_dist.ndim:
        raise TypeError(f"categorical_crossentropy: true_dist {true_dist} ({true_dist.type}) "
                        f"must be integer labels of rank {coding_dist.ndim - 1} or "
                        f"distributions of rank {coding_dist.ndim}")
    return -_sum(true_dist * E.log(coding_dist), axis=-1)


# ---------------------------------------------------------------------------------------
# Binary cross-entropy (an elementwise scalar op, so it broadcasts and fuses)
# ---------------------------------------------------------------------------------------

def _bce_impl(o, t):
    with np.errstate(divide="ignore", invalid="ignore"):
        return -(t * np.log(o) + (1 - t) * np.log1p(-o))


def _bce_grad_impl(gz, o, t):
    with np.errstate(divide="ignore", invalid="ignore"):
        return gz * (o - t) / (o * (1 - o))


def _g_bce(xs, out, gz):
    o, t = xs
    return [bce_grad(gz, o, t), gz * (E.log1p(-o) - E.log(o))]


def _g_bce_grad(xs, out, g):
    gz, o, t = xs
    den = o * (1 - o)
    # d/do [(o - t) / (o (1 - o))] = (o^2 - 2 o t + t) / (o (1 - o))^2
    return [g * (o - t) / den, g * gz * (o * o - 2 * o * t + t) / (den * den),
            -g * gz / den]


class _NnetScalar(S.ScalarOp):
    """A scalar op defined here; pickles by name through this module's table."""

    compiles = False

    def __reduce__(self):
        return (_scalar_by_name, (self.name,))


S_BCE = _NnetScalar("binary_crossentropy", 2, None, "float",
                    "-({1} * math.log({0}) + (1.0 - {1}) * math.log1p(-{0}))", _g_bce,
                    impl=_bce_impl,
                    expr="(-({1} * np.log({0}) + (1 - {1}) * np.log1p(-{0})))")
S_BCE_GRAD = _NnetScalar("binary_crossentropy_grad", 3, None, "float",
                         "({0} * ({1} - {2}) / ({1} * (1.0 - {1})))", _g_bce_grad,
                         impl=_bce_grad_impl, expr="({0} * ({1} - {2}) / ({1} * (1 - {1})))")
_SCALARS = {op.name: op for op in (S_BCE, S_BCE_GRAD)}


def _scalar_by_name(name: str) -> S.ScalarOp:
    return _SCALARS[name]


bce = E.Elemwise(S_BCE)
bce_grad = E.Elemwise(S_BCE_GRAD)


def binary_crossentropy(output, target) -> Variable:
    """``-(t log(o) + (1 - t) log(1 - o))`` elementwise, for float targets in ``[0, 1]``.

    Gradient: ``go = gz (o - t) / (o (1 - o))``, ``gt = gz (log(1 - o) - log(o))``. With
    ``output = sigmoid(x)`` the compiled graph uses :func:`sigmoid_binary_crossentropy`.
    """
    output = _as_float(output, "binary_crossentropy")
    return bce(output, target)


def sigmoid_binary_crossentropy(logits, target) -> Variable:
    """``binary_crossentropy(sigmoid(x), t)`` computed as ``softplus(x) - t x`` (stable).

    Gradient: ``gx = gz (sigmoid(x) - t)``, ``gt = -gz x``.
    """
    x = _as_float(logits, "sigmoid_binary_crossentropy")
    return E.softplus(x) - target * x


def squared_error(a, b) -> Variable:
    """Elementwise ``(a - b)**2``."""
    return E.sqr(as_tensor_variable(a) - b)


def mean_squared_error(output, target, axis=None) -> Variable:
    """``mean((output - target)**2)`` over ``axis`` (all axes by default)."""
    return mean(squared_error(output, target), axis=axis)


def dropout(x, p, rng, training: bool = True) -> Variable:
    """Inverted dropout: zero each entry with probability ``p`` and scale the rest by
    ``1 / (1 - p)``, so the expectation is unchanged and test time needs no rescaling.

    ``rng`` is a random stream (``symgraph.RandomStream`` or Theano's names); ``p`` may be
    symbolic. Identity when ``training`` is False. Gradient: ``gz * mask / (1 - p)``.
    """
    x = _as_float(x, "dropout")
    if not training:
        return x
    if not isinstance(p, Variable):
        if not 0 <= p < 1:
            raise ValueError(f"dropout: p must be in [0, 1), got {p!r}")
        if p == 0:
            return x
        keep = 1.0 - float(p)
        mask = rng.binomial(size=x.shape, n=1, p=keep, dtype=x.dtype)
        return x * mask * (1.0 / keep)
    keep = E.cast(1 - p, x.dtype)
    mask = rng.binomial(size=x.shape, n=1, p=keep, dtype=x.dtype)
    return x * mask / keep


__all__ = ["sigmoid", "softplus", "tanh", "hard_sigmoid", "relu", "elu", "selu", "softsign",
           "Softmax", "LogSoftmax", "SoftmaxGrad", "softmax", "log_softmax", "OneHot",
           "to_one_hot", "CrossentropyCategorical1Hot", "CrossentropyCategorical1HotGrad",
           "categorical_crossentropy", "binary_crossentropy",
           "sigmoid_binary_crossentropy", "squared_error", "mean_squared_error", "dropout"]


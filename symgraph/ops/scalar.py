"""The table of scalar operations that :class:`~symgraph.ops.elemwise.Elemwise` maps over arrays.

Each scalar op states, in one place: its arity, its output dtype rule, its NumPy implementation
(a ufunc where one exists, so the linker can write into ``out=`` buffers), a scalar expression
for compiled fused kernels, and its gradient formula built from other elementwise ops (so that
gradients can be differentiated again).
"""
from __future__ import annotations

import math
from typing import Callable, Iterable, List, Optional, Tuple

import numpy as np

from symgraph.graph import Constant
from symgraph.ops.namespace import T
from symgraph.types import discrete_dtypes, result_dtype, upgrade_to_float


class ScalarOp:
    """One scalar function.

    Attributes
    ----------
    name : str
        Identity (two scalar ops with the same name are the same op).
    nin : int
        Number of inputs; ``-1`` for n-ary associative ops (add, mul).
    ufunc : str or None
        Name of the NumPy ufunc in the ``np`` namespace, used with ``out=`` buffers.
    kind : str
        Output dtype rule: ``'same'`` (NumPy promotion), ``'float'`` (promotion then integers
        become floats), ``'bool'`` (comparisons), ``'int'`` (bitwise: no floats allowed),
        ``'last'`` (the last input's dtype).
    kernel : str
        ``str.format`` template of the scalar expression for compiled kernels.
    writes_out : bool
        ``emit`` is a ufunc call that can write into an ``out=`` buffer (the back ends then
        write into planned buffers instead of allocating).
    emit_into : callable or None
        For an op whose ``emit`` is not a ufunc call: ``emit_into(names, out)`` gives a NumPy
        statement writing the value into the buffer named ``out`` (the full shape, the op's
        dtype; as with a ufunc's ``out=``, it may be one of the inputs), so that the back
        ends need not allocate it; ``None`` when the op has no such form.
    passthrough : int or None
        The argument this op returns unchanged up to its dtype (``identity`` and casts: 0,
        ``second``: 1): the back ends write it as a copy into the output buffer.
    compiles : bool
        The back ends may compile ``kernel`` into their loops (the ops of this table); ops
        defined elsewhere keep their NumPy implementation unless they say otherwise.
    helpers : dict
        Functions (name -> object) that ``emit``'s NumPy expression names, beyond
        :data:`HELPERS` (see :func:`helpers_of`).
    """

    compiles = True
    helpers: dict = {}
    emit_into: Optional[Callable[[List[str], str], str]] = None

    def __init__(self, name: str, nin: int, ufunc: Optional[str], kind: str, kernel: str,
                 grad: Optional[Callable] = None, impl: Optional[Callable] = None,
                 expr: Optional[str] = None, passthrough: Optional[int] = None):
        self.name, self.nin, self.ufunc, self.kind = name, nin, ufunc, kind
        self.kernel = kernel
        self._grad = grad
        self._impl = impl if impl is not None else getattr(np, ufunc)
        self._expr = expr
        self.writes_out = ufunc is not None and expr is None
        self.passthrough = passthrough

    def __eq__(self, other):
        return isinstance(other, ScalarOp) and other.name == self.name

    def __hash__(self):
        return hash(("ScalarOp", self.name))

    def __str__(self):
        return self.name

    __repr__ = __str__

    def __reduce__(self):
        return (_lookup, (self.name,))

    def out_dtype(self, dtypes: List[str]) -> str:
        base = result_dtype(*dtypes)
        if self.kind == "same":
            return base
        if self.kind == "float":
            return upgrade_to_float(base)
        if self.kind == "bool":
            return "bool"
        if self.kind == "last":
            return dtypes[-1]
        if self.kind == "int":
            if base not in discrete_dtypes:
                raise TypeError(f"{self.name} needs integer or bool inputs, got {dtypes}")
            return base
        raise AssertionError(self.kind)

    def impl(self, *arrays):
        if self.nin == -1:
            # n-ary ops fold pairwise: a third positional argument of a ufunc is its ``out``
            if len(arrays) == 1:
                return np.array(arrays[0])
            out = self._impl(arrays[0], arrays[1])
            for a in arrays[2:]:
                out = self._impl(out, a)
            return out
        return self._impl(*arrays)

    def emit(self, names: List[str]) -> str:
        """NumPy expression over ``names``."""
        if self._expr is not None:
            return self._expr.format(*names)
        if self.nin == -1:
            if len(names) > _MAX_NESTED:
                # one flat call: Python refuses source nested ~200 parentheses deep
                return f"_nary(np.{self.ufunc}, {', '.join(names)})"
            expr = names[0]
            for n in names[1:]:
                expr = f"np.{self.ufunc}({expr}, {n})"
            return expr
        return f"np.{self.ufunc}({', '.join(names)})"

    def kernel_expr(self, names: List[str]) -> str:
        """Scalar expression for a compiled loop body."""
        if self.nin == -1:
            return "(" + self.kernel.join(names) + ")"
        return self.kernel.format(*names)

    def kernel_lines(self, names: List[str], prefix: str) -> Tuple[List[str], str]:
        """Statements of a compiled loop body (unindented; temporaries named ``prefix...``)
        that prepare the value, and the scalar expression giving it: for ops whose value
        takes several statements. By default no statement and :meth:`kernel_expr`."""
        return [], self.kernel_expr(names)

    #: the operand that, when it is each element's flat position, lets two neighbouring
    #: elements share work (:meth:`pair_lines`); None for ops without such work
    pair_position: Optional[int] = None

    def pair_lines(self, names: List[str], pair: str, prefix: str
                   ) -> Tuple[List[str], Tuple[str, str]]:
        """For an op with :attr:`pair_position`: the statements computing, once for elements
        ``2 * pair`` and ``2 * pair + 1`` (``pair`` a uint64 expression), what they share,
        and the expressions of the op at each; ``names`` are the operands, the same for both
        elements except the position, which ``pair`` stands for."""
        raise NotImplementedError(f"{self.name} shares no work between elements")

    def grad(self, inputs, output, gz) -> List:
        if self._grad is None:
            return [None] * len(inputs)
        return self._grad(inputs, output, gz)


# ---------------------------------------------------------------------------------------
# gradient formulas: (inputs, output, output gradient) -> one entry per input
# ---------------------------------------------------------------------------------------

def _g_add(xs, out, gz):
    return [gz] * len(xs)


def _g_sub(xs, out, gz):
    return [gz, -gz]


def _g_mul(xs, out, gz):
    grads = []
    for i in range(len(xs)):
        others = [x for j, x in enumerate(xs) if j != i]
        grads.append(T.mul(gz, *others))
    return grads


def _g_true_div(xs, out, gz):
    x, y = xs
    return [gz / y, -(gz * x) / (y * y)]


def _g_neg(xs, out, gz):
    return [-gz]


def _g_exp(xs, out, gz):
    return [gz * out]


def _g_expm1(xs, out, gz):
    return [gz * (out + 1)]


def _g_log(xs, out, gz):
    return [gz / xs[0]]


def _g_log2(xs, out, gz):
    return [gz / (xs[0] * math.log(2.0))]


def _g_log10(xs, out, gz):
    return [gz / (xs[0] * math.log(10.0))]


def _g_log1p(xs, out, gz):
    return [gz / (xs[0] + 1)]


def _g_sqrt(xs, out, gz):
    return [gz * 0.5 / out]


def _g_sqr(xs, out, gz):
    return [gz * 2 * xs[0]]


def _g_abs(xs, out, gz):
    return [gz * T.sign(xs[0])]


def _g_zero(xs, out, gz):
    return [T.zeros_like(x) if x.dtype not in discrete_dtypes else None for x in xs]


def _g_pow(xs, out, gz):
    x, y = xs
    gx = gz * y * T.pow(x, y - 1)
    gy = None if y.dtype in discrete_dtypes else gz * out * T.log(x)
    return [gx, gy]


# maximum and minimum pass the gradient to their first argument at a tie (Theano's rule),
# except against a constant bound: ``relu = maximum(x, 0)`` (and clamping from one side)
# masks with its result, ``out > 0``, and passes none at exactly 0, as PyTorch's, JAX's and
# TensorFlow's rectifiers do. Reading the result instead of ``x`` lets a pre-activation die
# after the forward pass (measured: a third of a convnet step's peak memory).
def _g_bound(out, bound, gz, strict, loose):
    """Gradients (to the variable, to the constant bound) from the result alone."""
    return [gz * strict(out, bound), gz * loose(out, bound)]


def _g_maximum(xs, out, gz):
    x, y = xs
    if isinstance(y, Constant):
        return _g_bound(out, y, gz, T.gt, T.le)
    if isinstance(x, Constant):
        return _g_bound(out, x, gz, T.gt, T.le)[::-1]
    return [gz * T.ge(x, y), gz * T.lt(x, y)]


def _g_minimum(xs, out, gz):
    x, y = xs
    if isinstance(y, Constant):
        return _g_bound(out, y, gz, T.lt, T.ge)
    if isinstance(x, Constant):
        return _g_bound(out, x, gz, T.lt, T.ge)[::-1]
    return [gz * T.le(x, y), gz * T.gt(x, y)]


def _g_clip(xs, out, gz):
    x, lo, hi = xs
    inside = T.and_(T.ge(x, lo), T.le(x, hi))
    return [gz * inside, gz * T.lt(x, lo), gz * T.gt(x, hi)]


def _g_switch(xs, out, gz):
    c, a, b = xs
    zero = T.zeros_like(gz)
    # the condition is piecewise constant: zero gradient for a float one, none for a bool one
    gc = None if c.dtype in discrete_dtypes else T.zeros_like(c)
    return [gc, T.switch(c, gz, zero), T.switch(c, zero, gz)]


def _g_tanh(xs, out, gz):
    return [gz * (1 - out * out)]


def _g_sin(xs, out, gz):
    return [gz * T.cos(xs[0])]


def _g_cos(xs, out, gz):
    return [-gz * T.sin(xs[0])]


def _g_tan(xs, out, gz):
    return [gz * (1 + out * out)]


def _g_arctan(xs, out, gz):
    return [gz / (1 + xs[0] * xs[0])]


def _g_sigmoid(xs, out, gz):
    return [gz * out * (1 - out)]


def _g_softplus(xs, out, gz):
    return [gz * T.sigmoid(xs[0])]


def _g_erf(xs, out, gz):
    return [gz * (2.0 / math.sqrt(math.pi)) * T.exp(-xs[0] * xs[0])]


def _g_mod(xs, out, gz):
    x, y = xs
    gy = None if y.dtype in discrete_dtypes else -gz * T.floor_div(x, y)
    return [gz, gy]


def _g_second(xs, out, gz):
    return [None if xs[0].dtype in discrete_dtypes else T.zeros_like(xs[0]), gz]


def _g_identity(xs, out, gz):
    return [gz]


# ---------------------------------------------------------------------------------------
# implementations NumPy lacks as ufuncs
# ---------------------------------------------------------------------------------------

def _sigmoid(x):
    # exp(-|x|) never overflows; both branches are exact
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(np.result_type(x, np.float32),
                                                              copy=False)


def _softplus(x):
    # log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)), finite everywhere
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _second(a, b):
    shape = np.broadcast_shapes(np.shape(a), np.shape(b))
    return np.array(np.broadcast_to(b, shape))


def _erf(x):
    from math import erf
    return np.vectorize(erf, otypes=[np.result_type(x, np.float32)])(x)


def _nary(ufunc, first, *rest):
    """``ufunc(...ufunc(ufunc(first, rest[0]), rest[1])...)`` for n-ary add and mul."""
    out = first
    for x in rest:
        out = ufunc(out, x)
    return out


#: n-ary expressions with more operands than this are emitted as one flat ``_nary`` call
_MAX_NESTED = 16

_TABLE = {}


def _def(name, nin, ufunc, kind, kernel, grad=None, impl=None, expr=None, passthrough=None
         ) -> ScalarOp:
    op = ScalarOp(name, nin, ufunc, kind, kernel, grad, impl, expr, passthrough)
    _TABLE[name] = op
    return op


def _lookup(name: str) -> ScalarOp:
    return _TABLE[name]


add = _def("add", -1, "add", "same", " + ", _g_add)
mul = _def("mul", -1, "multiply", "same", " * ", _g_mul)
sub = _def("sub", 2, "subtract", "same", "({0} - {1})", _g_sub)
true_div = _def("true_div", 2, "true_divide", "float", "({0} / {1})", _g_true_div)
floor_div = _def("floor_div", 2, "floor_divide", "same", "({0} // {1})", _g_zero)
mod = _def("mod", 2, "mod", "same", "({0} % {1})", _g_mod)
pow = _def("pow", 2, "power", "same", "({0} ** {1})", _g_pow)
neg = _def("neg", 1, "negative", "same", "(-{0})", _g_neg)
maximum = _def("maximum", 2, "maximum", "same", "max({0}, {1})", _g_maximum)
minimum = _def("minimum", 2, "minimum", "same", "min({0}, {1})", _g_minimum)
abs_ = _def("abs", 1, "absolute", "same", "abs({0})", _g_abs)
sign = _def("sign", 1, "sign", "same", "(({0} > 0) - ({0} < 0))", _g_zero)
sqr = _def("sqr", 1, "square", "same", "({0} * {0})", _g_sqr)
sqrt = _def("sqrt", 1, "sqrt", "float", "math.sqrt({0})", _g_sqrt)
exp = _def("exp", 1, "exp", "float", "math.exp({0})", _g_exp)
expm1 = _def("expm1", 1, "expm1", "float", "math.expm1({0})", _g_expm1)
log = _def("log", 1, "log", "float", "math.log({0})", _g_log)
log2 = _def("log2", 1, "log2", "float", "math.log2({0})", _g_log2)
log10 = _def("log10", 1, "log10", "float", "math.log10({0})", _g_log10)
log1p = _def("log1p", 1, "log1p", "float", "math.log1p({0})", _g_log1p)
tanh = _def("tanh", 1, "tanh", "float", "math.tanh({0})", _g_tanh)
sin = _def("sin", 1, "sin", "float", "math.sin({0})", _g_sin)
cos = _def("cos", 1, "cos", "float", "math.cos({0})", _g_cos)
tan = _def("tan", 1, "tan", "float", "math.tan({0})", _g_tan)
arctan = _def("arctan", 1, "arctan", "float", "math.atan({0})", _g_arctan)
floor = _def("floor", 1, "floor", "same", "math.floor({0})", _g_zero)
ceil = _def("ceil", 1, "ceil", "same", "math.ceil({0})", _g_zero)
round_half_to_even = _def("round", 1, "rint", "same", "round({0})", _g_zero)
sigmoid = _def("sigmoid", 1, None, "float", "(1.0 / (1.0 + math.exp(-{0})))", _g_sigmoid,
               impl=_sigmoid, expr="_sigmoid({0})")
softplus = _def("softplus", 1, None, "float",
                "(max({0}, 0.0) + math.log1p(math.exp(-abs({0}))))", _g_softplus,
                impl=_softplus, expr="_softplus({0})")
erf = _def("erf", 1, None, "float", "math.erf({0})", _g_erf, impl=_erf, expr="_erf({0})")
eq = _def("eq", 2, "equal", "bool", "({0} == {1})")
neq = _def("neq", 2, "not_equal", "bool", "({0} != {1})")
lt = _def("lt", 2, "less", "bool", "({0} < {1})")
le = _def("le", 2, "less_equal", "bool", "({0} <= {1})")
gt = _def("gt", 2, "greater", "bool", "({0} > {1})")
ge = _def("ge", 2, "greater_equal", "bool", "({0} >= {1})")
isnan = _def("isnan", 1, "isnan", "bool", "math.isnan({0})")
isinf = _def("isinf", 1, "isinf", "bool", "math.isinf({0})")
and_ = _def("and", 2, "bitwise_and", "int", "({0} & {1})")
or_ = _def("or", 2, "bitwise_or", "int", "({0} | {1})")
xor = _def("xor", 2, "bitwise_xor", "int", "({0} ^ {1})")
invert = _def("invert", 1, "invert", "int", "(~{0})")
clip = _def("clip", 3, "clip", "same", "min(max({0}, {1}), {2})", _g_clip)
switch = _def("switch", 3, None, "same", "({1} if {0} else {2})", _g_switch,
              impl=np.where, expr="np.where({0}, {1}, {2})")
second = _def("second", 2, None, "last", "{1}", _g_second, impl=_second,
              expr="_second({0}, {1})", passthrough=1)
round_half_away = _def("round_half_away_from_zero", 1, None, "same",
                       "(math.copysign(math.floor(abs({0}) + 0.5), {0}))", _g_zero,
                       impl=lambda x: np.sign(x) * np.floor(np.abs(x) + 0.5),
                       expr="(np.sign({0}) * np.floor(np.abs({0}) + 0.5))")
identity = _def("identity", 1, None, "same", "{0}", _g_identity, impl=np.array,
                expr="np.array({0})", passthrough=0)

#: helpers the emitted NumPy expressions may name
HELPERS = {"_sigmoid": _sigmoid, "_softplus": _softplus, "_second": _second, "_erf": _erf,
             "_nary": _nary}


def helpers_of(sops: Iterable[ScalarOp]) -> dict:
    """:data:`HELPERS` and the own helpers of ``sops``: the namespace their NumPy code needs."""
    out = dict(HELPERS)
    for sop in sops:
        out.update(sop.helpers)
    return out


class CastScalar(ScalarOp):
    """Conversion to a fixed dtype; the gradient converts back (float to float only)."""

    def __init__(self, dtype: str):
        super().__init__(f"cast{{{dtype}}}", 1, None, "cast", f"np.{dtype}({{0}})",
                         impl=lambda x, _d=dtype: np.asarray(x).astype(_d),
                         expr=f"np.asarray({{0}}).astype('{dtype}')", passthrough=0)
        self.dtype = dtype

    def out_dtype(self, dtypes: List[str]) -> str:
        return self.dtype

    def grad(self, inputs, output, gz) -> List:
        x = inputs[0]
        if x.dtype in discrete_dtypes or self.dtype in discrete_dtypes:
            return [None]
        return [T.cast(gz, x.dtype)]


def cast_op(dtype: str) -> ScalarOp:
    name = f"cast{{{dtype}}}"
    if name not in _TABLE:
        _TABLE[name] = CastScalar(dtype)
    return _TABLE[name]


def _lookup(name: str) -> ScalarOp:  # noqa: F811 - casts are made on demand
    if name.startswith("cast{"):
        return cast_op(name[5:-1])
    return _TABLE[name]

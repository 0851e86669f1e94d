"""``theano.tensor.basic``: symgraph's tensor namespace with Theano's own spellings added.

What Theano programs expect and symgraph's core spells differently:

* type objects (``T.dmatrix`` is a ``TensorType``, callable: ``T.dmatrix('x')``), Theano's
  ``TensorType(dtype, broadcastable)`` constructor and the plural constructors
  (``T.dscalars('a', 'b')``);
* broadcastable patterns: ``patternbroadcast``, ``addbroadcast``, ``unbroadcast`` and the
  ``shape_pad*`` helpers, which change which dimensions are known to be 1;
* Theano's defaults where they differ from NumPy's (``round`` rounds half to even).
"""
from __future__ import annotations

import builtins
from typing import Optional, Sequence

import numpy as np

from symgraph.config import config as _core_config
from symgraph.graph import Constant, Variable
from symgraph.ops import elemwise as _E
from symgraph.ops.specify_shape import set_static_shape
from symgraph.ops.variable import TensorConstant, TensorVariable, as_tensor_variable
from symgraph.tensor import *  # noqa: F401,F403
from symgraph.tensor import abs, all, any, max, min, pow, round as _core_round, sum  # noqa
from symgraph import types as _types
from symgraph.types import (complex_dtypes, discrete_dtypes, float_dtypes,  # noqa: F401
                            int_dtypes)

abs_ = abs
# the core's ``unbroadcast`` is its gradient helper; Theano's is defined below
del unbroadcast  # noqa: F821

integer_dtypes = int_dtypes
uint_dtypes = tuple(d for d in int_dtypes if d.startswith("u"))
all_dtypes = tuple(discrete_dtypes) + float_dtypes + complex_dtypes
continuous_dtypes = float_dtypes + complex_dtypes
float32_atol, float32_rtol = 1e-5, 1e-5
float64_atol, float64_rtol = 1e-8, 1e-5
float16_atol, float16_rtol = 5e-3, 5e-3


class NotScalarConstantError(Exception):
    """Raised by :func:`get_scalar_constant_value` for a variable that is not a constant."""


class EmptyConstantError(NotScalarConstantError):
    """A constant with no element."""


class AsTensorError(TypeError):
    """A value that cannot become a tensor."""


class ShapeError(Exception):
    """Shapes that do not fit."""


# ---------------------------------------------------------------------------------------
# types
# ---------------------------------------------------------------------------------------

class _TensorTypeMeta(type):
    # every symgraph tensor type (an op's output type too) is a ``T.TensorType``
    def __instancecheck__(cls, obj):
        return isinstance(obj, _types.TensorType)

    def __subclasscheck__(cls, sub):
        return isinstance(sub, type) and issubclass(sub, _types.TensorType)


class TensorType(_types.TensorType, metaclass=_TensorTypeMeta):
    """Theano's ``TensorType(dtype, broadcastable, name=None)``; the instance is callable
    (``TensorType('float32', (False,) * 4)('x')``) and equals the symgraph type of the same
    dtype and pattern (a ``True`` entry is a static 1, ``False`` an unknown length)."""

    def __init__(self, dtype, broadcastable=None, name: Optional[str] = None,
                 sparse_grad: bool = False, shape=None):
        if sparse_grad:
            raise NotImplementedError("TensorType(sparse_grad=True): sparse gradients of "
                                      "advanced indexing are not provided; they are dense")
        if shape is None:
            if broadcastable is None:
                raise TypeError("TensorType() needs the broadcastable pattern (a tuple of "
                                "bools, one per dimension)")
            shape = [1 if b else None for b in broadcastable]
        super().__init__(dtype, shape)
        object.__setattr__(self, "name", name)

    def __reduce__(self):
        return (TensorType, (self.dtype, None, self.name, False, self.shape))

    def __repr__(self):
        return self.name or super().__repr__()

    __str__ = __repr__

    def value_zeros(self, shape):
        """A zero array of this dtype and ``shape``."""
        return np.zeros(shape, dtype=self.dtype)

    def values_eq(self, a, b) -> bool:
        return bool(np.array_equal(a, b))

    def values_eq_approx(self, a, b, allow_remove_inf=False, allow_remove_nan=False,
                         rtol=None, atol=None) -> bool:
        """Whether ``a`` and ``b`` are close (NaN where both have NaN counts as equal); as in
        Theano, ``allow_remove_inf`` accepts any position where ``a`` is infinite and
        ``allow_remove_nan`` any position where ``a`` is NaN."""
        a, b = np.asarray(a), np.asarray(b)
        close = np.isclose(a, b, rtol=rtol or 1e-5, atol=atol or 1e-8, equal_nan=True)
        if a.dtype.kind in "fc":
            if allow_remove_inf:
                close = close | np.isinf(a)
            if allow_remove_nan:
                close = close | np.isnan(a)
        return bool(np.all(close))

    def is_valid_value(self, a) -> bool:
        try:
            return self.filter(a, strict=True) is not None
        except (TypeError, ValueError):
            return False

    def filter(self, data, strict=False, allow_downcast=None, name="input"):
        """Theano's ``filter(data, strict, allow_downcast)``: ``strict`` accepts only an
        ndarray of exactly this dtype and rank."""
        if isinstance(strict, str):  # symgraph's own positional form filter(value, name)
            name, strict = strict, False
        if strict and not (isinstance(data, np.ndarray) and data.dtype == self.dtype):
            raise TypeError(f"{name}: expected an ndarray of dtype {self.dtype} (strict), got "
                            f"{type(data).__name__} {getattr(data, 'dtype', '')}")
        return super().filter(data, name=name, allow_downcast=allow_downcast)

    def convert_variable(self, var):
        return var if var.type == self else None

    def may_share_memory(self, a, b) -> bool:
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and \
            np.may_share_memory(a, b)


_PREFIX_DTYPES = {"b": "int8", "w": "int16", "i": "int32", "l": "int64", "f": "float32",
                  "d": "float64", "c": "complex64", "z": "complex128"}
_PATTERNS = {"scalar": (), "vector": (False,), "matrix": (False, False), "row": (True, False),
             "col": (False, True), "tensor3": (False,) * 3, "tensor4": (False,) * 4,
             "tensor5": (False,) * 5, "tensor6": (False,) * 6, "tensor7": (False,) * 7}
for _p, _dt in _PREFIX_DTYPES.items():
    for _kind, _pattern in _PATTERNS.items():
        globals()[_p + _kind] = TensorType(_dt, _pattern)

cscalar_t = cscalar  # noqa: F821


def _constructor(kind: str):
    pattern = _PATTERNS[kind]

    def make(name: Optional[str] = None, dtype=None):
        return TensorType(dtype or _core_config.floatX, pattern)(name)
    make.__name__ = kind
    make.__doc__ = f"A symbolic {kind} of ``dtype`` (default ``config.floatX``)."
    return make


for _kind in _PATTERNS:
    globals()[_kind] = _constructor(_kind)


def tensor(*args, **kwargs) -> TensorVariable:
    """``tensor(dtype, broadcastable, name=None)``: a variable of ``TensorType(dtype,
    broadcastable)``."""
    name = kwargs.pop("name", None)
    if len(args) > 2:
        name = args[2]
        args = args[:2]
    return TensorType(*args, **kwargs)(name)


def _multi(maker):
    """Theano's plural constructors: ``dscalars('a', 'b')``, ``dscalars(2)``; a single name
    gives a single variable."""
    def make(*names):
        if names and isinstance(names[0], (int, np.integer)):
            n = int(names[0])
            return maker() if n == 1 else [maker() for _ in range(n)]
        if len(names) == 1:
            names = names[0]
        if len(names) == 1:
            return maker(names)
        return [maker(n) for n in names]
    make.__name__ = getattr(maker, "__name__", "constructor") + "s"
    return make


for _p in list(_PREFIX_DTYPES) + [""]:
    for _kind in _PATTERNS:
        _plural = _p + ("matrices" if _kind == "matrix" else _kind + "s")
        globals()[_plural] = _multi(globals()[_p + _kind])
_MAT_TYPES = dict(
    int_types=(bscalar, wscalar, iscalar, lscalar),  # noqa: F821
    float_types=(fscalar, dscalar),  # noqa: F821
    complex_types=(cscalar, zscalar),  # noqa: F821
    int_scalar_types=(bscalar, wscalar, iscalar, lscalar),  # noqa: F821
    float_scalar_types=(fscalar, dscalar),  # noqa: F821
    complex_scalar_types=(cscalar, zscalar),  # noqa: F821
    int_vector_types=(bvector, wvector, ivector, lvector),  # noqa: F821
    float_vector_types=(fvector, dvector),  # noqa: F821
    complex_vector_types=(cvector, zvector),  # noqa: F821
    int_matrix_types=(bmatrix, wmatrix, imatrix, lmatrix),  # noqa: F821
    float_matrix_types=(fmatrix, dmatrix),  # noqa: F821
    complex_matrix_types=(cmatrix, zmatrix),  # noqa: F821
)
globals().update(_MAT_TYPES)
del cscalar_t


# ---------------------------------------------------------------------------------------
# broadcastable patterns
# ---------------------------------------------------------------------------------------

def patternbroadcast(x, broadcastable: Sequence[bool]) -> Variable:
    """``x`` with exactly the broadcastable pattern ``broadcastable`` (a dimension made
    broadcastable is checked to be 1 when the graph runs)."""
    x = as_tensor_variable(x)
    broadcastable = tuple(bool(b) for b in broadcastable)
    if len(broadcastable) != x.ndim:
        raise ValueError(f"patternbroadcast: {x} has {x.ndim} dimensions, the pattern "
                         f"{broadcastable} has {len(broadcastable)}")
    shape = [1 if b else (None if s == 1 else s) for b, s in zip(broadcastable, x.type.shape)]
    return set_static_shape(x, shape)


def addbroadcast(x, *axes) -> Variable:
    """``x`` with the dimensions ``axes`` made broadcastable (checked to be 1 at run time)."""
    x = as_tensor_variable(x)
    pattern = list(x.broadcastable)
    for a in axes:
        pattern[a] = True
    return patternbroadcast(x, pattern)


def unbroadcast(x, *axes) -> Variable:
    """``x`` with the dimensions ``axes`` no longer broadcastable."""
    x = as_tensor_variable(x)
    pattern = list(x.broadcastable)
    for a in axes:
        pattern[a] = False
    return patternbroadcast(x, pattern)


def shape_padleft(t, n_ones: int = 1) -> Variable:
    """``t`` with ``n_ones`` broadcastable dimensions added on the left."""
    t = as_tensor_variable(t)
    return t.dimshuffle(["x"] * n_ones + list(range(t.ndim)))


def shape_padright(t, n_ones: int = 1) -> Variable:
    """``t`` with ``n_ones`` broadcastable dimensions added on the right."""
    t = as_tensor_variable(t)
    return t.dimshuffle(list(range(t.ndim)) + ["x"] * n_ones)


def shape_padaxis(t, axis: int) -> Variable:
    """``t`` with one broadcastable dimension inserted at ``axis``."""
    t = as_tensor_variable(t)
    if not -t.ndim - 1 <= axis <= t.ndim:
        raise IndexError(f"shape_padaxis: axis {axis} is out of bounds [-{t.ndim + 1}, "
                         f"{t.ndim}]")
    axis = axis % (t.ndim + 1)
    pattern = list(range(t.ndim))
    pattern.insert(axis, "x")
    return t.dimshuffle(pattern)


# ---------------------------------------------------------------------------------------
# functions whose Theano spelling or default differs from the core's
# ---------------------------------------------------------------------------------------

def round(a, mode: Optional[str] = None) -> Variable:  # noqa: A001
    """Round to the nearest integer; ``mode`` ``'half_to_even'`` (Theano's default, as
    NumPy's) or ``'half_away_from_zero'``."""
    return _core_round(a, mode or "half_to_even")


def round_half_to_even(a) -> Variable:
    return _core_round(a, "half_to_even")


def round_half_away_from_zero(a) -> Variable:
    return _core_round(a, "half_away_from_zero")


square = sqr  # noqa: F821
sgn = sign  # noqa: F821
power = pow
true_div = true_div  # noqa: F821
int_div = floor_div  # noqa: F821
isnan_ = isnan  # noqa: F821
isinf_ = isinf  # noqa: F821


def divmod(x, y):  # noqa: A001
    """``(x // y, x % y)``."""
    return floor_div(x, y), mod(x, y)  # noqa: F821


def ceil_intdiv(a, b) -> Variable:
    """``ceil(a / b)`` for integers, in integers."""
    return floor_div(a, b) + _E.cast(neq(mod(a, b), 0), "int8")  # noqa: F821


def get_scalar_constant_value(v, elemwise: bool = True, only_process_constants: bool = False,
                              max_recur: int = 10):
    """The value of ``v`` when it is a scalar known at graph-build time (a number, a 0-d
    array, a scalar constant, or a constant's shape entry); else raise
    :class:`NotScalarConstantError`."""
    if isinstance(v, (int, float, builtins.complex, np.number, np.bool_)):
        return np.asarray(v)
    if isinstance(v, np.ndarray):
        if v.size == 1:
            return v.reshape(())
        raise NotScalarConstantError(v)
    if isinstance(v, Constant):
        data = v.data
        if data.size == 1 or (data.size and np.all(data == data.flat[0])):
            return np.asarray(data.flat[0], dtype=data.dtype)
        raise NotScalarConstantError(v)
    if isinstance(v, Variable) and v.owner is not None and not only_process_constants:
        from symgraph.ops.shape import Shape, ShapeI
        from symgraph.ops.subtensor import Subtensor
        node = v.owner
        if isinstance(node.op, ShapeI):
            dim = node.inputs[0].type.shape[node.op.i]
            if dim is not None:
                return np.asarray(dim, dtype="int64")
        if isinstance(node.op, Subtensor) and node.inputs[0].owner is not None and \
                isinstance(node.inputs[0].owner.op, Shape) and len(node.inputs) == 2:
            try:
                k = int(get_scalar_constant_value(node.inputs[1]))
                dim = node.inputs[0].owner.inputs[0].type.shape[k]
                if dim is not None:
                    return np.asarray(dim, dtype="int64")
            except (NotScalarConstantError, IndexError, TypeError):
                pass
        if elemwise and max_recur > 0 and isinstance(node.op, _E.Elemwise):
            vals = [get_scalar_constant_value(i, elemwise, only_process_constants, max_recur - 1)
                    for i in node.inputs]
            return np.asarray(node.op.perform(*vals))
    raise NotScalarConstantError(f"{v} is not a scalar constant")


def extract_constant(x, elemwise: bool = True, only_process_constants: bool = False):
    """``x``'s constant value as a constant when it has one, else ``x``."""
    try:
        return constant(get_scalar_constant_value(x, elemwise, only_process_constants))  # noqa
    except NotScalarConstantError:
        return x


def get_vector_length(v) -> int:
    """The static length of a vector (an error when it is not known)."""
    v = as_tensor_variable(v)
    if v.ndim != 1:
        raise TypeError(f"get_vector_length: {v} is not a vector")
    if v.type.shape[0] is not None:
        return v.type.shape[0]
    raise ValueError(f"length not known: {v}")


def numpy_scalar(data):
    """The 0-d array inside a scalar constant."""
    return get_scalar_constant_value(data)


def scalar_from_tensor(t):
    return as_tensor_variable(t)


def tensor_from_scalar(s):
    return as_tensor_variable(s)


def cov(m, y=None, rowvar: bool = True, bias: bool = False, ddof=None, fweights=None,
        aweights=None) -> Variable:
    """Covariance matrix of the rows (``rowvar``) or columns of ``m``, as ``np.cov``."""
    if fweights is not None or aweights is not None:
        raise NotImplementedError("cov: fweights/aweights are not supported")
    m = as_tensor_variable(m)
    if y is not None:
        m = concatenate([m, as_tensor_variable(y)], axis=0 if rowvar else 1)  # noqa: F821
    if not rowvar and m.ndim > 1:
        m = m.T
    if ddof is None:
        ddof = 0 if bias else 1
    n = m.shape[1]
    centered = m - m.mean(axis=1, keepdims=True)
    return dot(centered, centered.T) / _E.cast(n - ddof, centered.dtype)  # noqa: F821


def batched_tensordot(x, y, axes=2) -> Variable:
    """``tensordot`` of each pair ``x[i], y[i]`` (axes counted without the batch axis)."""
    x, y = as_tensor_variable(x), as_tensor_variable(y)
    if isinstance(axes, int):
        ax = (list(range(x.ndim - axes, x.ndim)), list(range(1, axes + 1)))
    else:
        ax = (list(axes[0]), list(axes[1]))
    # move the contracted axes to the end of x and the front of y's non-batch axes
    keep_x = [d for d in range(1, x.ndim) if d not in ax[0]]
    keep_y = [d for d in range(1, y.ndim) if d not in ax[1]]
    xt = x.dimshuffle([0] + keep_x + ax[0])
    yt = y.dimshuffle([0] + ax[1] + keep_y)
    xs = [xt.shape[k] for k in range(xt.ndim)]
    ys = [yt.shape[k] for k in range(yt.ndim)]
    inner = len(ax[0])
    x2 = xt.reshape([xs[0], -1, prod(stack(xs[xt.ndim - inner:]))], ndim=3)  # noqa: F821
    y2 = yt.reshape([ys[0], prod(stack(ys[1:1 + inner])), -1], ndim=3)  # noqa: F821
    out = batched_dot(x2, y2)  # noqa: F821
    return out.reshape([xs[0]] + xs[1:1 + len(keep_x)] + ys[1 + inner:],
                       ndim=1 + len(keep_x) + len(keep_y))


def smallest_dtype(*dtypes):
    return _types.result_dtype(*dtypes)


def as_index_variable(idx):
    return as_tensor_variable(idx)


def consider_constant(x):
    """``x`` treated as a constant by ``grad`` (no gradient flows through it)."""
    from symgraph.gradient import disconnected_grad
    return disconnected_grad(x)


def default(x, default):
    """``x`` unless it is None, then ``default``."""
    return default if x is None else x


setdefault = default


def check_equal_numpy(x, y) -> bool:
    if isinstance(x, np.ndarray) and isinstance(y, np.ndarray):
        return x.dtype == y.dtype and x.shape == y.shape and bool(np.all(np.abs(x - y) < 1e-10))
    return x == y


def makeKeepDims(x, y, axis):
    """``y`` (a reduction of ``x`` over ``axis``) with the reduced dimensions put back as
    broadcastable ones."""
    x, y = as_tensor_variable(x), as_tensor_variable(y)
    if axis is None:
        axis = list(range(x.ndim))
    elif isinstance(axis, (int, np.integer)):
        axis = [axis]
    axis = sorted(int(a) % x.ndim for a in axis)
    pattern, k = [], 0
    for d in range(x.ndim):
        if d in axis:
            pattern.append("x")
        else:
            pattern.append(k)
            k += 1
    return y.dimshuffle(pattern)


def alloc_validate_shape(shape):
    return [as_tensor_variable(s) for s in shape]


def is_flat(var, ndim=None, outdim=None) -> bool:
    """True when ``var`` has ``ndim`` dimensions (default 1)."""
    return var.ndim == (ndim or outdim or 1)


Tensor = TensorType
TensorVariable = TensorVariable
TensorConstant = TensorConstant
_builtin_sum = builtins.sum


# -- Theano's op classes under their names (isinstance checks on graph nodes) -------------
from symgraph.ops.shape import (Alloc, DimShuffle, Reshape, Shape)  # noqa: E402,F401
from symgraph.ops.reduce import Argmax, Reduce as CAReduce  # noqa: E402,F401
from symgraph.ops.blas import Dot  # noqa: E402,F401
from symgraph.ops.construct import Eye  # noqa: E402,F401
from symgraph.ops.tiling import Repeat as Tile  # noqa: E402,F401
from symgraph.ops.diagonal import ExtractDiag as AllocDiag  # noqa: E402,F401
from symgraph.ops.specify_shape import SpecifyShape as Rebroadcast  # noqa: E402,F401
from symgraph.compat.theano.gof.utils import MethodNotDefined  # noqa: E402,F401
from symgraph.compat.theano.gof.null_type import DisconnectedType  # noqa: E402,F401
from symgraph.compat.theano.gof.generic import Generic  # noqa: E402,F401
from symgraph.compat.theano.gof.type import Type  # noqa: E402,F401
from symgraph.op import Op  # noqa: E402,F401
from symgraph.graph import Apply  # noqa: E402,F401

Sum = Mean = MaxAndArgmax = CAReduce
Flatten = Reshape
Tri = Eye


def grad_not_implemented(op, x_pos, x, comment=""):
    from symgraph.compat.theano.gradient import grad_not_implemented as g
    return g(op, x_pos, x, comment)


def grad_undefined(op, x_pos, x, comment=""):
    from symgraph.compat.theano.gradient import grad_undefined as g
    return g(op, x_pos, x, comment)


def real(z):
    """The real part (complex tensors); a real tensor itself."""
    from symgraph.ops.complex import real as _real
    return _real(z)


def imag(z):
    """The imaginary part of a complex tensor (zeros for a real one)."""
    from symgraph.ops.complex import imag as _imag
    return _imag(z)


def angle(z):
    """The argument (phase) of a complex tensor."""
    from symgraph.ops.complex import angle as _angle
    return _angle(z)


def conj(z):
    """The complex conjugate."""
    from symgraph.ops.complex import conj as _conj
    return _conj(z)


def complex(real, imag):  # noqa: A001
    """``real + 1j * imag`` (a complex tensor)."""
    from symgraph.ops.complex import complex_ as _complex
    return _complex(real, imag)


def complex_from_polar(abs, angle):  # noqa: A002
    """``abs * exp(1j * angle)``."""
    return complex(abs * cos(angle), abs * sin(angle))  # noqa: F821


def permute_row_elements(x, y, inverse=False):
    """Each row of ``x`` permuted by the matching row of the integer ``y`` (broadcast)."""
    x, y = as_tensor_variable(x), as_tensor_variable(y)
    if inverse:
        y = inverse_permutation(y)  # noqa: F821
    if y.ndim == 1 and x.ndim == 1:
        return x[y]
    return take_along_last(x, y)


def take_along_last(x, idx):
    """``np.take_along_axis(x, idx, -1)`` with broadcasting of the leading dimensions."""
    x, idx = as_tensor_variable(x), as_tensor_variable(idx)
    shape = [idx.shape[k] for k in range(idx.ndim)]
    rows = [arange(s).reshape([-1 if k == d else 1 for k in range(len(shape))],  # noqa: F821
                               ndim=len(shape)) for d, s in enumerate(shape[:-1])]
    return x[tuple(rows) + (idx,)]


def mod_check(x, y):
    """``x % y`` (complex operands are refused, as in Theano)."""
    if as_tensor_variable(x).dtype.startswith("complex") or \
            as_tensor_variable(y).dtype.startswith("complex"):
        raise TypeError("mod: complex numbers have no modulo")
    return mod(x, y)  # noqa: F821


def div_proxy(x, y):
    """``x / y`` (true division: Theano's integer-division warning is not reproduced)."""
    return true_div(x, y)  # noqa: F821


def check_and_normalize_axes(x, axis):
    """``axis`` (None, an int or a list) as a list of non-negative axes of ``x``."""
    x = as_tensor_variable(x)
    if axis is None:
        return []
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    out = []
    for a in axes:
        if not -x.ndim <= a < x.ndim:
            raise ValueError(f"axis {a} is out of range for {x.ndim} dimensions")
        out.append(int(a) % x.ndim)
    return out


def join_(axis, *tensors):
    return join(axis, *tensors)  # noqa: F821


def values_eq_approx_always_true(a, b) -> bool:
    return True


def numpy_diagonal_return_view() -> bool:
    return True


def min_informative_str(obj, indent_level=0):
    """A short description of a variable's graph, indented by ``indent_level`` spaces."""
    from symgraph.compat.theano.printing import min_informative_str as describe
    return describe(obj, indent_level)


def pprint(obj):
    from symgraph.compat.theano.printing import pprint as _pp
    return _pp(obj)


def get_scalar_constant_value_elemwises(*args, **kwargs):
    return get_scalar_constant_value(*args, **kwargs)


def constructor(f):
    return f


int32_t = "int32"
int32 = TensorType("int32", ())
NoneConst = None
constant_cache = {}


class TensorConstantSignature(tuple):
    """Theano's hashable signature of a constant (type, data)."""


def transfer(var, target):
    """``var`` for the target ``'cpu'`` (there is no other device)."""
    if target not in (None, "cpu"):
        from symgraph.compat.theano._nogpu import fail
        fail()
    return var


def register_transfer(fn):
    return fn


def _op_class(name: str, fn):
    """Theano's op class ``name``, whose instance is the function ``fn`` (the class takes no
    arguments, as in Theano)."""
    def make():
        return fn
    make.__name__ = make.__qualname__ = name
    make.__doc__ = f"``{name}()``: the op, which is :func:`{fn.__name__}`."
    return make


ScalarFromTensor = _op_class("ScalarFromTensor", scalar_from_tensor)  # noqa: F821
TensorFromScalar = _op_class("TensorFromScalar", tensor_from_scalar)  # noqa: F821
PermuteRowElements = _op_class("PermuteRowElements", permute_row_elements)
Default = _op_class("Default", default)  # noqa: F821


def AllocEmpty(dtype):
    """``AllocEmpty(dtype)(*shape)``: an uninitialised array (zeros here)."""
    def make(*shape):
        return zeros(shape, dtype=dtype)  # noqa: F821
    return make


from symgraph.compat.theano.tensor.subtensor import (  # noqa: E402,F401
    AdvancedBooleanIncSubtensor, AdvancedBooleanSubtensor, AdvancedIncSubtensor,
    AdvancedIncSubtensor1, AdvancedSubtensor, AdvancedSubtensor1, IncSubtensor, Subtensor)
from symgraph.ops.cumulative import diff as DiffOp  # noqa: E402,F401

BaseAdvancedSubtensor = AdvancedSubtensor
BaseAdvancedIncSubtensor = AdvancedIncSubtensor


class AdvancedIndexingError(TypeError):
    """An index that advanced indexing cannot use."""


class AdvancedBooleanIndexingError(TypeError):
    """A boolean index that does not fit the indexed tensor."""


class LoadFromDisk(Op):
    """Reads a ``.npy`` file when the graph runs (``load``)."""

    props = ("dtype", "broadcastable", "mmap_mode")

    def __init__(self, dtype, broadcastable, mmap_mode=None):
        if mmap_mode not in (None, "c"):
            raise ValueError("load: mmap_mode must be None or 'c'")
        self.dtype, self.broadcastable, self.mmap_mode = dtype, tuple(broadcastable), mmap_mode

    def make_node(self, path):
        if not isinstance(path, str):
            raise TypeError("load: the path must be a string known when the graph is built")
        self.path = path
        return Apply(self, [], [TensorType(self.dtype, self.broadcastable)()])

    def __call__(self, path):
        op = LoadFromDisk(self.dtype, self.broadcastable, self.mmap_mode)
        op.path = path
        return Apply(op, [], [TensorType(self.dtype, self.broadcastable)()]).outputs[0]

    @property
    def deterministic(self):
        return False

    def perform(self):
        arr = np.load(self.path, mmap_mode=self.mmap_mode)
        if arr.dtype != self.dtype:
            raise TypeError(f"load: {self.path} holds {arr.dtype}, expected {self.dtype}")
        return np.array(arr)

    def grad(self, inputs, outputs, output_grads):
        return []


def load(path, dtype, broadcastable, mmap_mode=None):
    """A tensor read from the ``.npy`` file ``path`` every time the compiled function runs."""
    return LoadFromDisk(dtype, broadcastable, mmap_mode)(path)

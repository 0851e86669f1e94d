"""Complex numbers: the real and imaginary parts, the argument, the conjugate, and a complex
tensor from two real ones, as elementwise scalar ops.

Gradients (with Theano's convention of a real cost): ``real`` and ``imag`` send ``gz`` back
as the real or imaginary part of a complex gradient; ``complex(x, y)`` sends the real part of
``gz`` to ``x`` and its imaginary part to ``y``; ``conj`` conjugates ``gz``; ``angle`` has no
gradient rule.
"""
from __future__ import annotations

from typing import List

import numpy as np

from symgraph.graph import Variable
from symgraph.ops import elemwise as E
from symgraph.ops import scalar as S

_REAL_OF = {"complex64": "float32", "complex128": "float64"}
_COMPLEX_OF = {"float32": "complex64", "float64": "complex128", "float16": "complex64"}


class _ComplexScalar(S.ScalarOp):
    """A scalar op of this module; pickles by name; NumPy code only (no compiled kernel)."""

    compiles = False

    def __init__(self, name, nin, impl, grad, out_rule):
        helper = f"_complex_{name}"
        expr = f"{helper}({', '.join('{%d}' % i for i in range(nin))})"
        super().__init__(name, nin, None, "same", "", grad, impl=impl, expr=expr)
        self._out_rule = out_rule
        S.HELPERS[helper] = impl

    def out_dtype(self, dtypes: List[str]) -> str:
        return self._out_rule(S.result_dtype(*dtypes))

    def __reduce__(self):
        return (_by_name, (self.name,))


_SCALARS = {}


def _by_name(name):
    return _SCALARS[name]


def _real_rule(dt):
    return _REAL_OF.get(dt, S.upgrade_to_float(dt) if dt in S.discrete_dtypes else dt)


def _complex_rule(dt):
    return _COMPLEX_OF.get(S.upgrade_to_float(dt), dt)


def _define(name, nin, impl, grad, rule):
    sop = _ComplexScalar(name, nin, impl, grad, rule)
    _SCALARS[name] = sop
    return E.Elemwise(sop)


def _cast_impl(fn, rule):
    def impl(*arrays):
        dt = rule(np.result_type(*arrays).name)
        return np.array(fn(*arrays), dtype=dt)  # np.real of a real array is the array itself
    return impl


def _g_real(xs, out, gz):
    x = xs[0]
    return [gz if not x.dtype.startswith("complex") else complex_(gz, 0 * gz)]


def _g_imag(xs, out, gz):
    x = xs[0]
    return [None if not x.dtype.startswith("complex") else complex_(0 * gz, gz)]


def _g_conj(xs, out, gz):
    return [conj(gz)]


def _g_complex(xs, out, gz):
    return [real(gz), imag(gz)]


real_op = _define("real", 1, _cast_impl(np.real, _real_rule), _g_real, _real_rule)
imag_op = _define("imag", 1, _cast_impl(np.imag, _real_rule), _g_imag, _real_rule)
angle_op = _define("angle", 1, _cast_impl(np.angle, _real_rule), None, _real_rule)
conj_op = _define("conj", 1, _cast_impl(np.conj, lambda d: d), _g_conj, lambda d: d)
complex_op = _define("complex", 2, _cast_impl(lambda x, y: x + 1j * y, _complex_rule),
                     _g_complex, _complex_rule)


def real(z) -> Variable:
    """The real part (of a real tensor: itself)."""
    return real_op(z)


def imag(z) -> Variable:
    """The imaginary part (of a real tensor: zeros)."""
    return imag_op(z)


def angle(z) -> Variable:
    """The argument (phase) in radians."""
    return angle_op(z)


def conj(z) -> Variable:
    """The complex conjugate."""
    return conj_op(z)


def complex_(x, y) -> Variable:
    """``x + 1j * y``."""
    return complex_op(x, y)


__all__ = ["real", "imag", "angle", "conj", "complex_"]

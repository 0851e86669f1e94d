"""More elementwise math: inverse trigonometric and hyperbolic functions, the error and gamma
function families and Bessel functions.

Each is a scalar op (so it broadcasts, fuses and differentiates like ``exp``) with its
derivative written with other elementwise ops. The error-function inverses, the gamma family
and the Bessel functions are computed by :mod:`scipy.special`, an optional dependency (the
``scipy`` extra): building a graph with one of them without SciPy raises an ``ImportError``
that says so.
"""
from __future__ import annotations

import importlib
import math
from typing import Callable, Optional

import numpy as np

from symgraph.graph import Variable
from symgraph.ops import elemwise as E
from symgraph.ops import scalar as S

_SQRT_PI = math.sqrt(math.pi)


def _scipy_special():
    try:
        return importlib.import_module("scipy.special")
    except ImportError:
        raise ImportError("this function is computed by scipy.special; install SciPy "
                          "(pip install 'symgraph[scipy]')") from None


def _sp(name: str) -> Callable:
    """``scipy.special.<name>``, looked up when first called."""
    def call(*arrays):
        return getattr(_scipy_special(), name)(*arrays)
    call.__name__ = f"_sp_{name}"
    return call


class _SpecialScalar(S.ScalarOp):
    """A scalar op defined here; pickles by name through this module's table. Its NumPy code
    runs in every back end (no compiled kernel)."""

    compiles = False

    def __init__(self, name, nin, kind, impl, grad=None, ufunc=None, scipy=False):
        helper = f"_special_{name}"
        expr = None if ufunc else f"{helper}({', '.join('{%d}' % i for i in range(nin))})"
        super().__init__(name, nin, ufunc, kind, "", grad, impl=impl, expr=expr)
        self.needs_scipy = scipy
        if expr is not None:
            S.HELPERS[helper] = impl

    def __reduce__(self):
        return (_scalar_by_name, (self.name,))


_SCALARS = {}


def _scalar_by_name(name: str) -> S.ScalarOp:
    return _SCALARS[name]


def _float_impl(fn: Callable) -> Callable:
    """Run ``fn`` on float inputs (integers upgraded as Theano does) and keep the dtype."""
    def impl(*arrays):
        dt = S.upgrade_to_float(np.result_type(*arrays).name)
        out = fn(*[np.asarray(a, dtype=dt) for a in arrays])
        return np.asarray(out, dtype=dt)
    return impl


def _define(name: str, nin: int, grad=None, numpy: Optional[str] = None,
            scipy: Optional[str] = None, kind: str = "float", impl=None):
    if numpy is not None:
        sop = _SpecialScalar(name, nin, kind, getattr(np, numpy), grad, ufunc=numpy)
    else:
        sop = _SpecialScalar(name, nin, kind, impl or _float_impl(_sp(scipy)), grad,
                             scipy=scipy is not None)
    _SCALARS[name] = sop
    return E.Elemwise(sop)


def _elemwise(op: E.Elemwise, doc: str) -> Callable:
    """The user function of ``op``: checks for SciPy when the graph is built."""
    def fn(*xs) -> Variable:
        if op.scalar_op.needs_scipy:
            _scipy_special()
        return op(*xs)
    fn.__name__ = op.name
    fn.__doc__ = doc
    fn.op = op
    return fn


# -- derivative formulas: (inputs, output, output gradient) -> one entry per input ---------

def _g_arcsin(xs, out, gz):
    return [gz / E.sqrt(1 - E.sqr(xs[0]))]


def _g_arccos(xs, out, gz):
    return [-gz / E.sqrt(1 - E.sqr(xs[0]))]


def _g_sinh(xs, out, gz):
    return [gz * cosh_op(xs[0])]


def _g_cosh(xs, out, gz):
    return [gz * sinh_op(xs[0])]


def _g_arcsinh(xs, out, gz):
    return [gz / E.sqrt(E.sqr(xs[0]) + 1)]


def _g_arccosh(xs, out, gz):
    return [gz / E.sqrt(E.sqr(xs[0]) - 1)]


def _g_arctanh(xs, out, gz):
    return [gz / (1 - E.sqr(xs[0]))]


def _g_arctan2(xs, out, gz):
    y, x = xs
    r2 = E.sqr(x) + E.sqr(y)
    return [gz * x / r2, -gz * y / r2]


def _g_exp2(xs, out, gz):
    return [gz * out * math.log(2.0)]


def _g_deg2rad(xs, out, gz):
    return [gz * (math.pi / 180.0)]


def _g_rad2deg(xs, out, gz):
    return [gz * (180.0 / math.pi)]


def _g_erfc(xs, out, gz):
    return [-gz * (2.0 / _SQRT_PI) * E.exp(-E.sqr(xs[0]))]


def _g_erfcx(xs, out, gz):
    x = xs[0]
    return [gz * (2 * x * out - 2.0 / _SQRT_PI)]


def _g_erfinv(xs, out, gz):
    return [gz * (_SQRT_PI / 2) * E.exp(E.sqr(out))]


def _g_erfcinv(xs, out, gz):
    return [-gz * (_SQRT_PI / 2) * E.exp(E.sqr(out))]


def _g_gamma(xs, out, gz):
    return [gz * out * psi_op(xs[0])]


def _g_gammaln(xs, out, gz):
    return [gz * psi_op(xs[0])]


def _g_psi(xs, out, gz):
    return [gz * tri_gamma_op(xs[0])]


def _g_j0(xs, out, gz):
    return [-gz * j1_op(xs[0])]


def _g_j1(xs, out, gz):
    x = xs[0]
    return [gz * (j0_op(x) - jv_op(2, x)) / 2]


def _g_jv(xs, out, gz):
    v, x = xs
    return [None, gz * (jv_op(v - 1, x) - jv_op(v + 1, x)) / 2]


def _g_i0(xs, out, gz):
    return [gz * i1_op(xs[0])]


def _g_i1(xs, out, gz):
    x = xs[0]
    return [gz * (i0_op(x) + iv_op(2, x)) / 2]


def _g_iv(xs, out, gz):
    v, x = xs
    return [None, gz * (iv_op(v - 1, x) + iv_op(v + 1, x)) / 2]


def _tri_gamma(x):
    return _scipy_special().polygamma(1, x)


arcsin_op = _define("arcsin", 1, _g_arcsin, numpy="arcsin")
arccos_op = _define("arccos", 1, _g_arccos, numpy="arccos")
sinh_op = _define("sinh", 1, _g_sinh, numpy="sinh")
cosh_op = _define("cosh", 1, _g_cosh, numpy="cosh")
arcsinh_op = _define("arcsinh", 1, _g_arcsinh, numpy="arcsinh")
arccosh_op = _define("arccosh", 1, _g_arccosh, numpy="arccosh")
arctanh_op = _define("arctanh", 1, _g_arctanh, numpy="arctanh")
arctan2_op = _define("arctan2", 2, _g_arctan2, numpy="arctan2")
exp2_op = _define("exp2", 1, _g_exp2, numpy="exp2")
deg2rad_op = _define("deg2rad", 1, _g_deg2rad, numpy="deg2rad")
rad2deg_op = _define("rad2deg", 1, _g_rad2deg, numpy="rad2deg")
trunc_op = _define("trunc", 1, S._g_zero, numpy="trunc", kind="same")
erfc_op = _define("erfc", 1, _g_erfc, scipy="erfc")
erfcx_op = _define("erfcx", 1, _g_erfcx, scipy="erfcx")
erfinv_op = _define("erfinv", 1, _g_erfinv, scipy="erfinv")
erfcinv_op = _define("erfcinv", 1, _g_erfcinv, scipy="erfcinv")
gamma_op = _define("gamma", 1, _g_gamma, scipy="gamma")
gammaln_op = _define("gammaln", 1, _g_gammaln, scipy="gammaln")
psi_op = _define("psi", 1, _g_psi, scipy="psi")
tri_gamma_op = _define("tri_gamma", 1, None, impl=_float_impl(_tri_gamma))
_SCALARS["tri_gamma"].needs_scipy = True
j0_op = _define("j0", 1, _g_j0, scipy="j0")
j1_op = _define("j1", 1, _g_j1, scipy="j1")
jv_op = _define("jv", 2, _g_jv, scipy="jv")
i0_op = _define("i0", 1, _g_i0, scipy="i0")
i1_op = _define("i1", 1, _g_i1, scipy="i1")
iv_op = _define("iv", 2, _g_iv, scipy="iv")
# no derivative rule: Theano defined none either (the gradient is undefined, not zero)
gammainc_op = _define("gammainc", 2, None, scipy="gammainc")
gammaincc_op = _define("gammaincc", 2, None, scipy="gammaincc")
chi2sf_op = _define("chi2sf", 2, None, scipy="chdtrc",
                    impl=_float_impl(lambda x, k: _scipy_special().chdtrc(k, x)))
_SCALARS["chi2sf"].needs_scipy = True

arcsin = _elemwise(arcsin_op, "Inverse sine. Gradient: ``1 / sqrt(1 - x**2)``.")
arccos = _elemwise(arccos_op, "Inverse cosine. Gradient: ``-1 / sqrt(1 - x**2)``.")
sinh = _elemwise(sinh_op, "Hyperbolic sine. Gradient: ``cosh(x)``.")
cosh = _elemwise(cosh_op, "Hyperbolic cosine. Gradient: ``sinh(x)``.")
arcsinh = _elemwise(arcsinh_op, "Inverse hyperbolic sine. Gradient: ``1 / sqrt(x**2 + 1)``.")
arccosh = _elemwise(arccosh_op, "Inverse hyperbolic cosine. Gradient: ``1 / sqrt(x**2 - 1)``.")
arctanh = _elemwise(arctanh_op, "Inverse hyperbolic tangent. Gradient: ``1 / (1 - x**2)``.")
arctan2 = _elemwise(arctan2_op, "``arctan(y / x)`` in the right quadrant. Gradient: "
                                "``(x, -y) / (x**2 + y**2)``.")
exp2 = _elemwise(exp2_op, "``2 ** x``. Gradient: ``2**x log 2``.")
deg2rad = _elemwise(deg2rad_op, "Degrees to radians. Gradient: ``pi / 180``.")
rad2deg = _elemwise(rad2deg_op, "Radians to degrees. Gradient: ``180 / pi``.")
trunc = _elemwise(trunc_op, "Round towards zero. Gradient: zero.")
erfc = _elemwise(erfc_op, "``1 - erf(x)``. Gradient: ``-2 / sqrt(pi) exp(-x**2)``.")
erfcx = _elemwise(erfcx_op, "Scaled ``exp(x**2) erfc(x)``. Gradient: "
                            "``2 x erfcx(x) - 2 / sqrt(pi)``.")
erfinv = _elemwise(erfinv_op, "Inverse of ``erf`` on (-1, 1). Gradient: "
                              "``sqrt(pi) / 2 exp(erfinv(x)**2)``.")
erfcinv = _elemwise(erfcinv_op, "Inverse of ``erfc`` on (0, 2). Gradient: "
                                "``-sqrt(pi) / 2 exp(erfcinv(x)**2)``.")
gamma = _elemwise(gamma_op, "The gamma function. Gradient: ``gamma(x) psi(x)``.")
gammaln = _elemwise(gammaln_op, "``log |gamma(x)|``. Gradient: ``psi(x)``.")
psi = _elemwise(psi_op, "The digamma function ``d log gamma(x) / dx``. Gradient: "
                        "``tri_gamma(x)``.")
tri_gamma = _elemwise(tri_gamma_op, "The trigamma function (derivative of ``psi``); no "
                                    "gradient rule.")
j0 = _elemwise(j0_op, "Bessel function of the first kind, order 0. Gradient: ``-j1(x)``.")
j1 = _elemwise(j1_op, "Bessel function of the first kind, order 1. Gradient: "
                      "``(j0(x) - jv(2, x)) / 2``.")
jv = _elemwise(jv_op, "Bessel function of the first kind of real order ``v``. Gradient in "
                      "``x``: ``(jv(v - 1, x) - jv(v + 1, x)) / 2``; none in ``v``.")
i0 = _elemwise(i0_op, "Modified Bessel function of the first kind, order 0. Gradient: "
                      "``i1(x)``.")
i1 = _elemwise(i1_op, "Modified Bessel function of the first kind, order 1. Gradient: "
                      "``(i0(x) + iv(2, x)) / 2``.")
iv = _elemwise(iv_op, "Modified Bessel function of the first kind of real order ``v``. "
                      "Gradient in ``x``: ``(iv(v - 1, x) + iv(v + 1, x)) / 2``.")
gammainc = _elemwise(gammainc_op, "Regularised lower incomplete gamma ``P(k, x)``; no "
                                  "gradient rule.")
gammaincc = _elemwise(gammaincc_op, "Regularised upper incomplete gamma ``Q(k, x)``; no "
                                    "gradient rule.")
chi2sf = _elemwise(chi2sf_op, "Survival function of the chi-squared distribution with ``k`` "
                              "degrees of freedom at ``x``; no gradient rule.")

__all__ = ["arcsin", "arccos", "sinh", "cosh", "arcsinh", "arccosh", "arctanh", "arctan2",
           "exp2", "deg2rad", "rad2deg", "trunc", "erfc", "erfcx", "erfinv", "erfcinv", "gamma",
           "gammaln", "psi", "tri_gamma", "j0", "j1", "jv", "i0", "i1", "iv", "gammainc",
           "gammaincc", "chi2sf"]


gammal_op = _define("gammal", 2, None, impl=_float_impl(
    lambda k, x: _scipy_special().gammainc(k, x) * _scipy_special().gamma(k)))
gammau_op = _define("gammau", 2, None, impl=_float_impl(
    lambda k, x: _scipy_special().gammaincc(k, x) * _scipy_special().gamma(k)))
_SCALARS["gammal"].needs_scipy = _SCALARS["gammau"].needs_scipy = True
gammal = _elemwise(gammal_op, "Lower incomplete gamma ``gamma(k) P(k, x)`` (not regularised); "
                              "no gradient rule.")
gammau = _elemwise(gammau_op, "Upper incomplete gamma ``gamma(k) Q(k, x)`` (not regularised); "
                              "no gradient rule.")


__all__ += ["gammal", "gammau"]

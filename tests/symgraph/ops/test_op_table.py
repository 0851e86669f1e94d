"""One spec table for every op of the core, and the parametrised checks driven by it.

Each entry names an op (or a user function built on ops), builds it from symbolic inputs, and
gives a NumPy reference, sample input shapes (including broadcasting), an input domain, dtypes
and whether it is differentiable. The checks are: forward values against NumPy (static and
unknown shapes), every node's ``infer_shape`` against real shapes, emitted code against
``perform`` for every node, gradients against finite differences (float64), and second
derivatives of every differentiable elementwise op. Failures name the entry.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.graph import Constant, toposort
from symgraph.ops import nnet as NN
from symgraph.ops.conv import conv2d as NN_conv2d
from symgraph.ops.counter import FlatIndex, counter_bits_op
from symgraph.ops.pool import pool_2d
from symgraph.ops.shape import SumToDims, sum_to_shape
from symgraph.testing import check_emit, check_grad, check_infer

from op_spec import FLOATS, INTS, FORWARD_TOL, Spec, _values  # noqa: F401
from op_rows_array import ARRAY_SPECS


# ---------------------------------------------------------------------------------------
# the table
# ---------------------------------------------------------------------------------------

U = (((3, 4),), ((5,),), ((),))
B = (((3, 4), (3, 4)), ((3, 1), (1, 4)), ((5,), (2, 5)), ((), (3,)))
TER = (((3, 4), (3, 4), (3, 4)), ((3, 4), (1, 4), (3, 1)), ((5,), (), (2, 5)))


def _erf_ref(x):
    return np.vectorize(math.erf, otypes=[x.dtype])(x)


def _round_away(x):
    return (np.sign(x) * np.floor(np.abs(x) + 0.5)).astype(x.dtype)


def _second_ref(a, b):
    return np.broadcast_to(b, np.broadcast_shapes(a.shape, b.shape)).copy()


def _counter_ref(s, i):
    """SplitMix64's 32-bit number ``i`` at Weyl state ``s``, in Python integers."""
    m = (1 << 64) - 1

    def one(s, i):
        z = (int(s) + (int(i) >> 1) * 0x9E3779B97F4A7C15) & m
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
        z ^= z >> 31
        return (z >> (32 * (int(i) & 1))) & 0xFFFFFFFF
    return np.vectorize(one, otypes=[np.uint32])(s, i)


def _other_float(x):
    return "float32" if x.dtype == "float64" else "float64"


UNARY = [
    # name, symbolic, reference, domain, differentiable
    ("neg", T.neg, np.negative, "real", True),
    ("abs", T.abs, np.abs, "nonzero", True),
    ("sign", T.sign, np.sign, "nonzero", False),
    ("sqr", T.sqr, np.square, "real", True),
    ("sqrt", T.sqrt, np.sqrt, "pos", True),
    ("exp", T.exp, np.exp, "real", True),
    ("expm1", T.expm1, np.expm1, "real", True),
    ("log", T.log, np.log, "pos", True),
    ("log2", T.log2, np.log2, "pos", True),
    ("log10", T.log10, np.log10, "pos", True),
    ("log1p", T.log1p, np.log1p, "pos", True),
    ("tanh", T.tanh, np.tanh, "real", True),
    ("sin", T.sin, np.sin, "real", True),
    ("cos", T.cos, np.cos, "real", True),
    ("tan", T.tan, np.tan, "unit", True),
    ("arctan", T.arctan, np.arctan, "real", True),
    ("floor", T.floor, np.floor, "real", False),
    ("ceil", T.ceil, np.ceil, "real", False),
    ("round_half_to_even", lambda x: T.round(x, "half_to_even"), np.rint, "real", False),
    ("round_half_away_from_zero", T.round, _round_away, "real", False),
    ("sigmoid", T.sigmoid, lambda x: 1 / (1 + np.exp(-x)), "real", True),
    ("softplus", T.softplus, lambda x: np.logaddexp(0, x), "real", True),
    ("erf", T.erf, _erf_ref, "real", True),
    ("identity", T.identity, np.array, "real", True),
    ("isnan", T.isnan, np.isnan, "special", False),
    ("isinf", T.isinf, np.isinf, "special", False),
]

BINARY = [
    ("add", T.add, np.add, "real", True),
    ("sub", T.sub, np.subtract, "real", True),
    ("mul", T.mul, np.multiply, "real", True),
    ("true_div", T.true_div, np.true_divide, ("real", "nonzero"), True),
    ("floor_div", T.floor_div, np.floor_divide, ("real", "nonzero"), False),
    ("mod", T.mod, np.mod, ("real", "pos"), True),
    ("pow", T.pow, np.power, ("pos", "real"), True),
    ("maximum", T.maximum, np.maximum, "real", True),
    ("minimum", T.minimum, np.minimum, "real", True),
    ("second", T.second, _second_ref, "real", True),
    ("eq", T.eq, np.equal, "small", False),
    ("neq", T.neq, np.not_equal, "small", False),
    ("lt", T.lt, np.less, "small", False),
    ("le", T.le, np.less_equal, "small", False),
    ("gt", T.gt, np.greater, "small", False),
    ("ge", T.ge, np.greater_equal, "small", False),
]

SPECS = []
for _n, _f, _r, _d, _g in UNARY:
    SPECS.append(Spec(_n, _f, _r, U, _d, grad=_g, grad2=_g))
for _n, _f, _r, _d, _g in BINARY:
    SPECS.append(Spec(_n, _f, _r, B, _d, grad=_g, grad2=_g))
SPECS += [
    Spec("add_nary", lambda a, b, c: T.add(a, b, c), lambda a, b, c: a + b + c, TER,
         grad2=True),
    Spec("mul_nary", lambda a, b, c: T.mul(a, b, c), lambda a, b, c: a * b * c, TER,
         grad2=True),
    Spec("clip", T.clip, np.clip, TER, ("real", "low", "high"), grad2=True),
    Spec("switch", lambda c, a, b: T.switch(c > 0, a, b), lambda c, a, b: np.where(c > 0, a, b),
         TER, grad2=True),
    Spec("and", T.and_, np.bitwise_and, B, "small", INTS, grad=False),
    Spec("or", T.or_, np.bitwise_or, B, "small", INTS, grad=False),
    Spec("xor", T.xor, np.bitwise_xor, B, "small", INTS, grad=False),
    Spec("invert", T.invert, np.invert, U, "small", INTS, grad=False),
    Spec("counter_bits", counter_bits_op, lambda s, i: _counter_ref(s, i), B, "small",
         ("uint64",), grad=False),
    Spec("flat_index", lambda x: FlatIndex()(x.shape),
         lambda x: np.arange(x.size, dtype=np.uint64).reshape(x.shape), U, grad=False),
    Spec("cast_float", lambda x: T.cast(x, _other_float(x)),
         lambda x: x.astype(_other_float(x)), U, grad2=True,
         grad_kw={"eps": 1e-3, "tol": 1e-2}),
    Spec("cast_int", lambda x: T.cast(x, "int32"), lambda x: x.astype("int32"), U, "small",
         grad=False),
]

R3 = (((2, 3, 4),),)
_AXES = [(None, False), (1, False), (-1, True), ((0, 2), False), ((0, 2), True)]


def _red(kind, axis, keepdims, domain, grad=True):
    fn = getattr(T, kind)
    ref = getattr(np, kind)
    return Spec(f"{kind}[axis={axis},keepdims={keepdims}]",
                lambda x: fn(x, axis=axis, keepdims=keepdims),
                lambda x: np.asarray(ref(x, axis=axis, keepdims=keepdims)), R3, domain,
                grad=grad)


for _kind, _dom, _g in (("sum", "real", True), ("prod", "nonzero", True), ("max", "real", True),
                        ("min", "real", True), ("all", "small", False), ("any", "small", False)):
    for _ax, _kd in _AXES:
        SPECS.append(_red(_kind, _ax, _kd, _dom, _g))
SPECS += [
    Spec("sum[vector]", T.sum, np.sum, (((5,),), ((1,),))),
    Spec("sum[scalar]", T.sum, np.sum, (((),),)),
]
for _kind in ("argmax", "argmin"):
    for _ax, _kd in ((None, False), (1, False), (-1, True), (None, True)):
        SPECS.append(Spec(f"{_kind}[axis={_ax},keepdims={_kd}]",
                          lambda x, k=_kind, a=_ax, kd=_kd: getattr(T, k)(x, axis=a, keepdims=kd),
                          lambda x, k=_kind, a=_ax, kd=_kd: np.asarray(
                              getattr(np, k)(x, axis=a, keepdims=kd)),
                          R3, grad=False))
for _ax, _kd in ((None, False), (1, False), ((0, 2), True)):
    SPECS.append(Spec(f"mean[axis={_ax},keepdims={_kd}]",
                      lambda x, a=_ax, kd=_kd: T.mean(x, axis=a, keepdims=kd),
                      lambda x, a=_ax, kd=_kd: np.asarray(np.mean(x, axis=a, keepdims=kd)), R3))
for _ax, _ddof in ((None, 0), (1, 1), ((0, 2), 0)):
    SPECS.append(Spec(f"var[axis={_ax},ddof={_ddof}]",
                      lambda x, a=_ax, d=_ddof: T.var(x, axis=a, ddof=d),
                      lambda x, a=_ax, d=_ddof: np.asarray(np.var(x, axis=a, ddof=d)), R3))
    SPECS.append(Spec(f"std[axis={_ax},ddof={_ddof}]",
                      lambda x, a=_ax, d=_ddof: T.std(x, axis=a, ddof=d),
                      lambda x, a=_ax, d=_ddof: np.asarray(np.std(x, axis=a, ddof=d)), R3))
SPECS += [
    Spec("mean[int-input]", lambda x: T.mean(T.cast(x, "int32"), axis=0),
         lambda x: np.mean(x.astype("int32"), axis=0), (((3, 4),),), "small", ("float64",),
         grad=False),
    Spec("norm[L1,axis=1]", lambda x: T.norm(x, 1, axis=1),
         lambda x: np.sum(np.abs(x), axis=1), R3, "nonzero"),
    Spec("norm[L2]", lambda x: T.norm(x, 2), lambda x: np.asarray(np.sqrt(np.sum(x * x))), R3),
]

# products
SPECS += [
    Spec("dot", T.dot, np.dot, (((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 5)), ((3, 4), (4, 5)))),
    Spec("dot[nd]", T.dot, np.dot, (((2, 3, 4), (5, 4, 2)), ((2, 3, 4), (4,)),
                                    ((3, 4), (2, 4, 5)))),
    Spec("matmul", T.matmul, np.matmul,
         (((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((2, 1, 3, 4), (5, 4, 2)),
          ((4,), (2, 4, 3)), ((2, 3, 4), (4,)), ((4,), (4,)), ((1, 3, 4), (2, 4, 2)))),
    Spec("matmul_operator", lambda a, b: a @ b, lambda a, b: a @ b, (((2, 3, 4), (2, 4, 5)),)),
    Spec("batched_dot", T.batched_dot,
         lambda a, b: np.stack([np.dot(u, v) for u, v in zip(a, b)]),
         (((2, 3, 4), (2, 4, 5)), ((2, 3), (2, 3)), ((2, 3, 4), (2, 4)), ((2, 4), (2, 4, 5)))),
    Spec("outer", T.outer, np.outer, (((3,), (4,)), ((1,), (2,)))),
    Spec("tensordot[axes=2]", T.tensordot, np.tensordot, (((2, 3, 4), (3, 4, 5)),)),
    Spec("tensordot[axes=1]", lambda a, b: T.tensordot(a, b, 1),
         lambda a, b: np.tensordot(a, b, 1), (((3, 4), (4, 5)), ((2, 3), (3,)))),
    Spec("tensordot[axes=0]", lambda a, b: T.tensordot(a, b, 0),
         lambda a, b: np.tensordot(a, b, 0), (((2, 3), (4,)),)),
    Spec("tensordot[(0,2),(2,0)]", lambda a, b: T.tensordot(a, b, [[0, 2], [2, 0]]),
         lambda a, b: np.tensordot(a, b, [[0, 2], [2, 0]]), (((2, 3, 4), (4, 5, 2)),)),
]

# shapes and layouts
SPECS += [
    Spec("reshape[(6,4)]", lambda x: T.reshape(x, (6, 4)), lambda x: x.reshape(6, 4), R3),
    Spec("reshape[(4,-1)]", lambda x: x.reshape((4, -1)), lambda x: x.reshape(4, -1), R3),
    Spec("reshape[symbolic]", lambda x: x.reshape((x.shape[0], -1)),
         lambda x: x.reshape(x.shape[0], -1), R3),
    Spec("flatten[1]", lambda x: x.flatten(), lambda x: x.reshape(-1), R3),
    Spec("flatten[2]", lambda x: x.flatten(2), lambda x: x.reshape(x.shape[0], -1), R3),
    Spec("transpose", lambda x: x.T, lambda x: x.T, R3 + (((3, 4),), ((5,),))),
    Spec("transpose[(1,0,2)]", lambda x: x.transpose(1, 0, 2),
         lambda x: x.transpose(1, 0, 2), R3),
    Spec("dimshuffle[x,1,x,0]", lambda x: x.dimshuffle("x", 1, "x", 0),
         lambda x: x.T[None, :, None, :], (((3, 4),),)),
    Spec("dimshuffle[drop]", lambda x: x.dimshuffle(0), lambda x: x[:, 0], (((3, 1),),)),
    Spec("shape", lambda x: x.shape, lambda x: np.array(x.shape, dtype="int64"), R3 + U[2:],
         grad=False),
    Spec("sum_to_shape", lambda g, x: sum_to_shape(g, x.shape),
         lambda g, x: g.sum(axis=0, keepdims=True) if x.shape[0] == 1 else g,
         (((3, 4), (1, 4)), ((3, 4), (3, 4))), wrt=(0,)),
    Spec("sum_to_dims", lambda g, x: SumToDims((None, None))(g, x.shape[0], x.shape[1]),
         lambda g, x: g.sum(axis=0, keepdims=True) if x.shape[0] == 1 else g,
         (((3, 4), (1, 4)), ((3, 4), (3, 4))), wrt=(0,)),
    Spec("disconnected_grad", T.disconnected_grad, np.array, U[:2], grad=False),
    Spec("alloc", lambda x: T.alloc(x, 2, 3, 4), lambda x: np.broadcast_to(x, (2, 3, 4)).copy(),
         (((4,),), ((3, 1),), ((),))),
    Spec("alloc[symbolic]", lambda x, y: T.alloc(x, y.shape[0], x.shape[0]),
         lambda x, y: np.broadcast_to(x, (y.shape[0], x.shape[0])).copy(), (((4,), (3,)),),
         wrt=(0,)),
    Spec("concatenate[axis=0]", lambda a, b: T.concatenate([a, b]),
         lambda a, b: np.concatenate([a, b]), (((2, 3), (4, 3)), ((5,), (1,)))),
    Spec("concatenate[axis=1]", lambda a, b, c: T.concatenate([a, b, c], axis=1),
         lambda a, b, c: np.concatenate([a, b, c], axis=1), (((2, 3), (2, 1), (2, 2)),)),
    Spec("join[axis=-1]", lambda a, b: T.join(-1, a, b),
         lambda a, b: np.concatenate([a, b], axis=-1), (((2, 3, 1), (2, 3, 2)),)),
    Spec("stack[axis=0]", lambda a, b: T.stack([a, b]), lambda a, b: np.stack([a, b]),
         (((2, 3), (2, 3)), ((), ()))),
    Spec("stack[axis=-1]", lambda a, b, c: T.stack([a, b, c], axis=-1),
         lambda a, b, c: np.stack([a, b, c], axis=-1), (((2, 3), (2, 3), (2, 3)),)),
    Spec("split", lambda x: T.concatenate(T.split(x, [1, 2], 2, axis=1)[::-1], axis=1),
         lambda x: np.concatenate(np.split(x, [1], axis=1)[::-1], axis=1), (((3, 3),),)),
    Spec("arange[int]", T.arange, lambda a, b: np.arange(a, b, dtype=a.dtype),
         (((), ()),), ("start", "stop"), INTS, grad=False),
    Spec("arange[float]", lambda s, st: T.arange(s, 4.0, st),
         lambda s, st: np.arange(s, 4.0, st, dtype=s.dtype), (((), ()),), ("start", "step")),
    Spec("zeros", lambda x: T.zeros(x.shape, dtype=x.dtype),
         lambda x: np.zeros(x.shape, x.dtype), (((3, 4),), ((),)), grad=False),
    Spec("ones", lambda x: T.ones((x.shape[0], 2), dtype=x.dtype),
         lambda x: np.ones((x.shape[0], 2), x.dtype), (((3, 4),),), grad=False),
    Spec("eye", lambda x: T.eye(x.shape[0], x.shape[1], 1, dtype=x.dtype),
         lambda x: np.eye(x.shape[0], x.shape[1], 1, dtype=x.dtype), (((3, 4),), ((4, 2),)),
         grad=False),
    Spec("identity_like", T.identity_like, lambda x: np.eye(*x.shape, dtype=x.dtype),
         (((3, 4),),), grad=False),
    Spec("horizontal_stack", T.horizontal_stack, lambda a, b: np.hstack([a, b]),
         (((2, 3), (2, 1)), ((2,), (3,)))),
    Spec("vertical_stack", T.vertical_stack, lambda a, b: np.vstack([a, b]),
         (((2, 3), (1, 3)),)),
    Spec("squeeze", lambda x: T.squeeze(x, 1), lambda x: np.squeeze(x, 1), (((3, 1, 4),),)),
    Spec("swapaxes", lambda x: T.swapaxes(x, 0, 2), lambda x: np.swapaxes(x, 0, 2), R3),
    Spec("repeat[scalar]", lambda x: T.repeat(x, 3, axis=1), lambda x: np.repeat(x, 3, axis=1),
         (((2, 3),), ((2, 1),))),
    Spec("repeat[vector]", lambda x: T.repeat(x, [2, 0, 1], axis=0),
         lambda x: np.repeat(x, [2, 0, 1], axis=0), (((3, 2),),)),
    Spec("repeat[axis=None]", lambda x: T.repeat(x, 2), lambda x: np.repeat(x, 2), R3),
    Spec("tile", lambda x: T.tile(x, (2, 1, 3)), lambda x: np.tile(x, (2, 1, 3)),
         (((2, 3),), ((4,),))),
]



def _set_ref(x, y):
    out = x.copy()
    out[1:3] = y
    return out


def _inc_at_ref(x, y):
    out = x.copy()
    np.add.at(out, [0, 0, 2], y)
    return out


def _softmax_ref(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


_LABELS = np.array([1, 0, 3])
_M = (((3, 4),),)

# indexing
SPECS += [
    Spec("getitem[1:3]", lambda x: x[1:3], lambda x: x[1:3], (((4, 5),), ((4,),))),
    Spec("getitem[:,::2]", lambda x: x[:, ::2], lambda x: x[:, ::2], (((4, 5),),)),
    Spec("getitem[-1]", lambda x: x[-1], lambda x: x[-1], (((4, 5),), ((4,),))),
    Spec("getitem[1,2]", lambda x: x[1, 2], lambda x: x[1, 2], (((4, 5),),)),
    Spec("getitem[None,1:]", lambda x: x[None, 1:], lambda x: x[None, 1:], (((4, 5),),)),
    Spec("getitem[symbolic]", lambda x: x[:x.shape[0] - 1], lambda x: x[:x.shape[0] - 1],
         (((4, 5),),)),
    Spec("getitem[int-array]", lambda x: x[[0, 2, 2]], lambda x: x[[0, 2, 2]], (((4, 5),),)),
    Spec("getitem[:,int-array]", lambda x: x[:, [1, 0]], lambda x: x[:, [1, 0]], (((4, 5),),)),
    Spec("getitem[mask]", lambda x: x[x > 0], lambda x: x[x > 0], (((4, 5),),)),
    Spec("set_subtensor[1:3]", lambda x, y: T.set_subtensor(x[1:3], y), _set_ref,
         (((4, 5), (2, 5)), ((4, 5), (5,)))),
    Spec("inc_subtensor[int-array]", lambda x, y: T.inc_subtensor(x[[0, 0, 2]], y), _inc_at_ref,
         (((4, 5), (3, 5)), ((4, 5), (5,)))),
]

# neural-network ops
SPECS += [
    Spec("softmax", NN.softmax, _softmax_ref, _M + (((2, 3, 4),),), grad2=True),
    Spec("log_softmax", NN.log_softmax, lambda x: np.log(_softmax_ref(x)), _M, grad2=True),
    Spec("relu", NN.relu, lambda x: np.maximum(x, 0), U[:2], "nonzero"),
    Spec("relu[leaky]", lambda x: NN.relu(x, 0.1), lambda x: np.where(x > 0, x, 0.1 * x),
         U[:2], "nonzero"),
    Spec("elu", NN.elu, lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))), U[:2],
         "nonzero"),
    Spec("softsign", NN.softsign, lambda x: x / (1 + np.abs(x)), U[:2], "nonzero"),
    Spec("hard_sigmoid", NN.hard_sigmoid, lambda x: np.clip(0.2 * x + 0.5, 0, 1), U[:2]),
    Spec("categorical_crossentropy[labels]",
         lambda x: NN.categorical_crossentropy(NN.softmax(x), T.constant(_LABELS)),
         lambda x: -np.log(_softmax_ref(x)[np.arange(3), _LABELS]), _M),
    Spec("binary_crossentropy",
         lambda x, t: NN.binary_crossentropy(T.sigmoid(x), t),
         lambda x, t: -(t * np.log(1 / (1 + np.exp(-x))) +
                        (1 - t) * np.log(1 - 1 / (1 + np.exp(-x)))),
         (((3, 4), (3, 4)),), ("real", "high")),
]



def _conv_ref(x, w, pad=0, flip=True):
    """Direct-sum 2-d convolution (flipped kernels) or cross-correlation, stride 1."""
    if pad:
        x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    k = w[:, :, ::-1, ::-1] if flip else w
    win = np.lib.stride_tricks.sliding_window_view(x, k.shape[2:], axis=(2, 3))
    return np.einsum("ncijab,ocab->noij", win, k).astype(np.result_type(x, w))


def _pool_ref(x, mode):
    n, c, h, w = x.shape
    blocks = x[:, :, :h // 2 * 2, :w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2)
    return getattr(blocks, mode)(axis=(3, 5))


_IMG = (((2, 2, 5, 4), (3, 2, 3, 2)),)

# convolution and pooling
SPECS += [
    Spec("conv2d[valid]", NN_conv2d, _conv_ref, _IMG),
    Spec("conv2d[full,no-flip]", lambda x, w: NN_conv2d(x, w, filter_shape=(3, 2, 3, 3),
                                                        border_mode="full", filter_flip=False),
         lambda x, w: _conv_ref(x, w, pad=2, flip=False), (((1, 2, 4, 4), (3, 2, 3, 3)),)),
    Spec("pool_2d[max]", lambda x: pool_2d(x, (2, 2), ignore_border=True),
         lambda x: _pool_ref(x, "max"), (((2, 3, 5, 4),),)),
    Spec("pool_2d[sum]", lambda x: pool_2d(x, (2, 2), ignore_border=True, mode="sum"),
         lambda x: _pool_ref(x, "sum"), (((2, 3, 4, 4),),)),
]

SPECS += ARRAY_SPECS

_NAMES = [s.name for s in SPECS]
assert len(set(_NAMES)) == len(_NAMES), "duplicate spec names"


def _cases(specs, dtypes="all"):
    out = []
    for s in specs:
        for k, shapes in enumerate(s.shapes):
            dts = s.dtypes if dtypes == "all" else s.dtypes[:1]
            for dt in dts:
                out.append(pytest.param(s, shapes, dt, id=f"{s.name}-{shapes}-{dt}"))
    return out


def _fail(spec: Spec, shapes, what: str, exc: BaseException):
    pytest.fail(f"{spec.name} (input shapes {shapes}): {what}: {type(exc).__name__}: {exc}",
                pytrace=False)


# ---------------------------------------------------------------------------------------
# the checks
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("static", [False, True], ids=["unknown-shapes", "static-shapes"])
@pytest.mark.parametrize("spec,shapes,dtype", _cases(SPECS))
def test_forward_matches_numpy(spec, shapes, dtype, static, rng):
    vals = _values(spec, shapes, dtype, rng)
    inputs = [T.tensor(dtype, s if static else (None,) * len(s), name=f"x{i}")
              for i, s in enumerate(shapes)]
    try:
        out = spec.fn(*inputs)
        got = symgraph.function(inputs, out, on_unused_input="ignore")(*[v.copy() for v in vals])
    except Exception as exc:  # noqa: BLE001 - reported with the op's name
        _fail(spec, shapes, "building or running the graph failed", exc)
    want = np.asarray(spec.ref(*vals))
    got = np.asarray(got)
    assert got.shape == want.shape, f"{spec.name}: shape {got.shape}, NumPy gives {want.shape}"
    assert got.dtype == want.dtype, f"{spec.name}: dtype {got.dtype}, NumPy gives {want.dtype}"
    assert out.ndim == want.ndim, f"{spec.name}: symbolic output has {out.ndim} dims"
    for axis, s in enumerate(out.type.shape):
        assert s is None or s == want.shape[axis], \
            f"{spec.name}: static shape {out.type.shape} contradicts {want.shape}"
    if got.dtype.kind in "fc":
        rtol, atol = FORWARD_TOL[dtype] if dtype in FORWARD_TOL else FORWARD_TOL["float32"]
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True,
                                   err_msg=f"{spec.name}: values differ from NumPy")
    else:
        np.testing.assert_array_equal(got, want, err_msg=f"{spec.name}: values differ")


@pytest.mark.parametrize("spec", [pytest.param(s, id=s.name) for s in SPECS])
def test_debug_mode_checks_every_rewritten_node(spec, rng):
    """DebugMode runs the rewritten graph and compares every node with its ``perform``."""
    shapes, dtype = spec.shapes[0], spec.dtypes[0]
    vals = _values(spec, shapes, dtype, rng)
    inputs = [T.tensor(dtype, (None,) * len(s), name=f"x{i}") for i, s in enumerate(shapes)]
    try:
        out = spec.fn(*inputs)
        got = symgraph.function(inputs, out, mode="DebugMode",
                                on_unused_input="ignore")(*[v.copy() for v in vals])
    except Exception as exc:  # noqa: BLE001
        _fail(spec, shapes, "DebugMode", exc)
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64),
                               np.asarray(spec.ref(*vals), dtype=np.float64), rtol=1e-6,
                               atol=1e-9, equal_nan=True, err_msg=f"{spec.name}: DebugMode value")


@pytest.mark.parametrize("spec,shapes,dtype", _cases(SPECS, dtypes="first"))
def test_infer_shape_matches_actual(spec, shapes, dtype, rng):
    vals = _values(spec, shapes, dtype, rng)
    try:
        check_infer(spec.fn, vals)
    except Exception as exc:  # noqa: BLE001
        _fail(spec, shapes, "infer_shape", exc)


@pytest.mark.parametrize("spec", [pytest.param(s, id=s.name) for s in SPECS])
def test_symbolic_shape_after_rewrites(spec, rng):
    """``out.shape`` compiled with every rewrite (shape rules use ``infer_shape``) is right."""
    shapes, dtype = spec.shapes[0], spec.dtypes[0]
    vals = _values(spec, shapes, dtype, rng)
    inputs = [T.tensor(dtype, (None,) * len(s), name=f"x{i}") for i, s in enumerate(shapes)]
    try:
        out = spec.fn(*inputs)
        got = symgraph.function(inputs, out.shape, on_unused_input="ignore")(*vals)
    except Exception as exc:  # noqa: BLE001
        _fail(spec, shapes, "compiling out.shape", exc)
    want = np.shape(spec.ref(*vals))
    assert tuple(got) == want, f"{spec.name}: out.shape gives {tuple(got)}, NumPy {want}"


def _perform_values(outputs, feed: dict) -> dict:
    """Evaluate a graph node by node with ``perform`` (the reference interpreter)."""
    env = dict(feed)
    for node in toposort(outputs):
        args = [v.data if isinstance(v, Constant) else env[v] for v in node.inputs]
        res = node.op.perform(*[np.array(a) for a in args])
        res = res if len(node.outputs) > 1 else (res,)
        for o, r in zip(node.outputs, res):
            env[o] = np.asarray(r)
    return env


@pytest.mark.parametrize("spec,shapes,dtype", _cases(SPECS, dtypes="first"))
def test_emit_matches_perform(spec, shapes, dtype, rng):
    vals = _values(spec, shapes, dtype, rng)
    inputs = [T.tensor(dtype, (None,) * len(s), name=f"x{i}") for i, s in enumerate(shapes)]
    out = spec.fn(*inputs)
    env = _perform_values([out], dict(zip(inputs, vals)))
    for node in toposort([out]):
        args = [v.data if isinstance(v, Constant) else env[v] for v in node.inputs]
        try:
            check_emit(node.op, args)
        except Exception as exc:  # noqa: BLE001
            _fail(spec, shapes, f"node {node.op}", exc)
    np.testing.assert_allclose(np.asarray(env[out], dtype=np.float64),
                               np.asarray(spec.ref(*vals), dtype=np.float64), rtol=1e-6,
                               atol=1e-9, equal_nan=True,
                               err_msg=f"{spec.name}: perform differs from NumPy")


@pytest.mark.parametrize("spec,shapes", [pytest.param(s, sh, id=f"{s.name}-{sh}")
                                         for s in SPECS if s.grad and "float64" in s.dtypes
                                         for sh in s.shapes])
def test_grad_matches_finite_differences(spec, shapes, rng):
    fn, vals = _wrt(spec, spec.fn, _values(spec, shapes, "float64", rng))
    try:
        check_grad(fn, vals, rng, **spec.grad_kw)
    except Exception as exc:  # noqa: BLE001
        _fail(spec, shapes, "gradient", exc)


def _wrt(spec: Spec, fn: Callable, vals: list) -> tuple:
    """``fn`` of the inputs in ``spec.wrt`` only (the others bound to constants) and their
    values."""
    if spec.wrt is None:
        return fn, vals
    fixed = {i: T.constant(v) for i, v in enumerate(vals) if i not in spec.wrt}

    def bound(*xs):
        it = iter(xs)
        return fn(*[fixed[i] if i in fixed else next(it) for i in range(len(vals))])
    return bound, [vals[i] for i in spec.wrt]


def _grad_of(fn, i):
    def g(*xs):
        return T.grad(fn(*xs).sum(), xs[i], disconnected_inputs="ignore")
    return g


@pytest.mark.parametrize("spec,shapes", [pytest.param(s, sh, id=f"{s.name}-{sh}")
                                         for s in SPECS if s.grad2 for sh in s.shapes[:2]])
def test_second_derivative_matches_finite_differences(spec, shapes, rng):
    fn, vals = _wrt(spec, spec.fn, _values(spec, shapes, "float64", rng))
    for i in range(len(vals)):
        try:
            check_grad(_grad_of(fn, i), vals, rng, **spec.grad_kw)
        except Exception as exc:  # noqa: BLE001
            _fail(spec, shapes, f"second derivative through input {i}", exc)


def test_piecewise_constant_ops_have_zero_gradient(rng):
    """Entries marked non-differentiable over float inputs give zero (or no) gradient."""
    for spec in SPECS:
        if spec.grad or "float64" not in spec.dtypes:
            continue
        shapes = spec.shapes[0]
        xs = [T.tensor("float64", (None,) * len(s)) for s in shapes]
        out = spec.fn(*xs)
        if out.dtype not in ("float64", "float32"):
            continue
        gs = T.grad(out.sum(), xs, disconnected_inputs="ignore", null_gradients="return")
        vals = _values(spec, shapes, "float64", rng)
        for g in symgraph.function(xs, list(gs), on_unused_input="ignore")(*vals):
            assert not np.any(np.asarray(g)), f"{spec.name}: gradient is not zero"


def test_table_covers_every_scalar_op():
    from symgraph.ops import scalar as S
    covered = {n for n, *_ in UNARY} | {n for n, *_ in BINARY} | set(_NAMES)
    aliases = {"round": "round_half_to_even"}
    missing = []
    # the ops defined in ops/scalar.py itself (other modules may register more)
    names = {v.name for v in vars(S).values() if isinstance(v, S.ScalarOp)}
    for name in sorted(names):
        if aliases.get(name, name) not in covered:
            missing.append(name)
    assert len(names) > 40
    assert not missing, f"scalar ops without a table entry: {missing}"

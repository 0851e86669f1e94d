"""``theano.gof.op``: the base class of Theano-style ops, so that ops written for Theano
(``make_node``, ``perform(node, inputs, output_storage)``, ``grad(inputs, output_grads)``,
``infer_shape``, ``__props__``) compile and differentiate inside symgraph graphs.

The adaptation to symgraph's op contract is done once, here: the linker runs
:meth:`Op.runner` (which calls ``perform`` with the node and output cells and checks what it
stored), ``symgraph.grad`` calls :meth:`Op.vjp` (which calls ``L_op``/``grad`` and maps
Theano's gradient markers). Ops that define only C code, and GPU ops, cannot run: they raise
an error that says so.
"""
from __future__ import annotations

from typing import List

import numpy as np

from symgraph import gradient as _gradient
from symgraph.graph import Apply
from symgraph.op import Op as _CoreOp
from symgraph.compat.theano.gof.null_type import NullMarker
from symgraph.compat.theano.gof.utils import MethodNotDefined


def _is_disconnected(g) -> bool:
    return g is _gradient.disconnected


class PureOp(_CoreOp):
    """Base class of ops written in Theano's style.

    Identity: with ``__props__`` (names of attributes), ops of a class with equal props are
    equal (and merge); without, each instance is only equal to itself, as in Theano.
    """

    #: Theano's list of identifying attributes; None = identity by object
    __props__ = None
    #: Theano's input/output types: with both, the default ``make_node`` checks and builds
    itypes = None
    otypes = None
    default_output = None
    destroy_map: dict = {}

    # -- identity ------------------------------------------------------------------------
    @property
    def props(self):
        return tuple(self.__props__ or ())

    def __eq__(self, other):
        if self.__props__ is None:
            return self is other
        return super().__eq__(other)

    def __hash__(self):
        if self.__props__ is None:
            return object.__hash__(self)
        return super().__hash__()

    def __str__(self):
        if not self.__props__:
            return type(self).__name__
        vals = ", ".join(f"{p}={getattr(self, p)!r}" for p in self.__props__)
        return f"{type(self).__name__}{{{vals}}}"

    __repr__ = __str__

    @property
    def deterministic(self):
        try:
            return bool(self.do_constant_folding(None))
        except Exception:  # noqa: BLE001 - a node-dependent answer: do not fold
            return False

    def do_constant_folding(self, node) -> bool:
        return True

    # -- building --------------------------------------------------------------------------
    def make_node(self, *inputs) -> Apply:
        if self.itypes is None or self.otypes is None:
            raise MethodNotDefined(f"{type(self).__name__}.make_node: define make_node, or "
                                   f"the itypes and otypes of the op")
        from symgraph.ops.variable import as_tensor_variable
        if len(inputs) != len(self.itypes):
            raise ValueError(f"{self}: expected {len(self.itypes)} inputs, got {len(inputs)}")
        ins = []
        for k, (x, t) in enumerate(zip(inputs, self.itypes)):
            x = as_tensor_variable(x)
            if x.type != t:
                raise TypeError(f"{self}: input {k} ({x}) has type {x.type}, expected {t}")
            ins.append(x)
        return Apply(self, ins, [t() for t in self.otypes])

    def __call__(self, *inputs, **kwargs):
        node = self.make_node(*inputs, **kwargs)
        if self.default_output is not None:
            return node.outputs[self.default_output]
        return node.outputs[0] if len(node.outputs) == 1 else list(node.outputs)

    # -- running ---------------------------------------------------------------------------
    def perform(self, node, inputs, output_storage, params=None):
        if hasattr(self, "c_code"):
            raise NotImplementedError(
                f"{type(self).__name__} defines only C code (c_code): symgraph has no C back "
                f"end; define perform(self, node, inputs, output_storage) in Python")
        raise MethodNotDefined(f"{type(self).__name__}.perform is not defined")

    def runner(self, node: Apply):
        perform = self.perform
        outputs = node.outputs
        destroyed = sorted({k for ks in (self.destroy_map or {}).values() for k in ks})
        dtypes = [getattr(o.type, "dtype", None) for o in outputs]
        single = len(outputs) == 1

        def run(*arrays):
            args = list(arrays)
            for k in destroyed:  # the op may overwrite these: give it copies
                args[k] = np.array(args[k])
            storage = [[None] for _ in outputs]
            perform(node, args, storage)
            results = []
            for k, (cell, dt) in enumerate(zip(storage, dtypes)):
                value = cell[0]
                if value is None:
                    raise ValueError(f"{self}.perform stored nothing in output {k}")
                if dt is not None and not (isinstance(value, np.ndarray) and value.dtype == dt):
                    value = np.asarray(value, dtype=dt)
                results.append(value)
            return results[0] if single else tuple(results)
        return run

    # -- gradients -------------------------------------------------------------------------
    def L_op(self, inputs, outputs, output_grads):
        return self.grad(inputs, output_grads)

    def grad(self, inputs, output_grads):
        raise MethodNotDefined(f"{type(self).__name__} has no gradient: define "
                               f"grad(self, inputs, output_grads)")

    def vjp(self, node: Apply, output_grads) -> List:
        grads = self.L_op(list(node.inputs), list(node.outputs), list(output_grads))
        out = []
        for g in grads:
            if g is None or isinstance(g, NullMarker):
                out.append(None)
            elif _is_disconnected(g):
                out.append(_gradient.disconnected)
            else:
                out.append(g)
        return out

    def R_op(self, inputs, eval_points):
        raise MethodNotDefined(f"{type(self).__name__}.R_op")

    def connection_pattern(self, node):
        return [[True] * len(node.outputs) for _ in node.inputs]


class Op(PureOp):
    """Theano's ``gof.Op`` (the class users subclass)."""


class COp(Op):
    """Ops implemented in C cannot run: symgraph has no C back end."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} is a COp (C code in files): symgraph "
                                  f"has no C back end; subclass theano.Op and define perform")


class OpenMPOp(Op):
    """Theano's base of ops with an OpenMP C version; here the Python ``perform`` runs.
    ``openmp`` (whether Theano compiled the C code with OpenMP) changes nothing: there is no C
    code, so :attr:`openmp` is always False."""

    def __init__(self, openmp=None):
        self.openmp = False


CLinkerObject = CLinkerOp = COp


def get_test_value(v):
    """The test value of ``v``: its constant value, or ``v.tag.test_value``."""
    from symgraph.graph import Constant
    if isinstance(v, Constant):
        return v.data
    if hasattr(v.tag, "test_value"):
        return v.tag.test_value
    raise AttributeError(f"{v} has no test value")


def get_debug_values(*args):
    """``[tuple of the test values of args]`` when test values are on, else ``[]``."""
    from symgraph.compat.theano.configparser import flag
    if flag("compute_test_value") == "off":
        return []
    try:
        return [tuple(get_test_value(a) for a in args)]
    except AttributeError:
        if flag("compute_test_value") in ("raise", "pdb"):
            raise
        return []


ops_with_inner_function = {}


from symgraph.fgraph import FunctionGraph  # noqa: E402,F401

"""Phase ``fuse``: in-place BLAS updates and elementwise fusion.

Two whole-graph passes, run in this order:

1. :func:`gemm_updates` turns ``W - c * dot(a, b)`` (and ``W + c * dot(a, b)``, ``W - dot(a,
   b)``) into one :class:`Gemm` node. The linker runs a ``Gemm`` whose result is the update of
   the shared ``W`` as one in-place BLAS ``?gemm`` into ``W``'s storage at commit time.
2. :func:`fuse_elemwise` replaces every tree of :class:`~symgraph.ops.elemwise.Elemwise` nodes
   whose intermediates have no other client by one :class:`Composite` holding the tree of
   scalar ops. The linker writes a composite as a few ufunc calls into planned buffers, or as
   one compiled loop (:mod:`symgraph.compile.kernels`, :mod:`symgraph.compile.numba_kernels`).
"""
from __future__ import annotations

import functools
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from symgraph.fgraph import OUTPUT, FunctionGraph
from symgraph.graph import Apply, Constant, Variable
from symgraph.ops.variable import TensorVariable, as_tensor_variable
from symgraph.op import Op
from symgraph.ops import scalar as S
from symgraph.ops.blas import Dot
from symgraph.ops.elemwise import Elemwise
from symgraph.rewrite.engine import register_global
from symgraph.types import TensorType, broadcast_shapes

#: a reference inside a composite program: ("i", k) input k, ("s", j) step j,
#: ("c", dtype, value) a scalar constant baked into the program
Ref = tuple
Step = Tuple[S.ScalarOp, Tuple[Ref, ...], str]  # (scalar op, arguments, output dtype)


class Composite(Op):
    """Several elementwise scalar ops evaluated as one fused elementwise op.

    ``program`` is a tuple of steps ``(scalar_op, args, dtype)`` in evaluation order; the last
    step is the output. Scalar constants are part of the program, so equal programs over equal
    inputs merge. The gradient is never needed: fusion runs after differentiation, but for
    completeness it is the chain rule through the unfused graph (:meth:`expand`).
    """

    props = ("program", "n_inputs")

    def __init__(self, program: Sequence[Step], n_inputs: Optional[int] = None):
        self.program = tuple(program)
        if not self.program:
            raise ValueError("Composite: empty program")
        used = 1 + max((a[1] for _, args, _ in self.program for a in args if a[0] == "i"),
                       default=-1)
        # inputs the program does not read still shape the result (broadcasting)
        self.n_inputs = used if n_inputs is None else n_inputs

    def __str__(self) -> str:
        return f"Composite{{{self.expression()}}}"

    # -- description ----------------------------------------------------------------------
    def expression(self, names: Optional[Sequence[str]] = None) -> str:
        """The program as one nested, readable expression (``mul(i0, add(i1, 2.0))``)."""
        names = list(names) if names is not None else None
        done: List[str] = []
        for sop, args, _ in self.program:
            parts = []
            for a in args:
                if a[0] == "i":
                    parts.append(names[a[1]] if names else f"i{a[1]}")
                elif a[0] == "s":
                    parts.append(done[a[1]])
                else:
                    parts.append(repr(a[2]))
            done.append(f"{sop.name}({', '.join(parts)})")
        return done[-1]

    # -- the contract ---------------------------------------------------------------------
    def make_node(self, *inputs) -> Apply:
        inputs = [as_tensor_variable(x) for x in inputs]
        if len(inputs) != self.n_inputs:
            raise TypeError(f"{self}: takes {self.n_inputs} inputs, got {len(inputs)}")
        shape = broadcast_shapes([x.type.shape for x in inputs], what=str(self))
        return Apply(self, inputs, [TensorVariable(TensorType(self.program[-1][2], shape))])

    def perform(self, *arrays):
        vals: List[object] = []
        for sop, args, dtype in self.program:
            ins = [arrays[a[1]] if a[0] == "i" else vals[a[1]] if a[0] == "s"
                   else np.asarray(a[2], dtype=a[1]) for a in args]
            out = sop.impl(*ins)
            vals.append(np.asarray(out, dtype=dtype))
        shape = np.broadcast_shapes(*[np.shape(a) for a in arrays])
        return np.array(np.broadcast_to(vals[-1], shape)) if vals[-1].shape != shape \
            else vals[-1]

    def emit(self, names: Sequence[str]) -> str:
        """One nested NumPy expression (used when the linker does not plan buffers)."""
        done: List[str] = []
        for sop, args, dtype in self.program:
            parts = [names[a[1]] if a[0] == "i" else done[a[1]] if a[0] == "s"
                     else f"np.{a[1]}({a[2]!r})" for a in args]
            expr = sop.emit(parts)
            done.append(expr)
        expr = f"np.asarray({done[-1]}, dtype='{self.program[-1][2]}')"
        if self.n_inputs > len({a for _, args, _ in self.program for a in args if a[0] == "i"}):
            shape = f"np.broadcast_shapes({', '.join(f'np.shape({n})' for n in names)})"
            expr = f"np.array(np.broadcast_to({expr}, {shape}))"
        return expr

    def infer_shape(self, node: Apply, input_shapes: List[tuple]) -> List[tuple]:
        return Elemwise.infer_shape(self, node, input_shapes)

    def expand(self, inputs: Sequence[Variable]) -> Variable:
        """Rebuild the unfused graph of Elemwise nodes over ``inputs``."""
        from symgraph.ops.variable import constant
        vals: List[Variable] = []
        for sop, args, dtype in self.program:
            ins = [inputs[a[1]] if a[0] == "i" else vals[a[1]] if a[0] == "s"
                   else constant(np.asarray(a[2], dtype=a[1])) for a in args]
            vals.append(Elemwise(sop)(*ins))
        return vals[-1]

    def grad(self, inputs, outputs, output_grads):
        from symgraph.gradient import grad as _grad
        out = self.expand(inputs)
        wrt = [x for x in inputs if x.dtype not in S.discrete_dtypes]
        gs = iter(_grad(None, wrt, known_grads={out: output_grads[0]},
                        disconnected_inputs="ignore") if wrt else [])
        return [None if x.dtype in S.discrete_dtypes else next(gs) for x in inputs]


class Gemm(Op):
    """``C + alpha * dot(A, B)`` for matrices (BLAS ``?gemm`` with ``beta = 1``).

    Gradient: ``gC = gz``, ``galpha = sum(gz * dot(A, B))``, ``gA = alpha gz B^T``,
    ``gB = alpha A^T gz``. The linker computes it in place into ``C``'s storage when ``C`` is a
    shared variable whose update this is, after every reader of ``C`` ran.
    """

    def make_node(self, c, alpha, a, b) -> Apply:
        c, alpha, a, b = (as_tensor_variable(v) for v in (c, alpha, a, b))
        if not (c.ndim == a.ndim == b.ndim == 2) or alpha.ndim != 0:
            raise TypeError(f"Gemm: expects matrices C, A, B and a scalar alpha, got {c.type}, "
                            f"{alpha.type}, {a.type}, {b.type}")
        if len({c.dtype, a.dtype, b.dtype}) != 1 or c.dtype not in ("float32", "float64"):
            raise TypeError(f"Gemm: C, A, B must share one float dtype, got {c.dtype}, "
                            f"{a.dtype}, {b.dtype}")
        shape = broadcast_shapes([c.type.shape, (a.type.shape[0], b.type.shape[1])], "Gemm")
        return Apply(self, [c, alpha, a, b], [TensorVariable(TensorType(c.dtype, shape))])

    def perform(self, c, alpha, a, b):
        return gemm_into(np.array(c, order="C"), alpha, a, b)

    def emit(self, names):
        return f"_gemm_into(np.array({names[0]}), {names[1]}, {names[2]}, {names[3]})"

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def grad(self, inputs, outputs, output_grads):
        from symgraph.ops.blas import dot
        from symgraph.ops.reduce import sum as _sum
        c, alpha, a, b = inputs
        (gz,) = output_grads
        return [gz, _sum(gz * dot(a, b)), alpha * dot(gz, b.T), alpha * dot(a.T, gz)]


@functools.lru_cache(maxsize=None)
def _blas_gemm(dtype):
    """SciPy's ``?gemm`` for ``dtype`` (looked up once per dtype), or None."""
    try:
        from scipy.linalg import blas
    except ImportError:  # SciPy is optional
        return None
    return blas.sgemm if dtype == np.float32 else blas.dgemm if dtype == np.float64 else None


def gemm_into(c: np.ndarray, alpha, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``c += alpha * a @ b`` in place (``c`` C-contiguous) and return ``c``.

    Uses BLAS ``?gemm`` from SciPy on the transposes (``c.T`` is Fortran-ordered, so BLAS writes
    it in place without a copy); falls back to NumPy when SciPy is absent.
    """
    if a.shape[1] != b.shape[0] or c.shape != (a.shape[0], b.shape[1]):
        raise ValueError(f"Gemm: shapes C{c.shape} + A{a.shape} . B{b.shape} do not agree")
    fn = _blas_gemm(c.dtype) if c.flags.c_contiguous and c.size else None
    if fn is None or a.dtype != c.dtype or b.dtype != c.dtype:
        c += np.asarray(alpha, dtype=c.dtype) * np.dot(a, b)
        return c
    # c.T = alpha * b.T @ a.T + c.T, with every operand passed Fortran-ordered when possible
    bt, tb = (b.T, 0) if b.T.flags.f_contiguous else (b, 1)
    at, ta = (a.T, 0) if a.T.flags.f_contiguous else (a, 1)
    fn(float(alpha), bt, at, 1.0, c.T, trans_a=tb, trans_b=ta, overwrite_c=1)
    return c


def gemm_check(c: np.ndarray, a: np.ndarray, b: np.ndarray) -> bool:
    """Raise unless ``c + a @ b`` is well-shaped; True when ``c`` can be written in place
    (writeable, and not overlapping ``a`` or ``b``: an input may be the shared storage itself,
    e.g. ``f(W.get_value(borrow=True))``, and BLAS would read what it already overwrote)."""
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0] or \
            c.shape != (a.shape[0], b.shape[1]):
        raise ValueError(f"Gemm: shapes C{c.shape} + A{a.shape} . B{b.shape} do not agree")
    return c.flags.writeable and not np.may_share_memory(c, a) and \
        not np.may_share_memory(c, b)


NAMESPACE = {"_gemm_into": gemm_into, "_gemm_check": gemm_check}


# ---------------------------------------------------------------------------------------
# gemm: W - c * dot(a, b)  ->  Gemm(W, -c, a, b)
# ---------------------------------------------------------------------------------------

def _single_client(fgraph: FunctionGraph, var: Variable, node: Apply) -> bool:
    clients = fgraph.clients.get(var, ())
    return len(clients) == 1 and clients[0][0] is node


def _scaled_dot(fgraph: FunctionGraph, var: Variable, consumer: Apply):
    """``var = s1 * ... * dot(a, b)`` with scalar ``s``: return ``(scalars, a, b)``."""
    if var.owner is None or not _single_client(fgraph, var, consumer):
        return None
    op = var.owner.op
    if isinstance(op, Dot):
        a, b = var.owner.inputs
        return ([], a, b) if a.ndim == 2 and b.ndim == 2 else None
    if isinstance(op, Elemwise) and op.scalar_op == S.mul:
        dots = [x for x in var.owner.inputs if x.owner is not None
                and isinstance(x.owner.op, Dot) and x.ndim == 2]
        if len(dots) != 1 or not _single_client(fgraph, dots[0], var.owner):
            return None
        rest = [x for x in var.owner.inputs if x is not dots[0]]
        if not all(all(s == 1 for s in x.type.shape) for x in rest):
            return None
        a, b = dots[0].owner.inputs
        if a.ndim != 2 or b.ndim != 2:
            return None
        return rest, a, b
    return None


def _alpha(scalars: List[Variable], sign: float, dtype: str) -> Variable:
    from symgraph.ops import elemwise as E
    from symgraph.ops.shape import dimshuffle
    if all(isinstance(s, Constant) for s in scalars):
        value = sign * np.prod([float(s.data.reshape(())) for s in scalars])
        return as_tensor_variable(np.asarray(value, dtype=dtype))
    alpha = as_tensor_variable(np.asarray(sign, dtype=dtype))
    for s in scalars:
        if s.ndim:
            s = dimshuffle(s, [])  # a (1, 1) factor -> scalar
        alpha = E.mul(alpha, E.cast(s, dtype))
    return alpha


@register_global("fuse")
def gemm_updates(fgraph: FunctionGraph) -> bool:
    """``C - s * dot(A, B)`` -> ``Gemm(C, -s, A, B)`` and ``C + s * dot(A, B)`` ->
    ``Gemm(C, s, A, B)`` (``s`` a scalar, every operand the same float dtype)."""
    changed = False
    for node in fgraph.toposort():
        if node not in fgraph.apply_nodes or not isinstance(node.op, Elemwise):
            continue
        sop = node.op.scalar_op
        if sop not in (S.sub, S.add) or len(node.inputs) != 2:
            continue
        out = node.outputs[0]
        if out.ndim != 2 or out.dtype not in ("float32", "float64"):
            continue
        cands = [(node.inputs[0], node.inputs[1], -1.0 if sop == S.sub else 1.0)]
        if sop == S.add:
            cands.append((node.inputs[1], node.inputs[0], 1.0))
        for c, term, sign in cands:
            if c.type != out.type and c.type.shape != out.type.shape:
                continue
            if c.dtype != out.dtype or c.ndim != 2:
                continue
            found = _scaled_dot(fgraph, term, node)
            if found is None:
                continue
            scalars, a, b = found
            if a.dtype != out.dtype or b.dtype != out.dtype:
                continue
            new = Gemm()(c, _alpha(scalars, sign, out.dtype), a, b)
            if new.type != out.type:
                continue
            fgraph.replace(out, new, "gemm_updates")
            changed = True
            break
    return changed


# ---------------------------------------------------------------------------------------
# elementwise fusion
# ---------------------------------------------------------------------------------------

def _not_smaller(inner: Variable, outer: Variable) -> bool:
    """True unless ``inner`` is statically smaller than ``outer`` (it would be recomputed per
    broadcast element inside a fused loop)."""
    if inner.ndim != outer.ndim:
        return False
    return all(not (a == 1 and b != 1) for a, b in zip(inner.type.shape, outer.type.shape))


def _absorbable(fgraph: FunctionGraph, var: Variable, consumer: Apply, root: Variable) -> bool:
    owner = var.owner
    if owner is None or not isinstance(owner.op, Elemwise) or len(owner.outputs) != 1:
        return False
    clients = fgraph.clients.get(var, ())
    if not clients or any(c is OUTPUT or c is not consumer for c, _ in clients):
        return False
    return _not_smaller(var, root)


def build_cluster(fgraph: FunctionGraph, root_node: Apply):
    """Collect the fusable tree under ``root_node``; return ``(program, inputs, members)``."""
    root = root_node.outputs[0]
    inputs: List[Variable] = []
    index: Dict[Variable, int] = {}
    steps: List[Step] = []
    members: List[Apply] = []
    memo: Dict[Variable, Ref] = {}

    def resolve(inp: Variable, node: Apply) -> Ref:
        if inp in memo:
            return memo[inp]
        if _absorbable(fgraph, inp, node, root):
            ref = visit(inp.owner)
        elif isinstance(inp, Constant) and inp.data.size == 1 and \
                all(s == 1 for s in inp.type.shape):
            ref = ("c", inp.dtype, inp.data.reshape(()).item())
        else:
            if inp not in index:
                index[inp] = len(inputs)
                inputs.append(inp)
            ref = ("i", index[inp])
        memo[inp] = ref
        return ref

    def visit(node: Apply) -> Ref:
        members.append(node)
        if node.op.scalar_op == S.second and node is not root_node and \
                not _absorbable(fgraph, node.inputs[0], node, root):
            # second(x, y) inside a cluster is y: every step is computed at the cluster's full
            # shape, which x (kept as an input) still contributes to
            resolve(node.inputs[0], node)
            return resolve(node.inputs[1], node)
        args = tuple(resolve(inp, node) for inp in node.inputs)
        steps.append((node.op.scalar_op, args, node.outputs[0].dtype))
        return ("s", len(steps) - 1)

    visit(root_node)
    return tuple(steps), inputs, members


@register_global("fuse")
def fuse_elemwise(fgraph: FunctionGraph) -> bool:
    """Replace each maximal single-client tree of ``Elemwise`` nodes by one ``Composite``."""
    changed = False
    done = set()
    for node in reversed(fgraph.toposort()):
        if node in done or node not in fgraph.apply_nodes or not isinstance(node.op, Elemwise):
            continue
        program, inputs, members = build_cluster(fgraph, node)
        done.update(members)
        if not inputs:
            continue  # all-constant: constant folding's business
        new = Composite(program, len(inputs))(*inputs)
        old = node.outputs[0]
        if new.type != old.type:
            if new.dtype != old.dtype or new.ndim != old.ndim:
                continue
        fgraph.replace(old, new, "fuse_elemwise")
        changed = True
    return changed

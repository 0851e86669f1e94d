"""The index patterns of :mod:`symgraph.ops.subtensor`: parsing ``x[idx]``, static and symbolic
output shapes, the run-time index tuple, and the source text the linker writes for it.

A pattern is a tuple of entries (see :mod:`symgraph.ops.subtensor`); ``SYM`` and ``ARR`` mark
places filled, in order, by the index inputs of the op.
"""
from __future__ import annotations

import operator
from typing import List, Optional, Sequence, Tuple

import numpy as np

from symgraph.graph import Apply, Constant, Variable
from symgraph.op import Op
from symgraph.ops.elemwise import cast, maximum
from symgraph.ops.reduce import sum as _sum
from symgraph.ops.shape import shape_i
from symgraph.ops.variable import TensorVariable, as_tensor_variable, constant
from symgraph.types import TensorType, broadcast_shapes, int_dtypes

SYM = "?"     # an integer scalar input
ARR = "[?]"   # an integer-array or boolean-mask input
FULL = ("slice", None, None, None)

__all__ = ["SYM", "ARR", "parse_index", "out_shape", "runtime_index", "index_source",
           "pattern_str", "input_kinds", "expand_newaxes", "SliceLen", "int_dtypes"]


def _is_slice(e) -> bool:
    return isinstance(e, tuple)


def input_kinds(entries: tuple) -> List[str]:
    """``SYM``/``ARR`` for each index input the pattern consumes, in order."""
    kinds = []
    for e in entries:
        if _is_slice(e):
            kinds.extend(p for p in e[1:] if p == SYM)
        elif e == SYM or e == ARR:
            kinds.append(e)
    return kinds


def check_pattern(entries: tuple) -> tuple:
    """Return ``entries`` as a tuple, or raise ``TypeError`` naming the malformed entry."""
    entries = tuple(entries)
    for e in entries:
        ok = e is None or e in (SYM, ARR) or (isinstance(e, int) and not isinstance(e, bool))
        if _is_slice(e):
            ok = len(e) == 4 and e[0] == "slice" and all(
                p is None or p == SYM or (isinstance(p, int) and not isinstance(p, bool))
                for p in e[1:]) and e[3] != 0
        if not ok:
            raise TypeError(f"malformed index pattern entry {e!r} in {entries!r}: expected an "
                            f"int, {SYM!r}, {ARR!r}, None or ('slice', start, stop, step)")
    return entries


def check_fits(x: Variable, entries: tuple, index: Sequence[Variable], what: str) -> None:
    """Raise ``IndexError`` when the pattern indexes more dimensions than ``x`` has."""
    used = sum(_consumed(e, b if e == ARR else None)
               for e, b in zip(entries, _bind(entries, index)))
    if used > x.ndim:
        raise IndexError(f"{what}: too many indices: the pattern indexes {used} dimensions but "
                         f"{x} has {x.ndim} (type {x.type})")


def _bind(entries: tuple, args: Sequence) -> list:
    """The pattern with each marker replaced by its argument (a variable or a value)."""
    it = iter(args)
    out = []
    for e in entries:
        if _is_slice(e):
            out.append(("slice",) + tuple(next(it) if p == SYM else p for p in e[1:]))
        elif isinstance(e, str):
            out.append(next(it))
        else:
            out.append(e)
    return out


# ---------------------------------------------------------------------------------------
# parsing x[idx]
# ---------------------------------------------------------------------------------------

def _scalar_part(p, what: str):
    """A slice bound as ``None``, an int, or an integer scalar variable."""
    if p is None:
        return None
    if isinstance(p, (bool, np.bool_)):
        raise IndexError(f"{what}: a slice bound must be an integer, got the boolean {p!r}")
    if isinstance(p, (int, np.integer)):
        return int(p)
    if isinstance(p, Variable):
        if p.ndim != 0 or p.dtype not in int_dtypes:
            raise IndexError(f"{what}: a slice bound must be an integer scalar, got {p} of "
                             f"type {p.type}")
        return int(p.data) if isinstance(p, Constant) else p
    raise IndexError(f"{what}: a slice bound must be an integer or an integer scalar "
                     f"variable, got {type(p).__name__} {p!r}")


def _entry(r, what: str):
    """One raw index element as ``(entry, inputs)`` (``Ellipsis`` passes through)."""
    if r is Ellipsis or r is None:
        return r, []
    if isinstance(r, slice):
        parts = [_scalar_part(p, what) for p in (r.start, r.stop, r.step)]
        if parts[2] == 0:
            raise ValueError(f"{what}: slice step cannot be zero")
        syms = [p for p in parts if isinstance(p, Variable)]
        return ("slice",) + tuple(SYM if isinstance(p, Variable) else p for p in parts), syms
    if isinstance(r, (bool, np.bool_)):
        raise IndexError(f"{what}: a boolean scalar index is not supported; use a boolean "
                         f"mask array")
    if isinstance(r, (int, np.integer)):
        return int(r), []
    if isinstance(r, Variable):
        v = r
    elif isinstance(r, (float, np.floating, complex)):
        raise IndexError(f"{what}: index {r!r} is a float; indices must be integers, slices, "
                         f"None, Ellipsis, integer arrays or boolean masks")
    else:
        try:
            v = as_tensor_variable(r)
        except TypeError as exc:
            raise IndexError(f"{what}: cannot use {type(r).__name__} {r!r} as an index") \
                from exc
        if isinstance(r, (list, tuple)) and len(r) == 0:
            v = constant(v.data.astype("int64"))  # x[[]] selects nothing, as in NumPy
    if v.dtype not in int_dtypes and v.dtype != "bool":
        raise IndexError(f"{what}: index {v} has dtype {v.dtype}; indices must be integers or "
                         f"booleans (cast it: T.cast(i, 'int64'))")
    if v.ndim == 0:
        if v.dtype == "bool":
            raise IndexError(f"{what}: a boolean scalar index is not supported; use a boolean "
                             f"mask array")
        return (int(v.data) if isinstance(v, Constant) else SYM), \
            ([] if isinstance(v, Constant) else [v])
    return ARR, [v]


def _consumed(entry, var) -> int:
    """How many dimensions of ``x`` an entry indexes."""
    if entry is None:
        return 0
    if entry == ARR:
        return var.ndim if var.dtype == "bool" else 1
    return 1


def parse_index(x: Variable, idx) -> Tuple[tuple, List[Variable]]:
    """Split ``idx`` (anything NumPy accepts in ``x[idx]``) into a pattern and index inputs.

    Raises ``IndexError`` at build time for too many indices, float indices and static
    integers out of range of a static dimension.
    """
    what = f"{x}[...]"
    raw = idx if isinstance(idx, tuple) else (idx,)
    items = [_entry(r, what) for r in raw]
    n_ell = sum(1 for e, _ in items if e is Ellipsis)
    if n_ell > 1:
        raise IndexError(f"{what}: an index can only have a single Ellipsis ('...')")
    used = sum(_consumed(e, v[0] if v else None) for e, v in items if e is not Ellipsis)
    if used > x.ndim:
        raise IndexError(f"{what}: too many indices: {used} dimensions indexed but {x} has "
                         f"{x.ndim} (type {x.type})")
    entries: list = []
    inputs: List[Variable] = []
    for e, vs in items:
        if e is Ellipsis:
            entries.extend([FULL] * (x.ndim - used))
        else:
            entries.append(e)
            inputs.extend(vs)
    _check_static(x, entries, inputs, what)
    while entries and entries[-1] == FULL:
        entries.pop()
    return tuple(entries), inputs


def _check_static(x: Variable, entries: list, inputs: List[Variable], what: str) -> None:
    """Refuse indices that are out of range of a static dimension."""
    args = iter(inputs)
    axis = 0
    for e in entries:
        if e is None:
            continue
        if _is_slice(e):
            for p in e[1:]:
                if p == SYM:
                    next(args)
            axis += 1
            continue
        v = next(args) if isinstance(e, str) else None
        n = x.type.shape[axis]
        if isinstance(e, int) and n is not None and not -n <= e < n:
            raise IndexError(f"{what}: index {e} is out of bounds for axis {axis} with size {n}")
        if e == ARR and v.dtype == "bool":
            for j, (m, d) in enumerate(zip(v.type.shape, x.type.shape[axis:axis + v.ndim])):
                if m is not None and d is not None and m != d:
                    raise IndexError(f"{what}: boolean mask {v} of static shape {v.type.shape} "
                                     f"does not match dimension {axis + j} of size {d}")
        elif e == ARR and isinstance(v, Constant) and n is not None and v.data.size:
            lo, hi = int(v.data.min()), int(v.data.max())
            if lo < -n or hi >= n:
                bad = hi if hi >= n else lo
                raise IndexError(f"{what}: index {bad} is out of bounds for axis {axis} with "
                                 f"size {n}")
        axis += _consumed(e, v)


# ---------------------------------------------------------------------------------------
# output shapes
# ---------------------------------------------------------------------------------------

def _static_int(p):
    """An int, ``None`` (absent) or ``...`` (unknown at build time) for a slice part."""
    if p is None or isinstance(p, int):
        return p
    if isinstance(p, Constant):
        return int(p.data)
    return ...


def _slice_dim(n, parts, static: bool):
    start, stop, step = (_static_int(p) for p in parts)
    if start is None and stop is None and step in (None, 1, -1):
        return n
    known = ... not in (start, stop, step)
    if known and isinstance(n, (int, np.integer)) and n is not None:
        return len(range(*slice(start, stop, step).indices(int(n))))
    if static:
        return None
    pattern = tuple(SYM if isinstance(p, Variable) else p for p in parts)
    n = n if isinstance(n, Variable) else constant(np.int64(n))
    return SliceLen(pattern)(n, *[p for p in parts if isinstance(p, Variable)])


def _adv_dims(advs: list, static: bool) -> list:
    """Broadcast shape of the advanced indices (``advs``: ``(kind, var_or_int)``)."""
    static_shapes = []
    for kind, v in advs:
        if kind == "int":
            static_shapes.append(())
        elif v.dtype == "bool":
            count = int(np.count_nonzero(v.data)) if isinstance(v, Constant) else None
            static_shapes.append((count,))
        else:
            static_shapes.append(v.type.shape)
    dims = list(broadcast_shapes(static_shapes, what="advanced indices"))
    if static:
        return dims
    out = []
    for i, d in enumerate(dims):
        if d is not None:
            out.append(d)
            continue
        cands = []
        for (kind, v), shp in zip(advs, static_shapes):
            k = i - (len(dims) - len(shp))
            if k < 0 or shp[k] == 1:
                continue
            if kind != "int" and v.dtype == "bool":
                cands.append(_sum(cast(v, "int64")))
            else:
                cands.append(shape_i(v, k))
        size = cands[0]
        for c in cands[1:]:
            size = maximum(size, c)
        out.append(size)
    return out


def out_shape(x_shape: Sequence, entries: tuple, args: Sequence, static: bool) -> tuple:
    """Shape of ``x[idx]``: static (ints or ``None``) or symbolic (ints or int64 scalars).

    Follows NumPy: integers drop a dimension, slices keep it, ``None`` inserts one; with array
    indices, their broadcast shape (integers count as 0-d arrays) replaces the indexed
    dimensions, in place when the advanced indices are adjacent, else in front.
    """
    bound = _bind(entries, args)
    advanced = ARR in entries
    dims: list = []
    advs: list = []
    adv_at: Optional[int] = None
    adjacent, last = True, None
    axis = 0
    for k, (e, b) in enumerate(zip(entries, bound)):
        if e is None:
            dims.append(1)
            continue
        if _is_slice(e):
            dims.append(_slice_dim(x_shape[axis], b[1:], static))
            axis += 1
            continue
        if advanced:
            if adv_at is None:
                adv_at = len(dims)
            elif last != k - 1:
                adjacent = False
            last = k
            advs.append(("int", b) if e != ARR else ("arr", b))
        axis += _consumed(e, b if e == ARR else None)
    dims.extend(x_shape[axis:])
    if advanced:
        at = adv_at if adjacent else 0
        dims[at:at] = _adv_dims(advs, static)
    return tuple(dims)


class SliceLen(Op):
    """``len(range(*slice(start, stop, step).indices(n)))``: the length of a slice of a
    dimension of length ``n`` (for symbolic shapes). Gradient: none (an integer)."""

    @property
    def emit_helpers(self) -> dict:
        return {"_slice_len": _slice_len}

    props = ("parts",)

    def __init__(self, parts: tuple):
        self.parts = tuple(parts)

    def __str__(self) -> str:
        return f"SliceLen{{{pattern_str((('slice',) + self.parts,))}}}"

    __repr__ = __str__

    def make_node(self, n, *syms) -> Apply:
        n = as_tensor_variable(n)
        syms = [as_tensor_variable(s) for s in syms]
        for v in [n] + syms:
            if v.ndim != 0 or v.dtype not in int_dtypes:
                raise TypeError(f"{self}: inputs must be integer scalars, got {v} of type "
                                f"{v.type}")
        if len(syms) != sum(1 for p in self.parts if p == SYM):
            raise TypeError(f"{self}: expected {self.parts.count(SYM)} symbolic bounds")
        return Apply(self, [n] + syms, [TensorVariable(TensorType("int64", ()))])

    def perform(self, n, *syms):
        parts = _bind((("slice",) + self.parts,), syms)[0][1:]
        return _slice_len(n, *parts)

    def emit(self, names):
        it = iter(names[1:])
        parts = [next(it) if p == SYM else repr(p) for p in self.parts]
        return f"_slice_len({names[0]}, {', '.join(parts)})"

    def infer_shape(self, node, shapes):
        return [()]

    def grad(self, inputs, outputs, output_grads):
        return [None] * len(inputs)


def _slice_len(n, start, stop, step):
    return np.int64(len(range(*slice(start, stop, step).indices(int(n)))))


# ---------------------------------------------------------------------------------------
# run time and source text
# ---------------------------------------------------------------------------------------

def _all_integers(entries: tuple) -> bool:
    return all(isinstance(e, int) or e == SYM for e in entries)


def runtime_index(entries: tuple, values: Sequence, zero_d: bool = False) -> tuple:
    """The index tuple for NumPy. Scalar indices become Python ints (a 0-d array would make
    NumPy copy instead of viewing); ``zero_d`` adds ``...`` so that a fully indexed result is
    a 0-d array view rather than a NumPy scalar."""
    out = []
    for e, b in zip(entries, _bind(entries, values)):
        if _is_slice(e):
            out.append(slice(*b[1:]))
        elif e == SYM:
            out.append(operator.index(b))
        else:
            out.append(b)
    if zero_d and _all_integers(entries):
        out.append(Ellipsis)
    return tuple(out)


def index_source(entries: tuple, names: Sequence[str], zero_d: bool = False) -> str:
    """The index as Python source (``'i:i + 2, int(j), idx'``), the same tuple as
    :func:`runtime_index`."""
    it = iter(names)
    parts = []
    for e in entries:
        if _is_slice(e):
            txt = [("" if p is None else next(it) if p == SYM else str(p)) for p in e[1:]]
            parts.append(":".join(txt[:2]) + ("" if e[3] is None else ":" + txt[2]))
        elif e == SYM:
            parts.append(f"int({next(it)})")
        elif e == ARR:
            parts.append(next(it))
        else:
            parts.append(str(e))
    if zero_d and _all_integers(entries) or not parts:
        parts.append("...")
    return ", ".join(parts)


def pattern_str(entries: tuple) -> str:
    """Readable pattern for op names: ``'?:?, 2'``, ``':, [?]'``."""
    names = ["?" if k == SYM else "[?]" for k in input_kinds(entries)]
    return index_source(entries, names).replace("int(?)", "?")


def expand_newaxes(arr: np.ndarray, idx) -> Tuple[np.ndarray, tuple]:
    """``(view, idx2)`` with ``view[idx2]`` the same elements as ``arr[idx]`` and no ``None``
    in ``idx2``: ``np.add.at`` does not accept new axes, so they become length-1 axes of a
    view, indexed by full slices (which separate advanced indices exactly as ``None`` does)."""
    idx = idx if isinstance(idx, tuple) else (idx,)
    if not any(e is None for e in idx):
        return arr, idx
    positions, cur = [], 0
    for e in idx:
        if e is None:
            positions.append(cur)
            cur += 1
        elif isinstance(e, np.ndarray) and e.dtype == bool:
            cur += e.ndim
        else:
            cur += 1
    return np.expand_dims(arr, tuple(positions)), \
        tuple(slice(None) if e is None else e for e in idx)


#: helpers the emitted code names
HELPERS = {"_slice_len": _slice_len}


def fold_constants(entries: tuple, inputs: Sequence[Variable]) -> Tuple[tuple, list]:
    """Move constant scalar index inputs into the pattern (``x[c:c+2]`` with ``c`` constant
    becomes the static pattern ``x[3:5]``); array inputs stay inputs."""
    it = iter(inputs)
    kept: list = []

    def part(p):
        if p != SYM:
            return p
        v = next(it)
        if isinstance(v, Constant):
            return int(v.data)
        kept.append(v)
        return SYM

    new = []
    for e in entries:
        if _is_slice(e):
            new.append(("slice",) + tuple(part(p) for p in e[1:]))
        elif e == ARR:
            kept.append(next(it))
            new.append(e)
        else:
            new.append(part(e))
    return tuple(new), kept

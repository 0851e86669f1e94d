"""numba code for fused elementwise clusters: the ``[fast]`` extra.

A cluster becomes ONE loop over the elements. Serial loops over contiguous operands (and
over vectors broadcast along the output's rows, a layer's bias) are compiled by numba once and
kept as object code (:mod:`symgraph.backends.native`), so a process whose kernel cache is warm
runs them without starting numba; other broadcast operands and the parallel backend (``'numba-parallel'``, threads over elements) use numba's dispatcher, from a
module named by the hash of its source and cached on disk by numba. Small arrays still take
the NumPy path (:mod:`symgraph.backends.numpy_expr`), where a compiled call costs more than it
saves. Serial loops are the default: measured on this 2-core machine shared with other work,
parallel loops were up to 25x slower (threads waiting for cores) while a serial loop beat
three NumPy passes 2x.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import sys
import tempfile
import threading
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from symgraph.backends import native
from symgraph.backends.buffers import overlap_free
from symgraph.backends.numpy_expr import _const, numpy_function

#: below this many elements the numba wrapper runs the NumPy code instead
NUMBA_MIN_SIZE = 1 << 15
#: the same for a group of chained updates: one compiled call replaces a dozen ufunc calls,
#: which wins at any size (measured: Adam on 10 / 1000 / 10 000 elements, 10.1 / 11.9 /
#: 22.8 us per step in NumPy, 6.9 / 7.3 / 10.5 us as one loop)
GROUP_MIN_SIZE = 1


def numba_available() -> bool:
    """True when numba is installed (found, not imported: its start-up is paid only when a
    loop is missing from the kernel cache)."""
    return importlib.util.find_spec("numba") is not None


def cache_dir() -> str:
    """Where compiled kernels live: ``$XDG_CACHE_HOME/symgraph/kernels`` (read when called)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = os.path.join(base, "symgraph", "kernels")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        path = os.path.join(tempfile.gettempdir(), "symgraph-kernels")
        os.makedirs(path, exist_ok=True)
    return path


_NB_TYPES = {"float32": "float32", "float64": "float64", "int8": "int8", "int16": "int16",
             "int32": "int32", "int64": "int64", "uint8": "uint8", "uint16": "uint16",
             "uint32": "uint32", "uint64": "uint64", "bool": "boolean"}


def numba_types_ok(dtypes: Sequence[str]) -> bool:
    """True when every dtype has a loop type here (no complex or float16 loops)."""
    return all(d in _NB_TYPES for d in dtypes)


def _kernel_body(program, in_refs: Sequence[str], indent: str, prefix: str = "s",
                 hoisted: Optional[Dict[int, str]] = None) -> Tuple[List[str], str]:
    """The statements (at ``indent``) computing ``program`` for one element whose inputs read
    as ``in_refs``, and the name of the result. ``hoisted`` gives, by position in the
    program, the expression of an op already computed for the element (:func:`_paired`)."""
    lines, names = [], []
    for j, (sop, args, dtype) in enumerate(program):
        parts = []
        for a in args:
            if a[0] == "i":
                parts.append(in_refs[a[1]])
            elif a[0] == "s":
                parts.append(names[a[1]])
            else:
                parts.append(_const(a))
        if hoisted is not None and j in hoisted:
            pre, expr = [], hoisted[j]
        else:
            pre, expr = sop.kernel_lines(parts, f"{prefix}{j}_")
        lines += [indent + line for line in pre]
        if dtype != "bool":
            expr = f"np.{dtype}({expr})"
        lines.append(f"{indent}{prefix}{j} = {expr}")
        names.append(f"{prefix}{j}")
    return lines, names[-1]


#: how a flat loop reads an input holding the elements' flat positions: its own counter
COUNTER = "np.uint64(k)"


def _paired(program, refs: Sequence[str], uniform: Sequence[bool], indent: str
            ) -> Optional[Tuple[List[str], Tuple[List[str], str], Tuple[List[str], str]]]:
    """The program computed two elements at a time, when some of its ops share work between
    elements ``2j`` and ``2j + 1`` of a flat loop (``ScalarOp.pair_lines``: SplitMix64 gives
    the 32-bit numbers of both in one 64-bit output): ``(lines once per pair, (lines, result)
    of the even element, (lines, result) of the odd one)``, bodies at ``indent`` with ``k``
    the element and ``j`` the pair. Such an op qualifies when its ``pair_position`` operand
    is the loop's counter and every other operand is the same for the whole loop (an input
    marked in ``uniform``, or a constant). None when no op does."""
    shared: List[str] = []
    halves: Dict[int, Tuple[str, str]] = {}
    for j, (sop, args, _dtype) in enumerate(program):
        pos = getattr(sop, "pair_position", None)
        if pos is None or len(args) <= pos:
            continue
        if not all(a[0] == "i" and refs[a[1]] == COUNTER if q == pos else
                   a[0] == "c" or (a[0] == "i" and uniform[a[1]])
                   for q, a in enumerate(args)):
            continue
        parts = [refs[a[1]] if a[0] == "i" else _const(a) for a in args]
        pre, both = sop.pair_lines(parts, "np.uint64(j)", f"p{j}_")
        shared += [indent + line for line in pre]
        halves[j] = both
    if not halves:
        return None
    even = _kernel_body(program, refs, indent, hoisted={j: h[0] for j, h in halves.items()})
    odd = _kernel_body(program, refs, indent, hoisted={j: h[1] for j, h in halves.items()})
    return shared, even, odd


def _flat_loop(program, refs: Sequence[str], uniform: Sequence[bool], count: str,
               loop: str = "range") -> List[str]:
    """The lines (inside a function, storing ``out[k]``) of a flat loop over ``count``
    elements computing ``program`` with its inputs read as ``refs``: element by element, or
    two at a time when its ops share work between neighbours (:func:`_paired`), the last
    element of an odd count then alone."""
    indent = "        "
    body, res = _kernel_body(program, refs, indent)
    paired = _paired(program, refs, uniform, indent)
    if paired is None:
        return [f"    for k in {loop}({count}):", *body, f"{indent}out[k] = {res}"]
    shared, (even, even_res), (odd, odd_res) = paired
    return [f"    for j in {loop}({count} >> 1):", *shared,
            f"{indent}k = 2 * j", *even, f"{indent}out[k] = {even_res}",
            f"{indent}k = 2 * j + 1", *odd, f"{indent}out[k] = {odd_res}",
            f"    if {count} & 1:", f"{indent}k = {count} - 1", *body,
            f"{indent}out[k] = {res}"]


def _flat_refs(scalar: Sequence[bool], index: Sequence[int],
               same: Sequence[int] = (), rows: Sequence[int] = ()) -> List[str]:
    """How the flat loop reads each input at element ``k``: a scalar as is, an input holding
    the elements' flat positions (``index``) as ``k`` itself, an input that is the output
    array (``same``) through the output's pointer, a vector broadcast along the rows
    (``rows``, in the loop over rows and columns) at column ``c``, any other from memory."""
    return [f"i{q}" if s else COUNTER if q in index else "out[k]" if q in same
            else f"i{q}[c]" if q in rows else f"i{q}[k]" for q, s in enumerate(scalar)]


def numba_source(program, in_dtypes: Sequence[str], scalar: Sequence[bool], out_dtype: str,
                 ndim: int, parallel: bool = False, index: Sequence[int] = ()) -> str:
    """Source of a module defining ``flat`` (1-d contiguous operands) and ``nd`` (``ndim``-d
    operands already broadcast to the output shape) loop kernels; ``parallel`` spreads the
    outer loop over threads (``prange``). The inputs listed in ``index`` hold each element's
    flat position (:class:`~symgraph.ops.counter.FlatIndex`): the flat loop, whose operands
    all have the output's shape, uses its counter instead of reading them."""
    loop = "prange" if parallel else "range"
    args = ", ".join(f"i{k}" for k in range(len(in_dtypes)))
    sig_args = ", ".join(_NB_TYPES[d] if s else f"{_NB_TYPES[d]}[::1]"
                         for d, s in zip(in_dtypes, scalar))
    sig = f"void({_NB_TYPES[out_dtype]}[::1], {sig_args})"
    flat = _flat_loop(program, _flat_refs(scalar, index), scalar, "out.shape[0]", loop)
    idx = ", ".join(f"k{d}" for d in range(ndim))
    nd_refs = [f"i{k}" if s else f"i{k}[{idx}]" for k, s in enumerate(scalar)]
    nd_body, nd_res = _kernel_body(program, nd_refs, "    " * (ndim + 1))
    src = ["import math", "import numpy as np", "from numba import njit, prange", "",
           f"_OPTS = dict(parallel={bool(parallel)}, cache=True, nogil=True, "
           f"error_model='numpy')", "",
           f"@njit(['{sig}'], **_OPTS)",
           f"def flat(out, {args}):", *flat, "", "",
           "@njit(**_OPTS)", f"def nd(out, {args}):"]
    for d in range(ndim):
        src.append("    " * (d + 1) + f"for k{d} in {loop if d == 0 else 'range'}"
                                       f"(out.shape[{d}]):")
    src += nd_body + ["    " * (ndim + 1) + f"out[{idx}] = {nd_res}", ""]
    return "\n".join(src)


def _pointer_function(name: str, args: Sequence[str], counts: Sequence[str],
                      lines: Sequence[str]) -> str:
    """Source of the module of a pointer loop: function ``name(*args, *counts)`` (the counts
    are element counts, kind ``("n",)``) whose body is ``lines``."""
    return "\n".join(["import math", "import numpy as np", "", "",
                      f"def {name}({', '.join([*args, *counts])}):", *lines, ""])


def _pointer_loop(name: str, args: Sequence[str], kinds: Sequence[tuple],
                  body: Sequence[str]) -> Tuple[str, List[tuple]]:
    """Source and argument kinds (:mod:`symgraph.backends.native`) of a serial loop
    ``name(*args, n)`` over raw pointers running ``body`` (lines at loop depth) for each k."""
    return (_pointer_function(name, args, ["n"], ["    for k in range(n):", *body]),
            list(kinds) + [("n",)])


def pointer_loop_source(name: str, program, in_dtypes: Sequence[str], scalar: Sequence[bool],
                        out_dtype: str, index: Sequence[int] = (),
                        same: Sequence[int] = ()) -> Tuple[str, List[tuple]]:
    """The pointer loop of a fused cluster: ``name(out, i0, ..., n)`` (``index`` as for
    :func:`numba_source`). The inputs listed in ``same`` are the output array itself (an
    update written over its operand): the loop reads them through ``out``, so that no two
    pointers overlap. LLVM vectorises a loop only after a run-time check that its pointers do
    not overlap, and otherwise runs it element by element: measured 25x slower for AdaDelta's
    step, whose ``sqrt`` and division are cheap only in vector registers."""
    args, kinds = _cluster_args(in_dtypes, scalar, out_dtype)
    loop = _flat_loop(program, _flat_refs(scalar, index, same), scalar, "n")
    return _pointer_function(name, args, ["n"], loop), kinds + [("n",)]


def _cluster_loop(program, in_dtypes: Sequence[str], scalar: Sequence[bool], out_dtype: str,
                  refs: Sequence[str], indent: str) -> Tuple[List[str], List[tuple], List[str]]:
    """The arguments ``out, i0, ...``, their kinds and the body (at ``indent``, storing
    ``out[k]``) of a pointer loop over a fused cluster reading its inputs as ``refs``."""
    body, res = _kernel_body(program, refs, indent)
    args, kinds = _cluster_args(in_dtypes, scalar, out_dtype)
    return args, kinds, body + [f"{indent}out[k] = {res}"]


def _cluster_args(in_dtypes: Sequence[str], scalar: Sequence[bool], out_dtype: str
                  ) -> Tuple[List[str], List[tuple]]:
    """The arguments ``out, i0, ...`` of a pointer loop over a fused cluster, and their
    kinds (:mod:`symgraph.backends.native`)."""
    args = ["out"] + [f"i{k}" for k in range(len(in_dtypes))]
    kinds = [("p", out_dtype)] + [("s" if s else "p", d) for d, s in zip(in_dtypes, scalar)]
    return args, kinds


def pointer_rows_source(name: str, program, in_dtypes: Sequence[str], scalar: Sequence[bool],
                        out_dtype: str, rows: Sequence[int], index: Sequence[int] = (),
                        same: Sequence[int] = ()) -> Tuple[str, List[tuple]]:
    """The pointer loop of a fused cluster whose inputs ``rows`` are vectors broadcast along
    the rows of a C-contiguous output (a layer's bias): ``name(out, i0, ..., nrows, ncols)``,
    a loop over rows around a loop over columns, which reads those inputs at the column and
    every other array at the element (``index`` and ``same`` as for
    :func:`pointer_loop_source`). A broadcast operand then needs no numba dispatcher, so a
    process whose kernel cache is warm still never starts numba."""
    args, kinds, body = _cluster_loop(program, in_dtypes, scalar, out_dtype,
                                      _flat_refs(scalar, index, same, rows), "            ")
    lines = ["    for r in range(nrows):", "        base = r * ncols",
             "        for c in range(ncols):", "            k = base + c", *body]
    return _pointer_function(name, args, ["nrows", "ncols"], lines), kinds + [("n",), ("n",)]


def _row_vectors(arrays: Sequence[np.ndarray], shape: Tuple[int, ...]) -> Optional[tuple]:
    """Positions (in ``arrays``) of the vectors broadcast along the rows of ``shape``: each
    array either has ``shape`` or holds one row, ``shape[-1]`` contiguous elements (shape
    ``(n,)`` or ``(1, ..., 1, n)``); all C-contiguous. None when they are not so."""
    if not shape:
        return None
    ncols = shape[-1]
    rows = []
    for q, a in enumerate(arrays):
        if not a.flags.c_contiguous:
            return None
        if a.shape == shape:
            continue
        if a.ndim == 0 or a.ndim > len(shape) or a.shape[-1] != ncols or a.size != ncols:
            return None
        rows.append(q)
    return tuple(rows)


def _native_args(ops, convert) -> list:
    """Native-loop arguments of operands: arrays as pointers, scalars as Python numbers."""
    return [native.pointer(op) if conv is None else conv(op) for op, conv in zip(ops, convert)]


def _scalar_converter(dtype: str):
    """Python number of a NumPy scalar or 0-d array, as ctypes takes it."""
    return float if np.dtype(dtype).kind == "f" else int


_modules_lock = threading.Lock()
_modules: Dict[object, object] = {}


def module_once(key, source: Callable[[], str]):
    """The module of the generated ``source()`` named by ``key``, loaded once per process:
    the source is made only the first time, and calls from several threads load it once."""
    with _modules_lock:
        mod = _modules.get(key)
        if mod is None:
            mod = _modules[key] = _load_module(source())
        return mod


def _load_module(src: str):
    digest = hashlib.sha256(src.encode()).hexdigest()[:24]
    modname = f"symgraph_kernel_{digest}"
    if modname in sys.modules:
        return sys.modules[modname]
    path = os.path.join(cache_dir(), modname + ".py")
    if not os.path.exists(path):
        # write once, atomically: rewriting would change the stamp numba's cache is keyed by
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            fh.write(src)
        os.replace(tmp, path)
    spec = importlib.util.spec_from_file_location(modname, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(modname, None)
        raise
    return module


class NumbaKernel:
    """``kernel(out, shape, *inputs)``: one compiled loop for a fused cluster.

    Operands are passed as 1-d data when every non-scalar input already has the output's
    shape and is C-contiguous (the common case: optimizer updates): serial loops then run as
    native code from the kernel cache (:mod:`symgraph.backends.native`, no numba start-up when
    the cache is warm). So do vectors broadcast along the rows of the output (a layer's bias:
    a loop over rows and columns, :func:`pointer_rows_source`). Other broadcast operands go
    to an ``ndim``-d numba loop, compiled when first needed, or with ``broadcast_numpy`` to
    the NumPy steps (a short program, for which starting numba would cost more than the loop
    saves). Below :data:`NUMBA_MIN_SIZE` elements the NumPy steps run instead. The inputs
    listed in ``index`` hold each element's flat position: the flat loops use their counter.
    """

    def __init__(self, program, in_dtypes: Sequence[str], in_ndims: Sequence[int],
                 out_dtype: str, ndim: int, parallel: bool = False, index: Sequence[int] = (),
                 broadcast_numpy: bool = False):
        self.broadcast_numpy = broadcast_numpy
        self.scalar = [nd == 0 for nd in in_ndims]
        self.out_dtype = np.dtype(out_dtype)
        self.ndim = ndim
        self.source = numba_source(program, in_dtypes, self.scalar, out_dtype, ndim, parallel,
                                   index)
        self._numpy = numpy_function(program, in_dtypes, out_dtype)
        self._arrays = [k for k, s in enumerate(self.scalar) if not s]
        self._convert = [_scalar_converter(d) if s else None
                         for d, s in zip(in_dtypes, self.scalar)]
        self._module = None
        self._native_flat = None
        self._loop_args = (program, list(in_dtypes), out_dtype, tuple(index))
        #: native loops reading the inputs that are the output through ``out``, by those inputs
        self._native_same: dict = {}
        #: native row loops, by (inputs broadcast along the rows, inputs that are the output)
        self._native_rows: dict = {}
        if not parallel:
            src, kinds = pointer_loop_source("flat", program, in_dtypes, self.scalar, out_dtype,
                                             index)
            self._native_flat = native.loop(src, "flat", kinds, cache_dir())
        if self._native_flat is None:
            self._numba()  # numba's dispatcher, compiled (or loaded from its cache) now

    def _native_for(self, same: Tuple[int, ...]):
        """The native flat loop for calls whose output array is the inputs ``same`` (made
        and cached when first needed; the plain loop when it cannot be made)."""
        fn = self._native_same.get(same)
        if fn is None:
            program, in_dtypes, out_dtype, index = self._loop_args
            src, kinds = pointer_loop_source("flat", program, in_dtypes, self.scalar,
                                             out_dtype, index, same)
            fn = native.loop(src, "flat", kinds, cache_dir()) or self._native_flat
            self._native_same[same] = fn
        return fn

    def _rows_for(self, rows: Tuple[int, ...], same: Tuple[int, ...]):
        """The native row loop for inputs ``rows`` broadcast along the rows and inputs
        ``same`` that are the output (made and cached when first needed); None when it cannot
        be made (then numba's own loop runs)."""
        key = (rows, same)
        if key not in self._native_rows:
            program, in_dtypes, out_dtype, index = self._loop_args
            src, kinds = pointer_rows_source("rows", program, in_dtypes, self.scalar,
                                             out_dtype, rows, index, same)
            self._native_rows[key] = native.loop(src, "rows", kinds, cache_dir())
        return self._native_rows[key]

    def _numba(self):
        if self._module is None:
            self._module = _load_module(self.source)
        return self._module

    def __call__(self, out, shape, *ins):
        size = 1
        for d in shape:
            size *= d
        if size < NUMBA_MIN_SIZE:
            return self._numpy(out, shape, *ins)
        if out is None:
            out = np.empty(shape, self.out_dtype)
        elif not out.flags.c_contiguous:
            return self._numpy(out, shape, *ins)
        else:
            for k in self._arrays:
                a = ins[k]
                if a is not out and np.may_share_memory(a, out):
                    # e.g. a caller's input that is the shared storage being updated: a loop
                    # would read what it already wrote; NumPy's ufuncs buffer overlaps
                    return self._numpy(out, shape, *ins)
        flat = True
        for k in self._arrays:
            a = ins[k]
            if a.shape != shape or not a.flags.c_contiguous:
                flat = False
                break
        if flat:
            if self._native_flat is not None:
                same = tuple(k for k in self._arrays if ins[k] is out)
                loop = self._native_for(same) if same else self._native_flat
                loop(native.pointer(out), *_native_args(ins, self._convert), size)
                return out
            args = list(ins)
            for k in self._arrays:
                args[k] = args[k].reshape(-1)
            for k, s in enumerate(self.scalar):
                if s:
                    args[k] = args[k][()] if isinstance(args[k], np.ndarray) else args[k]
            self._numba().flat(out.reshape(-1), *args)
            return out
        if self._native_flat is not None:
            rows = _row_vectors([ins[k] for k in self._arrays], shape)
            if rows is not None:
                rows = tuple(self._arrays[q] for q in rows)
                same = tuple(k for k in self._arrays if ins[k] is out)
                loop = self._rows_for(rows, same)
                if loop is not None:
                    loop(native.pointer(out), *_native_args(ins, self._convert),
                         size // shape[-1], shape[-1])
                    return out
        if self.broadcast_numpy:
            return self._numpy(out, shape, *ins)
        args = list(ins)
        for k in self._arrays:
            args[k] = np.broadcast_to(args[k], shape)
        for k, s in enumerate(self.scalar):
            if s and isinstance(args[k], np.ndarray):
                args[k] = args[k][()]
        self._numba().nd(out, *args)
        return out


class GroupKernel:
    """One loop computing several in-place updates that feed each other (Adam's ``m``, ``v``
    and parameter): every element is loaded once and each result stored once, instead of one
    pass per update (measured 2x faster than three in-place loops).

    ``members`` is a list of ``(program, refs, target)``: ``refs[q]`` says where input ``q`` of
    the program comes from, ``("e", j)`` external operand ``j`` or ``("r", i)`` the result of
    member ``i``; ``target`` is the external operand the result is written into. Calling it
    with the external operands returns False (and does nothing) unless they are all
    C-contiguous arrays of one shape, of at least :data:`GROUP_MIN_SIZE` elements, that do not
    overlap, or scalars. A serial group runs as native code from the kernel cache
    (:mod:`symgraph.backends.native`); a parallel one, or one that cannot, through numba.
    """

    def __init__(self, members, ext_dtypes: Sequence[str], ext_scalar: Sequence[bool],
                 parallel: bool = False):
        self.scalar = list(ext_scalar)
        self._arrays = [j for j, sc in enumerate(ext_scalar) if not sc]
        self._convert = [_scalar_converter(d) if sc else None
                         for d, sc in zip(ext_dtypes, ext_scalar)]
        first = self._arrays[0]
        body: List[str] = []
        stores: List[str] = []
        for i, (program, refs, target) in enumerate(members):
            names = [f"e{r[1]}" if r[0] == "e" and ext_scalar[r[1]] else
                     f"e{r[1]}[k]" if r[0] == "e" else f"r{r[1]}" for r in refs]
            lines, res = _kernel_body(program, names, "        ", prefix=f"m{i}_")
            body += lines + [f"        r{i} = {res}"]
            stores.append(f"        e{target}[k] = r{i}")
        names = [f"e{j}" for j in range(len(ext_dtypes))]
        args = ", ".join(names)
        self._native = None
        #: what an in-place loop is made of: names, kinds, body, and each member's target
        self._loop = None
        if not parallel:
            kinds = [("s" if sc else "p", d) for d, sc in zip(ext_dtypes, ext_scalar)]
            src, loop_kinds = _pointer_loop("group", names, kinds, body + stores)
            self._native = native.loop(src, "group", loop_kinds, cache_dir())
            self._loop = (names, kinds, body, [target for _, _, target in members])
        sig = ", ".join(_NB_TYPES[d] if sc else f"{_NB_TYPES[d]}[::1]"
                        for d, sc in zip(ext_dtypes, ext_scalar))
        loop = "prange" if parallel else "range"
        src = ["import math", "import numpy as np", "from numba import njit, prange", "",
               f"@njit(['void({sig})'], parallel={bool(parallel)}, cache=True, nogil=True, "
               f"error_model='numpy')", f"def group({args}):",
               f"    for k in {loop}(e{first}.shape[0]):", *body, *stores, ""]
        self.source = "\n".join(src)
        self._fn = None if self._native else _load_module(self.source).group

    def __call__(self, *ext) -> bool:
        size = _group_size([ext[j] for j in self._arrays])
        if not size:
            return False
        if self._native is not None:
            self._native(*_native_args(ext, self._convert), size)
            return True
        args = [e[()] if sc and isinstance(e, np.ndarray) else e.reshape(-1) if not sc else e
                for e, sc in zip(ext, self.scalar)]
        self._fn(*args)
        return True

    def late(self, same: Sequence[Optional[int]]) -> Optional["LateGroup"]:
        """The group computed over its members' targets themselves (:class:`LateGroup`),
        ``same[i]`` being the operand that is member ``i``'s target too (the old value it
        reads) or None; None when there is no native loop (a parallel group, no llvmlite)."""
        if self._loop is None:
            return None
        names, kinds, body, targets = self._loop
        same = tuple(same)
        late = LateGroup(names, kinds, body, targets, same, self.scalar, self._convert)
        return late if late.loop is not None else None


class LateGroup:
    """A :class:`GroupKernel` computed over its members' targets themselves, by the commit.

    Called with the group's operands (its reads, then each member's target in place of its
    spare: ``target_i`` is operand ``same[i]`` where that is not None, the old value the
    member reads), it returns a callable without arguments, run by C, that runs a native loop
    reading every element of the operands and then storing each member's result over its
    target's element; or None when the operands do not suit: not all C-contiguous arrays of
    one shape, a target not writeable, or two distinct operands sharing memory. The loop
    writes a target through the pointer it reads it by, so that LLVM's run-time overlap check
    passes and the loop runs in vector registers. Same statements as the group into spares,
    so the same values.
    """

    def __init__(self, names, kinds, body, targets, same, scalar, convert):
        first = len(scalar) - len(targets)
        for j in same:
            if j is not None and (j >= first or scalar[j]):
                raise ValueError(f"late group: operand {j} is not a read array")
        # a member's target that it reads already is passed once, as that read
        dropped = {t for j, t in zip(same, targets) if j is not None}
        keep = [q for q in range(len(scalar)) if q not in dropped]
        stores = [f"        e{t if j is None else j}[k] = r{i}"
                  for i, (j, t) in enumerate(zip(same, targets))]
        src, loop_kinds = _pointer_loop("group", [names[q] for q in keep],
                                        [kinds[q] for q in keep], body + stores)
        self.source = src
        self.loop = native.loop(src, "group", loop_kinds, cache_dir())
        self._keep = keep
        self._convert = [convert[q] for q in keep]
        self._arrays = [q for q in keep if not scalar[q]]
        self._targets = [t if j is None else j for j, t in zip(same, targets)]
        self._pairs = [(t, j) for j, t in zip(same, targets) if j is not None]

    def __call__(self, *ext):
        for q in self._targets:
            if not ext[q].flags.writeable:
                return None
        for t, j in self._pairs:
            if ext[t] is not ext[j]:
                return None
        size = _group_size([ext[q] for q in self._arrays])
        if not size:
            return None
        kept = [ext[q] for q in self._keep]
        return functools.partial(self.loop, *_native_args(kept, self._convert), size)


def _group_size(arrays) -> int:
    """The element count of a group's array operands when they suit its loop (C-contiguous,
    one shape, at least :data:`GROUP_MIN_SIZE` elements, no two sharing memory), else 0."""
    shape = arrays[0].shape
    for a in arrays:
        if a.shape != shape or not a.flags.c_contiguous:
            return 0
    size = arrays[0].size
    if size < GROUP_MIN_SIZE or not overlap_free(arrays):
        return 0
    return size

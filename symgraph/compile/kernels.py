"""Code for fused elementwise clusters (:class:`~symgraph.rewrite.fusion.Composite`).

Two back ends:

* NumPy (always available): the cluster becomes a short sequence of ufunc calls with ``out=``,
  each writing a buffer of the cluster's full shape. Intermediates live in temporary buffers
  that the caller plans (and reuses across calls); only the last step writes the output, so the
  output may alias any input of the same shape (an in-place update) without changing a value
  that a later step still reads.
* numba (the ``[fast]`` extra): the cluster becomes ONE loop over the elements (optionally
  parallel over them: backend ``'numba-parallel'``), compiled once and cached on disk in a
  module named by the hash of its source, so a second process compiles nothing. Small arrays
  still take the NumPy path, where a compiled call costs more than it saves. Serial loops are
  the default: measured on this 2-core machine shared with other work, parallel loops were up
  to 25x slower (threads waiting for cores) while a serial loop beat three NumPy passes 2x.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from symgraph.ops import scalar as S

#: steps that NumPy cannot write into an ``out=`` buffer, and how to emit them
_NO_OUT = {"sigmoid", "softplus", "erf", "switch", "round_half_away_from_zero"}

#: below this many elements the numba wrapper runs the NumPy code instead
NUMBA_MIN_SIZE = 1 << 15
#: the same for a group of chained updates: one compiled call replaces a dozen ufunc calls,
#: which wins at any size (measured: Adam on 10 / 1000 / 10 000 elements, 10.1 / 11.9 /
#: 22.8 us per step in NumPy, 6.9 / 7.3 / 10.5 us as one loop)
GROUP_MIN_SIZE = 1


def bshape(*arrays) -> tuple:
    """Broadcast shape of ``arrays`` (a fast path when every shape is equal or a suffix)."""
    s = arrays[0].shape
    n = len(s)
    for a in arrays[1:]:
        t = a.shape
        if t != s and (len(t) > n or t != s[n - len(t):]):
            s = _broadcast2(s, t)
            n = len(s)
    return s


def _broadcast2(s: tuple, t: tuple) -> tuple:
    if len(s) < len(t):
        s, t = t, s
    t = (1,) * (len(s) - len(t)) + t
    out = []
    for a, b in zip(s, t):
        if a == b or b == 1:
            out.append(a)
        elif a == 1:
            out.append(b)
        else:
            raise ValueError(f"operands could not be broadcast together with shapes {s} {t}")
    return tuple(out)


#: shapes a buffer slot keeps at once: enough for every layer of a network (temporaries are
#: shared by all clusters), few enough that inputs of ever-changing shape do not pile up memory
SLOT_SHAPES = 64


def get_buffer(slot: dict, shape: tuple, dtype) -> np.ndarray:
    """The buffer of ``slot`` for ``shape``, allocated the first time it is needed.

    Buffers belong to one compiled function and are reused by every call; ``Function``
    serialises its calls with a lock, so one function can be called from several threads.
    """
    buf = slot.get(shape)
    if buf is None:
        if len(slot) >= SLOT_SHAPES:
            slot.clear()
        buf = slot[shape] = np.empty(shape, dtype)
    return buf


NAMESPACE = {"_bshape": bshape, "_getbuf": get_buffer}


def _const(ref) -> str:
    _, dtype, value = ref
    if dtype == "bool":
        return repr(bool(value))
    return f"np.{dtype}({value!r})"


def step_lifetimes(program) -> List[int]:
    """For each step, the index of the last step that reads it (its own index if none)."""
    last = list(range(len(program)))
    for j, (_, args, _) in enumerate(program):
        for a in args:
            if a[0] == "s":
                last[a[1]] = j
    return last


def numpy_lines(program, in_names: Sequence[str], in_dtypes: Sequence[str], out: Optional[str],
                result: str, temp: Callable[[str], str], indent: str = "    ",
                shape: str = "_shp", aliased: Optional[Sequence[int]] = None) -> List[str]:
    """Statements computing ``program`` over ``in_names`` into the variable ``result``.

    ``out`` names a preallocated buffer of the full shape (or ``None``: the last step
    allocates); ``shape`` names the variable holding that shape. ``temp(dtype)`` returns an
    expression for a fresh temporary buffer of the full shape and that dtype; temporaries are
    recycled inside the cluster as soon as their value is dead. ``aliased`` lists the inputs
    that may be ``out`` itself (default: all): once no later step reads them, ``out`` serves
    as a temporary too (``m = 0.9 * m + 0.1 * g`` as ``m *= 0.9; t = 0.1 * g; m += t``: one
    buffer fewer to stream through the cache, measured 30% faster).
    """
    lines: List[str] = []
    # the last step that reads an input which may be ``out``: before it, ``out`` is off limits
    may_alias = set(range(len(in_names)) if aliased is None else aliased)
    alias_last = max((j for j, (_, args, _) in enumerate(program) for a in args
                      if a[0] == "i" and a[1] in may_alias), default=-1)
    holder = [None]  # the step whose value ``out`` holds
    used = {a[1] for _, args, _ in program for a in args if a[0] == "i"}
    if out is None and len(used) < len(in_names):
        # an input read only for its shape: the natural result of the last step may be
        # smaller than the cluster's shape, so allocate the full result
        lines.append(f"{indent}{result} = np.empty({shape}, '{program[-1][2]}')")
        out = result
    names: List[str] = []
    dtypes: List[str] = []
    free: Dict[str, List[str]] = {}
    last = step_lifetimes(program)
    n = len(program)
    counter = [0]

    def arg(a) -> Tuple[str, str]:
        if a[0] == "i":
            return in_names[a[1]], in_dtypes[a[1]]
        if a[0] == "s":
            return names[a[1]], dtypes[a[1]]
        return _const(a), a[1]

    def new_temp(dtype: str) -> str:
        pool = free.get(dtype)
        if pool:
            return pool.pop()
        counter[0] += 1
        name = f"{result}_t{counter[0]}"
        lines.append(f"{indent}{name} = {temp(dtype)}")
        return name

    for j, (sop, args, dtype) in enumerate(program):
        parts = [arg(a) for a in args]
        pnames = [p[0] for p in parts]
        final = j == n - 1
        # release temporaries whose last reader is this step: the step may write into them
        for a in dict.fromkeys(args):
            if a[0] == "s" and last[a[1]] == j and names[a[1]].startswith(f"{result}_t"):
                free.setdefault(dtypes[a[1]], []).append(names[a[1]])
        if sop.ufunc is not None and sop.name not in _NO_OUT:
            nary = sop.nin == -1 and len(pnames) > 2
            if final:
                target = out
            elif out is not None and dtype == program[-1][2] and \
                    (j > alias_last or (j == alias_last and not nary)) and \
                    (holder[0] is None or last[holder[0]] <= j):
                target = out  # out is free: no later step reads what it may alias
                holder[0] = j
            else:
                target = new_temp(dtype)
            extra = ""
            if sop.kind == "float" and any(p[1] != dtype for p in parts):
                extra = f", dtype='{dtype}'"
            if sop.nin == -1 and len(pnames) > 2 and target is None:
                lines.append(f"{indent}{result} = {sop.emit(pnames)}")
                name = result
            elif sop.nin == -1 and len(pnames) > 2:
                # n-ary add/mul: accumulate pairwise. The accumulator must not be an operand
                # read later (move it first), and the output, which may alias an input, is
                # written only by the last call.
                acc = new_temp(dtype) if final else target
                ops = sorted(pnames, key=lambda p: p != acc)
                first = ops[0]
                for k, other in enumerate(ops[1:]):
                    dest = target if k == len(ops) - 2 else acc
                    lines.append(f"{indent}np.{sop.ufunc}({first}, {other}, out={dest}{extra})")
                    first = acc
                name = target
            elif sop.nin == -1 and len(pnames) == 1:
                name = _copy_into(lines, indent, target, pnames[0], dtype, result, shape)
            elif target is None:
                lines.append(f"{indent}{result} = np.{sop.ufunc}({', '.join(pnames)}"
                             f"{extra})")
                name = result
            else:
                lines.append(f"{indent}np.{sop.ufunc}({', '.join(pnames)}, out={target}{extra})")
                name = target
        elif isinstance(sop, S.CastScalar) or sop.name in ("identity", "second"):
            src = pnames[-1] if sop.name == "second" else pnames[0]
            target = out if final else new_temp(dtype)
            name = _copy_into(lines, indent, target, src, dtype, result, shape)
        else:
            expr = sop.emit(pnames)
            if final and out is not None:
                lines.append(f"{indent}np.copyto({out}, {expr}, casting='unsafe')")
                name = out
            else:
                name = f"{result}_e{j}" if not final else result
                lines.append(f"{indent}{name} = {expr}")
        names.append(name)
        dtypes.append(dtype)
    if names[-1] != result:
        lines.append(f"{indent}{result} = {names[-1]}")
    return lines


def scalar_expr(program, in_names: Sequence[str]) -> str:
    """One nested expression for a 0-d cluster, giving a NumPy scalar of the exact dtype
    (cheaper than 0-d arrays; results are wrapped into arrays where they leave the function)."""
    done: List[str] = []
    for sop, args, dtype in program:
        parts = [in_names[a[1]] if a[0] == "i" else done[a[1]] if a[0] == "s" else _const(a)
                 for a in args]
        if isinstance(sop, S.CastScalar) or sop.name == "identity":
            done.append(f"np.{dtype}({parts[0]})")
        elif sop.name == "second":
            done.append(f"np.{dtype}({parts[1]})")
        else:
            done.append(sop.emit(parts))
    return f"np.{program[-1][2]}({done[-1]})"


def _copy_into(lines, indent, target, src, dtype, result, shape) -> str:
    if target is None:
        lines.append(f"{indent}{result} = np.empty({shape}, '{dtype}')")
        target = result
    lines.append(f"{indent}np.copyto({target}, {src}, casting='unsafe')")
    return target


def numpy_function(program, in_dtypes: Sequence[str], out_dtype: str, name: str = "_kernel"
                   ) -> Callable:
    """A Python function ``f(out, shape, *inputs)`` running the NumPy steps (``out`` may be
    ``None``); its temporaries are private buffers reused across calls."""
    ins = [f"i{k}" for k in range(len(in_dtypes))]
    ns: dict = {"np": np, **S.NAMESPACE, **NAMESPACE}
    counter = [0]

    def temp(dtype: str) -> str:
        counter[0] += 1
        ns[f"_slot{counter[0]}"] = {}
        return f"_getbuf(_slot{counter[0]}, shape, '{dtype}')"

    body = numpy_lines(program, ins, in_dtypes, "out", "r", temp, "        ", "shape")
    body_none = numpy_lines(program, ins, in_dtypes, None, "r", temp, "        ", "shape")
    src = [f"def {name}(out, shape, {', '.join(ins)}):", "    if out is None:", *body_none,
           "        return r", "    else:", *body, "        return r"]
    exec(compile("\n".join(src) + "\n", f"<symgraph kernel {name}>", "exec"), ns)
    fn = ns[name]
    fn.source = "\n".join(src)
    return fn


# ---------------------------------------------------------------------------------------
# numba: one loop per cluster, cached on disk by the hash of its source
# ---------------------------------------------------------------------------------------

def numba_available() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


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


def _kernel_body(program, in_refs: Sequence[str], indent: str, prefix: str = "s"
                 ) -> Tuple[List[str], str]:
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
        expr = sop.kernel_expr(parts)
        if dtype != "bool":
            expr = f"np.{dtype}({expr})"
        lines.append(f"{indent}{prefix}{j} = {expr}")
        names.append(f"{prefix}{j}")
    return lines, names[-1]


def numba_source(program, in_dtypes: Sequence[str], scalar: Sequence[bool], out_dtype: str,
                 ndim: int, parallel: bool = False, inplace: Optional[int] = None) -> str:
    """Source of a module defining ``flat`` (1-d contiguous operands) and ``nd`` (``ndim``-d
    operands already broadcast to the output shape) loop kernels; ``parallel`` spreads the
    outer loop over threads (``prange``).

    With ``inplace = j`` it also defines ``flat_inplace``, which writes its result into input
    ``j`` itself. An ``out`` argument that aliases an input stops LLVM from vectorizing the
    loop (its overlap check fails, measured 5x slower); writing through the input it reads at
    the same index does not.
    """
    loop = "prange" if parallel else "range"
    args = ", ".join(f"i{k}" for k in range(len(in_dtypes)))
    sig_args = ", ".join(_NB_TYPES[d] if s else f"{_NB_TYPES[d]}[::1]"
                         for d, s in zip(in_dtypes, scalar))
    sig = f"void({_NB_TYPES[out_dtype]}[::1], {sig_args})"
    flat_refs = [f"i{k}" if s else f"i{k}[k]" for k, s in enumerate(scalar)]
    body, res = _kernel_body(program, flat_refs, "        ")
    idx = ", ".join(f"k{d}" for d in range(ndim))
    nd_refs = [f"i{k}" if s else f"i{k}[{idx}]" for k, s in enumerate(scalar)]
    nd_body, nd_res = _kernel_body(program, nd_refs, "    " * (ndim + 1))
    src = ["import math", "import numpy as np", "from numba import njit, prange", "",
           f"_OPTS = dict(parallel={bool(parallel)}, cache=True, nogil=True, "
           f"error_model='numpy')", "",
           # with an in-place variant, the out= loop is the rare fallback: compiled on demand
           "@njit(**_OPTS)" if inplace is not None else f"@njit(['{sig}'], **_OPTS)",
           f"def flat(out, {args}):",
           f"    for k in {loop}(out.shape[0]):", *body, f"        out[k] = {res}", "", ""]
    if inplace is not None:
        src += [f"@njit(['void({sig_args})'], **_OPTS)", f"def flat_inplace({args}):",
                f"    for k in {loop}(i{inplace}.shape[0]):", *body,
                f"        i{inplace}[k] = {res}", "", ""]
    src += ["@njit(**_OPTS)", f"def nd(out, {args}):"]
    for d in range(ndim):
        src.append("    " * (d + 1) + f"for k{d} in {loop if d == 0 else 'range'}"
                                       f"(out.shape[{d}]):")
    src += nd_body + ["    " * (ndim + 1) + f"out[{idx}] = {nd_res}", ""]
    return "\n".join(src)


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

    Operands are passed as 1-d views when every non-scalar input already has the output's
    shape and is C-contiguous (the common case: optimizer updates), else broadcast views go to
    an ``ndim``-d loop. Below :data:`NUMBA_MIN_SIZE` elements the NumPy steps run instead.
    """

    def __init__(self, program, in_dtypes: Sequence[str], in_ndims: Sequence[int],
                 out_dtype: str, ndim: int, parallel: bool = False,
                 inplace: Optional[int] = None):
        self.scalar = [nd == 0 for nd in in_ndims]
        self.out_dtype = np.dtype(out_dtype)
        self.ndim = ndim
        if inplace is not None and (self.scalar[inplace] or in_dtypes[inplace] != out_dtype):
            inplace = None
        self.inplace = inplace
        self.source = numba_source(program, in_dtypes, self.scalar, out_dtype, ndim, parallel,
                                   inplace)
        module = _load_module(self.source)
        self._flat, self._nd = module.flat, module.nd
        self._flat_inplace = getattr(module, "flat_inplace", None)
        self._numpy = numpy_function(program, in_dtypes, out_dtype)
        self._arrays = [k for k, s in enumerate(self.scalar) if not s]

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
        args = list(ins)
        flat = True
        for k in self._arrays:
            a = args[k]
            if a.shape != shape or not a.flags.c_contiguous:
                flat = False
                break
        if flat:
            for k in self._arrays:
                args[k] = args[k].reshape(-1)
            for k, s in enumerate(self.scalar):
                if s:
                    args[k] = args[k][()] if isinstance(args[k], np.ndarray) else args[k]
            if self.inplace is not None and ins[self.inplace] is out:
                self._flat_inplace(*args)
            else:
                self._flat(out.reshape(-1), *args)
            return out
        for k in self._arrays:
            args[k] = np.broadcast_to(args[k], shape)
        for k, s in enumerate(self.scalar):
            if s and isinstance(args[k], np.ndarray):
                args[k] = args[k][()]
        self._nd(out, *args)
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
    overlap, or scalars.
    """

    def __init__(self, members, ext_dtypes: Sequence[str], ext_scalar: Sequence[bool],
                 parallel: bool = False):
        self.scalar = list(ext_scalar)
        self._arrays = [j for j, sc in enumerate(ext_scalar) if not sc]
        args = ", ".join(f"e{j}" for j in range(len(ext_dtypes)))
        sig = ", ".join(_NB_TYPES[d] if sc else f"{_NB_TYPES[d]}[::1]"
                        for d, sc in zip(ext_dtypes, ext_scalar))
        loop = "prange" if parallel else "range"
        first = self._arrays[0]
        body: List[str] = []
        stores: List[str] = []
        for i, (program, refs, target) in enumerate(members):
            names = [f"e{r[1]}" if r[0] == "e" and ext_scalar[r[1]] else
                     f"e{r[1]}[k]" if r[0] == "e" else f"r{r[1]}" for r in refs]
            lines, res = _kernel_body(program, names, "        ", prefix=f"m{i}_")
            body += lines + [f"        r{i} = {res}"]
            stores.append(f"        e{target}[k] = r{i}")
        src = ["import math", "import numpy as np", "from numba import njit, prange", "",
               f"@njit(['void({sig})'], parallel={bool(parallel)}, cache=True, nogil=True, "
               f"error_model='numpy')", f"def group({args}):",
               f"    for k in {loop}(e{first}.shape[0]):", *body, *stores, ""]
        self.source = "\n".join(src)
        self._fn = _load_module(self.source).group

    def __call__(self, *ext) -> bool:
        arrays = [ext[j] for j in self._arrays]
        shape = arrays[0].shape
        size = 1
        for d in shape:
            size *= d
        if size < GROUP_MIN_SIZE:
            return False
        for a in arrays:
            if a.shape != shape or not a.flags.c_contiguous:
                return False
        for i, a in enumerate(arrays):
            for b in arrays[i + 1:]:
                if np.may_share_memory(a, b):
                    return False
        args = [e[()] if sc and isinstance(e, np.ndarray) else e.reshape(-1) if not sc else e
                for e, sc in zip(ext, self.scalar)]
        self._fn(*args)
        return True

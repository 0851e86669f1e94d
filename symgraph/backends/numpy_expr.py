"""NumPy code for fused elementwise programs (the ``program`` of a
:class:`~symgraph.ops.composite.Composite`).

The always-available back end: a program becomes a short sequence of ufunc calls with ``out=``,
each writing a buffer of the cluster's full shape. Intermediates live in temporary buffers that
the caller plans (and reuses across calls); only the last step writes the output, so the output
may alias any input of the same shape (an in-place update) without changing a value that a
later step still reads. :mod:`symgraph.backends.chunked` runs the same calls over cache-sized
slices; :mod:`symgraph.backends.numba_loops` compiles a program into one loop (``[fast]``).
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from symgraph.backends.buffers import RUNTIME
from symgraph.ops import scalar as S
from symgraph.ops.extremum import UFUNCS


def _const(ref) -> str:
    _, dtype, value = ref
    if dtype == "bool":
        return repr(bool(value))
    return f"np.{dtype}({value!r})"


def _scalar_extremum(sop, args, parts, dtype: str) -> bool:
    """True for ``maximum``/``minimum`` of an operand and a constant, both of ``dtype``."""
    return getattr(sop, "ufunc", None) in UFUNCS and len(args) == 2 and \
        sum(a[0] == "c" for a in args) == 1 and all(p[1] == dtype for p in parts)


def step_lifetimes(program) -> List[int]:
    """For each step, the index of the last step that reads it (its own index if none)."""
    last = list(range(len(program)))
    for j, (_, args, _) in enumerate(program):
        for a in args:
            if a[0] == "s":
                last[a[1]] = j
    return last


def _arg_dtype(a, program, in_dtypes: Sequence[str]) -> str:
    if a[0] == "i":
        return in_dtypes[a[1]]
    if a[0] == "s":
        return program[a[1]][2]
    return a[1]


def fold_bool_casts(program, in_dtypes: Sequence[str]) -> list:
    """``program`` without the steps that convert a boolean to a float dtype only to feed
    float ufuncs of that dtype: those ufuncs read the boolean itself and convert it inside
    their loop (``x * cast{float32}(keep)`` as ``np.multiply(x, keep)``, a pass and a
    temporary fewer; a boolean converts to 0.0 or 1.0 exactly either way, so the values are
    the same). A conversion is kept when it is the result, or when a reader has no other
    operand of its dtype (NumPy would then compute in another dtype)."""
    readers: Dict[int, List[int]] = {}
    for k, (_, args, _) in enumerate(program):
        for a in args:
            if a[0] == "s":
                readers.setdefault(a[1], []).append(k)
    fold = {j: args[0] for j, (sop, args, dtype) in enumerate(program[:-1])
            if isinstance(sop, S.CastScalar) and np.dtype(dtype).kind == "f" and
            _arg_dtype(args[0], program, in_dtypes) == "bool" and readers.get(j)}
    changed = True
    while changed:  # a reader's other operand of the dtype must not be folded itself
        changed = False
        for j in list(fold):
            dtype = program[j][2]
            for k in readers[j]:
                rop, rargs, rdtype = program[k]
                if not (rop.writes_out and rop.kind in ("float", "same") and rdtype == dtype
                        and any(_arg_dtype(a, program, in_dtypes) == dtype and
                                not (a[0] == "s" and a[1] in fold) for a in rargs)):
                    del fold[j]
                    changed = True
                    break
    if not fold:
        return program
    index: Dict[int, int] = {}
    out: list = []

    def ref(a):
        if a[0] == "s" and a[1] in fold:
            a = fold[a[1]]  # a boolean: never a folded conversion itself
        return ("s", index[a[1]]) if a[0] == "s" else a

    for j, (sop, args, dtype) in enumerate(program):
        if j in fold:
            continue
        index[j] = len(out)
        out.append((sop, tuple(ref(a) for a in args), dtype))
    return out


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
    program = fold_bool_casts(program, in_dtypes)
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
        if sop.writes_out:
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
                if np.result_type(parts[0][1], parts[1][1]) == dtype:
                    # one new array of the full shape, accumulated in place, instead of an
                    # array per pairwise call (the first two operands promote to the result's
                    # dtype, so the first call's loop is the one the nested calls would use)
                    lines.append(f"{indent}{result} = np.empty({shape}, '{dtype}')")
                    lines.append(f"{indent}np.{sop.ufunc}({pnames[0]}, {pnames[1]}, "
                                 f"out={result}{extra})")
                    for other in pnames[2:]:
                        lines.append(f"{indent}np.{sop.ufunc}({result}, {other}, "
                                     f"out={result}{extra})")
                else:
                    lines.append(f"{indent}{result} = {sop.emit(pnames)}")
                name = result
            elif sop.nin == -1 and len(pnames) > 2:
                # n-ary add/mul: accumulate pairwise. The accumulator must not be an operand
                # read later (move it first). The output accumulates the result itself unless
                # it may be an input operand under another name: then only the last call
                # writes it.
                aliasing = any(a[0] == "i" and a[1] in may_alias for a in args)
                acc = new_temp(dtype) if final and aliasing else target
                ops = sorted(pnames, key=lambda p: p != acc)
                first = ops[0]
                for k, other in enumerate(ops[1:]):
                    dest = target if k == len(ops) - 2 else acc
                    lines.append(f"{indent}np.{sop.ufunc}({first}, {other}, out={dest}{extra})")
                    first = acc
                name = target
            elif sop.nin == -1 and len(pnames) == 1:
                name = _copy_into(lines, indent, target, pnames[0], dtype, result, shape)
            elif _scalar_extremum(sop, args, parts, dtype) and not extra:
                # maximum(x, 0): NumPy's loop with a scalar operand is ~5x slower than
                # with an array; the helper feeds a block of the constant (same bits)
                first = args[0][0] == "c"
                x, c = (pnames[1], pnames[0]) if first else (pnames[0], pnames[1])
                name = result if target is None else target
                dest = f"np.empty_like({x})" if target is None else target
                lines.append(f"{indent}{result + ' = ' if target is None else ''}_extremum("
                             f"np.{sop.ufunc}, {x}, {c}, {dest}{', True' if first else ''})")
            elif target is None:
                lines.append(f"{indent}{result} = np.{sop.ufunc}({', '.join(pnames)}"
                             f"{extra})")
                name = result
            else:
                lines.append(f"{indent}np.{sop.ufunc}({', '.join(pnames)}, out={target}{extra})")
                name = target
        elif sop.passthrough is not None:
            src = pnames[sop.passthrough]
            target = out if final else new_temp(dtype)
            name = _copy_into(lines, indent, target, src, dtype, result, shape)
        elif sop.emit_into is not None and (out is not None or not final):
            # a helper that writes into a buffer as a ufunc's ``out=`` does (the buffer may be
            # one of its inputs): a planned temporary, or the output, instead of an array of
            # its own each call
            target = out if final else new_temp(dtype)
            lines.append(f"{indent}{sop.emit_into(pnames, target)}")
            name = target
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


#: a 0-d program nested deeper than this many steps is a function of one step a line, not
#: one expression (Python's parser refuses 200 nested parentheses)
MAX_SCALAR_DEPTH = 32


def _scalar_step(sop, dtype: str, parts: List[str]) -> str:
    if sop.passthrough is not None:
        return f"np.{dtype}({parts[sop.passthrough]})"
    return sop.emit(parts)


def program_depth(program) -> int:
    """How deep the steps of ``program`` nest (1 for a single step)."""
    depth: List[int] = []
    for _, args, _ in program:
        depth.append(1 + max((depth[a[1]] for a in args if a[0] == "s"), default=0))
    return depth[-1]


def scalar_expr(program, in_names: Sequence[str]) -> str:
    """One nested expression for a 0-d cluster, giving a NumPy scalar of the exact dtype
    (cheaper than 0-d arrays; results are wrapped into arrays where they leave the function).
    For a program nested deeper than :data:`MAX_SCALAR_DEPTH` see :func:`scalar_function`."""
    done: List[str] = []
    for sop, args, dtype in program:
        parts = [in_names[a[1]] if a[0] == "i" else done[a[1]] if a[0] == "s" else _const(a)
                 for a in args]
        done.append(_scalar_step(sop, dtype, parts))
    return f"np.{program[-1][2]}({done[-1]})"


def scalar_function(program, n_inputs: int, name: str = "_scalar") -> Callable:
    """A Python function ``f(*inputs)`` computing a 0-d program one step a line (the same
    steps as :func:`scalar_expr`, for programs too deep to be one expression)."""
    ins = [f"i{k}" for k in range(n_inputs)]
    src = [f"def {name}({', '.join(ins)}):"]
    for j, (sop, args, dtype) in enumerate(program):
        parts = [ins[a[1]] if a[0] == "i" else f"s{a[1]}" if a[0] == "s" else _const(a)
                 for a in args]
        src.append(f"    s{j} = {_scalar_step(sop, dtype, parts)}")
    src.append(f"    return np.{program[-1][2]}(s{len(program) - 1})")
    ns: dict = {"np": np, **S.HELPERS, **RUNTIME}
    exec(compile("\n".join(src) + "\n", f"<symgraph kernel {name}>", "exec"), ns)
    fn = ns[name]
    fn.source = "\n".join(src)
    return fn


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
    ns: dict = {"np": np, **S.helpers_of(sop for sop, _, _ in program), **RUNTIME}
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

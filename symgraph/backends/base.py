"""The interface every back end implements.

A back end decides how a compiled function computes its fused elementwise programs (the
``program`` of a :class:`~symgraph.ops.composite.Composite`): as NumPy ufunc calls, in
cache-sized chunks, or as compiled loops. The linker (:mod:`symgraph.compile`) asks it for the
lines of each fused node and for the kernel of each chain of in-place updates; it never looks
inside a kernel. One instance serves one compiled function: the kernels it makes go into that
function's namespace, and :attr:`Backend.kernels` lists them with their source.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence

from symgraph.backends.windows import NUMPY_LOOPS, WindowLoops

#: a member of a chained group of in-place updates: ``(program, refs, target)``; ``refs[q]`` is
#: ``("e", j)`` external operand ``j`` or ``("r", i)`` the result of member ``i``, and the
#: result is written into external operand ``target``
Member = tuple


class Backend:
    """How fused elementwise programs become code (see the module docstring).

    Parameters
    ----------
    add : callable
        ``add(obj, hint) -> name`` puts ``obj`` into the compiled function's namespace under a
        fresh name made from ``hint``.
    """

    #: the name ``Mode(backend=...)`` selects this back end by
    name = ""
    #: how the comment of a chain of in-place updates describes its kernel
    group_label = ""
    #: the window loops (pooling) the emitted code of ops reaches as ``buffer.loops``
    window_loops: WindowLoops = NUMPY_LOOPS
    #: elementwise intermediates read only by updates are recomputed inside each of them
    #: (:mod:`symgraph.rewrite.update_chains`), so that chains of updates run as one kernel:
    #: worth it where that kernel is one loop (the recomputation is a few operations per
    #: element there, where NumPy would pay whole passes)
    recompute_into_updates = False

    def __init__(self, add: Callable[[object, str], str]):
        self._add = add
        #: namespace name -> kernel object (each with a ``.source``), in order of creation
        self.kernels: Dict[str, object] = {}
        self._made: Dict[tuple, Optional[str]] = {}

    def _kernel(self, key: tuple, make: Callable[[], object], hint: str) -> Optional[str]:
        """The namespace name of the kernel for ``key``, made once (``make`` may return None:
        no kernel for it, remembered too)."""
        if key not in self._made:
            kernel = make()
            name = None
            if kernel is not None:
                name = self._add(kernel, hint)
                self.kernels[name] = kernel
            self._made[key] = name
        return self._made[key]

    # -- fused nodes ----------------------------------------------------------------------
    def cluster_lines(self, node, names: Sequence[str], out: Optional[str], result: str,
                      temp: Callable[[str], str], indent: str,
                      aliased: Optional[List[int]] = None) -> List[str]:
        """Statements computing the fused ``node`` (output rank >= 1) over the input
        ``names`` into the variable ``result``, written into the array named ``out`` when
        given (else allocated). The shape of the result is in the variable ``_shp``;
        ``temp(dtype)`` gives a temporary buffer of that shape. ``aliased`` lists the inputs
        that may be ``out`` itself (default: any)."""
        raise NotImplementedError

    def scalar_expr(self, program, names: Sequence[str]) -> str:
        """One expression computing a 0-d program (a NumPy scalar of the exact dtype)."""
        raise NotImplementedError

    # -- chains of in-place updates -------------------------------------------------------
    def joins_group(self, node) -> bool:
        """True when the in-place update computed by ``node`` may run in a group kernel."""
        raise NotImplementedError

    def lone_group(self, node) -> bool:
        """True when a group of the single update ``node`` is worth a group kernel."""
        raise NotImplementedError

    def group_kernel(self, key: tuple, members: Sequence[Member], dtypes: Sequence[str],
                     scalar: Sequence[bool]) -> Optional[str]:
        """Namespace name of ``kernel(*operands) -> bool`` computing every member in place, or
        None when the chain cannot run as one (a member reads the old value of an earlier
        member's target). Members write operands no member reads. The kernel returns False,
        having done nothing, when the operands do not suit it at run time."""
        raise NotImplementedError

    def group_condition(self, kernel: str, names: Sequence[str], target: str) -> str:
        """The expression that runs the group ``kernel`` over ``names`` (``target``: the
        first member's storage) and is True when it did."""
        raise NotImplementedError

    def group_late(self, kernel: str, same: Sequence[Optional[int]],
                   names: Sequence[str]) -> Optional[str]:
        """An expression giving a callable without arguments, run by C (no Python code of its
        own), that computes the group ``kernel`` into its members' targets themselves, or
        None when the operands do not suit it at run time (the commit runs it:
        ``Op.emit_update_late``); None (no expression) when this back end has no such loop.
        ``names`` are the group's reads, then its members' targets; ``same[i]`` is the
        position among the reads of member ``i``'s target (the old value it reads), or None."""
        return None

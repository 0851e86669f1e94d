"""``ScanSpec``: the static description of a scan loop, shared by the loop op, its gradient
and the symbolic backpropagation through time."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from symgraph.graph import Variable
from symgraph.ops.shape import Shape, ShapeI

_uids = itertools.count()


@dataclass
class ScanSpec:
    """Static description of a scan loop (everything but the outer values).

    Attributes
    ----------
    seq_taps : per sequence, the sorted taps (offsets relative to ``t``)
    out_taps : per output, the sorted negative taps, or ``()`` for an output not fed back
    n_shared : number of shared states threaded through the steps (updated shared variables)
    inner_inputs : placeholders, in the order seq taps, output taps, shared states, non-sequences
    inner_outputs : one per output, then one per shared state
    go_backwards, truncate_gradient, mode : as in ``scan``
    stable_shared : indices of shared states whose shape is the same at every step (the
        accumulators of a derived gradient loop): a VJP reading only their shape needs no
        replay of their values
    """

    seq_taps: List[Tuple[int, ...]]
    out_taps: List[Tuple[int, ...]]
    n_shared: int
    n_nonseq: int
    inner_inputs: List[Variable]
    inner_outputs: List[Variable]
    go_backwards: bool = False
    truncate_gradient: int = -1
    mode: object = None
    name: Optional[str] = None
    stable_shared: Tuple[int, ...] = ()
    uid: int = field(default_factory=lambda: next(_uids))

    @property
    def lags(self) -> List[int]:
        return [-min(t) if t else 0 for t in self.out_taps]

    def seq_span(self, k: int) -> int:
        taps = self.seq_taps[k]
        return max(taps) - min(taps)

    def seq_rows(self, t: int) -> List[Tuple[int, int]]:
        """``(sequence, row)`` read at step ``t``, one per sequence tap, in inner-input order."""
        return [(k, t - min(taps) + tap) for k, taps in enumerate(self.seq_taps) for tap in taps]

    def state_rows(self, t: int) -> List[Tuple[int, int]]:
        """``(output, row)`` read at step ``t`` from each fed-back output's full buffer (the
        ``lag`` initial rows first, then one row per step), one per tap, in inner-input order."""
        lags = self.lags
        return [(k, lags[k] + t + tap) for k, taps in enumerate(self.out_taps) for tap in taps]

    def step_args(self, t: int, seqs, bufs, shared, nonseq) -> list:
        """The inner function's arguments at step ``t``."""
        return ([seqs[k][r] for k, r in self.seq_rows(t)]
                + [bufs[k][r] for k, r in self.state_rows(t)] + list(shared) + list(nonseq))


def value_reads(outputs: List[Variable]) -> set:
    """The variables whose values ``outputs`` depend on (not through their shape only)."""
    found, stack = set(), list(outputs)
    while stack:
        v = stack.pop()
        if v in found:
            continue
        found.add(v)
        if v.owner is not None and not isinstance(v.owner.op, (Shape, ShapeI)):
            stack.extend(v.owner.inputs)
    return found

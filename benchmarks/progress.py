"""The studies' progress display: one bar (tqdm, on a terminal) or log lines with an ETA."""
from __future__ import annotations

import math
import sys
import time
from typing import Dict, List, Optional


class Progress:
    """One overall progress bar (tqdm on a terminal) or plain log lines with an ETA.

    ``mode``: ``auto`` (a bar on a terminal when tqdm is installed, else log lines), ``bar``
    (a bar even when stderr is not a terminal; log lines without tqdm), ``log`` or ``none``.
    ``jobs``: runs computed at the same time, for the ETA; ``unit``: what is counted.
    """

    def __init__(self, total: int, done: int, mode: str = "auto", jobs: int = 1,
                 unit: str = "run"):
        self.total, self.done, self.start, self.new = total, done, time.perf_counter(), 0
        self.jobs = max(1, jobs)
        self.bar = None
        self.mode = mode
        if mode in ("auto", "bar"):
            try:
                from tqdm import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None and (mode == "bar" or sys.stderr.isatty()):
                self.bar = tqdm(total=total, initial=done, desc=f"{unit}s", unit=unit)
        if self.bar is None and mode == "bar":
            self.mode = "log"

    def eta(self, steady_seconds: Optional[float]) -> float:
        """Seconds left: the runs still to do times the mean seconds of a run's training and
        evaluation (``steady_seconds``: a process's first run also imports and compiles, which
        the next ones do not), over the runs computed at once; from the elapsed time per run
        when that mean is unknown."""
        left = self.total - self.done
        if steady_seconds is not None and math.isfinite(steady_seconds):
            return left * steady_seconds / min(self.jobs, max(left, 1))
        elapsed = time.perf_counter() - self.start
        return elapsed / max(self.new, 1) * left

    def update(self, spec: Dict, rows: List[Dict], record: Optional[Dict] = None,
               steady_seconds: Optional[float] = None) -> None:
        """Count the finished run ``spec`` of the optimizer study whose per-epoch rows are
        ``rows``; ``record`` is its :class:`~benchmarks.products.Ledger` record (efficiency,
        back end)."""
        last = rows[-1]
        msg = (f"{spec['optimizer']} seed {spec['seed']}: test acc "
               f"{last['test_accuracy']:.4f}, test loss {last['test_loss']:.4f}")
        if record is not None:
            msg += (f"; {record['train_seconds']:.1f} s training on {record['backend']}, "
                    f"products at {record['gflops']:.1f} GFLOP/s (dense count) of CPU time = "
                    f"{record['fraction_of_gemm']:.0%} of GEMM-only "
                    f"({record['wall_fraction']:.0%} in wall time)")
        self.advance(msg, steady_seconds)

    def advance(self, msg: str, steady_seconds: Optional[float] = None) -> None:
        """Count one finished run (or task), described by ``msg``."""
        self.done += 1
        self.new += 1
        if self.bar is not None:
            self.bar.set_postfix_str(msg, refresh=False)
            self.bar.update(1)
        elif self.mode != "none":
            elapsed = time.perf_counter() - self.start
            print(f"[{self.done}/{self.total}] {msg} ({elapsed:.0f} s elapsed, ETA "
                  f"{self.eta(steady_seconds):.0f} s)", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

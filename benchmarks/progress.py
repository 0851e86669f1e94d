"""The studies' progress display: one bar (tqdm, on a terminal) or log lines."""
from __future__ import annotations

import sys
import time
from typing import Dict, List


class Progress:
    """One overall progress bar (tqdm on a terminal) or plain log lines with an ETA.

    ``mode``: ``auto`` (a bar on a terminal when tqdm is installed, else log lines), ``bar``
    (a bar even when stderr is not a terminal; log lines without tqdm), ``log`` or ``none``.
    """

    def __init__(self, total: int, done: int, mode: str = "auto", unit: str = "run"):
        self.total, self.done, self.start, self.new = total, done, time.perf_counter(), 0
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

    def update(self, spec: Dict, rows: List[Dict]) -> None:
        """Count the finished run ``spec`` of the optimizer study (per-epoch rows ``rows``)."""
        last = rows[-1]
        self.advance(f"{spec['optimizer']} seed {spec['seed']}: test acc "
                     f"{last['test_accuracy']:.4f}, test loss {last['test_loss']:.4f}")

    def advance(self, msg: str) -> None:
        """Count one finished run (or task), described by ``msg``."""
        self.done += 1
        self.new += 1
        if self.bar is not None:
            self.bar.set_postfix_str(msg, refresh=False)
            self.bar.update(1)
        elif self.mode != "none":
            elapsed = time.perf_counter() - self.start
            eta = elapsed / self.new * (self.total - self.done)
            print(f"[{self.done}/{self.total}] {msg} ({elapsed:.0f} s elapsed, ETA "
                  f"{eta:.0f} s)", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

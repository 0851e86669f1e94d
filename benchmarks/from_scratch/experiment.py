"""What one experiment of the from-scratch studies declares.

An experiment is split into *tasks* (one training run, one trial, one histogram case...) that
run independently, in this process, in worker processes or on Dask; each task's result (a dict
of arrays) is stored in the study folder as it arrives, which is what makes a study resumable.
When every task is stored, :meth:`Experiment.finish` turns the results into CSV tables and
figures and returns the key figures of ``summary.json``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

Settings = Dict[str, object]
Spec = Dict[str, object]
Result = Dict[str, np.ndarray]


class Experiment:
    """Base class of an experiment; subclasses fill the attributes and the four methods.

    Attributes
    ----------
    name : str
        The command-line name (``python -m benchmarks.from_scratch NAME``).
    title : str
        One line for ``--list`` and the figures.
    book : str
        Where the experiment is in the book (chapter, section, figure).
    seeded : bool
        Whether tasks depend on a seed (``--seeds N`` repeats them for seeds 0..N-1); a
        deterministic experiment runs once and refuses ``--seeds``.
    default_seeds, quick_seeds : int
        Seeds of a full-size and of a ``--quick`` run when ``--seeds`` is not given.
    uses_data : bool
        Whether the tasks read MNIST.
    """

    name: str = ""
    title: str = ""
    book: str = ""
    seeded: bool = True
    default_seeds: int = 3
    quick_seeds: int = 2
    uses_data: bool = True

    def settings(self, quick: bool) -> Settings:
        """Every value that changes the numbers (sizes, rates, dtype...), JSON-serialisable:
        a study folder holds results of one value of each."""
        raise NotImplementedError

    def tasks(self, settings: Settings, seeds: Sequence[int]) -> List[Spec]:
        """The independent tasks of a study, each a dict with a file-safe ``task`` id (and
        ``seed`` when seeded) plus whatever :meth:`run` needs beyond ``settings``."""
        raise NotImplementedError

    def run(self, spec: Spec) -> Result:
        """Compute one task. ``spec`` is a task of :meth:`tasks` plus ``settings`` and
        ``data_dir``; equal specs give equal results (for an equal BLAS thread count)."""
        raise NotImplementedError

    def describe(self, spec: Spec, result: Result) -> str:
        """One progress line for a finished task."""
        return str(spec["task"])

    def finish(self, out: Path, settings: Settings, tasks: Sequence[Spec],
               results: Dict[str, Result], plt) -> Dict[str, object]:
        """Write the CSV tables and (when ``plt`` is not None) the figures into ``out`` from
        the results of ``tasks`` (by task id); return the key figures (JSON-serialisable)."""
        raise NotImplementedError


def scalar(result: Result, key: str) -> float:
    """A stored 0-d array as a Python float."""
    return float(np.asarray(result[key]))


def settings_line(settings: Settings, keys: Sequence[str],
                  names: Optional[Dict[str, str]] = None) -> str:
    """``"lr 0.01, batch 128"``: the named settings for a figure title."""
    names = names or {}
    parts = []
    for k in keys:
        v = settings[k]
        if isinstance(v, float):
            v = f"{v:g}"
        parts.append(f"{names.get(k, k.replace('_', ' '))} {v}")
    return ", ".join(parts)

"""How many BLAS threads a command-line run uses, where that number came from, and applying it.

The tools of ``models`` and ``benchmarks`` default to **one BLAS thread per run** and take more
cores through parallel runs (``--jobs``) instead. At the sizes they train (minibatches of 100,
layers of a few hundred units) a second OpenBLAS thread costs more than it gains, and on a
machine shared with other work oversubscribed OpenBLAS threads spin while they wait for a core:
measured on the 2-core development machine, the default optimizer study took 9.8 s with one
thread and 15.8 s with two while the machine was otherwise idle, and the autoencoder study
51 s against 4 min 15 s while other jobs kept it busy. One thread also makes a run's numbers
independent of the machine's core count (another thread count sums float32 products in
another order).

Override, in this order: ``--threads N``, then ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` /
``MKL_NUM_THREADS`` from the environment. Worker processes get the number through those
variables before NumPy loads in them; in this process it is applied with threadpoolctl (the
optional ``[threads]`` extra), without which only the environment variables, set before
Python starts, can limit this process's BLAS.
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional

#: read by the BLAS/OpenMP runtimes when NumPy (or SciPy) is first imported
ENV_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
            "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
#: the variables a user sets to override the default, in the order they are honoured
OVERRIDE_VARS = ENV_VARS[:3]
DEFAULT = 1


class ThreadsError(ValueError):
    """An override that is not a positive integer (names the variable or option)."""


@dataclass(frozen=True)
class BlasThreads:
    """A BLAS thread count per run and where it came from (``--threads``, an environment
    variable's name, or ``default``)."""

    count: int
    source: str

    def env(self) -> Dict[str, str]:
        """The environment that gives a process started with it this many BLAS threads."""
        return {k: str(self.count) for k in ENV_VARS}

    def describe(self, per: str = "per run") -> str:
        """One line for the log: the count, its source and how to change it."""
        plural = "s" if self.count != 1 else ""
        what = f"{self.count} thread{plural}" + (f" {per}" if per else "")
        return (f"BLAS: {what} (from {self.source}; set it with --threads N or "
                f"OPENBLAS_NUM_THREADS=N)")


def cores() -> int:
    """The CPUs this process may run on (its affinity mask; ``os.cpu_count()`` elsewhere)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def choose(threads: Optional[int] = None, default: int = DEFAULT) -> BlasThreads:
    """The thread count: ``threads`` (the ``--threads`` option) when given, else the first of
    :data:`OVERRIDE_VARS` set in the environment, else ``default``."""
    if threads is not None:
        if int(threads) < 1:
            raise ThreadsError(f"--threads must be >= 1, got {threads}")
        return BlasThreads(int(threads), "--threads")
    for var in OVERRIDE_VARS:
        text = os.environ.get(var, "").strip()
        if not text:
            continue
        try:
            count = int(text)
        except ValueError:
            count = 0
        if count < 1:
            raise ThreadsError(f"{var}={text!r} in the environment: expected a positive "
                               f"integer (or unset it for the default of {default})")
        return BlasThreads(count, var)
    return BlasThreads(default, "default")


def _environment_gives(count: int) -> bool:
    """Whether the variables OpenBLAS read at start-up already give ``count`` threads."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        text = os.environ.get(var, "").strip()
        if text:
            return text == str(count)
    return False


@contextlib.contextmanager
def limited(count: int) -> Iterator[Optional[str]]:
    """Run the block with at most ``count`` BLAS threads in this process.

    Yields how the limit holds: ``"threadpoolctl"``, ``"environment"`` (the variables set
    before start-up already say ``count``), or None when it could not be applied (threadpoolctl
    not installed): the caller says so.
    """
    if importlib.util.find_spec("threadpoolctl") is None:
        yield "environment" if _environment_gives(count) else None
        return
    from threadpoolctl import threadpool_limits
    _load_scipy_blas()
    with threadpool_limits(limits=count, user_api="blas"):
        yield "threadpoolctl"


def _load_scipy_blas() -> None:
    """Load SciPy's BLAS where SciPy is installed: symgraph may call it for its products, and
    threadpoolctl sees (limits, lists) only the libraries loaded so far."""
    if importlib.util.find_spec("scipy") is not None:
        import scipy.linalg.blas  # noqa: F401


def not_applied_warning(threads: BlasThreads) -> str:
    """The line printed when :func:`limited` could not apply ``threads`` in this process."""
    return (f"warning: BLAS threads not limited to {threads.count} in this process: "
            f"threadpoolctl is not installed (pip install threadpoolctl, or the [threads] "
            f"extra), and OPENBLAS_NUM_THREADS={threads.count} was not set before start-up")


#: the environment variable that names OpenBLAS's kernels instead of the processor
CORETYPE_VAR = "OPENBLAS_CORETYPE"


def kernels() -> List[Dict[str, Optional[str]]]:
    """The BLAS libraries this process has loaded (NumPy's, and SciPy's where it is
    installed, which symgraph may call for its products): ``internal_api`` (``openblas``,
    ``mkl``, ...), ``version`` and ``architecture``, the kernels in use (OpenBLAS picks them by
    the processor unless ``OPENBLAS_CORETYPE`` names them, and other kernels round the same
    product differently), each library once. Empty without threadpoolctl (the ``[threads]``
    extra)."""
    if importlib.util.find_spec("threadpoolctl") is None:
        return []
    from threadpoolctl import threadpool_info
    _load_scipy_blas()
    found = {}
    for lib in threadpool_info():
        if lib.get("user_api") == "blas":
            entry = {k: lib.get(k) for k in ("internal_api", "version", "architecture")}
            found[tuple(str(v) for v in entry.values())] = entry
    return [found[key] for key in sorted(found)]  # one order whatever loaded first


def describe_kernels(libs: Optional[List[Dict[str, Optional[str]]]] = None) -> str:
    """One phrase for the log: the BLAS libraries and their kernels (default: this process's,
    :func:`kernels`), and ``OPENBLAS_CORETYPE`` when set; ``"BLAS kernels unknown (no
    threadpoolctl)"`` when they cannot be read."""
    libs = kernels() if libs is None else libs
    forced = os.environ.get(CORETYPE_VAR)
    where = f" ({CORETYPE_VAR}={forced})" if forced else ""
    if not libs:
        return "BLAS kernels unknown (no threadpoolctl)" + where
    names = ", ".join(f"{lib['internal_api']} {lib['version']} "
                      f"{lib.get('architecture') or 'unnamed'} kernels" for lib in libs)
    return names + where

"""What a worker runs: one task of one experiment, looked up by name (a module-level function,
so worker processes and Dask workers import it by its module name)."""
from __future__ import annotations

import time

from benchmarks.from_scratch.experiment import Result, Spec


def run_task(spec: Spec) -> Result:
    """Run the task ``spec`` of experiment ``spec['experiment']``; the result gains
    ``_seconds``, the task's wall time."""
    from benchmarks.from_scratch.registry import get
    t0 = time.perf_counter()
    result = dict(get(str(spec["experiment"])).run(spec))
    result["_seconds"] = time.perf_counter() - t0
    return result

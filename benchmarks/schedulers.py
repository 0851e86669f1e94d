"""Where the runs of a study execute: in this process, in worker processes, or on Dask.

Each scheduler takes a picklable function and a list of specs and yields ``(spec, result)``
as runs finish, so the caller (the one process that writes the output folder) can save each
result at once. Worker processes get their BLAS thread count through environment variables
that are set before they start, hence before NumPy is imported in them.
"""
from __future__ import annotations

import contextlib
import os
from typing import Callable, Dict, Iterator, List, Optional, Tuple

Spec = Dict
Result = object

#: environment variables read by the BLAS/OpenMP runtimes when NumPy is first imported
BLAS_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def threads_per_worker(jobs: int, cores: Optional[int] = None) -> int:
    """BLAS threads for each of ``jobs`` workers so that workers × threads ≤ cores."""
    cores = cores or os.cpu_count() or 1
    return max(1, cores // max(1, jobs))


def blas_env(threads: int) -> Dict[str, str]:
    """The environment variables that pin BLAS to ``threads`` threads."""
    return {k: str(threads) for k in BLAS_VARS}


@contextlib.contextmanager
def environ(values: Dict[str, str]):
    """Set ``values`` in ``os.environ`` for the block (inherited by processes started in it)."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_serial(fn: Callable[[Spec], Result], specs: List[Spec]
               ) -> Iterator[Tuple[Spec, Result]]:
    """Run every spec in this process, in order."""
    for spec in specs:
        yield spec, fn(spec)


def run_processes(fn: Callable[[Spec], Result], specs: List[Spec], jobs: int,
                  threads: Optional[int] = None) -> Iterator[Tuple[Spec, Result]]:
    """Run the specs in ``jobs`` fresh ('spawn') worker processes with ``threads`` BLAS
    threads each (default: cores // jobs)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    threads = threads or threads_per_worker(jobs)
    ctx = multiprocessing.get_context("spawn")
    with environ(blas_env(threads)):
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            futures = {pool.submit(fn, spec): spec for spec in specs}
            try:
                for fut in as_completed(futures):
                    yield futures[fut], fut.result()
            except BaseException:
                for fut in futures:
                    fut.cancel()
                raise


def _optimizer_run_key(spec: Spec) -> str:
    return f"run-{spec['optimizer']}-{spec['seed']}"


def run_dask(fn: Callable[[Spec], Result], specs: List[Spec], jobs: int,
             threads: Optional[int] = None, address: Optional[str] = None,
             key: Callable[[Spec], str] = _optimizer_run_key
             ) -> Iterator[Tuple[Spec, Result]]:
    """Submit each spec as a task to a Dask ``distributed`` cluster and yield results as they
    arrive at this client.

    Without ``address`` a ``LocalCluster`` of ``jobs`` single-threaded worker processes is
    started (BLAS threads set in each worker's environment) and closed at the end. With an
    address the existing scheduler is used; its workers must be able to import
    ``benchmarks``, ``models``, ``optimizers`` and ``symgraph`` and find the data. ``key``
    names a spec's task (made unique per call); the default suits the optimizer study.
    """
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as exc:
        raise RuntimeError("the Dask scheduler needs dask.distributed: pip install "
                           "'dask[distributed]' (or the project's [dask] extra)") from exc
    threads = threads or threads_per_worker(jobs)
    with contextlib.ExitStack() as stack:
        if address:
            client = stack.enter_context(Client(address))
        else:
            import dask
            # BLAS reads these when NumPy is imported: they must be in the environment the
            # worker process is spawned with ('pre-spawn'), not set after it started
            pre = {**dask.config.get("distributed.nanny.pre-spawn-environ", {}),
                   **blas_env(threads)}
            with dask.config.set({"distributed.nanny.pre-spawn-environ": pre}):
                cluster = stack.enter_context(LocalCluster(
                    n_workers=jobs, threads_per_worker=1, processes=True,
                    dashboard_address=None, silence_logs=40))
            client = stack.enter_context(Client(cluster))
        import uuid
        token = uuid.uuid4().hex[:8]  # task keys unique per study even on a shared scheduler
        futures = {}
        for spec in specs:
            futures[client.submit(fn, spec, key=f"{key(spec)}-{token}", pure=False)] = spec
        try:
            for fut, result in as_completed(list(futures), with_results=True):
                yield futures[fut], result
        except BaseException:
            client.cancel(list(futures))
            raise

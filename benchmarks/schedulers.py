"""Where the runs of a study execute: in this process, in worker processes, or on Dask.

Each scheduler takes a picklable function and a list of specs and yields ``(spec, result)``
as runs finish, so the caller (the one process that writes the output folder) can save each
result at once. Worker processes get their BLAS thread count through environment variables
that are set before they start, hence before NumPy is imported in them (see
:mod:`models.threads`). They ignore Ctrl-C: the terminal sends SIGINT to the whole process
group, and the parent alone reports the interruption and stops the workers.
"""
from __future__ import annotations

import contextlib
import os
import signal
from typing import Callable, Dict, Iterator, List, Optional, Tuple

from models.threads import BlasThreads

Spec = Dict
Result = object


def blas_env(threads: int) -> Dict[str, str]:
    """The environment variables that pin BLAS to ``threads`` threads."""
    return BlasThreads(threads, "").env()


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


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def _sigint_ignored():
    """Ignore SIGINT in this process for the block: processes started in it keep ignoring it
    (an ignored signal stays ignored across exec, and Python then installs no handler)."""
    try:
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: leave the signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def _call(job: Tuple[Callable[[Spec], Result], Spec]) -> Tuple[Spec, Result]:
    fn, spec = job
    return spec, fn(spec)


def run_serial(fn: Callable[[Spec], Result], specs: List[Spec]
               ) -> Iterator[Tuple[Spec, Result]]:
    """Run every spec in this process, in order."""
    for spec in specs:
        yield spec, fn(spec)


def run_processes(fn: Callable[[Spec], Result], specs: List[Spec], jobs: int,
                  threads: int) -> Iterator[Tuple[Spec, Result]]:
    """Run the specs in ``jobs`` fresh ('spawn') worker processes with ``threads`` BLAS
    threads each. When the caller stops early (an error, Ctrl-C) the workers are terminated
    at once rather than left to finish their runs."""
    import multiprocessing
    ctx = multiprocessing.get_context("spawn")
    with environ(blas_env(threads)):
        pool = ctx.Pool(processes=jobs, initializer=_ignore_sigint)
    try:
        for spec, result in pool.imap_unordered(_call, [(fn, spec) for spec in specs]):
            yield spec, result
        pool.close()
    finally:
        pool.terminate()
        pool.join()


def _optimizer_run_key(spec: Spec) -> str:
    return f"run-{spec['optimizer']}-{spec['seed']}"


def run_dask(fn: Callable[[Spec], Result], specs: List[Spec], jobs: int,
             threads: Optional[int] = None, address: Optional[str] = None,
             key: Callable[[Spec], str] = _optimizer_run_key
             ) -> Iterator[Tuple[Spec, Result]]:
    """Submit each spec as a task to a Dask ``distributed`` cluster and yield results as they
    arrive at this client.

    Without ``address`` a ``LocalCluster`` of ``jobs`` single-threaded worker processes is
    started (BLAS threads set in each worker's environment, Ctrl-C ignored by them) and closed
    at the end. With an
    address the existing scheduler is used; its workers must be able to import
    ``benchmarks``, ``models``, ``optimizers`` and ``symgraph`` and find the data. ``key``
    names a spec's task (made unique per call); the default suits the optimizer study.
    """
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as exc:
        raise RuntimeError("the Dask scheduler needs dask.distributed: pip install "
                           "'dask[distributed]' (or the project's [dask] extra)") from exc
    threads = threads or 1  # one BLAS thread per worker unless told otherwise
    with contextlib.ExitStack() as stack:
        if address:
            client = stack.enter_context(Client(address))
        else:
            import dask
            # BLAS reads these when NumPy is imported: they must be in the environment the
            # worker process is spawned with ('pre-spawn'), not set after it started
            pre = {**dask.config.get("distributed.nanny.pre-spawn-environ", {}),
                   **blas_env(threads)}
            with dask.config.set({"distributed.nanny.pre-spawn-environ": pre}), \
                    _sigint_ignored():  # inherited by the worker processes
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

"""One run of the optimizer study: train one model with one optimizer from one seed.

Kept apart from the command line so that worker processes and Dask workers import it by its
module name (a function defined in ``__main__`` cannot be sent to a Dask worker).
"""
from __future__ import annotations

import functools
import gc
import math
import os
import sys
import time
from typing import Dict, Tuple

import numpy as np

from benchmarks.products import flops_per_example, layer_sizes

#: the study's parameters that change a run's numbers (config.json must match on these)
RUN_KEYS = ("model", "hidden", "batch_size", "dataset", "epochs", "n_train", "n_test", "dtype",
            "input_dropout", "activation", "init")


@functools.lru_cache(maxsize=1)
def _load_all(dataset: str, folder: str, dtype: str):
    from models import data as D
    return D.load_idx_dataset(D.DATASETS[dataset], folder or None, dtype=dtype, download=False)


def data_sizes(dataset: str, folder: str, dtype: str) -> Tuple[int, int]:
    """The numbers of training and test images of ``dataset`` in ``folder`` (read and checked
    once per process; :func:`load_data` then takes its slices from memory)."""
    (x_tr, _), (x_te, _) = _load_all(dataset, folder, dtype)
    return len(x_tr), len(x_te)


def load_data(dataset: str, data_dir: str, n_train: int, n_test: int, dtype: str
              ) -> Tuple[Tuple[np.ndarray, np.ndarray], Tuple[np.ndarray, np.ndarray]]:
    """The first ``n_train`` training and ``n_test`` test examples (0 = all) of ``dataset``
    in ``data_dir`` ('' = the default folders); never downloads (the command line did, before
    starting any run). The files are read once per process, so a worker reads them once."""
    (x_tr, y_tr), (x_te, y_te) = _load_all(dataset, data_dir, dtype)
    n_train = n_train or len(x_tr)
    n_test = n_test or len(x_te)
    for what, n, avail in (("n_train", n_train, len(x_tr)), ("n_test", n_test, len(x_te))):
        if n > avail:
            raise ValueError(f"{what}={n} but {dataset} has only {avail} examples")
    return (x_tr[:n_train], y_tr[:n_train]), (x_te[:n_test], y_te[:n_test])


def build_model(spec: Dict):
    """The model named by ``spec['model']`` with the spec's sizes, seeded with the run's seed."""
    import models
    n_in, n_out = 784, 10
    if spec["model"] == "mlp":
        return models.MLP([n_in, spec["hidden"], n_out], activation=spec["activation"],
                          init=spec["init"], input_dropout=spec["input_dropout"],
                          seed=spec["seed"], dtype=spec["dtype"])
    if spec["model"] == "logistic":
        return models.LogisticRegression(n_in, n_out, seed=spec["seed"], dtype=spec["dtype"])
    raise ValueError(f"unknown model {spec['model']!r}; use 'mlp' or 'logistic'")


def run_one(spec: Dict) -> Dict:
    """Train one (optimizer, seed) run: ``{"rows": one row per epoch, "info": how it ran}``.

    ``spec`` holds :data:`RUN_KEYS` plus ``optimizer``, ``seed``, ``data_dir`` and ``hyper``
    (the optimizer's hyper-parameters; its defaults when absent). The seed fixes the initial
    weights, the dropout masks and the minibatch order, so equal specs give identical numbers
    (for a given BLAS thread count).

    ``info``: the back end that ran the train step and its kernel cache, the BLAS route of the
    in-place products (:func:`symgraph.ops.blas.gemm_path`), the seconds spent setting up
    (imports, data, compiling), training and evaluating, the products' floating-point
    operations (:mod:`benchmarks.products`), the process's peak resident memory so far, and
    whether numba is loaded in it (``numba_loaded``: False when its loops came from the kernel
    cache).

    The run's model and compiled functions are collected before it returns: their graphs hold
    reference cycles, which Python's collector might otherwise keep for many runs (measured:
    a process's memory grew by 5-8 MB per run of the study's MLP without it, not at all with
    it).
    """
    t0 = time.perf_counter()
    result = _train(spec)
    gc.collect()
    result["info"]["run_seconds"] = time.perf_counter() - t0
    result["info"]["peak_rss_mb"] = peak_rss_mb()
    result["info"]["numba_loaded"] = "numba" in sys.modules
    return result


def _train(spec: Dict) -> Dict:
    t0 = time.perf_counter()
    import optimizers
    from models.training import Trainer, fit
    from symgraph import backends
    from symgraph.ops.blas import gemm_path
    data = load_data(spec["dataset"], spec.get("data_dir") or "", spec["n_train"],
                     spec["n_test"], spec["dtype"])
    model = build_model(spec)
    opt = optimizers.get(spec["optimizer"], **spec.get("hyper", {}))
    trainer = Trainer(model, opt)
    setup = time.perf_counter() - t0
    history = fit(model, opt, data, epochs=spec["epochs"], batch_size=spec["batch_size"],
                  seed=spec["seed"], progress=False, trainer=trainer)
    rows = []
    for rec in history:
        rows.append({"optimizer": spec["optimizer"], "seed": spec["seed"],
                     "epoch": int(rec["epoch"]), "train_loss": float(rec["train_loss"]),
                     "test_loss": float(rec["test_loss"]),
                     "test_accuracy": float(rec["test_accuracy"]),
                     "seconds": float(rec["seconds"])})
    sizes = layer_sizes(spec["model"], spec["hidden"])
    n_train = len(data[0][0])
    info = {"backend": trainer.backend,
            "kernel_cache": (backends.cache_dir() if trainer.backend not in (None, "numpy")
                             else None),
            "gemm_path": gemm_path(spec["dtype"]),
            "setup_seconds": setup,
            "train_seconds": math.fsum(r["seconds"] for r in history),
            "train_cpu_seconds": math.fsum(r["cpu_seconds"] for r in history),
            "eval_seconds": math.fsum(r["eval_seconds"] for r in history),
            "flops": flops_per_example(sizes) * n_train * len(history),
            "pid": os.getpid()}
    return {"rows": rows, "info": info}


def warm_kernels(specs) -> Dict:
    """Compile the compiled loops of every distinct run of ``specs`` once, in this process,
    by training each for one epoch on two minibatches and evaluating on two evaluation
    batches (the same graphs and operand kinds as a full run, so the same kernels); their
    object code lands in the kernel cache.

    Called in a short-lived process before the workers start: a worker then links the loops
    from the cache instead of compiling them, so numba and LLVM (about 70 MB) never load into
    it. Returns what happened: ``{"runs": n, "seconds": s, "numba_imported": bool}``."""
    t0 = time.perf_counter()
    seen = []
    for spec in specs:
        key = (spec["optimizer"], sorted(spec.get("hyper", {}).items()))
        if key in seen:
            continue
        seen.append(key)
        _train({**spec, "epochs": 1, "n_train": min(2 * spec["batch_size"], spec["n_train"] or
                                                     2 * spec["batch_size"]),
                "n_test": min(2000, spec["n_test"] or 2000)})
        gc.collect()
    return {"runs": len(seen), "seconds": time.perf_counter() - t0,
            "numba_imported": "numba" in sys.modules}


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MiB (NaN where unknown)."""
    try:
        import resource
    except ImportError:  # not on this platform
        return float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2 ** 20  # KiB, bytes on macOS

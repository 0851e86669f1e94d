"""One run of the optimizer study: train one model with one optimizer from one seed.

Kept apart from the command line so that worker processes and Dask workers import it by its
module name (a function defined in ``__main__`` cannot be sent to a Dask worker).
"""
from __future__ import annotations

import functools
from typing import Dict, List, Tuple

import numpy as np

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


def run_one(spec: Dict) -> List[Dict]:
    """Train one (optimizer, seed) run and return one row per epoch.

    ``spec`` holds :data:`RUN_KEYS` plus ``optimizer``, ``seed``, ``data_dir`` and ``hyper``
    (the optimizer's hyper-parameters; its defaults when absent). The seed fixes the initial
    weights, the dropout masks and the minibatch order, so equal specs give identical numbers
    (for a given BLAS thread count).
    """
    import optimizers
    from models.training import fit
    data = load_data(spec["dataset"], spec.get("data_dir") or "", spec["n_train"],
                     spec["n_test"], spec["dtype"])
    model = build_model(spec)
    opt = optimizers.get(spec["optimizer"], **spec.get("hyper", {}))
    history = fit(model, opt, data, epochs=spec["epochs"], batch_size=spec["batch_size"],
                  seed=spec["seed"], progress=False)
    rows = []
    for rec in history:
        rows.append({"optimizer": spec["optimizer"], "seed": spec["seed"],
                     "epoch": int(rec["epoch"]), "train_loss": float(rec["train_loss"]),
                     "test_loss": float(rec["test_loss"]),
                     "test_accuracy": float(rec["test_accuracy"]),
                     "seconds": float(rec["seconds"])})
    return rows

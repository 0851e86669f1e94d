"""What several experiments share: MNIST subsets, the training loops, statistics over seeds and
the book's curve smoothing."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

Pair = Tuple[np.ndarray, np.ndarray]


def mnist(spec: Dict, n_train: int, n_test: int, images: bool = False) -> Tuple[Pair, Pair]:
    """The first ``n_train`` training and ``n_test`` test images of MNIST (0 = all) in the
    spec's dtype, flat rows or (with ``images``) NCHW arrays; cached per process."""
    from benchmarks.optimizer_run import load_data
    settings = spec["settings"]
    (x_tr, y_tr), (x_te, y_te) = load_data("mnist", spec.get("data_dir") or "", n_train,
                                           n_test, settings.get("dtype", "float32"))
    if images:
        x_tr, x_te = x_tr.reshape(-1, 1, 28, 28), x_te.reshape(-1, 1, 28, 28)
    return (x_tr, y_tr), (x_te, y_te)


def batches(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, first_epoch: int = 1):
    """Minibatches of exactly ``batch_size`` examples, for ever: epoch after epoch (from
    ``first_epoch``), each a new permutation (:func:`models.data.iterate_minibatches` with the
    epoch number)."""
    from models.data import iterate_minibatches
    if batch_size > len(x):
        raise ValueError(f"batch size {batch_size} exceeds the {len(x)} training examples")
    epoch = first_epoch - 1
    while True:
        epoch += 1
        yield from iterate_minibatches(x, y, batch_size, shuffle=True, seed=seed, epoch=epoch,
                                       drop_last=True)


def train_iterations(trainer, train: Pair, batch_size: int, iterations: int, seed: int
                     ) -> np.ndarray:
    """The cost of each of ``iterations`` train steps (the book's ``train_loss_list``)."""
    losses = np.empty(iterations)
    stream = batches(train[0], train[1], batch_size, seed)
    for i in range(iterations):
        losses[i] = trainer.train_step(*next(stream))
    return losses


def train_epochs(trainer, train: Pair, batch_size: int, epochs: int, seed: int,
                 evaluated: Dict[str, Pair], stop=None, log: str = "",
                 checkpoint: Optional[str] = None, state: Sequence = ()
                 ) -> Dict[str, np.ndarray]:
    """Train ``epochs`` epochs (the book's ``iter_per_epoch = max(n / batch, 1)`` steps each)
    and evaluate each pair of ``evaluated`` before training and after every epoch.

    Returns ``<name>_accuracy`` and ``<name>_loss`` (test mode) per evaluated pair and
    ``epoch_cost`` (mean minibatch cost of the epoch's steps, in training mode; NaN at epoch
    0), each of length ``epochs + 1``, and ``seconds``
    (training time per epoch, 0 at epoch 0). ``stop(curves, epoch)`` returning True ends the
    training early (the arrays then stop at that epoch). A non-empty ``log`` prints one line
    per epoch to stderr, starting with it (for runs of many minutes). With a ``checkpoint``
    path, the curves and the variables ``state`` (see :func:`.checkpoint.training_state`) are
    saved after every epoch, and a run finding a checkpoint there resumes after its epoch.
    """
    from benchmarks.from_scratch import checkpoint as C
    per_epoch = max(len(train[0]) // batch_size, 1)
    curves: Dict[str, list] = {"epoch_cost": [np.nan], "seconds": [0.0]}
    done = 0
    restored = C.restore(Path(checkpoint), state) if checkpoint else None
    if restored is not None:
        done, curves = restored
        if log:
            print(f"{log}: resuming after epoch {done} ({checkpoint})", file=sys.stderr)

    def evaluate() -> None:
        for name, (x, y) in evaluated.items():
            metrics = evaluate_pair(trainer, x, y)
            curves.setdefault(f"{name}_accuracy", []).append(metrics["accuracy"])
            curves.setdefault(f"{name}_loss", []).append(metrics["loss"])

    if restored is None:
        evaluate()
    elif done >= epochs or (stop is not None and stop(curves, done)):
        return {k: np.asarray(v, dtype=np.float64) for k, v in curves.items()}
    stream = batches(train[0], train[1], min(batch_size, len(train[0])), seed, done + 1)
    for epoch in range(done + 1, epochs + 1):
        t0 = time.perf_counter()
        costs = [trainer.train_step(*next(stream)) for _ in range(per_epoch)]
        curves["seconds"].append(time.perf_counter() - t0)
        curves["epoch_cost"].append(float(np.mean(costs)))
        evaluate()
        if log:
            scores = ", ".join(f"{k} {v[-1]:.4f}" for k, v in curves.items()
                               if k.endswith("_accuracy"))
            print(f"{log} epoch {epoch}/{epochs}: {scores} ({curves['seconds'][-1]:.0f} s)",
                  file=sys.stderr, flush=True)
        if checkpoint:
            C.save(Path(checkpoint), epoch, curves, state)
        if stop is not None and stop(curves, epoch):
            break
    return {k: np.asarray(v, dtype=np.float64) for k, v in curves.items()}


def evaluate_pair(trainer, x: np.ndarray, y: np.ndarray) -> Dict[str, float]:
    """Test-mode loss and accuracy over all of (x, y). The accuracy is the exact fraction of
    correct labels: the compiled metric is a mean in the model's dtype (0.13999998 for 14 of
    100 in float32), rounded here to the nearest count over ``len(x)``."""
    metrics = trainer.evaluate(x, y, batch_size=1000)
    metrics["accuracy"] = round(metrics["accuracy"] * len(x)) / len(x)
    return metrics


def trainer(model, optimizer):
    """The compiled train step and evaluation of ``model`` (:class:`models.training.Trainer`)."""
    from models.training import Trainer
    return Trainer(model, optimizer)


def mean_std(values: Sequence, axis: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Mean and sample standard deviation (ddof 1; 0 for a single seed) along ``axis``, as in
    the optimizer study's summaries."""
    a = np.asarray(values, dtype=np.float64)
    std = a.std(axis=axis, ddof=1) if a.shape[axis] > 1 else np.zeros_like(a.mean(axis=axis))
    return a.mean(axis=axis), std


def smooth_curve(y: Sequence[float], window: int = 11) -> np.ndarray:
    """The book's ``smooth_curve`` (common/util.py): a Kaiser window (beta 2) of ``window``
    points, the ends mirrored, same length as ``y``. A curve shorter than the window is
    returned unchanged."""
    y = np.asarray(y, dtype=np.float64)
    if len(y) < window:
        return y.copy()
    s = np.r_[y[window - 1:0:-1], y, y[-1:-window:-1]]
    w = np.kaiser(window, 2)
    out = np.convolve(w / w.sum(), s, mode="valid")
    half = window // 2
    return out[half:len(out) - half]


def accuracy_of(predict, x: np.ndarray, y: np.ndarray, batch_size: int = 1000
                ) -> Tuple[float, np.ndarray]:
    """Accuracy and predicted labels of the compiled ``predict(x) -> labels`` on (x, y)."""
    pred = np.concatenate([np.asarray(predict(x[i:i + batch_size]))
                           for i in range(0, len(x), batch_size)])
    return float(np.mean(pred == y)), pred


def optimizer(name: str, **hyper):
    """The named optimizer of this project's ``optimizers`` with the given hyper-parameters."""
    import optimizers
    return optimizers.get(name, **hyper)


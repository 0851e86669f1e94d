"""The training loop: one compiled train step, one compiled evaluation, minibatches per epoch."""
from __future__ import annotations

import sys
import time
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

import symgraph

from models.data import iterate_minibatches, n_batches

History = List[Dict[str, Any]]


def _split(data) -> Tuple[tuple, Optional[tuple], tuple]:
    """(train, validation or None, test) from what ``load_mnist`` returns."""
    data = tuple(data)
    if len(data) == 2:
        return data[0], None, data[1]
    if len(data) == 3:
        return data[0], data[1], data[2]
    raise ValueError(f"fit: data must be (train, test) or (train, validation, test) pairs, got "
                     f"{len(data)} items")


def _pair(p, what: str, model) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    if isinstance(p, np.ndarray):
        x, y = p, None
    elif len(p) == 1:
        x, y = p[0], None
    else:
        x, y = p
    if y is not None and len(x) != len(y):
        raise ValueError(f"fit: {what} has {len(x)} inputs but {len(y)} targets")
    x = np.asarray(x)
    if x.ndim != model.input_ndim and hasattr(model, "input_shape"):
        x = x.reshape((len(x),) + tuple(model.input_shape))  # flat images for a conv net
    if x.ndim != model.input_ndim:
        raise ValueError(f"fit: {what} inputs are {x.ndim}-d, {type(model).__name__} takes "
                         f"{model.input_ndim}-d batches")
    if x.dtype != model.dtype:
        x = x.astype(model.dtype)
    return x, y


def _progress(total: int, desc: str, enabled: Optional[bool]):
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, leave=False)


class Trainer:
    """Compiled train and evaluation functions of a model under an optimizer.

    ``train_step(x, y)`` runs one update and returns the minibatch cost; ``evaluate(x, y)``
    returns the test-mode metrics averaged over the examples.
    """

    def __init__(self, model, optimizer, one_hot: bool = False, mode=None):
        self.model, self.optimizer = model, optimizer
        x = model.input_variable("x")
        y = model.target_variable("y", one_hot=one_hot) if model.supervised else None
        inputs = [x, y] if y is not None else [x]
        extra: list = []
        cost = model.cost(x, y, train=True, updates=extra)
        updates = OrderedDict(optimizer.updates(cost, model.params))
        for target, value in extra:
            updates[target] = value
        self._train = symgraph.function(inputs, cost, updates=updates, mode=mode,
                                        name="train_step")
        metrics = model.metrics(x, y)
        self.metric_names = list(metrics)
        self._eval = symgraph.function(inputs, list(metrics.values()), mode=mode,
                                       name="evaluate")
        self.supervised = y is not None

    @property
    def backend(self) -> Optional[str]:
        """The back end that runs the train step (``Function.backend``: ``'numba'``,
        ``'numpy'``, ...; None for the unfused linker)."""
        return self._train.backend

    def train_step(self, x: np.ndarray, y: Optional[np.ndarray] = None) -> float:
        out = self._train(x, y) if self.supervised else self._train(x)
        return float(out)

    def evaluate(self, x: np.ndarray, y: Optional[np.ndarray] = None,
                 batch_size: int = 1000) -> Dict[str, float]:
        """Metrics over all of (x, y), evaluated in batches and weighted by batch size."""
        totals = np.zeros(len(self.metric_names))
        for batch in iterate_minibatches(x, y if self.supervised else None, batch_size,
                                         shuffle=False):
            vals = self._eval(*batch)
            totals += len(batch[0]) * np.array([float(v) for v in vals])
        return {k: float(v) for k, v in zip(self.metric_names, totals / max(len(x), 1))}


def fit(model, optimizer, data, epochs: int, batch_size: int = 100, seed: int = 0,
        callbacks: Sequence[Callable[[Dict[str, Any]], Optional[bool]]] = (),
        eval_batch_size: int = 1000, evaluate_initial: bool = False,
        record_batches: bool = False, progress: Optional[bool] = None,
        max_batches: Optional[int] = None, mode=None, trainer: Optional[Trainer] = None,
        initial_epoch: int = 0) -> History:
    """Train ``model`` with ``optimizer`` on ``data`` and return the per-epoch history.

    Parameters
    ----------
    model : models.base.Model
    optimizer : object with ``updates(cost, params)``
    data : ((x_train, y_train), (x_test, y_test)), optionally with a validation pair between
        them, as returned by :func:`models.data.load_mnist`. Unsupervised models ignore y.
    epochs, batch_size : int
    seed : int
        Seeds the minibatch order of every epoch (see :func:`iterate_minibatches`); with the
        model's own seed it makes the run deterministic.
    callbacks : callables
        Called with each epoch's history entry; one returning True stops training.
    evaluate_initial : bool
        Prepend an entry for epoch 0 (the untrained model; ``train_loss`` is None).
    record_batches : bool
        Add ``batch_losses`` (every minibatch cost) to each entry.
    progress : bool, optional
        Show a tqdm bar (default: when stderr is a terminal and tqdm is installed).
    max_batches : int, optional
        Stop each epoch after this many minibatches (quick runs).
    trainer : Trainer, optional
        The compiled functions of ``model`` under ``optimizer``, built beforehand (to restore
        a checkpoint's optimizer state into ``optimizer.state`` before training resumes).
    initial_epoch : int
        Epochs already done: training runs epochs ``initial_epoch + 1 .. epochs``, each with
        the minibatch order of an uninterrupted run, so restoring the parameters, optimizer
        state and noise states saved after epoch ``initial_epoch`` and calling ``fit`` again
        gives the numbers of a run that was never stopped.

    Returns
    -------
    list of dict
        One entry per epoch: ``epoch``, ``train_loss`` (mean minibatch cost of the epoch),
        ``test_loss``, ``test_accuracy`` (None for unsupervised models), every other metric as
        ``test_<name>``, ``val_<name>`` with a validation pair, ``seconds`` (training time of
        the epoch), ``cpu_seconds`` (the process's CPU time during it: on a machine shared
        with other jobs, the steadier of the two) and ``eval_seconds``.

    The train and evaluation functions are compiled once, before the first epoch.
    """
    train, valid, test = _split(data)
    x_tr, y_tr = _pair(train, "train", model)
    one_hot = y_tr is not None and np.ndim(y_tr) == 2
    if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, (int, np.integer)) \
            or not 0 <= initial_epoch <= epochs:
        raise ValueError(f"fit: initial_epoch must be an int in [0, epochs={epochs}], got "
                         f"{initial_epoch!r}")
    if evaluate_initial and initial_epoch:
        raise ValueError("fit: evaluate_initial describes the untrained model (epoch 0); it "
                         "cannot be combined with initial_epoch > 0")
    if trainer is None:
        trainer = Trainer(model, optimizer, one_hot=one_hot, mode=mode)
    elif not isinstance(trainer, Trainer) or trainer.model is not model or \
            trainer.optimizer is not optimizer:
        raise ValueError("fit: trainer must be a Trainer built for this model and optimizer")
    if not trainer.supervised:
        y_tr = None
    evaluated = [("test", _pair(test, "test", model))]
    if valid is not None:
        evaluated.insert(0, ("val", _pair(valid, "validation", model)))

    def entry(epoch: int, train_loss, seconds: float, batch_losses,
              cpu_seconds: float = 0.0) -> Dict[str, Any]:
        t0 = time.perf_counter()
        rec: Dict[str, Any] = {"epoch": epoch, "train_loss": train_loss}
        for prefix, (x, y) in evaluated:
            for name, value in trainer.evaluate(x, y if trainer.supervised else None,
                                                eval_batch_size).items():
                rec[f"{prefix}_{name}"] = value
        rec.setdefault("test_accuracy", None)
        rec["seconds"] = seconds
        rec["cpu_seconds"] = cpu_seconds
        rec["eval_seconds"] = time.perf_counter() - t0
        if record_batches:
            rec["batch_losses"] = batch_losses
        return rec

    history: History = []
    if evaluate_initial:
        history.append(entry(0, None, 0.0, []))
    per_epoch = n_batches(len(x_tr), batch_size)
    if max_batches is not None:
        per_epoch = min(per_epoch, max_batches)
    for epoch in range(initial_epoch + 1, epochs + 1):
        bar = _progress(per_epoch, f"epoch {epoch}/{epochs}", progress)
        t0, c0 = time.perf_counter(), time.process_time()
        losses, sizes = [], []
        for k, batch in enumerate(iterate_minibatches(x_tr, y_tr, batch_size, shuffle=True,
                                                      seed=seed, epoch=epoch)):
            if k == per_epoch:
                break
            losses.append(trainer.train_step(*batch))
            sizes.append(len(batch[0]))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{losses[-1]:.4f}", refresh=False)
        seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
        if bar is not None:
            bar.close()
        train_loss = float(np.average(losses, weights=sizes)) if losses else float("nan")
        rec = entry(epoch, train_loss, seconds, losses, cpu_seconds)
        history.append(rec)
        if any(cb(rec) for cb in callbacks):
            break
    return history

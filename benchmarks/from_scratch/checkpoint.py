"""Epoch checkpoints of a long training task (the conv nets: up to an hour per task), so that a
task killed after epoch k resumes at epoch k + 1 with the numbers of an uninterrupted run.

A checkpoint holds the curves so far and the value of every variable that the next epoch
depends on (:func:`training_state`): parameters, batch-norm averages, the optimizer's state
and step counter, and the states of the model's random stream (dropout). The minibatch order
of an epoch depends only on (seed, epoch), so nothing else is needed. The file is replaced
atomically after each epoch.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from benchmarks import results as R


def training_state(model, optimizer) -> List:
    """The shared variables whose values, with the epoch number, determine the rest of a
    training run of ``model`` under ``optimizer`` (after its train step was compiled)."""
    variables = list(model.params) + list(model.state) + list(optimizer.state)
    stream = getattr(model, "stream", None)
    if stream is not None:
        variables += [state for state, _ in stream.updates()]
    return variables


def save(path: Path, epoch: int, curves: Dict[str, list], variables: Sequence) -> None:
    """Store the state after ``epoch`` (atomically)."""
    arrays = {"epoch": np.array(epoch), "count": np.array(len(variables))}
    arrays.update({f"curve__{k}": np.asarray(v, dtype=np.float64) for k, v in curves.items()})
    arrays.update({f"var{i}": v.get_value() for i, v in enumerate(variables)})
    R.write_npz(path, arrays)


def restore(path: Path, variables: Sequence) -> Optional[Tuple[int, Dict[str, list]]]:
    """Set ``variables`` from the checkpoint at ``path`` and return (epoch, curves); None,
    changing nothing, when there is no usable checkpoint (missing, damaged, or of another
    network: count, shapes or dtypes differ)."""
    if not Path(path).exists():
        return None
    try:
        arrays = R.read_npz(path)
    except ValueError:
        return None
    if int(arrays.get("count", -1)) != len(variables):
        return None
    values = [arrays.get(f"var{i}") for i in range(len(variables))]
    for v, value in zip(variables, values):
        have = v.get_value(borrow=True)
        if value is None or value.shape != have.shape or value.dtype != have.dtype:
            return None
    for v, value in zip(variables, values):
        v.set_value(value)
    curves = {k[len("curve__"):]: list(v) for k, v in arrays.items() if k.startswith("curve__")}
    return int(arrays["epoch"]), curves

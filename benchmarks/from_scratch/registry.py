"""The experiments by name."""
from __future__ import annotations

from typing import Dict, List

from benchmarks.from_scratch.experiment import Experiment


def _all() -> List[Experiment]:
    from benchmarks.from_scratch.activations import ActivationsExperiment
    from benchmarks.from_scratch.batchnorm import BatchNormExperiment
    from benchmarks.from_scratch.convnet import ConvNetExperiment
    from benchmarks.from_scratch.deep_convnet import DeepConvNetExperiment
    from benchmarks.from_scratch.gradcheck import GradCheckExperiment
    from benchmarks.from_scratch.graphs import GraphsExperiment
    from benchmarks.from_scratch.hyperparams import HyperparamsExperiment
    from benchmarks.from_scratch.loss_curves import InitExperiment, OptimizersMnistExperiment
    from benchmarks.from_scratch.optimizer_paths import OptimizerPathsExperiment
    from benchmarks.from_scratch.overfit import OverfitExperiment
    # the order of the issue that asked for them: chapter 6, then 7, 8 and 5
    return [ActivationsExperiment(), InitExperiment(), OptimizerPathsExperiment(),
            OptimizersMnistExperiment(), BatchNormExperiment(), OverfitExperiment(),
            HyperparamsExperiment(), ConvNetExperiment(), DeepConvNetExperiment(),
            GradCheckExperiment(), GraphsExperiment()]


EXPERIMENTS: Dict[str, Experiment] = {e.name: e for e in _all()}


def names() -> List[str]:
    """The experiment names, in the order ``all`` runs them."""
    return list(EXPERIMENTS)


def get(name: str) -> Experiment:
    """The experiment called ``name``; KeyError naming the known ones otherwise."""
    try:
        return EXPERIMENTS[name]
    except KeyError:
        raise KeyError(f"unknown experiment {name!r}; known: {', '.join(EXPERIMENTS)} "
                       f"(or 'all')") from None

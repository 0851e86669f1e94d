"""``batchnorm``: training accuracy with and without batch normalisation for 16 weight scales
(ch. 6.3.2, fig. 6-19): a 5 x 100 ReLU MLP on 1000 training images, SGD lr 0.01."""
from __future__ import annotations

import math
from typing import List, Sequence

import numpy as np

from benchmarks import results as R
from benchmarks.from_scratch import common, figures
from benchmarks.from_scratch.experiment import Experiment, Result, Settings, Spec

MODES = ("batchnorm", "plain")


class BatchNormExperiment(Experiment):
    name = "batchnorm"
    title = "Batch normalisation against weight scale: training accuracy with and without it"
    book = "ch. 6.3.2, fig. 6-18, 6-19"
    default_seeds = 3
    quick_seeds = 2

    def settings(self, quick: bool) -> Settings:
        n = 4 if quick else 16
        return {"n_train": 200 if quick else 1000, "n_test": 100 if quick else 1000,
                "dtype": "float32", "hidden_layers": 5, "hidden": 100, "activation": "relu",
                "optimizer": "sgd", "lr": 0.01, "batch_size": 100, "epochs": 3 if quick else 20,
                "weight_stds": [float(w) for w in np.logspace(0, -4, n)]}

    def tasks(self, settings: Settings, seeds: Sequence[int]) -> List[Spec]:
        return [{"task": f"w{i:02d}-{mode}-seed{s}", "seed": s, "scale": i, "weight_std": w,
                 "mode": mode}
                for i, w in enumerate(settings["weight_stds"]) for mode in MODES for s in seeds]

    def run(self, spec: Spec) -> Result:
        import models
        s, seed = spec["settings"], int(spec["seed"])
        train, test = common.mnist(spec, s["n_train"], s["n_test"])
        sizes = [784] + [s["hidden"]] * s["hidden_layers"] + [10]
        model = models.MLP(sizes, activation=s["activation"], init=spec["weight_std"],
                           batchnorm=spec["mode"] == "batchnorm", seed=seed, dtype=s["dtype"])
        trainer = common.trainer(model, common.optimizer(s["optimizer"], lr=s["lr"]))
        # without batch norm the largest scales overflow to inf/NaN (the book's point): the
        # run goes on at chance accuracy, without a warning per step
        with np.errstate(over="ignore", invalid="ignore"):
            return common.train_epochs(trainer, train, s["batch_size"], s["epochs"], seed,
                                       {"train": train, "test": test})

    def describe(self, spec: Spec, result: Result) -> str:
        return (f"std {spec['weight_std']:.2e} {spec['mode']} seed {spec['seed']}: train "
                f"accuracy {float(result['train_accuracy'][-1]):.3f}")

    def finish(self, out, settings, tasks, results, plt):
        stds = settings["weight_stds"]
        rows, curves, key = [], {}, []
        for i, w in enumerate(stds):
            finals = {}
            for mode in MODES:
                members = [t for t in tasks if t["scale"] == i and t["mode"] == mode]
                tr = common.mean_std([results[t["task"]]["train_accuracy"] for t in members])
                te = common.mean_std([results[t["task"]]["test_accuracy"] for t in members])
                curves[(i, mode)] = tr
                rows += [{"weight_std": w, "mode": mode, "epoch": e,
                          "train_accuracy_mean": tr[0][e], "train_accuracy_std": tr[1][e],
                          "test_accuracy_mean": te[0][e], "test_accuracy_std": te[1][e]}
                         for e in range(len(tr[0]))]
                finals[mode] = (float(tr[0][-1]), float(tr[1][-1]), float(te[0][-1]))
            key.append({"weight_std": w,
                        **{f"{m}_train_accuracy_mean": finals[m][0] for m in MODES},
                        **{f"{m}_train_accuracy_std": finals[m][1] for m in MODES},
                        **{f"{m}_test_accuracy_mean": finals[m][2] for m in MODES}})
        R.write_csv(out / "accuracy.csv", ("weight_std", "mode", "epoch", "train_accuracy_mean",
                                           "train_accuracy_std", "test_accuracy_mean",
                                           "test_accuracy_std"), rows)
        n_seeds = len({t["seed"] for t in tasks})
        if plt is not None:
            self._draw(plt, out, settings, curves, n_seeds)
        wins = sum(k["batchnorm_train_accuracy_mean"] > k["plain_train_accuracy_mean"]
                   for k in key)
        return {"scales_where_batchnorm_trains_better": f"{wins} of {len(key)}",
                "after_last_epoch": key}

    def _draw(self, plt, out, settings, curves, n_seeds) -> None:
        stds = settings["weight_stds"]
        side = math.ceil(math.sqrt(len(stds)))
        fig, axes = plt.subplots(side, side, figsize=(2.6 * side + 0.6, 2.2 * side + 1.2),
                                 sharex=True, sharey=True, squeeze=False)
        epochs = np.arange(settings["epochs"] + 1)
        for i, w in enumerate(stds):
            ax = axes.flat[i]
            for mode, style in (("batchnorm", "-"), ("plain", "--")):
                mean, std = curves[(i, mode)]
                figures.band(ax, epochs, mean, std,
                             "with batch norm" if mode == "batchnorm" else "without",
                             ls=style, color="C0" if mode == "batchnorm" else "C1")
            ax.set_title(f"W std = {w:.2g}", fontsize=9)
            ax.set_ylim(0, 1)
            ax.grid(alpha=0.3)
        for ax in axes.flat[len(stds):]:
            ax.axis("off")
        for ax in axes[-1]:
            ax.set_xlabel("epoch")
        for ax in axes[:, 0]:
            ax.set_ylabel("train accuracy")
        axes.flat[0].legend(fontsize=8, loc="lower right")
        fig.suptitle(
            f"{self.title}\n{figures.mlp_name(settings)}, weights N(0, std²),\nSGD lr "
            f"{settings['lr']:g}, batch {settings['batch_size']}, {settings['n_train']} "
            f"training images; {figures.seeds_note(n_seeds)}", fontsize=10)
        fig.tight_layout()
        figures.save(plt, fig, out / "accuracy.png")

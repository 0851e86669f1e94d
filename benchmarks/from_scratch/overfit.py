"""``overfit``: a 6 x 100 ReLU MLP on 300 training images, plain, with weight decay and with
dropout: training and test accuracy per epoch (ch. 6.4.1-6.4.3, fig. 6-20, 6-21, 6-23)."""
from __future__ import annotations

from typing import List, Sequence

import numpy as np

from benchmarks import results as R
from benchmarks.from_scratch import common, figures
from benchmarks.from_scratch.experiment import Experiment, Result, Settings, Spec


class OverfitExperiment(Experiment):
    name = "overfit"
    title = "Overfitting on 300 images: plain, weight decay, dropout (train vs test accuracy)"
    book = "ch. 6.4, fig. 6-20, 6-21, 6-23"
    default_seeds = 5
    quick_seeds = 2

    def settings(self, quick: bool) -> Settings:
        return {"n_train": 100 if quick else 300, "n_test": 100 if quick else 0,
                "dtype": "float32", "hidden_layers": 6, "hidden": 100, "activation": "relu",
                "init": "he", "optimizer": "sgd", "lr": 0.01, "batch_size": 100,
                "epochs": 5 if quick else 201,
                "cases": [["plain", {}], ["weight_decay", {"weight_decay": 0.1}],
                          ["dropout", {"dropout": 0.2}]]}

    def tasks(self, settings: Settings, seeds: Sequence[int]) -> List[Spec]:
        return [{"task": f"{case}-seed{s}", "seed": s, "case": case, "regulariser": reg}
                for case, reg in settings["cases"] for s in seeds]

    def run(self, spec: Spec) -> Result:
        import models
        s, seed = spec["settings"], int(spec["seed"])
        train, test = common.mnist(spec, s["n_train"], s["n_test"])
        sizes = [784] + [s["hidden"]] * s["hidden_layers"] + [10]
        model = models.MLP(sizes, activation=s["activation"], init=s["init"], seed=seed,
                           dtype=s["dtype"], **spec["regulariser"])
        trainer = common.trainer(model, common.optimizer(s["optimizer"], lr=s["lr"]))
        return common.train_epochs(trainer, train, s["batch_size"], s["epochs"], seed,
                                   {"train": train, "test": test})

    def describe(self, spec: Spec, result: Result) -> str:
        return (f"{spec['case']} seed {spec['seed']}: train accuracy "
                f"{float(result['train_accuracy'][-1]):.3f}, test "
                f"{float(result['test_accuracy'][-1]):.3f}")

    def finish(self, out, settings, tasks, results, plt):
        rows, curves, key = [], {}, {}
        for case, reg in settings["cases"]:
            members = [t for t in tasks if t["case"] == case]
            tr = common.mean_std([results[t["task"]]["train_accuracy"] for t in members])
            te = common.mean_std([results[t["task"]]["test_accuracy"] for t in members])
            curves[case] = (tr, te)
            rows += [{"case": case, "epoch": e, "train_accuracy_mean": tr[0][e],
                      "train_accuracy_std": tr[1][e], "test_accuracy_mean": te[0][e],
                      "test_accuracy_std": te[1][e]} for e in range(len(tr[0]))]
            key[case] = {"regulariser": reg, "train_accuracy_mean": float(tr[0][-1]),
                         "train_accuracy_std": float(tr[1][-1]),
                         "test_accuracy_mean": float(te[0][-1]),
                         "test_accuracy_std": float(te[1][-1]),
                         "gap_mean": float(tr[0][-1] - te[0][-1])}
        R.write_csv(out / "accuracy.csv", ("case", "epoch", "train_accuracy_mean",
                                           "train_accuracy_std", "test_accuracy_mean",
                                           "test_accuracy_std"), rows)
        if plt is not None:
            self._draw(plt, out, settings, curves, len({t["seed"] for t in tasks}))
        return {"after_last_epoch": key}

    def _draw(self, plt, out, settings, curves, n_seeds) -> None:
        cases = settings["cases"]
        fig, axes = plt.subplots(1, len(cases), figsize=(4.2 * len(cases), 4.4), sharey=True)
        epochs = np.arange(settings["epochs"] + 1)
        for ax, (case, reg) in zip(np.atleast_1d(axes), cases):
            tr, te = curves[case]
            figures.band(ax, epochs, *tr, "train")
            figures.band(ax, epochs, *te, "test")
            what = ", ".join(f"{k.replace('_', ' ')} {v:g}" for k, v in reg.items()) or \
                "no regularisation"
            ax.set_title(f"{case}: {what}\nfinal train {tr[0][-1]:.3f}, test {te[0][-1]:.3f}",
                         fontsize=9)
            ax.set_xlabel("epoch")
            ax.set_ylim(0, 1.02)
            ax.grid(alpha=0.3)
            ax.legend(loc="lower right", fontsize=8)
        np.atleast_1d(axes)[0].set_ylabel("accuracy")
        fig.suptitle(f"{self.title}\n{figures.mlp_name(settings)}, He init, SGD lr "
                     f"{settings['lr']:g}, batch {settings['batch_size']}, "
                     f"{settings['n_train']} training images, test on "
                     f"{settings['n_test'] or 10000}; {figures.seeds_note(n_seeds)}", fontsize=10)
        fig.tight_layout()
        figures.save(plt, fig, out / "accuracy.png")

"""``convnet``: the book's SimpleConvNet (ch. 7.5) trained 20 epochs on all of MNIST, its
accuracy curves, and its 30 first-layer 5x5 filters before and after training (fig. 7-24)."""
from __future__ import annotations

from typing import List, Sequence

import numpy as np

from benchmarks import results as R
from benchmarks.from_scratch import common, figures
from benchmarks.from_scratch.checkpoint import training_state
from benchmarks.from_scratch.deep_convnet import ACCURACY_FIELDS, accuracy_rows, plot_accuracy
from benchmarks.from_scratch.experiment import Experiment, Result, Settings, Spec


class ConvNetExperiment(Experiment):
    name = "convnet"
    title = "SimpleConvNet on MNIST: accuracy curves, first-layer filters before/after training"
    book = "ch. 7.5-7.6, fig. 7-23, 7-24"
    default_seeds = 3
    quick_seeds = 1

    def settings(self, quick: bool) -> Settings:
        return {"n_train": 300 if quick else 0, "n_test": 100 if quick else 0,
                "dtype": "float32", "optimizer": "adam", "lr": 0.001, "batch_size": 100,
                "epochs": 2 if quick else 20, "filters": 30, "filter_size": 5, "hidden": 100,
                "train_eval_images": 300 if quick else 10000}

    def tasks(self, settings: Settings, seeds: Sequence[int]) -> List[Spec]:
        return [{"task": f"seed{s}", "seed": s} for s in seeds]

    def run(self, spec: Spec) -> Result:
        import models
        s, seed = spec["settings"], int(spec["seed"])
        train, test = common.mnist(spec, s["n_train"], s["n_test"], images=True)
        model = models.SimpleConvNet(n_filters=s["filters"], filter_size=s["filter_size"],
                                     hidden=s["hidden"], seed=seed, dtype=s["dtype"])
        before = model.conv.W.get_value()
        opt = common.optimizer(s["optimizer"], lr=s["lr"])
        trainer = common.trainer(model, opt)
        n_eval = s["train_eval_images"]
        curves = common.train_epochs(trainer, train, s["batch_size"], s["epochs"], seed,
                                     {"train": (train[0][:n_eval], train[1][:n_eval]),
                                      "test": test}, log=f"convnet seed {seed}",
                                     checkpoint=spec.get("checkpoint"),
                                     state=training_state(model, opt))
        return dict(curves, filters_before=before[:, 0],
                    filters_after=model.conv.W.get_value()[:, 0])

    def describe(self, spec: Spec, result: Result) -> str:
        return f"seed {spec['seed']}: test accuracy {float(result['test_accuracy'][-1]):.4f}"

    def finish(self, out, settings, tasks, results, plt):
        R.write_csv(out / "accuracy.csv", ACCURACY_FIELDS, accuracy_rows(tasks, results))
        first = results[tasks[0]["task"]]
        R.write_csv(out / "filters.csv", ("seed", "when", "filter", "row", "column", "weight"),
                    [{"seed": t["seed"], "when": when, "filter": k, "row": i, "column": j,
                      "weight": float(w)}
                     for t in tasks for when in ("before", "after")
                     for k, f in enumerate(results[t["task"]][f"filters_{when}"])
                     for (i, j), w in np.ndenumerate(f)])
        final = [float(results[t["task"]]["test_accuracy"][-1]) for t in tasks]
        mean, std = common.mean_std(final)
        key = {"final_test_accuracy_mean": float(mean), "final_test_accuracy_std": float(std),
               "final_test_accuracy_per_seed": final,
               "best_test_accuracy_per_seed": [float(results[t["task"]]["test_accuracy"].max())
                                               for t in tasks],
               "training_seconds_per_seed": [float(results[t["task"]]["seconds"].sum())
                                             for t in tasks],
               "book_test_accuracy": 0.989}
        if plt is not None:
            line = (f"Adam lr {settings['lr']:g}, batch {settings['batch_size']}, "
                    f"{settings['n_train'] or 60000} training images, {settings['dtype']}")
            plot_accuracy(plt, out / "accuracy.png", tasks, results,
                          f"SimpleConvNet on MNIST: accuracy per epoch (book: ~98.9 % test)\n"
                          f"{line}")
            before, after = first["filters_before"], first["filters_after"]
            n = len(before)
            fig = figures.image_grid(
                plt, np.concatenate([before, after]),
                [f"#{k}" for k in range(n)] * 2, columns=10,
                row_labels=["before"] * -(-n // 10) + ["after"] * -(-n // 10),
                suptitle=(f"SimpleConvNet, seed {tasks[0]['seed']}: the {n} first-layer "
                          f"{settings['filter_size']}x{settings['filter_size']} filters "
                          f"before training and after {settings['epochs']} epochs\n(each "
                          f"scaled to its own range, dark = large weight)"))
            figures.save(plt, fig, out / "filters.png")
        return key

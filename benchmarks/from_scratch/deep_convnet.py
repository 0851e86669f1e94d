"""``deep_convnet``: the book's DeepConvNet (ch. 8.1) trained to 99.4 % test accuracy, its
misclassified test images, and its test accuracy evaluated in float16 beside float32
(ch. 8.3.4, half_float_network.py)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

from benchmarks import results as R
from benchmarks.from_scratch import common, figures
from benchmarks.from_scratch.checkpoint import training_state
from benchmarks.from_scratch.experiment import Experiment, Result, Settings, Spec, scalar

#: at most this many misclassified images in the figure (all are in the CSV)
MAX_SHOWN = 100


def compile_predict(model):
    """The compiled test-mode ``x -> predicted labels`` of ``model``."""
    import symgraph
    x = model.input_variable("x")
    return symgraph.function([x], model.predict(x), name="predict")


def accuracy_rows(tasks: Sequence[Spec], results: Dict[str, Result]) -> List[Dict]:
    """One CSV row per seed and epoch of the curves of ``common.train_epochs``."""
    rows = []
    for spec in tasks:
        r = results[spec["task"]]
        for e in range(len(r["test_accuracy"])):
            rows.append({"seed": spec["seed"], "epoch": e,
                         "epoch_cost": float(r["epoch_cost"][e]),
                         "train_loss": float(r["train_loss"][e]),
                         "train_accuracy": float(r["train_accuracy"][e]),
                         "test_loss": float(r["test_loss"][e]),
                         "test_accuracy": float(r["test_accuracy"][e]),
                         "seconds": float(r["seconds"][e])})
    return rows


ACCURACY_FIELDS = ("seed", "epoch", "epoch_cost", "train_loss", "train_accuracy", "test_loss",
                   "test_accuracy", "seconds")


def plot_accuracy(plt, path: Path, tasks, results, title: str, target=None) -> None:
    """Train (subset) and test accuracy per epoch from epoch 1, one line pair per seed (the
    accuracy before training, near chance, is given in the legend instead: it would squash the
    rest of the scale)."""
    from matplotlib.ticker import MaxNLocator
    fig, ax = plt.subplots(figsize=(7, 4.5))
    low = 1.0
    for spec in tasks:
        r = results[spec["task"]]
        epochs = np.arange(len(r["test_accuracy"]))[1:]
        test, train = r["test_accuracy"][1:], r["train_accuracy"][1:]
        drawn, = ax.plot(epochs, test, marker="o", ms=3,
                         label=f"test, seed {spec['seed']} (before training "
                               f"{r['test_accuracy'][0]:.1%})")
        ax.plot(epochs, train, ls="--", color=drawn.get_color(),
                label=f"train (subset), seed {spec['seed']}")
        low = min([low] + list(test) + list(train))
    if target is not None:
        ax.axhline(target, color="grey", lw=0.8, ls=":", label=f"target {target:.1%}")
    ax.set_ylim(max(0.0, low - 0.005), 1.0)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    figures.save(plt, fig, path)


class DeepConvNetExperiment(Experiment):
    name = "deep_convnet"
    title = ("DeepConvNet to 99.4 % test accuracy; misclassified images; float16 against "
             "float32 evaluation")
    book = "ch. 8.1-8.3, fig. 8-1, 8-2; 8.3.4"
    default_seeds = 1
    quick_seeds = 1

    def settings(self, quick: bool) -> Settings:
        return {"n_train": 200 if quick else 0, "n_test": 40 if quick else 0,
                "dtype": "float32", "optimizer": "adam", "lr": 0.001, "batch_size": 100,
                "max_epochs": 2 if quick else 20, "target_accuracy": 0.994,
                "stop_at_target": True, "dropout": 0.5,
                "train_eval_images": 100 if quick else 10000}

    def tasks(self, settings: Settings, seeds: Sequence[int]) -> List[Spec]:
        return [{"task": f"seed{s}", "seed": s} for s in seeds]

    def run(self, spec: Spec) -> Result:
        import models
        s, seed = spec["settings"], int(spec["seed"])
        train, test = common.mnist(spec, s["n_train"], s["n_test"], images=True)
        model = models.DeepConvNet(dropout=s["dropout"], seed=seed, dtype=s["dtype"])
        opt = common.optimizer(s["optimizer"], lr=s["lr"])
        trainer = common.trainer(model, opt)
        n_eval = s["train_eval_images"]

        def reached(curves, epoch):
            return s["stop_at_target"] and curves["test_accuracy"][-1] >= s["target_accuracy"]

        curves = common.train_epochs(trainer, train, s["batch_size"], s["max_epochs"], seed,
                                     {"train": (train[0][:n_eval], train[1][:n_eval]),
                                      "test": test}, stop=reached,
                                     log=f"deep_convnet seed {seed}",
                                     checkpoint=spec.get("checkpoint"),
                                     state=training_state(model, opt))
        acc32, pred32 = common.accuracy_of(compile_predict(model), *test)
        wrong = np.flatnonzero(pred32 != test[1])
        half = models.DeepConvNet(dropout=s["dropout"], seed=seed, dtype="float16")
        half.set_values(model.get_values(), cast=True)
        t0 = time.perf_counter()
        acc16, pred16 = common.accuracy_of(compile_predict(half), test[0].astype(np.float16),
                                           test[1])
        return dict(curves, float32_accuracy=acc32, float16_accuracy=acc16,
                    float16_seconds=time.perf_counter() - t0,
                    disagreements=int(np.sum(pred16 != pred32)), wrong_index=wrong,
                    wrong_predicted=pred32[wrong], wrong_true=test[1][wrong],
                    wrong_images=test[0][wrong, 0])

    def describe(self, spec: Spec, result: Result) -> str:
        return (f"seed {spec['seed']}: test accuracy {scalar(result, 'float32_accuracy'):.4f} "
                f"after {len(result['test_accuracy']) - 1} epoch(s), float16 "
                f"{scalar(result, 'float16_accuracy'):.4f}")

    def finish(self, out, settings, tasks, results, plt):
        R.write_csv(out / "accuracy.csv", ACCURACY_FIELDS, accuracy_rows(tasks, results))
        R.write_csv(out / "misclassified.csv", ("seed", "test_index", "true", "predicted"),
                    [{"seed": t["seed"], "test_index": int(i), "true": int(a), "predicted": int(b)}
                     for t in tasks for i, a, b in zip(results[t["task"]]["wrong_index"],
                                                       results[t["task"]]["wrong_true"],
                                                       results[t["task"]]["wrong_predicted"])])
        per_seed = []
        for spec in tasks:
            r = results[spec["task"]]
            acc = r["test_accuracy"]
            hit = np.flatnonzero(acc >= settings["target_accuracy"])
            first = int(hit[0]) if len(hit) else None
            per_seed.append({
                "seed": spec["seed"], "epochs_trained": len(acc) - 1,
                "final_test_accuracy": float(acc[-1]), "best_test_accuracy": float(acc.max()),
                "best_epoch": int(acc.argmax()), "epoch_reaching_target": first,
                "training_seconds_to_target": (float(r["seconds"][:first + 1].sum())
                                               if first is not None else None),
                "training_seconds": float(r["seconds"].sum()),
                "float32_accuracy": scalar(r, "float32_accuracy"),
                "float16_accuracy": scalar(r, "float16_accuracy"),
                "float16_prediction_changes": int(scalar(r, "disagreements")),
                "float16_eval_seconds": scalar(r, "float16_seconds"),
                "misclassified": len(r["wrong_index"])})
        R.write_csv(out / "precision.csv", ("seed", "float32_accuracy", "float16_accuracy",
                                            "float16_prediction_changes", "float16_eval_seconds"),
                    [{k: p[k] for k in ("seed", "float32_accuracy", "float16_accuracy",
                                        "float16_prediction_changes", "float16_eval_seconds")}
                     for p in per_seed])
        if plt is not None:
            self._draw(plt, out, settings, tasks, results, per_seed)
        return {"target_accuracy": settings["target_accuracy"], "seeds": per_seed}

    def _draw(self, plt, out, settings, tasks, results, per_seed) -> None:
        line = (f"Adam lr {settings['lr']:g}, batch {settings['batch_size']}, dropout "
                f"{settings['dropout']:g}, {settings['n_train'] or 60000} training images, "
                f"{settings['dtype']}")
        plot_accuracy(plt, out / "accuracy.png", tasks, results,
                      f"DeepConvNet on MNIST: accuracy per epoch (stops at the target)\n{line}",
                      target=settings["target_accuracy"])
        spec, p = tasks[0], per_seed[0]
        r = results[spec["task"]]
        shown = min(len(r["wrong_index"]), MAX_SHOWN)
        title = (f"DeepConvNet, seed {spec['seed']}: the {len(r['wrong_index'])} misclassified "
                 f"test images of {len(r['test_accuracy']) - 1} epoch(s) (test accuracy "
                 f"{p['float32_accuracy']:.2%})"
                 + (f", first {shown} shown" if shown < len(r["wrong_index"]) else "")
                 + "\neach titled: predicted label (true label)")
        titles = [f"{int(a)} (true {int(b)})" for a, b in zip(r["wrong_predicted"][:shown],
                                                         r["wrong_true"][:shown])]
        fig = figures.image_grid(plt, r["wrong_images"][:shown], titles, columns=10,
                                 suptitle=title)
        figures.save(plt, fig, out / "misclassified.png")
        fig, ax = plt.subplots(figsize=(5.5, 4))
        seeds = [q["seed"] for q in per_seed]
        xs = np.arange(len(seeds))
        a32 = [q["float32_accuracy"] for q in per_seed]
        a16 = [q["float16_accuracy"] for q in per_seed]
        ax.bar(xs - 0.2, a32, 0.4, label="float32")
        ax.bar(xs + 0.2, a16, 0.4, label="float16 (parameters and graph)")
        for x, u, v in zip(xs, a32, a16):
            ax.text(x - 0.2, u, f"{u:.2%}", ha="center", va="bottom", fontsize=8)
            ax.text(x + 0.2, v, f"{v:.2%}", ha="center", va="bottom", fontsize=8)
        ax.set_xticks(xs, [f"seed {s}" for s in seeds])
        low = min(a32 + a16)
        ax.set_ylim(max(0.0, low - 0.02), min(1.0, max(a32 + a16) + 0.01))
        ax.set_ylabel("test accuracy")
        changes = ", ".join(f"seed {q['seed']}: {q['float16_prediction_changes']}"
                            for q in per_seed)
        ax.set_title(f"DeepConvNet: the trained network evaluated in float16 and float32\n"
                     f"test predictions changed by float16: {changes}", fontsize=9)
        ax.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
        figures.save(plt, fig, out / "float16.png")

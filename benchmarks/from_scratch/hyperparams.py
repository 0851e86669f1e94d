"""``hyperparams``: random search over the learning rate and the weight decay (ch. 6.5.3,
fig. 6-24): 100 trials of a 6 x 100 ReLU MLP trained on 400 images and validated on 100."""
from __future__ import annotations

from typing import List, Sequence

import numpy as np

from benchmarks import results as R
from benchmarks.from_scratch import common, figures
from benchmarks.from_scratch.experiment import Experiment, Result, Settings, Spec

#: the best trials drawn with their curves
SHOWN = 20


class HyperparamsExperiment(Experiment):
    name = "hyperparams"
    title = "Random search: learning rate 10^U(-6,-2), weight decay 10^U(-8,-4), 100 trials"
    book = "ch. 6.5.3, fig. 6-24"
    default_seeds = 3
    quick_seeds = 2

    def settings(self, quick: bool) -> Settings:
        return {"n_train": 500, "n_test": 1, "validation_fraction": 0.2, "dtype": "float32",
                "hidden_layers": 6, "hidden": 100, "activation": "relu", "init": "he",
                "optimizer": "sgd", "batch_size": 100, "epochs": 5 if quick else 50,
                "trials": 6 if quick else 100, "search_seed": 0,
                "log10_lr": [-6, -2], "log10_weight_decay": [-8, -4]}

    def trials(self, settings: Settings) -> List[dict]:
        """The sampled (lr, weight decay) of every trial, drawn from ``search_seed``: the
        same points for every seed, so that each trial's curve is a mean over seeds."""
        rng = np.random.default_rng(settings["search_seed"])
        n = settings["trials"]
        lr = 10 ** rng.uniform(*settings["log10_lr"], size=n)
        wd = 10 ** rng.uniform(*settings["log10_weight_decay"], size=n)
        return [{"trial": k, "lr": float(a), "weight_decay": float(b)}
                for k, (a, b) in enumerate(zip(lr, wd))]

    def tasks(self, settings: Settings, seeds: Sequence[int]) -> List[Spec]:
        return [dict(t, task=f"trial{t['trial']:03d}-seed{s}", seed=s)
                for t in self.trials(settings) for s in seeds]

    def run(self, spec: Spec) -> Result:
        import models
        s, seed = spec["settings"], int(spec["seed"])
        (x, y), _ = common.mnist(spec, s["n_train"], s["n_test"])
        cut = len(x) - int(round(s["validation_fraction"] * len(x)))
        train, valid = (x[:cut], y[:cut]), (x[cut:], y[cut:])
        sizes = [784] + [s["hidden"]] * s["hidden_layers"] + [10]
        model = models.MLP(sizes, activation=s["activation"], init=s["init"],
                           weight_decay=spec["weight_decay"], seed=seed, dtype=s["dtype"])
        trainer = common.trainer(model, common.optimizer(s["optimizer"], lr=spec["lr"]))
        return common.train_epochs(trainer, train, s["batch_size"], s["epochs"], seed,
                                   {"train": train, "val": valid})

    def describe(self, spec: Spec, result: Result) -> str:
        return (f"trial {spec['trial']} seed {spec['seed']} (lr {spec['lr']:.2e}, weight decay "
                f"{spec['weight_decay']:.2e}): validation accuracy "
                f"{float(result['val_accuracy'][-1]):.3f}")

    def finish(self, out, settings, tasks, results, plt):
        table, rows = [], []
        for t in self.trials(settings):
            members = [m for m in tasks if m["trial"] == t["trial"]]
            val = common.mean_std([results[m["task"]]["val_accuracy"] for m in members])
            tr = common.mean_std([results[m["task"]]["train_accuracy"] for m in members])
            table.append(dict(t, val_accuracy_mean=float(val[0][-1]),
                              val_accuracy_std=float(val[1][-1]),
                              train_accuracy_mean=float(tr[0][-1]), curves=(val, tr)))
            rows += [{"trial": t["trial"], "epoch": e, "val_accuracy_mean": val[0][e],
                      "val_accuracy_std": val[1][e], "train_accuracy_mean": tr[0][e],
                      "train_accuracy_std": tr[1][e]} for e in range(len(val[0]))]
        ranked = sorted(table, key=lambda r: (-r["val_accuracy_mean"], r["trial"]))
        for rank, r in enumerate(ranked, 1):
            r["rank"] = rank
        fields = ("trial", "rank", "lr", "weight_decay", "val_accuracy_mean", "val_accuracy_std",
                  "train_accuracy_mean")
        R.write_csv(out / "trials.csv", fields, [{k: r[k] for k in fields} for r in table])
        R.write_csv(out / "curves.csv", ("trial", "epoch", "val_accuracy_mean",
                                         "val_accuracy_std", "train_accuracy_mean",
                                         "train_accuracy_std"), rows)
        best = ranked[:SHOWN]
        n_seeds = len({t["seed"] for t in tasks})
        if plt is not None:
            self._draw_best(plt, out, settings, best, n_seeds)
            self._draw_scatter(plt, out, settings, table, n_seeds)
        return {"best": [{k: r[k] for k in fields} for r in ranked[:5]],
                f"best_{len(best)}_lr_range": [min(r["lr"] for r in best),
                                               max(r["lr"] for r in best)],
                f"best_{len(best)}_weight_decay_range": [min(r["weight_decay"] for r in best),
                                                         max(r["weight_decay"] for r in best)],
                "book": "best trials at lr 0.001-0.01, weight decay 1e-8 to 1e-6"}

    def _line(self, settings, n_seeds) -> str:
        n_val = int(round(settings["validation_fraction"] * settings["n_train"]))
        return (f"{figures.mlp_name(settings)}, SGD, batch {settings['batch_size']}, "
                f"{settings['epochs']} epochs,\n{settings['n_train'] - n_val} training / "
                f"{n_val} validation images; {figures.seeds_note(n_seeds)}")

    def _draw_best(self, plt, out, settings, best, n_seeds) -> None:
        cols = 5
        rows = max(1, -(-len(best) // cols))
        fig, axes = plt.subplots(rows, cols, figsize=(3.0 * cols, 2.3 * rows + 1.0),
                                 sharex=True, sharey=True, squeeze=False)
        epochs = np.arange(settings["epochs"] + 1)
        for ax, r in zip(axes.flat, best):
            val, tr = r["curves"]
            figures.band(ax, epochs, *val, "validation")
            figures.band(ax, epochs, *tr, "train", ls="--")
            ax.set_title(f"#{r['rank']}: val {r['val_accuracy_mean']:.3f}\nlr {r['lr']:.1e}, "
                         f"wd {r['weight_decay']:.1e}", fontsize=8)
            ax.set_ylim(0, 1)
            ax.grid(alpha=0.3)
        for ax in axes.flat[len(best):]:
            ax.axis("off")
        for ax in axes[-1]:
            ax.set_xlabel("epoch")
        for ax in axes[:, 0]:
            ax.set_ylabel("accuracy")
        axes.flat[0].legend(fontsize=7, loc="lower right")
        fig.suptitle(f"Random search: the best {len(best)} of {settings['trials']} trials by final "
                     f"validation accuracy\n{self._line(settings, n_seeds)}", fontsize=10)
        fig.tight_layout()
        figures.save(plt, fig, out / "best_trials.png")

    def _draw_scatter(self, plt, out, settings, table, n_seeds) -> None:
        fig, ax = plt.subplots(figsize=(7.5, 5.6))
        points = ax.scatter([r["lr"] for r in table], [r["weight_decay"] for r in table],
                            c=[r["val_accuracy_mean"] for r in table], cmap="viridis",
                            vmin=0, vmax=1, s=40, edgecolors="k", linewidths=0.3)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("weight decay λ")
        fig.colorbar(points, ax=ax, label="final validation accuracy")
        ax.set_title(f"Random search: {settings['trials']} trials coloured by validation "
                     f"accuracy\n{self._line(settings, n_seeds)}", fontsize=9)
        ax.grid(alpha=0.3, which="both")
        fig.tight_layout()
        figures.save(plt, fig, out / "search.png")

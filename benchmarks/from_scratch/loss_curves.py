"""``init`` and ``optimizers_mnist``: MLPs on MNIST trained a fixed number of minibatch steps,
compared by their smoothed training-loss curves (ch. 6.1.8, fig. 6-9; ch. 6.2.4, fig. 6-15)."""
from __future__ import annotations

from typing import Dict, List, Sequence

import numpy as np

from benchmarks import results as R
from benchmarks.from_scratch import common, figures
from benchmarks.from_scratch.experiment import Experiment, Result, Settings, Spec

#: the mean of the last this many step costs is a run's final loss
TAIL = 100


class LossCurves(Experiment):
    """Cases (an initialiser or an optimizer) × seeds, each one run of ``iterations`` steps."""

    default_seeds = 5
    quick_seeds = 2
    #: what a case varies, for the CSV column and the legend
    case_label = "case"
    ylim = (0.0, 2.5)

    def base_settings(self, quick: bool) -> Settings:
        return {"n_train": 500 if quick else 0, "n_test": 100 if quick else 0,
                "dtype": "float32", "batch_size": 128, "iterations": 40 if quick else 2000,
                "hidden_layers": 5, "hidden": 100, "activation": "relu"}

    def cases(self, settings: Settings) -> List[Dict]:
        """One dict per case: ``case`` (its name), ``init``, ``optimizer``, ``hyper``."""
        raise NotImplementedError

    def tasks(self, settings: Settings, seeds: Sequence[int]) -> List[Spec]:
        return [{"task": f"{c['case']}-seed{s}", "seed": s, **c}
                for c in self.cases(settings) for s in seeds]

    def run(self, spec: Spec) -> Result:
        import models
        s, seed = spec["settings"], int(spec["seed"])
        train, test = common.mnist(spec, s["n_train"], s["n_test"])
        sizes = [784] + [s["hidden"]] * s["hidden_layers"] + [10]
        model = models.MLP(sizes, activation=s["activation"], init=spec["init"], seed=seed,
                           dtype=s["dtype"])
        trainer = common.trainer(model, common.optimizer(spec["optimizer"], **spec["hyper"]))
        losses = common.train_iterations(trainer, train, s["batch_size"], s["iterations"],
                                         seed)
        metrics = common.evaluate_pair(trainer, *test)
        return {"loss": losses, "test_accuracy": metrics["accuracy"],
                "test_loss": metrics["loss"]}

    def describe(self, spec: Spec, result: Result) -> str:
        return (f"{spec['case']} seed {spec['seed']}: final loss "
                f"{float(np.mean(result['loss'][-TAIL:])):.4f}, test accuracy "
                f"{float(result['test_accuracy']):.4f}")

    def finish(self, out, settings, tasks, results, plt):
        cases = [c["case"] for c in self.cases(settings)]
        by_case = {c: [t for t in tasks if t["case"] == c] for c in cases}
        rows, finals, key = [], [], {}
        curves = {}
        for case, members in by_case.items():
            raw = np.array([results[t["task"]]["loss"] for t in members])
            smooth = np.array([common.smooth_curve(r) for r in raw])
            curves[case] = (common.mean_std(smooth), len(members))
            (rm, rs), (sm, ss) = common.mean_std(raw), common.mean_std(smooth)
            rows += [{self.case_label: case, "iteration": i + 1, "loss_mean": rm[i],
                      "loss_std": rs[i], "smoothed_mean": sm[i], "smoothed_std": ss[i]}
                     for i in range(raw.shape[1])]
            tail = [float(np.mean(r[-TAIL:])) for r in raw]
            acc = [float(results[t["task"]]["test_accuracy"]) for t in members]
            finals += [{self.case_label: case, "seed": t["seed"], "final_loss": f,
                        "test_accuracy": a} for t, f, a in zip(members, tail, acc)]
            (fm, fs), (am, as_) = common.mean_std(tail), common.mean_std(acc)
            key[case] = {"final_loss_mean": float(fm), "final_loss_std": float(fs),
                         "test_accuracy_mean": float(am), "test_accuracy_std": float(as_),
                         "seeds": len(members)}
        R.write_csv(out / "loss.csv", (self.case_label, "iteration", "loss_mean", "loss_std",
                                       "smoothed_mean", "smoothed_std"), rows)
        R.write_csv(out / "final.csv", (self.case_label, "seed", "final_loss", "test_accuracy"),
                    finals)
        if plt is not None:
            self.draw(plt, out, settings, curves)
        return {"final_loss": f"mean step cost of the last {TAIL} iterations", "cases": key}

    def title_line(self, settings: Settings) -> str:
        raise NotImplementedError

    def draw(self, plt, out, settings, curves) -> None:
        fig, ax = plt.subplots(figsize=(8, 5.2))
        n_seeds = 1
        for case, ((mean, std), n) in curves.items():
            figures.band(ax, np.arange(1, len(mean) + 1), mean, std, self.legend(case))
            n_seeds = max(n_seeds, n)
        ax.set_xlabel("iteration (minibatch step)")
        ax.set_ylabel("training loss (cross-entropy), smoothed")
        ax.set_ylim(*self.ylim)
        ax.set_title(f"{self.title}\n{self.title_line(settings)}\n"
                     f"{figures.seeds_note(n_seeds)}", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(title=self.case_label)
        fig.tight_layout()
        figures.save(plt, fig, out / "loss.png")

    def legend(self, case: str) -> str:
        return case


def _network(settings: Settings) -> str:
    return (f"{figures.mlp_name(settings)}, batch {settings['batch_size']}, "
            f"{settings['n_train'] or 60000} training images, {settings['dtype']}")


class InitExperiment(LossCurves):
    name = "init"
    title = "Weight initialisation on MNIST: std 0.01, Xavier, He (ReLU MLP, SGD)"
    book = "ch. 6.2.4, fig. 6-15"
    case_label = "init"

    def settings(self, quick: bool) -> Settings:
        return dict(self.base_settings(quick), optimizer="sgd", lr=0.01,
                    inits=["std0.01", "xavier", "he"])

    def cases(self, settings):
        init = {"std0.01": 0.01, "xavier": "xavier", "he": "he"}
        return [{"case": c, "init": init[c], "optimizer": settings["optimizer"],
                 "hyper": {"lr": settings["lr"]}} for c in settings["inits"]]

    def legend(self, case):
        return {"std0.01": "N(0, 0.01²)", "xavier": "Xavier N(0, 1/n)",
                "he": "He N(0, 2/n)"}[case]

    def title_line(self, settings):
        return f"{_network(settings)}\nSGD lr {settings['lr']:g}"


class OptimizersMnistExperiment(LossCurves):
    name = "optimizers_mnist"
    title = "Update rules on MNIST: SGD, Momentum, AdaGrad, Adam, RMSprop (ReLU MLP)"
    book = "ch. 6.1.8, fig. 6-9"
    case_label = "optimizer"
    ylim = (0.0, 1.0)

    def settings(self, quick: bool) -> Settings:
        return dict(self.base_settings(quick), hidden_layers=4, init="he",
                    # the book's rates; its RMSprop (commented out there) would take lr 0.01,
                    # which diverges in the first steps here: 0.001, the usual default
                    optimizers=[["sgd", {"lr": 0.01}], ["momentum", {"lr": 0.01, "momentum": 0.9}],
                                ["adagrad", {"lr": 0.01}], ["adam", {"lr": 0.001}],
                                ["rmsprop", {"lr": 0.001, "alpha": 0.99}]])

    def cases(self, settings):
        return [{"case": name, "init": settings["init"], "optimizer": name, "hyper": hyper}
                for name, hyper in settings["optimizers"]]

    def legend(self, case):
        return {"sgd": "SGD", "momentum": "Momentum", "adagrad": "AdaGrad", "adam": "Adam",
                "rmsprop": "RMSprop"}.get(case, case)

    def title_line(self, settings):
        rates = ", ".join(f"{self.legend(n)} {h['lr']:g}"
                          for n, h in settings["optimizers"])
        return f"{_network(settings)}, He init\nlearning rates: {rates}"

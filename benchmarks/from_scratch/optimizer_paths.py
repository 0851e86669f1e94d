"""``optimizer_paths``: the update rules of :mod:`optimizers` minimising
f(x, y) = x²/20 + y² from (-7, 2), 30 steps each, drawn on the contour plot (ch. 6.1,
fig. 6-3, 6-5, 6-6, 6-8)."""
from __future__ import annotations

from typing import List, Sequence

import numpy as np

from benchmarks import results as R
from benchmarks.from_scratch import common
from benchmarks.from_scratch.experiment import Experiment, Result, Settings, Spec

NAMES = {"sgd": "SGD", "momentum": "Momentum", "nesterov": "Nesterov", "adagrad": "AdaGrad",
         "rmsprop": "RMSprop", "adam": "Adam"}


def f(p: np.ndarray) -> np.ndarray:
    """The book's f(x, y) = x²/20 + y² (of the last axis of ``p``)."""
    p = np.asarray(p)
    return p[..., 0] ** 2 / 20.0 + p[..., 1] ** 2


class OptimizerPathsExperiment(Experiment):
    name = "optimizer_paths"
    title = "Update rules minimising f(x, y) = x²/20 + y² from (-7, 2), paths on the contours"
    book = "ch. 6.1.2-6.1.7, fig. 6-3 to 6-8"
    seeded = False
    uses_data = False

    def settings(self, quick: bool) -> Settings:
        # the book's learning rates (optimizer_compare_naive.py) for SGD, Momentum, AdaGrad and
        # Adam; Nesterov takes Momentum's, RMSprop (not in that figure) 0.15, which brings it
        # near the minimum in 30 steps as the others
        return {"start": [-7.0, 2.0], "steps": 30, "dtype": "float64",
                "optimizers": [["sgd", {"lr": 0.95}], ["momentum", {"lr": 0.1, "momentum": 0.9}],
                               ["nesterov", {"lr": 0.1, "momentum": 0.9}],
                               ["adagrad", {"lr": 1.5}], ["rmsprop", {"lr": 0.15, "alpha": 0.99}],
                               ["adam", {"lr": 0.3, "beta1": 0.9, "beta2": 0.999}]]}

    def tasks(self, settings: Settings, seeds: Sequence[int]) -> List[Spec]:
        return [{"task": name, "optimizer": name, "hyper": hyper}
                for name, hyper in settings["optimizers"]]

    def run(self, spec: Spec) -> Result:
        import symgraph
        s = spec["settings"]
        p = symgraph.shared(np.array(s["start"], dtype=s["dtype"]), name="p")
        cost = p[0] ** 2 / 20 + p[1] ** 2
        step = symgraph.function([], cost, updates=common.optimizer(
            spec["optimizer"], **spec["hyper"]).updates(cost, [p]), name="step")
        path = [p.get_value()]
        for _ in range(s["steps"]):
            step()
            path.append(p.get_value())
        return {"path": np.array(path)}

    def describe(self, spec: Spec, result: Result) -> str:
        x, y = result["path"][-1]
        return f"{spec['optimizer']}: ends at ({x:.4f}, {y:.4f}), f = {f(result['path'][-1]):.2e}"

    def finish(self, out, settings, tasks, results, plt):
        rows, key = [], {}
        for t in tasks:
            path = results[t["task"]]["path"]
            rows += [{"optimizer": t["optimizer"], "step": k, "x": float(x), "y": float(y),
                      "f": float(f((x, y)))} for k, (x, y) in enumerate(path)]
            key[t["optimizer"]] = {"hyper": t["hyper"], "end": [float(v) for v in path[-1]],
                                   "f_end": float(f(path[-1])),
                                   "distance_to_minimum": float(np.hypot(*path[-1]))}
        R.write_csv(out / "paths.csv", ("optimizer", "step", "x", "y", "f"), rows)
        if plt is not None:
            self._draw(plt, out, settings, tasks, results)
        return {"after_steps": settings["steps"], "optimizers": key}

    def _draw(self, plt, out, settings, tasks, results) -> None:
        from benchmarks.from_scratch import figures
        cols = 3
        rows = -(-len(tasks) // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.4 * rows + 0.8),
                                 squeeze=False)
        xs, ys = np.meshgrid(np.linspace(-10, 10, 401), np.linspace(-5, 5, 201))
        zs = f(np.stack([xs, ys], axis=-1))
        for ax, t in zip(axes.flat, tasks):
            path = results[t["task"]]["path"]
            ax.contour(xs, ys, zs, levels=np.geomspace(0.05, 30, 12), colors="0.6",
                       linewidths=0.6)
            ax.plot(path[:, 0], path[:, 1], "o-", color="C3", ms=3, lw=1)
            ax.plot(*path[0], "s", color="k", ms=5)
            ax.plot(0, 0, "+", color="k", ms=10)
            hyper = ", ".join(f"{k} {v:g}" for k, v in sorted(t["hyper"].items(),
                                                               key=lambda kv: kv[0] != "lr"))
            ax.set_title(f"{NAMES.get(t['optimizer'], t['optimizer'])} ({hyper})\n"
                         f"after {settings['steps']} steps: ({path[-1, 0]:.3f}, "
                         f"{path[-1, 1]:.3f})", fontsize=9)
            ax.set_xlim(-10, 10)
            ax.set_ylim(-5, 5)
            ax.set_xlabel("x")
            ax.set_ylabel("y")
        for ax in axes.flat[len(tasks):]:
            ax.axis("off")
        fig.suptitle(f"{self.title}\n{settings['steps']} steps of this project's optimizers on "
                     f"a shared 2-vector (■ start, + minimum)", fontsize=10)
        fig.tight_layout()
        figures.save(plt, fig, out / "paths.png")

"""``gradcheck``: the two-layer network's symbolic gradient against central differences
(ch. 5.7.3, gradient_check.py): mean absolute difference per parameter."""
from __future__ import annotations

from typing import List, Sequence

import numpy as np

from benchmarks import results as R
from benchmarks.from_scratch import common
from benchmarks.from_scratch.experiment import Experiment, Result, Settings, Spec

PARAMS = ("W1", "b1", "W2", "b2")


def central_differences(cost, values: List[np.ndarray], h: float) -> List[np.ndarray]:
    """The gradient of ``cost(*values)`` by central differences, one entry at a time (the
    book's ``numerical_gradient``: (f(x + h) - f(x - h)) / 2h)."""
    grads = []
    for v in values:
        g = np.empty_like(v)
        for i in np.ndindex(v.shape):
            old = v[i]
            v[i] = old + h
            plus = float(cost(*values))
            v[i] = old - h
            minus = float(cost(*values))
            v[i] = old
            g[i] = (plus - minus) / (2 * h)
        grads.append(g)
    return grads


class GradCheckExperiment(Experiment):
    name = "gradcheck"
    title = "Gradient check: the two-layer network's symbolic gradient against central differences"
    book = "ch. 5.7.3"
    default_seeds = 3
    quick_seeds = 2

    def settings(self, quick: bool) -> Settings:
        return {"n_train": 3, "n_test": 1, "dtype": "float64", "hidden": 5 if quick else 50,
                "activation": "sigmoid", "init_std": 0.01, "h": 1e-4}

    def tasks(self, settings: Settings, seeds: Sequence[int]) -> List[Spec]:
        return [{"task": f"seed{s}", "seed": s} for s in seeds]

    def run(self, spec: Spec) -> Result:
        import models
        import symgraph
        import symgraph.tensor as T
        s, seed = spec["settings"], int(spec["seed"])
        (x, y), _ = common.mnist(spec, s["n_train"], s["n_test"])
        net = models.MLP([784, s["hidden"], 10], activation=s["activation"],
                         init=s["init_std"], seed=seed, dtype=s["dtype"])
        xv, yv = net.input_variable("x"), net.target_variable("y")
        cost = net.cost(xv, yv)
        grads = symgraph.function([xv, yv], symgraph.grad(cost, net.params),
                                  name="backprop")(x, y)
        # the parameters as inputs, so that the differences need no set_value per entry
        inputs = [T.tensor(p.dtype, p.type.shape, name=p.name) for p in net.params]
        f = symgraph.function([xv, yv] + inputs, cost, givens=list(zip(net.params, inputs)),
                              name="cost")
        values = [p.get_value() for p in net.params]
        numeric = central_differences(lambda *v: f(x, y, *v), values, s["h"])
        out = {}
        for name, g, n in zip(PARAMS, grads, numeric):
            diff = np.abs(np.asarray(g) - n)
            out[f"{name}_mean_abs_diff"] = diff.mean()
            out[f"{name}_max_abs_diff"] = diff.max()
            out[f"{name}_mean_abs_grad"] = np.abs(n).mean()
        return out

    def describe(self, spec: Spec, result: Result) -> str:
        return f"seed {spec['seed']}: " + " ".join(
            f"{p}:{float(result[f'{p}_mean_abs_diff']):.2g}" for p in PARAMS)

    def finish(self, out, settings, tasks, results, plt):
        rows, key = [], {}
        for p in PARAMS:
            vals = {k: [float(results[t["task"]][f"{p}_{k}"]) for t in tasks]
                    for k in ("mean_abs_diff", "max_abs_diff", "mean_abs_grad")}
            rows += [{"parameter": p, "seed": t["seed"],
                      **{k: vals[k][i] for k in vals}} for i, t in enumerate(tasks)]
            mean, std = common.mean_std(vals["mean_abs_diff"])
            key[p] = {"mean_abs_diff_mean": float(mean), "mean_abs_diff_std": float(std),
                      "max_abs_diff_max": max(vals["max_abs_diff"]),
                      "mean_abs_grad_mean": float(np.mean(vals["mean_abs_grad"]))}
        R.write_csv(out / "gradcheck.csv", ("parameter", "seed", "mean_abs_diff",
                                            "max_abs_diff", "mean_abs_grad"), rows)
        if plt is not None:
            self._draw(plt, out, settings, key, len(tasks))
        return {"per_parameter": key,
                "book": "differences of order 1e-13 (W1) to 1e-10 (b2) in its float64 run"}

    def _draw(self, plt, out, settings, key, n_seeds) -> None:
        from benchmarks.from_scratch import figures
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
        xs = np.arange(len(PARAMS))
        diff = [key[p]["mean_abs_diff_mean"] for p in PARAMS]
        err = [key[p]["mean_abs_diff_std"] for p in PARAMS]
        grad = [key[p]["mean_abs_grad_mean"] for p in PARAMS]
        ax.bar(xs - 0.2, diff, 0.4, yerr=err, label="mean |backprop − central difference|")
        ax.bar(xs + 0.2, grad, 0.4, label="mean |gradient| (for scale)", color="0.7")
        for x, d in zip(xs, diff):
            ax.text(x - 0.2, d, f"{d:.1e}", ha="center", va="bottom", fontsize=8)
        ax.set_yscale("log")
        ax.set_xticks(xs, PARAMS)
        ax.set_xlabel("parameter")
        ax.set_ylabel("mean absolute value")
        ax.set_title(f"Two-layer net 784-{settings['hidden']}-10 {settings['activation']}, "
                     f"weights N(0, {settings['init_std']:g}²), {settings['n_train']} MNIST "
                     f"images, {settings['dtype']}\ncentral differences with h = "
                     f"{settings['h']:g}; {figures.seeds_note(n_seeds)}", fontsize=9)
        ax.legend(fontsize=8, loc="upper left")
        ax.grid(alpha=0.3, axis="y", which="both")
        fig.tight_layout()
        figures.save(plt, fig, out / "gradcheck.png")

"""``activations``: histograms of the activations of 5 hidden layers of 100 units fed 1000
random inputs, for several weight scales and activation functions (ch. 6.2.2-6.2.3,
fig. 6-10 to 6-14)."""
from __future__ import annotations

from typing import List, Sequence

import numpy as np

from benchmarks import results as R
from benchmarks.from_scratch import common, figures
from benchmarks.from_scratch.experiment import Experiment, Result, Settings, Spec

#: the weight initialisers by case name (models.init names or standard deviations)
INITS = {"std1": 1.0, "std0.01": 0.01, "xavier": "xavier", "he": "he"}
LABELS = {"std1": "N(0, 1)", "std0.01": "N(0, 0.01²)", "xavier": "Xavier N(0, 1/n)",
          "he": "He N(0, 2/n)"}
#: the histogram range of each activation, as the book draws them
RANGES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "relu": (0.0, 1.0)}
#: the book's y limit for the ReLU histograms (half the values are 0: the first bar is cut)
RELU_YLIM = 7000


class ActivationsExperiment(Experiment):
    name = "activations"
    title = "Activation histograms of 5 hidden layers: weight scale and activation function"
    book = "ch. 6.2.2-6.2.3, fig. 6-10 to 6-14"
    default_seeds = 5
    quick_seeds = 2
    uses_data = False

    def settings(self, quick: bool) -> Settings:
        return {"inputs": 1000, "units": 100, "layers": 5, "bins": 30, "dtype": "float64",
                "cases": [["sigmoid", "std1"], ["sigmoid", "std0.01"], ["sigmoid", "xavier"],
                          ["tanh", "std1"], ["tanh", "std0.01"], ["tanh", "xavier"],
                          ["relu", "std0.01"], ["relu", "xavier"], ["relu", "he"]]}

    def tasks(self, settings: Settings, seeds: Sequence[int]) -> List[Spec]:
        return [{"task": f"{act}-{init}-seed{s}", "seed": s, "activation": act, "init": init}
                for act, init in settings["cases"] for s in seeds]

    def run(self, spec: Spec) -> Result:
        import models
        import symgraph
        s, seed = spec["settings"], int(spec["seed"])
        n = s["units"]
        # the output layer is never evaluated: only the hidden layers are compiled
        model = models.MLP([n] * (s["layers"] + 1) + [2], activation=spec["activation"],
                           init=INITS[spec["init"]], seed=seed, dtype=s["dtype"])
        x = model.input_variable("x")
        layers = symgraph.function([x], model.hidden_activations(x), name="activations")
        data = np.random.default_rng([seed, 1]).standard_normal((s["inputs"], n))
        values = [np.asarray(a) for a in layers(data.astype(s["dtype"]))]
        lo, hi = RANGES[spec["activation"]]
        counts = np.array([np.histogram(a, bins=s["bins"], range=(lo, hi))[0] for a in values])
        return {"counts": counts, "mean": np.array([a.mean() for a in values]),
                "std": np.array([a.std() for a in values]),
                "outside": np.array([np.mean((a < lo) | (a > hi)) for a in values]),
                "zero": np.array([np.mean(a == 0) for a in values])}

    def describe(self, spec: Spec, result: Result) -> str:
        return (f"{spec['activation']} {spec['init']} seed {spec['seed']}: layer stds "
                + " ".join(f"{v:.3g}" for v in result["std"]))

    def finish(self, out, settings, tasks, results, plt):
        hist_rows, stat_rows, key, drawn = [], [], {}, {}
        for act, init in settings["cases"]:
            members = [t for t in tasks if t["activation"] == act and t["init"] == init]
            counts = common.mean_std([results[t["task"]]["counts"] for t in members])
            lo, hi = RANGES[act]
            edges = np.linspace(lo, hi, settings["bins"] + 1)
            outside = common.mean_std([results[t["task"]]["outside"] for t in members])[0]
            drawn[(act, init)] = (edges, counts, outside)
            for layer in range(settings["layers"]):
                hist_rows += [{"activation": act, "init": init, "layer": layer + 1,
                               "bin_left": edges[b], "bin_right": edges[b + 1],
                               "count_mean": counts[0][layer, b], "count_std": counts[1][layer, b]}
                              for b in range(settings["bins"])]
                stats = {k: common.mean_std([results[t["task"]][k][layer] for t in members])[0]
                         for k in ("mean", "std", "outside", "zero")}
                stat_rows.append({"activation": act, "init": init, "layer": layer + 1,
                                  **{k: float(v) for k, v in stats.items()}})
            key[f"{act}/{init}"] = {"std_per_layer": [r["std"] for r in stat_rows[-5:]],
                                   "zero_fraction_last_layer": stat_rows[-1]["zero"]}
        R.write_csv(out / "histograms.csv", ("activation", "init", "layer", "bin_left",
                                             "bin_right", "count_mean", "count_std"), hist_rows)
        R.write_csv(out / "layer_stats.csv", ("activation", "init", "layer", "mean", "std",
                                              "outside", "zero"), stat_rows)
        if plt is not None:
            n_seeds = len({t["seed"] for t in tasks})
            for act in dict.fromkeys(a for a, _ in settings["cases"]):
                self._draw(plt, out, settings, act, drawn, n_seeds)
        return {"std of each layer's activations (mean over seeds)": key}

    def _draw(self, plt, out, settings, act, drawn, n_seeds) -> None:
        inits = [i for a, i in settings["cases"] if a == act]
        layers = settings["layers"]
        fig, axes = plt.subplots(len(inits), layers, figsize=(2.5 * layers, 2.2 * len(inits) + 1),
                                 sharex=True, squeeze=False)
        for r, init in enumerate(inits):
            edges, (mean, std), outside = drawn[(act, init)]
            for layer in range(layers):
                ax = axes[r, layer]
                ax.stairs(mean[layer], edges, fill=True, alpha=0.7)
                if np.any(std[layer] > 0):
                    ax.stairs(mean[layer] + std[layer], edges, baseline=mean[layer] - std[layer],
                              fill=True, color="k", alpha=0.2)
                notes = []
                if act == "relu":
                    ax.set_ylim(0, RELU_YLIM)
                    if mean[layer, 0] > RELU_YLIM:
                        notes.append(f"first bar {mean[layer, 0]:.0f}")
                if outside[layer] >= 0.001:
                    notes.append(f"{outside[layer]:.1%} beyond {edges[-1]:g}")
                if notes:
                    ax.text(0.98, 0.95, "\n".join(notes), ha="right", va="top",
                            transform=ax.transAxes, fontsize=7)
                if r == 0:
                    ax.set_title(f"layer {layer + 1}", fontsize=9)
                if r == len(inits) - 1:
                    ax.set_xlabel(f"{act} output")
                ax.tick_params(labelsize=7)
            axes[r, 0].set_ylabel(f"{LABELS[init]}\ncount", fontsize=9)
        fig.suptitle(f"{act}: activations of {layers} hidden layers x {settings['units']} units, "
                     f"{settings['inputs']} inputs N(0, 1), rows: initial weights; "
                     f"{settings['bins']} bins; {figures.seeds_note(n_seeds)} (grey band)",
                     fontsize=10)
        fig.tight_layout()
        figures.save(plt, fig, out / f"{act}.png")

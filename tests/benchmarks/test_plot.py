"""The optimizer study's plots: what the zoom shows and its range, the study's size in every
title, and the legends (checked on the figures matplotlib draws)."""
import pytest

from benchmarks import plot


def _series(**finals_by_name):
    """name -> a 3-epoch accuracy series rising to its final value, std 0.002."""
    out = {}
    for name, (first, final) in finals_by_name.items():
        mean = [first, (first + final) / 2, final]
        out[name] = {"epoch": [1, 2, 3], "mean": mean, "std": [0.002] * 3}
    return out


# series -> the optimizers the zoom must show
ZOOM = [
    (_series(sgd=(0.80, 0.90), momentum=(0.90, 0.96), adam=(0.95, 0.98), rmsprop=(0.96, 0.982)),
     ["adam", "rmsprop"]),
    (_series(sgd=(0.70, 0.80), adam=(0.90, 0.97), rmsprop=(0.93, 0.975)), ["adam", "rmsprop"]),
    (_series(adam=(0.95, 0.98)), ["adam"]),
    (_series(a=(0.5, 0.9), b=(0.6, 0.9)), ["a", "b"]),  # ties stay together
]


@pytest.mark.parametrize("series,shown", ZOOM)
def test_zoom_shows_the_better_half_with_every_point_in_range(series, shown):
    got, (lo, hi) = plot.zoom_view(series)
    assert got == shown
    for name in shown:  # first epoch included: every mean ± std inside the range
        s = series[name]
        assert lo <= min(m - d for m, d in zip(s["mean"], s["std"]))
        assert hi >= max(m + d for m, d in zip(s["mean"], s["std"]))
    assert 0 <= lo < hi <= 1
    points = [m for n in shown for m in series[n]["mean"]]
    assert hi - lo <= 1.2 * (max(points) - min(points)) + 0.01  # still a zoom


CAPTIONS = [
    ({"dataset": "mnist", "model": "mlp", "hidden": 500, "activation": "relu",
      "n_train": 10000, "n_test": 10000}, 2, [0, 1],
     "MNIST, MLP 784-500-10 (relu), 10,000 training / 10,000 test images, 2 epochs, "
     "2 seeds (0-1)"),
    ({"dataset": "fashion-mnist", "model": "logistic", "n_train": 60000, "n_test": 10000},
     1, [3], "Fashion-MNIST, logistic regression 784-10, 60,000 training / 10,000 test "
             "images, 1 epoch, 1 seed (3)"),
    ({"dataset": "mnist", "model": "mlp", "hidden": 32, "activation": "tanh", "n_train": 1000,
      "n_test": 300}, 20, [0, 2, 5],
     "MNIST, MLP 784-32-10 (tanh), 1,000 training / 300 test images, 20 epochs, "
     "3 seeds (0, 2, 5)"),
]


@pytest.mark.parametrize("study,epochs,seeds,text", CAPTIONS)
def test_caption_states_the_study_size(study, epochs, seeds, text):
    assert plot.caption(study, epochs, seeds) == text


def test_figures_name_the_size_and_the_zoom_lists_only_what_it_shows(tiny_mnist, tmp_path,
                                                                      monkeypatch):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from matplotlib.axes import Axes
    from benchmarks import optimizers as study
    out = tmp_path / "study"
    assert study.main(["--optimizers", "sgd,momentum,adam,rmsprop", "--seeds", "2",
                       "--epochs", "2", "--n-train", "1000", "--n-test", "300", "--hidden",
                       "32", "--data-dir", str(tiny_mnist), "--out", str(out), "--progress",
                       "none", "--no-plots"]) == 0
    drawn = []
    real = Axes.legend

    def spy(self, *args, **kwargs):
        lines = {line.get_label(): line for line in self.get_lines()}
        titles = self.get_title() + "\n" + (self.figure._suptitle.get_text()
                                            if self.figure._suptitle else "")
        drawn.append({"title": titles, "labels": self.get_legend_handles_labels()[1],
                      "ylim": self.get_ylim(), "lines": lines})
        return real(self, *args, **kwargs)
    monkeypatch.setattr(Axes, "legend", spy)
    paths = plot.make_plots(out)
    assert [p.name for p in paths] == list(plot.PLOTS)
    size = "MNIST, MLP 784-32-10 (relu), 1,000 training / 300 test images, 2 epochs, 2 seeds"
    full, zoom, loss = drawn
    assert all(size in d["title"] or size in d["title"].replace("\n", " ") for d in drawn[:2])
    assert full["labels"] == ["sgd", "momentum", "adam", "rmsprop"]
    summary, _ = plot.load_study(out)
    acc = plot._series(summary, "test_accuracy")
    shown, _ = plot.zoom_view(acc)
    assert zoom["labels"] == shown and len(shown) < 4
    lo, hi = zoom["ylim"]
    for name in shown:  # the first epoch is inside the zoom's range
        assert lo <= acc[name]["mean"][0] - acc[name]["std"][0]
        assert hi >= max(acc[name]["mean"])
    # loss.png: the size in the figure's title
    assert size in loss["title"]

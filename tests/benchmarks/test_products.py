"""The study's products: their operation count, the GEMM-only step, the efficiency ledger,
and the ETA of the progress log."""
import math

import numpy as np
import pytest

from benchmarks import products as P
from benchmarks.progress import Progress


@pytest.mark.parametrize("sizes, want", [
    # forward + weight gradient of each layer (4 a b), input gradient of all but the first
    ([784, 500, 10], 4 * (784 * 500 + 500 * 10) + 2 * 500 * 10),
    ([784, 10], 4 * 784 * 10),
    ([3, 4, 5, 6], 4 * (12 + 20 + 30) + 2 * (20 + 30)),
])
def test_flops_per_example(sizes, want):
    assert P.flops_per_example(sizes) == want


@pytest.mark.parametrize("sizes", [[784, 500, 10], [784, 10], [3, 4, 5, 6]])
def test_gemm_only_step_does_exactly_the_counted_products(sizes, monkeypatch):
    """Counted independently: every matmul of the step, 2 m k n operations each."""
    done = []
    real = np.matmul

    def counting(a, b, out=None):
        done.append(2 * a.shape[0] * a.shape[1] * b.shape[1])
        return real(a, b, out=out)
    step = P.gemm_only_step(sizes, batch=7)
    monkeypatch.setattr(P.np, "matmul", counting)
    step()
    assert sum(done) == P.flops_per_example(sizes) * 7


def test_gemm_rate_reports_its_measurement():
    rate = P.gemm_rate([20, 30, 5], 8, seconds=0.02)
    assert rate["flops_per_step"] == P.flops_per_example([20, 30, 5]) * 8
    assert rate["gflops"] == pytest.approx(rate["flops_per_step"] / rate["step_cpu_seconds"]
                                           / 1e9)
    assert rate["wall_gflops"] == pytest.approx(rate["flops_per_step"] / rate["step_seconds"]
                                                / 1e9)
    assert rate["gflops"] > 0 and rate["sizes"] == [20, 30, 5]


def test_ledger_per_run_and_summary():
    led = P.Ledger({"gflops": 100.0}, jobs=2)
    infos = [dict(flops=50e9, train_seconds=1.0, train_cpu_seconds=0.5, setup_seconds=0.3,
                  eval_seconds=0.1, run_seconds=1.5, backend="numba", peak_rss_mb=300.0),
             dict(flops=50e9, train_seconds=2.0, train_cpu_seconds=1.0, setup_seconds=0.1,
                  eval_seconds=0.1, run_seconds=2.3, backend="numba", peak_rss_mb=320.0)]
    first = led.add({"optimizer": "sgd", "seed": 0}, infos[0])
    assert first["gflops"] == pytest.approx(100.0) and first["fraction_of_gemm"] == 1.0
    assert first["wall_gflops"] == pytest.approx(50.0) and first["wall_fraction"] == 0.5
    led.add({"optimizer": "adam", "seed": 0}, infos[1])
    assert led.steady_seconds() == pytest.approx(((1.5 - 0.3) + (2.3 - 0.1)) / 2)
    s = led.summary(wall_seconds=5.0)
    assert s["gflops"] == pytest.approx(100e9 / 1.5 / 1e9)
    assert s["fraction_of_gemm"] == pytest.approx(100 / 1.5 / 100)
    assert s["throughput_gflops"] == pytest.approx(20.0)
    assert s["throughput_fraction"] == pytest.approx(20.0 / 200.0)  # two jobs: 2 x the rate
    assert s["peak_rss_mb"] == 320.0 and s["backends"] == ["numba"]
    assert math.isnan(P.Ledger({"gflops": 1.0}, 1).steady_seconds())


def test_eta_ignores_set_up_and_counts_jobs():
    p = Progress(total=10, done=4, mode="none", jobs=2)
    assert p.eta(20.0) == pytest.approx(6 * 20.0 / 2)
    p.done = 9
    assert p.eta(20.0) == pytest.approx(20.0)  # the last run alone: one run's time

"""The matrix products of the optimizer study's train step: how many floating-point operations
they do, and the machine's rate for exactly those products (the GEMM-only step).

A dense layer ``n_in -> n_out`` on a minibatch of ``b`` examples does three products per train
step: the forward ``h @ W`` and the two of its gradient, ``h.T @ g`` (the weights') and
``g @ W.T`` (its input's), each ``2 b n_in n_out`` operations; the first layer's input needs no
gradient, so its third product is not done. The GEMM-only step runs these products alone, into
preallocated outputs: the time a train step cannot go under with dense products, and the
denominator of the efficiency the study reports (achieved rate of the products / the
GEMM-only rate). The numba back end computes the input layer's two products over the nonzeros
of its mostly-zero operand (:mod:`symgraph.backends.sparse_dot`): fewer operations than
counted here, so its step can go under the GEMM-only step and its fraction pass 100 %.
"""
from __future__ import annotations

import statistics
import time
from typing import Callable, Dict, List, Sequence

import numpy as np


def layer_sizes(model: str, hidden: int, n_in: int = 784, n_out: int = 10) -> List[int]:
    """The widths of the study's network: ``[784, hidden, 10]`` (mlp) or ``[784, 10]``."""
    if model == "mlp":
        return [n_in, hidden, n_out]
    if model == "logistic":
        return [n_in, n_out]
    raise ValueError(f"unknown model {model!r}; use 'mlp' or 'logistic'")


def flops_per_example(sizes: Sequence[int]) -> int:
    """Floating-point operations of the products of one train step, per example: forward and
    weight gradient of every layer, input gradient of every layer but the first."""
    pairs = list(zip(sizes[:-1], sizes[1:]))
    return sum(4 * a * b for a, b in pairs) + sum(2 * a * b for a, b in pairs[1:])


def gemm_only_step(sizes: Sequence[int], batch: int, dtype: str = "float32",
                   seed: int = 0) -> Callable[[], None]:
    """One train step's products alone (forward, weight and input gradients) into
    preallocated outputs, on data of the study's shapes."""
    rng = np.random.default_rng(seed)
    ws = [rng.standard_normal((a, b)).astype(dtype) for a, b in zip(sizes[:-1], sizes[1:])]
    acts = [rng.random((batch, sizes[0])).astype(dtype)] + \
        [np.empty((batch, w.shape[1]), dtype) for w in ws]
    grads = [np.full((batch, w.shape[1]), 0.01, dtype) for w in ws]
    grad_w = [np.empty_like(w) for w in ws]
    grad_in = [np.empty((batch, w.shape[0]), dtype) for w in ws]

    def step() -> None:
        # matmul: NumPy's dot with out= can take a slow non-BLAS path
        for i, w in enumerate(ws):
            np.matmul(acts[i], w, out=acts[i + 1])
        for i in reversed(range(len(ws))):
            np.matmul(acts[i].T, grads[i], out=grad_w[i])
            if i:
                np.matmul(grads[i], ws[i].T, out=grad_in[i])
    return step


def gemm_rate(sizes: Sequence[int], batch: int, dtype: str = "float32",
              seconds: float = 0.2, rounds: int = 5) -> Dict[str, float]:
    """The machine's rate for the study's products, measured now: the GEMM-only step timed
    in ``rounds`` blocks of about ``seconds / rounds`` each (after a warm-up); the median
    per-step CPU time of the blocks gives ``gflops`` (what a core does with these products:
    on a machine shared with other work the wall time also counts the waits for a core,
    ``wall_gflops``). Run it with the BLAS thread count of a run."""
    step = gemm_only_step(sizes, batch, dtype)
    for _ in range(3):
        step()
    t0 = time.perf_counter()
    step()
    one = max(time.perf_counter() - t0, 1e-6)
    per_block = max(1, int(seconds / rounds / one))
    walls, cpus = [], []
    for _ in range(rounds):
        c0, w0 = time.thread_time(), time.perf_counter()
        for _ in range(per_block):
            step()
        walls.append((time.perf_counter() - w0) / per_block)
        cpus.append((time.thread_time() - c0) / per_block)
    flops = flops_per_example(sizes) * batch
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    return {"step_cpu_seconds": cpu, "step_seconds": wall, "flops_per_step": flops,
            "gflops": flops / cpu / 1e9, "wall_gflops": flops / wall / 1e9, "batch": batch,
            "dtype": dtype, "sizes": list(sizes)}


def efficiency(flops: float, seconds: float, rate_gflops: float) -> Dict[str, float]:
    """``{"gflops", "fraction"}``: the achieved rate of ``flops`` in ``seconds`` and its
    fraction of ``rate_gflops`` (NaN when there is no time or no rate)."""
    achieved = flops / seconds / 1e9 if seconds > 0 else float("nan")
    fraction = achieved / rate_gflops if rate_gflops and rate_gflops > 0 else float("nan")
    return {"gflops": achieved, "fraction": fraction}


class Ledger:
    """The runs of one study session and their efficiency.

    ``rate`` is :func:`gemm_rate`'s measurement at start-up. :meth:`add` records a finished
    run from its spec and the ``info`` it returned (``flops``, ``train_seconds``,
    ``train_cpu_seconds``, ``setup_seconds``, ``eval_seconds``, ``run_seconds``, ``backend``,
    ``peak_rss_mb``...) and returns its record with the products' achieved rates: ``gflops``
    over the training's CPU time and its ``fraction_of_gemm`` (of the GEMM-only rate: how
    close the train step runs to its products alone), ``wall_gflops`` over the training's wall
    time and its ``wall_fraction`` (lower when the run waited for a core). :meth:`summary` gives
    the same over the session's runs, and the throughput over its wall time against ``jobs``
    times the GEMM-only rate.
    """

    def __init__(self, rate: Dict[str, float], jobs: int):
        self.rate, self.jobs = rate, jobs
        self.runs: List[Dict] = []

    def add(self, spec: Dict, info: Dict) -> Dict:
        cpu = efficiency(info["flops"], info["train_cpu_seconds"], self.rate["gflops"])
        wall = efficiency(info["flops"], info["train_seconds"], self.rate["gflops"])
        record = {"optimizer": spec["optimizer"], "seed": spec["seed"], **info,
                  "gflops": cpu["gflops"], "fraction_of_gemm": cpu["fraction"],
                  "wall_gflops": wall["gflops"], "wall_fraction": wall["fraction"]}
        self.runs.append(record)
        return record

    def steady_seconds(self) -> float:
        """Mean seconds of a run's training and evaluation (set-up excluded: the first run of
        a process imports and compiles), NaN before the first run."""
        if not self.runs:
            return float("nan")
        return sum(r["run_seconds"] - r["setup_seconds"] for r in self.runs) / len(self.runs)

    def summary(self, wall_seconds: float) -> Dict:
        def total(key):
            return sum(r[key] for r in self.runs)
        flops = total("flops")
        cpu = efficiency(flops, total("train_cpu_seconds"), self.rate["gflops"])
        wall = efficiency(flops, total("train_seconds"), self.rate["gflops"])
        through = efficiency(flops, wall_seconds, self.rate["gflops"] * self.jobs)
        return {"gflops": cpu["gflops"], "fraction_of_gemm": cpu["fraction"],
                "wall_gflops": wall["gflops"], "wall_fraction": wall["fraction"],
                "throughput_gflops": through["gflops"],
                "throughput_fraction": through["fraction"], "flops": flops,
                "train_seconds": total("train_seconds"),
                "train_cpu_seconds": total("train_cpu_seconds"),
                "setup_seconds": total("setup_seconds"), "eval_seconds": total("eval_seconds"),
                "peak_rss_mb": max((r["peak_rss_mb"] for r in self.runs), default=None),
                "backends": sorted({str(r["backend"]) for r in self.runs})}

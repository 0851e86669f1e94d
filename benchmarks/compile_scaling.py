"""Compile time against graph size: ``python -m benchmarks.compile_scaling [--out DIR]``.

Two families of graphs, each compiled in FAST_RUN and FAST_COMPILE:

* ``chain``: ``y = tanh(tanh(... tanh(x * w) ...))`` of depth 50 .. 800, compiled together with
  ``grad(sum(y), w)`` (the backward pass doubles the depth);
* ``affine``: the same chain with a weight and a bias per level, ``tanh(w * y + b)``;
* ``mlp``: a ReLU MLP train step (softmax cross-entropy, SGD updates) with 2 .. 32 hidden layers.

For every case the table shows the number of nodes of the graph handed to ``function`` (before
rewrites), the best-of-``--repeat`` compile time (graph build and ``grad`` excluded) as wall
time and as CPU time of this process (steadier on a shared machine), the CPU time per node,
and for each family and mode the least-squares slope of log(CPU time) against log(nodes):
1 is linear, 2 quadratic. ``--profile CASE`` runs cProfile on one compilation
(e.g. ``--profile chain:800:FAST_RUN``) and prints the top functions by cumulative time.
Compiling builds no BLAS products, so the BLAS thread count does not matter here.
"""
from __future__ import annotations

import cProfile
import json
import os
import pstats
import sys
import time
from collections import OrderedDict
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np

import symgraph
import symgraph.tensor as T
from benchmarks.speed import mlp_cost
from models import cli
from symgraph.graph import toposort

CHAIN_DEPTHS = (50, 100, 200, 400, 800)
MLP_LAYERS = (2, 4, 8, 16, 32)
MODES = ("FAST_RUN", "FAST_COMPILE")


def build_chain(depth: int) -> Tuple[list, list, list]:
    """Inputs, outputs and updates of a ``depth``-deep tanh chain and its gradient."""
    x = T.dvector("x")
    w = T.dscalar("w")
    y = x * w
    for _ in range(depth):
        y = T.tanh(y)
    cost = y.sum()
    return [x, w], [cost, symgraph.grad(cost, w)], []


def build_affine(depth: int) -> Tuple[list, list, list]:
    """A ``depth``-deep ``tanh(w * y + b)`` chain (shared ``w``, ``b``) and its gradients."""
    x = T.dvector("x")
    w = symgraph.shared(np.float64(0.5), name="w")
    b = symgraph.shared(np.float64(0.1), name="b")
    y = x
    for _ in range(depth):
        y = T.tanh(w * y + b)
    cost = y.sum()
    return [x], [cost] + symgraph.grad(cost, [w, b]), []


def build_mlp(hidden_layers: int, width: int = 32, seed: int = 0) -> Tuple[list, list, list]:
    """Inputs, outputs and SGD updates of an MLP train step with ``hidden_layers`` layers."""
    rng = np.random.default_rng(seed)
    sizes = [16] + [width] * hidden_layers + [10]
    params = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        params.append(symgraph.shared(rng.standard_normal((a, b)) * 0.1, name="W"))
        params.append(symgraph.shared(np.zeros(b), name="b"))
    x, y = T.dmatrix("x"), T.ivector("y")
    cost = mlp_cost(params, x, y)
    grads = symgraph.grad(cost, params)
    updates = OrderedDict((p, p - 0.01 * g) for p, g in zip(params, grads))
    return [x, y], [cost], list(updates.items())


BUILDERS: Dict[str, Tuple[Callable[[int], tuple], Sequence[int]]] = {
    "chain": (build_chain, CHAIN_DEPTHS),
    "affine": (build_affine, CHAIN_DEPTHS),
    "mlp": (build_mlp, MLP_LAYERS),
}


def n_nodes(outputs: list, updates: list) -> int:
    """Apply nodes of the graph handed to ``function`` (before any rewrite)."""
    return len(toposort(list(outputs) + [v for _, v in updates]))


def compile_time(family: str, size: int, mode: str, repeat: int) -> Tuple[int, float, float]:
    """``(nodes, best wall seconds, best CPU seconds)`` of compiling ``repeat`` fresh graphs."""
    build, _ = BUILDERS[family]
    wall = cpu = float("inf")
    nodes = 0
    for _ in range(repeat):
        inputs, outputs, updates = build(size)
        nodes = n_nodes(outputs, updates)
        t0, c0 = time.perf_counter(), time.process_time()
        symgraph.function(inputs, outputs, updates=updates, mode=mode)
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return nodes, wall, cpu


def slope(nodes: Sequence[int], seconds: Sequence[float]) -> float:
    """Least-squares slope of log(seconds) against log(nodes)."""
    return float(np.polyfit(np.log(nodes), np.log(seconds), 1)[0])


def run(families: Sequence[str], modes: Sequence[str], repeat: int) -> List[dict]:
    rows = []
    for family in families:
        for mode in modes:
            for size in BUILDERS[family][1]:
                nodes, wall, cpu = compile_time(family, size, mode, repeat)
                rows.append({"family": family, "size": size, "mode": mode, "nodes": nodes,
                             "seconds": wall, "cpu_seconds": cpu})
    return rows


def table(rows: List[dict]) -> str:
    lines = ["| family | size | mode | nodes | wall (s) | CPU (s) | CPU us / node |",
             "|---|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['family']} | {r['size']} | {r['mode']} | {r['nodes']} | "
                     f"{r['seconds']:.4f} | {r['cpu_seconds']:.4f} | "
                     f"{1e6 * r['cpu_seconds'] / r['nodes']:.1f} |")
    lines.append("")
    lines.append("| family | mode | slope log(CPU time) vs log(nodes) |")
    lines.append("|---|---|---:|")
    groups: Dict[Tuple[str, str], List[dict]] = {}
    for r in rows:
        groups.setdefault((r["family"], r["mode"]), []).append(r)
    for (family, mode), rs in groups.items():
        if len(rs) > 1:
            s = slope([r["nodes"] for r in rs], [r["cpu_seconds"] for r in rs])
            lines.append(f"| {family} | {mode} | {s:.2f} |")
    return "\n".join(lines)


def profile(case: str, top: int = 30) -> None:
    """cProfile one compilation ``family:size:mode`` and print the top functions."""
    family, size, mode = case.split(":")
    inputs, outputs, updates = BUILDERS[family][0](int(size))
    prof = cProfile.Profile()
    prof.enable()
    symgraph.function(inputs, outputs, updates=updates, mode=mode)
    prof.disable()
    pstats.Stats(prof).sort_stats("cumulative").print_stats(top)


def _main(argv) -> int:
    parser = cli.Parser(prog="python -m benchmarks.compile_scaling",
                        description="Compile time against graph size (deep tanh chains, "
                                    "affine chains, MLPs of 2-32 layers) in each mode, with "
                                    "the log-log slope of CPU time against nodes.")
    parser.add_argument("--families", nargs="+", default=list(BUILDERS), choices=list(BUILDERS),
                        help="graph families to time")
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES),
                        help="compilation modes")
    parser.add_argument("--repeat", metavar="N", type=cli.bounded(int, 1), default=3,
                        help="best of this many compiles")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="folder for compile_scaling.json (default: print the table only)")
    parser.add_argument("--profile", metavar="FAMILY:SIZE:MODE", default=None,
                        help="profile one compilation instead of running the table, e.g. "
                             "chain:800:FAST_RUN (default: no profile)")
    args = parser.parse_args(argv)
    if args.out:
        cli.check_output_dir(args.out)
    if args.profile:
        family, _, rest = args.profile.partition(":")
        size, _, mode = rest.partition(":")
        if family not in BUILDERS or not size.isdigit() or int(size) < 1 or mode not in MODES:
            raise cli.CommandError(f"--profile {args.profile!r}: expected FAMILY:SIZE:MODE with "
                                   f"FAMILY one of {', '.join(BUILDERS)}, SIZE a positive "
                                   f"integer, MODE one of {', '.join(MODES)}")
        profile(args.profile)
        return 0
    rows = run(args.families, args.modes, args.repeat)
    print(table(rows))
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "compile_scaling.json"), "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0


def main(argv=None) -> int:
    """The command line; returns the exit status (2 for a mistake, 130 for Ctrl-C)."""
    return cli.run(lambda: _main(argv))


if __name__ == "__main__":
    sys.exit(main())

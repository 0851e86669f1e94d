"""Compile time against graph size: ``python -m benchmarks.compile_scaling [--out DIR]``.

Families of graphs, each compiled in FAST_RUN and FAST_COMPILE:

* ``chain``: ``y = tanh(tanh(... tanh(x * w) ...))`` of depth 50 .. 800, compiled together with
  ``grad(sum(y), w)`` (the backward pass doubles the depth);
* ``affine``: the same chain with a weight and a bias per level, ``tanh(w * y + b)``;
* ``mlp``: a ReLU MLP train step (softmax cross-entropy, SGD updates) with 2 .. 32 hidden layers;
* ``long_add``: ``y = y + x`` chained, 1,000 .. 100,000 nodes;
* ``long_tanh``: ``y = tanh(y) + x`` chained (two nodes a step), 1,000 .. 100,000 nodes;
* ``long_rnn``: an unrolled RNN step ``h = tanh(h W + x_t U)`` (no scan) repeated, with its
  gradient and SGD updates of ``W`` and ``U``, about 1,000 .. 100,000 nodes.

For every case the table shows the number of nodes of the graph handed to ``function`` (before
rewrites), the best-of-``--repeat`` compile time (graph build and ``grad`` excluded) as wall
time and as CPU time of this process (steadier on a shared machine), the CPU time per node,
and for each family and mode the least-squares slope of log(CPU time) against log(nodes):
1 is linear, 2 quadratic. ``--max-nodes`` drops the larger sizes of the long families.
``--pickle`` adds, per case, the size of the pickled compiled function and the CPU time of
``pickle.dumps`` and of ``pickle.loads`` (which compiles again). ``--profile CASE`` runs
cProfile on one compilation (e.g. ``--profile long_tanh:50000:FAST_RUN``) and prints the top
functions by cumulative time. On a shared machine pin the process to one core
(``taskset -c 1``) and read the slope rather than the absolute times.
Compiling builds no BLAS products, so the BLAS thread count does not matter here.
"""
from __future__ import annotations

import cProfile
import json
import os
import pickle
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
LONG_NODES = (1_000, 5_000, 20_000, 50_000, 100_000)
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


def build_long_add(nodes: int) -> Tuple[list, list, list]:
    """``y = y + x``, ``nodes`` additions chained."""
    x = T.dvector("x")
    y = x
    for _ in range(nodes):
        y = y + x
    return [x], [y], []


def build_long_tanh(nodes: int) -> Tuple[list, list, list]:
    """``y = tanh(y) + x`` chained: ``nodes`` nodes, half of them ``tanh``."""
    x = T.dvector("x")
    y = x
    for _ in range(nodes // 2):
        y = T.tanh(y) + x
    return [x], [y], []


def build_long_rnn(nodes: int, seed: int = 0) -> Tuple[list, list, list]:
    """An unrolled RNN, ``h = tanh(h W + x_t U)`` (no scan), with its gradient and SGD
    updates: about ``nodes`` nodes (nineteen a step, forward and backward)."""
    rng = np.random.default_rng(seed)
    W = symgraph.shared(rng.standard_normal((4, 4)) * 0.3, name="W")
    U = symgraph.shared(rng.standard_normal((3, 4)) * 0.3, name="U")
    xs = T.dmatrix("xs")
    h = T.zeros((4,))
    for t in range(max(1, nodes // 19)):
        h = T.tanh(T.dot(h, W) + T.dot(xs[t % 8], U))
    cost = (h ** 2).sum()
    gW, gU = symgraph.grad(cost, [W, U])
    return [xs], [cost], [(W, W - 0.01 * gW), (U, U - 0.01 * gU)]


BUILDERS: Dict[str, Tuple[Callable[[int], tuple], Sequence[int]]] = {
    "chain": (build_chain, CHAIN_DEPTHS),
    "affine": (build_affine, CHAIN_DEPTHS),
    "mlp": (build_mlp, MLP_LAYERS),
    "long_add": (build_long_add, LONG_NODES),
    "long_tanh": (build_long_tanh, LONG_NODES),
    "long_rnn": (build_long_rnn, LONG_NODES),
}
LONG = ("long_add", "long_tanh", "long_rnn")


def n_nodes(outputs: list, updates: list) -> int:
    """Apply nodes of the graph handed to ``function`` (before any rewrite)."""
    return len(toposort(list(outputs) + [v for _, v in updates]))


def compile_time(family: str, size: int, mode: str, repeat: int, with_pickle: bool = False
                 ) -> dict:
    """Nodes, best wall and CPU seconds of compiling ``repeat`` fresh graphs, and with
    ``with_pickle`` the pickle's size and the CPU seconds of dumping and loading it."""
    build, _ = BUILDERS[family]
    wall = cpu = float("inf")
    nodes, fn = 0, None
    for _ in range(repeat):
        inputs, outputs, updates = build(size)
        nodes = n_nodes(outputs, updates)
        t0, c0 = time.perf_counter(), time.process_time()
        fn = symgraph.function(inputs, outputs, updates=updates, mode=mode)
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    row = {"nodes": nodes, "seconds": wall, "cpu_seconds": cpu}
    if with_pickle:
        c0 = time.process_time()
        data = pickle.dumps(fn, protocol=pickle.HIGHEST_PROTOCOL)
        c1 = time.process_time()
        pickle.loads(data)
        row.update(pickle_bytes=len(data), dumps_cpu_seconds=c1 - c0,
                   loads_cpu_seconds=time.process_time() - c1)
    return row


def slope(nodes: Sequence[int], seconds: Sequence[float]) -> float:
    """Least-squares slope of log(seconds) against log(nodes)."""
    return float(np.polyfit(np.log(nodes), np.log(seconds), 1)[0])


def run(families: Sequence[str], modes: Sequence[str], repeat: int,
        max_nodes: int = LONG_NODES[-1], with_pickle: bool = False) -> List[dict]:
    rows = []
    for family in families:
        sizes = [n for n in BUILDERS[family][1] if family not in LONG or n <= max_nodes]
        for mode in modes:
            # one untimed compile first: one-time costs (imports, rule indexes) stay out
            compile_time(family, sizes[0], mode, 1)
            for size in sizes:
                row = {"family": family, "size": size, "mode": mode}
                row.update(compile_time(family, size, mode, repeat, with_pickle))
                rows.append(row)
    return rows


def table(rows: List[dict]) -> str:
    pickled = any("pickle_bytes" in r for r in rows)
    head = "| family | size | mode | nodes | wall (s) | CPU (s) | CPU us / node |"
    rule = "|---|---:|---|---:|---:|---:|---:|"
    if pickled:
        head += " pickle (MB) | dumps CPU (s) | loads CPU (s) |"
        rule += "---:|---:|---:|"
    lines = [head, rule]
    for r in rows:
        line = (f"| {r['family']} | {r['size']} | {r['mode']} | {r['nodes']} | "
                f"{r['seconds']:.4f} | {r['cpu_seconds']:.4f} | "
                f"{1e6 * r['cpu_seconds'] / r['nodes']:.1f} |")
        if pickled:
            line += (f" {r['pickle_bytes'] / 1e6:.2f} | {r['dumps_cpu_seconds']:.3f} | "
                     f"{r['loads_cpu_seconds']:.3f} |")
        lines.append(line)
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
                                    "affine chains, MLPs of 2-32 layers, long chains and "
                                    "unrolled RNNs up to 100,000 nodes) in each mode, with "
                                    "the log-log slope of CPU time against nodes.")
    parser.add_argument("--families", nargs="+", default=list(BUILDERS), choices=list(BUILDERS),
                        help="graph families to time")
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES),
                        help="compilation modes")
    parser.add_argument("--repeat", metavar="N", type=cli.bounded(int, 1), default=3,
                        help="best of this many compiles")
    parser.add_argument("--max-nodes", metavar="N", type=cli.bounded(int, 1),
                        default=LONG_NODES[-1],
                        help="largest graph of the long families")
    parser.add_argument("--pickle", action="store_true",
                        help="also time pickle.dumps and pickle.loads of each function")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="folder for compile_scaling.json (default: print the table only)")
    parser.add_argument("--profile", metavar="FAMILY:SIZE:MODE", default=None,
                        help="profile one compilation instead of running the table, e.g. "
                             "long_tanh:50000:FAST_RUN (default: no profile)")
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
    rows = run(args.families, args.modes, args.repeat, args.max_nodes, args.pickle)
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

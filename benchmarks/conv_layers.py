"""The convolution kernels layer by layer: ``python -m benchmarks.conv_layers``.

For the shapes of DeepConvNet's convolutions (batch 100, float32, random data), each direction
(forward, gradient w.r.t. the inputs, w.r.t. the filters) timed with the exact NumPy/BLAS
kernels of :mod:`symgraph.ops.conv_kernels` and with the compiled loops of the numba back end
(Winograd's F(4x4, 3x3) where it applies, :mod:`symgraph.backends.numba_winograd`), medians of
``--repeat`` calls of each in turns, with one BLAS thread by default (pin the process:
``taskset -c 1``); and the error of each against the float64 definition, as a fraction of the
largest entry of the result.
"""
from __future__ import annotations

import importlib.util
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from models import cli
from models import threads as blas

#: (in channels, out channels, image side, padding) of DeepConvNet's six convolutions
LAYERS = ((1, 16, 28, 1), (16, 16, 28, 1), (16, 32, 14, 1), (32, 32, 14, 2), (32, 64, 8, 1),
          (64, 64, 8, 1))
BATCH = 100


def _median_ms(fns: Dict[str, Callable], repeat: int) -> Dict[str, float]:
    for fn in fns.values():
        fn()  # compile, allocate the work arrays
    times: Dict[str, List[float]] = {k: [] for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: float(np.median(v)) * 1e3 for k, v in times.items()}


def _error(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.abs(got - want).max() / np.abs(want).max())


def run(repeat: int, seed: int = 0) -> List[dict]:
    """One row per layer and direction: times and errors of both paths."""
    from symgraph.backends.numba_windows import NUMBA_LOOPS
    from symgraph.ops import conv_kernels as K
    rng = np.random.default_rng(seed)
    rows = []
    args = ((1, 1), False, (1, 1))
    for c, o, h, p in LAYERS:
        x = rng.standard_normal((BATCH, c, h, h)).astype(np.float32)
        w = (rng.standard_normal((o, c, 3, 3)) / np.sqrt(9 * c)).astype(np.float32)
        pad = (p, p)
        ho = h + 2 * p - 2
        gz = rng.standard_normal((BATCH, o, ho, ho)).astype(np.float32)
        x64, w64, gz64 = x.astype(float), w.astype(float), gz.astype(float)
        directions = {
            "forward": (lambda loops, work: K.forward(x, w, pad, (1, 1), *args[1:], None, work,
                                                      loops),
                        K.forward(x64, w64, pad, (1, 1), *args[1:])),
            "grad inputs": (lambda loops, work: K.grad_inputs(gz, w, x.shape, pad, (1, 1),
                                                              *args[1:], None, work, loops),
                            K.grad_inputs(gz64, w64, x.shape, pad, (1, 1), *args[1:])),
            "grad filters": (lambda loops, work: K.grad_weights(x, gz, w.shape, pad, (1, 1),
                                                                *args[1:], None, work, loops),
                             K.grad_weights(x64, gz64, w.shape, pad, (1, 1), *args[1:])),
        }
        for name, (fn, want) in directions.items():
            if name == "grad inputs" and c == 1:
                continue  # the first layer's input is data
            works = {"exact": {}, "numba": {}}
            fns = {"exact": lambda fn=fn: fn(None, works["exact"]),
                   "numba": lambda fn=fn: fn(NUMBA_LOOPS, works["numba"])}
            ms = _median_ms(fns, repeat)
            rows.append({"layer": f"{c}->{o} @{h}x{h} pad {p}", "direction": name,
                         "exact_ms": ms["exact"], "numba_ms": ms["numba"],
                         "winograd": any(k[0].startswith("wino_") for k in works["numba"]),
                         "exact_error": _error(fn(None, {}), want),
                         "numba_error": _error(fn(NUMBA_LOOPS, {}), want)})
    return rows


def table(rows: Sequence[dict]) -> str:
    out = ["| layer | direction | exact kernels | numba loops | path | error, exact / numba |",
           "|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['layer']} | {r['direction']} | {r['exact_ms']:.2f} ms | "
                   f"{r['numba_ms']:.2f} ms | {'Winograd' if r['winograd'] else 'exact'} | "
                   f"{r['exact_error']:.1e} / {r['numba_error']:.1e} |")
    return "\n".join(out)


def build_parser() -> cli.Parser:
    count = cli.bounded(int, 1)
    p = cli.Parser(
        prog="python -m benchmarks.conv_layers",
        description="Times each direction of each DeepConvNet convolution (batch 100, "
                    "float32) with the exact kernels and with the numba back end's loops "
                    "(Winograd's algorithm where it applies), in turns, and gives each "
                    "result's error against the float64 definition. Pin it: taskset -c 1.")
    p.add_argument("--repeat", metavar="N", type=count, default=10,
                   help="timed calls per median")
    p.add_argument("--threads", metavar="N", type=count, default=None,
                   help="BLAS and numba threads (default: $OPENBLAS_NUM_THREADS when set, "
                        "else 1)")
    return p


def _main(argv: Optional[Sequence[str]]) -> int:
    args = build_parser().parse_args(argv)
    if importlib.util.find_spec("numba") is None:
        raise cli.CommandError("benchmarks.conv_layers: the compiled loops need numba (the "
                               "[fast] extra)")
    threads = blas.choose(args.threads)
    print(threads.describe(""), file=sys.stderr, flush=True)
    with blas.limited(threads.count) as how:
        if how is None:
            print(blas.not_applied_warning(threads), file=sys.stderr, flush=True)
        print(table(run(args.repeat)))
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The command line; returns the exit status (2 for a mistake, 130 for Ctrl-C)."""
    return cli.run(lambda: _main(argv))


if __name__ == "__main__":
    sys.exit(main())

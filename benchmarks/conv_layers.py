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
from typing import List, Optional, Sequence

import numpy as np

from benchmarks.speed_peers import interleaved
from models import cli
from models import threads as blas

#: (in channels, out channels, image side, padding) of DeepConvNet's six convolutions
LAYERS = ((1, 16, 28, 1), (16, 16, 28, 1), (16, 32, 14, 1), (32, 32, 14, 2), (32, 64, 8, 1),
          (64, 64, 8, 1))
BATCH = 100


def _error(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.abs(got - want).max() / np.abs(want).max())


def _directions(pad, first: bool):
    """``(name, call(x, w, gz, loops, work))`` of each direction of a stride-1 correlation
    padded by ``pad`` (no input gradient for the first layer, whose input is data)."""
    from symgraph.ops import conv_kernels as K
    stride, flip, dil = (1, 1), False, (1, 1)
    yield "forward", lambda x, w, gz, loops, work: K.forward(
        x, w, pad, stride, flip, dil, None, work, loops)
    if not first:
        yield "grad inputs", lambda x, w, gz, loops, work: K.grad_inputs(
            gz, w, x.shape, pad, stride, flip, dil, None, work, loops)
    yield "grad filters", lambda x, w, gz, loops, work: K.grad_weights(
        x, gz, w.shape, pad, stride, flip, dil, None, work, loops)


def run(repeat: int, seed: int = 0) -> List[dict]:
    """One row per layer and direction: times and errors of both paths."""
    from symgraph.backends.numba_windows import NUMBA_LOOPS
    rng = np.random.default_rng(seed)
    rows = []
    for layer, (c, o, h, p) in enumerate(LAYERS):
        x = rng.standard_normal((BATCH, c, h, h)).astype(np.float32)
        w = (rng.standard_normal((o, c, 3, 3)) / np.sqrt(9 * c)).astype(np.float32)
        ho = h + 2 * p - 2
        gz = rng.standard_normal((BATCH, o, ho, ho)).astype(np.float32)
        for name, call in _directions((p, p), layer == 0):
            want = call(x.astype(float), w.astype(float), gz.astype(float), None, None)
            paths = {"exact": (None, {}), "numba": (NUMBA_LOOPS, {})}
            fns = {key: (lambda loops=loops, work=work: call(x, w, gz, loops, work))
                   for key, (loops, work) in paths.items()}
            seconds = interleaved(fns, repeat)
            rows.append({"layer": f"{c}->{o} @{h}x{h} pad {p}", "direction": name,
                         "exact_ms": seconds["exact"] * 1e3, "numba_ms": seconds["numba"] * 1e3,
                         "winograd": any(k[0].startswith("wino_") for k in paths["numba"][1]),
                         "exact_error": _error(fns["exact"](), want),
                         "numba_error": _error(fns["numba"](), want)})
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

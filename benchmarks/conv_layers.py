"""The convolution kernels layer by layer: ``python -m benchmarks.conv_layers``.

For the shapes of DeepConvNet's convolutions (batch 100, float32, random data), each direction
(forward, gradient w.r.t. the inputs, w.r.t. the filters) timed with the exact NumPy/BLAS
kernels of :mod:`symgraph.ops.conv_kernels` and with the compiled loops of the numba back end
(Winograd's F(4x4, 3x3) where it applies, :mod:`symgraph.backends.numba_winograd`), medians of
``--repeat`` calls of each in turns, on one pinned core with one BLAS thread by default; and
the error of each against the float64 definition, as a fraction of the largest entry of the
result.
"""
from __future__ import annotations

import argparse
import time
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from benchmarks.speed import limited_threads

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


def main(argv: Optional[Sequence[str]] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=10, help="timed calls per median")
    ap.add_argument("--threads", type=int, default=1,
                    help="pin to N CPUs and hold BLAS and numba to N threads (0: no limit)")
    args = ap.parse_args(argv)
    from symgraph.backends import numba_available
    if not numba_available():
        ap.error("the compiled loops need numba (the [fast] extra)")
    with limited_threads(args.threads or None):
        print(table(run(args.repeat)))


if __name__ == "__main__":
    main()

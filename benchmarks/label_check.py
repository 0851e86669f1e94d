"""Cost of the label range check of the cross-entropy: ``python -m benchmarks.label_check``.

``categorical_crossentropy`` of integer labels raises on a label outside ``0 .. n - 1`` (NumPy
would read ``-1`` as the last class). The fused op reads int8/16/32 labels through an unsigned
view, so that the row indexing it does anyway refuses a negative label; 64-bit labels cost a
reduction. This benchmark compiles an MLP SGD train step (softmax cross-entropy, float32, int32
labels) and times it in alternating rounds with the check and with it replaced by a plain
``np.asarray`` (the same compiled function: only the helper the fused op calls changes),
reporting the best round of each, and the time of the check alone on the step's labels (the
fused op and its gradient call it once each per step). Pin the process on a shared machine
(``taskset -c 1``): there the difference of whole steps is mostly noise, the check alone is
not.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from contextlib import contextmanager
from typing import Dict, Iterator, List, Sequence, Tuple

import numpy as np

from benchmarks.speed import build_step, make_data
from symgraph.ops import softmax_xent

MODELS: Tuple[Tuple[Tuple[int, ...], int], ...] = (((784, 500, 10), 100), ((784, 100, 10), 32),
                                                   ((20, 10), 32))


@contextmanager
def unchecked() -> Iterator[None]:
    """The fused cross-entropy reads its labels without the range check."""
    checked = softmax_xent.class_index
    softmax_xent.class_index = lambda y, n, what: np.asarray(y)
    try:
        yield
    finally:
        softmax_xent.class_index = checked


def _round(step, x, y, calls: int) -> float:
    t0 = time.perf_counter()
    for _ in range(calls):
        step(x, y)
    return (time.perf_counter() - t0) / calls


def step_times(sizes: Sequence[int], batch: int, rounds: int, seconds: float,
               seed: int) -> Dict[str, float]:
    """Best per-call seconds of the train step over ``rounds`` rounds of each variant (in
    alternating order), and of the check alone on the step's labels."""
    x, y = make_data(sizes, batch, seed)
    step, _ = build_step(sizes, "sgd", "FAST_RUN", seed=seed)
    calls = max(1, int(seconds / max(_round(step, x, y, 3), 1e-6)))
    best = {"checked": float("inf"), "unchecked": float("inf")}
    for k in range(rounds):
        for name in (("checked", "unchecked") if k % 2 else ("unchecked", "checked")):
            if name == "unchecked":
                with unchecked():
                    best[name] = min(best[name], _round(step, x, y, calls))
            else:
                best[name] = min(best[name], _round(step, x, y, calls))
    n_classes = sizes[-1]
    check = softmax_xent.class_index
    t0 = time.perf_counter()
    for _ in range(10_000):
        check(y, n_classes, "label")
    best["check_alone"] = (time.perf_counter() - t0) / 10_000
    return best


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="alternating rounds of each")
    parser.add_argument("--seconds", type=float, default=0.03, help="length of one round")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="folder for label_check.json")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.seconds <= 0:
        parser.error("--rounds must be at least 1 and --seconds positive")
    rows: List[dict] = []
    print("| MLP | batch | step without check (us) | with check (us) | difference | "
          "check alone (us/call, 2 calls a step) |")
    print("|---|---:|---:|---:|---:|---:|")
    for sizes, batch in MODELS:
        best = step_times(sizes, batch, args.rounds, args.seconds, args.seed)
        diff = best["checked"] - best["unchecked"]
        rows.append({"sizes": list(sizes), "batch": batch, **best})
        print(f"| {'-'.join(map(str, sizes))} | {batch} | {1e6 * best['unchecked']:.1f} | "
              f"{1e6 * best['checked']:.1f} | {1e6 * diff:+.2f} us "
              f"({100 * diff / best['unchecked']:+.2f}%) | {1e6 * best['check_alone']:.2f} |")
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "label_check.json"), "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()

"""The PyTorch peer of ``python -m benchmarks.conv_speed``: the same convnets as eager
``torch.nn.Sequential`` models, from the same initial parameters, data and optimizer.

A network is described by :class:`ConvNetSpec` (its layers as plain tuples), so this module
imports only NumPy and the standard library (torch when a step is built) and runs in any
interpreter with NumPy and torch, also as its own process: the worker measures the resident
memory a train step adds (:func:`step_memory`), which a process shared with another framework
could not tell apart::

    python -m benchmarks.conv_peers --worker torch --spec S.npz --out R.json
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

ADAM = {"lr": 1e-3, "b1": 0.9, "b2": 0.999, "eps": 1e-8}  # torch.optim.Adam's defaults

#: a layer: ("conv", pad) | ("relu",) | ("pool", k) | ("flatten",) | ("dense",) |
#: ("dropout", p); conv and dense layers take the next two parameter arrays (W, b)
Layer = Tuple


@dataclass
class ConvNetSpec:
    """A convnet train step: layers, parameters ``[W0, b0, ...]`` in symgraph's layouts (conv
    filters (O, C, kh, kw), cross-correlation; dense weights (n_in, n_out)), one batch of NCHW
    images ``x`` with int labels ``y``, trained by Adam on the mean softmax cross-entropy."""

    name: str
    layers: List[Layer]
    params: List[np.ndarray]
    x: np.ndarray
    y: np.ndarray
    extra: dict = field(default_factory=dict)


def save_spec(path: str, spec: ConvNetSpec) -> None:
    arrays = {"x": spec.x, "y": spec.y, "name": np.array(spec.name),
              "layers": np.array(json.dumps(spec.layers))}
    arrays.update({f"p{i}": p for i, p in enumerate(spec.params)})
    np.savez(path, **arrays)


def load_spec(path: str) -> ConvNetSpec:
    with np.load(path) as data:
        n = sum(1 for k in data.files if k.startswith("p"))
        layers = [tuple(layer) for layer in json.loads(str(data["layers"]))]
        return ConvNetSpec(str(data["name"]), layers, [data[f"p{i}"] for i in range(n)],
                           data["x"], data["y"])


def torch_step(spec: ConvNetSpec, threads: Optional[int] = None
               ) -> Optional[Tuple[Callable[[], float], str]]:
    """``(step, torch version)``: one eager train step (forward, backward, Adam) per call,
    returning the loss; None without torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads or os.cpu_count() or 1)
    nn = torch.nn
    mods, params = [], iter(spec.params)
    for layer in spec.layers:
        kind = layer[0]
        if kind == "conv":
            w, b = next(params), next(params)
            m = nn.Conv2d(w.shape[1], w.shape[0], tuple(w.shape[2:]), padding=int(layer[1]))
            with torch.no_grad():
                m.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
                m.bias.copy_(torch.from_numpy(b))
        elif kind == "dense":
            w, b = next(params), next(params)
            m = nn.Linear(w.shape[0], w.shape[1])
            with torch.no_grad():
                m.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
                m.bias.copy_(torch.from_numpy(b))
        elif kind == "relu":
            m = nn.ReLU()
        elif kind == "pool":
            m = nn.MaxPool2d(int(layer[1]))
        elif kind == "flatten":
            m = nn.Flatten()
        elif kind == "dropout":
            m = nn.Dropout(float(layer[1]))
        else:
            raise ValueError(f"torch_step: unknown layer {layer!r}")
        mods.append(m)
    net = nn.Sequential(*mods).train()
    opt = torch.optim.Adam(net.parameters(), lr=ADAM["lr"], betas=(ADAM["b1"], ADAM["b2"]),
                           eps=ADAM["eps"])
    x, y = torch.from_numpy(spec.x), torch.from_numpy(spec.y).long()

    def step() -> float:
        loss = nn.functional.cross_entropy(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.detach()

    return step, torch.__version__


#: (label, test on an aten/autograd op name) grouping torch's profile like symgraph's nodes
TORCH_KINDS = (
    ("conv forward", lambda k: k in ("aten::mkldnn_convolution", "aten::convolution",
                                     "aten::_convolution", "aten::conv2d")),
    ("conv gradients (inputs and filters)", lambda k: "convolution_backward" in k or
     "ConvolutionBackward" in k),
    ("pool grad", lambda k: "max_pool2d_with_indices_backward" in k or "MaxPool" in k),
    ("pool forward", lambda k: k.startswith("aten::max_pool2d")),
    ("ReLU and its mask", lambda k: k in ("aten::relu", "aten::clamp_min",
                                          "aten::threshold_backward") or "Relu" in k),
    ("optimizer (Adam, zero_grad)", lambda k: "Optimizer" in k or k in (
        "aten::lerp_", "aten::addcdiv_", "aten::sqrt", "aten::div_", "aten::mul_", "aten::add_",
        "aten::fill_", "aten::zero_", "aten::_foreach_add_") or "AccumulateGrad" in k),
    ("matrix products", lambda k: k in ("aten::mm", "aten::addmm", "aten::linear",
                                        "aten::matmul") or "AddmmBackward" in k),
)


def torch_profile(step: Callable[[], object], calls: int = 5) -> Dict[str, float]:
    """CPU seconds per step of torch's ops (self time, from ``torch.profiler``), grouped by
    :data:`TORCH_KINDS` (the rest under ``other``); the profiler's own cost inflates small
    ops."""
    from torch.profiler import ProfilerActivity, profile
    step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(calls):
            step()
    out: Dict[str, float] = {}
    for event in prof.key_averages():
        kind = next((label for label, test in TORCH_KINDS if test(event.key)),
                    "other (allocation, autograd, loss, dropout)")
        out[kind] = out.get(kind, 0.0) + event.self_cpu_time_total / 1e6 / calls
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def _status_bytes(key: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def step_memory(make_step: Callable[[], Callable[[], object]], steps: int = 3) -> dict:
    """Resident memory a train step needs (Linux), in bytes: the high-water mark of the
    resident set over ``steps`` calls minus the resident set before the first -- what a step
    allocates and keeps (activations, gradients, work buffers, optimizer state made on the
    first step) and what it allocates while it runs.

    ``make_step()`` builds a step. A first one is built and called once and dropped before
    anything is measured, so that one-time costs of the process (a JIT compiling kernels,
    libraries loading on first use) do not count; then the mark is reset
    (``/proc/self/clear_refs``), a second step is built and measured from its first call."""
    warm = make_step()
    warm()
    del warm
    gc.collect()
    step = make_step()
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # the high-water mark := the resident set now
    before = _status_bytes("VmRSS")
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = (time.perf_counter() - t0) / steps
    peak = _status_bytes("VmHWM")
    return {"rss_before": before, "rss_peak": peak, "step_peak": max(0, peak - before),
            "seconds": seconds, "steps": steps}


def _worker(argv: Optional[Sequence[str]] = None) -> None:
    ap = argparse.ArgumentParser(description="Memory of one torch convnet train step "
                                             "(worker process).")
    ap.add_argument("--worker", required=True, choices=["torch"])
    ap.add_argument("--spec", required=True, help=".npz written by save_spec")
    ap.add_argument("--out", required=True, help="JSON result file")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    spec = load_spec(args.spec)
    built = torch_step(spec, args.threads)
    res = None
    if built is not None:
        res = dict(step_memory(lambda: torch_step(spec, args.threads)[0]), version=built[1])
    with open(args.out, "w") as fh:
        json.dump(res, fh)


if __name__ == "__main__":
    _worker()

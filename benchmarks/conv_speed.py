"""Speed of convnet train steps: ``python -m benchmarks.conv_speed [--peers torch] [--threads 1]``.

One train step (batch 100, float32, Adam, mean softmax cross-entropy) of the two convnets of
``models.convnet`` on MNIST-shaped data:

* DeepConvNet: six 3x3 convolutions 16-16-32-32-64-64, three 2x2 max-pools, fc 50, dropout,
  fc 10, dropout;
* SimpleConvNet: convolution 30@5x5, 2x2 max-pool, fc 100, fc 10.

Measured in one run:

* the step compiled by symgraph with each back end (NumPy, and numba when installed), and
  PyTorch eager (torch==2.13.0, ``torch.nn.Sequential`` with the same initial parameters, data
  and optimizer; :mod:`benchmarks.conv_peers`), timed in turns (``speed_peers.interleaved``) or
  each in a block of its own (``--alone``), medians of the wall time and of the thread's CPU
  time (on a machine shared with other jobs the CPU time is the steadier of the two);
* the GEMM-rate limit: the step's multiply-adds (forward, and the gradients it computes) at
  this core's float32 GEMM rate (a 512x512 product), the time no im2col-GEMM formulation can
  beat;
* the node-by-node profile of symgraph's step (:mod:`benchmarks.node_profile`): the time of
  every node of the generated function, grouped (convolutions by direction, pooling and its
  gradient, the elementwise ReLU masks and bias additions, the bias sums, ...), and per
  convolution layer; and torch's step by op kind (``torch.profiler``);
* peak memory of one step, each framework in a new process of its own
  (:func:`benchmarks.conv_peers.step_memory`): the high-water mark of the resident set over
  three steps minus the resident set before them, after a first step of another instance
  has loaded and compiled what the process needs once; glibc is told to map every block of
  64 KiB or more on its own (``MALLOC_MMAP_THRESHOLD_``), so freed memory leaves the
  resident set instead of staying cached in the allocator.

By default (``--threads 1``) the process and its worker processes are pinned to one CPU and
BLAS, numba and torch held to one thread (``benchmarks.speed.limited_threads``); also set
``OPENBLAS_NUM_THREADS=1`` for the cleanest numbers. The CPU time is the calling thread's, so
it undercounts work spread over threads (``--threads 0``, no limit: compare wall times then).
Results are printed and written as JSON into ``--out`` when given.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from benchmarks.conv_peers import (ConvNetSpec, save_spec, step_memory, torch_profile,
                                   torch_step)
from benchmarks.node_profile import by_kind, profile_nodes
from benchmarks.speed import blocks, limited_threads
from benchmarks.speed import buffer_bytes as planned_bytes
from benchmarks.speed_peers import ROOT, interleaved, thread_env
from models import threads as blas

NETS = ("deep", "simple")
BATCH = 100


# ---------------------------------------------------------------------------------------
# the networks
# ---------------------------------------------------------------------------------------

def make_model(net: str, seed: int = 0):
    """The ``models.convnet`` model named ``net`` (float32)."""
    from models.convnet import DeepConvNet, SimpleConvNet
    if net == "deep":
        return DeepConvNet(seed=seed, dtype="float32")
    if net == "simple":
        return SimpleConvNet(seed=seed, dtype="float32")
    raise ValueError(f"unknown net {net!r}; expected one of {NETS}")


def make_data(seed: int = 0, batch: int = BATCH):
    """A batch of MNIST-shaped float32 images in [0, 1) and int32 labels."""
    rng = np.random.default_rng(seed + 1)
    return (rng.uniform(size=(batch, 1, 28, 28)).astype(np.float32),
            rng.integers(0, 10, batch).astype(np.int32))


def spec_of(model, net: str, x, y) -> ConvNetSpec:
    """The layers of ``model`` as a :class:`ConvNetSpec` for the torch peer."""
    layers: List[tuple] = []
    if net == "deep":
        for i, conv in enumerate(model.convs):
            layers += [("conv", conv.pad), ("relu",)]
            if i % 2 == 1:
                layers.append(("pool", 2))
        p = model.dropout
        layers += [("flatten",), ("dense",), ("relu",), ("dropout", p), ("dense",),
                   ("dropout", p)]
    else:
        layers = [("conv", model.conv.pad), ("relu",), ("pool", 2), ("flatten",), ("dense",),
                  ("relu",), ("dense",)]
    return ConvNetSpec(net, layers, [p.get_value() for p in model.params], x, y)


def build_step(net: str, backend: str, seed: int = 0):
    """``(compiled step f(x, y), model, compile seconds)`` of ``net`` with Adam."""
    from collections import OrderedDict as OD

    import optimizers
    import symgraph
    from symgraph.compile.mode import FAST_RUN
    model = make_model(net, seed)
    t0 = time.perf_counter()
    x, y = model.input_variable("x"), model.target_variable("y")
    cost = model.cost(x, y, train=True)
    ups = OD(optimizers.Adam().updates(cost, model.params))
    mode = FAST_RUN.__class__(f"CONV-{backend}", backend=backend)
    f = symgraph.function([x, y], cost, updates=ups, mode=mode)
    return f, model, time.perf_counter() - t0


def step_flops(spec: ConvNetSpec) -> Dict[str, float]:
    """Floating-point operations (2 per multiply-add) of a train step of ``spec``: the
    forward products, the filter/weight gradients and the input gradients (none for the
    first layer, whose input is data)."""
    h, w = spec.x.shape[2:]
    n = spec.x.shape[0]
    params = iter(spec.params)
    fwd = gw = gx = 0.0
    first = True
    for layer in spec.layers:
        if layer[0] == "conv":
            k, _ = next(params), next(params)
            pad = int(layer[1])
            h, w = h + 2 * pad - k.shape[2] + 1, w + 2 * pad - k.shape[3] + 1
            macs = n * k.shape[0] * k.shape[1] * k.shape[2] * k.shape[3] * h * w
        elif layer[0] == "dense":
            k, _ = next(params), next(params)
            macs = n * k.shape[0] * k.shape[1]
        elif layer[0] == "pool":
            h, w = h // int(layer[1]), w // int(layer[1])
            continue
        else:
            continue
        fwd, gw = fwd + 2 * macs, gw + 2 * macs
        gx += 0 if first else 2 * macs
        first = False
    return {"forward": fwd, "weights": gw, "inputs": gx, "total": fwd + gw + gx}


def gemm_rate(repeat: int = 20) -> float:
    """This core's float32 GEMM rate in FLOP/s: a 512x512 product, best of ``repeat``."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((512, 512)).astype(np.float32) for _ in range(2))
    out = np.empty_like(a)
    np.matmul(a, b, out=out)
    best = min(_timed(lambda: np.matmul(a, b, out=out)) for _ in range(repeat))
    return 2 * 512 ** 3 / best


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# ---------------------------------------------------------------------------------------
# memory, each framework in a process of its own
# ---------------------------------------------------------------------------------------

def memory_in_subprocess(who: str, net: str, spec: ConvNetSpec, threads: Optional[int],
                         backend: str = "numba") -> Optional[dict]:
    """:func:`benchmarks.conv_peers.step_memory` of ``who`` ('torch' or 'symgraph') in a
    new process."""
    with tempfile.TemporaryDirectory(prefix="symgraph-conv-") as tmp:
        out = os.path.join(tmp, "memory.json")
        env = dict(os.environ, **thread_env(threads))
        env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
        # glibc: every block of 64 KiB or more its own mapping, unmapped when freed, so the
        # resident set follows what is alive instead of what the allocator keeps cached
        env["MALLOC_MMAP_THRESHOLD_"] = str(64 * 1024)
        if who == "torch":
            path = os.path.join(tmp, "spec.npz")
            save_spec(path, spec)
            cmd = [sys.executable, "-m", "benchmarks.conv_peers", "--worker", "torch",
                   "--spec", path, "--out", out]
        else:
            cmd = [sys.executable, "-m", "benchmarks.conv_speed", "--memory-worker", net,
                   "--backend", backend, "--out", out]
        if who == "torch" and threads:
            cmd += ["--threads", str(threads)]
        elif who != "torch":
            cmd += ["--threads", str(threads or 0)]
        proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(f"the {who} memory worker failed:\n{proc.stderr[-4000:]}")
        with open(out) as fh:
            return json.load(fh)


def _memory_worker(net: str, backend: str, out: str) -> None:
    x, y = make_data()
    built = []

    def make():
        f = build_step(net, backend)[0]
        built[:] = [f]
        return lambda: f(x, y)
    res = step_memory(make)
    res["buffer_bytes"] = buffer_bytes(built[0])
    with open(out, "w") as fh:
        json.dump(res, fh)


def buffer_bytes(f) -> int:
    """Bytes the compiled function keeps between calls in planned buffers
    (:func:`benchmarks.speed.buffer_bytes`) and in the convolutions' work arrays."""
    work = f._fn.__globals__.get("_work", {})
    return planned_bytes(f) + sum(a.nbytes for a in work.values() if isinstance(a, np.ndarray))


# ---------------------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------------------

def _with_cpu(fns: Dict[str, Callable], cpu: Dict[str, List[float]]) -> Dict[str, Callable]:
    """``fns`` wrapped to record each call's thread CPU time into ``cpu[key]``."""
    def wrap(key, fn):
        def call():
            c0 = time.thread_time()
            fn()
            cpu[key].append(time.thread_time() - c0)
        return call
    for key in fns:
        cpu[key] = []
    return {key: wrap(key, fn) for key, fn in fns.items()}


def conv_layers(nodes: Dict[str, float]) -> "OrderedDict[str, float]":
    """The profile's convolution nodes, in program order (forward, then the gradients)."""
    return OrderedDict((k, t) for k, t in nodes.items() if k.startswith("Conv2d"))


def run(nets: Sequence[str], peers: Sequence[str], backends: Sequence[str], repeat: int,
        threads: Optional[int], alone: bool, memory: bool, profile_calls: int) -> dict:
    """Time, profile and measure every step; see the module docstring."""
    x, y = make_data()
    res: dict = {"config": {"nets": list(nets), "peers": list(peers), "backends": list(backends),
                            "repeat": repeat, "batch": BATCH, "alone": alone,
                            "numpy": np.__version__, "load_average_start": os.getloadavg()}}
    rate = gemm_rate()
    res["gemm_rate"] = rate
    # the kernels set the GEMM rate: this machine's environment names OpenBLAS's AVX2
    # kernels (OPENBLAS_CORETYPE=Haswell) on a processor whose AVX-512 ones run twice as fast
    res["config"]["blas"] = blas.kernels()
    res["config"]["openblas_coretype"] = os.environ.get(blas.CORETYPE_VAR)
    fns: Dict[str, Callable] = {}
    for net in nets:
        row = res[net] = {}
        spec = None
        for backend in backends:
            f, model, ct = build_step(net, backend)
            spec = spec or spec_of(model, net, x, y)
            fns[f"{net}/symgraph_{backend}"] = (lambda f=f: f(x, y))
            row[f"symgraph_{backend}_compile"] = ct
            if profile_calls:
                nodes = profile_nodes(f, (x, y), profile_calls)
                row[f"symgraph_{backend}_profile"] = {
                    "by_kind": {k: t for k, (t, _) in by_kind(nodes).items()},
                    "node_count": {k: c for k, (_, c) in by_kind(nodes).items()},
                    "conv_nodes": conv_layers(nodes), "total": sum(nodes.values())}
        flops = step_flops(spec)
        row["flops"] = flops
        row["gemm_limit"] = flops["total"] / rate
        if "torch" in peers:
            built = torch_step(spec, threads)
            if built is not None:
                fns[f"{net}/torch"], row["torch_version"] = built
                if profile_calls:
                    row["torch_profile"] = torch_profile(built[0], profile_calls)
        if memory:
            row["memory"] = {f"symgraph_{b}": memory_in_subprocess("symgraph", net, spec,
                                                                   threads, b)
                             for b in backends}
            if "torch" in peers:
                row["memory"]["torch"] = memory_in_subprocess("torch", net, spec, threads)
    cpu: Dict[str, List[float]] = {}
    timer = blocks if alone else interleaved
    wall = timer(_with_cpu(fns, cpu), repeat)
    for key, t in wall.items():
        net, who = key.split("/")
        times = cpu[key][-repeat:]
        res[net][who] = {"wall": t, "cpu": float(np.median(times)), "cpu_min": min(times)}
    res["config"]["load_average_end"] = os.getloadavg()
    return res


def table(res: dict) -> str:
    """The results as Markdown tables."""
    rows = []
    for net in res["config"]["nets"]:
        r = res[net]
        ref = r.get("torch")
        rows += [f"\n### {'DeepConvNet' if net == 'deep' else 'SimpleConvNet'} train step "
                 f"(batch {res['config']['batch']}, float32, Adam)", "",
                 "| | wall (median) | CPU (median / min) | vs torch (wall / CPU / CPU min) "
                 "| vs GEMM limit (CPU) |", "|---|---|---|---|---|"]
        who = [k for k in r if k.startswith("symgraph_") and isinstance(r[k], dict) and
               "wall" in r[k]] + (["torch"] if ref else [])
        for k in who:
            t = r[k]
            vs = (f"{t['wall'] / ref['wall']:.2f}x / {t['cpu'] / ref['cpu']:.2f}x / "
                  f"{t['cpu_min'] / ref['cpu_min']:.2f}x" if ref else "—")
            label = f"torch {r['torch_version']} eager" if k == "torch" else \
                k.replace("_", " ") + " backend"
            rows.append(f"| {label} | {t['wall'] * 1e3:.1f} ms | {t['cpu'] * 1e3:.1f} / "
                        f"{t['cpu_min'] * 1e3:.1f} ms | {vs} | "
                        f"{t['cpu'] / r['gemm_limit']:.2f}x |")
        rows.append(f"| GEMM-rate limit ({r['flops']['total'] / 1e9:.2f} GFLOP at "
                    f"{res['gemm_rate'] / 1e9:.0f} GFLOP/s) | {r['gemm_limit'] * 1e3:.1f} ms | "
                    f"| | 1.00x |")
        mem = r.get("memory")
        if mem:
            rows += ["", "| peak memory of a step: resident set added (own process) | MiB | "
                         "buffers kept between calls (allocated) |", "|---|---|---|"]
            for k, m in mem.items():
                kept = f"{m['buffer_bytes'] / 2**20:.1f} MiB" if "buffer_bytes" in m else "—"
                rows.append(f"| {k.replace('_', ' ')} | {m['step_peak'] / 2**20:.1f} | {kept} |")
        for k in r:
            if not (k.startswith("symgraph_") and k.endswith("_profile")):
                continue
            prof = r[k]
            rows += ["", f"node profile, {k[:-8].replace('_', ' ')} backend (CPU time per step,"
                         f" sum {prof['total'] * 1e3:.1f} ms):", "",
                     "| nodes | count | ms | share |", "|---|---|---|---|"]
            for kind, t in prof["by_kind"].items():
                rows.append(f"| {kind} | {prof['node_count'][kind]} | {t * 1e3:.2f} | "
                            f"{t / prof['total']:.0%} |")
            rows += ["", "| convolution node (line of the generated code) | ms |", "|---|---|"]
            rows += [f"| {node} | {t * 1e3:.2f} |" for node, t in prof["conv_nodes"].items()]
        tprof = r.get("torch_profile")
        if tprof:
            rows += ["", f"torch ops (torch.profiler self CPU time per step, sum "
                         f"{sum(tprof.values()) * 1e3:.1f} ms, the profiler's cost included):",
                     "", "| ops | ms |", "|---|---|"]
            rows += [f"| {kind} | {t * 1e3:.2f} |" for kind, t in tprof.items()]
    c = res["config"]
    for lib in c.get("blas", []):
        rows.append(f"\nBLAS: {lib['internal_api']} {lib['version']}, {lib['architecture']} "
                    f"kernels (OPENBLAS_CORETYPE={c.get('openblas_coretype') or 'unset'})")
    if c.get("threads") != 1:
        rows.append("\nCPU times are the calling thread's: with more than one thread they "
                    "undercount, compare the wall times")
    rows.append(f"\nload average at start {c['load_average_start'][0]:.1f}, at end "
                f"{c['load_average_end'][0]:.1f} (this machine's cores: {os.cpu_count()})")
    return "\n".join(rows)


def main(argv: Optional[Sequence[str]] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nets", default="deep,simple", help="comma-separated: deep, simple")
    ap.add_argument("--peers", default="torch", help="'torch' or '' (none)")
    ap.add_argument("--backends", default=None,
                    help="symgraph back ends, comma-separated (default: numpy, and numba "
                         "when installed)")
    ap.add_argument("--repeat", type=int, default=20, help="timed calls per median")
    ap.add_argument("--threads", type=int, default=1,
                    help="pin to N CPUs and hold BLAS, numba and torch to N threads (default 1; "
                         "0: no limit, where the CPU time, the calling thread's, undercounts "
                         "multithreaded work)")
    ap.add_argument("--alone", action="store_true",
                    help="time each step in a block of its own instead of in turns")
    ap.add_argument("--no-memory", action="store_true", help="skip the memory workers")
    ap.add_argument("--profile-calls", type=int, default=5,
                    help="traced calls per node profile (0: no profile)")
    ap.add_argument("--out", default=None, help="folder for conv_speed.json")
    ap.add_argument("--memory-worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--backend", default="numba", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.memory_worker:
        with limited_threads(args.threads or None):
            _memory_worker(args.memory_worker, args.backend, args.out)
        return
    nets = [n for n in args.nets.split(",") if n]
    peers = [p for p in args.peers.split(",") if p]
    if set(nets) - set(NETS) or not nets:
        ap.error(f"--nets: expected some of {', '.join(NETS)}, got {args.nets!r}")
    if set(peers) - {"torch"}:
        ap.error(f"--peers: only 'torch' is a peer here, got {args.peers!r}")
    from symgraph.backends import numba_available
    backends = args.backends.split(",") if args.backends else \
        ["numpy"] + (["numba"] if numba_available() else [])
    threads = args.threads or None
    with limited_threads(threads) as (cpus, _):
        res = run(nets, peers, backends, args.repeat, threads, args.alone,
                  not args.no_memory, args.profile_calls)
    res["config"].update(threads=threads, cpus=cpus)
    print(table(res))
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "conv_speed.json"), "w") as fh:
            json.dump(res, fh, indent=2, default=str)


if __name__ == "__main__":
    main()

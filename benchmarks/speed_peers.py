"""The peers of ``python -m benchmarks.speed``: the same train steps in PyTorch, JAX and PyTensor.

Each builder takes :class:`Problem` s (initial parameters, one batch, an optimizer name) made by
``benchmarks.speed.init_params``/``make_data`` and returns a :class:`PeerSteps` whose steps
have each run exactly once, or ``None`` when the framework is not importable:

* ``torch_steps``: PyTorch eager, ``torch.optim.SGD``/``Adam`` (torch==2.13.0);
* ``jax_steps``: one ``jax.jit`` of a pure step ``(params, state, x, y) -> (params, state,
  loss)`` with ``donate_argnums=(0, 1)`` so the update reuses the parameter buffers; SGD and Adam
  written with ``jax.numpy`` (no optax); the compile time is the first call (trace + XLA compile
  + one step), and the timed call blocks until every output is ready;
* ``pytensor_steps``: ``pytensor.function`` with ``updates`` in PyTensor's default mode (the
  numba linker in PyTensor 3); the compile time runs from building the graph to the first
  step's result.

PyTensor always runs in a new process (:func:`peer_in_subprocess`) whose compile directory
(``PYTENSOR_FLAGS=base_compiledir=...``) and numba cache are new temporary folders, so its
compile time is cold; any interpreter can host it (``--peer-python``), for PyTensor pins a
numba older than the project's. The worker is this module's command line::

    python -m benchmarks.speed_peers --worker pytensor --problems P.npz --out R.json

Thread limits: with ``threads`` set, torch gets ``torch.set_num_threads``, and a worker
process gets ``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS``/``MKL_NUM_THREADS``/
``NUMBA_NUM_THREADS`` and, for JAX on CPU, ``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false``
(:func:`thread_env`), which XLA reads only when jax is first imported: ``benchmarks.speed``
therefore sets it before anything imports jax. (The often-quoted companion
``intra_op_parallelism_threads=1`` is not an XLA flag: without ``--`` XLA ignores it, with
``--`` XLA aborts on it.)

This module imports only NumPy and the standard library, so it runs under any interpreter
that has NumPy and the peer.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Sequence

import numpy as np

PEERS = ("torch", "jax", "pytensor")
SGD_LR = 0.01
ADAM = {"lr": 1e-3, "b1": 0.9, "b2": 0.999, "eps": 1e-8}  # torch.optim.Adam's defaults
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass
class Problem:
    """One train step to build: MLP parameters ``[W0, b0, W1, b1, ...]``, a batch, an optimizer.

    The model is ``h = relu(h @ W + b)`` on every layer but the last, then the mean softmax
    cross-entropy of the integer labels ``y``; ``opt`` is ``"sgd"`` (lr 0.01) or ``"adam"``
    (lr 1e-3, betas 0.9/0.999, eps 1e-8, eps outside the square root as in torch).
    """

    params: List[np.ndarray]
    x: np.ndarray
    y: np.ndarray
    opt: str = "sgd"

    def __post_init__(self) -> None:
        if self.opt not in ("sgd", "adam"):
            raise ValueError(f"Problem.opt must be 'sgd' or 'adam', got {self.opt!r}")
        if len(self.params) % 2:
            raise ValueError("Problem.params must alternate weights and biases [W0, b0, ...]")


@dataclass
class PeerSteps:
    """A peer's built train steps (each already called once), keyed like the problems.

    ``steps[k]()`` runs one train step and returns that step's loss (before the update);
    ``compile_seconds[k]`` is the time from nothing to the first step's result (empty for
    eager torch); ``params[k]()`` returns the current parameter values as NumPy arrays.
    """

    version: str
    steps: Dict[str, Callable[[], object]]
    compile_seconds: Dict[str, float] = field(default_factory=dict)
    params: Dict[str, Callable[[], List[np.ndarray]]] = field(default_factory=dict)
    first_loss: Dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------
# PyTorch (eager)
# ---------------------------------------------------------------------------------------

def torch_steps(problems: Mapping[str, Problem], threads: Optional[int] = None
                ) -> Optional[PeerSteps]:
    """PyTorch eager train steps with ``torch.optim``, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads or os.cpu_count() or 1)
    out = PeerSteps(torch.__version__, {})
    for key, prob in problems.items():
        params = [torch.tensor(p, requires_grad=True) for p in prob.params]
        x, y = torch.tensor(prob.x), torch.tensor(prob.y).long()
        if prob.opt == "sgd":
            opt = torch.optim.SGD(params, lr=SGD_LR)
        else:
            opt = torch.optim.Adam(params, lr=ADAM["lr"], betas=(ADAM["b1"], ADAM["b2"]),
                                   eps=ADAM["eps"])

        def step(params=params, x=x, y=y, opt=opt):
            n = len(params) // 2
            h = x
            for i in range(n):
                h = h @ params[2 * i] + params[2 * i + 1]
                if i < n - 1:
                    h = torch.relu(h)
            loss = torch.nn.functional.cross_entropy(h, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            return loss.detach()

        out.steps[key] = step
        out.params[key] = lambda params=params: [p.detach().numpy().copy() for p in params]
        out.first_loss[key] = float(step())
    return out


# ---------------------------------------------------------------------------------------
# JAX (jit)
# ---------------------------------------------------------------------------------------

def _jax_step_fn(opt: str):
    """The pure train step ``(params, state, x, y) -> (params, state, loss)`` for ``opt``."""
    import jax
    import jax.numpy as jnp

    def loss_fn(params, x, y):
        n = len(params) // 2
        h = x
        for i in range(n):
            h = h @ params[2 * i] + params[2 * i + 1]
            if i < n - 1:
                h = jax.nn.relu(h)
        logp = jax.nn.log_softmax(h, axis=1)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    value_and_grad = jax.value_and_grad(loss_fn)

    def sgd(params, state, x, y):
        loss, grads = value_and_grad(params, x, y)
        return [p - SGD_LR * g for p, g in zip(params, grads)], state, loss

    def adam(params, state, x, y):
        t, ms, vs = state
        loss, grads = value_and_grad(params, x, y)
        b1, b2, lr, eps = ADAM["b1"], ADAM["b2"], ADAM["lr"], ADAM["eps"]
        t = t + 1
        ms = [b1 * m + (1 - b1) * g for m, g in zip(ms, grads)]
        vs = [b2 * v + (1 - b2) * g * g for v, g in zip(vs, grads)]
        c1, c2 = 1 - b1 ** t, 1 - b2 ** t
        params = [p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps)
                  for p, m, v in zip(params, ms, vs)]
        return params, (t, ms, vs), loss

    return jax.jit(sgd if opt == "sgd" else adam, donate_argnums=(0, 1))


def jax_steps(problems: Mapping[str, Problem], threads: Optional[int] = None
              ) -> Optional[PeerSteps]:
    """JAX train steps, one ``jax.jit`` each with donated parameters, or None without jax.

    ``threads`` is not applied here: XLA's CPU threading is fixed when jax is imported
    (see :func:`thread_env`).
    """
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    out = PeerSteps(jax.__version__, {})
    for key, prob in problems.items():
        fn = _jax_step_fn(prob.opt)
        # jnp.array copies: the donated buffers must not alias the caller's arrays
        params = [jnp.array(p) for p in prob.params]
        if prob.opt == "sgd":
            state: object = ()
        else:
            zeros = [jnp.zeros_like(p) for p in params]
            state = (jnp.zeros((), jnp.float32), zeros, [jnp.zeros_like(p) for p in params])
        x, y = jnp.array(prob.x), jnp.array(prob.y)
        jax.block_until_ready((params, state, x, y))
        cell = [params, state]

        def step(fn=fn, cell=cell, x=x, y=y):
            cell[0], cell[1], loss = fn(cell[0], cell[1], x, y)
            jax.block_until_ready((cell[0], cell[1], loss))
            return loss

        t0 = time.perf_counter()
        out.first_loss[key] = float(step())  # trace + compile + one step
        out.compile_seconds[key] = time.perf_counter() - t0
        out.steps[key] = step
        out.params[key] = lambda cell=cell: [np.array(p) for p in cell[0]]
    return out


# ---------------------------------------------------------------------------------------
# PyTensor (default mode)
# ---------------------------------------------------------------------------------------

def _pytensor_function(prob: Problem):
    """Compile ``prob``'s train step with pytensor; return ``(function, shared params)``."""
    import pytensor
    import pytensor.tensor as pt

    f32 = np.float32
    params = [pytensor.shared(p.copy(), borrow=True) for p in prob.params]
    x, y = pt.matrix("x", dtype="float32"), pt.vector("y", dtype="int32")
    n = len(params) // 2
    h = x
    for i in range(n):
        h = pt.dot(h, params[2 * i]) + params[2 * i + 1]
        if i < n - 1:
            h = pt.maximum(h, f32(0))
    logp = pt.special.log_softmax(h, axis=1)
    cost = -logp[pt.arange(y.shape[0]), y].mean()
    grads = pytensor.grad(cost, params)
    if prob.opt == "sgd":
        updates = [(p, p - f32(SGD_LR) * g) for p, g in zip(params, grads)]
    else:
        b1, b2, lr, eps = (f32(ADAM[k]) for k in ("b1", "b2", "lr", "eps"))
        t = pytensor.shared(f32(0), "t")
        t1 = t + f32(1)
        c1, c2 = f32(1) - b1 ** t1, f32(1) - b2 ** t1
        updates = [(t, t1)]
        for p, g in zip(params, grads):
            m = pytensor.shared(np.zeros_like(p.get_value()))
            v = pytensor.shared(np.zeros_like(p.get_value()))
            m1 = b1 * m + (f32(1) - b1) * g
            v1 = b2 * v + (f32(1) - b2) * g * g
            updates += [(m, m1), (v, v1), (p, p - lr * (m1 / c1) / (pt.sqrt(v1 / c2) + eps))]
    return pytensor.function([x, y], cost, updates=updates), params


def pytensor_steps(problems: Mapping[str, Problem], threads: Optional[int] = None
                   ) -> Optional[PeerSteps]:
    """PyTensor train steps (``pytensor.function`` with updates), or None without pytensor.

    Compile once per process with an empty compile directory to time a cold compile: see
    :func:`peer_in_subprocess`.
    """
    try:
        import pytensor
    except ImportError:
        return None
    out = PeerSteps(pytensor.__version__, {})
    for key, prob in problems.items():
        t0 = time.perf_counter()
        fn, params = _pytensor_function(prob)
        x, y = prob.x.astype(np.float32), prob.y.astype(np.int32)
        out.first_loss[key] = float(fn(x, y))
        out.compile_seconds[key] = time.perf_counter() - t0
        out.steps[key] = lambda fn=fn, x=x, y=y: fn(x, y)
        out.params[key] = lambda params=params: [p.get_value() for p in params]
    return out


BUILDERS: Dict[str, Callable[..., Optional[PeerSteps]]] = {
    "torch": torch_steps, "jax": jax_steps, "pytensor": pytensor_steps}


# ---------------------------------------------------------------------------------------
# Timing, in this process or in a worker process
# ---------------------------------------------------------------------------------------

def interleaved(fns: Mapping[str, Callable], rounds: int, per_round: int = 1) -> Dict[str, float]:
    """Median per-call time of each function, timing them in turns (round-robin) so that the
    load of a shared machine falls on all of them alike."""
    for fn in fns.values():
        fn()
        fn()
    times: Dict[str, List[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for key, fn in fns.items():
            t0 = time.perf_counter()
            for _ in range(per_round):
                fn()
            times[key].append((time.perf_counter() - t0) / per_round)
    return {k: statistics.median(v) for k, v in times.items()}


def time_peer(peer: str, problems: Mapping[str, Problem], repeat: int, tiny_per_round: int = 20,
              threads: Optional[int] = None) -> Optional[dict]:
    """Build ``peer``'s steps and time them: ``{"version", "<key>_compile", "<key>"}``.

    Problems whose key starts with ``tiny`` are timed in rounds of ``tiny_per_round`` calls.
    """
    built = BUILDERS[peer](problems, threads)
    if built is None:
        return None
    res: dict = {"version": built.version}
    for key, secs in built.compile_seconds.items():
        res[f"{key}_compile"] = secs
    big = {k: f for k, f in built.steps.items() if not k.startswith("tiny")}
    tiny = {k: f for k, f in built.steps.items() if k.startswith("tiny")}
    res.update(interleaved(big, repeat))
    if tiny:
        res.update(interleaved(tiny, repeat, per_round=tiny_per_round))
    return res


def thread_env(threads: Optional[int]) -> Dict[str, str]:
    """Environment variables that hold BLAS, OpenMP, numba and XLA (CPU) to ``threads``."""
    if not threads:
        return {}
    env = {k: str(threads) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                      "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")}
    if threads == 1:
        flags = os.environ.get("XLA_FLAGS", "")
        if "xla_cpu_multi_thread_eigen" not in flags:
            flags = (flags + " --xla_cpu_multi_thread_eigen=false").strip()
        env["XLA_FLAGS"] = flags
    return env


def save_problems(path: str, problems: Mapping[str, Problem]) -> None:
    """Write problems to one ``.npz`` file (``<key>/opt``, ``<key>/x``, ``<key>/p0``...)."""
    arrays = {}
    for key, prob in problems.items():
        arrays[f"{key}/opt"] = np.array(prob.opt)
        arrays[f"{key}/x"], arrays[f"{key}/y"] = prob.x, prob.y
        for i, p in enumerate(prob.params):
            arrays[f"{key}/p{i}"] = p
    np.savez(path, **arrays)


def load_problems(path: str) -> Dict[str, Problem]:
    """Read the problems written by :func:`save_problems`, in their order."""
    with np.load(path) as data:
        keys = list(dict.fromkeys(name.split("/")[0] for name in data.files))
        out = {}
        for key in keys:
            n = sum(1 for name in data.files if name.startswith(f"{key}/p"))
            out[key] = Problem([data[f"{key}/p{i}"] for i in range(n)], data[f"{key}/x"],
                               data[f"{key}/y"], str(data[f"{key}/opt"]))
    return out


def peer_in_subprocess(peer: str, problems: Mapping[str, Problem], repeat: int,
                       threads: Optional[int] = None, python: Optional[str] = None,
                       tiny_per_round: int = 20, first_step: Optional[str] = None,
                       cold_keys: Sequence[str] = ()) -> Optional[dict]:
    """Time ``peer`` in a new process of ``python`` (default: this interpreter) whose
    PyTensor compile directory and numba cache are new temporary folders.

    Returns :func:`time_peer`'s result, or None when ``peer`` is not importable there. With
    ``first_step`` (an ``.npz`` path) the worker only builds the steps (no timing), writes each
    problem's parameters after its first step (``<key>/p<i>``) and first loss (``<key>/loss``)
    there, and returns the version and compile times.

    The steps are built in the order of ``problems``, so only the first one's compile is cold
    (PyTensor caches the kernels of ops the steps share). Each problem named in ``cold_keys``
    is therefore compiled once more, alone in yet another new process: that cold time is its
    ``<key>_compile``, and the time in sequence is kept as ``<key>_compile_in_sequence``.
    """
    res = _worker_process(peer, problems, repeat, threads, python, tiny_per_round, first_step)
    for key in cold_keys:
        if res is None:
            break
        res[f"{key}_compile_in_sequence"] = res[f"{key}_compile"]
        with tempfile.TemporaryDirectory(prefix="symgraph-peer-") as tmp:
            alone = _worker_process(peer, {key: problems[key]}, 1, threads, python,
                                    first_step=os.path.join(tmp, "first.npz"))
        res[f"{key}_compile"] = alone[f"{key}_compile"]
    return res


def _worker_process(peer: str, problems: Mapping[str, Problem], repeat: int,
                    threads: Optional[int], python: Optional[str], tiny_per_round: int = 20,
                    first_step: Optional[str] = None) -> Optional[dict]:
    """One run of the worker in a new process with new, empty cache folders."""
    with tempfile.TemporaryDirectory(prefix="symgraph-peer-") as tmp:
        probs, out = os.path.join(tmp, "problems.npz"), os.path.join(tmp, "result.json")
        save_problems(probs, problems)
        cache = os.path.join(tmp, "cache")
        flags = [os.environ.get("PYTENSOR_FLAGS", ""),
                 f"base_compiledir={os.path.join(tmp, 'pytensor')}"]
        env = dict(os.environ, NUMBA_CACHE_DIR=cache,
                   PYTENSOR_FLAGS=",".join(f for f in flags if f))
        env.update(thread_env(threads))
        env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
        cmd = [python or sys.executable, "-m", "benchmarks.speed_peers", "--worker", peer,
               "--problems", probs, "--out", out, "--repeat", str(repeat),
               "--tiny-per-round", str(tiny_per_round)]
        if threads:
            cmd += ["--threads", str(threads)]
        if first_step:
            cmd += ["--first-step", first_step]
        proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(f"the {peer} worker ({cmd[0]}) failed:\n{proc.stderr[-4000:]}")
        with open(out) as fh:
            return json.load(fh)


def _worker(argv: Optional[Sequence[str]] = None) -> None:
    ap = argparse.ArgumentParser(description="Time one peer's train steps (worker process).")
    ap.add_argument("--worker", required=True, choices=PEERS)
    ap.add_argument("--problems", required=True, help=".npz written by save_problems")
    ap.add_argument("--out", required=True, help="JSON result file")
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--tiny-per-round", type=int, default=20)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--first-step", default=None,
                    help=".npz for the parameters after each problem's first step")
    args = ap.parse_args(argv)
    problems = load_problems(args.problems)
    res: Optional[dict]
    if args.first_step:
        built = BUILDERS[args.worker](problems, args.threads)
        res = None
        if built is not None:
            arrays = {f"{k}/loss": np.array(v) for k, v in built.first_loss.items()}
            for key, get in built.params.items():
                arrays.update({f"{key}/p{i}": p for i, p in enumerate(get())})
            np.savez(args.first_step, **arrays)
            res = {"version": built.version, **{f"{k}_compile": v
                                                for k, v in built.compile_seconds.items()}}
    else:
        res = time_peer(args.worker, problems, args.repeat, args.tiny_per_round, args.threads)
    with open(args.out, "w") as fh:
        json.dump(res, fh)


if __name__ == "__main__":
    _worker()

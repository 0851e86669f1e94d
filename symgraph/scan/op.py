"""The ``Scan`` op (a loop around a compiled step function) and ``ScanGrad`` (its reverse loop).

A scan's inner graph maps, for one step ``t``::

    (sequence taps, recurrent-state taps, shared states, non-sequences)
        -> (next recurrent states and per-step outputs, next shared states)

``Scan.perform`` compiles that graph once into an ordinary symgraph function (one generated
NumPy function) and calls it ``n_steps`` times, writing results into preallocated histories.
The gradient (backpropagation through time) is ``ScanGrad``: the same loop run backwards over a
compiled vector-Jacobian product of the step, accumulating into the gradients of the state
histories, the sequences and the non-sequences. ``ScanGrad``'s own gradient differentiates the
same loop built symbolically (:mod:`symgraph.scan.bptt`), so derivatives of any order work.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np

from symgraph.compile.function import function
from symgraph.gradient import Lop, disconnected, grad, is_zero_gradient
from symgraph.graph import Apply, ancestors, clone_replace
from symgraph.op import Op
from symgraph.ops.elemwise import zeros_like
from symgraph.ops.variable import TensorVariable, as_tensor_variable
from symgraph.scan.bptt import bptt
from symgraph.scan.spec import ScanSpec, value_reads
from symgraph.types import TensorType, discrete_dtypes


def _contiguous(a, dtype) -> np.ndarray:
    """``a`` as a C-contiguous array of ``dtype``, copied only if needed (0-d stays 0-d, unlike
    ``np.ascontiguousarray``)."""
    a = np.asarray(a, dtype=dtype)
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


class _Compiled:
    """Lazily compiled inner functions, shared by a Scan and its gradient (not pickled)."""

    def __init__(self):
        self.step = None
        self.vjp = None

    def __getstate__(self):
        return {}

    def __setstate__(self, state):
        self.__init__()


class Scan(Op):
    """A loop over a compiled step graph.

    Inputs: ``n_steps``, the sequences, the initial states of fed-back outputs (a leading axis
    of length ``lag``), the initial values of shared states, the non-sequences.
    Outputs: the history of every output (length ``n_steps``), then the final shared states.
    Gradient: :class:`ScanGrad` (backpropagation through time).
    """

    props = ("uid",)

    def __init__(self, spec: ScanSpec):
        self.spec = spec
        self.uid = spec.uid
        self._compiled = _Compiled()

    def __str__(self):
        return f"Scan{{{self.spec.name or self.uid}}}"

    # -- graph ----------------------------------------------------------------------------
    def make_node(self, n_steps, *outer) -> Apply:
        spec = self.spec
        n_steps = as_tensor_variable(n_steps)
        outer = [as_tensor_variable(v) for v in outer]
        n_seq, n_out = len(spec.seq_taps), len(spec.out_taps)
        n_init = sum(1 for t in spec.out_taps if t)
        expected = n_seq + n_init + spec.n_shared + spec.n_nonseq
        if len(outer) != expected:
            raise TypeError(f"{self}: expected {expected} outer inputs, got {len(outer)}")
        outs = []
        for k, inner in enumerate(spec.inner_outputs[:n_out]):
            outs.append(TensorVariable(TensorType(inner.dtype, (None,) + inner.type.shape)))
        shared_inits = outer[n_seq + n_init:n_seq + n_init + spec.n_shared]
        for init in shared_inits:
            outs.append(TensorVariable(init.type))
        return Apply(self, [n_steps] + outer, outs)

    def split(self, outer: Sequence) -> Tuple[list, list, list, list]:
        spec = self.spec
        n_seq = len(spec.seq_taps)
        n_init = sum(1 for t in spec.out_taps if t)
        seqs = list(outer[:n_seq])
        inits = list(outer[n_seq:n_seq + n_init])
        shared = list(outer[n_seq + n_init:n_seq + n_init + spec.n_shared])
        nonseq = list(outer[n_seq + n_init + spec.n_shared:])
        return seqs, inits, shared, nonseq

    def infer_shape(self, node, shapes):
        return None

    # -- run --------------------------------------------------------------------------------
    def step_function(self):
        if self._compiled.step is None:
            spec = self.spec
            self._compiled.step = function(spec.inner_inputs, spec.inner_outputs, mode=spec.mode,
                                           on_unused_input="ignore", no_default_updates=True)
        return self._compiled.step

    def perform(self, n_steps, *outer):
        spec = self.spec
        seqs, inits, shared, nonseq = self.split(outer)
        if spec.go_backwards:
            seqs = [s[::-1] for s in seqs]
        n = int(n_steps)
        if n < 0:
            raise ValueError(f"{self}: n_steps must be >= 0, got {n}")
        for k, s in enumerate(seqs):
            if len(s) - spec.seq_span(k) < n:
                raise ValueError(f"{self}: sequence {k} has {len(s)} entries, too few for "
                                 f"{n} steps with taps {spec.seq_taps[k]}")
        step = self.step_function()
        lags = spec.lags
        n_out = len(spec.out_taps)
        init_iter = iter(inits)
        # fed-back outputs live in one buffer: the initial rows, then one row per step
        bufs: List[Optional[np.ndarray]] = []
        for k, taps in enumerate(spec.out_taps):
            if taps:
                init = np.asarray(next(init_iter))
                buf = np.empty((lags[k] + n,) + init.shape[1:], dtype=spec.inner_outputs[k].dtype)
                buf[:lags[k]] = init
                bufs.append(buf)
            else:
                bufs.append(None)
        hist: List[Optional[np.ndarray]] = [b[lags[k]:] if b is not None else None
                                            for k, b in enumerate(bufs)]
        state = [np.asarray(s) for s in shared]
        for t in range(n):
            res = step(*spec.step_args(t, seqs, bufs, state, nonseq))
            for k in range(n_out):
                if hist[k] is None:
                    hist[k] = np.empty((n,) + np.shape(res[k]), dtype=spec.inner_outputs[k].dtype)
                hist[k][t] = res[k]
            state = list(res[n_out:])
        for k in range(n_out):
            if hist[k] is None:  # zero steps of an output that is not fed back
                hist[k] = np.empty((0,) * (spec.inner_outputs[k].ndim + 1),
                                   dtype=spec.inner_outputs[k].dtype)
        results = tuple(hist) + tuple(state)
        return results[0] if len(results) == 1 else results

    def grad(self, inputs, outputs, output_grads):
        spec = self.spec
        n_out = len(spec.out_taps)
        n_steps, outer = inputs[0], inputs[1:]
        grads_in = []
        for out, g in zip(outputs, output_grads):
            if g is None:
                g = zeros_like(out) if out.dtype not in discrete_dtypes else out
            grads_in.append(g)
        op = ScanGrad(self)
        results = op(n_steps, *outer, *outputs[:n_out], *grads_in)
        if not isinstance(results, list):
            results = [results]
        res_iter = iter(results)
        out = [None]
        for v in outer:
            r = next(res_iter)
            out.append(None if v.dtype in discrete_dtypes else r)
        return out


class ScanGrad(Op):
    """Backpropagation through time for a :class:`Scan`.

    Inputs: the scan's inputs, its output histories, and the gradients of all its outputs.
    Outputs: one gradient per outer input of the scan (after ``n_steps``).
    Gradient: that of the same loop built symbolically (:func:`symgraph.scan.bptt.bptt`), so
    second and higher derivatives through scan are loops over loops.
    """

    props = ("uid",)

    def __init__(self, scan: Scan):
        self.scan = scan
        self.uid = scan.uid

    def __str__(self):
        return f"ScanGrad{{{self.scan.spec.name or self.uid}}}"

    def make_node(self, n_steps, *rest) -> Apply:
        rest = [as_tensor_variable(v) for v in rest]
        spec = self.scan.spec
        n_outer = len(rest) - 2 * len(spec.out_taps) - spec.n_shared
        outer = rest[:n_outer]
        outs = [TensorVariable(TensorType(v.dtype if v.dtype not in discrete_dtypes else "float64",
                                    v.type.shape)) for v in outer]
        return Apply(self, [as_tensor_variable(n_steps)] + rest, outs)

    def infer_shape(self, node, shapes):
        # each gradient has the shape of its outer input: a use of only its shape (zeros_like,
        # the seed of a second derivative) must not run the loop
        return list(shapes[1:1 + len(node.outputs)])

    def vjp_function(self):
        comp = self.scan._compiled
        if comp.vjp is None:
            spec = self.scan.spec
            float_outs = [k for k, o in enumerate(spec.inner_outputs)
                          if o.dtype not in discrete_dtypes]
            evals = [TensorVariable(TensorType(spec.inner_outputs[k].dtype,
                                         spec.inner_outputs[k].type.shape), name=f"g_{k}")
                     for k in float_outs]
            float_ins = [v for v in spec.inner_inputs if v.dtype not in discrete_dtypes]
            grads = Lop([spec.inner_outputs[k] for k in float_outs], float_ins, evals,
                        disconnected_inputs="ignore") if float_outs and float_ins else []
            n_before = len(spec.inner_inputs) - spec.n_nonseq - spec.n_shared
            used, values = ancestors(list(grads)), value_reads(list(grads))
            # a VJP that never reads the shared states (or only the shape of stable ones, such
            # as accumulators) needs no replay of their values
            reads_shared = any(
                v in values or (v in used and j not in spec.stable_shared)
                for j, v in enumerate(spec.inner_inputs[n_before:n_before + spec.n_shared]))
            comp.vjp = (function(list(spec.inner_inputs) + evals, list(grads), mode=spec.mode,
                                 on_unused_input="ignore", no_default_updates=True),
                        [spec.inner_inputs.index(v) for v in float_ins], float_outs,
                        reads_shared)
        return comp.vjp

    def perform(self, n_steps, *rest):
        scan, spec = self.scan, self.scan.spec
        n_out = len(spec.out_taps)
        n_outer = len(rest) - 2 * n_out - spec.n_shared
        outer = rest[:n_outer]
        hists = rest[n_outer:n_outer + n_out]
        g_hist = rest[n_outer + n_out:n_outer + 2 * n_out]
        g_final_shared = rest[n_outer + 2 * n_out:]
        seqs, inits, shared, nonseq = scan.split(outer)
        if spec.go_backwards:
            seqs = [s[::-1] for s in seqs]
        n = int(n_steps)
        lags = spec.lags
        vjp, float_pos, float_outs, reads_shared = self.vjp_function()

        init_list = [np.asarray(v) for v in inits]
        bufs, init_k = [], 0
        for taps, lag in zip(spec.out_taps, lags):
            if taps:
                bufs.append(np.concatenate([init_list[init_k], hists[len(bufs)]], axis=0)
                            if n else init_list[init_k])
                init_k += 1
            else:
                bufs.append(None)
        # shared states at every step must be recomputed forward (only finals are outputs)
        shared_traj = (self._shared_trajectory(n, seqs, bufs, shared, nonseq) if reads_shared
                       else [list(shared)] * n)

        g_seqs = [np.zeros(np.shape(s), dtype=np.result_type(np.asarray(s).dtype, np.float32))
                  for s in seqs]
        g_bufs = [np.zeros(b.shape, dtype=b.dtype) if b is not None else None for b in bufs]
        for k in range(n_out):
            if bufs[k] is not None:
                g_bufs[k][lags[k]:] += np.asarray(g_hist[k])
        g_nonseq = [np.zeros(np.shape(v), dtype=np.result_type(np.asarray(v).dtype, np.float32))
                    for v in nonseq]
        g_shared = [np.asarray(g, dtype=np.result_type(np.asarray(g).dtype, np.float32)).copy()
                    for g in g_final_shared]
        stop = 0 if spec.truncate_gradient < 0 else max(0, n - spec.truncate_gradient)
        for t in range(n - 1, stop - 1, -1):
            args = spec.step_args(t, seqs, bufs, shared_traj[t], nonseq)
            evals = []
            for k in range(n_out):
                evals.append(g_bufs[k][lags[k] + t] if bufs[k] is not None
                             else np.asarray(g_hist[k][t]))
            evals.extend(g_shared)
            grads = vjp(*args, *[evals[k] for k in float_outs])
            full = [None] * len(spec.inner_inputs)
            for pos, g in zip(float_pos, grads):
                full[pos] = g
            i = 0
            for k, row in spec.seq_rows(t):
                if full[i] is not None:
                    g_seqs[k][row] += full[i]
                i += 1
            for k, row in spec.state_rows(t):
                if full[i] is not None:
                    g_bufs[k][row] += full[i]
                i += 1
            for k in range(spec.n_shared):
                if full[i] is not None:
                    g_shared[k] = np.array(full[i], copy=True)
                i += 1
            for k in range(len(nonseq)):
                if full[i] is not None:
                    g_nonseq[k] += full[i]
                i += 1
        if spec.go_backwards:
            g_seqs = [g[::-1] for g in g_seqs]
        g_inits = [g_bufs[k][:lags[k]] for k in range(n_out) if bufs[k] is not None]
        results = g_seqs + g_inits + g_shared + g_nonseq
        results = tuple(_contiguous(r, v.dtype if v.dtype.kind == "f" else np.float64)
                        for r, v in zip(results, [np.asarray(o) for o in outer]))
        return results[0] if len(results) == 1 else results

    def _shared_trajectory(self, n, seqs, bufs, shared, nonseq):
        spec = self.scan.spec
        if not spec.n_shared:
            return [[] for _ in range(n)]
        step = self.scan.step_function()
        n_out = len(spec.out_taps)
        traj, state = [], [np.asarray(s) for s in shared]
        for t in range(n):
            traj.append(state)
            args = spec.step_args(t, seqs, bufs, state, nonseq)
            state = list(step(*args)[n_out:])
        return traj

    def grad(self, inputs, outputs, output_grads):
        """Differentiate the symbolic form of this loop (:func:`symgraph.scan.bptt.bptt`).

        The outputs equal ``bptt(scan, inputs)``, a reverse-time ``Scan`` of the step's VJP, so
        the gradient is ``Lop(bptt(inputs), inputs, output_grads)``; that loop's own gradient is
        again a ``ScanGrad``, which gives derivatives of any order.
        """
        spec = self.scan.spec
        n_out = len(spec.out_taps)
        # partial derivatives: the histories are functions of the other inputs, and grad would
        # follow that path too; stand-ins make every input independent
        stand_ins = [TensorVariable(v.type, name=v.name) for v in inputs]
        rest = stand_ins[1:]
        n_outer = len(rest) - 2 * n_out - spec.n_shared
        sym = bptt(self.scan, inputs[0], rest[:n_outer], rest[n_outer:n_outer + n_out],
                   rest[n_outer + n_out:])
        known = {}
        for s, g in zip(sym, output_grads):
            if s is None or g is None or is_zero_gradient(g):
                continue
            known[s] = known[s] + g if s in known else g
        wrt = [v for v in stand_ins if v.dtype not in discrete_dtypes]
        if not known or not wrt:
            return [None if v.dtype in discrete_dtypes else disconnected for v in inputs]
        grads = grad(None, wrt, known_grads=known, disconnected_inputs="ignore",
                     return_disconnected="disconnected", null_gradients="return")
        real = [g for g in grads if g is not disconnected]
        real = iter(clone_replace(real, dict(zip(stand_ins, inputs))) if real else [])
        grads = iter([g if g is disconnected else next(real) for g in grads])
        return [None if v.dtype in discrete_dtypes else next(grads) for v in inputs]

"""Backpropagation through time as a symbolic graph: a reverse-time ``Scan`` of the step's VJP.

:class:`~symgraph.scan.op.ScanGrad` computes BPTT numerically (a compiled VJP called once per
step, fast, but opaque to ``grad``). To differentiate *through* that loop (Hessian-vector
products, gradient penalties, ``grad`` of a gradient norm) ``ScanGrad.grad`` rebuilds the same
computation here as ordinary graph nodes, the way Theano's ``scan`` grad does, and
differentiates that. The reverse loop is itself a :class:`~symgraph.scan.op.Scan`, so its
gradient is again a ``ScanGrad`` and derivatives of any order follow.

For a forward step ``(x_t, h_{t+tap}, s_t, w) -> (y_t, s_{t+1})`` the backward step at ``t``
(run from ``t = n - 1`` down to the truncation point) is::

    e_k   = g_hist_k[t] + Q_k[0]              (full gradient of the value written at t)
    c     = Lop(step, (x_t, h_{t+tap}, s_t, w), (e, G_s))
    outputs per step: c_x (one per sequence tap, placed into the sequence gradients afterwards)
    fed back: Q_k[d] <- Q_k[d + 1] + c_{h, tap=-(d+1)}  (pending gradients of the lag window)
    shared-state slots: G_s <- c_s,   A_w <- A_w + c_w  (final values only)

The forward values the step needs come in as sequences: the sequence taps, the state taps read
from ``concatenate([init, history])`` and, for shared states, their trajectory (recomputed by
a forward scan in which the shared states are fed-back outputs, since the forward ``Scan``
returns only their final values).

The loops built here are of the class of the loop they differentiate (``type(scan_op)``):
:mod:`symgraph.scan.op` calls this module, so this module does not import it.
"""
from __future__ import annotations

from typing import List, Optional, Sequence

from symgraph.gradient import grad
from symgraph.graph import Variable, clone_replace
from symgraph.ops.elemwise import cast, maximum, minimum, zeros_like
from symgraph.ops.join import concatenate, stack
from symgraph.ops.shape import dimshuffle
from symgraph.ops.subtensor import inc_subtensor
from symgraph.ops.variable import TensorVariable, as_tensor_variable
from symgraph.scan.spec import ScanSpec, value_reads
from symgraph.types import TensorType, discrete_dtypes


def _is_float(v: Variable) -> bool:
    return v.dtype not in discrete_dtypes


def _leading(v: Variable) -> Variable:
    """``v`` with a new leading axis of length 1."""
    return dimshuffle(v, ("x",) + tuple(range(v.ndim)))


def _row_type(v: Variable) -> TensorType:
    return TensorType(v.dtype, v.type.shape[1:])


def shared_trajectories(scan_op, n_steps: Variable, outer: Sequence[Variable]) -> List[Variable]:
    """The value of every shared state *before* each step: one ``(n_steps, ...)`` per state.

    A copy of the forward loop in which the shared states are fed-back outputs (tap -1), so
    their histories are kept; outputs that are not fed back are dropped from it.
    """
    spec = scan_op.spec
    n_out = len(spec.out_taps)
    seqs, inits, shared, nonseq = scan_op.split(outer)
    fed = [k for k in range(n_out) if spec.out_taps[k]]
    aux = ScanSpec(seq_taps=list(spec.seq_taps),
                   out_taps=[spec.out_taps[k] for k in fed] + [(-1,)] * spec.n_shared,
                   n_shared=0, n_nonseq=spec.n_nonseq, inner_inputs=list(spec.inner_inputs),
                   inner_outputs=[spec.inner_outputs[k] for k in fed]
                   + list(spec.inner_outputs[n_out:]),
                   go_backwards=spec.go_backwards, truncate_gradient=spec.truncate_gradient,
                   mode=spec.mode, name=f"{spec.name or spec.uid}_shared_trajectory")
    loop = type(scan_op)
    results = loop(aux)(n_steps, *seqs, *inits, *[_leading(s) for s in shared], *nonseq)
    if not isinstance(results, list):
        results = [results]
    after = results[len(fed):]
    return [concatenate([_leading(s), h])[:n_steps] for s, h in zip(shared, after)]


def bptt(scan_op, n_steps: Variable, outer: Sequence[Variable], hists: Sequence[Variable],
         g_outs: Sequence[Variable]) -> List[Optional[Variable]]:
    """Symbolic gradients of a scan's outer inputs (``None`` for integer ones).

    Parameters
    ----------
    scan_op : Scan
        The forward loop.
    n_steps, outer : its inputs.
    hists : the histories of its outputs (its first ``len(out_taps)`` outputs).
    g_outs : the gradients of all its outputs (histories, then final shared states).

    Returns the same values as ``ScanGrad(scan_op)`` on these inputs, as a differentiable graph.
    """
    spec = scan_op.spec
    n_out, n_sh = len(spec.out_taps), spec.n_shared
    n = as_tensor_variable(n_steps)
    seqs, inits, shared, nonseq = scan_op.split(outer)
    g_hist, g_final_shared = list(g_outs[:n_out]), list(g_outs[n_out:])
    lags = spec.lags
    trunc = spec.truncate_gradient
    stop = maximum(0, n - trunc) if trunc >= 0 else 0

    # fresh placeholders for the forward step, so the backward step owns its graph
    ph = [TensorVariable(v.type, name=v.name) for v in spec.inner_inputs]
    fwd_out = clone_replace(list(spec.inner_outputs), dict(zip(spec.inner_inputs, ph)))
    n_seq_ph = sum(len(t) for t in spec.seq_taps)
    n_state_ph = sum(len(t) for t in spec.out_taps)
    seq_ph = ph[:n_seq_ph]
    state_ph = ph[n_seq_ph:n_seq_ph + n_state_ph]
    shared_ph = ph[n_seq_ph + n_state_ph:n_seq_ph + n_state_ph + n_sh]
    nonseq_ph = ph[n_seq_ph + n_state_ph + n_sh:]

    # outer sequences of the backward loop, one row per forward step stop..n-1
    b_seqs: List[Variable] = []
    b_seq_ph: List[Variable] = []
    seqs_eff = [s[::-1] for s in seqs] if spec.go_backwards else list(seqs)
    i = 0
    for k, taps in enumerate(spec.seq_taps):
        lo = min(taps)
        for tap in taps:
            b_seqs.append(seqs_eff[k][stop - lo + tap:n - lo + tap])
            b_seq_ph.append(seq_ph[i])
            i += 1
    i, init_k = 0, 0
    state_of: dict = {}  # output k -> {tap: placeholder}
    for k, taps in enumerate(spec.out_taps):
        if not taps:
            continue
        buf = concatenate([inits[init_k], hists[k]])
        init_k += 1
        for tap in taps:
            b_seqs.append(buf[lags[k] + stop + tap:lags[k] + n + tap])
            b_seq_ph.append(state_ph[i])
            state_of.setdefault(k, {})[tap] = state_ph[i]
            i += 1
    gh_ph = {}
    for k in range(n_out):
        if _is_float(fwd_out[k]):
            g = as_tensor_variable(g_hist[k])
            gh_ph[k] = TensorVariable(_row_type(g), name=f"g_out{k}[t]")
            b_seqs.append(g[stop:n])
            b_seq_ph.append(gh_ph[k])

    # carried values: the pending state gradients are fed-back outputs (their histories are
    # what a further derivative of this loop reads); shared-state gradients and non-sequence
    # accumulators live in shared-state slots (final value only)
    pending_ph, pending_init = [], []
    pending = {}  # output k -> [Q[0], ..., Q[lag-1]]
    for k, taps in enumerate(spec.out_taps):
        if taps and _is_float(fwd_out[k]):
            init = inits[sorted(state_of).index(k)]
            pending[k] = [TensorVariable(_row_type(init), name=f"pending{k}[{d}]")
                          for d in range(lags[k])]
            pending_ph += pending[k]
            pending_init += [_leading(zeros_like(init[0]))] * lags[k]
    carried_ph, carried_init = [], []
    g_sh_ph = {}
    for j in range(n_sh):
        if _is_float(shared[j]):
            g_sh_ph[j] = TensorVariable(shared[j].type, name=f"g_shared{j}")
            carried_ph.append(g_sh_ph[j])
            carried_init.append(cast(g_final_shared[j], shared[j].dtype)
                                if g_final_shared[j].dtype != shared[j].dtype
                                else g_final_shared[j])
    acc_ph = {}
    for j in range(spec.n_nonseq):
        if _is_float(nonseq[j]):
            acc_ph[j] = TensorVariable(nonseq_ph[j].type, name=f"acc{j}")
            carried_ph.append(acc_ph[j])
            carried_init.append(zeros_like(nonseq[j]))

    # the step's vector-Jacobian product
    known = {}
    for k in range(n_out):
        if k in gh_ph:
            e = gh_ph[k] + pending[k][0] if k in pending else gh_ph[k]
            known[fwd_out[k]] = known[fwd_out[k]] + e if fwd_out[k] in known else e
    for j, p in g_sh_ph.items():
        o = fwd_out[n_out + j]
        known[o] = known[o] + p if o in known else p
    wrt = [p for p in ph if _is_float(p)]
    grads = dict(zip(wrt, grad(None, wrt, known_grads=known, disconnected_inputs="ignore",
                               null_gradients="return"))) if known and wrt else {}

    def g_of(p: Variable) -> Variable:
        g = grads.get(p)
        return zeros_like(p) if g is None else g

    # shared states: their values before each step, replayed by a forward copy of the loop,
    # unless the step reads only the shape of a stable one (an accumulator of a derived loop):
    # then its initial value stands for all steps, as a non-sequence
    values = value_reads(list(grads.values()))
    replay = [j for j in range(n_sh) if j not in spec.stable_shared or shared_ph[j] in values]
    if replay:
        trajs = shared_trajectories(scan_op, n, outer)
        for j in replay:
            b_seqs.append(trajs[j][stop:])
            b_seq_ph.append(shared_ph[j])
    fixed = [j for j in range(n_sh) if j not in replay]
    b_nonseq_ph = list(nonseq_ph) + [shared_ph[j] for j in fixed]
    b_nonseq = list(nonseq) + [shared[j] for j in fixed]

    step_outs = [g_of(p) for p in seq_ph if _is_float(p)]
    new_pending, new_carried = [], []
    for k, q in pending.items():
        c = {tap: g_of(p) for tap, p in state_of[k].items()}
        for d in range(lags[k]):
            tap = -(d + 1)
            nxt = q[d + 1] if d + 1 < lags[k] else None
            term = c.get(tap)
            new = nxt if term is None else (term if nxt is None else nxt + term)
            new_pending.append(new if new is not None else zeros_like(q[d]))
    for j in g_sh_ph:
        new_carried.append(g_of(shared_ph[j]))
    for j, a in acc_ph.items():
        new_carried.append(a + g_of(nonseq_ph[j]))
    new_pending, new_carried = ([cast(v, p.dtype) if v.dtype != p.dtype else v
                                 for v, p in zip(new, phs)]
                                for new, phs in ((new_pending, pending_ph),
                                                 (new_carried, carried_ph)))

    m = n - stop
    n_steps_out = len(step_outs)
    bspec = ScanSpec(seq_taps=[(0,)] * len(b_seqs),
                     out_taps=[()] * n_steps_out + [(-1,)] * len(pending_ph),
                     n_shared=len(carried_ph), n_nonseq=len(b_nonseq),
                     inner_inputs=b_seq_ph + pending_ph + carried_ph + b_nonseq_ph,
                     inner_outputs=step_outs + new_pending + new_carried, go_backwards=True,
                     mode=spec.mode, name=f"grad_of_{spec.name or spec.uid}",
                     stable_shared=tuple(range(len(g_sh_ph), len(carried_ph))))
    results = type(scan_op)(bspec)(m, *b_seqs, *pending_init, *carried_init, *b_nonseq)
    if not isinstance(results, list):
        results = [results]
    step_hists = iter(results[:n_steps_out])
    # the value after the last step (the initial one when the loop runs no step)
    pending_final = iter(concatenate([i0, h])[-1] for i0, h in zip(
        pending_init, results[n_steps_out:n_steps_out + len(pending_ph)]))
    finals = iter(results[n_steps_out + len(pending_ph):])

    out: List[Optional[Variable]] = []
    i = 0
    for k, taps in enumerate(spec.seq_taps):
        if not _is_float(seqs[k]):
            out.append(None)
            continue
        lo = min(taps)
        g = zeros_like(seqs[k])
        for tap in taps:
            h = next(step_hists)[::-1]  # backward order -> forward steps stop..n-1
            g = inc_subtensor(g[stop - lo + tap:n - lo + tap], h)
        out.append(g[::-1] if spec.go_backwards else g)
    for k, taps in enumerate(spec.out_taps):
        if not taps:
            continue
        if k not in pending:
            out.append(None)
            continue
        q = [next(pending_final) for _ in range(lags[k])]
        # q[d] is the gradient of buffer row stop + lag - 1 - d; rows < lag are the initial ones
        rows = stack(q[::-1]) if lags[k] > 1 else _leading(q[0])
        if trunc >= 0:
            lag = lags[k]
            shift = minimum(stop, lag)
            rows = concatenate([zeros_like(rows), rows])[lag - shift:2 * lag - shift]
        out.append(rows)
    for j in range(n_sh):
        out.append(next(finals) if j in g_sh_ph else None)
    for j in range(spec.n_nonseq):
        out.append(next(finals) if j in acc_ph else None)
    return out

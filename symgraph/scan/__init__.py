"""``scan``: loops over sequences and recurrent states, in Theano's spelling.

``scan`` calls the step function once, on placeholders, to build the inner graph; every
variable the step uses without receiving it as an argument (shared weights, random-stream
states, other outer variables) becomes an implicit non-sequence, and every shared variable the
step updates (explicitly, or as the default update of a random draw) becomes a state threaded
through the steps whose final value is returned in ``updates``.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Tuple

from symgraph.graph import Constant, Variable, clone_replace, graph_inputs
from symgraph.ops.variable import TensorVariable, as_tensor_variable
from symgraph.ops.elemwise import minimum
from symgraph.ops.shape import dimshuffle, shape_i
from symgraph.scan.op import Scan, ScanGrad  # noqa: F401
from symgraph.scan.spec import ScanSpec  # noqa: F401
from symgraph.shared import SharedVariable
from symgraph.types import TensorType


def _normalize_sequences(sequences) -> List[Tuple[Variable, Tuple[int, ...]]]:
    if sequences is None:
        return []
    if not isinstance(sequences, (list, tuple)):
        sequences = [sequences]
    out = []
    for s in sequences:
        if isinstance(s, dict):
            var, taps = s["input"], tuple(sorted(s.get("taps", [0])))
        else:
            var, taps = s, (0,)
        var = as_tensor_variable(var)
        if var.ndim < 1:
            raise TypeError(f"scan: sequence {var} must have at least one dimension")
        out.append((var, taps))
    return out


def _normalize_outputs_info(outputs_info) -> Optional[List[Tuple[Optional[Variable], tuple]]]:
    if outputs_info is None:
        return None
    if not isinstance(outputs_info, (list, tuple)):
        outputs_info = [outputs_info]
    out = []
    for o in outputs_info:
        if o is None:
            out.append((None, ()))
        elif isinstance(o, dict):
            init = o.get("initial")
            if init is None:
                out.append((None, ()))
                continue
            taps = tuple(sorted(o.get("taps", [-1])))
            if any(t >= 0 for t in taps):
                raise ValueError(f"scan: output taps must be negative, got {taps}")
            out.append((as_tensor_variable(init), taps))
        else:
            out.append((as_tensor_variable(o), (-1,)))
    return out


def _split_result(result) -> Tuple[list, Dict]:
    """A step returns outputs, (outputs, updates), (updates, outputs) or updates."""
    updates: Any = {}
    outputs: Any = result
    if isinstance(result, dict):
        return [], dict(result)
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict):
        outputs, updates = result
    elif isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], dict):
        updates, outputs = result
    if outputs is None:
        outputs = []
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    if isinstance(updates, (list, tuple)):
        updates = OrderedDict(updates)
    return [as_tensor_variable(o) for o in outputs], OrderedDict(updates)


def scan(fn, sequences=None, outputs_info=None, non_sequences=None, n_steps=None,
         truncate_gradient: int = -1, go_backwards: bool = False, mode=None,
         name: Optional[str] = None, profile=False, allow_gc=None, strict: bool = False,
         return_list: bool = False):
    """Apply ``fn`` over steps, feeding back outputs; returns ``(outputs, updates)``.

    Parameters
    ----------
    fn : callable
        Called with, in order: one argument per sequence tap, one per fed-back output tap,
        then the non-sequences. Returns the step's outputs, optionally with an updates dict.
    sequences : Variable, dict(input=, taps=[...]) or a list of them
        Iterated over their first axis.
    outputs_info : list of None, initial states, or dict(initial=, taps=[-1, ...])
        ``None`` for outputs that are not fed back.
    non_sequences : list of Variable
        Passed unchanged to every step.
    n_steps : int or scalar Variable
        Number of steps (required without sequences).
    truncate_gradient : int
        Backpropagate through at most this many steps (-1: all).
    go_backwards : bool
        Iterate the sequences from the end.

    Returns
    -------
    outputs : Variable or list of Variable
        The history of each output (first axis: steps), without the initial states.
    updates : OrderedDict
        ``shared variable -> value after the last step`` for every shared variable the step
        updates (including random-stream states); pass it to ``function(updates=...)``.

    The gradient is backpropagation through time (:class:`symgraph.scan.op.ScanGrad`), w.r.t.
    sequences, initial states and non-sequences (explicit or implicit, such as shared
    weights). It can be differentiated again (Hessian-vector products, gradient penalties):
    see :mod:`symgraph.scan.bptt`.
    """
    seqs = _normalize_sequences(sequences)
    outs_info = _normalize_outputs_info(outputs_info)
    non_seqs = [] if non_sequences is None else (
        list(non_sequences) if isinstance(non_sequences, (list, tuple)) else [non_sequences])
    non_seqs = [v if isinstance(v, Variable) else as_tensor_variable(v) for v in non_seqs]

    seq_args, placeholders = [], set()
    for var, taps in seqs:
        for tap in taps:
            ph = TensorVariable(TensorType(var.dtype, var.type.shape[1:]),
                          name=f"{var.name or 'seq'}[t{tap:+d}]")
            seq_args.append(ph)
    out_args, inits = [], []
    for init, taps in outs_info or []:
        if init is None:
            continue
        if taps == (-1,):
            step_type = init.type
            outer_init = dimshuffle(init, ("x",) + tuple(range(init.ndim)))
        else:
            if init.ndim < 1:
                raise TypeError(f"scan: initial value {init} for taps {taps} needs a leading "
                                f"axis of length {-min(taps)}")
            step_type = TensorType(init.dtype, init.type.shape[1:])
            outer_init = init[-(-min(taps)):] if init.type.shape[0] != -min(taps) else init
        inits.append(outer_init)
        for tap in taps:
            out_args.append(TensorVariable(step_type, name=f"{init.name or 'state'}[t{tap:+d}]"))
    placeholders.update(seq_args, out_args)

    outputs, step_updates = _split_result(fn(*(seq_args + out_args + non_seqs)))
    if outs_info is None:
        outs_info = [(None, ())] * len(outputs)
    if len(outputs) != len(outs_info):
        raise ValueError(f"scan: the step returned {len(outputs)} outputs but outputs_info has "
                         f"{len(outs_info)} entries")
    k_arg = 0
    for k, ((init, taps), out) in enumerate(zip(outs_info, outputs)):
        if init is None:
            continue
        want = out_args[k_arg].type
        k_arg += len(taps)
        if out.dtype != want.dtype or out.ndim != want.ndim:
            raise TypeError(f"scan: output {k} of the step has type {out.type} but its initial "
                            f"state has type {want}; make them agree (e.g. T.cast the output or "
                            f"the initial value)")

    # default updates of shared variables used inside the step (random streams)
    updates = OrderedDict(step_updates)
    frontier = list(outputs) + list(updates.values())
    while frontier:
        found = []
        for v in graph_inputs(frontier):
            if isinstance(v, SharedVariable) and v.default_update is not None and \
                    v not in updates:
                updates[v] = v.default_update
                found.append(v.default_update)
        frontier = found
    for target, value in list(updates.items()):
        if not isinstance(target, SharedVariable):
            raise TypeError(f"scan: update target {target} is not a shared variable")
        value = as_tensor_variable(value)
        if value.dtype != target.dtype or value.ndim != target.ndim:
            raise TypeError(f"scan: update of {target} has type {value.type}, expected "
                            f"{target.type}")
        updates[target] = value

    shared_states = list(updates)
    inner_outs = list(outputs) + [updates[s] for s in shared_states]
    replace: Dict[Variable, Variable] = {}
    shared_phs = []
    for s in shared_states:
        ph = TensorVariable(s.type, name=f"{s.name or 'shared'}[t]")
        replace[s] = ph
        shared_phs.append(ph)
    nonseq_outer, nonseq_phs = [], []
    for v in graph_inputs(inner_outs):
        if v in placeholders or v in replace or isinstance(v, Constant):
            continue
        ph = TensorVariable(v.type, name=v.name)
        replace[v] = ph
        nonseq_outer.append(v)
        nonseq_phs.append(ph)
    inner_outs = clone_replace(inner_outs, replace) if replace else inner_outs

    if n_steps is None and not seqs:
        raise ValueError("scan: give n_steps when there are no sequences")
    steps = None
    for var, taps in seqs:
        length = shape_i(var, 0)
        span = max(taps) - min(taps)
        avail = length - span if span else length
        steps = avail if steps is None else minimum(steps, avail)
    if n_steps is not None:
        n_steps = as_tensor_variable(n_steps) if not isinstance(n_steps, int) else n_steps
        steps = n_steps if steps is None else minimum(steps, n_steps)
    steps = as_tensor_variable(steps)
    if steps.ndim != 0 or steps.dtype.startswith("float"):
        raise TypeError(f"scan: n_steps must be an integer scalar, got {steps.type}")

    spec = ScanSpec(seq_taps=[taps for _, taps in seqs],
                    out_taps=[taps for _, taps in outs_info], n_shared=len(shared_states),
                    n_nonseq=len(nonseq_outer),
                    inner_inputs=seq_args + out_args + shared_phs + nonseq_phs,
                    inner_outputs=inner_outs, go_backwards=go_backwards,
                    truncate_gradient=truncate_gradient, mode=mode, name=name)
    op = Scan(spec)
    results = op(steps, *[v for v, _ in seqs], *inits, *shared_states, *nonseq_outer)
    if not isinstance(results, list):
        results = [results]
    n_out = len(outs_info)
    histories, finals = results[:n_out], results[n_out:]
    new_updates = OrderedDict(zip(shared_states, finals))
    if len(histories) == 1 and not return_list:
        return histories[0], new_updates
    return histories, new_updates

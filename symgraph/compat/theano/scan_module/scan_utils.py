"""``theano.scan_module.scan_utils``: the graph helpers programs borrow from scan (``clone``,
``equal_computations``, ``safe_new``...)."""
from __future__ import annotations

import numpy as np

from symgraph.graph import Constant, Variable, clone_replace
from symgraph.compat.theano.gof.graph import (clone_get_equiv, equal_computations,  # noqa
                                              inputs as _graph_inputs)


def clone(output, replace=None, strict: bool = True, share_inputs: bool = True,
          copy_inputs=None):
    """A copy of the graph of ``output`` (a variable or a list) with the substitutions
    ``replace`` (a dict or pairs ``old -> new``); with ``share_inputs`` the copy reads the
    same input variables, otherwise copies of them."""
    single = not isinstance(output, (list, tuple))
    outs = [output] if single else list(output)
    if copy_inputs is not None:
        share_inputs = not copy_inputs
    pairs = list(replace.items()) if isinstance(replace, dict) else list(replace or [])
    if pairs:
        subs = {}
        for old, new in pairs:
            if not isinstance(new, Variable):
                from symgraph.ops.variable import as_tensor_variable
                new = as_tensor_variable(new, dtype=old.dtype)
            if strict and (new.dtype != old.dtype or new.ndim != old.ndim):
                raise TypeError(f"clone: {new} of type {new.type} cannot replace {old} of type "
                                f"{old.type} (strict=True)")
            subs[old] = new
        outs = clone_replace(outs, subs)
    ins = _graph_inputs(outs)
    equiv = clone_get_equiv(ins, outs, copy_inputs=not share_inputs,
                            copy_orphans=not share_inputs)
    result = [equiv.get(o, o) for o in outs]
    return result[0] if single else result


def safe_new(x: Variable, tag: str = "", dtype=None) -> Variable:
    """A new input variable of ``x``'s type (a constant stays itself)."""
    if isinstance(x, Constant):
        return x
    t = x.type if dtype is None else x.type.clone(dtype=dtype)
    name = (x.name + tag) if x.name else None
    return t(name)


class until:
    """Theano's ``scan`` stop condition (a while loop)."""

    def __init__(self, condition):
        raise NotImplementedError("scan with theano.scan_module.until (a loop that stops on a "
                                  "condition) is not supported; run n_steps steps and mask "
                                  "the results after the condition holds")


def get_updates_and_outputs(ls):
    """``(condition, outputs, updates)`` from what a scan step returned."""
    from collections import OrderedDict
    if isinstance(ls, tuple) and len(ls) == 2 and isinstance(ls[1], dict):
        return None, _as_list(ls[0]), OrderedDict(ls[1])
    if isinstance(ls, dict):
        return None, [], OrderedDict(ls)
    return None, _as_list(ls), OrderedDict()


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def isNaN_or_Inf_or_None(x) -> bool:
    """True for None, or a constant that is NaN or infinite."""
    if x is None:
        return True
    try:
        value = x.data if isinstance(x, Constant) else np.asarray(x)
        return bool(np.isnan(value) or np.isinf(value))
    except (TypeError, ValueError):
        return False


def expand_empty(tensor_var, size):
    """``tensor_var`` with ``size`` rows of zeros appended along the first axis."""
    import symgraph.tensor as T
    if size == 0:
        return tensor_var
    shapes = [tensor_var.shape[i] for i in range(tensor_var.ndim)]
    empty = T.zeros([size] + shapes[1:], dtype=tensor_var.dtype)
    return T.concatenate([tensor_var, empty])


def forced_replace(out, x, y):
    """``out`` with every variable equal (structurally) to ``x`` replaced by ``y``."""
    from symgraph.compat.theano.gof.graph import ancestors
    found = [v for v in ancestors([out]) if equal_computations([v], [x])]
    if not found:
        return out
    return clone_replace([out], {v: y for v in found})[0]


def reconstruct_graph(inputs, outputs, tag=None):
    """``(new inputs, new outputs)``: copies of the inputs and the graph over them."""
    tag = tag or ""
    new_inputs = [safe_new(x, tag) for x in inputs]
    new_outputs = clone_replace(list(outputs), dict(zip(inputs, new_inputs)))
    return new_inputs, new_outputs


def hash_listsDictsTuples(x) -> int:
    if isinstance(x, dict):
        return hash(tuple(sorted((k, hash_listsDictsTuples(v)) for k, v in x.items())))
    if isinstance(x, (list, tuple)):
        return hash(tuple(hash_listsDictsTuples(v) for v in x))
    return hash(x)


def infer_shape(outs, inputs, input_shapes):
    """Symbolic shapes of ``outs`` given the shapes of ``inputs`` (lists of dims)."""
    from symgraph.rewrite.shapes import infer_shape as _infer
    memo = {i: tuple(s) for i, s in zip(inputs, input_shapes)}
    return [_infer(o, memo) for o in outs]


DEPRECATED_ARG = object()


def traverse(out, x, x_copy, d, visited=None):
    raise NotImplementedError("scan_utils.traverse (GPU transfer helper) has no counterpart")


def map_variables(replacer, graphs, additional_inputs=None):
    """``graphs`` with every variable ``v`` replaced by ``replacer(v)`` (bottom-up).

    The inner graphs of scan nodes are not entered, so ``additional_inputs`` (Theano's inputs
    for the replacements made inside them) cannot be given: a value raises.
    """
    if additional_inputs:
        raise NotImplementedError("map_variables(additional_inputs=...): the inner graphs of "
                                  "scan nodes are not entered, so there is nothing to add "
                                  "them to; call it without additional_inputs")
    from symgraph.compat.theano.gof.graph import ancestors
    outs = list(graphs)
    subs = {}
    for v in reversed(ancestors(outs)):
        new = replacer(v)
        if new is not v:
            subs[v] = new
    return clone_replace(outs, subs) if subs else outs


def compress_outs(*args, **kwargs):
    raise NotImplementedError("scan_utils.compress_outs (scan's internal optimization) has no "
                              "counterpart")


scan_can_remove_outs = scan_args = Validator = compress_outs

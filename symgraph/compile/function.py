"""``function(...)``: compile a graph into a callable that applies shared-variable updates."""
from __future__ import annotations

import copy
import threading
import time
import warnings
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Tuple

from symgraph import backends
from symgraph.compile import emit
from symgraph.gc_pause import gc_paused
from symgraph.compile.mode import Mode, get_mode
from symgraph.compile.pipeline import optimize
from symgraph.compile.profile import ProfileStats
from symgraph.fgraph import FunctionGraph
from symgraph.graph import Constant, Variable, clone_replace, graph_inputs
from symgraph.ops import namespace
from symgraph.ops.variable import as_tensor_variable
from symgraph.shared import SharedVariable


class In:
    """An explicit input with an optional default ``value`` and keyword ``name``.

    ``strict`` (no conversion of the value at all) and ``allow_downcast`` (this input's own
    downcasting rule) are honoured. ``mutable`` and ``borrow`` change nothing: Theano let the
    function overwrite the value passed (``mutable``) or keep it aliased (``borrow``); the
    generated code never writes into an input's value and keeps none between calls, which
    either flag allows. ``implicit=True`` (an input left out of the call's arguments, as
    Theano's shared variables were) is refused: every input given here is an argument.
    """

    def __init__(self, variable: Variable, name: Optional[str] = None, value: Any = None,
                 update=None, mutable: bool = False, strict: bool = False,
                 allow_downcast: Optional[bool] = None, borrow: bool = False,
                 implicit: bool = False):
        if not isinstance(variable, Variable):
            raise TypeError(f"In() takes a symbolic variable, got {type(variable).__name__}")
        self.variable = variable
        self.name = name if name is not None else variable.name
        self.value = value
        self.has_default = value is not None
        self.allow_downcast = allow_downcast
        self.strict = strict
        if update is not None:
            raise NotImplementedError("In(update=...) is not supported; pass updates=")
        if implicit:
            raise NotImplementedError("In(implicit=True) is not supported: every input of "
                                      "symgraph.function is an argument of the call; read a "
                                      "value implicitly with a shared variable")


class Out:
    """An output; ``borrow`` is accepted for Theano compatibility (outputs are never aliased
    to storage that later calls overwrite)."""

    def __init__(self, variable: Variable, borrow: bool = False):
        self.variable = variable
        self.borrow = borrow


def _input_policy(i: In, spec: dict):
    """How the input's value is converted: 'strict' (not at all), or the allow_downcast flag
    (the input's own, else the function's)."""
    if i.strict:
        return "strict"
    return i.allow_downcast if i.allow_downcast is not None else spec["allow_input_downcast"]


def _as_in(x) -> In:
    return x if isinstance(x, In) else In(x)


def _normalize_updates(updates) -> List[Tuple[SharedVariable, Variable]]:
    if updates is None:
        return []
    if isinstance(updates, dict):
        if not isinstance(updates, OrderedDict) and len(updates) > 1 and \
                type(updates) is not dict:
            warnings.warn("updates given as an unordered mapping", stacklevel=3)
        pairs = list(updates.items())
    else:
        pairs = list(updates)
    out, seen, storage = [], set(), {}
    for pair in pairs:
        try:
            target, value = pair
        except (TypeError, ValueError):
            raise TypeError(f"updates must be (shared_variable, new_value) pairs, got {pair!r}")
        if not isinstance(target, SharedVariable):
            raise TypeError(f"update target {target!r} is not a shared variable; only "
                            f"variables made with symgraph.shared() can be updated")
        if target in seen:
            raise ValueError(f"shared variable {target} is updated twice")
        seen.add(target)
        first = storage.setdefault(id(target.container), target)
        if first is not target:  # W and W.clone(): one storage, one update would be lost
            raise ValueError(f"shared variables {first} and {target} are one storage (a clone "
                             f"shares its original's) and both are updated: only one update "
                             f"would be kept; update it once")
        if not isinstance(value, Variable):
            value = as_tensor_variable(value, dtype=target.dtype)
        if value.dtype != target.dtype:
            raise TypeError(
                f"update of shared variable {target} (type {target.type}) has dtype "
                f"{value.dtype}; an update must keep the dtype: cast it with "
                f"T.cast(new_value, '{target.dtype}')")
        if value.ndim != target.ndim:
            raise TypeError(f"update of shared variable {target} (a {target.ndim}-d "
                            f"{target.dtype}) is {value.ndim}-d")
        for axis, (want, got) in enumerate(zip(target.type.shape, value.type.shape)):
            if want is not None and got is not None and want != got:
                raise ValueError(f"update of {target}: dimension {axis} is {got}, the shared "
                                 f"variable's type says {want}")
        out.append((target, value))
    return out


def _apply_givens(outputs, updates, givens, strict: bool = True):
    """Substitute ``givens``. ``strict``: a value must have the dtype and rank of the variable
    it replaces; otherwise the graph after it is rebuilt with the types that follow (and the
    updates must still keep their shared variables' types)."""
    if not givens:
        return outputs, updates
    items = givens.items() if isinstance(givens, dict) else givens
    replace = {}
    for old, new in items:
        if not isinstance(old, Variable):
            raise TypeError(f"givens keys must be symbolic variables, got {old!r}")
        if not isinstance(new, Variable):
            new = as_tensor_variable(new, dtype=old.dtype if strict else None)
        else:
            new = as_tensor_variable(new)
        if strict and (new.dtype != old.dtype or new.ndim != old.ndim):
            raise TypeError(f"givens: {new} of type {new.type} cannot replace {old} of type "
                            f"{old.type} (dtype and rank must agree; rebuild_strict=False "
                            f"lets the type change)")
        if new.ndim == old.ndim:
            # the graph relies on old's static dims: a value contradicting them is refused
            new = namespace.T.specify_shape(new, old.type.shape, f"givens: the value for {old}")
        replace[old] = new
    vals = clone_replace(list(outputs) + [v for _, v in updates], replace, strict=strict)
    n = len(outputs)
    new_updates = [(t, v) for (t, _), v in zip(updates, vals[n:])]
    check_rebuilt_updates(new_updates, "givens (rebuild_strict=False)")
    return vals[:n], new_updates


def check_rebuilt_updates(updates, what: str) -> None:
    """Refuse an update whose value a substitution (``what``) turned into another dtype or
    rank than its shared variable's."""
    for t, v in updates:
        if v.dtype != t.dtype or v.ndim != t.ndim:
            raise TypeError(f"{what} make the update of shared variable {t} (type {t.type}) a "
                            f"{v.type}; an update must keep the type of its variable: cast it "
                            f"or give a value of the replaced type")


def _add_default_updates(outputs, updates, no_default_updates):
    if no_default_updates is True:
        return updates
    skip = set(no_default_updates or ())
    updates = list(updates)
    targets = {id(t.container) for t, _ in updates}  # storage: a clone shares its original's
    frontier = list(outputs) + [v for _, v in updates]
    while frontier:
        found = []
        for v in graph_inputs(frontier):
            if isinstance(v, SharedVariable) and v.default_update is not None and \
                    id(v.container) not in targets and v not in skip:
                updates.append((v, v.default_update))
                targets.add(id(v.container))
                found.append(v.default_update)
        frontier = found
    return updates


class Function:
    """A compiled function. Call it with input values; it returns NumPy arrays (0-d for
    scalars), one per output (a single array when compiled with a single output).

    Attributes
    ----------
    source : str
        The generated Python source: the function, then the source of every kernel it calls.
    kernels : dict
        The back end's kernels the function calls, by the name it calls them by.
    backend : str or None
        The back end that computes the fused programs (``'numpy'``, ``'numba'``, ...: what
        the mode's ``'auto'`` resolved to when the function was compiled), None for the
        unfused linker; the first line of :attr:`source` names it with its kernel cache.
    fgraph : FunctionGraph
        The rewritten graph that was compiled.
    compile_time : float
        Seconds spent in rewrites and code generation.
    """

    def __init__(self, spec: dict):
        self._spec = spec
        self._build()

    def _build(self) -> None:
        with gc_paused():  # linear compile time on large graphs: see symgraph.gc_pause
            self._compile()

    def _compile(self) -> None:
        spec = self._spec
        t0 = time.perf_counter()
        mode: Mode = spec["mode"]
        ins: List[In] = spec["inputs"]
        explicit = [i.variable for i in ins]
        outputs, updates = spec["outputs"], spec["updates"]
        # default updates first: their graphs (e.g. a draw of size x.shape) need givens too
        updates = _add_default_updates(outputs, updates, spec["no_default_updates"])
        outputs, updates = _apply_givens(outputs, updates, spec["givens"],
                                         spec.get("rebuild_strict", True))
        all_outs = list(outputs) + [v for _, v in updates]
        inputs_needed = graph_inputs(all_outs, stop=explicit)
        for v in inputs_needed:
            if v.owner is None and not isinstance(v, (Constant, SharedVariable)) and \
                    v not in explicit:
                raise ValueError(f"the graph needs input {v} (type {v.type}) but it is not in "
                                 f"the inputs of the function; pass it in inputs or givens")
        used = set(inputs_needed)
        for v in explicit:
            if v not in used:
                msg = (f"input {v} is not used in the graph of the outputs and updates; pass "
                       f"on_unused_input='ignore' (or 'warn') to allow it")
                policy = spec["on_unused_input"]
                if policy == "raise":
                    raise ValueError(msg)
                if policy == "warn":
                    warnings.warn(msg, stacklevel=4)
        shared = [v for v in inputs_needed if isinstance(v, SharedVariable)]
        for t, _ in updates:
            if t not in shared:
                shared.append(t)
        fgraph = FunctionGraph(explicit + shared, all_outs)
        optimize(fgraph, mode)
        update_targets = [shared.index(t) for t, _ in updates]
        profile = spec.get("profile")
        if profile is None:  # not given: the mode says (PROFILE_MODE profiles)
            profile = mode.profile
        if profile is True:
            profile = ProfileStats(spec["name"])
        elif profile is False:
            profile = None
        # the back end that runs the fused programs ('auto' resolved once, here), or None for
        # the unfused linker (FAST_COMPILE, the checking modes)
        self.backend = backends.resolve(mode.backend) if mode.fuse and not mode.check else None
        source, ns, kernels = emit.generate(
            fgraph, explicit, shared, len(outputs), update_targets, check=mode.check,
            name=spec["name"] or "compiled", allow_downcast=[_input_policy(i, spec) for i in ins],
            fuse=mode.fuse, backend=self.backend or "numpy", profile=profile)
        #: the :class:`ProfileStats` of a function compiled with ``profile``, else None
        self.profile = profile
        code = compile(source, f"<symgraph {spec['name'] or 'function'}>", "exec")
        exec(code, ns)
        self._fn = ns[spec["name"] or "compiled"]
        self._main_source = source
        self.kernels = kernels
        self.fgraph = fgraph
        self.inputs = ins
        self.mode = mode
        self._names = {}
        for k, i in enumerate(ins):
            if i.name:
                # a name shared by two inputs cannot be used as a keyword (None marks it)
                self._names[i.name] = None if i.name in self._names else k
        self._defaults = [i.value for i in ins]
        self._has_default = [i.has_default for i in ins]
        self._single = spec["single"]
        self.updates = updates
        # calls run one at a time: the generated code reuses its buffers across calls; and a
        # call holds the lock of every shared variable it reads or updates, taken in one
        # global order, so calls of different functions that share a variable take turns
        # (each sees whole commits of the others) and never wait for each other in a circle
        self._lock = threading.Lock()
        cells = sorted({id(v.container): v.container for v in shared}.values(),
                       key=lambda c: c.serial)
        self._locks = [self._lock] + [c.lock for c in cells]
        self.compile_time = time.perf_counter() - t0
        if profile is not None:
            profile.compile_time += self.compile_time

    def __call__(self, *args, **kwargs):
        n = len(self.inputs)
        if not kwargs and len(args) == n:
            values = args
        else:
            values = self._bind(args, kwargs)
        held = 0
        try:
            for lock in self._locks:
                lock.acquire()
                held += 1
            out = self._fn(*values)
        except Exception as exc:
            self._annotate(exc)
            raise
        finally:
            for lock in self._locks[held - 1::-1] if held else ():
                lock.release()
        return out[0] if self._single else out

    def _annotate(self, exc: BaseException) -> None:
        """Add to ``exc`` the generated line (and the op it computes) that raised it."""
        tb, lineno = exc.__traceback__, None
        while tb is not None:
            if tb.tb_frame.f_code is self._fn.__code__:
                lineno = tb.tb_lineno
            tb = tb.tb_next
        if lineno is None or not hasattr(exc, "add_note"):
            return
        lines = self._main_source.splitlines()
        line = lines[lineno - 1].strip()
        where = line
        if "  # " not in line:
            # a fused kernel spans several lines: its comment line names the node
            for k in range(lineno - 2, 0, -1):
                if lines[k].lstrip().startswith("#") or "  # " in lines[k]:
                    where = f"{lines[k].strip()} / {line}"
                    break
        exc.add_note(f"symgraph: raised in {self.name}, generated line {lineno}: {where} "
                     f"(see f.source)")

    def _bind(self, args, kwargs) -> list:
        n = len(self.inputs)
        if len(args) > n:
            raise TypeError(f"{self.name}: takes {n} inputs "
                            f"({', '.join(str(i.name or i.variable) for i in self.inputs)}), "
                            f"got {len(args)}")
        values = list(args) + [None] * (n - len(args))
        given = [True] * len(args) + [False] * (n - len(args))
        for key, val in kwargs.items():
            if key not in self._names:
                raise TypeError(f"{self.name}: unknown keyword input {key!r}; inputs are "
                                f"{[i.name for i in self.inputs]}")
            k = self._names[key]
            if k is None:
                raise TypeError(f"{self.name}: keyword {key!r} is ambiguous: several inputs "
                                f"are named so; pass them by position")
            if given[k]:
                raise TypeError(f"{self.name}: input {key!r} given twice")
            values[k], given[k] = val, True
        for k in range(n):
            if not given[k]:
                if not self._has_default[k]:
                    raise TypeError(f"{self.name}: missing value for input "
                                    f"{self.inputs[k].name or k} (no default)")
                values[k] = self._defaults[k]
        return values

    @property
    def source(self) -> str:
        parts = [self._main_source]
        for name, kernel in self.kernels.items():
            parts.append(f"\n# ---- kernel {name}: {type(kernel).__name__} ----\n"
                         f"{kernel.source.rstrip()}\n")
        return "".join(parts)

    @property
    def name(self) -> str:
        return self._spec["name"] or "function"

    @property
    def maker(self):
        return self

    def __repr__(self) -> str:
        return f"<symgraph.Function {self.name}: {len(self.inputs)} inputs, " \
               f"{len(self.fgraph.apply_nodes)} nodes>"

    # Functions are rebuilt from their specification: deep copies and pickles carry the
    # graph (and its shared variables), never the generated code.
    def __getstate__(self):
        return {"spec": _fresh_profile(self._spec)}

    def __setstate__(self, state):
        self._spec = state["spec"]
        self._build()

    def __deepcopy__(self, memo):
        new = Function.__new__(Function)
        new._spec = copy.deepcopy(_fresh_profile(self._spec), memo)
        new._build()
        return new

    def copy(self, share_memory: bool = True, swap: Optional[Dict] = None,
             delete_updates: bool = False, name: Optional[str] = None,
             profile=None) -> "Function":
        """A new function over the same graph (Theano's ``Function.copy``).

        Parameters
        ----------
        share_memory : bool
            True: the copy reads and updates the same shared storage. False: it gets its own
            copies of the shared variables (as ``copy.deepcopy`` does).
        swap : dict, optional
            ``old shared variable -> new shared variable`` of the same type: the copy reads
            and updates the new ones instead.
        delete_updates : bool
            The copy computes the outputs only (no shared variable is updated, default updates
            included).
        profile : bool or symgraph.compile.profile.ProfileStats, optional
            Profile the copy (by default it is profiled when this function is).
        """
        spec = dict(_fresh_profile(self._spec))
        if profile is not None:
            spec["profile"] = profile
        if delete_updates:
            spec["updates"] = []
            spec["no_default_updates"] = True
            # inputs read only by the updates are now unused, which the caller asked for
            spec["on_unused_input"] = "ignore"
        if name is not None:
            spec["name"] = name if name.isidentifier() else None
        if not share_memory:
            spec = copy.deepcopy(spec)
            if swap:
                raise ValueError("Function.copy: swap needs share_memory=True")
        if swap:
            for old, new in swap.items():
                if not (isinstance(old, SharedVariable) and isinstance(new, SharedVariable)):
                    raise TypeError(f"Function.copy: swap maps shared variables to shared "
                                    f"variables, got {old!r} -> {new!r}")
                if old.type.dtype != new.type.dtype or old.ndim != new.ndim:
                    raise TypeError(f"Function.copy: cannot swap {old} of type {old.type} for "
                                    f"{new} of type {new.type}")
            outs = spec["outputs"]
            vals = clone_replace(list(outs) + [v for _, v in spec["updates"]], dict(swap))
            spec["outputs"] = vals[:len(outs)]
            # checked again: a swap may send two updates to one storage
            spec["updates"] = _normalize_updates([(swap.get(t, t), v) for (t, _), v in
                                                  zip(spec["updates"], vals[len(outs):])])
        return Function(spec)


def _fresh_profile(spec: dict) -> dict:
    """``spec`` with its profile (if any) replaced by a request for a new one: a rebuilt
    function times its own nodes."""
    if isinstance(spec.get("profile"), ProfileStats):
        spec = dict(spec, profile=True)
    return spec


def function(inputs: Sequence = (), outputs=None, updates=None, givens=None, mode=None,
             on_unused_input: str = "raise", name: Optional[str] = None,
             no_default_updates=False, allow_input_downcast: Optional[bool] = None,
             profile=None, accept_inplace: bool = False, rebuild_strict: bool = True
             ) -> Function:
    """Compile ``inputs -> outputs`` and the shared-variable ``updates``.

    Parameters
    ----------
    inputs : list of Variable or In
        Explicit inputs, in call order; ``In(var, value=...)`` gives defaults and keywords.
    outputs : Variable or list of Variable, optional
        A single variable gives a single result; a list gives a list.
    updates : OrderedDict, dict or list of pairs
        ``shared -> new value``. Every new value is computed from the values *before* the
        call and all are committed together after everything was computed: a call that
        raises changes no shared variable.
    givens : dict or list of pairs
        Substitutions applied before compiling (e.g. a minibatch slice of a shared dataset).
        A value must have the dtype and rank of the variable it replaces, unless
        ``rebuild_strict`` is False.
    mode : symgraph.compile.mode.Mode or str
        ``'FAST_RUN'`` (default), ``'FAST_COMPILE'``, ``'DebugMode'``, ``'NanGuardMode'``.
    on_unused_input : {'raise', 'warn', 'ignore'}
    profile : bool or symgraph.compile.profile.ProfileStats, optional
        Time every node of every call: ``f.profile.summary()`` (a ``ProfileStats`` given here
        collects the times; True makes a new one). Without it the generated code reads no
        clock. None (the default) profiles when the mode does (``'PROFILE_MODE'``); False
        never does.
    accept_inplace : bool
        Theano refused a graph holding an op that destroys its inputs (``destroy_map``) unless
        this was True. Here no op overwrites a value the graph still needs: symgraph's ops
        write in place only into buffers the linker planned for it, and a Theano-style op
        with a ``destroy_map`` is given copies of the inputs it destroys (the ``runner`` of
        ``symgraph.compat.theano.gof.op.Op``). So there is nothing to guard and any value of
        this flag compiles the same function.
    rebuild_strict : bool
        False lets a ``givens`` value have another dtype or rank than the variable it
        replaces: the nodes after it are rebuilt with the types that follow (an op that
        cannot take the new type raises a :class:`TypeError` naming it; an update must still
        keep its shared variable's type).
    """
    if profile is not None and not isinstance(profile, (bool, ProfileStats)):
        raise TypeError(f"function: profile must be a bool or a ProfileStats, got "
                        f"{type(profile).__name__}")
    if on_unused_input not in ("raise", "warn", "ignore"):
        raise ValueError(f"on_unused_input must be 'raise', 'warn' or 'ignore', got "
                         f"{on_unused_input!r}")
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(f"function inputs must be a list, got {type(inputs).__name__}")
    ins = [_as_in(i) for i in inputs]
    seen = set()
    for i in ins:
        v = i.variable
        if isinstance(v, SharedVariable):
            raise TypeError(f"shared variable {v} cannot be an explicit input: its value is "
                            f"read from its storage; use givens to substitute it")
        if isinstance(v, Constant):
            raise TypeError(f"constant {v} cannot be an input of a function")
        if v in seen:
            raise ValueError(f"input {v} appears twice")
        seen.add(v)
    single = False
    if outputs is None:
        outs = []
    elif isinstance(outputs, (list, tuple)):
        outs = list(outputs)
    else:
        outs, single = [outputs], True
    outs = [o.variable if isinstance(o, Out) else o for o in outs]
    outs = [o if isinstance(o, Variable) else as_tensor_variable(o) for o in outs]
    spec = {"inputs": ins, "outputs": outs, "updates": _normalize_updates(updates),
            "givens": givens, "mode": get_mode(mode), "on_unused_input": on_unused_input,
            "name": name if name and name.isidentifier() else None,
            "no_default_updates": no_default_updates,
            "allow_input_downcast": allow_input_downcast, "single": single,
            "profile": profile, "rebuild_strict": bool(rebuild_strict)}
    return Function(spec)


def evaluate(var: Variable, givens: Optional[dict] = None):
    """Compile ``var`` and evaluate it with ``givens`` mapping inputs to values (the
    interactive ``var.eval(givens)``).

    A shared variable among the keys is substituted by the value for this evaluation only
    (its storage is not changed).
    """
    givens = givens or {}
    keys = [k for k in givens if not isinstance(k, SharedVariable)]
    subs = [(k, v) for k, v in givens.items() if isinstance(k, SharedVariable)]
    f = function(keys, var, givens=subs, on_unused_input="ignore")
    return f(*[givens[k] for k in keys])


namespace.provide("evaluate", evaluate)

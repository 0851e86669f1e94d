"""The graph IR: ``Variable``, ``Constant``, ``Apply``, and walks over them.

The IR is data: nodes are never changed after construction. Rewrites build new nodes, and the
only place that rewires anything is :meth:`symgraph.fgraph.FunctionGraph.replace`.
"""
from __future__ import annotations

import itertools
import threading
import weakref
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np

from symgraph.types import TensorType, Type

_ids = itertools.count()


class Variable:
    """A symbolic value: the input of a graph, a constant, or an output of an ``Apply``.

    Data only: type, producer and name. Variables hash by identity (they are dict keys
    everywhere) and ``==`` is identity too. The variables users handle are
    :class:`~symgraph.ops.variable.TensorVariable`, which add Python operators and
    NumPy-style methods on top.
    """

    def __init__(self, type: Type, owner: "Optional[Apply]" = None,
                 index: Optional[int] = None, name: Optional[str] = None):
        if not isinstance(type, Type):
            raise TypeError(f"Variable type must be a TensorType (or another symgraph Type), "
                            f"got {type!r}")
        self.type = type
        self.owner = owner
        self.index = index
        self.name = name
        self.tag = _Tag()
        self._id = next(_ids)

    # -- type facts ---------------------------------------------------------------------
    @property
    def dtype(self) -> str:
        return self.type.dtype

    @property
    def ndim(self) -> int:
        return self.type.ndim

    @property
    def broadcastable(self) -> tuple:
        return self.type.broadcastable

    @property
    def static_shape(self) -> tuple:
        return self.type.shape

    def clone(self) -> "Variable":
        """A fresh variable of the same type and name, with no owner."""
        return type(self)(self.type, name=self.name)

    def __repr__(self) -> str:
        if self.name:
            return self.name
        if self.owner is not None:
            op = self.owner.op
            suffix = f".{self.index}" if len(self.owner.outputs) > 1 else ""
            return f"{op}.out{suffix}"
        return f"<{self.type}>"

    __str__ = __repr__

    # identity semantics: a graph variable is a dict key
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    # Pickling and deep copies recurse one node deep whatever the depth of the graph: see
    # ``Apply.__reduce_ex__``.
    def __reduce_ex__(self, protocol):
        if self.owner is None:
            return object.__reduce_ex__(self, protocol)
        before = () if self.owner in _listed() else _listing([self.owner], include=True)
        return _output_of, (before, self.owner, self.index)

    def __copy__(self) -> "Variable":
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        return new


class _Tag:
    """Free-form annotations (Theano programs set ``x.tag.test_value``); never read by passes."""


class Constant(Variable):
    """A variable with a fixed value (read-only ndarray) and no owner."""

    def __init__(self, type: TensorType, data, name: Optional[str] = None):
        super().__init__(type, None, None, name)
        arr = type.filter(data, name=name or "constant", allow_downcast=True)
        if arr is data:
            arr = arr.copy()
        arr.setflags(write=False)
        self.data = arr
        self._signature = None

    @property
    def value(self):
        return self.data

    def signature(self):
        """Hashable identity of the value: equal constants merge."""
        if self._signature is None:
            d = self.data
            self._signature = (self.type, d.tobytes() if d.size <= 4096 else id(d))
        return self._signature

    def clone(self) -> "Constant":
        return type(self)(self.type, self.data, self.name)

    def __repr__(self) -> str:
        if self.name:
            return self.name
        if self.data.size <= 6:
            return np.array2string(self.data, separator=",").replace("\n", "")
        return f"Constant{{{self.type}}}"

    __str__ = __repr__


class Apply:
    """One application of an op to input variables, producing output variables."""

    __slots__ = ("op", "inputs", "outputs", "tag")

    def __init__(self, op, inputs: Sequence[Variable], outputs: Sequence[Variable]):
        self.op = op
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.tag = None
        for i, out in enumerate(self.outputs):
            out.owner = self
            out.index = i

    @property
    def out(self) -> Variable:
        return self.outputs[0]

    @property
    def nin(self) -> int:
        return len(self.inputs)

    def __repr__(self) -> str:
        return f"{self.op}({', '.join(map(str, self.inputs))})"

    def __reduce_ex__(self, protocol):
        """Pickle as the op, each input as ``(producer, index)`` (or the owner-less variable
        itself) and each output's attributes (:func:`_rebuild_apply` makes the outputs anew).

        A pickle saves an object's arguments before the object, so a node saved before its
        producers would recurse once per level of the graph. Hence the first variable or
        node of a graph that a pickle (or a deep copy) meets lists, before itself, its
        ancestors that no pickle under way has listed yet, inputs first: each of them then
        finds its producers already saved. Later variables of the same graph list only what
        is new, so a pickle of many variables walks each node once.
        """
        inputs = tuple(v if v.owner is None else (v.owner, v.index) for v in self.inputs)
        outputs = tuple((type(o), {k: v for k, v in o.__dict__.items()
                                   if k not in ("owner", "index")}) for o in self.outputs)
        before = () if self in _listed() else _listing([self], include=False)
        return _rebuild_apply, (before, self.op, inputs, outputs, self.tag)


class _Listed(list):
    """Nodes a pickle saves before a variable or node of their graph (see
    :meth:`Apply.__reduce_ex__`). A pickler holds the lists it saved until it is done: the
    nodes of a list stay marked as listed (in :func:`_listed`) while the list lives."""

    __slots__ = ("__weakref__",)


_pickling = threading.local()


def _listed() -> dict:
    """This thread's nodes listed by a pickle under way (a dict used as an ordered set)."""
    found = getattr(_pickling, "listed", None)
    if found is None:
        found = _pickling.listed = {}
        _pickling.unmarks = {}  # the weak references whose callbacks unmark each list
    return found


def _listing(nodes: List[Apply], include: bool) -> _Listed:
    """The ancestors of ``nodes`` (``nodes`` too when ``include``) not listed yet, every node
    after its producers; they are marked as listed while the returned list lives."""
    listed = _listed()
    order = _Listed()
    seen = set(nodes)
    skip = () if include else seen
    stack = [(n, iter(n.inputs)) for n in reversed(nodes)]
    while stack:
        node, it = stack[-1]
        for inp in it:
            parent = inp.owner
            if parent is not None and parent not in seen and parent not in listed:
                seen.add(parent)
                stack.append((parent, iter(parent.inputs)))
                break
        else:
            stack.pop()
            if node not in skip:
                order.append(node)
    if order:
        listed.update(dict.fromkeys(order))
        unmarks = _pickling.unmarks
        marked = tuple(order)

        def unmark(ref, listed=listed, unmarks=unmarks):
            unmarks.pop(id(ref), None)
            for node in marked:
                listed.pop(node, None)
        ref = weakref.ref(order, unmark)
        unmarks[id(ref)] = ref
    return order


def _rebuild_apply(before: list, op, inputs: tuple, outputs: tuple, tag) -> Apply:
    """Unpickle an ``Apply`` (see :meth:`Apply.__reduce_ex__`)."""
    ins = [v if isinstance(v, Variable) else v[0].outputs[v[1]] for v in inputs]
    outs = []
    for cls, state in outputs:
        out = cls.__new__(cls)
        out.__dict__.update(state)
        outs.append(out)
    node = Apply(op, ins, outs)
    node.tag = tag
    return node


def _output_of(before: list, owner: Apply, index: int) -> Variable:
    """Unpickle a variable made by an op (see ``Variable.__reduce_ex__``)."""
    return owner.outputs[index]


# ---------------------------------------------------------------------------------------
# Facts
# ---------------------------------------------------------------------------------------

def is_constant_value(v: Variable, value) -> bool:
    """True when ``v`` is a constant whose every element equals ``value``."""
    return isinstance(v, Constant) and v.data.size > 0 and bool(np.all(v.data == value))


# ---------------------------------------------------------------------------------------
# Walks
# ---------------------------------------------------------------------------------------

def toposort(outputs: Iterable[Variable], stop: Optional[Iterable[Variable]] = None) -> List[Apply]:
    """Apply nodes needed for ``outputs``, every node after its inputs' producers.

    Walking stops at variables in ``stop`` (they are treated as inputs).
    """
    stop = stop if isinstance(stop, (set, frozenset)) else set(stop or ())
    order: List[Apply] = []
    seen = set()
    for root in outputs:
        if root.owner is None or root in stop or root.owner in seen:
            continue
        stack = [(root.owner, iter(root.owner.inputs))]
        seen.add(root.owner)
        while stack:
            node, it = stack[-1]
            for inp in it:
                parent = inp.owner
                if parent is not None and parent not in seen and inp not in stop:
                    seen.add(parent)
                    stack.append((parent, iter(parent.inputs)))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def fill_memo(var: Variable, memo: dict, visit, is_leaf=None) -> None:
    """Fill ``memo`` for ``var`` and the ancestors it needs, inputs first, without recursion
    (deep chains of nodes). ``visit(v, leaf)`` is called once for each variable not yet in
    ``memo``: at once for a leaf (owner-less, or ``is_leaf(v)``), else when every input of its
    owner is in ``memo``; it must set ``memo[v]`` (and may set the node's other outputs)."""
    stack = [var]
    while stack:
        v = stack[-1]
        if v in memo:
            stack.pop()
            continue
        leaf = v.owner is None or (is_leaf is not None and is_leaf(v))
        if not leaf:
            pending = [i for i in v.owner.inputs if i not in memo]
            if pending:
                stack.extend(pending)
                continue
        stack.pop()
        visit(v, leaf)


def graph_inputs(outputs: Iterable[Variable], stop: Optional[Iterable[Variable]] = None
                 ) -> List[Variable]:
    """Owner-less variables (and ``stop`` variables) the outputs depend on, in first-seen order."""
    outputs = list(outputs)
    stop = set(stop or ())
    result, seen = [], set()

    def visit(v):
        if v not in seen and (v.owner is None or v in stop):
            seen.add(v)
            result.append(v)

    for v in outputs:
        visit(v)
    for node in toposort(outputs, stop):
        for v in node.inputs:
            visit(v)
    return result


def ancestors(outputs: Iterable[Variable], stop: Optional[Iterable[Variable]] = None) -> set:
    """Every variable the outputs depend on, outputs included."""
    outputs = list(outputs)
    found = set(outputs)
    for node in toposort(outputs, stop):
        found.update(node.inputs)
        found.update(node.outputs)
    return found


def clone_replace(outputs: Sequence[Variable], replace: Dict[Variable, Variable],
                  strict: bool = True, memo: Optional[Dict[Variable, Variable]] = None
                  ) -> List[Variable]:
    """Rebuild ``outputs`` with each key of ``replace`` substituted by its value.

    Nodes downstream of a replacement are rebuilt through ``op.make_node`` so their types are
    inferred afresh; untouched subgraphs are shared, not copied. With ``strict`` (the
    default) a rebuilt node must keep the dtype and rank of its outputs; with
    ``strict=False`` they follow from the new inputs (Theano's ``rebuild_strict=False``), and
    an op that cannot take its new inputs raises a :class:`TypeError` naming it. ``memo``, a
    dict, receives every replaced or rebuilt variable's counterpart.
    """
    if memo is None:
        memo = {}
    memo.update(replace)
    for node in toposort(outputs, stop=replace.keys()):
        new_inputs = [memo.get(v, v) for v in node.inputs]
        if all(a is b for a, b in zip(new_inputs, node.inputs)):
            continue
        try:
            new_node = node.op.make_node(*new_inputs)
        except (TypeError, ValueError) as exc:
            if strict:
                raise
            had = ", ".join(str(v.type) for v in node.inputs)
            got = ", ".join(str(v.type) for v in new_inputs)
            raise TypeError(f"substitution: {node.op} cannot take inputs of types ({got}) "
                            f"instead of ({had}): {exc}") from exc
        for old, new in zip(node.outputs, new_node.outputs):
            if strict and (new.type.dtype != old.type.dtype or new.ndim != old.ndim):
                raise TypeError(f"substitution changes the type of {old} from {old.type} to "
                                f"{new.type}")
            memo[old] = new
    return [memo.get(v, v) for v in outputs]

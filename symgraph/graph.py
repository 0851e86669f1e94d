"""The graph IR: ``Variable``, ``Constant``, ``Apply``, and walks over them.

The IR is data: nodes are never changed after construction. Rewrites build new nodes, and the
only place that rewires anything is :meth:`symgraph.fgraph.FunctionGraph.replace`.
"""
from __future__ import annotations

import itertools
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


def clone_replace(outputs: Sequence[Variable], replace: Dict[Variable, Variable]
                  ) -> List[Variable]:
    """Rebuild ``outputs`` with each key of ``replace`` substituted by its value.

    Nodes downstream of a replacement are rebuilt through ``op.make_node`` so their types are
    inferred afresh; untouched subgraphs are shared, not copied.
    """
    memo: Dict[Variable, Variable] = dict(replace)
    for node in toposort(outputs, stop=replace.keys()):
        new_inputs = [memo.get(v, v) for v in node.inputs]
        if all(a is b for a, b in zip(new_inputs, node.inputs)):
            continue
        new_node = node.op.make_node(*new_inputs)
        for old, new in zip(node.outputs, new_node.outputs):
            if new.type.dtype != old.type.dtype or new.ndim != old.ndim:
                raise TypeError(f"substitution changes the type of {old} from {old.type} to "
                                f"{new.type}")
            memo[old] = new
    return [memo.get(v, v) for v in outputs]

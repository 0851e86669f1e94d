"""``theano.printing``: ``debugprint``, ``pydotprint``, the pretty-printer ``pp``/``pprint``
(expressions in infix form) and the ``Print`` op (prints a value when the graph runs)."""
from __future__ import annotations

import sys
from typing import Optional

import numpy as np

from symgraph.graph import Apply, Constant, Variable
from symgraph.printing import debugprint as _debugprint, pydotprint  # noqa: F401
from symgraph.shared import SharedVariable  # noqa: F401
from symgraph.compile.function import Function  # noqa: F401
from symgraph.compat.theano.gof.op import Op

_INFIX = {"add": ("+", -1), "sub": ("-", -2), "mul": ("*", -1), "true_div": ("/", -1),
          "floor_div": ("//", -1), "mod": ("%", -1), "pow": ("**", 1), "eq": ("==", -5),
          "neq": ("!=", -5), "lt": ("<", -5), "le": ("<=", -5), "gt": (">", -5),
          "ge": (">=", -5), "and": ("&", -6), "or": ("|", -7), "xor": ("^", -6)}
_PREFIX = {"neg": "-", "invert": "~"}


class PPrinter:
    """Theano's pretty-printer: arithmetic in infix form, other ops as calls, constants as
    ``TensorConstant{value}``, inputs by name."""

    def __init__(self):
        self.names = {}

    def _leaf(self, v: Variable) -> str:
        if isinstance(v, Constant):
            data = v.data
            text = str(data.item()) if data.ndim == 0 else str(data.tolist())
            if data.size > 6:
                text = "..."
            return f"TensorConstant{{{text}}}"
        return v.name if v.name else f"<{v.type}>"

    def process(self, v: Variable, depth: int = 0) -> str:
        if v.owner is None:
            return self._leaf(v)
        if v.name and depth > 0:
            return v.name
        node = v.owner
        op = node.op
        sop = getattr(op, "scalar_op", None)
        name = getattr(sop, "name", None) if sop is not None else None
        args = [self.process(i, depth + 1) for i in node.inputs]
        if name in _INFIX and len(args) >= 2:
            return "(" + f" {_INFIX[name][0]} ".join(args) + ")"
        if name in _PREFIX and len(args) == 1:
            return f"{_PREFIX[name]}{args[0]}"
        label = name or type(op).__name__
        if type(op).__name__ == "DimShuffle":
            return f"{args[0]}.dimshuffle{op.new_order}"
        if type(op).__name__ in ("Subtensor", "AdvancedSubtensor"):
            return f"{args[0]}[{', '.join(args[1:])}]" if len(args) > 1 else f"{args[0]}[...]"
        suffix = f".{v.index}" if len(node.outputs) > 1 else ""
        return f"{label}({', '.join(args)}){suffix}"

    def __call__(self, *args) -> str:
        if len(args) == 1 and isinstance(args[0], Variable):
            return self.process(args[0])
        if len(args) == 1 and hasattr(args[0], "fgraph"):
            return "\n".join(self.process(o) for o in args[0].fgraph.outputs)
        raise TypeError("pprint: expected a variable or a compiled function")

    def assign(self, condition, printer):
        raise NotImplementedError("pprint.assign: custom printers are not supported")


pprint = PPrinter()
pp = pprint
default_printer = pprint


def debugprint(obj, depth: int = -1, print_type: bool = False, file=None, ids: str = "CHAR",
               stop_on_name: bool = False, done=None, print_storage: bool = False,
               print_clients: bool = False, used_ids=None):
    """Print a text tree of the graph (``depth`` limits how deep; ``file='str'`` returns the
    text instead of printing it).

    Not supported (a value other than the default raises :class:`NotImplementedError`):
    ``stop_on_name`` (stop at named variables), ``print_storage``, ``print_clients``, and
    ``done``/``used_ids`` (Theano's tables shared between calls to number the nodes alike).
    """
    for arg, value, default in (("stop_on_name", stop_on_name, False),
                                ("print_storage", print_storage, False),
                                ("print_clients", print_clients, False),
                                ("done", done, None), ("used_ids", used_ids, None)):
        if value != default:
            raise NotImplementedError(f"debugprint({arg}={value!r}) is not supported; "
                                      f"symgraph's debugprint takes obj, depth, print_type, "
                                      f"file and ids")
    text = _debugprint(obj, file=_Null(), print_type=print_type, ids=ids != "")
    if depth is not None and depth >= 0:
        keep = []
        for line in text.splitlines():
            level = (len(line) - len(line.lstrip(" |"))) // 2
            if level < depth:
                keep.append(line)
        text = "\n".join(keep) + "\n"
    if file == "str":
        return text
    (file or sys.stdout).write(text)
    return file or sys.stdout


class _Null:
    def write(self, text):
        pass


class Print(Op):
    """``Print(message)(x)``: ``x``, printing ``message`` and the value (or the attributes in
    ``attrs``, e.g. ``('shape',)``) every time the compiled function computes it."""

    __props__ = ("message", "attrs")
    view_map = {0: [0]}

    def __init__(self, message: str = "", attrs=("__str__",), global_fn=None):
        self.message = message
        self.attrs = tuple(attrs)
        self.global_fn = global_fn

    @property
    def deterministic(self):
        return False  # printing is a side effect: never folded away or merged

    def make_node(self, x):
        from symgraph.ops.variable import as_tensor_variable
        x = as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        x = inputs[0]
        for attr in self.attrs:
            value = getattr(x, attr)
            if callable(value):
                value = value()
            print(f"{self.message} {attr} = {value}")
        if self.global_fn is not None:
            self.global_fn(self, x)
        output_storage[0][0] = x

    def infer_shape(self, node, shapes):
        return shapes

    def grad(self, inputs, output_grads):
        return [output_grads[0]]


def min_informative_str(obj, indent_level: int = 0, _prev_obs=None, _tag_generator=None):
    """A short description of a variable's graph, indented by ``indent_level`` spaces.
    ``_prev_obs`` and ``_tag_generator`` (the state of Theano's recursion, which named the
    shared subexpressions) change nothing: the description is the variable's ``pprint``."""
    return " " * int(indent_level) + pprint(obj)


def var_descriptor(obj, _prev_obs=None, _tag_generator=None):
    """The variable's ``pprint`` (``_prev_obs`` and ``_tag_generator``, the state of Theano's
    recursion, change nothing)."""
    return pprint(obj)


def position_independent_str(obj):
    return pprint(obj)


def hex_digest(x: np.ndarray) -> str:
    import hashlib
    return hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()


pydot_imported = False
pydot_imported_msg = "symgraph draws graphs through Graphviz's dot program (pydotprint)"


class _PrinterBase:
    """Theano's printer classes: pretty-printing is done by :data:`pprint` alone."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}: custom printers are not supported; "
                                  f"use theano.printing.pprint")


class OperatorPrinter(_PrinterBase):
    pass


PatternPrinter = FunctionPrinter = IgnorePrinter = DefaultPrinter = LeafPrinter = \
    OperatorPrinter
PrinterState = dict
leaf_printer = pprint
VALID_ASSOC = {"left", "right", "either"}
default_colorCodes = {}

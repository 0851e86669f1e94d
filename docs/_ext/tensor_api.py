"""Tables of the user namespaces, read from the modules themselves.

``.. tensor-api:: MODULE`` lists every public callable that ``MODULE`` holds (functions, op
classes, op instances), grouped by the module that defines it, with the first sentence of its
docstring and a link to its full entry. ``symgraph.tensor`` re-exports functions of every op
family: this keeps its list true as the families grow, with nothing kept by hand.

Options: ``:prefix: T`` (the name shown before each entry), ``:skip-own:`` (leave out what the
namespace defines itself), ``:local:`` (link to entries under the namespace's own name, for a
page that documents the re-exports there).

``.. op-instances:: MODULE`` declares the op *instances* a module defines (``add = Elemwise(
scalar.add)``, ...): they are the functions users call, but autodoc documents only classes and
functions, so without this they would have no entry to link to.
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import sys
import types
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

# modules whose names leak into a namespace through star imports (not part of its API)
_FOREIGN = ("typing", "builtins", "numbers", "__future__", "numpy", "collections")


def _is_op_instance(obj) -> bool:
    from symgraph.op import Op
    return isinstance(obj, Op)


def _summary(obj) -> str:
    if _is_op_instance(obj) and "__doc__" not in vars(obj):
        doc = f"An instance of :class:`~{type(obj).__module__}.{type(obj).__qualname__}`."
    else:
        doc = inspect.getdoc(obj) or ""
    for para in doc.split("\n\n"):
        text = " ".join(line.strip() for line in para.splitlines()).strip()
        if text:
            return text
    return ""


_ABBREVIATIONS = ("e.g.", "i.e.", "w.r.t.", "cf.", "vs.")


def _first_sentence(text: str) -> str:
    """The text up to its first full stop that is not inside inline markup."""
    for m in re.finditer(r"\.(\s|$)", text):
        head = text[:m.start() + 1]
        if head.endswith(_ABBREVIATIONS):
            continue
        if head.count("``") % 2 == 0 and head.count("`") % 2 == 0:
            return head
    return text


def _holds(modname: str, obj) -> Optional[str]:
    """The public name under which module ``modname`` holds ``obj``, if any."""
    mod = sys.modules.get(modname)
    if mod is None:
        return None
    for name, value in vars(mod).items():
        if value is obj and not name.startswith("_"):
            return name
    return None


def home_of(name: str, obj) -> Optional[Tuple[str, str]]:
    """(defining module, name there) of a public object, or None for foreign ones."""
    if _is_op_instance(obj):
        # an instance has its class's __module__; its home is the first module (the class's,
        # then symgraph's in import order) that holds it
        candidates = [type(obj).__module__] + [m for m in list(sys.modules)
                                              if m.startswith("symgraph.")]
        for modname in candidates:
            mod = sys.modules.get(modname)
            if mod is not None and getattr(mod, name, None) is obj:
                return modname, name
            held = _holds(modname, obj)
            if held:
                return modname, held
        return None
    home = getattr(obj, "__module__", None)
    if not home or home.split(".")[0] in _FOREIGN:
        return None
    try:
        home_mod = importlib.import_module(home)
    except ImportError:
        return None
    if getattr(home_mod, name, None) is obj:
        return home, name
    return home, getattr(obj, "__name__", name)


def _entries(modname: str, skip_own: bool
             ) -> "OrderedDict[str, List[Tuple[str, str, str]]]":
    """defining module -> [(name in the namespace, reference target, summary)]"""
    mod = importlib.import_module(modname)
    groups: Dict[str, List[Tuple[str, str, str]]] = {}
    names = getattr(mod, "__all__", None) or [n for n in dir(mod) if not n.startswith("_")]
    for name in sorted(names, key=str.lower):
        obj = getattr(mod, name)
        if isinstance(obj, types.ModuleType) or not callable(obj):
            continue
        home = home_of(name, obj)
        if home is None or (skip_own and home[0] == modname):
            continue
        target = f"{home[0]}.{home[1]}"
        groups.setdefault(home[0], []).append((name, target,
                                               _first_sentence(_summary(obj))))
    return OrderedDict(sorted(groups.items()))


def _parse(directive: SphinxDirective, lines: List[str], source: str) -> List[nodes.Node]:
    container = nodes.container()
    directive.state.nested_parse(StringList(lines, source=source), directive.content_offset,
                                 container)
    return container.children


class TensorApi(SphinxDirective):
    """Tables of a namespace's callables, by defining module."""

    required_arguments = 1
    option_spec = {"prefix": lambda s: s.strip(), "skip-own": lambda s: True,
                   "local": lambda s: True}

    def run(self) -> List[nodes.Node]:
        modname = self.arguments[0]
        mod = importlib.import_module(modname)
        prefix = self.options.get("prefix", modname)
        lines: List[str] = []
        for home, items in _entries(modname, "skip-own" in self.options).items():
            lines += [f".. rubric:: from :mod:`{home}`", "",
                      ".. list-table::", "   :widths: 30 70", "   :width: 100%", ""]
            for name, target, summary in items:
                if "local" in self.options and not inspect.isclass(getattr(mod, name)) \
                        and importlib.util.find_spec(f"{modname}.{name}") is None:
                    # functions and data are documented on this page, under the namespace's
                    # own name; classes where they are defined (one entry per class keeps
                    # short references such as `Variable` unambiguous), and so are names that
                    # are also submodules (symgraph.shared, symgraph.jacobian)
                    target = f"{modname}.{name}"
                lines.append(f"   * - :py:obj:`{prefix}.{name} <{target}>`")
                lines.append(f"     - {summary or ' '}")
            lines.append("")
        return _parse(self, lines, f"<tensor-api {modname}>")


def _attr_docs(modname: str) -> Dict[Tuple[str, str], List[str]]:
    """The doc comments of a module's attributes, as autodoc reads them."""
    from sphinx.pycode import ModuleAnalyzer
    from sphinx.pycode import PycodeError
    try:
        return ModuleAnalyzer.for_module(modname).find_attr_docs()
    except PycodeError:
        return {}


class OpInstances(SphinxDirective):
    """``py:data`` entries for the op instances a module defines."""

    required_arguments = 1

    def run(self) -> List[nodes.Node]:
        modname = self.arguments[0]
        mod = importlib.import_module(modname)
        # an instance with a doc comment (``#: ...``) is documented by autodoc already
        documented = {name for (scope, name) in _attr_docs(modname) if not scope}
        first_name: Dict[int, str] = {}
        lines: List[str] = []
        for name, obj in vars(mod).items():
            if name.startswith("_") or name in documented or not _is_op_instance(obj):
                continue
            home = home_of(name, obj)
            if home is None or home[0] != modname:
                continue
            lines += [f".. py:data:: {name}", ""]
            if id(obj) in first_name:
                lines.append(f"   The same op as :py:data:`{first_name[id(obj)]}`.")
            else:
                first_name[id(obj)] = name
                lines.append(f"   {_summary(obj)}")
                sop = getattr(obj, "scalar_op", None)
                if sop is not None:
                    arity = "any number of" if sop.nin == -1 else str(sop.nin)
                    lines += ["", f"   Takes {arity} tensor input(s); output dtype rule "
                                  f"``{sop.kind}`` (see :class:`symgraph.ops.scalar.ScalarOp`)."]
            lines.append("")
        if not lines:
            return []
        head = [f".. py:currentmodule:: {modname}", "", ".. rubric:: Op instances", "",
                "The functions below are op instances: calling one builds its node.", ""]
        return _parse(self, head + lines, f"<op-instances {modname}>")


def setup(app):
    app.add_directive("tensor-api", TensorApi)
    app.add_directive("op-instances", OpInstances)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}

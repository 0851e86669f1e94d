"""``theano.gof.utils``: the small helpers and exceptions Theano programs import."""
from __future__ import annotations

import functools
import hashlib
from typing import Iterable, List


class MethodNotDefined(Exception):
    """An op or type does not define a method a caller needs (Theano's error)."""


class TestValueError(Exception):
    pass


def flatten(a) -> List:
    """Nested lists and tuples flattened into one list."""
    if isinstance(a, (tuple, list, set)):
        out = []
        for item in a:
            out.extend(flatten(item))
        return out
    return [a]


def uniq(seq: Iterable) -> List:
    """The items of ``seq`` without repeats, in order."""
    seen, out = set(), []
    for x in seq:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out


unique = uniq


def difference(seq1, seq2) -> List:
    return [x for x in seq1 if x not in seq2]


def remove(predicate, coll) -> List:
    return [x for x in coll if not predicate(x)]


def memoize(f):
    """Cache ``f``'s results by its (hashable) arguments."""
    cache = {}

    def rval(*args, **kwargs):
        key = (args, tuple(sorted(kwargs.items())))
        if key not in cache:
            cache[key] = f(*args, **kwargs)
        return cache[key]
    return rval


def hash_from_code(msg) -> str:
    """The md5 hex digest of ``msg`` (text or bytes)."""
    if isinstance(msg, str):
        msg = msg.encode()
    return hashlib.md5(msg).hexdigest()


def hash_from_file(path) -> str:
    with open(path, "rb") as f:
        return hash_from_code(f.read())


def toposort(prereqs_d):
    """Keys of ``{node: prerequisites}`` ordered so every node follows its prerequisites."""
    import networkx as nx
    g = nx.DiGraph()
    for node, reqs in prereqs_d.items():
        g.add_node(node)
        for r in reqs:
            g.add_edge(r, node)
    return list(nx.topological_sort(g))


def give_variables_names(variables) -> None:
    """Name every unnamed variable (``auto_<k>``), keeping names distinct."""
    names = set(v.name for v in variables if v.name)
    k = 0
    for v in variables:
        if v.name is None:
            while f"auto_{k}" in names:
                k += 1
            v.name = f"auto_{k}"
            names.add(v.name)


def add_tag_trace(thing, user_line=None):
    """Store in ``thing.tag.trace`` the stack where it is being made (its last ``user_line``
    frames, default the ``traceback.limit`` flag), as Theano did for every variable."""
    import traceback
    from symgraph.compat.theano.configparser import flag
    limit = user_line if user_line is not None else flag("traceback.limit")
    stack = traceback.extract_stack()[:-1]
    if limit is not None and int(limit) >= 0:
        stack = stack[len(stack) - int(limit):] if int(limit) else []
    tag = getattr(thing, "tag", None)
    if tag is not None:
        tag.trace = [stack]
    return thing


def get_variable_trace_string(v) -> str:
    """The stack :func:`add_tag_trace` stored for ``v`` (as Theano wrote it), or ``''``."""
    import traceback
    trace = getattr(getattr(v, "tag", None), "trace", None)
    if not trace:
        return ""
    text = "".join("".join(traceback.format_list(stack)) for stack in trace)
    return "\nBacktrace when that variable is created:\n\n" + text


def deprecated(filename, msg=""):
    """A decorator printing ``WARNING: filename.name deprecated. msg`` on the first call of
    the function it wraps, as Theano's."""
    def decorator(f):
        printed = []

        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            if not printed:
                print(f"WARNING: {filename}.{f.__name__} deprecated. {msg}")
                printed.append(True)
            return f(*args, **kwargs)
        return wrapper
    return decorator


def to_return_values(values):
    return values[0] if len(values) == 1 else values


def from_return_values(values):
    return values if isinstance(values, (list, tuple)) else [values]


class scratchpad:
    """A free-form attribute namespace (``var.tag``)."""

    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)


class Scratchpad(scratchpad):
    pass


class D:
    def __init__(self, **d):
        self.__dict__.update(d)


undef = object()
simple_types = (int, float, str, bool, type(None))


def hashtype(self) -> int:
    """Hash of an object's type (Theano's default hash of types)."""
    t = type(self)
    return hash(t.__name__) ^ hash(t.__module__)

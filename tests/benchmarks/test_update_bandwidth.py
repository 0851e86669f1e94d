"""``update_bandwidth``'s floor models what the NumPy path runs: its list of ufunc calls is the
compiled Adam update's chunk, call for call, and the floor is their rates summed."""
import ast

import numpy as np
import pytest

from benchmarks import update_bandwidth as U
from symgraph.backends import chunked
from symgraph.compile.mode import NUMPY


def _kind(arg, scalar_names) -> str:
    if isinstance(arg, ast.Call) or (isinstance(arg, ast.Name) and arg.id in scalar_names):
        return "s"  # np.float32(...) or a scalar operand of the group
    return "a"


def test_the_floor_lists_the_calls_of_the_numpy_paths_chunk():
    values = [np.zeros(chunked.MIN_SIZE, np.float32)]
    f = U.adam_update(values, NUMPY)
    (group,) = [k for k in f.kernels.values() if isinstance(k, chunked.ChunkedGroup)]
    scalars = {f"e{j}" for j, sc in enumerate(group.scalar) if sc}
    ufuncs = []
    for node in ast.walk(ast.parse(group.source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr != "float32" and getattr(node.func.value, "id", "") == "np":
            ufuncs.append((node.func.attr, "".join(_kind(a, scalars) for a in node.args)))
    assert ufuncs == list(U.ADAM_UFUNCS)


def test_the_floor_is_the_sum_of_the_calls_at_their_rates(monkeypatch):
    seconds = {"multiply": 1.0, "add": 2.0, "square": 3.0, "sqrt": 4.0, "true_divide": 5.0,
               "subtract": 6.0}

    def fake_timed(fn, repeat, flush):
        name = fn.__defaults__[0].__name__
        name = "true_divide" if name == "divide" else name
        args = fn.__defaults__[1]
        size = max(a.size for a in args if isinstance(a, np.ndarray))
        return seconds[name] * 64 * size * 1e-9 * (2 if len(args) == 1 else 1)
    monkeypatch.setattr(U, "timed", fake_timed)
    total, rates = U.ufunc_floor(1000, 1)
    # per element: unary calls cost twice their table entry in this fake
    want = sum(seconds[n] * (2 if len(ops) == 1 else 1) for n, ops in U.ADAM_UFUNCS) * 1e-9
    assert total == pytest.approx(want * 1000)
    assert rates[("sqrt", "a")] == pytest.approx(1 / 8)
    assert rates[("add", "as")] == pytest.approx(1 / 2)


def test_simd_target_names_numpys_loop():
    pytest.importorskip("numpy.lib.introspect")
    from numpy.lib.introspect import opt_func_info
    for name in ("sqrt", "true_divide", "multiply"):
        info = opt_func_info(func_name=f"^{getattr(np, name).__name__}$")
        (entry,) = [v for sig, v in next(iter(info.values())).items() if set(sig) == {"f"}]
        assert U.simd_target(name) == entry["current"] != ""
    assert U.describe_rate(("add", "as"), 21.24) == \
        f"add(array, scalar) 21.2 ({U.simd_target('add')})"

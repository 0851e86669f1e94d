"""Shared helpers of the rewrite tests: compile with and without rewrites, count ops."""
from collections import Counter

import numpy as np

import symgraph
from symgraph.compile.mode import FAST_RUN
from symgraph.ops.elemwise import Elemwise

#: every rewrite phase but fusion, so that the remaining ops can be counted one by one
NO_FUSE = FAST_RUN.excluding("fuse")


def op_name(node) -> str:
    """The scalar op's name for an Elemwise, else the op class name."""
    if isinstance(node.op, Elemwise):
        return node.op.scalar_op.name
    return type(node.op).__name__


def op_counts(f) -> Counter:
    """How many nodes of each op the compiled function's graph holds."""
    return Counter(op_name(n) for n in f.fgraph.apply_nodes)


def compile_pair(inputs, outputs, mode=NO_FUSE):
    """``(rewritten, reference)``: the graph compiled with ``mode`` and with FAST_COMPILE."""
    opt = symgraph.function(inputs, outputs, mode=mode, on_unused_input="ignore")
    ref = symgraph.function(inputs, outputs, mode="FAST_COMPILE", on_unused_input="ignore")
    return opt, ref


def assert_same(inputs, outputs, values, mode=NO_FUSE, rtol=1e-7, atol=1e-10):
    """Compile both ways, check equal results (and dtypes, shapes); return the rewritten one."""
    opt, ref = compile_pair(inputs, outputs, mode)
    got, want = opt(*values), ref(*values)
    if not isinstance(outputs, (list, tuple)):
        got, want = [got], [want]
    for g, w in zip(got, want):
        g, w = np.asarray(g), np.asarray(w)
        assert g.dtype == w.dtype, (g.dtype, w.dtype)
        assert g.shape == w.shape, (g.shape, w.shape)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)
    for mode_ in (FAST_RUN,):
        fused = symgraph.function(inputs, outputs, mode=mode_, on_unused_input="ignore")
        res = fused(*values)
        res = res if isinstance(outputs, (list, tuple)) else [res]
        for g, w in zip(res, want):
            g, w = np.asarray(g), np.asarray(w)
            assert (g.dtype, g.shape) == (w.dtype, w.shape), \
                f"FAST_RUN gives {g.dtype}{g.shape}, FAST_COMPILE {w.dtype}{w.shape}"
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol,
                                       err_msg="FAST_RUN (fused) differs from FAST_COMPILE")
    return opt

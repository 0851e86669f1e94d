"""Planned buffers share one flat array per slot (symgraph/backends/buffers.py): the values of
different shapes a slot holds over a call cost its largest one, an elementwise kernel works in
place only on an input of its result's very shape, and results stay right."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.backends import buffers


def test_views_of_one_array_per_slot():
    slot = {}
    a = buffers.get_buffer(slot, (4, 5), "float32")
    b = buffers.get_buffer(slot, (3, 2), "float32")
    assert np.shares_memory(a, b) and buffers.owned_bytes(slot) == a.nbytes
    assert buffers.get_buffer(slot, (4, 5), "float32") is a  # one lookup per call
    c = buffers.get_buffer(slot, (10, 10), "float32")  # grows: the old views stay valid
    a[...] = 7
    assert (a == 7).all() and not np.shares_memory(a, c)
    assert buffers.owned_bytes(slot) == c.nbytes
    for n in range(1, 3 * buffers.SLOT_SHAPES):
        buffers.get_buffer(slot, (n,), "float32")
    assert len(slot) <= buffers.SLOT_SHAPES + 2  # views of changing shapes do not pile up


def test_in_place_only_on_the_results_shape():
    slot = {}
    x = buffers.get_buffer(slot, (3, 4), "float64")
    assert buffers.get_buffer_inplace(slot, (3, 4), "float64", x) is x
    small = buffers.get_buffer(slot, (4,), "float64")
    out = buffers.get_buffer_inplace(slot, (3, 4), "float64", small)
    assert not np.shares_memory(out, small) and out.shape == (3, 4)
    assert buffers.get_buffer_inplace(slot, (3, 4), "float64", small) is out  # kept
    assert buffers.owned_bytes(slot) == x.nbytes + out.nbytes


@pytest.mark.parametrize("backend", ["numpy", pytest.param("numba", marks=pytest.mark.skipif(
    not symgraph.backends.numba_available(), reason="numba not installed"))])
def test_broadcast_input_dying_into_a_larger_result(rng, backend):
    """A planned vector dies at an elementwise node whose result is a matrix: the plan offers
    the vector's slot for the result, which takes memory of its own there (the call is
    ``_getbuf_in``), and the values are right on both back ends, at sizes below and above
    the compiled loops' threshold."""
    v, m = T.vector("v"), T.matrix("m")
    a = T.exp(v) * 2 + 1                       # a fused vector, planned
    out = T.tanh(a * m)                        # the matrix result; a dies here, read first
    outs = [(out * out).sum(axis=0)]
    mode = symgraph.compile.mode.FAST_RUN.__class__("t", backend=backend)
    f = symgraph.function([v, m], outs, mode=mode)
    assert "_getbuf_in(" in f.source, f.source
    for n in (3, 700):
        vv, mv = rng.standard_normal(n), rng.standard_normal((50, n))
        want = (np.tanh((np.exp(vv) * 2 + 1) * mv) ** 2).sum(axis=0)
        np.testing.assert_allclose(f(vv, mv)[0], want, rtol=1e-12)


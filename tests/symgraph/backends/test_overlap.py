"""``buffers.overlap_free``: the check compiled loops make before writing one operand while
reading the others, against NumPy's pairwise ``may_share_memory``."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from symgraph.backends.buffers import overlap_free


def _pairwise(arrays) -> bool:
    return not any(np.may_share_memory(a, b) for i, a in enumerate(arrays)
                   for b in arrays[i + 1:])


def _operands(choices):
    """Arrays made as the generated code meets them: new arrays, disjoint or overlapping
    views of one owner (an arena), views of views, and arrays over one buffer object that
    no array owns (``np.frombuffer``)."""
    arena = np.zeros(64, "float32")
    raw = bytearray(64 * 4)
    made = []
    for kind, start, length in choices:
        stop = min(64, start + length)
        if kind == "new":
            made.append(np.zeros(length, "float32"))
        elif kind == "arena":
            made.append(arena[start:stop])
        elif kind == "view of view":
            made.append(arena[:stop][start:])
        else:
            made.append(np.frombuffer(raw, "float32")[start:stop])
    return made


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["new", "arena", "view of view", "buffer"]),
                          st.integers(0, 63), st.integers(1, 20)), min_size=1, max_size=7))
def test_overlap_free_agrees_with_pairwise_may_share_memory(choices):
    arrays = _operands(choices)
    assert overlap_free(arrays) == _pairwise(arrays)


def test_overlap_free_table():
    a, b = np.zeros(10), np.zeros(10)
    raw = bytearray(80)
    cases = [
        ([a, b], True),
        ([a, a[5:]], False),
        ([a[:5], a[5:]], True),  # one owner, disjoint halves
        ([a[::2], a[1::2]], False),  # interleaved: their bounds overlap, refused (safe)
        ([a.reshape(2, 5)[0], a[3:]], False),
        ([np.frombuffer(raw)[:4], np.frombuffer(raw)[4:]], True),
        ([np.frombuffer(raw)[:5], np.frombuffer(raw)[4:]], False),  # no common array owner
    ]
    for arrays, want in cases:
        assert overlap_free(arrays) is want

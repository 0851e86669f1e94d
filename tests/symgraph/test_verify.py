"""The IR checker accepts compiled graphs and names each broken invariant."""
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.fgraph import FunctionGraph
from symgraph.types import TensorType
from symgraph.verify import InvalidGraphError, check_fgraph


def _graph():
    x, y = T.matrix("x"), T.matrix("y")
    out = T.exp(x) * y + T.dot(x, y).sum()
    return FunctionGraph([x, y], [out])


def test_valid_graph_passes():
    fg = _graph()
    check_fgraph(fg)
    f = symgraph.function(fg.inputs, fg.outputs[0])
    check_fgraph(f.fgraph)


def test_wrong_owner_detected():
    fg = _graph()
    node = next(iter(fg.apply_nodes))
    node.outputs[0].index = 5
    with pytest.raises(InvalidGraphError, match="owned by"):
        check_fgraph(fg)


def test_foreign_input_detected():
    fg = _graph()
    node = next(n for n in fg.apply_nodes if n.inputs[0] in fg.inputs)
    stranger = T.matrix("stranger")
    old = node.inputs[0]
    node.inputs[0] = stranger
    fg.clients[old].remove((node, 0))
    fg.clients[stranger].append((node, 0))
    with pytest.raises(InvalidGraphError, match="neither an input"):
        check_fgraph(fg)


def test_type_mismatch_detected():
    fg = _graph()
    node = next(n for n in fg.apply_nodes if str(n.op) == "exp")
    node.outputs[0].type = TensorType("float32", (None, None))
    with pytest.raises(InvalidGraphError, match="recorded type"):
        check_fgraph(fg)


def test_contradicting_static_shape_detected():
    x = T.tensor("float64", (3, None), "x")
    fg = FunctionGraph([x], [T.exp(x)])
    node = fg.outputs[0].owner
    node.outputs[0].type = TensorType("float64", (4, None))
    with pytest.raises(InvalidGraphError, match="static dimension 0"):
        check_fgraph(fg)


def test_stale_clients_detected():
    fg = _graph()
    x = fg.inputs[0]
    fg.clients[x].append((next(iter(fg.apply_nodes)), 7))
    with pytest.raises(InvalidGraphError, match="clients of"):
        check_fgraph(fg)


def test_cycle_detected():
    x = T.vector("x")
    a = T.exp(x)
    b = T.log(a)
    fg = FunctionGraph([x], [b])
    na, nb = fg.outputs[0].owner.inputs[0].owner, fg.outputs[0].owner
    # make exp read log's output: a cycle exp -> log -> exp
    fg.clients[na.inputs[0]].remove((na, 0))
    na.inputs[0] = nb.outputs[0]
    fg.clients[nb.outputs[0]].append((na, 0))
    with pytest.raises(InvalidGraphError, match="cycle"):
        check_fgraph(fg)


def test_message_names_the_phase():
    fg = _graph()
    next(iter(fg.apply_nodes)).outputs[0].index = 3
    with pytest.raises(InvalidGraphError, match="after canonicalize"):
        check_fgraph(fg, where="canonicalize")

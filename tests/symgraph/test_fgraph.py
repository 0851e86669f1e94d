"""FunctionGraph.replace: the changes it reports to listeners and the cache entries it drops."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.fgraph import OUTPUT, FunctionGraph, Listener
from symgraph.rewrite.shapes import infer_shape, shape_memo
from symgraph.verify import check_fgraph


class Recorder(Listener):
    def __init__(self):
        self.events = []

    def on_import(self, node):
        self.events.append(("import", node.op.scalar_op.name))

    def on_change_input(self, client, index, old, new):
        name = "OUTPUT" if client is OUTPUT else client.op.scalar_op.name
        self.events.append(("change", name, index))

    def on_prune(self, node):
        self.events.append(("prune", node.op.scalar_op.name))


def _graph():
    x = T.vector("x")
    a = T.exp(x)
    b = T.sin(a)
    c = T.cos(b) + T.tanh(a)
    return x, FunctionGraph([x], [c, b])


def test_replace_reports_imports_rewires_and_prunes():
    x, fg = _graph()
    rec = Recorder()
    fg.attach(rec)
    b = fg.outputs[1]
    fg.replace(b, T.sqrt(T.abs(x)), "test")
    # the new nodes producer first, then both readers of b, then the sin that lost them
    assert rec.events == [("import", "abs"), ("import", "sqrt"), ("change", "cos", 0),
                          ("change", "OUTPUT", 1), ("prune", "sin")]
    fg.detach(rec)
    fg.replace(fg.outputs[1], T.abs(x), "test")
    assert len(rec.events) == 5
    check_fgraph(fg)


def test_cache_drops_downstream_and_pruned_entries_only():
    x, fg = _graph()
    memo = shape_memo(fg)
    assert memo is fg.cache("shape")
    add = fg.outputs[0]
    cos_out, tanh_out = add.owner.inputs
    sin_out = cos_out.owner.inputs[0]
    exp_out = sin_out.owner.inputs[0]
    infer_shape(add, memo)
    assert {exp_out, sin_out, cos_out, tanh_out, add} <= set(memo)
    fg.replace(sin_out, T.sqrt(exp_out), "test")
    # the sin left the graph; cos and the sum read something new; exp and tanh did not change
    assert sin_out not in memo and cos_out not in memo and add not in memo
    assert exp_out in memo and tanh_out in memo and x in memo
    # asking again fills in the new entries from the kept ones
    infer_shape(add, memo)
    assert add in memo and fg.outputs[1] in memo
    check_fgraph(fg)


def test_cache_survives_unrelated_replacements():
    x = T.vector("x")
    y = T.vector("y")
    fg = FunctionGraph([x, y], [T.exp(x) * 2, T.sin(y) * 3])
    sin_out = fg.outputs[1].owner.inputs[0]
    memo = fg.cache("facts")
    memo.update({fg.outputs[0]: "left", fg.outputs[1]: "right", sin_out: "sin"})
    fg.replace(sin_out, T.cos(y), "test")
    assert memo == {fg.outputs[0]: "left"}
    assert fg.cache("other") == {} and fg.cache("facts") is memo


def test_graph_with_caches_pickles():
    import pickle
    _, fg = _graph()
    infer_shape(fg.outputs[0], shape_memo(fg))
    copy = pickle.loads(pickle.dumps(fg))
    assert len(copy.cache("shape")) == len(fg.cache("shape")) > 0
    copy.replace(copy.outputs[1], T.abs(copy.inputs[0]), "test")
    check_fgraph(copy)
    assert copy.outputs[1].owner.op.scalar_op.name == "abs"


def test_uses_keep_order_and_act_as_a_list():
    from symgraph.fgraph import Uses
    uses = Uses([("a", 0), ("b", 1)])
    uses.append(("c", 0))
    assert list(uses) == [("a", 0), ("b", 1), ("c", 0)] and uses == [("a", 0), ("b", 1),
                                                                     ("c", 0)]
    assert uses[0] == ("a", 0) and uses[-1] == ("c", 0) and len(uses) == 3
    uses.remove(("b", 1))
    assert list(uses) == [("a", 0), ("c", 0)] and ("b", 1) not in uses
    with pytest.raises(ValueError, match="not a use"):
        uses.remove(("b", 1))


def test_pruning_a_long_chain_off_a_shared_input_keeps_the_clients_map_exact():
    # the input of a chain reads as many clients as the chain has steps; replacing the
    # chain's end prunes them all
    x = T.vector("x")
    y = x
    for _ in range(300):
        y = T.tanh(y) + x
    fg = FunctionGraph([x], [y])
    assert len(fg.clients[x]) == 301
    fg.replace(fg.outputs[0], T.exp(x), "test")
    assert len(fg.clients[x]) == 1 and len(fg.apply_nodes) == 1
    check_fgraph(fg)


def test_a_cached_expression_moved_into_the_graph_is_copied_and_the_entry_kept():
    x = T.matrix("x")
    fg = FunctionGraph([x], [T.exp(x) * 2])
    memo = shape_memo(fg)
    exp_out = fg.outputs[0].owner.inputs[0]
    dims = infer_shape(fg.outputs[0], memo)
    held = dims[1]  # ShapeI(1)(x), built outside the graph, held by the entries of x and more
    assert held.owner not in fg.apply_nodes and memo[x][1] is held
    fg.replace(exp_out, T.exp(x) + T.cast(held, "float64"), "test")
    # the graph reads a copy: the entry of x (upstream of the change) is kept as it was
    (copy,) = [n for n in fg.apply_nodes if n.op == held.owner.op]
    assert copy is not held.owner and memo[x][1] is held and held.owner.inputs[0] is x
    # rewiring the copy leaves the cached expression alone
    fg.replace(copy.outputs[0], T.constant(np.int64(3)), "test")
    assert held.owner.inputs[0] is x and memo[x][1] is held
    check_fgraph(fg)
    xv = np.ones((2, 5))
    f = symgraph.function([x], T.exp(x) * 2 + T.cast(x.shape[1], "float64"))
    np.testing.assert_allclose(f(xv), np.exp(xv) * 2 + 5)

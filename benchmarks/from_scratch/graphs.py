"""``graphs``: computational-graph pictures drawn from symgraph's own graphs (ch. 5.1-5.4,
fig. 5-16/5-17; ch. 5.7): the shopping example with forward values and backward gradients on
its edges, and the two-layer network's forward and gradient graphs before and after rewriting
(the compiled function's graph)."""
from __future__ import annotations

import json
from typing import Dict, List, Sequence

import networkx as nx

from benchmarks import results as R
from benchmarks.from_scratch import graph_draw
from benchmarks.from_scratch.experiment import Experiment, Result, Settings, Spec

SYMBOLS = {"mul": "×", "add": "+", "sub": "−", "true_div": "÷"}


def _as_json(g: nx.DiGraph) -> str:
    return json.dumps({"nodes": [[n, d] for n, d in g.nodes(data=True)],
                       "edges": [[a, b, d] for a, b, d in g.edges(data=True)]})


def from_json(text: str) -> nx.DiGraph:
    """The graph stored by a task (node and edge attributes kept)."""
    data = json.loads(str(text))
    g = nx.DiGraph()
    for n, d in data["nodes"]:
        g.add_node(n, **d)
    for a, b, d in data["edges"]:
        g.add_edge(a, b, **d)
    return g


def _postorder(outputs) -> List:
    """The Apply nodes producing ``outputs``, each after the nodes it reads (public attributes
    of symgraph's Variable and Apply only)."""
    order, seen = [], set()

    def visit(var) -> None:
        node = var.owner
        if node is None or id(node) in seen:
            return
        seen.add(id(node))
        for v in node.inputs:
            visit(v)
        order.append(node)

    for out in outputs:
        visit(out)
    return order


def _op_symbol(op) -> str:
    name = str(op).split()[-1].strip("{}")
    return SYMBOLS.get(name, name)


def shopping(settings: Settings) -> Dict:
    """The book's shopping graph built with symgraph, its forward values and the gradient of
    the price with respect to every variable (inputs and intermediates alike)."""
    import symgraph
    import symgraph.tensor as T
    names = ("apple", "apple_num", "orange", "orange_num", "tax")
    inputs = [T.scalar(n, dtype="float64") for n in names]
    apple, apple_num, orange, orange_num, tax = inputs
    apple_price = apple * apple_num
    orange_price = orange * orange_num
    total = apple_price + orange_price
    price = total * tax
    inner = [apple_price, orange_price, total]
    grads = symgraph.grad(price, inputs + inner)
    f = symgraph.function(inputs, inner + [price] + grads, name="shopping")
    values = [float(v) for v in f(*[settings["shopping"][n] for n in names])]
    variables = inputs + inner + [price]
    value = dict(zip(map(id, variables), [settings["shopping"][n] for n in names] + values[:4]))
    grad = dict(zip(map(id, inputs + inner), values[4:]))
    grad[id(price)] = 1.0
    g = nx.DiGraph()
    nodes = _postorder([price])
    ids = {id(node): f"op{k}" for k, node in enumerate(nodes)}
    for node in nodes:
        g.add_node(ids[id(node)], label=_op_symbol(node.op), kind="apply", shape="circle")
        for v in node.inputs:
            src = ids[id(v.owner)] if v.owner is not None else f"in:{v.name}"
            if v.owner is None:
                g.add_node(src, label=v.name, kind="output")
            g.add_edge(src, ids[id(node)], label=f"{value[id(v)]:g}", grad=f"{grad[id(v)]:g}")
    g.add_node("out:price", label="price", kind="output")
    g.add_edge(ids[id(price.owner)], "out:price", label=f"{value[id(price)]:g}", grad="1")
    return {"graph": g, "price": value[id(price)],
            "gradients": {v.name: grad[id(v)] for v in inputs}}


def network_graphs(settings: Settings) -> Dict[str, nx.DiGraph]:
    """The two-layer network's cost and its gradient, before rewriting (the graphs as built)
    and after (the graphs of the compiled functions)."""
    import models
    import symgraph
    from symgraph.printing import to_networkx
    net = models.MLP([settings["inputs"], settings["hidden"], settings["classes"]],
                     activation=settings["activation"], seed=0, dtype="float64")
    x, y = net.input_variable("x"), net.target_variable("y")
    cost = net.cost(x, y)
    grads = symgraph.grad(cost, net.params)
    return {"forward_before": to_networkx([cost]),
            "forward_after": to_networkx(symgraph.function([x, y], cost)),
            "gradient_before": to_networkx(grads),
            "gradient_after": to_networkx(symgraph.function([x, y], grads))}


def op_count(g: nx.DiGraph) -> int:
    return sum(1 for _, d in g.nodes(data=True) if d.get("kind") == "apply")


class GraphsExperiment(Experiment):
    name = "graphs"
    title = "Computational graphs from symgraph: the shopping example, a two-layer network"
    book = "ch. 5.1-5.4, fig. 5-16, 5-17; ch. 5.7"
    seeded = False
    uses_data = False

    def settings(self, quick: bool) -> Settings:
        return {"shopping": {"apple": 100.0, "apple_num": 2.0, "orange": 150.0,
                             "orange_num": 3.0, "tax": 1.1},
                "inputs": 784, "hidden": 50, "classes": 10, "activation": "sigmoid"}

    def tasks(self, settings: Settings, seeds: Sequence[int]) -> List[Spec]:
        return [{"task": "shopping"}, {"task": "network"}]

    def run(self, spec: Spec) -> Result:
        s = spec["settings"]
        if spec["task"] == "shopping":
            shop = shopping(s)
            return {"shopping": _as_json(shop["graph"]), "price": shop["price"],
                    "gradients": json.dumps(shop["gradients"])}
        return {k: _as_json(g) for k, g in network_graphs(s).items()}

    def describe(self, spec: Spec, result: Result) -> str:
        if spec["task"] == "shopping":
            return f"shopping: price {float(result['price']):g}"
        return "network: " + ", ".join(f"{k} {op_count(from_json(v))} ops"
                                       for k, v in result.items() if not k.startswith("_"))

    def finish(self, out, settings, tasks, results, plt):
        shop, net = results["shopping"], results["network"]
        graphs = {"shopping": from_json(shop["shopping"]),
                  **{k: from_json(net[k]) for k in ("forward_before", "forward_after",
                                                    "gradient_before", "gradient_after")}}
        gradients = json.loads(str(shop["gradients"]))
        rows = [{"graph": name, "ops": op_count(g), "nodes": g.number_of_nodes(),
                 "edges": g.number_of_edges()} for name, g in graphs.items()]
        R.write_csv(out / "graphs.csv", ("graph", "ops", "nodes", "edges"), rows)
        R.write_csv(out / "shopping.csv", ("variable", "value", "gradient_of_price"),
                    [{"variable": k, "value": settings["shopping"][k], "gradient_of_price": v}
                     for k, v in gradients.items()])
        s = settings["shopping"]
        net_name = (f"two-layer network {settings['inputs']}-{settings['hidden']}-"
                    f"{settings['classes']} {settings['activation']}")
        titles = {
            "shopping": (f"Shopping: {s['apple']:g} × {s['apple_num']:g} + {s['orange']:g} × "
                         f"{s['orange_num']:g}, times tax {s['tax']:g}\\nedges: forward value "
                         f"(black), gradient of the price (red)"),
            "forward_before": f"{net_name}: cost, as built ({rows[1]['ops']} ops)",
            "forward_after": f"{net_name}: cost, compiled and rewritten ({rows[2]['ops']} ops)",
            "gradient_before": f"{net_name}: gradient of the cost, as built ({rows[3]['ops']} ops)",
            "gradient_after": (f"{net_name}: gradient of the cost, compiled and rewritten "
                               f"({rows[4]['ops']} ops)")}
        renderer = "none"
        if plt is not None or graph_draw.dot_program() is not None:
            for name, g in graphs.items():
                renderer = graph_draw.draw(plt, g, out / name, titles[name],
                                           "LR" if name == "shopping" else "TB")
        return {"price": float(shop["price"]), "gradients_of_price": gradients,
                "book_gradients": {"apple": 2.2, "apple_num": 110, "orange": 3.3,
                                   "orange_num": 165, "tax": 650},
                "ops": {r["graph"]: r["ops"] for r in rows}, "drawn_with": renderer}

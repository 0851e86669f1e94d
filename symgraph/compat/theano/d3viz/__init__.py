"""``theano.d3viz``: ``d3viz(fct, outfile)``, an interactive HTML page of a compiled
function's graph, served by ``symgraph.d3viz`` (:mod:`symgraph.graph_html`, imported when
called)."""
from __future__ import annotations


def _target():
    try:
        from symgraph.graph_html import d3viz as page
    except ImportError:
        page = None
    if callable(page):
        return page
    raise NotImplementedError("theano.d3viz: this symgraph has no interactive graph page "
                              "(symgraph.d3viz); draw the graph with "
                              "theano.printing.pydotprint(fct, 'graph.svg') instead")


def d3viz(fct, outfile, copy_deps: bool = True, *args, **kwargs):
    """Write the interactive graph of the compiled function ``fct`` to ``outfile`` (HTML);
    ``copy_deps`` as for :func:`symgraph.graph_html.d3viz`."""
    return _target()(fct, outfile, copy_deps, *args, **kwargs)


def d3write(fct, path, *args, **kwargs):
    """Theano's lower-level writer: the same page as :func:`d3viz`."""
    return d3viz(fct, path, *args, **kwargs)

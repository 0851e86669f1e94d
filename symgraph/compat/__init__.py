"""Compatibility with legacy Theano programs.

``import symgraph.compat.theano_alias`` (one line, before ``import theano``) makes every
``theano`` module path resolve to its symgraph counterpart; ``symgraph-theano SCRIPT.py`` (or
``python -m symgraph.compat.run SCRIPT.py``) runs an unmodified script that way.
"""

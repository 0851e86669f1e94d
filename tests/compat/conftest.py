import pytest


@pytest.fixture(autouse=True)
def _theano_type_names():
    """Inside a Theano program types print with Theano's names (as importing theano sets)."""
    from symgraph import types
    from symgraph.compat.theano import _display
    types.set_display_style(_display.theano_type_str)
    yield
    types.set_display_style(None)

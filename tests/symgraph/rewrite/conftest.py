"""Every rewrite test runs the IR checker after each phase of every compilation."""
import pytest

from symgraph.rewrite import engine
from symgraph.verify import check_fgraph


@pytest.fixture(autouse=True)
def _verify_after_each_phase(monkeypatch):
    original = engine.run_phase

    def checked(fgraph, phase, *args, **kwargs):
        result = original(fgraph, phase, *args, **kwargs)
        check_fgraph(fgraph, where=f"phase {phase!r}")
        return result

    monkeypatch.setattr(engine, "run_phase", checked)
    yield

"""Every rewrite test runs the IR checker after each phase of every compilation."""
import pytest

from symgraph.rewrite import engine
from symgraph.verify import check_fgraph


@pytest.fixture(autouse=True)
def verified_phases(monkeypatch):
    """Wrap ``engine.run_phase`` so ``check_fgraph`` runs after it; yields the phases checked."""
    original = engine.run_phase
    checked_phases = []

    def checked(fgraph, phase, *args, **kwargs):
        result = original(fgraph, phase, *args, **kwargs)
        check_fgraph(fgraph, where=f"phase {phase!r}")
        checked_phases.append(phase)
        return result

    monkeypatch.setattr(engine, "run_phase", checked)
    yield checked_phases

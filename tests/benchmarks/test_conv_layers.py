"""The per-layer convolution benchmark: every DeepConvNet layer and direction measured, the
compiled loops taking Winograd's path exactly where it applies, and both paths' errors
against the float64 definition within what each promises (exact kernels: a few 1e-7 of the
result's largest entry; Winograd: a few 1e-6)."""
import pytest

pytest.importorskip("numba")

from benchmarks import conv_layers  # noqa: E402


def test_every_layer_and_direction_with_its_path_and_error(monkeypatch):
    monkeypatch.setattr(conv_layers, "BATCH", 6)
    rows = conv_layers.run(repeat=1)
    assert len(rows) == 3 * len(conv_layers.LAYERS) - 1  # no input gradient of the first
    for r in rows:
        assert r["winograd"] == (not r["layer"].startswith("1->")), r
        assert r["exact_error"] < 3e-6 and r["numba_error"] < 3e-5, r
        assert r["exact_ms"] > 0 and r["numba_ms"] > 0
    assert any(r["numba_error"] > 10 * r["exact_error"] for r in rows if r["winograd"])
    text = conv_layers.table(rows)
    assert text.count("\n") == len(rows) + 1 and "Winograd" in text

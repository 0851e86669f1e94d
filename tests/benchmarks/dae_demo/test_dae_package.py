"""The files read at run time (the demo's page, the graph viewer's script and style) are
declared as package data in setup.cfg, so an installed package has them."""
import configparser
import fnmatch
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("package, folder", [("benchmarks.dae_demo", "static"),
                                             ("symgraph", "assets")])
def test_runtime_files_are_package_data(package, folder):
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    globs = [g.strip() for g in cfg["options.package_data"][package].replace("\n", ",")
             .split(",") if g.strip()]
    base = ROOT / package.replace(".", "/")
    files = [p.relative_to(base).as_posix() for p in (base / folder).iterdir() if p.is_file()]
    assert files
    for f in files:
        assert any(fnmatch.fnmatch(f, g) for g in globs), f"{package}: {f} not in {globs}"

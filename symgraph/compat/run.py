"""Run a legacy Theano script on symgraph: ``symgraph-theano SCRIPT.py [ARGS...]``."""
from __future__ import annotations

import runpy
import sys


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: symgraph-theano SCRIPT.py [ARGS...]  (runs SCRIPT with `import theano` "
              "redirected to symgraph)")
        return 0 if argv else 2
    import symgraph.compat.theano_alias  # noqa: F401  (installs the redirection)
    sys.argv = argv
    runpy.run_path(argv[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

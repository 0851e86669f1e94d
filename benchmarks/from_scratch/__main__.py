"""``python -m benchmarks.from_scratch``: see :mod:`benchmarks.from_scratch.cli`."""
import sys

from benchmarks.from_scratch.cli import main

if __name__ == "__main__":
    sys.exit(main())

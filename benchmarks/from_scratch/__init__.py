"""The experiments of *Deep Learning from Scratch* (ch. 1-8) as resumable one-command studies:
``python -m benchmarks.from_scratch --list`` names them, ``python -m benchmarks.from_scratch
EXPERIMENT`` (or ``all``) runs them.

Modules: :mod:`~benchmarks.from_scratch.cli` (the command line), :mod:`.study` (folders,
resume, scheduling), :mod:`.experiment` (what an experiment declares), :mod:`.registry` (the
list), :mod:`.worker` (what a worker process runs), :mod:`.common` (data, training loops,
statistics), :mod:`.figures` (plot helpers) and one module per experiment.
"""

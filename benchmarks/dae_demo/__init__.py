"""Denoising autoencoders in the browser: ``python -m benchmarks.dae_demo``.

Three tied-weight denoising autoencoders (784-500 sigmoid units, sigmoid decoder,
cross-entropy), one per corruption (masking, salt-and-pepper, Gaussian), trained on MNIST on
first use and cached; a small HTTP server lets a person draw a digit and watch each model
reconstruct its corrupted version, computed by compiled symgraph functions that draw the noise
inside the graph, as in training.

Modules, in import order: :mod:`~benchmarks.dae_demo.noises` (the corruptions and their
levels), :mod:`~benchmarks.dae_demo.reconstruct` (the compiled reconstruction functions),
:mod:`~benchmarks.dae_demo.cache` (training, checkpoints and the model cache),
:mod:`~benchmarks.dae_demo.api` (requests and responses, no sockets),
:mod:`~benchmarks.dae_demo.server` (the ``http.server`` front end) and ``__main__`` (the
command line). The page is in ``static/``.
"""

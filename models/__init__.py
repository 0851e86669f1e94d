"""Classic networks built on symgraph, the MNIST loaders and the training loop.

``models.data`` loads MNIST/Fashion-MNIST, ``models.training.fit`` trains any model here with
an optimizer from ``optimizers``; each model owns its shared parameters.
"""
from models.logistic import LogisticRegression  # noqa: F401
from models.mlp import MLP  # noqa: F401

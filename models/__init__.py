"""Classic networks built on symgraph, the MNIST loaders and the training loop.

``models.data`` loads MNIST/Fashion-MNIST, ``models.training.fit`` trains any model here with
an optimizer from ``optimizers``; each model owns its shared parameters (``params``), builds
symbolic graphs (``forward``, ``cost``, ``metrics``) and saves them as ``.npz``.
"""
from models.autoencoder import (AutoEncoder, gaussian, masking,  # noqa: F401
                                salt_and_pepper)
from models.convnet import DeepConvNet, SimpleConvNet  # noqa: F401
from models.logistic import LogisticRegression  # noqa: F401
from models.mlp import MLP  # noqa: F401
from models.sda import StackedDenoisingAutoEncoder  # noqa: F401

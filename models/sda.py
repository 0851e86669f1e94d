"""Stacked denoising autoencoder: greedy layer-wise pre-training, then supervised fine-tuning."""
from __future__ import annotations

from typing import Callable, List, Optional, Sequence, Union

from symgraph.graph import Variable

from models import layers as L
from models.autoencoder import AutoEncoder
from models.base import Classifier, Model


class _PretrainLayer(Model):
    """Layer ``k`` of a stack seen as an autoencoder of the clean codes of the layers below."""

    supervised = False

    def __init__(self, stack: "StackedDenoisingAutoEncoder", k: int):
        super().__init__(stack.seed, stack.dtype)
        self.stack, self.k, self.dae = stack, k, stack.daes[k]
        self.params = list(self.dae.params)

    def _below(self, x: Variable) -> Variable:
        return self.stack.encode(x, upto=self.k)

    def cost(self, x, y=None, train=True, updates=None):
        return self.dae.cost(self._below(x), train=train)

    def metrics(self, x, y=None):
        return self.dae.metrics(self._below(x))


class StackedDenoisingAutoEncoder(Classifier):
    """A sigmoid MLP whose hidden layers are the encoders of denoising autoencoders.

    ``pretrain`` trains autoencoder k on the clean codes of layers < k (its own input noise
    drawn fresh per minibatch); fine-tuning (``fit(model, ...)``) then trains the encoders and
    a softmax output layer on the labels. The autoencoders' decoder biases (and decoder weights
    when untied) are kept in ``state`` so that save/load covers the whole stack.

    Parameters
    ----------
    sizes : sequence of int
        Input width, hidden widths, number of classes: ``[784, 1000, 1000, 1000, 10]``.
    noise : noise or sequence of noises
        One per hidden layer (or one for all), e.g. ``[masking(.1), masking(.2), masking(.3)]``.
    activation, tied, loss : as for :class:`models.autoencoder.AutoEncoder`
    """

    def __init__(self, sizes: Sequence[int] = (784, 1000, 1000, 1000, 10),
                 noise=None, activation: str = "sigmoid", tied: bool = True,
                 loss: str = "xent", weight_decay: float = 0.0, seed: int = 0,
                 dtype: Optional[str] = None):
        sizes = [int(s) for s in sizes]
        if len(sizes) < 3:
            raise ValueError(f"StackedDenoisingAutoEncoder: sizes needs input, at least one "
                             f"hidden width and the classes, got {sizes}")
        super().__init__(sizes[-1], weight_decay, seed, dtype)
        hidden = sizes[1:-1]
        noises = list(noise) if isinstance(noise, (list, tuple)) else [noise] * len(hidden)
        if len(noises) != len(hidden):
            raise ValueError(f"StackedDenoisingAutoEncoder: {len(noises)} noises for "
                             f"{len(hidden)} hidden layers")
        self.sizes, self.act = sizes, L.activation(activation)
        self.daes = [AutoEncoder(n_in, n_out, activation=activation, noise=nz, tied=tied,
                                 loss=loss, seed=self.seed + 1000 * (k + 1), dtype=self.dtype,
                                 name=f"dae{k}")
                     for k, (n_in, n_out, nz) in enumerate(zip(sizes[:-2], hidden, noises))]
        self.output = L.Dense(sizes[-2], sizes[-1], self.rng, "zeros", self.dtype, "out")
        for dae in self.daes:
            self.params += dae.encoder.params
            self.state += [p for p in dae.params if p not in dae.encoder.params]
        self.params += self.output.params
        self.weights = [dae.encoder.W for dae in self.daes] + [self.output.W]

    def encode(self, x: Variable, upto: Optional[int] = None) -> Variable:
        """The clean code of ``x`` after the first ``upto`` hidden layers (all by default)."""
        h = x
        for dae in self.daes[:upto]:
            h = self.act(dae.encoder(h))
        return h

    def forward(self, x, train=False, updates=None):
        return self.output(self.encode(x))

    def pretraining_models(self) -> List[Model]:
        """One unsupervised model per hidden layer, for :func:`models.training.fit`."""
        return [_PretrainLayer(self, k) for k in range(len(self.daes))]

    def pretrain(self, data, optimizer: Union[Callable, object], epochs: int,
                 batch_size: int = 20, seed: int = 0, **fit_kwargs) -> List[list]:
        """Greedy layer-wise pre-training; returns one history per layer.

        ``optimizer`` is an optimizer (reused: each layer gets its own state from
        ``updates``) or a zero-argument factory called once per layer.
        """
        from models.training import fit  # the loop lives in training.py, which imports models
        histories = []
        for layer in self.pretraining_models():
            opt = optimizer if hasattr(optimizer, "updates") else optimizer()
            histories.append(fit(layer, opt, data, epochs, batch_size, seed, **fit_kwargs))
        return histories

"""Multi-layer perceptron (deep-learning-from-scratch's MultiLayerNet / MultiLayerNetExtend)."""
from __future__ import annotations

from typing import List, Optional, Sequence

from symgraph.graph import Variable

from models import layers as L
from models.base import Classifier


class MLP(Classifier):
    """Fully-connected classifier: [dropout] → (affine → [batchnorm] → act → [dropout])* → affine.

    Parameters
    ----------
    sizes : sequence of int
        Every width, input and output included: ``[784, 100, 100, 10]``.
    activation : {'relu', 'sigmoid', 'tanh'}
    init : str, float or callable
        Weight initialiser (see :mod:`models.init`); default He for ReLU, Xavier otherwise.
    dropout : float
        Drop probability after each hidden activation (training only).
    input_dropout : float
        Drop probability on the input pixels (training only).
    batchnorm : bool
        Batch normalisation between each hidden affine map and its activation.
    weight_decay : float
        L2 coefficient λ: the cost gains λ/2 Σ ||W||².
    seed : int
        Seeds the initial weights and the dropout stream.
    """

    def __init__(self, sizes: Sequence[int], activation: str = "relu", init=None,
                 dropout: float = 0.0, batchnorm: bool = False, weight_decay: float = 0.0,
                 seed: int = 0, input_dropout: float = 0.0, dtype: Optional[str] = None):
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"MLP: sizes must list at least the input and output widths "
                             f"(positive), got {sizes}")
        for p, what in ((dropout, "dropout"), (input_dropout, "input_dropout")):
            if not 0 <= p < 1:
                raise ValueError(f"MLP: {what} must be in [0, 1), got {p}")
        super().__init__(sizes[-1], weight_decay, seed, dtype)
        self.sizes = sizes
        self.act = L.activation(activation)
        self.activation = activation
        if init is None:
            init = "he" if activation == "relu" else "xavier"
        self.dropout, self.input_dropout = dropout, input_dropout
        self.layers = [L.Dense(a, b, self.rng, init, self.dtype, f"dense{i}")
                       for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))]
        self.norms = ([L.BatchNorm(b, self.dtype, f"bn{i}") for i, b in enumerate(sizes[1:-1])]
                      if batchnorm else [])
        for i, layer in enumerate(self.layers):
            self.params += layer.params
            if self.norms and i < len(self.norms):
                self.params += self.norms[i].params
                self.state += self.norms[i].state
        self.weights = [layer.W for layer in self.layers]
        self.stream = (L.random_stream(self.seed + 1)
                       if dropout or input_dropout else None)

    def hidden_activations(self, x: Variable, train: bool = False,
                           updates: Optional[list] = None) -> List[Variable]:
        """The output of every hidden layer, first to last: its activation (after batch norm
        when there is one, and dropout when training). What the activation histograms of
        deep-learning-from-scratch ch. 6 show."""
        return self._hidden(x, train, updates)[1:]

    def _hidden(self, x: Variable, train: bool, updates: Optional[list]) -> List[Variable]:
        # the (possibly dropped-out) input, then each hidden layer's output
        outs = [L.dropout(x, self.input_dropout, self.stream, train)]
        for i, layer in enumerate(self.layers[:-1]):
            h = layer(outs[-1])
            if self.norms:
                h = self.norms[i](h, train, updates)
            outs.append(L.dropout(self.act(h), self.dropout, self.stream, train))
        return outs

    def forward(self, x, train=False, updates=None):
        return self.layers[-1](self._hidden(x, train, updates)[-1])

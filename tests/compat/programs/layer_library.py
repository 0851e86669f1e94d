"""A small layer library written against Theano's API the way widely used ones were (type
objects with broadcast patterns, abstract_conv with transposed and dilated convolutions,
patternbroadcast, clone, graph inputs, gradient clipping, the GPU probe), then an
encoder-decoder trained with it."""
from __future__ import print_function

from collections import OrderedDict

import numpy as np

import theano
import theano.tensor as T
from theano.tensor.nnet import abstract_conv

from _data import images

try:  # libraries probe the GPU back end and fall back to the CPU
    import theano.gpuarray.dnn
    USE_DNN = theano.gpuarray.dnn.dnn_available()
except ImportError:
    USE_DNN = False


class InputLayer(object):
    def __init__(self, shape, name):
        pattern = [s == 1 for s in shape]
        self.var = T.TensorType(theano.config.floatX, pattern)(name)
        self.shape = shape
        self.params = []


class Conv(object):
    def __init__(self, incoming, n_filters, size, rng, dilation=(1, 1), pad="valid"):
        c = incoming.shape[1]
        self.W = theano.shared(rng.normal(0, 0.3, (n_filters, c, size, size)).astype(
            theano.config.floatX), name="W")
        self.b = theano.shared(np.zeros(n_filters, dtype=theano.config.floatX), name="b",
                               broadcastable=(False,))
        if dilation != (1, 1):
            # a dilated convolution as the filter gradient of a strided one
            kshp = (n_filters, None, None, None)  # (filters, batch, rows, cols) of the output
            op = abstract_conv.AbstractConv2d_gradWeights(
                imshp=None, kshp=kshp, subsample=dilation, border_mode="valid",
                filter_flip=False)
            rows = T.shape(incoming.var)[2] - (size - 1) * dilation[0]
            cols = T.shape(incoming.var)[3] - (size - 1) * dilation[1]
            out = op(incoming.var.dimshuffle(1, 0, 2, 3), self.W.dimshuffle(1, 0, 2, 3),
                     (rows, cols)).dimshuffle(1, 0, 2, 3)
        else:
            out = T.nnet.conv2d(incoming.var, self.W, border_mode=pad)
        self.var = T.nnet.relu(out + self.b.dimshuffle("x", 0, "x", "x"))
        self.shape = (None, n_filters, None, None)
        self.params = incoming.params + [self.W, self.b]


class TransposedConv(object):
    def __init__(self, incoming, n_filters, size, stride, out_size, rng):
        c = incoming.shape[1]
        self.W = theano.shared(rng.normal(0, 0.3, (c, n_filters, size, size)).astype(
            theano.config.floatX), name="Wt")
        op = abstract_conv.AbstractConv2d_gradInputs(
            imshp=(None, n_filters) + out_size, kshp=(c, n_filters, size, size),
            subsample=stride, border_mode="valid", filter_flip=True)
        out = op(self.W, incoming.var, out_size)
        self.var = T.nnet.sigmoid(T.patternbroadcast(out, (False,) * 4))
        self.shape = (None, n_filters) + out_size
        self.params = incoming.params + [self.W]


def get_all_params(layer):
    return list(OrderedDict.fromkeys(layer.params))


def adam(loss, params, lr=0.01):
    grads = [theano.gradient.grad_clip(g, -1.0, 1.0) for g in T.grad(loss, params)]
    updates = OrderedDict()
    t = theano.shared(np.float64(0), name="t")
    t_new = t + 1
    for p, g in zip(params, grads):
        m = theano.shared(np.zeros_like(p.get_value()), broadcastable=p.broadcastable)
        v = theano.shared(np.zeros_like(p.get_value()), broadcastable=p.broadcastable)
        m_new = 0.9 * m + 0.1 * g
        v_new = 0.999 * v + 0.001 * T.square(g)
        step = lr * T.sqrt(1 - 0.999 ** t_new) / (1 - 0.9 ** t_new)
        updates[m], updates[v] = m_new, v_new
        updates[p] = p - step * m_new / (T.sqrt(v_new) + 1e-8)
    updates[t] = t_new
    return updates


def main():
    rng = np.random.RandomState(3)
    x_data, _ = images(n=40, side=12)
    x_data = x_data.reshape(-1, 1, 12, 12).astype(theano.config.floatX)
    inp = InputLayer((None, 1, 12, 12), "x")
    h1 = Conv(inp, 4, 3, rng)                      # 10 x 10
    h2 = Conv(h1, 4, 3, rng, dilation=(2, 2))      # 6 x 6
    out = TransposedConv(h2, 1, 3, (2, 2), (13, 13), rng)
    recon = out.var[:, :, :12, :12]
    loss = T.nnet.binary_crossentropy(T.clip(recon, 1e-6, 1 - 1e-6), inp.var).mean()
    params = get_all_params(out)
    assert set(theano.gof.graph.inputs([loss])) >= set(params)
    test_loss = theano.clone(loss, replace={inp.var: inp.var[:10]})
    train = theano.function([inp.var], loss, updates=adam(loss, params))
    evaluate = theano.function([inp.var], test_loss)
    first = evaluate(x_data)
    for epoch in range(30):
        train(x_data)
    last = evaluate(x_data)
    print("RESULT first %.6f last %.6f dnn %d" % (first, last, USE_DNN))


if __name__ == "__main__":
    main()

"""A stacked denoising autoencoder: greedy layer-wise pre-training, then supervised fine-tuning,
in the style of the classic tutorial (SdA.py)."""
from __future__ import print_function

import numpy

import theano
import theano.tensor as T
from theano.tensor.shared_randomstreams import RandomStreams

from _data import classification
from dA import dA
from mlp import HiddenLayer, LogisticRegression


class SdA(object):
    def __init__(self, numpy_rng, n_ins=20, hidden_layers_sizes=(16, 12), n_outs=3,
                 corruption_levels=(0.1, 0.2)):
        self.sigmoid_layers, self.dA_layers, self.params = [], [], []
        self.n_layers = len(hidden_layers_sizes)
        theano_rng = RandomStreams(numpy_rng.randint(2 ** 30))
        self.x = T.matrix('x')
        self.y = T.ivector('y')
        for i in range(self.n_layers):
            input_size = n_ins if i == 0 else hidden_layers_sizes[i - 1]
            layer_input = self.x if i == 0 else self.sigmoid_layers[-1].output
            sigmoid_layer = HiddenLayer(rng=numpy_rng, input=layer_input, n_in=input_size,
                                        n_out=hidden_layers_sizes[i], activation=T.nnet.sigmoid)
            self.sigmoid_layers.append(sigmoid_layer)
            self.params.extend(sigmoid_layer.params)
            self.dA_layers.append(dA(numpy_rng=numpy_rng, theano_rng=theano_rng,
                                     input=layer_input, n_visible=input_size,
                                     n_hidden=hidden_layers_sizes[i], W=sigmoid_layer.W,
                                     bhid=sigmoid_layer.b))
        self.logLayer = LogisticRegression(input=self.sigmoid_layers[-1].output,
                                           n_in=hidden_layers_sizes[-1], n_out=n_outs)
        self.params.extend(self.logLayer.params)
        self.finetune_cost = self.logLayer.negative_log_likelihood(self.y)
        self.errors = self.logLayer.errors(self.y)

    def pretraining_functions(self, train_set_x, batch_size):
        index = T.lscalar('index')
        corruption_level = T.scalar('corruption')
        learning_rate = T.scalar('lr')
        fns = []
        for da in self.dA_layers:
            cost, updates = da.get_cost_updates(corruption_level, learning_rate)
            fns.append(theano.function(
                inputs=[index, theano.In(corruption_level, value=0.2),
                        theano.In(learning_rate, value=0.1)],
                outputs=cost, updates=updates,
                givens={self.x: train_set_x[index * batch_size: (index + 1) * batch_size]}))
        return fns


def test_SdA(pretraining_epochs=5, finetune_epochs=10, batch_size=20):
    train, valid, _ = classification()
    train_x = theano.shared(numpy.asarray(train[0], dtype=theano.config.floatX), borrow=True)
    train_y = T.cast(theano.shared(numpy.asarray(train[1], dtype=theano.config.floatX)), 'int32')
    valid_x = theano.shared(numpy.asarray(valid[0], dtype=theano.config.floatX), borrow=True)
    valid_y = T.cast(theano.shared(numpy.asarray(valid[1], dtype=theano.config.floatX)), 'int32')
    n_batches = train[0].shape[0] // batch_size
    sda = SdA(numpy_rng=numpy.random.RandomState(89677))
    for i, fn in enumerate(sda.pretraining_functions(train_x, batch_size)):
        for epoch in range(pretraining_epochs):
            c = [fn(index=b, corruption=0.1 * (i + 1), lr=0.05) for b in range(n_batches)]
            print('Pre-training layer %i, epoch %d, cost %.10f' % (i, epoch, numpy.mean(c)))
    index = T.lscalar()
    gparams = T.grad(sda.finetune_cost, sda.params)
    updates = [(p, p - 0.1 * g) for p, g in zip(sda.params, gparams)]
    train_fn = theano.function([index], sda.finetune_cost, updates=updates,
                               givens={sda.x: train_x[index * batch_size:(index + 1) * batch_size],
                                       sda.y: train_y[index * batch_size:(index + 1) * batch_size]})
    valid_fn = theano.function([], sda.errors, givens={sda.x: valid_x, sda.y: valid_y})
    for epoch in range(finetune_epochs):
        c = [train_fn(b) for b in range(n_batches)]
        print('Fine-tuning epoch %d, cost %.10f, valid error %.10f' % (epoch, numpy.mean(c),
                                                                        valid_fn()))
    print('RESULT finetune %.10f valid %.10f' % (numpy.mean(c), valid_fn()))


if __name__ == '__main__':
    test_SdA()

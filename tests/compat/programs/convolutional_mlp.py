"""A small LeNet (conv + max-pool + hidden layer + softmax), in the style of the classic tutorial
(convolutional_mlp.py), with the legacy conv and pooling entry points."""
from __future__ import print_function

import numpy

import theano
import theano.tensor as T
from theano.tensor.nnet import conv2d
from theano.tensor.signal import pool

from _data import images
from mlp import HiddenLayer, LogisticRegression


class LeNetConvPoolLayer(object):
    def __init__(self, rng, input, filter_shape, image_shape, poolsize=(2, 2)):
        assert image_shape[1] == filter_shape[1]
        self.input = input
        fan_in = numpy.prod(filter_shape[1:])
        fan_out = (filter_shape[0] * numpy.prod(filter_shape[2:]) // numpy.prod(poolsize))
        W_bound = numpy.sqrt(6. / (fan_in + fan_out))
        self.W = theano.shared(numpy.asarray(rng.uniform(low=-W_bound, high=W_bound,
                                                         size=filter_shape),
                                             dtype=theano.config.floatX), borrow=True)
        b_values = numpy.zeros((filter_shape[0],), dtype=theano.config.floatX)
        self.b = theano.shared(value=b_values, borrow=True)
        conv_out = conv2d(input=input, filters=self.W, filter_shape=filter_shape,
                          input_shape=image_shape)
        pooled_out = pool.pool_2d(input=conv_out, ws=poolsize, ignore_border=True)
        self.output = T.tanh(pooled_out + self.b.dimshuffle('x', 0, 'x', 'x'))
        self.params = [self.W, self.b]


def evaluate_lenet5(learning_rate=0.1, n_epochs=6, nkerns=(4, 6), batch_size=10):
    rng = numpy.random.RandomState(23455)
    data_x, data_y = images()
    train_x = theano.shared(numpy.asarray(data_x, dtype=theano.config.floatX), borrow=True)
    train_y = T.cast(theano.shared(numpy.asarray(data_y, dtype=theano.config.floatX)), 'int32')
    n_train_batches = data_x.shape[0] // batch_size
    index = T.lscalar()
    x = T.matrix('x')
    y = T.ivector('y')
    layer0_input = x.reshape((batch_size, 1, 12, 12))
    layer0 = LeNetConvPoolLayer(rng, input=layer0_input, image_shape=(batch_size, 1, 12, 12),
                                filter_shape=(nkerns[0], 1, 3, 3), poolsize=(2, 2))
    layer1 = LeNetConvPoolLayer(rng, input=layer0.output,
                                image_shape=(batch_size, nkerns[0], 5, 5),
                                filter_shape=(nkerns[1], nkerns[0], 2, 2), poolsize=(2, 2))
    layer2_input = layer1.output.flatten(2)
    layer2 = HiddenLayer(rng, input=layer2_input, n_in=nkerns[1] * 2 * 2, n_out=20,
                         activation=T.tanh)
    layer3 = LogisticRegression(input=layer2.output, n_in=20, n_out=2)
    cost = layer3.negative_log_likelihood(y)
    params = layer3.params + layer2.params + layer1.params + layer0.params
    grads = T.grad(cost, params)
    updates = [(param_i, param_i - learning_rate * grad_i)
               for param_i, grad_i in zip(params, grads)]
    train_model = theano.function(
        [index], cost, updates=updates,
        givens={x: train_x[index * batch_size: (index + 1) * batch_size],
                y: train_y[index * batch_size: (index + 1) * batch_size]})
    test_model = theano.function(
        [index], layer3.errors(y),
        givens={x: train_x[index * batch_size: (index + 1) * batch_size],
                y: train_y[index * batch_size: (index + 1) * batch_size]})
    for epoch in range(1, n_epochs + 1):
        costs = [train_model(i) for i in range(n_train_batches)]
        errs = [test_model(i) for i in range(n_train_batches)]
        print('epoch %i, cost %.10f, train error %.10f' % (epoch, numpy.mean(costs),
                                                           numpy.mean(errs)))
    print('RESULT cost %.10f error %.10f' % (numpy.mean(costs), numpy.mean(errs)))


if __name__ == '__main__':
    evaluate_lenet5()

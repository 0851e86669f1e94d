"""A multilayer perceptron with L1 and L2 regularisation, in the style of the classic tutorial
(mlp.py): HiddenLayer + LogisticRegression, minibatches through givens."""
from __future__ import print_function

import numpy

import theano
import theano.tensor as T

from _data import classification


class HiddenLayer(object):
    def __init__(self, rng, input, n_in, n_out, W=None, b=None, activation=T.tanh):
        self.input = input
        if W is None:
            W_values = numpy.asarray(
                rng.uniform(low=-numpy.sqrt(6. / (n_in + n_out)),
                            high=numpy.sqrt(6. / (n_in + n_out)), size=(n_in, n_out)),
                dtype=theano.config.floatX)
            if activation == theano.tensor.nnet.sigmoid:
                W_values *= 4
            W = theano.shared(value=W_values, name='W', borrow=True)
        if b is None:
            b = theano.shared(value=numpy.zeros((n_out,), dtype=theano.config.floatX),
                              name='b', borrow=True)
        self.W, self.b = W, b
        lin_output = T.dot(input, self.W) + self.b
        self.output = (lin_output if activation is None else activation(lin_output))
        self.params = [self.W, self.b]


class LogisticRegression(object):
    def __init__(self, input, n_in, n_out):
        self.W = theano.shared(numpy.zeros((n_in, n_out), dtype=theano.config.floatX), 'W')
        self.b = theano.shared(numpy.zeros((n_out,), dtype=theano.config.floatX), 'b')
        self.p_y_given_x = T.nnet.softmax(T.dot(input, self.W) + self.b)
        self.y_pred = T.argmax(self.p_y_given_x, axis=1)
        self.params = [self.W, self.b]

    def negative_log_likelihood(self, y):
        return -T.mean(T.log(self.p_y_given_x)[T.arange(y.shape[0]), y])

    def errors(self, y):
        return T.mean(T.neq(self.y_pred, y))


class MLP(object):
    def __init__(self, rng, input, n_in, n_hidden, n_out, activation):
        self.hiddenLayer = HiddenLayer(rng=rng, input=input, n_in=n_in, n_out=n_hidden,
                                       activation=activation)
        self.logRegressionLayer = LogisticRegression(input=self.hiddenLayer.output,
                                                     n_in=n_hidden, n_out=n_out)
        self.L1 = abs(self.hiddenLayer.W).sum() + abs(self.logRegressionLayer.W).sum()
        self.L2_sqr = (self.hiddenLayer.W ** 2).sum() + (self.logRegressionLayer.W ** 2).sum()
        self.negative_log_likelihood = self.logRegressionLayer.negative_log_likelihood
        self.errors = self.logRegressionLayer.errors
        self.params = self.hiddenLayer.params + self.logRegressionLayer.params
        self.input = input


def test_mlp(activation, learning_rate=0.05, L1_reg=0.001, L2_reg=0.0001, n_epochs=15,
             batch_size=20, n_hidden=30):
    train, valid, test = classification()
    train_x = theano.shared(numpy.asarray(train[0], dtype=theano.config.floatX), borrow=True)
    train_y = T.cast(theano.shared(numpy.asarray(train[1], dtype=theano.config.floatX)), 'int32')
    valid_x = theano.shared(numpy.asarray(valid[0], dtype=theano.config.floatX), borrow=True)
    valid_y = T.cast(theano.shared(numpy.asarray(valid[1], dtype=theano.config.floatX)), 'int32')
    n_train_batches = train_x.get_value(borrow=True).shape[0] // batch_size

    index = T.lscalar()
    x = T.matrix('x')
    y = T.ivector('y')
    rng = numpy.random.RandomState(1234)
    classifier = MLP(rng=rng, input=x, n_in=20, n_hidden=n_hidden, n_out=3,
                     activation=activation)
    cost = (classifier.negative_log_likelihood(y) + L1_reg * classifier.L1
            + L2_reg * classifier.L2_sqr)
    validate_model = theano.function([], classifier.errors(y),
                                     givens={x: valid_x, y: valid_y})
    gparams = [T.grad(cost, param) for param in classifier.params]
    updates = [(param, param - learning_rate * gparam)
               for param, gparam in zip(classifier.params, gparams)]
    train_model = theano.function(
        inputs=[index], outputs=cost, updates=updates,
        givens={x: train_x[index * batch_size: (index + 1) * batch_size],
                y: train_y[index * batch_size: (index + 1) * batch_size]})
    for epoch in range(1, n_epochs + 1):
        costs = [train_model(i) for i in range(n_train_batches)]
        print('epoch %i, mean cost %.10f, validation error %.10f' % (
            epoch, numpy.mean(costs), validate_model()))
    print('RESULT %s cost %.10f valid %.10f L1 %.10f' % (
        'sigmoid' if activation == T.nnet.sigmoid else 'tanh', numpy.mean(costs),
        validate_model(), theano.function([], classifier.L1)()))


if __name__ == '__main__':
    test_mlp(T.tanh)
    test_mlp(T.nnet.sigmoid)

"""A restricted Boltzmann machine trained with persistent contrastive divergence, the Gibbs
chain written with scan, in the style of the classic tutorial (rbm.py)."""
from __future__ import print_function

import numpy

import theano
import theano.tensor as T
from theano.sandbox.rng_mrg import MRG_RandomStreams as RandomStreams

from _data import binary_patterns


class RBM(object):
    def __init__(self, input=None, n_visible=36, n_hidden=16, numpy_rng=None, theano_rng=None):
        self.n_visible, self.n_hidden = n_visible, n_hidden
        if theano_rng is None:
            theano_rng = RandomStreams(numpy_rng.randint(2 ** 30))
        initial_W = numpy.asarray(numpy_rng.uniform(
            low=-4 * numpy.sqrt(6. / (n_hidden + n_visible)),
            high=4 * numpy.sqrt(6. / (n_hidden + n_visible)),
            size=(n_visible, n_hidden)), dtype=theano.config.floatX)
        self.W = theano.shared(value=initial_W, name='W', borrow=True)
        self.hbias = theano.shared(numpy.zeros(n_hidden, dtype=theano.config.floatX),
                                   name='hbias', borrow=True)
        self.vbias = theano.shared(numpy.zeros(n_visible, dtype=theano.config.floatX),
                                   name='vbias', borrow=True)
        self.input = input if input is not None else T.matrix('input')
        self.theano_rng = theano_rng
        self.params = [self.W, self.hbias, self.vbias]

    def free_energy(self, v_sample):
        wx_b = T.dot(v_sample, self.W) + self.hbias
        vbias_term = T.dot(v_sample, self.vbias)
        hidden_term = T.sum(T.log(1 + T.exp(wx_b)), axis=1)
        return -hidden_term - vbias_term

    def propup(self, vis):
        pre = T.dot(vis, self.W) + self.hbias
        return [pre, T.nnet.sigmoid(pre)]

    def sample_h_given_v(self, v0_sample):
        pre_h1, h1_mean = self.propup(v0_sample)
        h1_sample = self.theano_rng.binomial(size=h1_mean.shape, n=1, p=h1_mean,
                                             dtype=theano.config.floatX)
        return [pre_h1, h1_mean, h1_sample]

    def propdown(self, hid):
        pre = T.dot(hid, self.W.T) + self.vbias
        return [pre, T.nnet.sigmoid(pre)]

    def sample_v_given_h(self, h0_sample):
        pre_v1, v1_mean = self.propdown(h0_sample)
        v1_sample = self.theano_rng.binomial(size=v1_mean.shape, n=1, p=v1_mean,
                                             dtype=theano.config.floatX)
        return [pre_v1, v1_mean, v1_sample]

    def gibbs_hvh(self, h0_sample):
        pre_v1, v1_mean, v1_sample = self.sample_v_given_h(h0_sample)
        pre_h1, h1_mean, h1_sample = self.sample_h_given_v(v1_sample)
        return [pre_v1, v1_mean, v1_sample, pre_h1, h1_mean, h1_sample]

    def get_cost_updates(self, lr=0.1, persistent=None, k=1):
        pre_sigmoid_ph, ph_mean, ph_sample = self.sample_h_given_v(self.input)
        chain_start = ph_sample if persistent is None else persistent
        ([pre_sigmoid_nvs, nv_means, nv_samples, pre_sigmoid_nhs, nh_means, nh_samples],
         updates) = theano.scan(self.gibbs_hvh,
                                outputs_info=[None, None, None, None, None, chain_start],
                                n_steps=k, name="gibbs_hvh")
        chain_end = nv_samples[-1]
        cost = T.mean(self.free_energy(self.input)) - T.mean(self.free_energy(chain_end))
        gparams = T.grad(cost, self.params, consider_constant=[chain_end])
        for gparam, param in zip(gparams, self.params):
            updates[param] = param - gparam * T.cast(lr, dtype=theano.config.floatX)
        if persistent:
            updates[persistent] = nh_samples[-1]
        monitoring_cost = self.get_reconstruction_cost(pre_sigmoid_nvs[-1])
        return monitoring_cost, updates

    def get_reconstruction_cost(self, pre_sigmoid_nv):
        return T.mean(T.sum(self.input * T.log(T.nnet.sigmoid(pre_sigmoid_nv))
                            + (1 - self.input) * T.log(1 - T.nnet.sigmoid(pre_sigmoid_nv)),
                            axis=1))


def test_rbm(learning_rate=0.1, training_epochs=15, batch_size=20, n_chains=20):
    data = binary_patterns()
    train_set_x = theano.shared(numpy.asarray(data, dtype=theano.config.floatX), borrow=True)
    n_train_batches = data.shape[0] // batch_size
    index = T.lscalar()
    x = T.matrix('x')
    rng = numpy.random.RandomState(123)
    theano_rng = RandomStreams(rng.randint(2 ** 30))
    persistent_chain = theano.shared(numpy.zeros((batch_size, 16), dtype=theano.config.floatX),
                                     borrow=True)
    rbm = RBM(input=x, n_visible=36, n_hidden=16, numpy_rng=rng, theano_rng=theano_rng)
    cost, updates = rbm.get_cost_updates(lr=learning_rate, persistent=persistent_chain, k=3)
    train_rbm = theano.function([index], cost, updates=updates,
                                givens={x: train_set_x[index * batch_size:
                                                       (index + 1) * batch_size]},
                                name='train_rbm')
    fe = theano.function([], T.mean(rbm.free_energy(x)), givens={x: train_set_x})
    noise = numpy.random.RandomState(5).binomial(1, 0.5, size=data.shape).astype('float64')
    fe_noise = theano.function([x], T.mean(rbm.free_energy(x)))
    first = None
    for epoch in range(training_epochs):
        c = [train_rbm(i) for i in range(n_train_batches)]
        first = numpy.mean(c) if first is None else first
        print('Training epoch %d, pseudo-likelihood proxy %.10f' % (epoch, numpy.mean(c)))
    print('RESULT first %.10f last %.10f fe_data %.10f fe_noise %.10f' % (
        first, numpy.mean(c), fe(), fe_noise(noise)))


if __name__ == '__main__':
    test_rbm()

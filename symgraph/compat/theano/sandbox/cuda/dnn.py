"""``theano.sandbox.cuda.dnn``: cuDNN is not available (no GPU)."""
from symgraph.compat.theano._nogpu import MESSAGE, fail


def dnn_available():
    dnn_available.msg = MESSAGE
    return False


dnn_conv = dnn_pool = dnn_batch_normalization_train = dnn_batch_normalization_test = fail

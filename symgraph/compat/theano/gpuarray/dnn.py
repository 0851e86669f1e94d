"""``theano.gpuarray.dnn``: cuDNN is not present (no GPU); ``dnn_present()`` and
``dnn_available()`` are False and every cuDNN op raises."""
from symgraph.compat.theano._nogpu import MESSAGE, fail


def dnn_present():
    dnn_present.msg = MESSAGE
    return False


def dnn_available(context_name=None):
    """False, with the reason in ``dnn_available.msg``: there is no GPU, whichever context
    ``context_name`` names."""
    dnn_available.msg = MESSAGE
    return False


dnn_present.msg = dnn_available.msg = MESSAGE
dnn_conv = dnn_conv3d = dnn_pool = dnn_gradweight = dnn_gradinput = fail
dnn_batch_normalization_train = dnn_batch_normalization_test = fail

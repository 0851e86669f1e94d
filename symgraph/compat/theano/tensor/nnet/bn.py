"""``theano.tensor.nnet.bn``: batch normalization in train and test mode."""
from symgraph.ops.batchnorm import (batch_normalization, batch_normalization_test,  # noqa: F401
                                    batch_normalization_train)

"""Theano's ``theano.sandbox`` names that programs still import (``rng_mrg``)."""

"""Random streams: random draws as ops whose generator state lives in shared variables.

Each draw has its own state, a shared ``uint64`` vector derived from the stream's seed by
``SeedSequence`` spawning in creation order, whose ``default_update`` advances it: every
compiled function that uses the sample advances the generator (unless compiled with
``no_default_updates=True``). Given the same state a draw is deterministic, which keeps merge
and constant folding valid; two draws are independent because each has its own state. Same
seed, same numbers.

Two kinds of draw:

* :class:`RandomDraw` ``(state, size, *params) -> (new_state, sample)``: NumPy's
  ``Generator(PCG64)`` on the state (six words, a serialised PCG64), for every distribution
  but one;
* Bernoulli draws (the masks of dropout and masking noise, ``binomial`` with one trial) are
  counter-based: :class:`RandomCounter` ``(state, size) -> (new_state, s)`` claims the next
  numbers of a SplitMix64 stream (state ``[key, counter]``) and the sample is the elementwise
  graph ``counter_bits(s, flat_index(size)) < round(p * 2**32)``
  (:mod:`symgraph.ops.counter`), which fuses with what uses it: with the ``[fast]`` back end
  a dropout's draw, comparison, mask and scale are one compiled loop.
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np

from symgraph.config import config
from symgraph.graph import Apply, Constant, Variable
from symgraph.op import Op
from symgraph.ops import elemwise as E
from symgraph.ops.counter import GAMMA, FlatIndex, counter_bits_op
from symgraph.ops.shape import as_shape_vector, shape_entries
from symgraph.ops.variable import TensorVariable, as_tensor_variable, constant
from symgraph.shared import SharedVariable, shared
from symgraph.types import TensorType, broadcast_shapes, float_dtypes, normalize_dtype

_MASK = (1 << 64) - 1
STATE_SIZE = 6


def encode_state(bitgen: np.random.PCG64) -> np.ndarray:
    """A ``PCG64`` state as 6 ``uint64`` words: state (hi, lo), inc (hi, lo), the buffered
    32-bit flag and value."""
    st = bitgen.state
    s, inc = st["state"]["state"], st["state"]["inc"]
    return np.array([s >> 64, s & _MASK, inc >> 64, inc & _MASK, st["has_uint32"],
                     st["uinteger"]], dtype=np.uint64)


def decode_state(words: np.ndarray) -> np.random.PCG64:
    """The ``PCG64`` bit generator serialised by :func:`encode_state`."""
    w = [int(v) for v in np.asarray(words, dtype=np.uint64)]
    if len(w) != STATE_SIZE:
        raise ValueError(f"a random state has {STATE_SIZE} uint64 words, got {len(w)}")
    bitgen = np.random.PCG64()
    bitgen.state = {"bit_generator": "PCG64",
                    "state": {"state": (w[0] << 64) | w[1], "inc": (w[2] << 64) | w[3]},
                    "has_uint32": w[4], "uinteger": w[5]}
    return bitgen


def seed_state(seed: int, index: int) -> np.ndarray:
    """The initial state of the ``index``-th draw of a stream seeded with ``seed`` (a
    :class:`RandomDraw`)."""
    return encode_state(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(index,))))


#: words of a counter-based state: the stream's key and the 64-bit outputs used so far
COUNTER_STATE_SIZE = 2


def counter_state(seed: int, index: int) -> np.ndarray:
    """The initial state ``[key, 0]`` of the ``index``-th draw of a stream seeded with
    ``seed`` when it is counter-based (:class:`RandomCounter`): the key is the first 64-bit
    word of the draw's ``SeedSequence`` child."""
    key = np.random.SeedSequence(seed, spawn_key=(index,)).generate_state(1, np.uint64)[0]
    return np.array([key, 0], dtype=np.uint64)


#: distribution -> number of parameters
_DISTS = {"uniform": 2, "normal": 2, "truncated_normal": 2, "binomial": 2, "integers": 2,
          "choice": 2, "choice_noreplace": 2, "permutation": 1, "multinomial": 2}

#: 2**32: a 32-bit random number is below ``p * 2**32`` with probability ``p`` (to 2**-32)
_TWO_32 = 4294967296.0
_MASK64 = (1 << 64) - 1


class RandomDraw(Op):
    """One draw of ``dist`` with parameters ``params`` and output ``dtype``.

    Inputs ``(state, size, *params)``; outputs ``(new_state, sample)``. ``size`` is an int64
    vector, or an empty vector when ``sized`` is False (the sample then takes the broadcast
    shape of the parameters). Gradients: none for the state and the size; the
    reparameterisation gradients for ``normal`` and ``truncated_normal`` (``d/davg = gz``,
    ``d/dstd = gz (s - avg) / std``) and ``uniform`` (``d/dlow = gz (1 - u)``,
    ``d/dhigh = gz u`` with ``u = (s - low) / (high - low)``); none for the other
    distributions' parameters.
    """

    props = ("dist", "dtype", "sized")

    def __init__(self, dist: str, dtype: str, sized: bool = True):
        if dist not in _DISTS:
            raise ValueError(f"RandomDraw: unknown distribution {dist!r}; expected one of "
                             f"{sorted(_DISTS)}")
        self.dist, self.dtype, self.sized = dist, normalize_dtype(dtype), bool(sized)

    def make_node(self, state, size, *params) -> Apply:
        if not isinstance(state, Variable) or state.dtype != "uint64" or state.ndim != 1:
            raise TypeError(f"{self}: the state must be a uint64 vector, got {state}")
        if len(params) != _DISTS[self.dist]:
            raise TypeError(f"{self}: takes {_DISTS[self.dist]} parameters, got {len(params)}")
        params = [as_tensor_variable(p) for p in params]
        if self.sized:
            size, static = as_shape_vector(size, f"{self.dist}: size")
        else:
            size, static = constant(np.zeros(0, dtype="int64")), None
        shape = self._static_shape(static, params)
        outs = [TensorVariable(state.type), TensorVariable(TensorType(self.dtype, shape))]
        return Apply(self, [state, size] + params, outs)

    def _static_shape(self, static, params) -> tuple:
        d = self.dist
        if d == "permutation":
            n = params[0]
            return (tuple(static) if static else ()) + \
                (int(n.data) if isinstance(n, Constant) else None,)
        if d == "multinomial":
            k = params[1].type.shape[-1:] if params[1].ndim else ()
            if static is not None:
                return tuple(static) + tuple(k)
            return broadcast_shapes([params[0].type.shape + (1,), params[1].type.shape])
        if static is not None:
            return tuple(static)
        if d.startswith("choice"):
            return ()
        return broadcast_shapes([p.type.shape for p in params], what=str(self))

    def perform(self, state, size, *params):
        bitgen = decode_state(state)
        gen = np.random.Generator(bitgen)
        shape = tuple(int(s) for s in size) if self.sized else None
        d = self.dist
        if d in ("uniform", "normal") and self.dtype == "float32":
            # NumPy's float32 generators: half the bits per number, no float64 round trip
            shape = shape if shape is not None else np.broadcast_shapes(*map(np.shape, params))
            if d == "uniform":
                out = params[0] + (params[1] - params[0]) * gen.random(shape, np.float32)
            else:
                out = params[0] + params[1] * gen.standard_normal(shape, np.float32)
        elif d == "uniform":
            out = gen.uniform(params[0], params[1], shape)
        elif d == "normal":
            out = gen.normal(params[0], params[1], shape)
        elif d == "truncated_normal":
            out = params[0] + params[1] * _truncated_standard_normal(
                gen, shape if shape is not None else np.broadcast_shapes(*map(np.shape, params)))
        elif d == "binomial":
            out = gen.binomial(params[0], params[1], shape)
        elif d == "integers":
            out = gen.integers(params[0], params[1], shape, endpoint=False)
        elif d.startswith("choice"):
            a, p = params
            p = None if np.size(p) == 0 else p
            out = gen.choice(a if np.ndim(a) else int(a), shape, d == "choice", p)
        elif d == "permutation":
            n = int(params[0])
            lead = shape or ()
            out = np.array([gen.permutation(n) for _ in range(int(np.prod(lead)))])
            out = out.reshape(tuple(lead) + (n,))
        else:  # multinomial
            n, pvals = params
            if shape is not None:
                shape = shape + np.shape(pvals)[-1:]
                out = gen.multinomial(n, pvals, shape[:-1])
            else:
                out = gen.multinomial(n, pvals)
        return encode_state(bitgen), np.asarray(out, dtype=self.dtype)

    def infer_shape(self, node, shapes):
        size, params = node.inputs[1], node.inputs[2:]
        lead = tuple(shape_entries(size)) if self.sized else None
        d = self.dist
        if d == "permutation":
            tail = (E.cast(params[0], "int64"),)
        elif d == "multinomial":
            tail = tuple(shapes[3][-1:])
            if lead is None:
                return [shapes[0], _broadcast_dims([tuple(shapes[2]) + (1,), shapes[3]],
                                                   [params[0].type.shape + (1,),
                                                    params[1].type.shape])]
        else:
            tail = ()
            if lead is None:
                lead = () if d.startswith("choice") else \
                    _broadcast_dims(shapes[2:], [p.type.shape for p in params])
        return [shapes[0], tuple(lead or ()) + tail]

    def grad(self, inputs, outputs, output_grads):
        from symgraph.gradient import disconnected
        params = inputs[2:]
        sample, gz = outputs[1], output_grads[1]
        none: List = [disconnected, None] + [None] * len(params)
        if gz is None or self.dtype not in float_dtypes or \
                self.dist not in ("normal", "truncated_normal", "uniform"):
            return none
        a, b = params
        if self.dist != "uniform":
            ga, gb = gz, gz * (sample - a) / b
        else:
            u = (sample - a) / (b - a)
            ga, gb = gz * (1 - u), gz * u
        result = [disconnected, None]
        for p, g in ((a, ga), (b, gb)):
            if p.dtype not in float_dtypes:
                result.append(None)
            else:
                result.append(E.cast(E.unbroadcast(g, p, [sample]), p.dtype))
        return result


class RandomCounter(Op):
    """Claim the numbers of a counter-based draw: ``(state, size) -> (new_state, s)``.

    ``state`` is ``[key, counter]`` (uint64): the SplitMix64 stream seeded with ``key`` has
    given ``counter`` 64-bit outputs. A draw of ``n = prod(size)`` 32-bit numbers takes the next
    ``ceil(n / 2)`` outputs: ``s = key + (counter + 1) * GAMMA`` is the Weyl state of the first
    (a uint64 scalar, for :func:`~symgraph.ops.counter.counter_bits`) and ``new_state`` is
    ``[key, counter + ceil(n / 2)]``. No gradient.
    """

    props = ()

    def make_node(self, state, size) -> Apply:
        if not isinstance(state, Variable) or state.dtype != "uint64" or state.ndim != 1:
            raise TypeError(f"{self}: the state must be a uint64 vector, got {state}")
        vec, _ = as_shape_vector(size, "bernoulli: size")
        return Apply(self, [state, vec], [TensorVariable(state.type),
                                          TensorVariable(TensorType("uint64", ()))])

    def perform(self, state, size):
        if state.shape != (COUNTER_STATE_SIZE,):
            raise ValueError(f"a counter-based random state has {COUNTER_STATE_SIZE} uint64 "
                             f"words [key, counter], got shape {state.shape}")
        key, counter = state.tolist()
        n = 1
        for d in size.tolist():
            if d < 0:
                raise ValueError(f"bernoulli: negative dimension in size {tuple(size)}")
            n *= d
        new = np.array((key, (counter + (n + 1) // 2) & _MASK64), dtype=np.uint64)
        return new, np.asarray((key + (counter + 1) * GAMMA) & _MASK64, dtype=np.uint64)

    def infer_shape(self, node, shapes):
        return [shapes[0], ()]

    def grad(self, inputs, outputs, output_grads):
        from symgraph.gradient import disconnected
        return [disconnected, None]


class BernoulliThreshold(Op):
    """``round(p * 2**32)`` as uint64, the threshold a 32-bit number stays below with
    probability ``p``; ``p`` outside ``[0, 1]`` (or NaN) raises ``ValueError`` when the
    function runs. No gradient (a Bernoulli sample is piecewise constant in ``p``)."""

    props = ()

    def make_node(self, p) -> Apply:
        p = as_tensor_variable(p)
        if p.dtype not in float_dtypes and p.dtype not in ("int8", "int16", "int32", "int64",
                                                           "uint8", "bool"):
            raise TypeError(f"bernoulli: p must be a real tensor, got {p.type}")
        return Apply(self, [p], [TensorVariable(TensorType("uint64", p.type.shape))])

    def perform(self, p):
        return bernoulli_threshold(p)

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def grad(self, inputs, outputs, output_grads):
        return [None]


def bernoulli_threshold(p) -> np.ndarray:
    """``round(p * 2**32)`` (uint64) after checking that every ``p`` is in ``[0, 1]``."""
    p = np.asarray(p, dtype=np.float64)
    if not np.all((p >= 0) & (p <= 1)):
        bad = p[~((p >= 0) & (p <= 1))].reshape(-1)[0]
        raise ValueError(f"bernoulli: p must be in [0, 1], got {bad!r}")
    return np.rint(p * _TWO_32).astype(np.uint64)


class RandomStream:
    """A source of symbolic random draws: ``RandomStream(seed).normal((3, 4))``.

    Each method returns the sample variable of a new :class:`RandomDraw` with its own state
    (a shared variable whose ``default_update`` advances it). ``size`` is a tuple of ints and
    int scalars, an int vector such as ``x.shape``, or None for the broadcast shape of the
    parameters; ``ndim``, when given, is checked against it. Draws have no gradient with
    respect to the state.
    """

    def __init__(self, seed: Optional[int] = None):
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2 ** 63))
        self._seed = int(seed)
        self.state_updates: list = []
        self._initial: list = []  # per draw: seed_state or counter_state

    # -- state -------------------------------------------------------------------------
    def seed(self, seed: Optional[int] = None) -> None:
        """Reseed every state of this stream reproducibly (the ``k``-th draw made from the
        stream gets the ``k``-th ``SeedSequence`` child of ``seed``)."""
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2 ** 63))
        self._seed = int(seed)
        for k, (state, _) in enumerate(self.state_updates):
            state.set_value(self._initial[k](self._seed, k))

    def updates(self) -> list:
        """The ``(state, new_state)`` pairs of every draw (Theano's ``updates()``)."""
        return list(self.state_updates)

    def _new_state(self, initial=seed_state) -> SharedVariable:
        k = len(self.state_updates)
        self._initial.append(initial)
        return shared(initial(self._seed, k), name=f"rng_state_{k}")

    def gen(self, dist: str, size, params: Sequence, dtype, ndim: Optional[int] = None
            ) -> Variable:
        """Make a draw of ``dist`` and register its state."""
        state = self._new_state()
        sized = size is not None
        op = RandomDraw(dist, dtype, sized)
        new_state, sample = op(state, size if sized else None, *params)
        if ndim is not None and sample.ndim != ndim:
            raise ValueError(f"{dist}: ndim={ndim} but the sample has {sample.ndim} dimensions "
                             f"(size={size!r})")
        state.default_update = new_state
        self.state_updates.append((state, new_state))
        return sample

    # -- distributions -------------------------------------------------------------------
    def uniform(self, size=None, low=0.0, high=1.0, ndim: Optional[int] = None, dtype=None,
                **kwargs) -> Variable:
        """Uniform samples in ``[low, high)`` (``floatX`` unless ``dtype``)."""
        _theano_kwargs("uniform", kwargs)
        dtype = dtype or config.floatX
        return self.gen("uniform", size, _params(dtype, low, high), dtype, ndim)

    def normal(self, size=None, avg=0.0, std=1.0, ndim: Optional[int] = None, dtype=None,
               **kwargs) -> Variable:
        """Gaussian samples of mean ``avg`` and standard deviation ``std`` (redrawn until
        within ``2 std`` of ``avg`` when ``truncate=True``, as in ``MRG_RandomStreams``)."""
        truncate = kwargs.pop("truncate", False)
        _theano_kwargs("normal", kwargs)
        dtype = dtype or config.floatX
        dist = "truncated_normal" if truncate else "normal"
        return self.gen(dist, size, _params(dtype, avg, std), dtype, ndim)

    def truncated_normal(self, size=None, avg=0.0, std=1.0, ndim: Optional[int] = None,
                         dtype=None) -> Variable:
        """Gaussian samples redrawn until within two standard deviations of ``avg``."""
        return self.normal(size, avg, std, ndim, dtype, truncate=True)

    def binomial(self, size=None, n=1, p=0.5, ndim: Optional[int] = None, dtype="int64",
                 **kwargs) -> Variable:
        """Binomial counts of ``n`` trials with success probability ``p`` (may be symbolic).
        One trial (``n=1``, the masks of dropout and of masking noise) is a
        :meth:`bernoulli` draw cast to ``dtype``."""
        _theano_kwargs("binomial", kwargs)
        if not isinstance(n, Variable) and np.ndim(n) == 0 and n == 1:
            return E.cast(self.bernoulli(size, p, ndim), dtype)
        n = as_tensor_variable(n) if isinstance(n, Variable) else constant(np.int64(n))
        p = as_tensor_variable(p) if isinstance(p, Variable) else constant(np.float64(p))
        return self.gen("binomial", size, [n, p], dtype, ndim)

    def bernoulli(self, size=None, p=0.5, ndim: Optional[int] = None) -> Variable:
        """Booleans, True with probability ``p`` (may be symbolic, or a tensor broadcasting
        to ``size``): 32-bit numbers of a counter-based generator compared with
        ``round(p * 2**32)``, exact to 2**-32 (see :class:`RandomCounter`). A ``p`` outside
        ``[0, 1]`` is refused when the graph is built (a constant) or when it runs."""
        if not isinstance(p, Variable):
            value = np.asarray(p, dtype=np.float64)
            if not np.all((value >= 0) & (value <= 1)):
                raise ValueError(f"bernoulli: p must be in [0, 1], got {p!r}")
            t = bernoulli_threshold(value)
            threshold = constant(t.astype(np.uint32) if np.all(t < _TWO_32) else t)
        else:
            threshold = BernoulliThreshold()(p)
        if size is None:
            size = (np.shape(p) if not isinstance(p, Variable) else
                    threshold.shape if threshold.ndim else ())
        vec, static = as_shape_vector(size, "bernoulli: size")
        if threshold.ndim > len(static):
            raise ValueError(f"bernoulli: p has {threshold.ndim} dimensions, more than the "
                             f"{len(static)} of size={size!r}")
        if ndim is not None and len(static) != ndim:
            raise ValueError(f"bernoulli: ndim={ndim} but the sample has {len(static)} "
                             f"dimensions (size={size!r})")
        state = self._new_state(counter_state)
        new_state, s = RandomCounter()(state, vec)
        sample = E.lt(counter_bits_op(s, FlatIndex()(vec)), threshold)
        state.default_update = new_state
        self.state_updates.append((state, new_state))
        return sample

    def integers(self, size=None, low=0, high=2, ndim: Optional[int] = None, dtype="int64"
                 ) -> Variable:
        """Integers uniform in ``[low, high)``."""
        return self.gen("integers", size, _int_params(low, high), dtype, ndim)

    def random_integers(self, size=None, low=0, high=1, ndim: Optional[int] = None,
                        dtype="int64") -> Variable:
        """Integers uniform in ``[low, high]`` (Theano's inclusive bound)."""
        low, high = _int_params(low, high)
        return self.gen("integers", size, [low, high + 1], dtype, ndim)

    def choice(self, size=None, a=2, replace: bool = True, p=None, ndim: Optional[int] = None,
               dtype="int64") -> Variable:
        """Samples of ``range(a)`` (int ``a``) or of the vector ``a``, optionally weighted by
        ``p``; without replacement when ``replace`` is False."""
        a = as_tensor_variable(a) if isinstance(a, Variable) else constant(np.asarray(a))
        p = constant(np.zeros(0)) if p is None else as_tensor_variable(p)
        dist = "choice" if replace else "choice_noreplace"
        return self.gen(dist, size, [a, p], dtype, ndim)

    def permutation(self, size=None, n=1, ndim: Optional[int] = None, dtype="int64"
                    ) -> Variable:
        """Random permutations of ``range(n)``: shape ``size + (n,)``."""
        n = as_tensor_variable(n) if isinstance(n, Variable) else constant(np.int64(n))
        return self.gen("permutation", size if size not in (None, ()) else None, [n], dtype,
                        ndim)

    def multinomial(self, size=None, n=1, pvals=None, ndim: Optional[int] = None,
                    dtype="int64", **kwargs) -> Variable:
        """Counts of ``n`` draws over the categories of each row of ``pvals``."""
        _theano_kwargs("multinomial", kwargs)
        if pvals is None:
            raise TypeError("multinomial: pvals is required")
        n = as_tensor_variable(n) if isinstance(n, Variable) else constant(np.int64(n))
        return self.gen("multinomial", size, [n, as_tensor_variable(pvals)], dtype, ndim)


def _truncated_standard_normal(gen: np.random.Generator, shape) -> np.ndarray:
    z = np.asarray(gen.standard_normal(shape))
    bad = np.abs(z) > 2
    while bad.any():
        z[bad] = gen.standard_normal(int(bad.sum()))
        bad = np.abs(z) > 2
    return z


def _theano_kwargs(what: str, kwargs: dict) -> None:
    """Accept MRG_RandomStreams' ``nstreams`` (meaningless here); refuse what would change the
    distribution silently."""
    for key, value in kwargs.items():
        if key == "nstreams":
            continue
        raise TypeError(f"{what}: unsupported argument {key}={value!r}")


def _broadcast_dims(shapes: Sequence[tuple], static: Sequence[tuple]) -> tuple:
    """Symbolic NumPy broadcasting of the shapes of parameters (static 1s are skipped)."""
    ndim = max((len(s) for s in shapes), default=0)
    dims = []
    for axis in range(ndim):
        cands = []
        for shp, st in zip(shapes, static):
            k = axis - (ndim - len(shp))
            if k >= 0 and st[k] != 1:
                cands.append(shp[k])
        known = [c for c in cands if isinstance(c, int)]
        dims.append(E.broadcast_dim(known[0] if known else None, cands))
    return tuple(dims)


def _params(dtype: str, *values) -> List[Variable]:
    """Float parameters: symbolic ones kept, numbers as constants of the sample's dtype."""
    pdtype = dtype if dtype in float_dtypes else "float64"
    return [as_tensor_variable(v) if isinstance(v, Variable) else constant(v, dtype=pdtype)
            for v in values]


def _int_params(*values) -> List[Variable]:
    return [as_tensor_variable(v) if isinstance(v, Variable) else constant(np.int64(v))
            for v in values]


__all__ = ["RandomStream", "RandomDraw", "RandomCounter", "BernoulliThreshold", "encode_state",
           "decode_state", "seed_state", "counter_state"]

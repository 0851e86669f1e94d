"""Random streams: random draws as ops whose generator state lives in shared variables.

Each draw is one :class:`RandomDraw` node with inputs ``(state, size, *params)`` and two
outputs ``(new_state, sample)``. ``state`` is a shared ``uint64`` vector holding a serialised
NumPy ``PCG64`` bit generator; its ``default_update`` is the draw's ``new_state``, so every
compiled function that uses the sample advances the generator (unless compiled with
``no_default_updates=True``). Given the same state the op is deterministic, which keeps merge
and constant folding valid; two draws are independent because each has its own state, derived
from the stream's seed by ``SeedSequence`` spawning in creation order. Same seed, same numbers.
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np

from symgraph.config import config
from symgraph.graph import Apply, Constant, Variable
from symgraph.op import Op
from symgraph.ops import elemwise as E
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
    """The initial state of the ``index``-th draw of a stream seeded with ``seed``."""
    return encode_state(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(index,))))


#: distribution -> number of parameters
_DISTS = {"uniform": 2, "normal": 2, "truncated_normal": 2, "binomial": 2, "bernoulli": 1,
          "integers": 2, "choice": 2, "choice_noreplace": 2, "permutation": 1,
          "multinomial": 2}

#: 2**32: a raw 32-bit draw is below ``p * 2**32`` with probability ``p`` (to 2**-32)
_TWO_32 = 4294967296.0


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
        elif d == "bernoulli":
            out = _bernoulli(bitgen, params[0], shape)
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

    # -- state -------------------------------------------------------------------------
    def seed(self, seed: Optional[int] = None) -> None:
        """Reseed every state of this stream reproducibly (the ``k``-th draw made from the
        stream gets the ``k``-th ``SeedSequence`` child of ``seed``)."""
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2 ** 63))
        self._seed = int(seed)
        for k, (state, _) in enumerate(self.state_updates):
            state.set_value(seed_state(self._seed, k))

    def updates(self) -> list:
        """The ``(state, new_state)`` pairs of every draw (Theano's ``updates()``)."""
        return list(self.state_updates)

    def _new_state(self) -> SharedVariable:
        k = len(self.state_updates)
        return shared(seed_state(self._seed, k), name=f"rng_state_{k}")

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
        """Booleans, True with probability ``p`` (may be symbolic): one raw 32-bit draw per
        element compared with ``p * 2**32``, exact to 2**-32. A ``p`` outside ``[0, 1]`` is
        refused when the graph is built (a constant) or when it runs."""
        if not isinstance(p, Variable):
            if not np.all((np.asarray(p) >= 0) & (np.asarray(p) <= 1)):
                raise ValueError(f"bernoulli: p must be in [0, 1], got {p!r}")
            p = constant(np.float64(p) if np.ndim(p) == 0 else np.asarray(p, np.float64))
        return self.gen("bernoulli", size, [as_tensor_variable(p)], "bool", ndim)

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


def _bernoulli(bitgen, p, shape) -> np.ndarray:
    """True with probability ``p``: one raw 32-bit draw per element compared with
    ``p * 2**32`` (exact to 2**-32, and the cheapest draw there is: two raw numbers per 64-bit
    step of the generator, no floating point per element)."""
    p = np.asarray(p, dtype=np.float64)
    if not np.all((p >= 0) & (p <= 1)):
        raise ValueError(f"bernoulli: p must be in [0, 1], got {p if p.size < 8 else p.min()}")
    shape = tuple(shape) if shape is not None else p.shape
    n = int(np.prod(shape, dtype=np.int64))
    bits = bitgen.random_raw((n + 1) // 2).view(np.uint32)[:n].reshape(shape)
    threshold = np.rint(p * _TWO_32).astype(np.uint64)
    if threshold.ndim == 0 and threshold < _TWO_32:
        return bits < np.uint32(threshold)  # a 32-bit comparison, no widening per element
    return bits < threshold


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


__all__ = ["RandomStream", "RandomDraw", "encode_state", "decode_state", "seed_state"]

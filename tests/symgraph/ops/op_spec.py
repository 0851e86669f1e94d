"""The spec-table entry (:class:`Spec`) and the input samplers of the op spec table
(``test_op_table.py``); the rows of some families live in modules of their own."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Tuple

import numpy as np

FLOATS = ("float64", "float32")
INTS = ("int64", "int32")

#: (rtol, atol) of forward comparisons per dtype
FORWARD_TOL = {"float64": (1e-6, 1e-9), "float32": (2e-4, 2e-5)}


@dataclass(frozen=True)
class Spec:
    """One table entry; see the module docstring."""

    name: str
    fn: Callable
    ref: Callable
    shapes: Tuple[tuple, ...]
    domain: object = "real"            # one domain, or a tuple with one per input
    dtypes: Tuple[str, ...] = FLOATS
    grad: bool = True                  # check first derivatives (float64)
    grad2: bool = False                # check second derivatives (elementwise ops)
    wrt: Optional[Tuple[int, ...]] = None  # inputs differentiated (others held constant)
    grad_kw: dict = field(default_factory=dict)

    def domains(self, nin: int) -> tuple:
        return self.domain if isinstance(self.domain, tuple) else (self.domain,) * nin


def _sample(rng, domain: str, shape: tuple, dtype: str) -> np.ndarray:
    if domain == "real":
        v = rng.standard_normal(shape)
    elif domain == "pos":
        v = rng.uniform(0.5, 2.0, shape)
    elif domain == "nonzero":
        v = rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    elif domain == "unit":
        v = rng.uniform(-0.9, 0.9, shape)
    elif domain == "low":
        v = rng.uniform(-1.0, -0.2, shape)
    elif domain == "high":
        v = rng.uniform(0.2, 1.0, shape)
    elif domain == "gt1":
        v = rng.uniform(1.2, 3.0, shape)
    elif domain == "mid":
        v = rng.uniform(0.2, 1.8, shape)
    elif domain == "small":          # few distinct values: equal and zero entries occur
        v = rng.integers(-2, 3, shape)
    elif domain == "special":
        v = rng.standard_normal(shape)
        v = np.where(rng.uniform(size=shape) < 0.3, np.nan, v)
        v = np.where(rng.uniform(size=shape) < 0.2, -np.inf, v)
    elif domain == "start":
        v = rng.integers(0, 3, shape) if np.dtype(dtype).kind in "iu" else \
            rng.uniform(0.1, 0.9, shape)
    elif domain == "stop":
        v = rng.integers(5, 9, shape)
    elif domain == "step":
        v = rng.uniform(0.3, 0.7, shape)
    else:
        raise ValueError(domain)
    return np.asarray(v).astype(dtype)


def _values(spec: Spec, shapes: tuple, dtype: str, rng) -> list:
    return [_sample(rng, d, s, dtype) for d, s in zip(spec.domains(len(shapes)), shapes)]

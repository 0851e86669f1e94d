"""Trajectories against torch.optim (torch==2.13.0, optional) for the rules whose conventions
agree.

Conventions that differ and how each comparison handles them:

- Momentum/Nesterov: torch keeps ``v' ← μ·v' + g; p ← p − lr·v'`` where ours keeps
  ``v ← μ·v − lr·g; p ← p + v``; with a constant ``lr``, ``v = −lr·v'`` and the parameters agree.
- RMSprop/AdaGrad: torch divides by ``sqrt(s) + eps``, ours by ``sqrt(s + eps)``; compared
  with ``eps = 0`` where both are ``sqrt(s)``.
- Adam/AdamW: same equations (``eps`` outside the square root, decoupled decay for AdamW).
"""
import numpy as np
import pytest

import optimizers
import symgraph
import symgraph.tensor as T

torch = pytest.importorskip("torch")
if torch.__version__.split("+")[0] != "2.13.0":
    pytest.skip(f"comparison pinned to torch 2.13.0, found {torch.__version__}",
                allow_module_level=True)

N_STEPS = 60

CASES = [
    ("sgd", {"lr": 0.05, "weight_decay": 0.01}, torch.optim.SGD,
     {"lr": 0.05, "weight_decay": 0.01}),
    ("momentum", {"lr": 0.02, "momentum": 0.9}, torch.optim.SGD,
     {"lr": 0.02, "momentum": 0.9}),
    ("nesterov", {"lr": 0.02, "momentum": 0.9}, torch.optim.SGD,
     {"lr": 0.02, "momentum": 0.9, "nesterov": True}),
    ("adagrad", {"lr": 0.1, "eps": 0.0}, torch.optim.Adagrad, {"lr": 0.1, "eps": 0.0}),
    ("rmsprop", {"lr": 0.01, "alpha": 0.9, "eps": 0.0}, torch.optim.RMSprop,
     {"lr": 0.01, "alpha": 0.9, "eps": 0.0}),
    ("adam", {"lr": 0.01}, torch.optim.Adam, {"lr": 0.01}),
    ("adam", {"lr": 0.01, "weight_decay": 0.05}, torch.optim.Adam,
     {"lr": 0.01, "weight_decay": 0.05}),
    ("adamw", {"lr": 0.01, "weight_decay": 0.1}, torch.optim.AdamW,
     {"lr": 0.01, "weight_decay": 0.1}),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,ours,torch_cls,theirs", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_torch(name, ours, torch_cls, theirs, dtype, rng):
    X = rng.standard_normal((20, 3)).astype(dtype)
    y = rng.standard_normal((20, 2)).astype(dtype)
    W0 = (0.5 * rng.standard_normal((3, 2))).astype(dtype)
    b0 = np.zeros(2, dtype=dtype)

    W = symgraph.shared(W0, name="W")
    b = symgraph.shared(b0, name="b")
    x_in, y_in = T.matrix("x", dtype=dtype), T.matrix("y", dtype=dtype)
    cost = T.mean(T.sqr(T.dot(x_in, W) + b - y_in))
    step = symgraph.function([x_in, y_in], cost,
                             updates=optimizers.get(name, **ours).updates(cost, [W, b]))

    tW = torch.tensor(W0, requires_grad=True)
    tb = torch.tensor(b0, requires_grad=True)
    topt = torch_cls([tW, tb], **theirs)
    tX, ty = torch.tensor(X), torch.tensor(y)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == "float32" else dict(rtol=1e-9, atol=1e-11)
    for k in range(N_STEPS):
        step(X, y)
        topt.zero_grad()
        ((tX @ tW + tb - ty) ** 2).mean().backward()
        topt.step()
        np.testing.assert_allclose(W.get_value(), tW.detach().numpy(), err_msg=f"step {k}",
                                   **tol)
        np.testing.assert_allclose(b.get_value(), tb.detach().numpy(), err_msg=f"step {k}",
                                   **tol)
    assert np.abs(W.get_value() - W0).max() > 1e-3

"""Tests of the autoencoders, their noises and dropout, and the stacked DAE."""
import numpy as np
import pytest

import symgraph
import optimizers
from models import layers as L
from models.autoencoder import AutoEncoder, gaussian, masking, salt_and_pepper
from models.sda import StackedDenoisingAutoEncoder
from models.training import fit


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


@pytest.mark.parametrize("tied, loss", [(False, "mse"), (True, "xent")])
def test_clean_cost_matches_numpy(rng, tied, loss):
    ae = AutoEncoder(6, 4, activation="sigmoid", tied=tied, loss=loss, seed=1)
    x = ae.input_variable()
    f = symgraph.function([x], [ae.cost(x, train=False), ae.forward(x)])
    xv = rng.uniform(size=(5, 6))
    vals = [p.get_value() for p in ae.params]
    h = _sigmoid(xv @ vals[0] + vals[1])
    pre = h @ vals[0].T + vals[2] if tied else h @ vals[2] + vals[3]
    if loss == "xent":
        r = _sigmoid(pre)
        want = np.mean(-np.sum(xv * np.log(r) + (1 - xv) * np.log(1 - r), axis=1))
    else:
        r = pre
        want = np.mean((r - xv) ** 2)
    cost, recon = f(xv)
    np.testing.assert_allclose(cost, want, rtol=1e-10)
    np.testing.assert_allclose(recon, r, rtol=1e-10)
    assert len(ae.params) == (3 if tied else 4)


def test_tied_gradient_by_finite_differences(rng):
    ae = AutoEncoder(5, 3, tied=True, loss="xent", seed=0)
    W, bh, bv = (p.get_value() for p in ae.params)
    xv = rng.uniform(size=(4, 5))

    def cost(W, bh, bv):
        x = symgraph.tensor.constant(xv)
        pre = symgraph.tensor.dot(symgraph.tensor.sigmoid(symgraph.tensor.dot(x, W) + bh), W.T)
        return symgraph.tensor.mean(symgraph.tensor.sum(
            symgraph.tensor.softplus(pre + bv) - x * (pre + bv), axis=1))
    symgraph.tensor.verify_grad(cost, [W, bh, bv], rng=rng)
    # and the model's symbolic gradient agrees with the same reference expression
    x = ae.input_variable()
    grads = symgraph.grad(ae.cost(x, train=False), ae.params)
    g_model = symgraph.function([x], grads)(xv)
    Ws = [symgraph.tensor.matrix(), symgraph.tensor.vector(), symgraph.tensor.vector()]
    ref = cost(*Ws)
    g_ref = symgraph.function(Ws, symgraph.grad(ref, Ws))(W, bh, bv)
    for a, b in zip(g_model, g_ref):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_noises_have_the_right_statistics():
    xv = np.full((500, 40), 0.5)
    for noise, check in [
        (masking(0.2), lambda a: abs((a == 0).mean() - 0.2) < 0.01 and np.all(a[a != 0] == .5)),
        (salt_and_pepper(0.3), lambda a: abs((a == 0).mean() - 0.15) < 0.01
         and abs((a == 1).mean() - 0.15) < 0.01 and np.all(a[(a != 0) & (a != 1)] == 0.5)),
        (gaussian(0.1), lambda a: abs((a - 0.5).std() - 0.1) < 0.003
         and abs((a - 0.5).mean()) < 0.003),
    ]:
        ae = AutoEncoder(40, 4, noise=noise, seed=0)
        x = ae.input_variable()
        f = symgraph.function([x], ae.corrupt(x, train=True))
        a, b = f(xv), f(xv)
        assert check(a), type(noise).__name__
        assert not np.array_equal(a, b)  # fresh noise on every call
        test_mode = symgraph.function([x], ae.corrupt(x, train=False))
        np.testing.assert_array_equal(test_mode(xv), xv)


def test_noise_is_reproducible_from_the_seed():
    xv = np.full((20, 10), 0.5)
    outs = []
    for seed in (3, 3, 4):
        ae = AutoEncoder(10, 4, noise=masking(0.5), seed=seed)
        x = ae.input_variable()
        outs.append(symgraph.function([x], ae.corrupt(x))(xv))
    np.testing.assert_array_equal(outs[0], outs[1])
    assert not np.array_equal(outs[0], outs[2])


def test_dropout_is_inverted_and_off_at_test_time():
    stream = L.random_stream(0)
    x = symgraph.tensor.matrix()
    f = symgraph.function([x], [L.dropout(x, 0.25, stream, True),
                                L.dropout(x, 0.25, stream, False)])
    xv = np.ones((400, 50))
    train, test = f(xv)
    assert set(np.unique(train)) == {0.0, 1 / 0.75}
    assert abs((train == 0).mean() - 0.25) < 0.01
    np.testing.assert_array_equal(test, xv)


def test_bad_autoencoder_arguments():
    with pytest.raises(ValueError, match="loss"):
        AutoEncoder(4, 2, loss="l1")
    with pytest.raises(ValueError, match="sigmoid"):
        AutoEncoder(4, 2, loss="xent", output_activation="linear")
    with pytest.raises(ValueError, match="ratio"):
        masking(1.5)


@pytest.mark.parametrize("kw", [
    dict(activation="relu", loss="mse", dropout=0.2, noise=masking(0.2)),
    dict(activation="sigmoid", loss="xent", tied=True, noise=salt_and_pepper(0.2)),
])
def test_autoencoders_learn(blobs, kw):
    data = blobs(d=30)
    ae = AutoEncoder(30, 12, seed=0, **kw)
    hist = fit(ae, optimizers.Adam(lr=0.01), data, epochs=8, batch_size=50,
               evaluate_initial=True)
    assert hist[0]["test_accuracy"] is None
    assert hist[-1]["test_mse"] < 0.3 * hist[0]["test_mse"]
    assert hist[-1]["test_loss"] < hist[0]["test_loss"]


def test_stacked_dae_pretrains_then_fine_tunes(blobs, tmp_path):
    data = blobs(d=30)
    sda = StackedDenoisingAutoEncoder([30, 16, 8, 3], noise=[masking(0.1), masking(0.2)],
                                      seed=0)
    enc0 = sda.daes[0].encoder.W.get_value()
    hist = sda.pretrain(data, lambda: optimizers.Adam(lr=0.01), epochs=4, batch_size=50,
                        evaluate_initial=True)
    assert len(hist) == 2
    for layer in hist:
        assert layer[-1]["test_loss"] < layer[0]["test_loss"]
    w0 = sda.daes[0].encoder.W.get_value()
    assert not np.array_equal(enc0, w0)  # the MLP's first layer is the first DAE's encoder
    # pre-training the second layer (on the first layer's codes) leaves the first unchanged
    fit(sda.pretraining_models()[1], optimizers.SGD(lr=0.1), data, epochs=1, batch_size=50)
    np.testing.assert_array_equal(w0, sda.daes[0].encoder.W.get_value())
    tuned = fit(sda, optimizers.Adam(lr=0.01), data, epochs=4, batch_size=50)
    assert tuned[-1]["test_accuracy"] > 0.9
    sda.save(tmp_path / "sda.npz")
    with np.load(tmp_path / "sda.npz") as f:
        assert {"dae0.dec.b", "dae1.enc.W", "out.W"} <= set(f.files)


@pytest.mark.parametrize("make, level, check", [
    (masking, 0.7, lambda a, lv: abs((a == 0).mean() - lv) < 0.015),
    (salt_and_pepper, 0.6, lambda a, lv: abs((a == 0).mean() - lv / 2) < 0.015
     and abs((a == 1).mean() - lv / 2) < 0.015),
    (gaussian, 0.4, lambda a, lv: abs((a - 0.5).std() - lv) < 0.01),
])
def test_a_symbolic_level_serves_every_level(make, level, check):
    """One compiled function with the level as an input draws the noise of each level."""
    xv = np.full((200, 50), 0.5)
    x, lv = symgraph.tensor.matrix(), symgraph.tensor.scalar()
    f = symgraph.function([x, lv], make(lv)(x, L.random_stream(0)))
    for value in (level, level / 4):
        assert check(f(xv, value), value), (make.__name__, value)
    np.testing.assert_array_equal(f(xv, 0.0), xv)  # level 0: no corruption


@pytest.mark.parametrize("make", [masking, salt_and_pepper, gaussian])
def test_bad_noise_levels_are_refused(make):
    with pytest.raises(TypeError, match=make.__name__):
        make("0.3")
    with pytest.raises(TypeError, match="number"):
        make(True)
    with pytest.raises(TypeError, match="scalar"):
        make(symgraph.tensor.vector())
    with pytest.raises(ValueError, match=make.__name__):
        make(-0.1)
    with pytest.raises(ValueError, match="got nan"):
        make(float("nan"))
    if make is not gaussian:
        with pytest.raises(ValueError, match=r"in \[0, 1\)"):
            make(1.0)
    else:
        assert make(3.0).std == 3.0

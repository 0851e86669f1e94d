"""Tests of the classifiers: cost/gradient against NumPy, learning, save/load, batch norm."""
import numpy as np
import pytest

import symgraph
import optimizers
from models import MLP, LogisticRegression
from models import init as inits
from models.base import ModelFileError
from models.training import fit


def _softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_logreg_cost_and_gradient_match_numpy(rng):
    model = LogisticRegression(5, 4, init=0.3, weight_decay=0.1, seed=3)
    x, y = model.input_variable(), model.target_variable()
    cost = model.cost(x, y)
    f = symgraph.function([x, y], [cost] + symgraph.grad(cost, model.params))
    xv = rng.normal(size=(7, 5))
    yv = rng.integers(0, 4, 7).astype("int32")
    W, b = (p.get_value() for p in model.params)
    p = _softmax(xv @ W + b)
    onehot = np.eye(4)[yv]
    want = -np.mean(np.log(p[np.arange(7), yv])) + 0.05 * np.sum(W ** 2)
    c, gW, gb = f(xv, yv)
    np.testing.assert_allclose(c, want, rtol=1e-10)
    np.testing.assert_allclose(gW, xv.T @ (p - onehot) / 7 + 0.1 * W, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(gb, (p - onehot).mean(0), rtol=1e-9, atol=1e-12)


def test_cost_stays_finite_for_huge_logits():
    model = LogisticRegression(2, 3)
    model.params[0].set_value(np.array([[1e4, -1e4, 0], [0, 0, 1e4]]))
    x, y = model.input_variable(), model.target_variable()
    f = symgraph.function([x, y], model.cost(x, y))
    value = f(np.array([[1.0, 0.0]]), np.array([1], "int32"))
    np.testing.assert_allclose(value, 2e4, rtol=1e-12)


@pytest.mark.parametrize("label", [-1, 3, 99])
def test_a_label_out_of_range_raises_and_trains_nothing(label, rng):
    model = MLP([4, 5, 3], seed=1)
    x, y = model.input_variable(), model.target_variable()
    cost = model.cost(x, y)
    step = symgraph.function([x, y], cost, updates=optimizers.SGD(lr=0.1).updates(
        cost, model.params))
    before = [p.get_value() for p in model.params]
    with pytest.raises(ValueError, match=rf"categorical_crossentropy.*label {label} .*with 3 "
                                         rf"classes the labels must be in 0 \.\. 2"):
        step(rng.normal(size=(2, 4)), np.array([0, label], "int32"))
    for p, b in zip(model.params, before):
        np.testing.assert_array_equal(p.get_value(), b)


def test_one_hot_targets_give_the_same_cost(rng):
    model = MLP([6, 5, 3], seed=1)
    x = model.input_variable()
    yi, yo = model.target_variable(), model.target_variable(one_hot=True)
    f = symgraph.function([x, yi, yo], [model.cost(x, yi), model.cost(x, yo),
                                        model.errors(x, yi), model.errors(x, yo)])
    xv, yv = rng.normal(size=(8, 6)), rng.integers(0, 3, 8).astype("int32")
    ci, co, ei, eo = f(xv, yv, np.eye(3)[yv])
    np.testing.assert_allclose(ci, co, rtol=1e-12)
    assert ei == eo


def test_mlp_forward_matches_numpy(rng):
    model = MLP([6, 5, 4, 3], activation="tanh", seed=2)
    x = model.input_variable()
    f = symgraph.function([x], model.forward(x))
    xv = rng.normal(size=(4, 6))
    vals = [p.get_value() for p in model.params]
    h = np.tanh(xv @ vals[0] + vals[1])
    h = np.tanh(h @ vals[2] + vals[3])
    np.testing.assert_allclose(f(xv), h @ vals[4] + vals[5], rtol=1e-12)


def test_init_is_deterministic_and_scaled():
    a, b, c = MLP([784, 300, 10], seed=5), MLP([784, 300, 10], seed=5), MLP([784, 300, 10],
                                                                            seed=6)
    wa, wb, wc = (m.params[0].get_value() for m in (a, b, c))
    np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(wa, wc)
    assert abs(wa.std() - np.sqrt(2 / 784)) < 0.05 * np.sqrt(2 / 784)  # He
    w = MLP([784, 300, 10], activation="sigmoid").params[0].get_value()
    assert abs(w.std() - np.sqrt(1 / 784)) < 0.05 * np.sqrt(1 / 784)  # Xavier
    w = MLP([784, 300, 10], init=0.01).params[0].get_value()
    assert abs(w.std() - 0.01) < 0.0005
    with pytest.raises(ValueError, match="unknown initialiser"):
        inits.get("nope")


@pytest.mark.parametrize("make, opt", [
    (lambda: LogisticRegression(20, 3), lambda: optimizers.SGD(lr=0.5)),
    (lambda: MLP([20, 16, 16, 3], seed=1), lambda: optimizers.Adam(lr=0.01)),
    (lambda: MLP([20, 16, 3], activation="sigmoid", weight_decay=1e-3, seed=1),
     lambda: optimizers.Adam(lr=0.01)),
    (lambda: MLP([20, 16, 16, 3], batchnorm=True, seed=1), lambda: optimizers.Adam(lr=0.01)),
])
def test_classifiers_learn(blobs, make, opt):
    data = blobs()
    history = fit(make(), opt(), data, epochs=5, batch_size=50, seed=0, evaluate_initial=True)
    assert history[-1]["test_loss"] < 0.5 * history[0]["test_loss"]
    assert history[-1]["train_loss"] < history[1]["train_loss"]
    assert history[-1]["test_accuracy"] > 0.9  # chance is 1/3


def test_save_load_round_trip_and_refusal(tmp_path, rng):
    model = MLP([6, 5, 3], batchnorm=True, seed=0)
    saved = model.get_values()
    path = tmp_path / "mlp.npz"
    model.save(path)
    for p in model.params + model.state:
        p.set_value(rng.normal(size=p.get_value().shape))
    model.load(path)
    for name, value in model.get_values().items():
        np.testing.assert_array_equal(value, saved[name])
    with np.load(path, allow_pickle=False) as f:
        assert sorted(f.files) == sorted(saved)

    other = MLP([6, 4, 3], batchnorm=True)
    before = other.get_values()
    with pytest.raises(ModelFileError, match=r"dense0.W: shape \(6, 5\)"):
        other.load(path)
    for name, value in other.get_values().items():
        np.testing.assert_array_equal(value, before[name])  # nothing half-loaded
    MLP([6, 5, 3]).save(tmp_path / "plain.npz")
    with pytest.raises(ModelFileError, match="missing .*bn0.gamma"):
        model.load(tmp_path / "plain.npz")
    with pytest.raises(ModelFileError, match="unexpected"):
        MLP([6, 5, 3]).load(path)
    with pytest.raises(ModelFileError, match="dtype"):
        MLP([6, 5, 3], dtype="float32").load(tmp_path / "plain.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ModelFileError):
        model.load(tmp_path / "junk.npz")


def _damage(kind, good: bytes, path):
    """Write at ``path`` the damaged parameter file ``kind``, made from the good one."""
    if kind == "truncated":
        path.write_bytes(good[:len(good) // 2])
    elif kind == "bad crc":  # one byte of the first array's data flipped
        data = bytearray(good)
        data[200] ^= 0xFF
        path.write_bytes(bytes(data))
    elif kind == "text":
        path.write_text("dense0.W = [[1, 2], [3, 4]]\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "npy":
        np.save(open(path, "wb"), np.ones(3))
    elif kind == "object array":
        np.savez(open(path, "wb"), a=np.array([{"x": 1}], dtype=object))
    elif kind == "folder":
        path.mkdir()
    # "missing": nothing written


# a damaged parameter file -> the cause its error must name (with the path)
DAMAGED = [("truncated", "truncated or corrupt .npz archive (BadZipFile"),
           ("bad crc", "Bad CRC-32"),
           ("text", "not an .npz archive (it starts with b'dense0'"),
           ("empty", "the file is empty"),
           ("npy", "a single .npy array"),
           ("object array", "holds pickled object arrays"),
           ("folder", "cannot read the parameter file (IsADirectoryError"),
           ("missing", "cannot read the parameter file (FileNotFoundError")]


@pytest.mark.parametrize("kind,cause", DAMAGED)
def test_damaged_parameter_file_names_path_and_cause(tmp_path, kind, cause):
    model = MLP([6, 5, 3], seed=0)
    model.save(tmp_path / "good.npz")
    path = tmp_path / "damaged.npz"
    _damage(kind, (tmp_path / "good.npz").read_bytes(), path)
    before = model.get_values()
    with pytest.raises(ModelFileError) as err:
        model.load(path)
    assert str(err.value).startswith(f"{path}: ") and cause in str(err.value)
    assert "\n" not in str(err.value)
    for name, value in model.get_values().items():
        np.testing.assert_array_equal(value, before[name])


def test_save_replaces_the_file_atomically(tmp_path, monkeypatch):
    model = MLP([6, 5, 3], seed=0)
    path = tmp_path / "m.npz"
    model.save(path)
    good = path.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        MLP([6, 5, 3], seed=1).save(path)
    assert path.read_bytes() == good  # the old file, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]  # no temporary left


def test_batchnorm_train_and_test_modes(rng):
    model = MLP([4, 3, 2], batchnorm=True, activation="tanh", seed=0)
    bn = model.norms[0]
    x = model.input_variable()
    updates = []
    h_train = bn(model.layers[0](x), True, updates)
    f_train = symgraph.function([x], h_train, updates=updates)
    f_test = symgraph.function([x], bn(model.layers[0](x), False, None))
    xv = rng.normal(size=(10, 4))
    W, b = model.layers[0].W.get_value(), model.layers[0].b.get_value()
    a = xv @ W + b
    out = f_train(xv)
    np.testing.assert_allclose(out, (a - a.mean(0)) / np.sqrt(a.var(0) + 1e-5), rtol=1e-9)
    np.testing.assert_allclose(bn.running_mean.get_value(), 0.1 * a.mean(0), rtol=1e-9)
    np.testing.assert_allclose(bn.running_var.get_value(), 0.9 + 0.1 * a.var(0), rtol=1e-9)
    rm, rv = bn.running_mean.get_value(), bn.running_var.get_value()
    np.testing.assert_allclose(f_test(xv), (a - rm) / np.sqrt(rv + 1e-5), rtol=1e-9)


def test_bad_arguments_are_reported():
    with pytest.raises(ValueError, match="sizes"):
        MLP([784])
    with pytest.raises(ValueError, match="activation"):
        MLP([4, 2], activation="swish")
    with pytest.raises(ValueError, match="dropout"):
        MLP([4, 2], dropout=1.5)


def test_saved_metadata_round_trip_and_refusal(tmp_path):
    from models.base import METADATA_KEY, read_metadata
    model = MLP([6, 5, 3], seed=0)
    meta = {"epochs": 3, "noise": {"kind": "masking", "level": 0.25}, "note": "é"}
    model.save(tmp_path / "m.npz", metadata=meta)
    assert read_metadata(tmp_path / "m.npz") == meta
    assert MLP([6, 5, 3], seed=1).load(tmp_path / "m.npz") == meta
    model.save(tmp_path / "plain.npz")
    assert read_metadata(tmp_path / "plain.npz") is None
    assert model.load(tmp_path / "plain.npz") is None
    for bad, err in (([1, 2], "must be a dict"), ({"x": object()}, "JSON"),
                     ({"x": float("nan")}, "JSON")):
        with pytest.raises(TypeError, match=err):
            model.save(tmp_path / "bad.npz", metadata=bad)
    values = model.get_values()
    np.savez(tmp_path / "damaged.npz", **values, **{METADATA_KEY: np.array("{not json")})
    with pytest.raises(ModelFileError, match="damaged metadata"):
        read_metadata(tmp_path / "damaged.npz")
    before = model.get_values()
    with pytest.raises(ModelFileError, match="damaged metadata"):
        model.load(tmp_path / "damaged.npz")
    for name, value in model.get_values().items():
        np.testing.assert_array_equal(value, before[name])
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ModelFileError, match="junk.npz: not an .npz archive"):
        read_metadata(tmp_path / "junk.npz")


@pytest.mark.parametrize("batchnorm", [False, True])
def test_hidden_activations_match_numpy(rng, batchnorm):
    model = MLP([6, 5, 4, 3], activation="sigmoid", batchnorm=batchnorm, init=1.0, seed=4)
    x = model.input_variable()
    f = symgraph.function([x], model.hidden_activations(x) + [model.forward(x)])
    xv = rng.normal(size=(9, 6))
    values = model.get_values()
    h, want = xv, []
    for i in range(2):
        a = h @ values[f"dense{i}.W"] + values[f"dense{i}.b"]
        if batchnorm:  # test mode: the running averages (0 and 1 before any training)
            a = (values[f"bn{i}.gamma"] * (a - values[f"bn{i}.running_mean"])
                 / np.sqrt(values[f"bn{i}.running_var"] + 1e-5) + values[f"bn{i}.beta"])
        h = 1 / (1 + np.exp(-a))
        want.append(h)
    got = f(xv)
    assert len(got) == 3
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)
    np.testing.assert_allclose(got[2], h @ values["dense2.W"] + values["dense2.b"], rtol=1e-12)
    assert MLP([6, 3]).hidden_activations(x) == []


def test_set_values_casts_only_when_asked(rng):
    model = MLP([6, 5, 3], batchnorm=True, seed=0)  # float64
    half = MLP([6, 5, 3], batchnorm=True, seed=1, dtype="float16")
    before = half.get_values()
    with pytest.raises(ModelFileError, match=r"values do not match MLP: .*dtype float64"):
        half.set_values(model.get_values())
    for name, value in half.get_values().items():
        np.testing.assert_array_equal(value, before[name])  # nothing changed
    half.set_values(model.get_values(), cast=True)
    for name, value in half.get_values().items():
        assert value.dtype == np.float16
        np.testing.assert_array_equal(value, model.get_values()[name].astype(np.float16))
    with pytest.raises(ModelFileError,
                       match=r"dense0.W: shape \(6, 5\), the model has \(6, 4\)"):
        MLP([6, 4, 3], batchnorm=True).set_values(model.get_values(), cast=True)

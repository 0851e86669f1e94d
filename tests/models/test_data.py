"""Tests of models/data.py on small IDX files written here, and on the real MNIST if present."""
import gzip
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from models import data as D


def _md5(path):
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def _write_dataset(folder, rng, n_train=50, n_test=20, gz=True, md5sums=True):
    """Write a tiny MNIST-format dataset; return the arrays and the spec that checks it."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {"train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
              "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
              "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8)}
    lines = []
    for role, arr in arrays.items():
        name = D._STD_FILES[role] if gz else D._STD_FILES[role][:-3]
        D.write_idx(folder / name, arr)
        lines.append(f"{_md5(folder / name)}  {name}")
    if md5sums:
        (folder / "MD5SUMS").write_text("\n".join(lines) + "\n")
    spec = D.IdxDataset(name="tiny", files=dict(D._STD_FILES))
    return arrays, spec


@pytest.mark.parametrize("gz", [True, False])
def test_reads_small_idx_files(tmp_path, rng, gz):
    arrays, spec = _write_dataset(tmp_path / "d", rng, gz=gz)
    (x_tr, y_tr), (x_te, y_te) = D.load_idx_dataset(spec, tmp_path / "d", download=False)
    assert x_tr.shape == (50, 784) and x_tr.dtype == np.float32
    np.testing.assert_allclose(x_tr, arrays["train_images"].reshape(50, -1) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y_tr, arrays["train_labels"])
    assert y_tr.dtype == np.int32
    np.testing.assert_array_equal(y_te, arrays["test_labels"])
    assert x_te.min() >= 0 and x_te.max() <= 1


def test_options_shape_onehot_validation(tmp_path, rng):
    arrays, spec = _write_dataset(tmp_path, rng)
    tr, va, te = D.load_idx_dataset(spec, tmp_path, normalize=False, flatten=False,
                                    one_hot=True, dtype="float64", validation=10,
                                    download=False)
    assert tr[0].shape == (40, 1, 28, 28) and va[0].shape == (10, 1, 28, 28)
    np.testing.assert_array_equal(va[0][:, 0], arrays["train_images"][40:])
    np.testing.assert_array_equal(va[1].argmax(1), arrays["train_labels"][40:])
    assert tr[1].shape == (40, 10) and np.all(tr[1].sum(1) == 1)
    assert te[0].dtype == np.float64


def test_md5_mismatch_is_detected(tmp_path, rng):
    _, spec = _write_dataset(tmp_path, rng)
    path = tmp_path / D._STD_FILES["test_labels"]
    D.write_idx(path, rng.integers(0, 10, 20, dtype=np.uint8) ^ 1)  # valid IDX, other bytes
    with pytest.raises(D.DataError, match="md5"):
        D.load_idx_dataset(spec, tmp_path, download=False)


def test_official_md5_is_checked(tmp_path, rng):
    # files named like MNIST's but not the official ones are refused by load_mnist
    _write_dataset(tmp_path, rng, md5sums=False)
    with pytest.raises(D.DataError, match="not the expected"):
        D.load_mnist(tmp_path, download=False)


def test_payload_checksum_accepts_recompressed_and_raw(tmp_path, rng):
    """The same data gzip-ed differently (or not at all) passes the payload md5."""
    arrays, _ = _write_dataset(tmp_path / "a", rng, md5sums=False)
    payload = {name: hashlib.md5(gzip.open(tmp_path / "a" / name).read()).hexdigest()
               for name in D._STD_FILES.values()}
    spec = D.IdxDataset(name="tiny", files=dict(D._STD_FILES), payload_md5=payload,
                        md5={name: "0" * 32 for name in D._STD_FILES.values()})
    b = tmp_path / "b"
    b.mkdir()
    for name in D._STD_FILES.values():  # recompress at another level, or store raw
        raw = gzip.open(tmp_path / "a" / name).read()
        if "labels" in name:
            (b / name[:-3]).write_bytes(raw)
        else:
            (b / name).write_bytes(gzip.compress(raw, compresslevel=1, mtime=0))
    (x, y), _ = D.load_idx_dataset(spec, b, download=False)
    np.testing.assert_array_equal(y, arrays["train_labels"])
    raw_labels = b / D._STD_FILES["test_labels"][:-3]
    data = bytearray(raw_labels.read_bytes())
    data[-1] ^= 1
    raw_labels.write_bytes(bytes(data))
    with pytest.raises(D.DataError, match="uncompressed data"):
        D.load_idx_dataset(spec, b, download=False)


@pytest.mark.parametrize("gz", [True, False])
def test_truncated_file_is_detected(tmp_path, rng, gz):
    _, spec = _write_dataset(tmp_path, rng, gz=gz, md5sums=False)
    name = D._STD_FILES["train_images"] if gz else D._STD_FILES["train_images"][:-3]
    path = tmp_path / name
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) - 100])
    with pytest.raises(D.DataError, match="truncated"):
        D.load_idx_dataset(spec, tmp_path, download=False)


def test_bad_magic_is_detected(tmp_path):
    path = tmp_path / "x.idx"
    path.write_bytes(b"\x12\x34\x08\x01" + b"\x00" * 10)
    with pytest.raises(D.DataError, match="not an IDX"):
        D.read_idx(path)


def test_missing_files_error_lists_places(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMGRAPH_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))

    def offline(url, dest, timeout=30.0):
        raise OSError("network unreachable")
    monkeypatch.setattr(D, "_fetch", offline)
    with pytest.raises(D.DataError) as err:
        D.load_mnist()
    msg = str(err.value)
    assert str(tmp_path / "env" / "mnist") in msg
    assert str(tmp_path / "home" / ".cache" / "symgraph" / "mnist") in msg
    assert "SYMGRAPH_DATA" in msg and "data_dir" in msg and "unreachable" in msg
    # no half-written file is left in the download folder
    cache = tmp_path / "home" / ".cache" / "symgraph" / "mnist"
    assert not any(p.name.endswith(".part") for p in cache.iterdir())


def test_download_is_atomic_and_checked(tmp_path, monkeypatch, rng):
    """A download lands under its final name only when its md5 is right."""
    src = tmp_path / "src"
    arrays, _ = _write_dataset(src, rng, md5sums=False)
    sums = {name: _md5(src / name) for name in D._STD_FILES.values()}
    spec = D.IdxDataset(name="tiny", files=dict(D._STD_FILES), md5=sums,
                        mirrors=("bad://", "good://"))

    def fetch(url, dest, timeout=30.0):
        base, name = url.split("//")
        Path(dest).write_bytes(b"garbage" if base == "bad:" else (src / name).read_bytes())
    monkeypatch.setattr(D, "_fetch", fetch)
    target = tmp_path / "target"
    (x, y), _ = D.load_idx_dataset(spec, target)
    np.testing.assert_array_equal(y, arrays["train_labels"])
    assert sorted(p.name for p in target.iterdir()) == sorted(D._STD_FILES.values())


def test_env_and_cache_lookup_order(tmp_path, monkeypatch, rng):
    env_arrays, _ = _write_dataset(tmp_path / "env" / "tiny", rng, n_train=30)
    _write_dataset(tmp_path / "home" / ".cache" / "symgraph" / "tiny", rng, n_train=40)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    spec = D.IdxDataset(name="tiny", files=dict(D._STD_FILES))
    monkeypatch.setenv("SYMGRAPH_DATA", str(tmp_path / "env"))
    (x, _), _ = D.load_idx_dataset(spec, download=False)
    assert len(x) == 30
    monkeypatch.delenv("SYMGRAPH_DATA")
    (x, _), _ = D.load_idx_dataset(spec, download=False)
    assert len(x) == 40


def test_minibatches_seeded_shuffle():
    x = np.arange(10)[:, None]
    y = np.arange(10)
    first = [b for b in D.iterate_minibatches(x, y, 3, seed=1, epoch=1)]
    again = [b for b in D.iterate_minibatches(x, y, 3, seed=1, epoch=1)]
    other = [b for b in D.iterate_minibatches(x, y, 3, seed=1, epoch=2)]
    assert [len(b[0]) for b in first] == [3, 3, 3, 1]
    seen = np.concatenate([b[1] for b in first])
    assert sorted(seen) == list(range(10))  # a permutation: every example once
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(first, again))
    assert not np.array_equal(seen, np.concatenate([b[1] for b in other]))
    for xb, yb in first:
        np.testing.assert_array_equal(xb[:, 0], yb)  # x and y stay paired
    batches = list(D.iterate_minibatches(x, y, 3, drop_last=True))
    assert len(batches) == 3 == D.n_batches(10, 3, drop_last=True)


@pytest.mark.skipif(not os.environ.get("SYMGRAPH_DATA"), reason="SYMGRAPH_DATA not set")
def test_real_mnist():
    (x_tr, y_tr), (x_te, y_te) = D.load_mnist(download=False)
    assert x_tr.shape == (60000, 784) and x_te.shape == (10000, 784)
    assert x_tr.dtype == np.float32 and 0 <= x_tr.min() and x_tr.max() == 1
    assert list(y_tr[:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert np.bincount(y_te).tolist()[:3] == [980, 1135, 1032]


def test_system_folders_are_searched_last(tmp_path, monkeypatch, rng):
    _write_dataset(tmp_path / "sys", rng, n_train=25)
    monkeypatch.delenv("SYMGRAPH_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    spec = D.IdxDataset(name="tiny", files=dict(D._STD_FILES),
                        system_dirs=(str(tmp_path / "sys"),))
    (x, _), _ = D.load_idx_dataset(spec, download=False)
    assert len(x) == 25
    assert "/usr/share/datasets/fashion-mnist" in D.FASHION_MNIST.system_dirs

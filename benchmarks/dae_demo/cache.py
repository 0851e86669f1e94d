"""Training on first use, per-epoch checkpoints and the cache of trained models.

The models live in one folder (``--models``, default ``~/.cache/symgraph/dae_demo``):

- ``<noise>.npz``: a trained model, written by :meth:`models.base.Model.save` with its
  metadata (JSON): the :class:`TrainSettings`, the per-epoch history, the training seconds and
  the test errors measured after training (:func:`~benchmarks.dae_demo.reconstruct.
  denoising_errors` on every test image);
- ``<noise>.partial.npz``: the checkpoint of an unfinished training, rewritten atomically after
  every epoch (parameters, optimizer state, noise-generator states, history), from which the
  next run resumes with the numbers of an uninterrupted one; removed when training ends;
- ``samples.npz``: a few test digits (the first of each class) the page starts from.

A cached model is used only when its settings equal the requested ones; otherwise (or with
``retrain``) it is trained again.
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

import models
import optimizers
import symgraph
from models.base import METADATA_KEY, ModelFileError, read_metadata
from models.data import load_mnist
from models.training import Trainer, fit

from benchmarks import results as R
from benchmarks.dae_demo.noises import NOISES, get as get_noise
from benchmarks.dae_demo.reconstruct import Reconstruction, denoising_errors

PathLike = Union[str, os.PathLike]
Log = Callable[[str], None]

#: the version of the files below; a file of another format is retrained
FORMAT = 1
DEFAULT_EPOCHS = 10
DEFAULT_FOLDER = Path("~/.cache/symgraph/dae_demo")
SAMPLES_FILE = "samples.npz"
#: test images evaluated after every epoch (the final evaluation uses all of them): the
#: clean reconstruction loss (``test_loss``, ``test_mse``, from ``fit``) and the error on the
#: model's own noise (``denoise_mse``, against ``corrupted_mse`` of the corrupted input)
EPOCH_EVAL_IMAGES = 1000


@dataclass(frozen=True)
class TrainSettings:
    """Everything that determines a trained model's numbers (for an equal BLAS thread count).

    ``level`` is the corruption level of ``noise`` used in training (a probability, or the
    variance of the Gaussian noise); ``n_train`` takes the first training images.
    """

    noise: str
    level: float
    hidden: int = 500
    epochs: int = DEFAULT_EPOCHS
    n_train: int = 60000
    batch_size: int = 100
    optimizer: str = "adam"
    lr: float = 1e-3
    seed: int = 0
    dtype: str = "float32"

    def __post_init__(self):
        kind = get_noise(self.noise)
        kind.check_level(self.level, "level")
        for name in ("hidden", "epochs", "n_train", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"TrainSettings: {name} must be a positive int, got {value!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ValueError(f"TrainSettings: lr must be a positive number, got {self.lr!r}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"TrainSettings: dtype must be float32 or float64, got "
                             f"{self.dtype!r}")
        if self.optimizer.lower() not in optimizers.names():
            raise ValueError(f"TrainSettings: unknown optimizer {self.optimizer!r}; known: "
                             f"{', '.join(optimizers.names())}")

    def to_dict(self) -> dict:
        return {"format": FORMAT, **asdict(self)}


def default_settings(epochs: int = DEFAULT_EPOCHS, n_train: int = 60000, seed: int = 0,
                     hidden: int = 500) -> List[TrainSettings]:
    """One :class:`TrainSettings` per corruption, each at its kind's training level."""
    return [TrainSettings(k.name, k.train_level, hidden=hidden, epochs=epochs,
                          n_train=n_train, seed=seed) for k in NOISES.values()]


def build_model(settings: TrainSettings) -> models.AutoEncoder:
    """The untrained tied denoising autoencoder of ``settings`` (784-hidden sigmoid, sigmoid
    decoder, cross-entropy), corrupting its training inputs with the settings' noise."""
    noise = get_noise(settings.noise).model_noise(settings.level)
    return models.AutoEncoder(784, settings.hidden, activation="sigmoid", noise=noise,
                              tied=True, loss="xent", seed=settings.seed,
                              dtype=settings.dtype, name=f"dae_{settings.noise}")


@dataclass
class CachedModel:
    """A trained model with its settings and metadata (history, seconds, test errors)."""

    settings: TrainSettings
    model: models.AutoEncoder
    info: dict
    path: Path

    @property
    def name(self) -> str:
        return self.settings.noise


def model_file(folder: PathLike, noise: str) -> Path:
    return Path(folder) / f"{noise}.npz"


def checkpoint_file(folder: PathLike, noise: str) -> Path:
    return Path(folder) / f"{noise}.partial.npz"


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def load_cached(folder: PathLike, settings: TrainSettings) -> Tuple[Optional[CachedModel], str]:
    """The cached model trained with ``settings``, or None and why it cannot be used."""
    path = model_file(folder, settings.noise)
    if not path.exists():
        return None, f"no cached model in {path}"
    try:
        meta = read_metadata(path)
    except ModelFileError as e:
        return None, f"{path} is unreadable ({e})"
    stored = (meta or {}).get("settings")
    if stored != settings.to_dict():
        diff = _differences(stored, settings.to_dict())
        return None, f"{path} was trained with other settings ({diff})"
    model = build_model(settings)
    try:
        meta = model.load(path)
    except ModelFileError as e:
        return None, f"{path} is unreadable ({e})"
    return CachedModel(settings, model, meta, path), f"cached model {path}"


def _differences(stored, wanted: dict) -> str:
    if not isinstance(stored, dict):
        return "no settings stored"
    keys = sorted(set(stored) | set(wanted))
    return ", ".join(f"{k}={stored.get(k)!r} there, {wanted.get(k)!r} asked"
                     for k in keys if stored.get(k) != wanted.get(k))


# ---------------------------------------------------------------------------------------------
# checkpoints

def _noise_states(model) -> list:
    return [state for state, _ in model.stream.updates()] if model.stream is not None else []


def _write_checkpoint(path: Path, settings: TrainSettings, model, opt, history: list) -> None:
    arrays = {f"param/{k}": v for k, v in model.get_values().items()}
    arrays.update({f"optimizer/{i}": v for i, v in enumerate(opt.get_state_values())})
    arrays.update({f"noise/{i}": s.get_value() for i, s in enumerate(_noise_states(model))})
    meta = {"settings": settings.to_dict(), "epoch": len(history), "history": history}
    arrays[METADATA_KEY] = np.array(json.dumps(meta, allow_nan=True))
    R.write_npz(path, arrays)


def _restore_checkpoint(path: Path, settings: TrainSettings, model, opt) -> Tuple[int, list, str]:
    """Restore the checkpoint at ``path`` into ``model`` and ``opt`` (whose state and noise
    draws exist: the trainer is built); (epochs done, their history, message). Nothing is
    changed, and (0, [], why) returned, when the file is absent, damaged or of other
    settings."""
    if not path.exists():
        return 0, [], ""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(str(arrays.pop(METADATA_KEY)[()]))
    except (OSError, ValueError, KeyError, EOFError) as e:
        return 0, [], f"ignoring the damaged checkpoint {path} ({e})"
    if meta.get("settings") != settings.to_dict():
        return 0, [], f"ignoring the checkpoint {path} of other settings " \
                      f"({_differences(meta.get('settings'), settings.to_dict())})"
    params = {k[len("param/"):]: v for k, v in arrays.items() if k.startswith("param/")}
    opt_values = [arrays[f"optimizer/{i}"] for i in range(len(opt.state))
                  if f"optimizer/{i}" in arrays]
    states = _noise_states(model)
    noise_values = [arrays[f"noise/{i}"] for i in range(len(states)) if f"noise/{i}" in arrays]
    named = {p.name: p for p in model.params}
    shapes_ok = set(params) == set(named) and all(
        params[k].shape == named[k].get_value(borrow=True).shape for k in named)
    if not shapes_ok or len(opt_values) != len(opt.state) or len(noise_values) != len(states):
        return 0, [], f"ignoring the checkpoint {path}: it does not match the model"
    for name, p in named.items():
        p.set_value(params[name])
    opt.set_state_values(opt_values)
    for s, v in zip(states, noise_values):
        s.set_value(v)
    history = list(meta.get("history", []))
    return int(meta["epoch"]), history, f"resuming from {path} after epoch {meta['epoch']}"


# ---------------------------------------------------------------------------------------------
# training

Data = Tuple[np.ndarray, np.ndarray, np.ndarray]  # x_train, x_test, y_test


def load_data(data_dir: Optional[PathLike] = None, dtype: str = "float32") -> Data:
    """MNIST's training images, test images and test labels (pixels in [0, 1])."""
    (x_tr, _), (x_te, y_te) = load_mnist(data_dir, dtype=dtype)
    return x_tr, x_te, y_te


def train(settings: TrainSettings, data: Data, folder: PathLike,
          progress: Optional[bool] = None, log: Log = _stderr,
          on_epoch: Optional[Callable[[dict], None]] = None) -> CachedModel:
    """Train the model of ``settings`` (resuming from its checkpoint in ``folder``), measure
    its test errors and store it as ``<noise>.npz``.

    ``on_epoch`` is called with each epoch's history entry after its checkpoint is written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    x_tr, x_te, _ = data
    x_tr = np.asarray(x_tr[:settings.n_train], dtype=settings.dtype)
    x_te = np.asarray(x_te, dtype=settings.dtype)
    model = build_model(settings)
    opt = optimizers.get(settings.optimizer, lr=settings.lr)
    trainer = Trainer(model, opt)
    ckpt = checkpoint_file(folder, settings.noise)
    start, history, msg = _restore_checkpoint(ckpt, settings, model, opt)
    if msg:
        log(f"{settings.noise}: {msg}")

    kind = get_noise(settings.noise)
    rec = Reconstruction(model, kind, settings.noise)
    x_eval = x_te[:EPOCH_EVAL_IMAGES]

    def checkpoint(entry: dict) -> None:
        # fit measured the clean inputs; the model's task is its own noise: measure that too
        errors = denoising_errors(rec, x_eval, settings.level, seed=settings.seed)
        entry["denoise_mse"] = errors["reconstruction_mse"]
        entry["corrupted_mse"] = errors["corrupted_mse"]
        history.append(entry)
        _write_checkpoint(ckpt, settings, model, opt, history)
        log(f"{settings.noise}: epoch {entry['epoch']}/{settings.epochs}  train loss "
            f"{entry['train_loss']:.2f}  test MSE {entry['denoise_mse']:.4f} (corrupted "
            f"input {entry['corrupted_mse']:.4f})  ({entry['seconds']:.1f} s)")
        if on_epoch is not None:
            on_epoch(entry)

    fit(model, opt, ((x_tr, None), (x_eval, None)), settings.epochs,
        batch_size=settings.batch_size, seed=settings.seed, callbacks=[checkpoint],
        progress=progress, trainer=trainer, initial_epoch=start)
    t0 = time.perf_counter()
    errors = denoising_errors(rec, x_te, settings.level, seed=settings.seed)
    errors["seconds"] = time.perf_counter() - t0
    info = {"settings": settings.to_dict(), "history": history,
            "train_seconds": float(sum(h["seconds"] for h in history)), "test": errors,
            "versions": {"symgraph": symgraph.__version__, "numpy": np.__version__}}
    path = model_file(folder, settings.noise)
    tmp = path.with_name(f".{path.name}.tmp")
    model.save(tmp, metadata=info)
    os.replace(tmp, path)
    ckpt.unlink(missing_ok=True)
    return CachedModel(settings, model, info, path)


# ---------------------------------------------------------------------------------------------
# samples and the whole cache

def write_samples(folder: PathLike, x_test: np.ndarray, y_test: np.ndarray) -> Path:
    """Store the first test image of each class as ``samples.npz`` (pixels, labels)."""
    labels = np.unique(y_test)
    idx = np.array([int(np.flatnonzero(y_test == c)[0]) for c in labels])
    path = Path(folder) / SAMPLES_FILE
    R.write_npz(path, {"pixels": np.asarray(x_test[idx], dtype="float32"),
                       "labels": np.asarray(y_test[idx], dtype="int64"),
                       "index": idx.astype("int64")})
    return path


def read_samples(folder: PathLike) -> Optional[Dict[str, np.ndarray]]:
    """The stored samples, or None when the file is missing or damaged."""
    try:
        return R.read_npz(Path(folder) / SAMPLES_FILE, ("pixels", "labels", "index"))
    except ValueError:
        return None


def prepare(folder: PathLike, settings: Sequence[TrainSettings],
            data_dir: Optional[PathLike] = None, retrain: bool = False,
            progress: Optional[bool] = None, log: Log = _stderr
            ) -> Tuple[List[CachedModel], Dict[str, np.ndarray]]:
    """The trained model of each of ``settings`` (from the cache, else trained now) and the
    sample digits; MNIST is read only when something must be made."""
    folder = Path(folder).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    data: List[Data] = []

    def get_data() -> Data:
        if not data:
            log("loading MNIST ...")
            data.append(load_data(data_dir))
        return data[0]

    out = []
    for k, s in enumerate(settings):
        cached, why = (None, "--retrain") if retrain else load_cached(folder, s)
        if cached is None:
            if retrain:
                checkpoint_file(folder, s.noise).unlink(missing_ok=True)
            log(f"{s.noise}: {why}; training ({k + 1}/{len(settings)}: {s.epochs} "
                f"epoch{'s' if s.epochs > 1 else ''} on {min(s.n_train, len(get_data()[0]))} "
                f"images)")
            cached = train(s, get_data(), folder, progress=progress, log=log)
        else:
            log(f"{s.noise}: {why}")
        out.append(cached)
    samples = read_samples(folder)
    if samples is None:
        _, x_te, y_te = get_data()
        write_samples(folder, x_te, y_te)
        samples = read_samples(folder)
    return out, samples

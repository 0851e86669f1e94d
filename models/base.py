"""The model base class: parameters, persistent state, save/load, and the classifier contract."""
from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections import OrderedDict
from typing import Dict, List, Optional, Union

import numpy as np

import symgraph.tensor as T
from symgraph.config import config
from symgraph.graph import Variable
from symgraph.shared import SharedVariable

from models import layers as L

PathLike = Union[str, os.PathLike]


class ModelFileError(ValueError):
    """A parameter file cannot be read (missing, truncated, corrupt, not an ``.npz`` archive,
    holding pickled objects) or does not match the model it is loaded into. The message names
    the file and the cause."""


def read_parameter_file(path: PathLike) -> Dict[str, np.ndarray]:
    """Every array of the ``.npz`` parameter file at ``path``, by name.

    Never unpickles anything. Raises :class:`ModelFileError` naming the file and the cause for a
    file that cannot be opened, is not an ``.npz`` archive (a text file, a single ``.npy``
    array), is truncated or fails a member's CRC-32, or holds object arrays.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(6)
    except OSError as e:
        raise ModelFileError(f"{path}: cannot read the parameter file "
                             f"({type(e).__name__}: {e.strerror or e})") from None
    if not head.startswith(b"PK"):
        if not head:
            what = "the file is empty"
        elif head == b"\x93NUMPY":
            what = "a single .npy array, not an .npz archive of named arrays"
        else:
            what = f"not an .npz archive (it starts with {head!r})"
        raise ModelFileError(f"{path}: {what}; parameter files are written by Model.save")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except zipfile.BadZipFile as e:
        raise ModelFileError(f"{path}: truncated or corrupt .npz archive "
                             f"(BadZipFile: {e})") from None
    except ValueError as e:
        if "allow_pickle" in str(e):
            raise ModelFileError(f"{path}: holds pickled object arrays, which are never "
                                 f"loaded (parameters are numeric arrays)") from None
        raise ModelFileError(f"{path}: unreadable .npz archive (ValueError: {e})") from None
    except (OSError, EOFError, KeyError) as e:
        raise ModelFileError(f"{path}: unreadable .npz archive "
                             f"({type(e).__name__}: {e})") from None


class Model:
    """A network that owns shared variables and builds symbolic graphs.

    Attributes
    ----------
    params : list of SharedVariable
        Trainable parameters, in a fixed order (what an optimizer updates).
    state : list of SharedVariable
        Persistent non-trainable values (batch-norm running averages); saved with the params.
    supervised : bool
        Whether :meth:`cost` needs targets.
    input_ndim : int
        Rank of the input batch (2 for flat images, 4 for NCHW images).

    The train/test switch is the ``train`` argument of :meth:`forward`, :meth:`cost` and
    :meth:`metrics`: dropout and input noise act and batch norm uses batch statistics only
    when it is true. Graph-building methods that need state updates (batch norm) append them
    to the ``updates`` list they are given.
    """

    supervised = True
    input_ndim = 2

    def __init__(self, seed: int = 0, dtype: Optional[str] = None):
        self.seed = int(seed)
        self.dtype = dtype or config.floatX
        self.rng = np.random.default_rng(self.seed)
        self.params: List[SharedVariable] = []
        self.state: List[SharedVariable] = []

    # -------------------------------------------------------------------- symbolic interface
    def input_variable(self, name: str = "x") -> Variable:
        """A symbolic input batch of the model's dtype and rank."""
        return T.tensor(self.dtype, (None,) * self.input_ndim, name=name)

    def target_variable(self, name: str = "y", one_hot: bool = False) -> Variable:
        """A symbolic target batch: int32 labels, or one-hot rows of the model's dtype."""
        if one_hot:
            return T.matrix(name, dtype=self.dtype)
        return T.ivector(name)

    def forward(self, x: Variable, train: bool = False, updates: Optional[list] = None
                ) -> Variable:
        """The network's output for the batch ``x`` (logits for classifiers)."""
        raise NotImplementedError

    def cost(self, x: Variable, y: Optional[Variable] = None, train: bool = True,
             updates: Optional[list] = None) -> Variable:
        """The scalar training objective (mean over the batch, plus any penalty)."""
        raise NotImplementedError

    def metrics(self, x: Variable, y: Optional[Variable] = None) -> "OrderedDict[str, Variable]":
        """Scalar evaluation metrics (batch means) in test mode; ``loss`` comes first."""
        raise NotImplementedError

    # ----------------------------------------------------------------------- persistence
    def _named(self) -> "OrderedDict[str, SharedVariable]":
        named = OrderedDict()
        for v in list(self.params) + list(self.state):
            if v.name in named:
                raise ValueError(f"{type(self).__name__}: two variables are named {v.name!r}")
            named[v.name] = v
        return named

    def get_values(self) -> Dict[str, np.ndarray]:
        """Copies of every parameter and state value, by name."""
        return {name: v.get_value() for name, v in self._named().items()}

    def save(self, path: PathLike, metadata: Optional[dict] = None) -> None:
        """Write params and state to ``path`` as an uncompressed ``.npz`` (no pickled objects).

        ``metadata``, a JSON-serialisable dict (training settings, results...), is stored with
        them as JSON text under :data:`METADATA_KEY`; :meth:`load` returns it. The file is
        replaced atomically (written under a temporary name in the same folder, then renamed),
        so an interrupted save leaves the previous file or none, never a truncated one.
        """
        values = self.get_values()
        if metadata is not None:
            values[METADATA_KEY] = np.array(_metadata_json(metadata))
        path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                                   dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **values)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def load(self, path: PathLike) -> Optional[dict]:
        """Load values saved by :meth:`save` and return the file's metadata (None without);
        refuse (:class:`ModelFileError`, naming the file and the cause) a file that cannot be
        read or whose names, shapes or dtypes do not match this model. Nothing is changed
        then."""
        values = read_parameter_file(path)
        metadata = _parse_metadata(path, values.pop(METADATA_KEY, None))
        self.set_values(values, what=str(path))
        return metadata

    def set_values(self, values: Dict[str, np.ndarray], cast: bool = False,
                   what: str = "values") -> None:
        """Set every parameter and state value from ``values`` (name -> array, as
        :meth:`get_values` gives).

        The names and shapes must be exactly this model's, and the dtypes too unless ``cast``,
        which converts each array to its variable's dtype (e.g. float32 values into a float16
        copy of the network). A mismatch raises :class:`ModelFileError` naming every problem,
        and nothing is changed then.
        """
        named = self._named()
        problems = []
        missing = sorted(set(named) - set(values))
        extra = sorted(set(values) - set(named))
        if missing:
            problems.append(f"missing {missing}")
        if extra:
            problems.append(f"unexpected {extra}")
        arrays = {}
        for name in sorted(set(named) & set(values)):
            want = named[name].get_value(borrow=True)
            got = np.asarray(values[name])
            if got.shape != want.shape:
                problems.append(f"{name}: shape {got.shape}, the model has {want.shape}")
            elif got.dtype != want.dtype and not cast:
                problems.append(f"{name}: dtype {got.dtype}, the model has {want.dtype}")
            arrays[name] = got.astype(want.dtype, copy=False)
        if problems:
            verb = "do" if what == "values" else "does"
            raise ModelFileError(f"{what} {verb} not match {type(self).__name__}: "
                                 + "; ".join(problems))
        for name, v in named.items():
            v.set_value(arrays[name])


#: the ``.npz`` entry holding a saved model's metadata (JSON text)
METADATA_KEY = "__metadata__"


def read_metadata(path: PathLike) -> Optional[dict]:
    """The metadata stored by :meth:`Model.save` in ``path`` (None when it has none), without
    building the model; :class:`ModelFileError` when the file cannot be read."""
    return _parse_metadata(path, read_parameter_file(path).get(METADATA_KEY))


def _metadata_json(metadata: dict) -> str:
    if not isinstance(metadata, dict):
        raise TypeError(f"Model.save: metadata must be a dict, got {type(metadata).__name__}")
    try:
        return json.dumps(metadata, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise TypeError(f"Model.save: metadata must be JSON-serialisable ({e})") from None


def _parse_metadata(path: PathLike, raw: Optional[np.ndarray]) -> Optional[dict]:
    if raw is None:
        return None
    try:
        meta = json.loads(str(raw[()]))
    except (ValueError, TypeError) as e:
        raise ModelFileError(f"{path}: damaged metadata ({e})") from None
    if not isinstance(meta, dict):
        raise ModelFileError(f"{path}: metadata is not a JSON object")
    return meta


class Classifier(Model):
    """A model whose :meth:`forward` gives class logits; cost = cross-entropy + L2 penalty.

    ``weight_decay`` λ adds ``λ/2 · Σ ||W||²`` over the weight matrices in ``self.weights``
    (biases and batch-norm scales are not decayed), as in deep-learning-from-scratch.
    """

    def __init__(self, n_classes: int, weight_decay: float = 0.0, seed: int = 0,
                 dtype: Optional[str] = None):
        super().__init__(seed, dtype)
        self.n_classes = int(n_classes)
        self.weight_decay = float(weight_decay)
        self.weights: List[SharedVariable] = []

    def penalty(self) -> Union[Variable, float]:
        """The L2 penalty ``λ/2 · Σ ||W||²`` (0 when λ = 0)."""
        if not self.weight_decay or not self.weights:
            return 0.0
        total = T.sum(T.sqr(self.weights[0]))
        for w in self.weights[1:]:
            total = total + T.sum(T.sqr(w))
        return 0.5 * self.weight_decay * total

    def cost(self, x, y=None, train=True, updates=None):
        if y is None:
            raise ValueError(f"{type(self).__name__}.cost needs the targets y")
        logits = self.forward(x, train=train, updates=updates)
        return L.nll(logits, y, self.n_classes) + self.penalty()

    def errors(self, x: Variable, y: Variable) -> Variable:
        """Test-mode error rate on the batch."""
        return L.error_rate(self.forward(x, train=False), y)

    def accuracy(self, x: Variable, y: Variable) -> Variable:
        """Test-mode accuracy on the batch."""
        return 1 - self.errors(x, y)

    def predict_proba(self, x: Variable) -> Variable:
        """Test-mode class probabilities."""
        return L.softmax(self.forward(x, train=False))

    def predict(self, x: Variable) -> Variable:
        """Test-mode predicted labels."""
        return T.argmax(self.forward(x, train=False), axis=1)

    def metrics(self, x, y=None):
        logits = self.forward(x, train=False)
        loss = L.nll(logits, y, self.n_classes) + self.penalty()
        return OrderedDict([("loss", loss), ("accuracy", 1 - L.error_rate(logits, y))])

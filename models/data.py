"""MNIST-style datasets: find, verify, download and read the IDX files; iterate minibatches.

Files are looked for in ``data_dir`` when given (``--data-dir`` on the command lines; missing
files are downloaded there), else in ``$SYMGRAPH_DATA/<name>``, then
``~/.cache/symgraph/<name>`` (the download target), then system folders such as those of the
Debian package ``dataset-fashion-mnist``. :func:`locate` says which folder was used and how it
was found. Every file is checked before use: the md5 of a gzip file against the official
checksum, the IDX header against the file size (a truncated or corrupt file is reported, never
used). Downloads show a progress bar (tqdm, on a terminal) or one line per file, go to a
temporary file in the target folder, and are renamed into place only once their md5 is right.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple, Union

import numpy as np

PathLike = Union[str, os.PathLike]

# IDX type codes (third byte of the magic number) -> big-endian NumPy dtype
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DataError(RuntimeError):
    """A dataset file is missing, corrupt, truncated or does not match its checksum."""


@dataclass(frozen=True)
class IdxDataset:
    """Where to find an MNIST-format dataset and how to check it.

    Attributes
    ----------
    name : str
        Folder name under ``$SYMGRAPH_DATA`` and the cache (``'mnist'``).
    files : dict
        Role (``train_images``, ``train_labels``, ``test_images``, ``test_labels``) to the
        gzip file name; the uncompressed file (name without ``.gz``) is accepted too.
    md5 : dict
        File name to its official md5 (of the ``.gz`` file). Files without an entry are
        checked against an ``MD5SUMS`` file in their folder when there is one.
    payload_md5 : dict
        File name (``.gz``) to the md5 of the uncompressed IDX bytes: accepts the same data
        uncompressed or recompressed (distribution packages strip the gzip header's name).
    mirrors : tuple
        Base URLs tried in order when downloading.
    system_dirs : tuple
        Extra read-only folders to look in (distribution packages).
    n_classes : int
        Number of label values.
    """

    name: str
    files: Dict[str, str]
    md5: Dict[str, str] = field(default_factory=dict)
    payload_md5: Dict[str, str] = field(default_factory=dict)
    mirrors: Tuple[str, ...] = ()
    system_dirs: Tuple[str, ...] = ()
    n_classes: int = 10


_ROLES = ("train_images", "train_labels", "test_images", "test_labels")
_STD_FILES = {"train_images": "train-images-idx3-ubyte.gz",
              "train_labels": "train-labels-idx1-ubyte.gz",
              "test_images": "t10k-images-idx3-ubyte.gz",
              "test_labels": "t10k-labels-idx1-ubyte.gz"}

MNIST = IdxDataset(
    name="mnist", files=dict(_STD_FILES),
    md5={"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
         "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
         "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
         "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"},
    payload_md5={"train-images-idx3-ubyte.gz": "6bbc9ace898e44ae57da46a324031adb",
                 "train-labels-idx1-ubyte.gz": "a25bea736e30d166cdddb491f175f624",
                 "t10k-images-idx3-ubyte.gz": "2646ac647ad5339dbf082846283269ea",
                 "t10k-labels-idx1-ubyte.gz": "27ae3e4e09519cfbb04c329615203637"},
    mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
             "https://storage.googleapis.com/cvdf-datasets/mnist/",
             "http://yann.lecun.com/exdb/mnist/"),
)

FASHION_MNIST = IdxDataset(
    name="fashion-mnist", files=dict(_STD_FILES),
    md5={"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
         "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
         "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
         "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"},
    payload_md5={"train-images-idx3-ubyte.gz": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
                 "train-labels-idx1-ubyte.gz": "9018921c3c673c538a1fc5bad174d6f9",
                 "t10k-images-idx3-ubyte.gz": "8181f5470baa50b63fa0f6fddb340f0a",
                 "t10k-labels-idx1-ubyte.gz": "15d484375f8d13e6eb1aabb0c3f46965"},
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    system_dirs=("/usr/share/datasets/fashion-mnist",),  # Debian's dataset-fashion-mnist
)


#: the datasets by the names the command lines use
DATASETS: Dict[str, IdxDataset] = {"mnist": MNIST, "fashion-mnist": FASHION_MNIST}

#: how a folder was found, as :func:`locate` reports it
SOURCES = ("data_dir", "SYMGRAPH_DATA", "cache", "system", "downloaded")


# ---------------------------------------------------------------------------------------------
# IDX files

def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as f:
        head = f.read(2)
    if head == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as f:
                return f.read()
        except (EOFError, OSError, gzip.BadGzipFile) as e:
            raise DataError(f"{path}: corrupt or truncated gzip file ({e}); delete it and "
                            f"provide the file again") from None
    return path.read_bytes()


def read_idx(path: PathLike) -> np.ndarray:
    """Read one IDX file (gzip-compressed or not) into a native-endian array.

    Raises
    ------
    DataError
        When the header is not IDX or the payload size disagrees with the header (truncated
        or padded file).
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise DataError(f"{path}: not an IDX file (bad magic number {data[:4]!r})")
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated IDX header ({len(data)} bytes)")
    dims = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "has trailing bytes"
        raise DataError(f"{path}: IDX file {what}: the header {dims} needs {expected} bytes, "
                        f"the file has {len(data)}")
    arr = np.frombuffer(data, dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="))


def write_idx(path: PathLike, array: np.ndarray, compress: Optional[bool] = None) -> None:
    """Write ``array`` as an IDX file (gzip-compressed when the name ends in ``.gz``)."""
    path = Path(path)
    array = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in _IDX_DTYPES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None:
        raise TypeError(f"write_idx: dtype {array.dtype} has no IDX code")
    payload = (bytes([0, 0, code, array.ndim])
               + np.asarray(array.shape, ">u4").tobytes()
               + array.astype(_IDX_DTYPES[code]).tobytes())
    if compress is None:
        compress = path.suffix == ".gz"
    opener = gzip.open if compress else open
    with opener(path, "wb") as f:
        f.write(payload)


# ---------------------------------------------------------------------------------------------
# finding, checking and downloading files

def _search_dirs(spec: IdxDataset, data_dir: Optional[PathLike]
                 ) -> Tuple[List[Tuple[Path, str]], Path]:
    """The folders to look in, in order, each with how it was chosen, and the folder
    downloads go to."""
    if data_dir is not None:
        return [(Path(data_dir), "data_dir")], Path(data_dir)
    dirs = []
    env = os.environ.get("SYMGRAPH_DATA")
    if env:
        dirs.append((Path(env) / spec.name, "SYMGRAPH_DATA"))
    cache = Path.home() / ".cache" / "symgraph" / spec.name
    dirs.append((cache, "cache"))
    dirs.extend((Path(d), "system") for d in spec.system_dirs)
    return dirs, cache


def _locate(folder: Path, gz_name: str) -> Optional[Path]:
    """The file in ``folder``, compressed or not (``name.gz`` or ``name``), else None."""
    names = [gz_name] + ([gz_name[:-3]] if gz_name.endswith(".gz") else [])
    for name in names:
        if (folder / name).is_file():
            return folder / name
    return None


def _md5sums(folder: Path) -> Dict[str, str]:
    sums = {}
    f = folder / "MD5SUMS"
    if f.is_file():
        for line in f.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2:
                sums[parts[1].lstrip("*")] = parts[0].lower()
    return sums


def _check_md5(spec: IdxDataset, path: Path) -> None:
    """Accept ``path`` when its md5 or the md5 of its uncompressed bytes is the expected one."""
    gz_name = path.name if path.name.endswith(".gz") else path.name + ".gz"
    want = spec.md5.get(path.name) or _md5sums(path.parent).get(path.name)
    if want is not None and _md5(path) == want:
        return
    want_payload = spec.payload_md5.get(gz_name)
    if want_payload is not None:
        got = hashlib.md5(_read_bytes(path)).hexdigest()
        if got == want_payload:
            return
        raise DataError(f"{path}: the md5 of its uncompressed data is {got}, not the expected "
                        f"{want_payload}; the file is corrupt or not the official one: delete "
                        f"it and provide it again")
    if want is not None:
        raise DataError(f"{path}: md5 {_md5(path)} does not match the expected {want}; the "
                        f"file is corrupt or not the official one: delete it and provide it "
                        f"again")
    # a file without any known checksum: the IDX structure checks still apply when read


def _progress(total: Optional[int], desc: str):
    """A tqdm bar on a terminal when tqdm is installed, else None."""
    if not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="B", unit_scale=True, desc=desc, leave=False)


def _fetch(url: str, dest: Path, timeout: float = 30.0) -> None:
    """Download ``url`` to ``dest`` (the caller renames it into place) with a progress bar
    (tqdm on a terminal) or, without one, a line once the file is in."""
    name = url.rsplit("/", 1)[-1]
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=timeout) as resp, open(dest, "wb") as out:
        total = resp.headers.get("Content-Length")
        bar = _progress(int(total) if total else None, name)
        size = 0
        try:
            for chunk in iter(lambda: resp.read(1 << 16), b""):
                out.write(chunk)
                size += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
    if bar is None:
        print(f"  {name}: {size / 1e6:.1f} MB in {time.perf_counter() - t0:.1f} s",
              file=sys.stderr, flush=True)


def _download(spec: IdxDataset, name: str, target: Path) -> Path:
    """Fetch ``name`` from the mirrors into ``target`` atomically; raise OSError when offline."""
    target.mkdir(parents=True, exist_ok=True)
    errors = []
    for base in spec.mirrors:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=target)
        os.close(fd)
        tmp = Path(tmp)
        try:
            _fetch(base + name, tmp)
            want = spec.md5.get(name)
            if want is not None and _md5(tmp) != want:
                raise DataError(f"md5 mismatch for the download from {base}")
            final = target / name
            os.replace(tmp, final)
            return final
        except (OSError, urllib.error.URLError, DataError) as e:
            errors.append(f"{base}{name}: {e}")
        finally:
            if tmp.exists():
                tmp.unlink()
    if not errors:
        raise OSError("no mirror known")
    more = f" (and {len(errors) - 1} other mirror(s))" if len(errors) > 1 else ""
    raise OSError(errors[0] + more)


def _missing_error(spec: IdxDataset, dirs: List[Path], missing: List[str], why: str) -> DataError:
    looked = ", ".join(str(d) for d in dirs)
    return DataError(
        f"{spec.name}: {', '.join(missing)} not found in {looked} and not downloaded ({why}); "
        f"put the four IDX files (gzip or not) in a folder and pass it with --data-dir "
        f"(data_dir= in Python), or set SYMGRAPH_DATA to a folder holding {spec.name}/")


@dataclass(frozen=True)
class Located:
    """Where a dataset's files were found: the folder, how it was found (one of
    :data:`SOURCES`) and the path of each file by role."""

    folder: Path
    source: str
    paths: Dict[str, Path]


def locate(spec: Union[IdxDataset, str], data_dir: Optional[PathLike] = None,
           download: bool = True) -> Located:
    """Find the dataset's files, verified; download what is missing when allowed.

    ``spec`` is an :class:`IdxDataset` or a name of :data:`DATASETS`. The first folder holding
    all files wins; otherwise the missing files are downloaded into the target folder
    (``data_dir`` or the cache) next to those already there, with a message naming the
    folder and a progress bar. Raises :class:`DataError` (one line, naming ``--data-dir`` and
    ``SYMGRAPH_DATA``) when files are missing and cannot be downloaded, or when a file is
    corrupt.
    """
    if isinstance(spec, str):
        if spec not in DATASETS:
            raise ValueError(f"unknown dataset {spec!r}; known: {', '.join(DATASETS)}")
        spec = DATASETS[spec]
    dirs, target = _search_dirs(spec, data_dir)
    for folder, source in dirs:
        found = {role: _locate(folder, name) for role, name in spec.files.items()}
        if all(found.values()):
            for path in found.values():
                _check_md5(spec, path)
            return Located(folder, source, found)
    folders = [d for d, _ in dirs]
    if target.exists() and not target.is_dir():
        raise DataError(f"{spec.name}: {target} is a file, not a folder (--data-dir, or "
                        f"data_dir= in Python, names the folder holding the files)")
    found = {role: _locate(target, name) for role, name in spec.files.items()}
    missing = [spec.files[r] for r, p in found.items() if p is None]
    if not download:
        raise _missing_error(spec, folders, missing, "downloads not allowed here")
    if not spec.mirrors:
        raise _missing_error(spec, folders, missing, "no download address known")
    print(f"{spec.name}: downloading {', '.join(missing)} into {target} (md5-checked)",
          file=sys.stderr, flush=True)
    for role, path in found.items():
        if path is None:
            try:
                found[role] = _download(spec, spec.files[role], target)
            except OSError as e:
                raise _missing_error(spec, folders, missing, f"offline or unreachable: {e}") \
                    from None
    for path in found.values():
        _check_md5(spec, path)
    return Located(target, "downloaded", found)


def find_files(spec: IdxDataset, data_dir: Optional[PathLike] = None,
               download: bool = True) -> Dict[str, Path]:
    """Paths of the dataset's files by role, verified; see :func:`locate`."""
    return locate(spec, data_dir, download).paths


# ---------------------------------------------------------------------------------------------
# public loaders

Pair = Tuple[np.ndarray, np.ndarray]


def load_idx_dataset(spec: IdxDataset, data_dir: Optional[PathLike] = None,
                     normalize: bool = True, flatten: bool = True, one_hot: bool = False,
                     dtype: str = "float32", validation: Union[int, float] = 0,
                     download: bool = True) -> Tuple[Pair, ...]:
    """Load an MNIST-format dataset described by ``spec`` (see :func:`load_mnist`)."""
    paths = find_files(spec, data_dir, download)
    arrays = {role: read_idx(paths[role]) for role in _ROLES}
    out = []
    for split in ("train", "test"):
        x, y = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise DataError(f"{spec.name} {split}: images {x.shape} and labels {y.shape} do not "
                            f"form a dataset (expected (n, h, w) and (n,))")
        if y.size and (y.min() < 0 or y.max() >= spec.n_classes):
            raise DataError(f"{spec.name} {split}: labels outside [0, {spec.n_classes})")
        x = x.astype(dtype)
        if normalize:
            x /= np.asarray(255, dtype)
        x = x.reshape(len(x), -1) if flatten else x[:, None, :, :]
        y = y.astype("int32")
        if one_hot:
            y = np.eye(spec.n_classes, dtype=dtype)[y]
        out.append((np.ascontiguousarray(x), y))
    (x_tr, y_tr), test = out
    n_val = int(round(validation * len(x_tr))) if isinstance(validation, float) else validation
    if n_val < 0 or n_val >= len(x_tr):
        raise ValueError(f"validation={validation}: must leave at least one of the "
                         f"{len(x_tr)} training examples")
    if n_val == 0:
        return (x_tr, y_tr), test
    cut = len(x_tr) - n_val
    return (x_tr[:cut], y_tr[:cut]), (x_tr[cut:], y_tr[cut:]), test


def load_mnist(data_dir: Optional[PathLike] = None, normalize: bool = True,
               flatten: bool = True, one_hot: bool = False, dtype: str = "float32",
               validation: Union[int, float] = 0, download: bool = True) -> Tuple[Pair, ...]:
    """Load MNIST as ``((x_train, y_train), (x_test, y_test))``.

    Parameters
    ----------
    data_dir : path, optional
        Folder holding the four IDX files; default ``$SYMGRAPH_DATA/mnist``, then
        ``~/.cache/symgraph/mnist`` (where missing files are downloaded).
    normalize : bool
        Scale pixels to [0, 1] (else keep 0..255 in ``dtype``).
    flatten : bool
        Images as rows of 784 values; else ``(n, 1, 28, 28)`` (NCHW, for conv nets).
    one_hot : bool
        Labels as one-hot rows of ``dtype``; else int32 class indices.
    validation : int or float
        When > 0, the last ``validation`` training examples (or that fraction) become a
        validation pair returned between train and test.
    download : bool
        Allow downloading missing files.
    """
    return load_idx_dataset(MNIST, data_dir, normalize, flatten, one_hot, dtype, validation,
                            download)


def load_fashion_mnist(data_dir: Optional[PathLike] = None, normalize: bool = True,
                       flatten: bool = True, one_hot: bool = False, dtype: str = "float32",
                       validation: Union[int, float] = 0, download: bool = True
                       ) -> Tuple[Pair, ...]:
    """Load Fashion-MNIST; same contract as :func:`load_mnist` (folder ``fashion-mnist``, and
    the Debian package ``dataset-fashion-mnist`` when installed)."""
    return load_idx_dataset(FASHION_MNIST, data_dir, normalize, flatten, one_hot, dtype,
                            validation, download)


# ---------------------------------------------------------------------------------------------
# minibatches

def iterate_minibatches(x: np.ndarray, y: Optional[np.ndarray], batch_size: int,
                        shuffle: bool = True, seed: int = 0, epoch: int = 0,
                        drop_last: bool = False) -> Iterator[Tuple[np.ndarray, ...]]:
    """Yield ``(x_batch, y_batch)`` (or ``(x_batch,)`` when ``y`` is None) over one epoch.

    The order is a permutation drawn from ``np.random.default_rng([seed, epoch])``: the same
    for the same (seed, epoch), different between epochs, independent of any global state.
    """
    n = len(x)
    if y is not None and len(y) != n:
        raise ValueError(f"iterate_minibatches: {n} inputs but {len(y)} targets")
    if batch_size < 1:
        raise ValueError(f"iterate_minibatches: batch_size must be >= 1, got {batch_size}")
    order = np.random.default_rng([seed, epoch]).permutation(n) if shuffle else None
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        if order is None:
            sl = slice(start, start + batch_size)
            yield (x[sl],) if y is None else (x[sl], y[sl])
        else:
            idx = order[start:start + batch_size]
            yield (x[idx],) if y is None else (x[idx], y[idx])


def n_batches(n: int, batch_size: int, drop_last: bool = False) -> int:
    """Number of minibatches :func:`iterate_minibatches` yields for ``n`` examples."""
    return n // batch_size if drop_last else -(-n // batch_size)

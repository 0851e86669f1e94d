"""``theano.config``: Theano's flags, read from ``THEANO_FLAGS`` and ``.theanorc`` once, when
``theano`` is first imported (the one place in symgraph that reads the environment).

Flags fall in three groups:

* flags that change what a program computes or how it is compiled (``floatX``, ``mode``,
  ``optimizer``, ``profile``, ``on_unused_input``, ``device``, ...) are honoured: ``floatX``
  is symgraph's own :data:`symgraph.config.floatX`, the others are the defaults of
  ``theano.function``;
* flags that tune Theano's C and GPU back ends (``cxx``, ``blas.ldflags``, ``gcc.*``,
  ``nvcc.*``, ``dnn.*``, ``compiledir``, ``openmp``, ``warn.*`` for old Theano bugs, ...) are
  accepted: they have no counterpart here and no effect on results;
* a value symgraph cannot honour (``profile_memory=True``, ``optimizer_including=...``) raises a :class:`ValueError` that says what to use instead.

Unknown flags warn, as Theano did.
"""
from __future__ import annotations

import configparser as _ini
import os
import warnings
from typing import Callable, Dict, Optional, Tuple

from symgraph.config import FlagChanges
from symgraph.config import config as _core

_BOOL = {"true": True, "1": True, "yes": True, "on": True,
         "false": False, "0": False, "no": False, "off": False}


def _bool(value) -> bool:
    if isinstance(value, bool):
        return value
    key = str(value).strip().lower()
    if key not in _BOOL:
        raise ValueError(f"expected a boolean (True/False), got {value!r}")
    return _BOOL[key]


def _choice(*allowed) -> Callable:
    def check(value):
        if value not in allowed:
            raise ValueError(f"expected one of {list(allowed)}, got {value!r}")
        return value
    return check


def _refuse_unless(default, why: str, parse=str) -> Callable:
    """A flag whose only honoured value is ``default``."""
    def check(value):
        value = parse(value)
        if value != default:
            raise ValueError(f"{value!r} is not supported: {why}")
        return value
    return check


def _device(value) -> str:
    value = str(value)
    if value == "cpu" or value.startswith(("cuda", "gpu", "opencl")):
        return value
    raise ValueError(f"expected 'cpu', 'cuda*' or 'gpu*', got {value!r}")


def _check_device() -> None:
    """A GPU device: an error with ``force_device``, else a warning and the CPU (Theano also
    fell back to the CPU when it could not use the GPU)."""
    device = str(_FLAGS.get("device", "cpu"))
    if device == "cpu":
        return
    if _FLAGS.get("force_device", False):
        raise ValueError(f"device={device} with force_device=True: symgraph runs on the CPU "
                         f"only (there is no GPU back end); use device=cpu")
    warnings.warn(f"device={device}: symgraph has no GPU back end; running on the CPU",
                  stacklevel=3)


_MODES = ("Mode", "FAST_RUN", "FAST_COMPILE", "DebugMode", "DEBUG_MODE", "NanGuardMode",
          "ProfileMode", "PROFILE_MODE", "DebugMode", "NUMBA")
_OPTIMIZERS = ("None", "merge", "fast_compile", "fast_run", "stabilize", "o1", "o2", "o3",
               "o4", "unsafe")

#: name -> (default, parse); parse raises ValueError for values it refuses
KNOWN: Dict[str, Tuple[object, Callable]] = {
    "floatX": ("float64", _choice("float16", "float32", "float64")),
    "mode": ("Mode", _choice(*_MODES)),
    "optimizer": ("o4", _choice(*_OPTIMIZERS)),
    "linker": ("cvm", _choice("cvm", "vm", "py", "c", "c|py", "c|py_nogc", "cvm_nogc",
                              "vm_nogc")),
    "profile": (False, _bool),
    "profile_optimizer": (False, _refuse_unless(
        False, "symgraph's profile times the compiled function, not its rewrites; read "
               "f.compile_time", _bool)),
    "profile_memory": (False, _refuse_unless(
        False, "memory is planned by symgraph's linker and not profiled per node", _bool)),
    "profiling.time_thunks": (True, _bool),
    "profiling.destination": ("stderr", str),
    "profiling.n_ops": (20, int),
    "profiling.n_apply": (20, int),
    "on_unused_input": ("raise", _choice("raise", "warn", "ignore")),
    "compute_test_value": ("off", _choice("off", "ignore", "warn", "raise", "pdb")),
    "compute_test_value_opt": ("off", _choice("off", "ignore", "warn", "raise", "pdb")),
    "device": ("cpu", _device),
    "init_gpu_device": ("", str),
    "force_device": (False, _bool),
    "optimizer_including": ("", _refuse_unless(
        "", "Theano's optimizer tags have no counterpart; choose symgraph's rewrite phases "
            "with symgraph.Mode(phases=...)")),
    "optimizer_excluding": ("", str),
    "optimizer_requiring": ("", _refuse_unless(
        "", "Theano's optimizer tags have no counterpart; choose symgraph's rewrite phases "
            "with symgraph.Mode(phases=...)")),
    "optimizer_verbose": (False, _bool),
    "warn_float64": ("ignore", _refuse_unless(
        "ignore", "symgraph does not watch for float64 variables; check var.dtype")),
    "cast_policy": ("custom", _refuse_unless(
        "custom", "symgraph follows Theano's default casting rules only")),
    "int_division": ("int", _choice("int", "raise", "floatX")),
    "deterministic": ("default", _choice("default", "more")),
    "exception_verbosity": ("low", _choice("low", "high")),
    "allow_gc": (True, _bool),
    "traceback.limit": (8, int),
    "print_active_device": (True, _bool),
    "on_opt_error": ("warn", _choice("warn", "raise", "pdb", "ignore")),
    "on_shape_error": ("warn", _choice("warn", "raise")),
    "check_input": (True, _bool),
    "cycle_detection": ("regular", _choice("regular", "fast")),
    "unpickle_function": (True, _bool),
    "reoptimize_unpickled_function": (False, _bool),
    "openmp": (False, _bool),
    "openmp_elemwise_minsize": (200000, int),
    "cxx": ("", str),
    "base_compiledir": ("", str),
    "compiledir": ("", str),
    "compiledir_format": ("", str),
    "assert_no_cpu_op": ("ignore", _choice("ignore", "warn", "raise", "pdb")),
    "experimental.local_alloc_elemwise": (True, _bool),
    "numpy.seterr_all": ("ignore", str),
    "numpy.seterr_divide": ("None", str),
    "numpy.seterr_over": ("None", str),
    "numpy.seterr_under": ("None", str),
    "numpy.seterr_invalid": ("None", str),
    "scan.allow_gc": (False, _bool),
    "scan.allow_output_prealloc": (True, _bool),
    "scan.debug": (False, _bool),
    "pickle_test_value": (True, _bool),
    "gpuarray.sync": (False, _bool),
    "gpuarray.preallocate": (0.0, float),
    "lib.cnmem": (0.0, float),
}
#: groups of flags of Theano's C and GPU back ends: any name under these is accepted
ACCEPTED_PREFIXES = ("warn.", "blas.", "gcc.", "nvcc.", "dnn.", "cuda.", "gpuarray.",
                     "cmodule.", "lib.", "magma.", "ctc.", "DebugMode.", "NanGuardMode.",
                     "tensor.", "metaopt.", "optdb.", "compile.", "profiling.", "scan.",
                     "mlp.", "conv.", "pycuda.", "dlopen.", "cublas.", "gpuelemwise.")

_FLAGS: Dict[str, object] = {}


def _set(name: str, value, origin: str) -> None:
    if name in KNOWN:
        default, parse = KNOWN[name]
        try:
            value = parse(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"Theano flag {name} ({origin}): {exc}") from None
        _FLAGS[name] = value
        if name == "floatX":
            _core.floatX = value
    elif name.startswith(ACCEPTED_PREFIXES):
        _FLAGS[name] = value
    else:
        warnings.warn(f"Theano does not recognise this flag: {name}", stacklevel=3)


def parse_flags(text: str) -> Dict[str, str]:
    """``'floatX=float32,mode=FAST_RUN'`` -> ``{'floatX': 'float32', 'mode': 'FAST_RUN'}``
    (a flag without ``=`` means True, as in Theano)."""
    out: Dict[str, str] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        if "=" in item:
            key, value = item.split("=", 1)
            out[key.strip()] = value.strip()
        else:
            out[item] = "True"
    return out


def rc_files() -> list:
    """The ``.theanorc`` files read, in order (``$THEANORC``, else ``~/.theanorc`` and
    ``~/.theanorc.txt``)."""
    spec = os.environ.get("THEANORC")
    paths = spec.split(os.pathsep) if spec else ["~/.theanorc", "~/.theanorc.txt"]
    return [os.path.expanduser(p) for p in paths if p]


def parse_rc(path: str) -> Dict[str, str]:
    """Flags of one ``.theanorc`` (``[global]`` keys as they are, other sections as
    ``section.key``)."""
    parser = _ini.ConfigParser(interpolation=None)
    parser.optionxform = str  # flag names are case sensitive (floatX)
    parser.read(path)
    out: Dict[str, str] = {}
    for section in parser.sections():
        for key, value in parser.items(section):
            out[key if section == "global" else f"{section}.{key}"] = value
    return out


def load(environ: Optional[dict] = None) -> None:
    """Read ``.theanorc`` then ``THEANO_FLAGS`` (which wins) into :data:`config`."""
    environ = os.environ if environ is None else environ
    _FLAGS.clear()
    _FLAGS.update({name: default for name, (default, _) in KNOWN.items()})
    _FLAGS["floatX"] = _core.floatX
    for path in rc_files():
        if os.path.isfile(path):
            for key, value in parse_rc(path).items():
                _set(key, value, path)
    for key, value in parse_flags(environ.get("THEANO_FLAGS", "")).items():
        _set(key, value, "THEANO_FLAGS")
    _check_device()


class _Section:
    """``config.warn``, ``config.blas``...: a group of dotted flags."""

    def __init__(self, prefix: str):
        object.__setattr__(self, "_prefix", prefix)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        full = self._prefix + name
        if full in _FLAGS:
            return _FLAGS[full]
        if full in KNOWN:
            return KNOWN[full][0]
        if any(k.startswith(full + ".") for k in list(KNOWN) + list(_FLAGS)) or \
                (self._prefix + name + ".").startswith(ACCEPTED_PREFIXES):
            return _Section(full + ".")
        if self._prefix.startswith(ACCEPTED_PREFIXES):
            return None  # a flag of Theano's back ends that was never set
        raise AttributeError(f"theano.config has no flag {full!r}")

    def __setattr__(self, name: str, value) -> None:
        full = self._prefix + name
        if full in KNOWN or full.startswith(ACCEPTED_PREFIXES):
            _set(full, value, "assignment")
        else:
            _FLAGS[full] = value  # Theano let programs attach their own settings


class TheanoConfig(_Section, FlagChanges):
    """``theano.config``: every flag as an attribute; ``floatX`` is symgraph's own setting."""

    def __init__(self):
        super().__init__("")

    def __getattr__(self, name: str):
        if name == "floatX":
            return _core.floatX
        return super().__getattr__(name)

    def __setattr__(self, name: str, value) -> None:
        super().__setattr__(name, value)

    def __dir__(self):
        return sorted({k.split(".")[0] for k in _FLAGS})


config = TheanoConfig()
change_flags = config.change_flags


def flag(name: str):
    """The current value of flag ``name`` (for the compatibility modules)."""
    if name == "floatX":
        return _core.floatX
    return _FLAGS.get(name, KNOWN[name][0] if name in KNOWN else None)

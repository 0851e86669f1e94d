"""Compiled loops that start without numba: object code cached on disk, loaded by llvmlite.

numba compiles a loop once, from Python source over raw pointers. Its optimised LLVM IR,
reduced to the loop function alone (numba's Python wrapper and runtime helpers are dropped),
becomes object code for this CPU, written to the kernel cache. A later process links that
object with llvmlite's JIT (about a millisecond) and calls it through ctypes, so a warm cache
never imports numba, whose own start-up (import and type registries) costs ~0.4 s here.

The loop must need nothing but C library symbols: every function it still declares is looked
up in the process before the object is written, and linking reports any other missing symbol
as an error. When a loop cannot go this way (it needs numba's runtime, this machine has no
llvmlite, the file is damaged) :func:`loop` returns None and the caller uses numba's own
dispatcher. The ABI called is numba's: ``int32 f(void **ret, void **exc, args...)``, returning
0; the loops compiled here cannot raise (``error_model='numpy'``, no allocation).
"""
from __future__ import annotations

import ctypes
import functools
import hashlib
import itertools
import os
import tempfile
import threading
from typing import Callable, Dict, Optional, Sequence, Tuple

#: bump when the file layout or the way objects are produced changes
FORMAT = 1
_MAGIC = b"symgraph-loop %d\n" % FORMAT

#: argument kinds: ("p", dtype) a pointer to dtype elements, ("s", dtype) a scalar, ("n",) the
#: element count (int64); scalars of these dtypes only
_SCALAR_CTYPES = {"float32": ctypes.c_float, "float64": ctypes.c_double,
                  "int8": ctypes.c_int8, "int16": ctypes.c_int16, "int32": ctypes.c_int32,
                  "int64": ctypes.c_int64, "uint8": ctypes.c_uint8, "uint16": ctypes.c_uint16,
                  "uint32": ctypes.c_uint32, "uint64": ctypes.c_uint64}

Kind = Tuple[str, ...]

_lock = threading.Lock()
_jit = None
#: digest -> (callable, resource tracker, ...); the tracker owns the code: kept alive
_loaded: Dict[str, tuple] = {}
#: JIT library names must be unique in the process (a loop may be linked again, e.g. after
#: its file was replaced)
_serial = itertools.count()


_EMPTY = ctypes.c_char * 0


def pointer(a):
    """A pointer argument to array ``a``'s data: a zero-length ctypes view of its buffer (4x
    cheaper than ``a.ctypes.data``, and it pins the buffer during the call), its address for a
    read-only array."""
    try:
        return _EMPTY.from_buffer(a)
    except TypeError:
        return a.ctypes.data


def supported(kinds: Sequence[Kind]) -> bool:
    """True when every argument kind has a C type here (no bool or complex operands)."""
    return all(k[0] == "n" or k[1] in _SCALAR_CTYPES for k in kinds)


def _llvm():
    """llvmlite's binding layer, when it has what this module uses (its JIT linker and the
    new pass manager), else None."""
    try:
        import llvmlite.binding as llvm
    except ImportError:
        return None
    needed = ("create_lljit_compiler", "JITLibraryBuilder", "create_new_module_pass_manager",
              "create_pass_builder", "create_pipeline_tuning_options")
    return llvm if all(hasattr(llvm, name) for name in needed) else None


@functools.lru_cache(maxsize=None)
def _host_key(llvm) -> str:
    """The machine an object was made for: triple, CPU and its features (read once)."""
    return f"{llvm.get_process_triple()} {llvm.get_host_cpu_name()} " \
           f"{llvm.get_host_cpu_features().flatten()}"


def _digest(source: str, name: str, kinds: Sequence[Kind], llvm) -> str:
    text = f"{FORMAT}\n{_host_key(llvm)}\n{name}\n{kinds!r}\n{source}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def loop(source: str, name: str, kinds: Sequence[Kind], cache_dir: str
         ) -> Optional[Callable[..., int]]:
    """``fn(*args)`` running function ``name`` of ``source`` (Python over pointers, indexed
    ``p[k]``) natively; pointers are passed as :func:`pointer` gives them (or integer
    addresses), scalars as Python numbers. Loaded from ``cache_dir`` when compiled before, else compiled with numba and
    stored. None when the loop cannot run without numba's own dispatcher."""
    if not supported(kinds):
        return None
    llvm = _llvm()
    if llvm is None:
        return None
    digest = _digest(source, name, kinds, llvm)
    with _lock:
        hit = _loaded.get(digest)
        if hit is not None:
            return hit[0]
        path = os.path.join(cache_dir, f"symgraph_loop_{digest}.o")
        entry = _read(path)
        if entry is not None:
            try:
                return _link(digest, *entry, kinds, llvm)
            except Exception:  # a foreign or unlinkable object (LLVM's error): compile again
                pass
        try:
            entry = _compile(source, name, kinds, llvm)
        except Exception:  # numba's own path reports what is wrong with the loop
            entry = None
        if entry is None:
            return None
        _write(path, *entry)
        try:
            return _link(digest, *entry, kinds, llvm)
        except Exception:  # e.g. a symbol LLVM itself introduced is missing: numba's route
            return None


def _read(path: str) -> Optional[Tuple[str, bytes]]:
    """(symbol, object) stored at ``path``; None when missing or not intact (checksummed)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    if not data.startswith(_MAGIC):
        return None
    header, sep, obj = data[len(_MAGIC):].partition(b"\n")
    symbol, _, checksum = header.partition(b" ")
    if not sep or hashlib.sha256(obj).hexdigest().encode() != checksum:
        return None
    return symbol.decode(), obj


def _write(path: str, symbol: str, obj: bytes) -> None:
    header = b"%s %s\n" % (symbol.encode(), hashlib.sha256(obj).hexdigest().encode())
    try:
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(_MAGIC + header + obj)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache: the loop still runs, the next process compiles again


def _link(digest: str, symbol: str, obj: bytes, kinds, llvm) -> Callable[..., int]:
    global _jit
    if _jit is None:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        _jit = llvm.create_lljit_compiler()
    tracker = llvm.JITLibraryBuilder().add_object_img(obj).add_current_process() \
        .export_symbol(symbol).link(_jit, f"symgraph_loop_{digest}_{next(_serial)}")
    argtypes = [ctypes.c_int64 if k[0] == "n" else ctypes.c_void_p if k[0] == "p"
                else _SCALAR_CTYPES[k[1]] for k in kinds]
    proto = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, *argtypes)
    raw = proto(tracker[symbol])
    # numba's return and exception slots: never written by these loops, but must be valid
    slots = (ctypes.c_void_p * 2)()
    fn = functools.partial(raw, ctypes.addressof(slots), ctypes.addressof(slots) + 8)
    _loaded[digest] = (fn, tracker, raw, slots)
    return fn


def _resolvable(symbol: str) -> bool:
    """True when the process itself (C and math libraries) defines ``symbol``; numba's own
    helpers are not among them (numba hands their addresses to LLVM, not to the linker)."""
    return hasattr(ctypes.CDLL(None), symbol)


def _compile(source: str, name: str, kinds, llvm) -> Optional[Tuple[str, bytes]]:
    """(symbol, object code) of the loop, or None when it needs more than the C library."""
    from numba import njit, types
    nb = {"p": lambda d: types.CPointer(getattr(types, d)), "s": lambda d: getattr(types, d)}
    sig = types.void(*[types.int64 if k[0] == "n" else nb[k[0]](k[1]) for k in kinds])
    ns: dict = {}  # the source imports what it uses
    exec(compile(source, f"<symgraph loop {name}>", "exec"), ns)
    disp = njit(sig, error_model="numpy", nogil=True, cache=False)(ns[name])
    cres = disp.overloads[sig.args]
    symbol = cres.fndesc.llvm_func_name
    module = llvm.parse_assembly(cres.library.get_llvm_str())
    for fn in module.functions:
        if not fn.is_declaration and fn.name != symbol:
            fn.linkage = "internal"
    for gv in module.global_variables:
        if not gv.is_declaration:
            gv.linkage = "internal"
    tm = llvm.Target.from_default_triple().create_target_machine(
        cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(),
        opt=3, reloc="pic", codemodel="default")
    pm = llvm.create_new_module_pass_manager()
    pm.add_global_dead_code_eliminate_pass()
    pm.add_strip_dead_prototype_pass()
    pm.run(module, llvm.create_pass_builder(tm, llvm.create_pipeline_tuning_options()))
    for fn in module.functions:
        if fn.is_declaration and not fn.name.startswith("llvm.") and not _resolvable(fn.name):
            return None  # e.g. one of numba's runtime helpers
    if any(gv.is_declaration for gv in module.global_variables):
        return None
    return symbol, tm.emit_object(module)

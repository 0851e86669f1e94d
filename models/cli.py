"""What the command lines of ``models`` and ``benchmarks`` share: help, errors, Ctrl-C.

- :class:`Parser`: an ``argparse.ArgumentParser`` whose help shows each option's default once,
  added by :class:`HelpFormatter` (help texts never repeat it; an option whose default is
  computed says so in its help instead), and whose usage errors are one line naming the
  argument, exit status 2.
- :func:`run`: calls a command's body and turns what a user can cause (a
  :class:`CommandError` (the commands turn a refused hyper-parameter into one), missing or
  corrupt data files, an unreadable parameter file, a bad BLAS thread setting, a failed
  write, Ctrl-C) into one line on stderr and an exit
  status: :data:`EXIT_ERROR` for errors, :data:`EXIT_INTERRUPTED` (128 + SIGINT, as a shell
  reports it) for Ctrl-C. Anything else is a bug and keeps its traceback.
- checks of output paths that write nothing, and argparse types with bounds.
"""
from __future__ import annotations

import argparse
import copy
import math
import os
import sys
import textwrap
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence, Union

from models.base import ModelFileError
from models.data import DataError
from models.threads import ThreadsError

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
RESUME_HINT = "interrupted; rerun the same command to resume"

PathLike = Union[str, os.PathLike]


class CommandError(Exception):
    """A mistake in a command's arguments or inputs, reported as one line (no traceback)."""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Appends ``(default: X)`` to an option's help once, unless the default is None (the
    help then says what happens), a flag's False, or the help already shows it; keeps the
    description's and epilog's line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if ("%(default)" in text or not action.option_strings
                or action.default is None or action.default is argparse.SUPPRESS
                or isinstance(action.default, bool)):
            return text
        return text + " (default: %(default)s)"

    def _expand_help(self, action: argparse.Action) -> str:
        if isinstance(action.default, (list, tuple)):  # nargs="+": as it is typed
            action = copy.copy(action)
            action.default = " ".join(map(str, action.default))
        return super()._expand_help(action)


class Parser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` with :class:`HelpFormatter` and one-line usage errors.

    ``description`` is plain text, wrapped here paragraph by paragraph; ``epilog`` is printed
    as written (tables keep their columns).
    """

    def __init__(self, prog: str, description: str, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        text = "\n\n".join(textwrap.fill(" ".join(par.split()), 88)
                           for par in description.split("\n\n"))
        super().__init__(prog=prog, description=text, **kwargs)

    def error(self, message: str):
        self.exit(EXIT_ERROR, f"error: {message} (see {self.prog} --help)\n")


def bounded(kind: Callable[[str], Union[int, float]], low: Optional[float] = None,
            high: Optional[float] = None, what: str = "") -> Callable[[str], Union[int, float]]:
    """An argparse ``type``: ``kind(text)`` within [``low``, ``high``] (either may be None),
    else a one-line error saying what was expected (argparse adds the option's name)."""
    noun = what or ("an integer" if kind is int else "a number")
    limits = [f">= {low:g}" if low is not None else "", f"<= {high:g}" if high is not None
              else ""]
    expected = " ".join([noun] + [" and ".join(x for x in limits if x)]).strip()

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or (isinstance(value, float) and not math.isfinite(value)) \
                or (low is not None and value < low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value
    parse.__name__ = getattr(kind, "__name__", "value")
    return parse


def check_output_dir(path: PathLike, flag: str = "--out") -> Path:
    """``path`` as a folder this process can create or write into, without writing anything;
    :class:`CommandError` naming ``flag`` otherwise."""
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            raise CommandError(f"{flag} {path}: exists and is not a folder")
        if not os.access(path, os.W_OK | os.X_OK):
            raise CommandError(f"{flag} {path}: the folder is not writable")
        return path
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise CommandError(f"{flag} {path}: cannot be created, {parent} is a file")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise CommandError(f"{flag} {path}: cannot be created, {parent} is not writable")
    return path


def check_output_file(path: PathLike, flag: str) -> Path:
    """``path`` as a file this process can write (its folder exists and is writable, and it
    is not a folder), without writing anything; :class:`CommandError` naming ``flag``."""
    path = Path(path)
    if path.is_dir():
        raise CommandError(f"{flag} {path}: is a folder, expected a file name")
    folder = path.absolute().parent
    if not folder.is_dir():
        raise CommandError(f"{flag} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or \
            (path.exists() and not os.access(path, os.W_OK)):
        raise CommandError(f"{flag} {path}: not writable")
    return path


def learning_rates() -> Dict[str, float]:
    """Each registered optimizer's default learning rate, by name."""
    import optimizers
    return {name: optimizers.get(name).lr for name in optimizers.names()}


def learning_rates_text() -> str:
    """``sgd 0.01, momentum 0.01, ...``: the default learning rates, for help texts."""
    return ", ".join(f"{name} {lr:g}" for name, lr in learning_rates().items())


def parse_learning_rates(text: Optional[str], names: Sequence[str], flag: str = "--lr"
                         ) -> Dict[str, float]:
    """``--lr`` as a learning rate per optimizer of ``names``: ``'0.1'`` sets all of them,
    ``'sgd=0.1,adam=0.002'`` those named (the others keep their own default). Empty when
    ``text`` is None. :class:`CommandError` naming ``flag`` for a malformed, negative or
    unknown entry."""
    if text is None:
        return {}
    out: Dict[str, float] = {}
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise CommandError(f"{flag}: empty; expected a number or name=number pairs")
    for part in parts:
        name, sep, value = part.rpartition("=")
        name = name.strip().lower()
        try:
            lr = float(value)
        except ValueError:
            raise CommandError(f"{flag}: {part!r} is not a number or name=number") from None
        if not math.isfinite(lr) or lr < 0:
            raise CommandError(f"{flag}: {part!r}: a learning rate must be a finite number "
                               f">= 0 (a negative rate climbs the cost)")
        targets = [name] if sep else list(names)
        for target in targets:
            if target not in names:
                raise CommandError(f"{flag}: {target!r} is not among the optimizers run "
                                   f"({', '.join(names)})")
            if target in out:
                raise CommandError(f"{flag}: sets the rate of {target} twice")
            out[target] = lr
    return out


def run(body: Callable[[], int], resumable: bool = False,
        interrupted: Optional[Callable[[], str]] = None) -> int:
    """``body()``'s exit status, with user errors and Ctrl-C turned into one line on stderr.

    Returns :data:`EXIT_ERROR` after ``error: <message>`` for a :class:`CommandError`, a
    :class:`models.data.DataError`, a :class:`models.base.ModelFileError`, a bad BLAS thread
    setting or an ``OSError`` (a failed read or write, naming the file), and
    :data:`EXIT_INTERRUPTED` for Ctrl-C after the line ``interrupted()`` returns, else
    ``interrupted`` (with how to resume when ``resumable``).
    """
    try:
        return body()
    except KeyboardInterrupt:
        message = RESUME_HINT if resumable else "interrupted"
        if interrupted is not None:
            message = interrupted()
        print(message, file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except (CommandError, DataError, ModelFileError, ThreadsError) as exc:
        return _error(str(exc))
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        return _error(f"{exc.strerror or exc}{where}")


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr, flush=True)
    return EXIT_ERROR

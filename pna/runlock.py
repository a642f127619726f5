"""Atomic, locked output folders: readers see a whole run or none, and one process writes at a time.

A run writes into ``<out>.tmp-<pid>`` beside ``<out>`` and swaps it in only once complete
(:func:`atomic_output`); ``<out>.lock`` beside the folder keeps a second process out
(:func:`output_lock`). Ctrl-C and SIGTERM (which the CLI turns into :class:`Interrupted`)
unwind through ``finally`` blocks, so the temporary folder and the lock are removed and the
previous outputs are untouched. Only the standard library and :mod:`pna.errors` are used, so
any layer may rely on it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import signal
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from .errors import PnaError

__all__ = ["Interrupted", "OutputError", "lock_path", "output_lock", "atomic_output", "scratch_output",
           "raise_on_signal"]

log = logging.getLogger("pna")

#: What a folder written by earlier pna versions (or ``pna assess``) may hold without ``run.json``.
_PNA_ONLY = frozenset({"assessments", "rasters"})


class Interrupted(KeyboardInterrupt):
    """A run stopped by a signal: ``code`` is the exit status (128 + signal number), ``message`` one line.

    A :class:`KeyboardInterrupt` subclass, so code that handles Ctrl-C handles SIGTERM too.
    """

    def __init__(self, code: int = 128 + signal.SIGINT, message: str = "interrupted"):
        super().__init__(message)
        self.code, self.message = code, message


class OutputError(PnaError):
    """The output folder cannot be created, written or replaced, or another process holds its lock."""


def raise_on_signal(signum: int, frame: FrameType | None) -> None:
    """Signal handler raising :class:`Interrupted` with exit code ``128 + signum`` (install it for SIGTERM).

    Raises
    ------
    Interrupted
        Always.
    """
    raise Interrupted(128 + signum, "terminated" if signum == signal.SIGTERM else "interrupted")


def _interrupted(exc: BaseException, detail: str) -> Interrupted:
    code = exc.code if isinstance(exc, Interrupted) else 128 + signal.SIGINT
    return Interrupted(code, f"{'terminated' if code == 128 + signal.SIGTERM else 'interrupted'}; {detail}")


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, then deliver the first one through its usual handler.

    Renames and clean-up must not stop half way; Python runs signal handlers in the main thread
    only, so elsewhere there is nothing to hold.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in saved:
        signal.signal(s, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)
        if pending:
            signal.raise_signal(pending[0])


def _sibling(out: Path, kind: str, pid: int | None = None) -> Path:
    return out.with_name(f"{out.name}.{kind}-{os.getpid() if pid is None else pid}")


def lock_path(out: Path) -> Path:
    """The lock file of output folder ``out``: ``<out>.lock`` beside it."""
    out = _real(out)
    return out.with_name(out.name + ".lock")


def _real(out: Path) -> Path:
    out = Path(out).absolute()
    # a link to the folder: swap the folder it points to, beside it, and keep the link
    return out.resolve() if out.is_symlink() else out


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


def _prepare_parent(out: Path) -> Path:
    out = _real(out)
    if out.name in ("", ".", ".."):
        raise OutputError(f"{out}: not usable as an output folder (name it, e.g. outputs/leicester)")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = next((a for a in out.parents if a.exists() and not a.is_dir()), None)
        why = f"{blocker} is a file" if blocker is not None else exc.strerror or str(exc)
        raise OutputError(f"{out}: cannot create the output folder ({why})") from None
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder")
    return out


def _read_pid(fd: int) -> int | None:
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 64).decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None


def _acquire(path: Path, out: Path) -> int:
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputError(f"{path}: cannot create the lock file ({exc.strerror or exc})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _read_pid(fd) or "unknown"
            os.close(fd)
            if isinstance(exc, BlockingIOError):
                raise OutputError(f"{out} is in use by another pna process (pid {holder}, lock {path}); "
                                  "wait for it to finish or stop it") from None
            raise OutputError(f"{path}: cannot lock ({exc.strerror or exc})") from None
        # the previous holder may have unlinked the file between our open and flock: lock the new one
        try:
            current = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            current = False
        if not current:
            os.close(fd)
            continue
        old = _read_pid(fd)
        if old is not None:
            # the flock, not the pid, says who holds it: a killed process drops it, a reused pid does not matter
            log.info(f"taking over the stale lock {path} (pid {old} no longer holds it)")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return fd


def _sweep(out: Path) -> None:
    """Remove what killed runs left beside ``out``; restore the previous run if a kill came between the renames."""
    leftovers = sorted(p for p in out.parent.iterdir()
                       if any(p.name.startswith(f"{out.name}.{k}-") and p.name.rpartition("-")[2].isdigit()
                              for k in ("tmp", "old")))
    old = [p for p in leftovers if ".old-" in p.name[len(out.name):]]
    if old and not out.exists():
        back = max(old, key=lambda p: p.stat().st_mtime)
        log.info(f"restoring the previous outputs {out} from {back.name} (an earlier run was killed while swapping)")
        os.rename(back, out)
        leftovers.remove(back)
    for p in leftovers:
        log.info(f"removing {p}, left by a run that was killed")
        _remove(p)


@contextmanager
def output_lock(out: Path) -> Iterator[Path]:
    """Hold ``<out>.lock`` (``flock``, with this process's pid inside) while the block runs.

    The lock file is removed afterwards. A lock file that no live process holds (its run was
    killed) is taken over, with an info message; so are ``.tmp-``/``.old-`` folders such runs
    left beside ``out`` (removed, or restored if ``out`` itself is missing). Yields the lock path.

    Raises
    ------
    OutputError
        If the parent of ``out`` cannot be created, ``out`` is a file, or another process holds the lock.
    """
    out = _prepare_parent(out)
    path = lock_path(out)
    fd = _acquire(path, out)
    try:
        _sweep(out)
        yield path
    finally:
        with _signals_deferred():
            try:
                if os.stat(path).st_ino == os.fstat(fd).st_ino:
                    os.unlink(path)   # before unlocking, so nobody locks a file that is about to vanish
            except OSError:
                pass
            os.close(fd)


def _fresh(path: Path) -> Path:
    if path.exists() or path.is_symlink():   # a pid reused after a killed run
        _remove(path)
    try:
        path.mkdir()
    except OSError as exc:
        raise OutputError(f"{path}: cannot create the output folder ({exc.strerror or exc})") from None
    return path


def _check_replaceable(out: Path, keep: Iterable[Path]) -> None:
    """Refuse to replace a folder that is not pna outputs, or that holds ``keep`` (the project, the data)."""
    for k in (Path.cwd(), Path.home(), *keep):
        k = Path(k).absolute()
        if k == out or k.is_relative_to(out):
            raise OutputError(f"{out}: refusing to use as the output folder, since each run replaces it "
                              f"whole and it holds {k}")
    if out.is_dir() and not (out / "run.json").is_file():
        foreign = sorted(p.name for p in out.iterdir() if p.name not in _PNA_ONLY)
        if foreign:
            raise OutputError(f"{out}: exists and holds files that are not pna outputs (e.g. {foreign[0]}); "
                              "each run replaces the folder whole, so remove it or choose another --output-dir")


@contextmanager
def atomic_output(out: Path, *, keep: Iterable[Path] = ()) -> Iterator[Path]:
    """Yield an empty folder beside ``out``; if the block completes, it replaces ``out`` whole.

    So ``out`` holds the previous complete run or the new one, never a mix, and nothing an
    earlier run wrote survives. If the block raises or is interrupted, the folder is removed
    and ``out`` is untouched. Hold :func:`output_lock` around it.

    Parameters
    ----------
    out
        The output folder (need not exist).
    keep
        Folders that must never be replaced (the project, the data): ``out`` may not be or hold one.
        The current and home folders are always kept.

    Raises
    ------
    OutputError
        If ``out`` holds a kept folder or files that are not pna outputs, or cannot be written or replaced.
    Interrupted
        On Ctrl-C or SIGTERM in the block, with a message saying the previous outputs are unchanged.
    """
    out = _prepare_parent(out)
    _check_replaceable(out, keep)
    existed = out.exists()
    tmp = _fresh(_sibling(out, "tmp"))
    try:
        yield tmp
    except BaseException as exc:
        stop = exc if isinstance(exc, KeyboardInterrupt) else None
        try:
            with _signals_deferred():
                shutil.rmtree(tmp, ignore_errors=True)
        except KeyboardInterrupt as again:   # a signal held during the clean-up
            stop = again
        if stop is not None:
            left = f"the previous outputs in {out} are unchanged" if existed else f"nothing was written to {out}"
            raise _interrupted(stop, left) from None
        raise
    try:
        _swap(tmp, out)
    except KeyboardInterrupt as exc:   # held during the swap, delivered once it is done
        raise _interrupted(exc, f"the run had finished: the new outputs in {out} are complete") from None


def _swap(tmp: Path, out: Path) -> None:
    with _signals_deferred():
        old = None
        try:
            if out.exists():
                old = _sibling(out, "old")
                _remove(old)
                os.rename(out, old)
            # between these two renames out is briefly absent: readers see the previous run or
            # nothing, never a mix (acceptable; a kill here is repaired by the next run's sweep)
            try:
                os.rename(tmp, out)
            except OSError:
                if old is not None:
                    os.rename(old, out)
                raise
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise OutputError(f"{out}: cannot replace the output folder ({exc.strerror or exc})") from None
        if old is not None:
            _remove(old)


@contextmanager
def scratch_output(out: Path) -> Iterator[Path]:
    """Yield an empty folder beside ``out`` for files a command needs only while it runs; always removed.

    Raises
    ------
    OutputError
        If the folder cannot be created.
    """
    tmp = _fresh(_sibling(_prepare_parent(out), "tmp"))
    try:
        yield tmp
    finally:
        with _signals_deferred():
            shutil.rmtree(tmp, ignore_errors=True)

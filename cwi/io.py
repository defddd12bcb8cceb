"""Writing outputs so that nothing is lost: atomic files, swapped folders, one build at a time.

- :func:`atomic_path` / :func:`write_bytes` / :func:`write_text` / :func:`write_csv`: every output
  file is written to a temporary file in the same folder, flushed to disk (``fsync``) and renamed
  over the old one (``os.replace``). A crash, a kill or a full disk leaves either the old file or
  the new one, never a truncated file that looks valid.
- :func:`staging_dir` + :func:`swap_in`: a folder (the results store, the site, the PDFs) is built
  beside its target and exchanged with it in one step (``renameat2(RENAME_EXCHANGE)`` on Linux),
  so readers see the old folder or the new one, never a mixture.
- :class:`BuildLock`: a second build of the same project refuses to start while one runs; the lock
  is an ``flock`` that the kernel releases when its process dies, so a stale lock file never
  blocks anyone.
- :func:`worker_pool`: process pools whose workers die with the build (``PR_SET_PDEATHSIG``).
- :func:`remove_tree`: deletes a folder only inside the folders a build owns.
- :func:`load_yaml`: the one YAML reader of settings, page front matter and variables (libyaml's
  C parser when PyYAML was built with it: the same safe subset, about 15 times faster).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

STAGING_PREFIX = ".cwi-staging-"
RETIRED_PREFIX = ".cwi-retired-"


class OutputError(RuntimeError):
    """An output cannot be written or replaced safely; the message says what was kept."""


# ---- YAML -------------------------------------------------------------------------------------


def load_yaml(text: str) -> Any:
    """Parse YAML ``text`` with the safe loader (libyaml's C one when available).

    Same tags and results as ``yaml.safe_load``; raises ``yaml.YAMLError`` on bad YAML.
    """
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader, C or Python


# ---- atomic files -----------------------------------------------------------------------------


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically.

    Parameters
    ----------
    path : Path or str
        The final file.

    Yields
    ------
    Path
        Where to write (same folder, hidden name). Any exception, including a full disk, removes
        it and leaves ``path`` as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with tmp.open("rb+") as handle:
            os.fsync(handle.fileno())
        tmp.chmod(0o644)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


@contextlib.contextmanager
def atomic_open(path: Path | str, mode: str = "wb", **kwargs: Any) -> Iterator[BinaryIO]:
    """Open a temporary file beside ``path`` for writing; rename it over ``path`` on success."""
    with atomic_path(path) as tmp, tmp.open(mode, **kwargs) as handle:
        yield handle


def write_bytes(path: Path | str, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def write_text(path: Path | str, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically."""
    return write_bytes(path, text.encode(encoding))


def write_csv(frame: Any, path: Path | str, **kwargs: Any) -> Path:
    """Write a data frame as CSV atomically (``kwargs`` go to :meth:`DataFrame.to_csv`)."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, **kwargs)
    return Path(path)


def write_parquet(frame: Any, path: Path | str, **kwargs: Any) -> Path:
    """Write a data frame as parquet atomically."""
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, **kwargs)
    return Path(path)


# ---- folders ----------------------------------------------------------------------------------


def staging_dir(target: Path | str, where: Path | str | None = None) -> Path:
    """A new empty folder to build the replacement of ``target`` in.

    Parameters
    ----------
    target : Path or str
        The folder that will be replaced.
    where : Path or str, optional
        Parent of the staging folder (default: beside ``target``). Use a folder outside anything
        published (e.g. the build folder) when ``target`` lives inside the site; it must be on
        the same file system, else the staging folder goes beside ``target``.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    parent = Path(where) if where is not None else target.parent
    parent.mkdir(parents=True, exist_ok=True)
    if parent.stat().st_dev != target.parent.stat().st_dev:
        parent = target.parent
    path = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{target.name}-", dir=parent))
    path.chmod(0o755)  # as a plain mkdir would make it: the site is served from it
    return path


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically with ``renameat2(RENAME_EXCHANGE)``; False if unsupported."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    fn = getattr(libc, "renameat2", None)
    if fn is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(a))


def swap_in(staged: Path | str, target: Path | str) -> None:
    """Put the finished folder ``staged`` in place of ``target`` and delete the old one.

    The exchange is one atomic step where the kernel supports it; otherwise two renames, and
    :func:`recover` puts the old folder back if a kill falls between them.
    """
    staged, target = Path(staged), Path(target)
    if not target.exists():
        staged.replace(target)
    elif _exchange(staged, target):
        retired = staged.with_name(f"{RETIRED_PREFIX}{target.name}-{os.getpid()}")
        staged.replace(retired)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        retired = target.with_name(f"{RETIRED_PREFIX}{target.name}-{os.getpid()}")
        target.replace(retired)
        staged.replace(target)
        shutil.rmtree(retired, ignore_errors=True)
    _fsync_dir(target.parent)


def recover(target: Path | str, where: Path | str | None = None) -> list[str]:
    """Clean up after a build killed while replacing ``target``; return what was done.

    A retired copy is moved back when ``target`` is missing (a kill between two renames); stale
    staging folders (from killed builds) are deleted. Only folders with this module's prefixes,
    beside ``target`` or in ``where``, are touched.
    """
    target = Path(target)
    done: list[str] = []
    folders = dict.fromkeys(p for p in (target.parent, Path(where) if where else None) if p)
    for folder in folders:
        if not folder.is_dir():
            continue
        for old in sorted(folder.glob(f"{RETIRED_PREFIX}{target.name}-*")):
            if not target.exists():
                old.replace(target)
                done.append(f"restored {target} from an interrupted swap")
            else:
                shutil.rmtree(old, ignore_errors=True)
        for stale in sorted(folder.glob(f"{STAGING_PREFIX}{target.name}-*")):
            shutil.rmtree(stale, ignore_errors=True)
            done.append(f"removed {stale.name} left by an interrupted build")
    return done


def remove_tree(path: Path | str, owned: Sequence[Path | str]) -> None:
    """Delete the folder ``path`` only if it lies strictly inside one of the ``owned`` folders.

    Raises
    ------
    OutputError
        If ``path`` is not inside an owned folder (a mistyped setting must never erase data).
    """
    path = Path(path).resolve()
    roots = [Path(o).resolve() for o in owned]
    if not any(path != r and path.is_relative_to(r) for r in roots):
        raise OutputError(
            f"Refusing to delete {path}: it is not inside a folder the build owns "
            f"({', '.join(str(r) for r in roots)})."
        )
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


# ---- one build at a time ----------------------------------------------------------------------


class BuildLockError(RuntimeError):
    """Another build of this project is running."""


class BuildLock:
    """An exclusive, non-blocking lock on ``<folder>/.cwi-build.lock`` for one build.

    The lock is ``fcntl.flock`` on an open file: the kernel drops it when the holding process
    ends, however it ends, so a lock file left by a killed build is simply taken over.
    """

    def __init__(self, folder: Path | str) -> None:
        self.path = Path(folder) / ".cwi-build.lock"
        self._fd: int | None = None

    def acquire(self) -> BuildLock:
        """Take the lock or raise :class:`BuildLockError` naming the running build."""
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "unknown"
            os.close(fd)
            raise BuildLockError(
                f"Another cwi build is running on this project ({holder}). Wait for it to finish; "
                f"the lock ({self.path}) is released as soon as that process ends."
            ) from None
        os.ftruncate(fd, 0)
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        os.pwrite(fd, f"pid {os.getpid()}, started {stamp}".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        """Release the lock (also released by the kernel if the process dies)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> BuildLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


# ---- workers that end with the build ----------------------------------------------------------


def _die_with_parent(parent: int) -> None:
    """Worker initializer: ask the kernel to kill this worker when the build process dies."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def worker_pool(max_workers: int, mp_context: Any = None) -> ProcessPoolExecutor:
    """A process pool whose workers are killed when the process that made it dies."""
    return ProcessPoolExecutor(
        max_workers=max_workers,
        mp_context=mp_context,
        initializer=_die_with_parent,
        initargs=(os.getpid(),),
    )

"""Write files atomically: a temporary file beside the target, then a rename.

The file gets the mode any file the user writes gets (0666 less the umask): mkstemp creates the
temporary file 0600, which would leave reports and the capture script unreadable to a CI artifact
publisher running as another user.

A target that exists and is not a regular file (`/dev/null`, `/dev/stdout`, a FIFO, `/dev/full`) is
written in place: renaming a temporary file over it would replace the device node itself (as root,
`--format json:/dev/null` turned /dev/null into a regular file; issue #18).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path


def umask() -> int:
    """The process umask (reading it means setting it: set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _follow_umask(fd: int) -> None:
    if hasattr(os, "fchmod"):  # not on Windows, where mkstemp's mode is not a POSIX mode anyway
        os.fchmod(fd, 0o666 & ~umask())


def special(path: str | os.PathLike[str]) -> bool:
    """Whether `path` exists (links followed) and is neither a regular file nor a folder: a device,
    a FIFO or a socket, written in place."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def file_kind(mode: int) -> str:
    """What a file that is neither regular nor a folder is, for an error message ("a FIFO")."""
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _write_in_place(path: str | os.PathLike[str], chunks: Iterable[bytes]) -> None:
    with _naming(path), open(path, "wb") as fh:
        for chunk in chunks:
            fh.write(chunk)


@contextlib.contextmanager
def _naming(path: str | os.PathLike[str]) -> Iterator[None]:
    """An OSError while writing (a full disk: ENOSPC) names the file the user asked for, not none."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None and exc.errno is not None:
            raise OSError(exc.errno, exc.strerror, os.fspath(path)) from None
        raise


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    if special(path):
        _write_in_place(path, (data,))
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        _follow_umask(fd)
        with _naming(target), os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: str | os.PathLike[str], text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_chunks(path: str | os.PathLike[str], chunks: Iterable[bytes]) -> None:
    """Like write_bytes, for content produced piece by piece (a snapshot too large to hold at once)."""
    if special(path):
        _write_in_place(path, chunks)
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        _follow_umask(fd)
        with _naming(target), os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def fill(tmp: str, target: str | os.PathLike[str], data: bytes | Iterable[bytes | memoryview]) -> None:
    """Write a file staged by Batch.reserve (an error names `target`, the file the user asked for):
    `data` whole, or its pieces as they come."""
    with _naming(target), open(tmp, "wb") as fh:
        if isinstance(data, bytes | bytearray | memoryview):
            fh.write(data)
        else:
            fh.writelines(data)
        fh.flush()
        os.fsync(fh.fileno())


class Batch:
    """Several files written as one: each to a temporary file beside its target, then all renamed at
    the end, so an interrupted run (Ctrl-C, SIGTERM, a full disk) leaves every old file in place and
    no temporary file behind, never new SARIF beside old JSON.

        with atomic.Batch() as batch:
            batch.write_text("a.sarif", sarif)
            batch.write_text("b.xml", junit)
    """

    def __init__(self) -> None:
        self.staged: list[tuple[str, Path]] = []
        self.in_place: list[tuple[str | os.PathLike[str], bytes]] = []  # devices and FIFOs, written last

    def write_text(self, path: str | os.PathLike[str], text: str) -> None:
        self.write_bytes(path, text.encode("utf-8"))

    def write_bytes(self, path: str | os.PathLike[str], data: bytes) -> None:
        tmp = self.reserve(path)
        if tmp is None:
            self.in_place.append((path, data))
        else:
            fill(tmp, path, data)

    def reserve(self, path: str | os.PathLike[str]) -> str | None:
        """Stage an empty temporary file for `path` now and return its name, for `fill` to write later
        (in a forked renderer, say: the batch knows every temporary file, whoever writes it). None for
        a device or FIFO: give its data to write_bytes, which writes it in place at the end."""
        if special(path):
            return None
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        self.staged.append((tmp, target))
        try:
            _follow_umask(fd)
        finally:
            os.close(fd)
        return tmp

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        try:
            if kind is None:
                # Devices first: /dev/full failing leaves every regular file as it was.
                for path, data in self.in_place:
                    _write_in_place(path, (data,))
                for tmp, target in self.staged:
                    os.replace(tmp, target)
        finally:
            for tmp, _target in self.staged:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)

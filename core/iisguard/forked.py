"""Work dealt out to forked processes, results back in order; whatever a child fails at is done here.

Forked after a large snapshot is loaded (or its report built), a child shares every object of this
process copy-on-write: nothing is pickled on the way in, nothing re-read or re-parsed. Every
process takes items from one queue as it is free and a child hands its results back pickled in a
temporary file. Fork only (Linux: macOS forks unsafely with system frameworks, Windows
does not fork): elsewhere everything runs here, in order, as it would without this module.
"""

from __future__ import annotations

import os
import pickle
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def can_fork() -> bool:
    """Whether work can go to forked processes here: on Linux, from a process with one thread (a child
    forked from a threaded program, say a web service that calls iisguard, inherits the locks other
    threads held, never released there; Python 3.12 warns of it)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork") and threading.active_count() == 1


def forked_map(
    func: Callable[[T], R],
    items: Sequence[T],
    *,
    workers: int,
    here: Callable[[T], R] | None = None,
    send: Callable[[R], Any] | None = None,
    receive: Callable[[Any], R] | None = None,
) -> list[R]:
    """``[func(item) for item in items]`` computed by `workers` processes, this one among them.

    The processes take the items one at a time, in order, as each is free (numbers read from one
    pipe: a read of 4 bytes is atomic), so a slow item does not hold back a whole share. `here` is
    what this process calls instead of `func` (say, with a progress display a child must not
    draw). A child hands back ``send(result)`` (plain tuples pickle faster than objects) and this
    process turns it back with `receive`. Whatever a child took and did not bring back (it died,
    raised, or its file cannot be read) is computed here, so an exception is raised here, as it
    would be without forking.
    """
    own = here or func
    workers = min(workers, len(items))
    if workers <= 1 or not can_fork() or len(items) * _WORD > _PIPE_ROOM:
        return [own(item) for item in items]
    queue_in, queue_out = os.pipe()
    children: list[tuple[int, IO[bytes]]] = []
    try:
        os.write(queue_out, b"".join(i.to_bytes(_WORD, "little") for i in range(len(items))))
        os.close(queue_out)
        queue_out = -1
        for _ in range(1, workers):
            children.append(_fork(func, items, queue_in, send))
        results: dict[int, Any] = {i: own(items[i]) for i in _taken(queue_in)}
        while children:
            pid, out = children.pop(0)
            for i, sent in _collect(pid, out) or ():
                results[i] = receive(sent) if receive is not None else sent
        # Taken by a child that did not bring it back: computed here.
        return [results[i] if i in results else own(items[i]) for i in range(len(items))]
    finally:
        for fd in (queue_in, queue_out):
            if fd >= 0:
                os.close(fd)
        for pid, out in children:  # only after an error in this process: stop the others
            _end(pid)
            out.close()


_WORD = 4
_PIPE_ROOM = 60_000  # below the 64 KiB a Linux pipe holds: every number written before the first read


def _taken(queue: int) -> Iterator[int]:
    """The item numbers this process takes from the queue until it is empty."""
    while True:
        word = os.read(queue, _WORD)
        if len(word) < _WORD:
            return
        yield int.from_bytes(word, "little")


def _fork(
    func: Callable[[Any], Any], items: Sequence[Any], queue: int, send: Callable[[Any], Any] | None
) -> tuple[int, IO[bytes]]:
    out = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _collect, or by forked_map on error
    sys.stdout.flush()  # nothing pending in the buffers the child inherits
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: compute, write, and leave without the parent's exit handlers or buffers
        code = 1
        try:
            done = []
            for i in _taken(queue):
                result = func(items[i])
                done.append((i, send(result) if send is not None else result))
            pickle.dump(done, out, protocol=pickle.HIGHEST_PROTOCOL)
            out.flush()
            code = 0
        finally:
            os._exit(code)
    return pid, out


def _collect(pid: int, out: IO[bytes]) -> list[tuple[int, Any]] | None:
    """A child's (item number, result) pairs, or None when it did not end well."""
    try:
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            return None
        out.seek(0)
        got = pickle.load(out)
        return got if isinstance(got, list) else None
    except (OSError, EOFError, pickle.UnpicklingError):
        return None
    finally:
        out.close()


def _end(pid: int) -> None:
    try:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    except OSError:
        pass

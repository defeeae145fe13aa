"""Work dealt out to forked processes, results back in order; whatever a child fails at is done here.

Forked after a large snapshot is loaded (or its report built), a child shares every object of this
process copy-on-write: nothing is pickled on the way in, nothing re-read or re-parsed. Each child
computes its items and hands its results back pickled in a temporary file; this process computes
its own share meanwhile. Fork only (Linux: macOS forks unsafely with system frameworks, Windows
does not fork): elsewhere everything runs here, in order, as it would without this module.
"""

from __future__ import annotations

import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Sequence
from typing import IO, Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def can_fork() -> bool:
    """Whether work can go to forked processes here."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def forked_map(
    func: Callable[[T], R],
    items: Sequence[T],
    *,
    workers: int,
    here: Callable[[T], R] | None = None,
    send: Callable[[R], Any] | None = None,
    receive: Callable[[Any], R] | None = None,
) -> list[R]:
    """``[func(item) for item in items]``, item k computed by process k % workers (this one is 0).

    `here` is what this process calls instead of `func` (say, with a progress display a child must
    not draw). A child hands back ``send(result)`` (plain tuples pickle faster than objects) and this
    process turns it back with `receive`. A child that dies, raises or cannot be read has its items
    computed here, so an exception is raised here, as it would be without forking.
    """
    own = here or func
    workers = min(workers, len(items))
    if workers <= 1 or not can_fork():
        return [own(item) for item in items]
    children: list[tuple[int, IO[bytes], list[int]]] = []
    try:
        for k in range(1, workers):
            children.append(_fork(func, items, list(range(k, len(items), workers)), send))
        results: list[Any] = [None] * len(items)
        for i in range(0, len(items), workers):
            results[i] = own(items[i])
        while children:
            pid, out, indexes = children.pop(0)
            got = _collect(pid, out, len(indexes))
            for n, i in enumerate(indexes):
                if got is None:
                    results[i] = own(items[i])
                else:
                    results[i] = receive(got[n]) if receive is not None else got[n]
        return results
    finally:
        for pid, out, _ in children:  # only after an error in this process: stop the others
            _end(pid)
            out.close()


def _fork(
    func: Callable[[Any], Any], items: Sequence[Any], indexes: list[int], send: Callable[[Any], Any] | None
) -> tuple[int, IO[bytes], list[int]]:
    out = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _collect, or by forked_map on error
    sys.stdout.flush()  # nothing pending in the buffers the child inherits
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: compute, write, and leave without the parent's exit handlers or buffers
        code = 1
        try:
            results = [func(items[i]) for i in indexes]
            pickle.dump(
                [send(r) for r in results] if send else results, out, protocol=pickle.HIGHEST_PROTOCOL
            )
            out.flush()
            code = 0
        finally:
            os._exit(code)
    return pid, out, indexes


def _collect(pid: int, out: IO[bytes], count: int) -> list[Any] | None:
    """A child's results, or None when it did not end well."""
    try:
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            return None
        out.seek(0)
        got = pickle.load(out)
        return got if isinstance(got, list) and len(got) == count else None
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

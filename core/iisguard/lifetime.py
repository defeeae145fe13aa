"""What a process that ends with its command need not free: the command-line program's exit.

Freeing the document of a 5,000-site snapshot (millions of dicts, lists and strings) takes a third of a
second, and the interpreter's teardown then frees the report's 336,000 findings one by one: work the
operating system does at once, and for nothing, when the process ends. So the program (the `iisguard`
command and `python -m iisguard`, see `iisguard.cli.program`) declares `ending()` first; the engine
then hands the last snapshot it evaluated to `keep()` instead of freeing it (a fleet's earlier
snapshots are still freed one by one, so the peak is one snapshot's, as before), and `exit()` ends
the process without the teardown, once its output is flushed (mypy ends the same way).

A library caller (`iisguard.scan`, `iisguard.cli.main` in-process, the tests) never declares it:
every snapshot is freed once its rules ran, and nothing outlives the call.
"""

from __future__ import annotations

import atexit
import os
import sys
from typing import Any

_kept: list[Any] = []
_ending = False


def ending() -> None:
    """Declare that this process ends when its command returns (the program's entry point only)."""
    global _ending
    _ending = True


def keep(obj: Any) -> bool:
    """Keep `obj` until the process ends, if it ends with its command; False (not kept: free it
    now) otherwise."""
    if not _ending:
        return False
    _kept.append(obj)
    return True


def exit(code: int) -> None:  # noqa: A001 - the process's exit, as sys.exit
    """End the process with `code`: standard streams and logging flushed, then no teardown when
    `ending()` was declared (else an ordinary `sys.exit`)."""
    if not _ending:
        sys.exit(code)
    # What the interpreter's exit would run, minus the freeing: atexit handlers (logging's flush, a
    # coverage or peak-memory wrapper around the program) in their order.
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except BrokenPipeError:  # read by `head`, closed early: what was wanted was read
            pass
        except (OSError, ValueError):  # closed or full: the exit code must say so
            code = code or 2
    os._exit(code)

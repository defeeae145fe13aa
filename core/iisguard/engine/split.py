"""One large snapshot's rules shared out among forked processes; the findings as one process gives them.

A 5,000-site host takes seconds of rule time on one CPU while the others idle. Forked after the
snapshot is loaded, each child shares the parsed document (copy-on-write, nothing re-read or
re-parsed), evaluates every `workers`-th rule and hands back its findings as plain tuples in a
temporary file; the parent evaluates the first share meanwhile and puts every rule's findings back
in the order of the selection, so the report is the same whatever the number of processes.

Fork only (Linux): elsewhere, or when a child fails in any way, the rules are evaluated here, in
this process: a share is never lost, and a crashing rule reports exactly as it does serially.
"""

from __future__ import annotations

import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Sequence
from typing import IO, Any

from ..model.snapshot import Snapshot
from .evaluate import Selected, _point, _run_rule
from .findings import Finding

Row = tuple[Any, ...]  # a Finding's fields up to its properties (what the engine sets)


def can_fork() -> bool:
    """Whether shares can go to forked processes here (Linux; macOS forks unsafely with system frameworks)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def findings_by_rule(
    snapshot: Snapshot,
    selected: Sequence[Selected],
    *,
    strict: bool,
    workers: int,
    on_rule: Callable[[Selected], None] | None = None,
) -> list[list[Finding]]:
    """Each selected rule's findings, in selection order, evaluated on up to `workers` processes.

    `on_rule(sel)` is called before each rule this process evaluates (the children report nothing).
    """
    shares = [list(selected[i::workers]) for i in range(max(1, workers))]
    shares = [s for s in shares if s]
    children: list[tuple[int, IO[bytes], list[Selected]]] = []
    try:
        if can_fork():
            for share in shares[1:]:
                children.append(_fork(snapshot, share, strict))
        mine = _evaluate(snapshot, shares[0] if children else list(selected), strict, on_rule)
        order = {id(sel): i for i, sel in enumerate(selected)}
        by_rule: list[list[Finding]] = [[] for _ in selected]
        for sel, found in zip(shares[0] if children else selected, mine, strict=True):
            by_rule[order[id(sel)]] = found
        while children:
            pid, out, share = children.pop(0)
            rows = _collect(pid, out)
            # A child that died (killed, out of memory, a rule that ended it) is redone here.
            found_lists = (
                [[Finding(*row) for row in rule_rows] for rule_rows in rows]
                if rows is not None and len(rows) == len(share)
                else _evaluate(snapshot, share, strict, on_rule)
            )
            for sel, found in zip(share, found_lists, strict=True):
                by_rule[order[id(sel)]] = found
        return by_rule
    finally:
        for pid, out, _ in children:  # only after an error in this process: stop the others
            _end(pid)
            out.close()


def _evaluate(
    snapshot: Snapshot, share: Sequence[Selected], strict: bool, on_rule: Callable[[Selected], None] | None
) -> list[list[Finding]]:
    located: list[tuple[Finding, Any]] = []
    found = []
    for sel in share:
        if on_rule is not None:
            on_rule(sel)
        found.append(_run_rule(snapshot, sel, snapshot.host, strict, located))
    _point(snapshot, located)
    return found


def _fork(snapshot: Snapshot, share: list[Selected], strict: bool) -> tuple[int, IO[bytes], list[Selected]]:
    out = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _collect, or by findings_by_rule on error
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: evaluate, write, and leave without running the parent's exit handlers
        code = 1
        try:
            found = _evaluate(snapshot, share, strict, None)
            rows = [[_row(f) for f in rule] for rule in found]
            pickle.dump(rows, out, protocol=pickle.HIGHEST_PROTOCOL)
            out.flush()
            code = 0
        finally:
            os._exit(code)
    return pid, out, share


def _row(f: Finding) -> Row:
    return (
        f.rule_id,
        f.severity,
        f.outcome,
        f.host,
        f.resource,
        f.message,
        f.pack,
        f.pointer,
        f.evidence,
        f.snapshot_path,
        f.properties,
    )


def _collect(pid: int, out: IO[bytes]) -> list[list[Row]] | None:
    """The child's findings, or None when it did not end well."""
    try:
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            return None
        out.seek(0)
        rows = pickle.load(out)
        return rows if isinstance(rows, list) else None
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

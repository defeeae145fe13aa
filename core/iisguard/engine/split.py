"""One large snapshot's rules shared out among forked processes; the findings as one process gives them.

A 5,000-site host takes seconds of rule time on one CPU while the others idle. Forked after the
snapshot is loaded (iisguard.forked), each child shares the parsed document, evaluates every
`workers`-th rule and hands back its findings as plain tuples; this process evaluates the first
share meanwhile and puts every rule's findings back in the order of the selection, so the report is
the same whatever the number of processes. Where the platform does not fork, or a child fails in
any way, its rules are evaluated here: a share is never lost, and a crashing rule reports exactly
as it does in one process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..forked import forked_map
from ..model.snapshot import Snapshot
from .evaluate import Selected, _point, _run_rule
from .findings import Finding

Row = tuple[Any, ...]  # the Finding fields the engine sets, in order (rule_id ... properties)


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
    shares = [list(selected[i::workers]) for i in range(max(1, min(workers, len(selected))))]
    done = forked_map(
        lambda share: _evaluate(snapshot, share, strict, None),
        shares,
        workers=len(shares),
        here=lambda share: _evaluate(snapshot, share, strict, on_rule),
        send=lambda found: [[_row(f) for f in rule] for rule in found],
        receive=lambda rows: [[Finding(*row) for row in rule] for rule in rows],
    )
    order = {id(sel): i for i, sel in enumerate(selected)}
    by_rule: list[list[Finding]] = [[] for _ in selected]
    for share, found in zip(shares, done, strict=True):
        for sel, rule_findings in zip(share, found, strict=True):
            by_rule[order[id(sel)]] = rule_findings
    return by_rule


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

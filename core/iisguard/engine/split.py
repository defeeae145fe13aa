"""One large snapshot's rules shared out among forked processes; the findings as one process gives them.

A 5,000-site host takes seconds of rule time on one CPU while the others idle. Forked after the
snapshot is loaded (iisguard.forked), each child shares the parsed document, takes rules one at a
time as it is free and hands back their findings as plain tuples; this process takes rules too and
puts every rule's findings back in the order of the selection, so the report is the same whatever
the number of processes. Pointers are found in one walk here, for every process's findings. Where the platform does not fork, or a child fails in
any way, its rules are evaluated here: a share is never lost, and a crashing rule reports exactly
as it does in one process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..forked import forked_map
from ..model.snapshot import Snapshot
from .evaluate import Selected, _run_rule
from .findings import Finding

Row = tuple[Any, ...]  # the Finding fields the engine sets, in order (rule_id ... properties)


def findings_by_rule(
    snapshot: Snapshot,
    selected: Sequence[Selected],
    *,
    strict: bool,
    workers: int,
    on_rule: Callable[[Selected], None] | None = None,
    pass_details: bool = True,
) -> list[list[Finding]]:
    """Each selected rule's findings, in selection order, evaluated on up to `workers` processes.

    `on_rule(sel)` is called before each rule this process evaluates (the children report nothing).
    `pass_details` as in evaluate().
    """
    if workers > 1:  # the indexes the rules share, built once for every process
        snapshot.prepare({section for sel in selected for section in sel.rule.needs})
    asked: list[tuple[Finding, int, Fingerprint]] = []  # the children's: their object's id and fingerprint
    done = forked_map(
        lambda sel: _evaluate(snapshot, sel, strict, pass_details),
        selected,
        workers=workers,
        here=lambda sel: _evaluate(snapshot, sel, strict, pass_details, on_rule),
        send=_send,
        receive=lambda sent: _receive(sent, asked),
    )
    located = [pair for _, pairs in done for pair in pairs]  # this process's, still without a pointer
    # One walk of the document for every process's findings (not one per process).
    where = snapshot.locate({id(at) for _, at in located} | {key for _, key, _ in asked})
    for finding, at in located:
        hit = where.get(id(at))
        if hit is not None:
            _set_pointer(finding, hit[0])
    for finding, key, fingerprint in asked:
        hit = where.get(key)
        # The id of a document object is the same here as in the child (forked, nothing freed);
        # the fingerprint guards against a rule that changed the document there.
        if hit is not None and _fingerprint(hit[1]) == fingerprint:
            _set_pointer(finding, hit[0])
    return [found for found, _ in done]


Evaluated = tuple[list[Finding], list[tuple[Finding, Any]]]  # a rule's findings, those still to point


def _evaluate(
    snapshot: Snapshot,
    sel: Selected,
    strict: bool,
    pass_details: bool,
    on_rule: Callable[[Selected], None] | None = None,
) -> Evaluated:
    if on_rule is not None:
        on_rule(sel)
    located: list[tuple[Finding, Any]] = []
    return _run_rule(snapshot, sel, snapshot.host, strict, located, pass_details), located


Fingerprint = tuple[int, Any]


def _fingerprint(obj: Any) -> Fingerprint:
    try:
        return len(obj), next(iter(obj), None)
    except TypeError:
        return -1, None


def _send(evaluated: Evaluated) -> tuple[list[Row], list[Any]]:
    """A child's findings of one rule as tuples, and for those still without a pointer their object's id."""
    found, located = evaluated
    objects = {id(f): at for f, at in located}
    rows = [_row(f) for f in found]
    ids = [(id(objects[id(f)]), _fingerprint(objects[id(f)])) if id(f) in objects else None for f in found]
    return rows, ids


def _receive(sent: tuple[list[Row], list[Any]], asked: list[tuple[Finding, int, Fingerprint]]) -> Evaluated:
    rows, ids = sent
    found = []
    for row, at in zip(rows, ids, strict=True):
        finding = Finding(*row)
        if at is not None:
            asked.append((finding, at[0], at[1]))
        found.append(finding)
    return found, []


def _set_pointer(finding: Finding, pointer: str) -> None:
    object.__setattr__(finding, "pointer", pointer)  # not yet published: set in place (see evaluate._point)


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

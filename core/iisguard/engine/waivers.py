"""Apply recorded waivers to a report: waived failures stay visible, expired and unused waivers are said.

A waiver covers failures of one rule whose resource key and host match its globs. A failure it
covers keeps its outcome and gains ``Finding.waiver`` (so every reporter can mark it) and stops
gating. A waiver past its expiry date (inclusive, UTC) no longer applies: the failure gates again,
``waiver.expired`` is set so reports can say why, and the report carries a notice. A waiver that
covers nothing in this scan is reported as unused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from .evaluate import Notice, Report
from .findings import Outcome, Waiver
from .policy import WaiverSpec


def apply(report: Report, waivers: Sequence[WaiverSpec], today: date) -> None:
    """Mark covered failures on every host and add notices for expired and unused waivers."""
    by_rule: dict[str, list[WaiverSpec]] = {}
    for w in waivers:
        by_rule.setdefault(w.rule, []).append(w)
    used: dict[WaiverSpec, int] = {}
    fail = Outcome.FAIL
    for host in report.hosts if by_rule else ():  # no waiver: no need to look at 336,000 findings
        findings = host.findings
        for i, f in enumerate(findings):
            if f.outcome is not fail or f.rule_id not in by_rule:
                continue
            candidates = [w for w in by_rule.get(f.rule_id, ()) if w.covers(f.rule_id, f.host, f.resource)]
            if not candidates:
                continue
            # A live waiver wins over an expired one; among equals the first written wins.
            live = [w for w in candidates if w.expires >= today]
            chosen = (live or candidates)[0]
            used[chosen] = used.get(chosen, 0) + 1
            expired = chosen.expires < today
            findings[i] = replace(
                f,
                waiver=Waiver(
                    reason=chosen.reason,
                    owner=chosen.owner,
                    expires=chosen.expires.isoformat(),
                    source=chosen.source,
                    expired=expired,
                ),
            )
    ran = set(report.rules)
    for w in waivers:
        count = used.get(w, 0)
        if w.expires < today:
            what = f"{count} failure(s) it covered gate again" if count else "it matched nothing in this scan"
            report.notices.append(
                Notice(
                    "warning",
                    f"{w.label()} expired on {w.expires} (owner {w.owner}): {what}",
                    "waiver-expired",
                )
            )
        elif not count:
            why = "" if w.rule in ran else f"; {w.rule} did not run"
            report.notices.append(
                Notice("warning", f"{w.label()} is unused: it matched no failure{why}", "waiver-unused")
            )

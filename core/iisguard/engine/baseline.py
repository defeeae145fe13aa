"""Compare a scan with a previous SARIF run: failures already known do not gate, fixed ones are reported.

The previous run's ``partialFingerprints`` identify each failure by rule, host and resource (never
by message or line), so a new problem on another pool is ``new`` even when the same rule failed
before. States set on findings (``Finding.baseline_state``):

- ``new``: a failure whose fingerprint was not in the previous run; it gates.
- ``unchanged``: a failure that was already there; it does not gate.
- ``absent``: failed before and not now. The current finding for the same rule and resource (a pass,
  or not applicable) carries the state; when the resource is gone altogether a ``pass`` finding is
  added for it, so reporters emit SARIF ``baselineState: "absent"``.

Previous results that were waived (SARIF ``suppressions``) are not part of the baseline: they were
accepted by their waiver, and when it expires the failure must gate again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .evaluate import Notice, Report
from .findings import Finding, Outcome

_ABSENT_FROM = (Outcome.PASS, Outcome.NOT_APPLICABLE)


@dataclass(frozen=True)
class Known:
    """What the previous run says about one failure."""

    fingerprint: str
    rule_id: str
    host: str = ""
    resource: str = ""
    message: str = ""


@dataclass
class Previous:
    path: str
    known: dict[str, Known] = field(default_factory=dict)


def load(path: str | os.PathLike[str]) -> Previous:
    """The failures of a previous SARIF log, by fingerprint. UsageError (exit 2) when it is not one."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text("utf-8-sig"))
    except FileNotFoundError:
        raise UsageError("no such file", where=f"--baseline {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read: {exc}", where=f"--baseline {p}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"not JSON ({exc.msg})", where=f"{p}:{exc.lineno}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("runs"), list):
        raise UsageError("not a SARIF log (no runs[])", where=str(p))
    prev = Previous(str(p))
    for run in doc["runs"]:
        rules = ((run.get("tool") or {}).get("driver") or {}).get("rules") or []
        for result in run.get("results") or []:
            if not isinstance(result, dict) or not _is_open_failure(result):
                continue
            fingerprints = result.get("partialFingerprints") or {}
            if not isinstance(fingerprints, dict) or not fingerprints:
                continue
            rule_id = str(result.get("ruleId") or _rule_at(rules, result.get("ruleIndex")) or "")
            props: dict[str, Any] = result["properties"] if isinstance(result.get("properties"), dict) else {}
            message = str((result.get("message") or {}).get("text") or "")
            for value in fingerprints.values():
                prev.known[str(value)] = Known(
                    fingerprint=str(value),
                    rule_id=rule_id,
                    host=str(props.get("host") or ""),
                    resource=str(props.get("resource") or ""),
                    message=message,
                )
    return prev


def _rule_at(rules: list[Any], index: Any) -> str | None:
    if isinstance(index, int) and 0 <= index < len(rules) and isinstance(rules[index], dict):
        return rules[index].get("id")
    return None


def _is_open_failure(result: Mapping[str, Any]) -> bool:
    if result.get("kind", "fail") != "fail" or result.get("baselineState") == "absent":
        return False
    suppressions = result.get("suppressions") or []
    return not any(isinstance(s, dict) and s.get("status", "accepted") == "accepted" for s in suppressions)


def apply(report: Report, previous: Previous) -> None:
    """Set `baseline_state` on every finding it concerns and add `absent` findings for vanished resources."""
    seen: set[str] = set()
    counts = {"new": 0, "unchanged": 0, "absent": 0}
    for host in report.hosts:
        for i, f in enumerate(host.findings):
            fp = f.fingerprint
            seen.add(fp)
            state = None
            if f.outcome is Outcome.FAIL:
                state = "unchanged" if fp in previous.known else "new"
            elif fp in previous.known and f.outcome in _ABSENT_FROM:
                state = "absent"
            if state:
                counts[state] += 1
                host.findings[i] = replace(f, baseline_state=state)
    hosts = {h.host.casefold(): h for h in report.hosts}
    for fp, known in previous.known.items():
        target = hosts.get(known.host.casefold())
        rule = report.rules.get(known.rule_id)
        if fp in seen or target is None or rule is None or not known.resource:
            continue  # not scanned this time, or a rule that did not run: nothing to say
        seen.add(fp)
        counts["absent"] += 1
        target.findings.append(
            Finding(
                rule_id=known.rule_id,
                severity=rule.severity,
                outcome=Outcome.PASS,
                host=target.host,
                resource=known.resource,
                message=f"fixed since the baseline: {known.resource} is no longer reported"
                + (f" (was: {known.message})" if known.message else ""),
                pack=rule.pack,
                snapshot_path=target.snapshot_path,
                baseline_state="absent",
            )
        )
    report.notices.append(
        Notice(
            "note",
            f"baseline {previous.path}: {counts['new']} new, {counts['unchanged']} unchanged, {counts['absent']} absent",
            "baseline",
        )
    )

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
from typing import Any, NoReturn

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
    """The failures of a previous SARIF log, by fingerprint. UsageError (exit 2) when it is not one:
    not JSON, nested too deeply, or a part of the log that is not of the type SARIF gives it (named
    with its file:line, e.g. `runs[0].results[3].message is a string, not an object`)."""
    p = Path(path)
    try:
        text = p.read_text("utf-8-sig")
        doc = json.loads(text)
    except FileNotFoundError:
        raise UsageError("no such file", where=f"--baseline {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read: {exc}", where=f"--baseline {p}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"not JSON ({exc.msg})", where=f"{p}:{exc.lineno}") from None
    except RecursionError:
        raise UsageError("not a SARIF log: JSON nested too deeply to read", where=f"--baseline {p}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("runs"), list):
        raise UsageError("not a SARIF log (no runs[])", where=str(p))
    check = _Typed(p, text)
    prev = Previous(str(p))
    for i, run in enumerate(doc["runs"]):
        run = check.obj(run, "runs", i)
        tool = check.obj(run.get("tool"), "runs", i, "tool", optional=True)
        driver = check.obj(tool.get("driver"), "runs", i, "tool", "driver", optional=True)
        rules = check.arr(driver.get("rules"), "runs", i, "tool", "driver", "rules")
        for j, result in enumerate(check.arr(run.get("results"), "runs", i, "results")):
            at = ("runs", i, "results", j)
            result = check.obj(result, *at)
            fingerprints = check.obj(
                result.get("partialFingerprints"), *at, "partialFingerprints", optional=True
            )
            props = check.obj(result.get("properties"), *at, "properties", optional=True)
            message = check.obj(result.get("message"), *at, "message", optional=True)
            suppressions = check.arr(result.get("suppressions"), *at, "suppressions")
            for k, suppression in enumerate(suppressions):
                check.obj(suppression, *at, "suppressions", k)
            if not _is_open_failure(result) or not fingerprints:
                continue
            rule_id = str(result.get("ruleId") or _rule_at(rules, result.get("ruleIndex")) or "")
            text_ = str(message.get("text") or "")
            for value in fingerprints.values():
                prev.known[str(value)] = Known(
                    fingerprint=str(value),
                    rule_id=rule_id,
                    host=str(props.get("host") or ""),
                    resource=str(props.get("resource") or ""),
                    message=text_,
                )
    return prev


class _Typed:
    """Type checks of a SARIF log's parts, failing with the part's path and line."""

    _NAMES = {dict: "an object", list: "an array", str: "a string", bool: "true or false",
              int: "a number", float: "a number", type(None): "null"}  # fmt: skip

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text

    def obj(self, value: Any, *parts: str | int, optional: bool = False) -> dict[str, Any]:
        if value is None and optional:
            return {}
        if not isinstance(value, dict):
            self.fail(value, parts, "an object")
        return value

    def arr(self, value: Any, *parts: str | int) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(value, parts, "an array")
        return value

    def fail(self, value: Any, parts: tuple[str | int, ...], expected: str) -> NoReturn:
        from ..model import jsonpos

        pointer = jsonpos.pointer(*parts)
        line = jsonpos.lines_of(self.text, [pointer]).get(pointer, 1)
        shown = "".join(f"[{x}]" if isinstance(x, int) else f".{x}" for x in parts).lstrip(".")
        what = self._NAMES.get(type(value), type(value).__name__)
        raise UsageError(f"not a SARIF log: {shown} is {what}, not {expected}", where=f"{self.path}:{line}")


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

"""Severities, outcomes and the records the engine produces."""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import Any

from ..drafts import draft_of


class Severity(enum.Enum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    # Enum hashes a member by its name in Python code (~0.4 us a dict lookup on Python 3.11); a member
    # is a singleton that equals only itself, so the identity hash is as correct and C-speed.
    __hash__ = object.__hash__

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def security_severity(self) -> str:
        """GitHub code scanning reads this numeric string to bucket alerts."""
        return _SECURITY_SEVERITY[self]

    @property
    def sarif_level(self) -> str:
        return _SARIF_LEVEL[self]

    @classmethod
    def parse(cls, value: str | Severity) -> Severity:
        if isinstance(value, Severity):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            names = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown severity {value!r} (expected one of {names})") from None


_RANK = {Severity.CRITICAL: 4, Severity.HIGH: 3, Severity.MEDIUM: 2, Severity.LOW: 1, Severity.INFO: 0}
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}
_SARIF_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}


class Outcome(enum.Enum):
    FAIL = "fail"
    PASS = "pass"
    ERROR = "error"
    NOT_APPLICABLE = "not_applicable"
    NOT_REVIEWED = "not_reviewed"

    __hash__ = object.__hash__  # as Severity's


# `Outcome.PASS` runs EnumType.__getattr__'s slot on Python 3.11 (~0.3 us): code run per finding
# reads the members from these module names instead.
_FAIL, _PASS, _NOT_APPLICABLE, _NOT_REVIEWED = (
    Outcome.FAIL,
    Outcome.PASS,
    Outcome.NOT_APPLICABLE,
    Outcome.NOT_REVIEWED,
)


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where in a captured artifact the fact behind a finding stands."""

    artifact: str
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Result:
    """What a rule yields for one resource. The engine turns it into a Finding."""

    outcome: Outcome
    resource: str
    message: str = ""
    at: Mapping[str, Any] | None = None  # the snapshot object the result is about
    properties: Mapping[str, Any] = field(default_factory=dict)
    pointer: str | None = None  # JSON pointer, for facts that are not objects (a SID in user_rights)
    # With both, `at` only lends its evidence: fail(..., at={"evidence": ev}, pointer="/user_rights/X/1").


def fail(
    resource: str,
    message: str,
    *,
    at: Mapping[str, Any] | None = None,
    pointer: str | None = None,
    **properties: Any,
) -> Result:
    """The resource breaks the rule. `at` is the snapshot object that shows it (or give its JSON `pointer`).

    `severity="high"` in properties raises this one finding to at least that severity.
    """
    return _result(_FAIL, resource, message, at, properties, pointer)


def passed(
    resource: str, message: str = "", *, at: Mapping[str, Any] | None = None, pointer: str | None = None
) -> Result:
    """The resource complies."""
    if _RESULT_DRAFT is None:  # pragma: no cover - see _result
        return _result(_PASS, resource, message, at, {}, pointer)
    # _result's stores, inline: most results are passes (277,000 of a large host's 336,000)
    r: Any = _new(_RESULT_DRAFT)
    r.outcome = _PASS
    r.resource = resource
    r.message = message
    r.at = at
    r.properties = {}
    r.pointer = pointer
    r.__class__ = Result
    return r


def not_applicable(
    resource: str, message: str = "", *, at: Mapping[str, Any] | None = None, pointer: str | None = None
) -> Result:
    """The rule does not concern this resource (an allow-listed vendor pool, a disabled feature)."""
    return _result(_NOT_APPLICABLE, resource, message, at, {}, pointer)


def not_reviewed(
    resource: str, message: str, *, at: Mapping[str, Any] | None = None, pointer: str | None = None
) -> Result:
    """The data the rule needs for this resource was not collected. Never a pass."""
    return _result(_NOT_REVIEWED, resource, message, at, {}, pointer)


@dataclass(frozen=True)
class Waiver:
    """A recorded, expiring exception that matched a failure."""

    reason: str
    owner: str
    expires: str
    source: str = ""
    expired: bool = False


@dataclass(frozen=True, slots=True)
class Finding:
    """One outcome of one rule for one resource on one host."""

    rule_id: str
    severity: Severity
    outcome: Outcome
    host: str
    resource: str
    message: str
    pack: str = ""
    pointer: str | None = None
    evidence: Evidence | None = None
    snapshot_path: str | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)
    waiver: Waiver | None = None
    baseline_state: str | None = None  # "new" / "unchanged" / "absent" when a baseline was given
    # (path relative to the working directory, line) where a report rebuilt from shard reports
    # (`iisguard merge`) already located the finding; reporters use it instead of looking again.
    location: tuple[str, int] | None = None

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.rule_id, self.host, self.resource)

    @property
    def suppressed(self) -> bool:
        return self.waiver is not None and not self.waiver.expired

    @property
    def active_failure(self) -> bool:
        """A failure that gates: not waived, not already known from the baseline."""
        return (
            self.outcome is _FAIL
            and not self.suppressed
            and self.baseline_state not in ("unchanged", "absent")
        )


# A frozen dataclass's generated __init__ sets each field through object.__setattr__ (a lookup by name
# per field): half of the cost of building a large host's 336,000 results and findings. These set
# the same slots through their descriptors (1.76 s -> 0.82 s for the findings; the instances stay
# frozen, and tests/test_findings_builder.py checks they equal what the generated __init__ builds).
def _result_init() -> Any:
    s_outcome, s_resource, s_message, s_at, s_properties, s_pointer = _setters(Result)

    def __init__(
        self: Result,
        outcome: Outcome,
        resource: str,
        message: str = "",
        at: Mapping[str, Any] | None = None,
        properties: Mapping[str, Any] | None = None,
        pointer: str | None = None,
    ) -> None:
        s_outcome(self, outcome)
        s_resource(self, resource)
        s_message(self, message)
        s_at(self, at)
        s_properties(self, {} if properties is None else properties)
        s_pointer(self, pointer)

    return __init__


def _finding_init() -> Any:
    (a, b, c, d, e, f, g, h, i, j, k, m, n, o) = _setters(Finding)

    def __init__(
        self: Finding,
        rule_id: str,
        severity: Severity,
        outcome: Outcome,
        host: str,
        resource: str,
        message: str,
        pack: str = "",
        pointer: str | None = None,
        evidence: Evidence | None = None,
        snapshot_path: str | None = None,
        properties: Mapping[str, Any] | None = None,
        waiver: Waiver | None = None,
        baseline_state: str | None = None,
        location: tuple[str, int] | None = None,
    ) -> None:
        a(self, rule_id)
        b(self, severity)
        c(self, outcome)
        d(self, host)
        e(self, resource)
        f(self, message)
        g(self, pack)
        h(self, pointer)
        i(self, evidence)
        j(self, snapshot_path)
        k(self, {} if properties is None else properties)
        m(self, waiver)
        n(self, baseline_state)
        o(self, location)

    return __init__


def _setters(cls: type) -> list[Any]:
    """The slot descriptors' setters of a dataclass's fields, in field order."""
    return [cls.__dict__[f.name].__set__ for f in fields(cls)]


def _evidence_init() -> Any:
    s_artifact, s_line = _setters(Evidence)

    def __init__(self: Evidence, artifact: str, line: int | None = None) -> None:
        s_artifact(self, artifact)
        s_line(self, line)

    return __init__


Evidence.__init__ = _evidence_init()  # type: ignore[method-assign]
Result.__init__ = _result_init()  # type: ignore[method-assign]
Finding.__init__ = _finding_init()  # type: ignore[method-assign]


# Faster still, for the engine's and the result helpers' hot loops (336,000 findings, as many results):
# built as drafts (iisguard.drafts).
_RESULT_DRAFT, _FINDING_DRAFT = draft_of(Result), draft_of(Finding)
_new = object.__new__


def _result(
    outcome: Outcome,
    resource: str,
    message: str,
    at: Mapping[str, Any] | None,
    properties: Mapping[str, Any],
    pointer: str | None,
) -> Result:
    """Result(...) with every field given, built as a draft (iisguard.drafts)."""
    if _RESULT_DRAFT is None:  # pragma: no cover
        return Result(outcome, resource, message, at, properties, pointer)
    r: Any = _new(_RESULT_DRAFT)
    r.outcome = outcome  # one store each: a tuple unpacked into six slots builds the tuple first
    r.resource = resource
    r.message = message
    r.at = at
    r.properties = properties
    r.pointer = pointer
    r.__class__ = Result
    return r  # a draft typed Any; not typing.cast, a Python call per result


def new_finding(
    rule_id: str,
    severity: Severity,
    outcome: Outcome,
    host: str,
    resource: str,
    message: str,
    pack: str,
    pointer: str | None,
    evidence: Evidence | None,
    snapshot_path: str | None,
    properties: Mapping[str, Any],
) -> Finding:
    """Finding(...) without waiver, baseline state or location, by position: what the engine's
    _findings builds as drafts (iisguard.drafts, its stores inline there: one call per finding less),
    and what it builds instead where an interpreter refuses drafts. Call Finding(...) anywhere else."""
    return Finding(
        rule_id,
        severity,
        outcome,
        host,
        resource,
        message,
        pack,
        pointer,
        evidence,
        snapshot_path,
        properties,
    )


@lru_cache(maxsize=1 << 16)  # SARIF and JSON both ask for every failure's (30,000 on a large host)
def fingerprint(rule_id: str, host: str, resource: str) -> str:
    """Stable across image builds: only the rule, the host and the resource key go in, never text or lines."""
    key = "\x1f".join((rule_id, host.upper(), resource))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]

"""The rule test harness, for iisguard's own packs and for an organization's.

A case is a YAML (or JSON) file under ``<dir>/<RULE-ID>/``: a snapshot fragment merged onto a base
snapshot, optional parameters, and expectations::

    description: LocalSystem pool fails, ApplicationPoolIdentity passes
    snapshot:                      # deep-merged onto the base: mappings merge, lists replace
      iis:
        app_pools:
          - {name: pool_fail_localsystem, identity: {type: LocalSystem}}
    parameters: {}                 # optional rule parameters
    expect:                        # optional: resource -> outcome, checked exactly
      host: not_reviewed

Objects are named after their expected outcome: any finding whose resource contains ``fail_``,
``pass_``, ``na_`` or ``nr_`` (after ``/`` or ``_``, or at the start) must have that outcome. A
case file named ``bad*`` must produce at least one failure; ``good*`` none, and at least one pass.
The base is ``_base.yaml`` (or ``_base.json``) in the case's folder or the nearest parent, else a
minimal snapshot with every section collected.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import yamlsource
from .engine.evaluate import Selected, evaluate
from .engine.findings import Finding, Outcome
from .engine.rule import Rule
from .errors import PolicyError
from .model import snapshot as snapmod

DEFAULT_BASE: dict[str, Any] = {
    "schema_version": "1.0",
    "host": {"name": "FIXTURE", "iis": {"version": "10.0"}, "domain_joined": False},
    "collection": {
        "source": "synthetic",
        "tool_version": "fixture",
        "collected_at": "2026-01-01T00:00:00Z",
        "sections": [{"name": s, "status": "absent" if s == "ad" else "ok"} for s in snapmod.SECTIONS],
    },
}
_NAMED = re.compile(r"(?:^|[/_\\ .-])(fail|pass|na|nr)_", re.IGNORECASE)
_NAMED_OUTCOME = {
    "fail": Outcome.FAIL,
    "pass": Outcome.PASS,
    "na": Outcome.NOT_APPLICABLE,
    "nr": Outcome.NOT_REVIEWED,
}


@dataclass
class Case:
    rule_id: str
    path: Path
    snapshot: dict[str, Any]
    parameters: dict[str, Any] = field(default_factory=dict)
    expect: dict[str, str] = field(default_factory=dict)
    description: str = ""

    @property
    def name(self) -> str:
        return f"{self.rule_id}-{self.path.stem}"

    @property
    def polarity(self) -> str | None:
        stem = self.path.stem.lower()
        return "bad" if stem.startswith("bad") else "good" if stem.startswith("good") else None


def deep_merge(base: Any, fragment: Any) -> Any:
    """Mappings merge key by key; anything else (lists included) replaces."""
    if isinstance(base, Mapping) and isinstance(fragment, Mapping):
        out = dict(base)
        for k, v in fragment.items():
            out[k] = deep_merge(base[k], v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(fragment)


def _read(path: Path) -> Any:
    try:
        return yamlsource.safe_load(path.read_text("utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise PolicyError(f"not valid YAML: {getattr(exc, 'problem', exc)}", where=where) from None


def _base_for(path: Path, root: Path) -> dict[str, Any]:
    folder = path.parent
    while True:
        for name in ("_base.yaml", "_base.yml", "_base.json"):
            candidate = folder / name
            if candidate.is_file():
                return deep_merge(DEFAULT_BASE, _read(candidate) or {})
        if folder == root or folder.parent == folder:
            return copy.deepcopy(DEFAULT_BASE)
        folder = folder.parent


def load_case(path: str | Path, root: str | Path | None = None) -> Case:
    p = Path(path)
    doc = _read(p) or {}
    if not isinstance(doc, dict):
        raise PolicyError(
            "a test case is a mapping with 'snapshot' and optional 'parameters'/'expect'", where=str(p)
        )
    unknown = set(doc) - {"description", "snapshot", "parameters", "expect"}
    if unknown:
        raise PolicyError(f"unknown key(s) {sorted(unknown)} in test case", where=str(p))
    base = _base_for(p, Path(root) if root else p.parent.parent)
    snap = deep_merge(base, doc.get("snapshot") or {})
    return Case(
        rule_id=p.parent.name,
        path=p,
        snapshot=snap,
        parameters=dict(doc.get("parameters") or {}),
        expect={str(k): str(v) for k, v in (doc.get("expect") or {}).items()},
        description=str(doc.get("description") or ""),
    )


def discover(directory: str | Path) -> list[Case]:
    """Every case under <directory>/<RULE-ID>/*.yaml|json (files starting with '_' are bases)."""
    root = Path(directory)
    cases = []
    for rule_dir in sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("_")):
        for f in sorted(rule_dir.iterdir()):
            if f.suffix in (".yaml", ".yml", ".json") and not f.name.startswith("_"):
                cases.append(load_case(f, root))
    return cases


def run_case(rule: Rule, case: Case, *, strict: bool = True) -> list[Finding]:
    problems = snapmod.problems(case.snapshot)
    if problems:
        raise PolicyError(
            "merged snapshot is not valid: "
            + "; ".join(f"{p.pointer or '/'}: {p.message}" for p in problems[:3]),
            where=str(case.path),
        )
    snap = snapmod.Snapshot(case.snapshot, path=str(case.path))
    params = rule.resolve_parameters(case.parameters)
    return evaluate(snap, [Selected(rule, rule.severity, params)], strict=strict).findings


def check_case(rule: Rule, case: Case, findings: Iterable[Finding]) -> list[str]:
    """Every way the findings differ from what the case expects (empty when the case passes)."""
    findings = list(findings)
    errors: list[str] = []
    by_resource = {f.resource: f for f in findings}
    for f in findings:
        m = _NAMED.search(f.resource)
        if m:
            want = _NAMED_OUTCOME[m.group(1).lower()]
            if f.outcome is not want:
                errors.append(f"{f.resource}: expected {want.value}, got {f.outcome.value} ({f.message})")
    for resource, outcome in case.expect.items():
        got = by_resource.get(resource)
        if got is None:
            seen = ", ".join(sorted(by_resource)) or "none"
            errors.append(
                f"{resource}: expected {outcome}, but the rule reported nothing for it (saw: {seen})"
            )
        elif got.outcome.value != outcome:
            errors.append(f"{resource}: expected {outcome}, got {got.outcome.value} ({got.message})")
    fails = [f for f in findings if f.outcome is Outcome.FAIL]
    if case.polarity == "bad" and not fails:
        errors.append("a bad case must produce at least one failure; got none")
    if case.polarity == "good":
        errors.extend(f"{f.resource}: a good case must not fail ({f.message})" for f in fails)
        if not any(f.outcome is Outcome.PASS for f in findings) and not case.expect:
            errors.append("a good case must produce at least one pass")
    return errors


def assert_case(rule: Rule, case: Case) -> None:
    """For pytest: run a case and raise AssertionError listing every mismatch."""
    problems = check_case(rule, case, run_case(rule, case))
    if problems:
        raise AssertionError(f"{case.path}:\n  " + "\n  ".join(problems))

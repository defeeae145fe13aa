"""One self-contained HTML page for people who do not read terminals: ``--format html:report.html``.

The page works offline on an air-gapped machine: no CDN, no font, no image, nothing fetched. Its
Content-Security-Policy (``default-src 'none'``) forbids every request; the inline style sheet and
script are allowed by their SHA-256 hashes only, so an injected ``<script>`` or ``onmouseover=``
could not run even if one got past the escaping. Every string from a snapshot is untrusted and is
rendered by Jinja2 with autoescaping on.

Layout: a summary first (hosts, active failures by severity, the gate), then per host the failures
grouped by severity and rule (resource, message, evidence as ``file:line`` with the captured line,
the rule's remediation and references once per rule; past FIRST_ROWS a rule's failures on a host
are folded into a ``<details>`` that the filters and the search open), waived and baselined failures apart (owner,
expiry, reason), not-reviewed rules one line per missing section, rule errors and collection
problems. Filters (severity, rule, host) and a search box run in the page itself.
"""

from __future__ import annotations

import base64
import codecs
import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

from ..engine import compliance
from ..engine.evaluate import HostResult, Report
from ..engine.findings import Finding, Outcome
from ..plugins import hookimpl
from ..redact import printable, redact
from .base import (
    SEVERITIES,
    Locator,
    escape_controls,
    not_reviewed_groups,
    section_problems,
    sort_key,
    state,
)
from .json import _summary

# The longest captured line shown as evidence; a minified config line can be megabytes.
MAX_EVIDENCE_CHARS = 400
# Failures of one rule on one host shown before the rest is folded (a <details> the filters open):
# a 5,000-site host fails some rules on thousands of folders.
FIRST_ROWS = 20
_GATE = {
    0: ("pass", "PASSED"),
    1: ("fail", "FAILED"),
    3: ("incomplete", "INCOMPLETE"),
}


@dataclass
class HtmlReporter:
    name: str = "html"
    lists_passes: ClassVar[bool] = False  # passes only counted (Reporter.lists_passes)
    extension: str = ".html"
    description: str = "one self-contained HTML page (offline, no external requests) for people"
    base: str | None = field(default=None, repr=False)  # evidence paths are relative to this (default: cwd)

    def render(self, report: Report) -> str:
        env = _environment()
        css, js = _asset("report.css"), _asset("report.js")
        locator = Locator((f for f in report.findings() if f.outcome is Outcome.FAIL), self.base)
        context = _context(report, locator)
        return env.get_template("report.html.j2").render(
            css=css, js=js, csp=content_security_policy(css, js), **context
        )


def content_security_policy(css: str, js: str) -> str:
    """Nothing may load; only this page's own style sheet and script run (by hash)."""
    return (
        "default-src 'none'; "
        f"style-src '{_sha256(css)}'; script-src '{_sha256(js)}'; "
        "img-src 'none'; font-src 'none'; connect-src 'none'; media-src 'none'; object-src 'none'; "
        "frame-src 'none'; worker-src 'none'; manifest-src 'none'; base-uri 'none'; form-action 'none'"
    )


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


@cache
def _environment() -> Any:
    import jinja2  # imported here: only the html format needs it

    return jinja2.Environment(
        loader=jinja2.PackageLoader("iisguard.report", "templates"),
        autoescape=True,  # every string from a snapshot is untrusted
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def _asset(name: str) -> str:
    return resources.files("iisguard.report").joinpath("templates", name).read_text(encoding="utf-8")


# --- the view model ----------------------------------------------------------------------------------


def _context(report: Report, locator: Locator) -> dict[str, Any]:
    summary = _summary(report)
    code = summary["exit_code"]
    gate_class, gate_word = _GATE.get(code, ("incomplete", "INCOMPLETE"))
    fail_on = report.fail_on.value if report.fail_on else None
    if code == 1:
        gating = len(report.gating_failures())
        gate_text = f"{gating} active failure(s) at or above {fail_on}"
    elif code == 3:
        gate_text = "a rule errored or a collection section failed: the result is incomplete"
    elif fail_on is None:
        gate_text = "failures never gate (--fail-on never)"
    else:
        gate_text = f"no active failure at or above {fail_on}"
    lines = _EvidenceLines()
    failing = sorted((f for f in report.findings() if f.outcome is Outcome.FAIL), key=sort_key)
    where = {id(f): _where(f, locator, lines) for f in failing}
    lines.read()
    unreviewed = defaultdict(list)
    for group in not_reviewed_groups(report):
        unreviewed[group.host].append(group)
    hosts = [_host(report, h, where, lines, unreviewed.get(h.host, [])) for h in report.hosts]
    for h in hosts:
        path = h["result"].snapshot_path
        h["snapshot"] = locator.relative(path) if path else None
    return {
        "report": report,
        "summary": summary,
        "compliance": compliance.assess(report, report.framework) if report.framework else None,
        "labels": compliance.LABELS,
        "statuses": compliance.STATUSES,
        "severities": [s.value for s in SEVERITIES],
        "gate": {"code": code, "class": gate_class, "word": gate_word, "text": gate_text, "fail_on": fail_on},
        "hosts": hosts,
        "rules_seen": sorted({f.rule_id for f in failing} | {r for h in hosts for r in h["nr_rules"]}),
        "first_rows": FIRST_ROWS,
        "notices": report.notices,
        "clean": escape_controls,
    }


def _quoted(line: str | None) -> str | None:
    """A captured line as the report quotes it: secrets masked (a config or script line may hold one: a
    pool's [enc:...:enc] blob sits on the line a finding points at, #18) and control characters shown."""
    return printable(redact(line)) if line is not None else None


def _where(f: Finding, locator: Locator, lines: _EvidenceLines) -> dict[str, Any]:
    loc = locator.locate(f)
    # A finding about a secret written on its evidence line (IIS-SCRIPT-001) says where, never what:
    # that line is not quoted at all, whatever its variable is called.
    captured = (
        f.evidence is not None
        and not f.properties.get("evidence_holds_secret")
        and (f.snapshot_path is None or loc.path != locator.relative(f.snapshot_path))
    )
    if captured:
        lines.want(loc.path, loc.line, locator.root)
    return {"path": loc.path, "line": loc.line, "captured": captured}


def _host(
    report: Report,
    host: HostResult,
    where: dict[int, dict[str, Any]],
    lines: _EvidenceLines,
    unreviewed: list[Any],
) -> dict[str, Any]:
    active: dict[str, dict[str, list[dict[str, Any]]]] = {s.value: {} for s in SEVERITIES}
    apart: list[dict[str, Any]] = []
    errors = []
    counts = {s.value: 0 for s in SEVERITIES}
    for f in sorted(host.findings, key=sort_key):
        if f.outcome is Outcome.ERROR:
            errors.append(f)
            continue
        if f.outcome is not Outcome.FAIL:
            continue
        w = where[id(f)]
        row = {
            "f": f,
            "state": state(f),
            "path": w["path"],
            "line": w["line"],
            "captured": _quoted(lines.get(w["path"], w["line"])) if w["captured"] else None,
        }
        if row["state"] == "active":
            counts[f.severity.value] += 1
            active[f.severity.value].setdefault(f.rule_id, []).append(row)
        else:
            apart.append(row)
    groups = [
        {
            "severity": sev,
            "count": sum(len(rows) for rows in by_rule.values()),
            "rules": [
                {"id": rid, "rule": report.rules.get(rid), "rows": rows} for rid, rows in by_rule.items()
            ],
        }
        for sev, by_rule in active.items()
        if by_rule
    ]
    return {
        "name": host.host,
        "anchor": "host-" + "".join(c if c.isalnum() else "-" for c in host.host),
        "result": host,
        "counts": counts,
        "groups": groups,
        "apart": apart,
        "unreviewed": unreviewed,
        "nr_rules": sorted({r for g in unreviewed for r in g.rules}),
        "not_reviewed": sum(1 for f in host.findings if f.outcome is Outcome.NOT_REVIEWED),
        "errors": errors,
        "problems": section_problems(host),
    }


class _EvidenceLines:
    """The captured lines findings point at, each artifact read once up to the last line wanted."""

    def __init__(self) -> None:
        self._wanted: dict[str, set[int]] = defaultdict(set)
        self._roots: dict[str, Path] = {}
        self._found: dict[tuple[str, int], str] = {}

    def want(self, path: str, line: int, root: Path) -> None:
        self._wanted[path].add(line)
        self._roots[path] = root

    def get(self, path: str, line: int) -> str | None:
        return self._found.get((path, line))

    def read(self) -> None:
        for path, wanted in self._wanted.items():
            try:
                self._read(self._roots[path] / path, path, wanted)
            except (OSError, UnicodeError, LookupError):
                continue  # the location is still shown; only the quoted line is missing

    def _read(self, file: Path, path: str, wanted: set[int]) -> None:
        last = max(wanted)
        with open(file, "rb") as raw:
            head = raw.read(4)
        encoding = _encoding(head)
        with open(file, encoding=encoding, errors="replace", newline=None) as text:
            for number, content in enumerate(_bounded_lines(text), start=1):
                if number in wanted:
                    self._found[(path, number)] = content  # quoted through _quoted()
                if number >= last:
                    break


def _encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if len(head) >= 2 and head[1] == 0 and head[0] != 0:
        return "utf-16-le"  # what `>` writes in Windows PowerShell 5.1, when the BOM was lost
    return "utf-8"


def _bounded_lines(text: Any) -> Iterable[str]:
    """Lines without their end, each cut at MAX_EVIDENCE_CHARS without reading a huge line whole."""
    while True:
        chunk = text.readline(MAX_EVIDENCE_CHARS + 1)
        if not chunk:
            return
        if not chunk.endswith("\n"):
            rest = chunk
            while rest and not rest.endswith("\n"):  # skip the remainder of a long line
                rest = text.readline(1 << 16)
            chunk = chunk[:MAX_EVIDENCE_CHARS] + " …"
        yield escape_controls(chunk.rstrip("\r\n").strip())


REPORTER = HtmlReporter()


@hookimpl
def iisguard_register_reporters():
    return {"html": REPORTER}

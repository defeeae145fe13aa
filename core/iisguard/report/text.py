"""Plain text for people at a terminal: ``--format text`` (the default).

The summary comes first and last (counts, active failures by severity, one line per host when
there are several). Failures are grouped by severity, then rule, one line per failing resource,
with the rule's remediation once under it. Waived and baselined failures stay listed, marked (and
dimmed in colour). Passes and not-applicable outcomes are only counted; rule errors get a section
of their own, and not-reviewed rules one line per host and missing section. ``quiet`` keeps the
active failures only, one line each; ``compact`` writes one line per finding without remediation;
``width`` wraps long lines (cuts them, when compact) to a terminal's width. Colour is off unless
the caller asks for it (the CLI does when stdout is a terminal). Text from snapshots is shown with control characters escaped, so a
hostile server name cannot rewrite the terminal.
"""

from __future__ import annotations

import textwrap
from collections import defaultdict
from dataclasses import dataclass, field
from typing import ClassVar

from ..engine import compliance
from ..engine.evaluate import Report
from ..engine.findings import Finding, Outcome, Severity
from ..engine.rule import Rule
from ..plugins import hookimpl
from .base import (
    SEVERITIES,
    Locator,
    escape_controls,
    not_reviewed_groups,
    section_problems,
    sort_key,
    state,
)

_RESET = "\033[0m"
_STYLE = {
    "critical": "\033[1;31m",
    "high": "\033[31m",
    "medium": "\033[33m",
    "low": "\033[36m",
    "info": "\033[2m",
    "bold": "\033[1m",
    "dim": "\033[2m",
    "error": "\033[31m",
    "warning": "\033[33m",
    "ok": "\033[32m",
}


@dataclass
class TextReporter:
    name: str = "text"
    lists_passes: ClassVar[bool] = False  # passes only counted (Reporter.lists_passes)
    extension: str = ".txt"
    description: str = "plain text for a terminal, grouped by severity and rule"
    base: str | None = field(default=None, repr=False)  # evidence paths are relative to this (default: cwd)
    quiet: bool = False  # failures only: no waived/baselined, remediation or other sections
    compact: bool = False  # one line per finding, no remediation text
    width: int | None = None  # wrap (or, compact, cut) lines at this width; None keeps them whole

    def render(self, report: Report, color: bool = False) -> str:
        return _Writer(
            report,
            color,
            Locator((f for f in report.findings() if f.outcome is Outcome.FAIL), self.base),
            self,
        ).text()

    def render_terminal(self, report: Report) -> str:
        """The same text with colour, for a terminal (the CLI calls this when stdout is a TTY)."""
        return self.render(report, color=True)


class _Writer:
    def __init__(self, report: Report, color: bool, locator: Locator, options: TextReporter) -> None:
        self.report = report
        self.color = color
        self.locator = locator
        self.quiet = options.quiet
        self.compact = options.compact or options.quiet
        self.width = options.width if options.width and options.width >= 40 else None
        self.lines: list[str] = []

    def paint(self, text: str, style: str) -> str:
        return f"{_STYLE[style]}{text}{_RESET}" if self.color else text

    def add(self, text: str, style: str | None = None, *, indent: int = 0, hang: int = 2) -> None:
        """One logical line of plain text: cut (compact) or wrapped to the width, then painted."""
        pad = " " * indent
        if self.width is None or len(pad) + len(text) <= self.width:
            pieces = [pad + text]
        elif self.compact:
            pieces = [pad + _shorten(text, self.width - indent)]
        else:
            pieces = textwrap.wrap(
                text,
                self.width,
                initial_indent=pad,
                subsequent_indent=pad + " " * hang,
                break_long_words=True,
                break_on_hyphens=False,
            ) or [pad]
        self.lines += [pad + self.paint(p[len(pad) :], style) if style else p for p in pieces]

    def text(self) -> str:
        r = self.report
        head = f"iisguard {r.tool_version}: {len(r.hosts)} host(s), {len(r.rules)} rule(s)"
        if r.profile:
            head += f", profile {r.profile}"
        self.add(_clean(head), "bold")
        self.overview()
        self.failures()
        if not self.quiet:
            self.problems()
            self.collection()
            self.compliance()
            self.notices()
        self.lines.append("")
        self.summary()
        return "\n".join(self.lines) + "\n"

    def overview(self) -> None:
        """The summary first: the counts, the failures by severity, and one line per host when several."""
        self.summary()
        by_severity = {s: 0 for s in SEVERITIES}
        for f in self.report.findings():
            if f.outcome is Outcome.FAIL and f.active_failure:
                by_severity[f.severity] += 1
        self.add(
            "Active failures by severity: " + ", ".join(f"{n} {s.value}" for s, n in by_severity.items()),
            indent=2,
        )
        if len(self.report.hosts) > 1:
            for h in self.report.hosts:
                counts = {s: 0 for s in SEVERITIES}
                unreviewed = 0
                for f in h.findings:
                    if f.outcome is Outcome.FAIL and f.active_failure:
                        counts[f.severity] += 1
                    elif f.outcome is Outcome.NOT_REVIEWED:
                        unreviewed += 1
                failed = [str(s.get("name")) for s in h.failed_sections]
                parts = [", ".join(f"{n} {s.value}" for s, n in counts.items() if n) or "no active failure"]
                if unreviewed:
                    parts.append(f"{unreviewed} not reviewed")
                if len(failed) > 3:
                    parts.append(f"{len(failed)} sections failed")
                elif failed:
                    parts.append(f"sections failed: {', '.join(failed)}")
                self.add(_clean(f"{h.host}: {'; '.join(parts)}"), indent=2, hang=4)

    def failures(self) -> None:
        by_rule: dict[tuple[Severity, str], list[Finding]] = defaultdict(list)
        for f in sorted((f for f in self.report.findings() if f.outcome is Outcome.FAIL), key=sort_key):
            if self.quiet and not f.active_failure:
                continue  # --quiet: what gates or could gate, nothing accepted
            by_rule[(f.severity, f.rule_id)].append(f)
        for severity in SEVERITIES:
            rules = [(rule_id, fs) for (sev, rule_id), fs in by_rule.items() if sev is severity]
            if not rules:
                continue
            total = sum(len(fs) for _, fs in rules)
            self.lines.append("")
            self.add(f"{severity.value.upper()} ({total})", severity.value)
            for rule_id, findings in rules:
                if self.compact:
                    for f in findings:
                        self.finding_line(f, with_rule=True)
                else:
                    self.rule_block(self.report.rules.get(rule_id), rule_id, findings)

    def rule_block(self, rule: Rule | None, rule_id: str, findings: list[Finding]) -> None:
        title = f"  {self.paint(_clean(rule_id), 'bold')}  {_clean(rule.title) if rule else ''}".rstrip()
        self.lines.append(title)
        for f in findings:
            self.finding_line(f)
        if rule is not None and rule.remediation.strip() and any(state(f) != "waived" for f in findings):
            self.lines.append("    Remediation:")
            for line in rule.remediation.strip().splitlines():
                self.add(escape_controls(line).rstrip(), indent=6, hang=4)
            if rule.help_uri:
                self.add(f"See {escape_controls(rule.help_uri)}", indent=4)

    def finding_line(self, f: Finding, *, with_rule: bool = False) -> None:
        loc = self.locator.locate(f)
        how = state(f)
        marks = []
        if how == "waived" and f.waiver is not None:
            marks.append(f"[waived until {f.waiver.expires} by {f.waiver.owner}: {f.waiver.reason}]")
        elif how == "baselined":
            marks.append(f"[baselined: {f.baseline_state}]")
        elif f.baseline_state == "new":
            marks.append("[new]")
        if f.waiver is not None and f.waiver.expired:
            marks.append(f"[waiver expired {f.waiver.expires}]")
        where = f"({loc.path}:{loc.line})"
        message = _clean(f.message or "(no message)")
        style = "dim" if how in ("waived", "baselined") else None
        if with_rule:
            # Compact: one line; when it is too wide the message is cut, the location kept.
            head = _clean(f"{f.rule_id} {f.host} {f.resource}:")
            tail = _clean(" ".join([where, *marks]))
            room = (self.width or 0) - 4 - len(head) - len(tail) - 2
            if room < 20:  # a long path: its file name and line are enough to find the evidence
                tail = _clean(" ".join([f"({loc.path.rsplit('/', 1)[-1]}:{loc.line})", *marks]))
                room = (self.width or 0) - 4 - len(head) - len(tail) - 2
            if self.width is not None and room >= 20:
                message = _shorten(message, room)
            self.add(f"{head} {message} {tail}", style, indent=4, hang=2)
            return
        self.add(
            _clean(" ".join([f"{f.host} {f.resource}: {message} {where}", *marks])), style, indent=4, hang=2
        )

    def problems(self) -> None:
        errors = sorted(
            (f for f in self.report.findings() if f.outcome is Outcome.ERROR),
            key=lambda f: (f.rule_id, f.host.upper(), f.resource),
        )
        if errors:
            self.lines.append("")
            self.add(f"ERRORS ({len(errors)})", "error")
            for f in errors:
                self.add(
                    _clean(f"{f.rule_id}  {f.host}  {f.resource}: {f.message}"), "error", indent=2, hang=4
                )
        groups = not_reviewed_groups(self.report)
        if groups:
            total = sum(1 for f in self.report.findings() if f.outcome is Outcome.NOT_REVIEWED)
            self.lines.append("")
            # One line per host and missing section (or per host and rule for resource-level gaps).
            self.add(f"NOT REVIEWED ({total})", "warning")
            for g in groups:
                self.add(_clean(f"{g.host}  {g.text}"), indent=2, hang=4)

    def collection(self) -> None:
        rows = [(h.host, p) for h in self.report.hosts for p in section_problems(h)]
        if not rows:
            return
        self.lines += ["", self.paint("COLLECTION", "warning")]
        for host, problem in rows:
            style = "error" if problem.status == "failed" else "warning"
            self.add(_clean(f"{host}: {problem.text}"), style, indent=2, hang=4)

    def compliance(self) -> None:
        """`--framework`: one line per item a rule covers, then the ids of the items none covers."""
        if not self.report.framework:
            return
        result = compliance.assess(self.report, self.report.framework)
        fw = result.framework
        counts = result.summary()
        self.lines += [
            "",
            self.paint(_clean(f"COMPLIANCE: {fw.title} ({fw.name}, {fw.version})"), "bold"),
            "  " + ", ".join(f"{counts[s]} {compliance.LABELS[s]}" for s in compliance.STATUSES),
        ]
        width = max((len(r.item.id) for r in result.items), default=0)
        uncovered: list[str] = []
        procedural: list[str] = []
        for r in result.items:
            if r.status in compliance.MANUAL:
                (procedural if r.status == compliance.PROCEDURAL else uncovered).append(r.item.id)
                continue
            label = compliance.LABELS[r.status]
            if r.status == compliance.FAIL and all(c.waived for c in r.hosts if c.status == r.status):
                label += " (waived)"
            style = {"fail": "error", "not_reviewed": "warning", "pass": "ok"}.get(r.status, "dim")
            self.lines.append(
                f"  {_clean(r.item.id):<{width}}  {self.paint(f'{label:<14}', style)}  "
                + _clean(f"{_shorten(r.item.title, 60)} | {r.reason}")
            )
        for ids, title in (
            (procedural, "Procedural, no capture decides them: a person reviews"),
            (uncovered, "Not covered by iisguard, review by hand"),
        ):
            if not ids:
                continue
            self.lines.append(self.paint(f"  {title} ({len(ids)}):", "dim"))
            row: list[str] = []
            for item_id in ids:
                if row and len("    " + " ".join([*row, item_id])) > 100:
                    self.lines.append("    " + _clean(" ".join(row)))
                    row = []
                row.append(item_id)
            self.lines.append("    " + _clean(" ".join(row)))

    def notices(self) -> None:
        if not self.report.notices:
            return
        self.lines += ["", self.paint("NOTICES", "bold")]
        for n in self.report.notices:
            style = n.level if n.level in ("error", "warning") else "dim"
            self.add(_clean(f"{n.level}: {n.message}"), style, indent=2, hang=4)

    def summary(self) -> None:
        counts = {o: 0 for o in Outcome}
        states = {"active": 0, "waived": 0, "baselined": 0}
        for f in self.report.findings():
            counts[f.outcome] += 1
            if f.outcome is Outcome.FAIL:
                states[state(f)] += 1
        fails = f"{counts[Outcome.FAIL]} failed"
        if states["waived"] or states["baselined"]:
            fails += (
                f" ({states['active']} active, {states['waived']} waived, {states['baselined']} baselined)"
            )
        parts = [
            fails,
            f"{counts[Outcome.PASS]} passed",
            f"{counts[Outcome.NOT_APPLICABLE]} not applicable",
            f"{counts[Outcome.ERROR]} error(s)",
            f"{counts[Outcome.NOT_REVIEWED]} not reviewed",
        ]
        fixed = sum(
            1
            for f in self.report.findings()
            if f.baseline_state == "absent" and f.outcome is not Outcome.FAIL
        )
        if fixed:
            parts.append(f"{fixed} fixed since the baseline")
        code = self.report.exit_code()
        fail_on = self.report.fail_on.value if self.report.fail_on else "never"
        text = f"Summary: {', '.join(parts)}; exit {code} (fail-on {fail_on})"
        self.add(text, "ok" if code == 0 else "error" if code == 1 else "warning", hang=9)


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _clean(text: str) -> str:
    """One line, control characters escaped."""
    return escape_controls(" ".join(str(text).split()))


REPORTER = TextReporter()


@hookimpl
def iisguard_register_reporters():
    return {"text": REPORTER}

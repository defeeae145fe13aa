"""Plain text for people at a terminal: ``--format text`` (the default).

Failures are grouped by severity, then rule, one line per failing resource, with the rule's
remediation once under it. Waived and baselined failures stay listed, marked (and dimmed in
colour). Passes and not-applicable outcomes are only counted; rule errors and not-reviewed rules
get a short section of their own. Colour is off unless the caller asks for it (the CLI does when
stdout is a terminal). Text from snapshots is shown with control characters escaped, so a
hostile server name cannot rewrite the terminal.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from ..engine import compliance
from ..engine.evaluate import Report
from ..engine.findings import Finding, Outcome, Severity
from ..engine.rule import Rule
from ..plugins import hookimpl
from .base import SEVERITIES, Locator, escape_controls, sort_key, state

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
    extension: str = ".txt"
    description: str = "plain text for a terminal, grouped by severity and rule"
    base: str | None = field(default=None, repr=False)  # evidence paths are relative to this (default: cwd)

    def render(self, report: Report, color: bool = False) -> str:
        return _Writer(
            report, color, Locator((f for f in report.findings() if f.outcome is Outcome.FAIL), self.base)
        ).text()

    def render_terminal(self, report: Report) -> str:
        """The same text with colour, for a terminal (the CLI calls this when stdout is a TTY)."""
        return self.render(report, color=True)


class _Writer:
    def __init__(self, report: Report, color: bool, locator: Locator) -> None:
        self.report = report
        self.color = color
        self.locator = locator
        self.lines: list[str] = []

    def paint(self, text: str, style: str) -> str:
        return f"{_STYLE[style]}{text}{_RESET}" if self.color else text

    def text(self) -> str:
        r = self.report
        head = f"iisguard {r.tool_version}: {len(r.hosts)} host(s), {len(r.rules)} rule(s)"
        if r.profile:
            head += f", profile {r.profile}"
        self.lines.append(self.paint(_clean(head), "bold"))
        self.failures()
        self.problems()
        self.collection()
        self.compliance()
        self.notices()
        self.lines += ["", self.summary()]
        return "\n".join(self.lines) + "\n"

    def failures(self) -> None:
        by_rule: dict[tuple[Severity, str], list[Finding]] = defaultdict(list)
        for f in sorted((f for f in self.report.findings() if f.outcome is Outcome.FAIL), key=sort_key):
            by_rule[(f.severity, f.rule_id)].append(f)
        for severity in SEVERITIES:
            rules = [(rule_id, fs) for (sev, rule_id), fs in by_rule.items() if sev is severity]
            if not rules:
                continue
            total = sum(len(fs) for _, fs in rules)
            self.lines += ["", self.paint(f"{severity.value.upper()} ({total})", severity.value)]
            for rule_id, findings in rules:
                self.rule_block(self.report.rules.get(rule_id), rule_id, findings)

    def rule_block(self, rule: Rule | None, rule_id: str, findings: list[Finding]) -> None:
        title = f"  {self.paint(_clean(rule_id), 'bold')}  {_clean(rule.title) if rule else ''}".rstrip()
        self.lines.append(title)
        for f in findings:
            self.lines.append(self.finding_line(f))
        if rule is not None and rule.remediation.strip() and any(state(f) != "waived" for f in findings):
            self.lines.append("    Remediation:")
            self.lines += [
                f"      {escape_controls(line)}".rstrip() for line in rule.remediation.strip().splitlines()
            ]
            if rule.help_uri:
                self.lines.append(f"    See {escape_controls(rule.help_uri)}")

    def finding_line(self, f: Finding) -> str:
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
        line = _clean(
            " ".join(
                [f"{f.host} {f.resource}: {f.message or '(no message)'} ({loc.path}:{loc.line})", *marks]
            )
        )
        return "    " + (self.paint(line, "dim") if how in ("waived", "baselined") else line)

    def problems(self) -> None:
        rows = sorted(
            (f for f in self.report.findings() if f.outcome in (Outcome.ERROR, Outcome.NOT_REVIEWED)),
            key=lambda f: (f.outcome is not Outcome.ERROR, f.rule_id, f.host.upper(), f.resource),
        )
        if not rows:
            return
        self.lines += ["", self.paint(f"ERRORS AND NOT REVIEWED ({len(rows)})", "warning")]
        for f in rows:
            label = "error       " if f.outcome is Outcome.ERROR else "not reviewed"
            style = "error" if f.outcome is Outcome.ERROR else "warning"
            self.lines.append(
                f"  {self.paint(label, style)}  "
                + _clean(f"{f.rule_id}  {f.host}  {f.resource}: {f.message}")
            )

    def collection(self) -> None:
        rows = [
            (h.host, s)
            for h in self.report.hosts
            for s in h.sections
            if s.get("status") in ("failed", "partial")
        ]
        if not rows:
            return
        self.lines += ["", self.paint("COLLECTION", "warning")]
        for host, s in rows:
            detail = f": {s['message']}" if s.get("message") else ""
            text = _clean(f"{host}: section {s.get('name')} {s.get('status')}{detail}")
            self.lines.append("  " + self.paint(text, "error" if s.get("status") == "failed" else "warning"))

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
        uncovered = []
        for r in result.items:
            if r.status == compliance.NOT_COVERED:
                uncovered.append(r.item.id)
                continue
            label = compliance.LABELS[r.status]
            if r.status == compliance.FAIL and all(c.waived for c in r.hosts if c.status == r.status):
                label += " (waived)"
            style = {"fail": "error", "not_reviewed": "warning", "pass": "ok"}.get(r.status, "dim")
            self.lines.append(
                f"  {_clean(r.item.id):<{width}}  {self.paint(f'{label:<14}', style)}  "
                + _clean(f"{_shorten(r.item.title, 60)} | {r.reason}")
            )
        if uncovered:
            self.lines.append(
                self.paint(f"  Not covered by iisguard, review by hand ({len(uncovered)}):", "dim")
            )
            row: list[str] = []
            for item_id in uncovered:
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
            self.lines.append("  " + self.paint(_clean(f"{n.level}: {n.message}"), style))

    def summary(self) -> str:
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
        fail_on = self.report.fail_on.value if self.report.fail_on else "none"
        text = f"Summary: {', '.join(parts)}; exit {code} (fail-on {fail_on})"
        return self.paint(text, "ok" if code == 0 else "error" if code == 1 else "warning")


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _clean(text: str) -> str:
    """One line, control characters escaped."""
    return escape_controls(" ".join(str(text).split()))


REPORTER = TextReporter()


@hookimpl
def iisguard_register_reporters():
    return {"text": REPORTER}

"""JUnit XML for Jenkins, GitLab and Azure DevOps: ``--format junit``.

Exactly one XML document: ``<testsuites>`` with one ``<testsuite>`` per host. Every outcome that
needs a look is a ``<testcase>`` of its own, per rule x resource: ``classname`` is
``iisguard.<pack>.<host>`` and ``name`` is ``<RULE-ID> <resource>``, stable and free of message
text. A failure is ``<failure type="<severity>">`` with the details and remediation as text; a
waived or baselined failure and a not-applicable rule are ``<skipped>``; a rule error or missing
data (not reviewed) is ``<error>``, and so is a collection section that failed.

A rule's passes on a host are folded into one passing test case, ``<RULE-ID> (passing
resources)``, whose ``resources_passed`` property and ``<system-out>`` say how many resources
passed (and name the first few): a 5,000-site host has 215,000 passes, and CI servers choke on a
test case each. The file has O(rules x hosts + findings needing a look) test cases; each suite's
``resources_passed`` property keeps the host's total, so counts and trends still add up.

The XML is written as text, escaped and indented as ``xml.etree.ElementTree`` (``indent`` then
``tostring``) writes it, without building the tree: a large host has 60,000 test cases.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from operator import attrgetter
from typing import ClassVar

from ..engine.evaluate import HostResult, Report
from ..engine.findings import Finding, Outcome
from ..engine.rule import Rule
from ..hookspecs import hookimpl
from .base import Locator, by_rule, escape_controls, one_line, state

_NOT_DOTTED = re.compile(r"[^A-Za-z0-9_-]+")
_PASS, _FAIL, _ERROR = Outcome.PASS, Outcome.FAIL, Outcome.ERROR
_NOT_REVIEWED, _NOT_APPLICABLE = Outcome.NOT_REVIEWED, Outcome.NOT_APPLICABLE
COUNTS = ("tests", "failures", "errors", "skipped")
# Indentation as ElementTree.indent gives it: a child on its own line, two spaces a level.
_GROUP = 512  # pieces joined and encoded at a time by render_chunks (~0.4 MB: a buffer glibc keeps)
_IN1, _IN2, _IN3, _IN4 = ("\n" + "  " * level for level in range(1, 5))


@dataclass
class JunitReporter:
    name: str = "junit"
    lists_passes: ClassVar[bool] = False  # passes folded: counted, resources named (Reporter.lists_passes)
    extension: str = ".xml"
    description: str = "JUnit XML for Jenkins, GitLab and Azure DevOps"
    base: str | None = field(default=None, repr=False)  # evidence paths are relative to this (default: cwd)

    def render(self, report: Report) -> str:
        return "".join(self._pieces(report))

    def render_chunks(self, report: Report) -> Iterator[bytes]:
        """The document as UTF-8, `_GROUP` pieces at a time as they are made (what the CLI
        writes to a file): never held whole (47 MB on a 5,000-site host)."""
        return _encoded(self._pieces(report))

    def _pieces(self, report: Report) -> Iterator[str]:
        """The document's text in pieces, in order, made as they are taken: every count a start tag
        holds is worked out first, from the outcomes alone (`_kind`)."""
        grouped = [by_rule(host).groups for host in report.hosts]
        locator = Locator(
            (f for groups in grouped for others, _ in groups.values() for f in others if f.outcome is _FAIL),
            self.base,
        )
        counted = [_counts(host, groups) for host, groups in zip(report.hosts, grouped, strict=True)]
        totals = {key: sum(counts[key] for counts, _ in counted) for key in COUNTS}
        seconds = sum(host.seconds for host in report.hosts)
        head = '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="iisguard"'
        head += "".join(f' {key}="{value}"' for key, value in totals.items()) + f' time="{seconds:.3f}"'
        if not report.hosts:
            yield head + " />\n"
            return
        yield head + ">"
        for i, (host, groups, (counts, passed)) in enumerate(
            zip(report.hosts, grouped, counted, strict=True)
        ):
            notices = [f"{n.level}: {n.message}" for n in report.notices] if i == 0 else []
            yield _IN1
            yield from _suite(report, host, groups, counts, passed, locator, notices)
        yield "\n</testsuites>\n"


def _encoded(pieces: Iterator[str]) -> Iterator[bytes]:
    """The pieces as UTF-8, `_GROUP` of them joined at a time, each group let go once encoded."""
    while group := list(itertools.islice(pieces, _GROUP)):
        yield "".join(group).encode("utf-8")


def _kind(f: Finding) -> str:
    """The count a test case of this finding (anything but a pass) adds to: a failure, unless waived
    or baselined (skipped); missing data or a rule error is an error; not applicable is skipped."""
    outcome = f.outcome
    if outcome is _FAIL:
        return (
            "failures" if (f.waiver is None and not f.baseline_state) or state(f) == "active" else "skipped"
        )
    if outcome is _NOT_APPLICABLE:
        return "skipped"
    return "errors"  # not reviewed, or the rule errored


def _counts(
    host: HostResult, groups: dict[str, tuple[list[Finding], list[Finding]]]
) -> tuple[dict[str, int], int]:
    """A host's `<testsuite>` counts, and how many resources passed, before any of its text is made."""
    counts = dict.fromkeys(COUNTS, 0)
    collection = len(host.failed_sections) + len(host.gaps)  # one error case each
    counts["tests"] = counts["errors"] = collection
    passed = 0
    for others, passes in groups.values():
        counts["tests"] += len(others) + (1 if passes else 0)  # a rule's passes fold into one case
        passed += len(passes)
        for f in others:
            counts[_kind(f)] += 1
    return counts, passed


def _suite(
    report: Report,
    host: HostResult,
    groups: dict[str, tuple[list[Finding], list[Finding]]],
    counts: dict[str, int],
    passed: int,
    locator: Locator,
    notices: list[str],
) -> Iterator[str]:
    """One host's `<testsuite>` in pieces; `counts` and `passed` are its `_counts`."""
    # Attributes in the order readers expect, counts first.
    attrs = "".join(f' {key}="{count}"' for key, count in counts.items())
    timestamp = _attr((report.started_at or "").rstrip("Z"))
    yield (
        f'<testsuite name="{_attr(_x(host.host))}"{attrs} time="{host.seconds:.3f}" '
        f'timestamp="{timestamp}" hostname="{_attr(_x(host.host))}">'
    )
    yield f"{_IN2}<properties>"
    for key, value in (
        ("snapshot", locator.relative(host.snapshot_path) if host.snapshot_path else None),
        ("source", host.source),
        ("collected_at", host.collected_at),
        ("fail_on", report.fail_on.value if report.fail_on else "never"),
        ("tool_version", report.tool_version),
    ):
        if value:
            yield f'{_IN3}<property name="{key}" value="{_attr(_x(value))}" />'
    yield f'{_IN3}<property name="resources_passed" value="{passed}" />'
    yield f"{_IN2}</properties>"
    for section in host.failed_sections:
        detail = str(section.get("message") or "no message")
        yield _case(
            _classname("collection", host.host),
            _x(f"section {section.get('name')}"),
            _leaf(
                "error",
                (("message", _x(f"collection section failed: {detail}")), ("type", "collection")),
                _x(detail),
            ),
        )
    for gap in host.gaps:
        yield _case(
            _classname("collection", host.host),
            "collection",
            _leaf("error", (("message", _x(gap)), ("type", "collection")), _x(gap)),
        )
    # By rule (in id order): its other outcomes by resource, then its passes folded into one case.
    # Only the first few passes by resource are named (a large host has 215,000 passes).
    classes: dict[str, str] = {}  # pack -> the classname attribute, escaped
    plain: dict[str, str | None] = {}  # host or evidence path -> `_text` of it, None when not printable
    for rule_id in sorted(groups):
        others, passes = groups[rule_id]
        rule = report.rules.get(rule_id)
        parts = _RuleText(rule)
        default_pack = rule.pack if rule else ""
        # The name is `_attr(_x(f"{rule_id} {resource}"))`, the rule's part escaped once: both map
        # each character alone, and no "\r\n" (which `_x` folds) can straddle the space.
        named = _attr(_x(f"{rule_id} "))
        for f in sorted(others, key=_resource):
            resource = f.resource
            # Text with no control character needs only markup escaped (`_x` would return it as is):
            # the resource so escaped serves both the name and the details (58,000 on a large host).
            if resource.isprintable():
                escaped = _text(resource)
                name = escaped.replace('"', "&quot;") if '"' in escaped else escaped
            else:
                escaped, name = None, _attr(_x(resource))
            outcome, child = f.outcome, None
            if escaped is None:
                pass
            elif outcome is _FAIL:
                if f.waiver is None and not f.baseline_state:
                    child = _active_failure(f, escaped, parts, locator, plain)
            elif outcome is _NOT_REVIEWED:
                child = _not_reviewed(f, escaped, plain)
            elif outcome is _NOT_APPLICABLE:
                child = _not_applicable(f)
            if child is None:
                child = _outcome_element(f, rule, parts, locator)
            pack = f.pack or default_pack
            classname = classes.get(pack)
            if classname is None:
                classname = classes[pack] = _attr(_classname(pack, host.host))
            yield f'{_IN2}<testcase classname="{classname}" name="{named}{name}">{_IN3}{child}{_IN2}</testcase>'
        if passes:
            # sorted()[:n] is what heapq.nsmallest gives, at C speed (nsmallest loops in Python).
            yield _folded_passes(report, host, sorted(passes, key=_resource)[:SHOWN_PASSES], len(passes))
    if notices:
        yield f"{_IN2}{_leaf('system-out', (), _x(chr(10).join(notices)))}"
    yield f"{_IN1}</testsuite>"


SHOWN_PASSES = 20

_resource = attrgetter("resource")


def _case(classname: str, name: str, child: str) -> str:
    """One `<testcase>` holding one child element (already written at its depth)."""
    return (
        f'{_IN2}<testcase classname="{_attr(classname)}" name="{_attr(name)}">{_IN3}{child}{_IN2}</testcase>'
    )


def _leaf(tag: str, attrs: tuple[tuple[str, str], ...], text: str | None = None) -> str:
    """An element without children, as ElementTree writes it (`<a b="c" />` when it has no text)."""
    start = "<" + tag + "".join(f' {key}="{_attr(value)}"' for key, value in attrs)
    return f"{start}>{_text(text)}</{tag}>" if text else start + " />"


def _folded_passes(report: Report, host: HostResult, passes: list[Finding], total: int) -> str:
    """One passing test case for all the `total` resources one rule passed on one host (`passes`:
    the first of them by resource, up to SHOWN_PASSES)."""
    f = passes[0]
    rule = report.rules.get(f.rule_id)
    classname = _classname(f.pack or (rule.pack if rule else ""), host.host)
    names = ", ".join(p.resource for p in passes[:SHOWN_PASSES])
    more = f", and {total - SHOWN_PASSES} more" if total > SHOWN_PASSES else ""
    noun = "resource" if total == 1 else "resources"
    text = _x(f"{total} {noun} passed {f.rule_id} on {host.host}: {names}{more}")
    return (
        f'{_IN2}<testcase classname="{_attr(classname)}" name="{_attr(f"{f.rule_id} (passing resources)")}">'
        f'{_IN3}<properties>{_IN4}<property name="resources_passed" value="{total}" />{_IN3}</properties>'
        f"{_IN3}{_leaf('system-out', (), text)}{_IN2}</testcase>"
    )


def _outcome_element(f: Finding, rule: Rule | None, parts: _RuleText, locator: Locator) -> str:
    """The child that says how this test case (of anything but a pass) went (its count: `_kind`)."""
    outcome = f.outcome
    if outcome is _NOT_REVIEWED:
        message = _x(f.message)
        text = _x(f"{f.rule_id} could not judge {f.resource} on {f.host}: ") + message
        return f'<error message="not reviewed: {_attr(message)}" type="not_reviewed">{_text(text)}</error>'
    if outcome is _NOT_APPLICABLE:
        message = _x(f"not applicable: {f.message}" if f.message else "not applicable")
        return f'<skipped message="{_attr(message)}" />'
    if outcome is _ERROR:
        message = _x(f.message or "rule errored")
        return _leaf("error", (("message", message), ("type", "error")), _x(f.message))
    if f.waiver is None and not f.baseline_state:  # an active failure: most of a report
        message = _x(_one_line(f.message or (rule.title if rule else f.rule_id)))
        return (
            f'<failure message="{_attr(message)}" type="{f.severity._value_}">'  # a word: nothing to escape
            f"{_text(_active_details(f, parts, locator))}</failure>"
        )
    how = state(f)
    details = _details(f, parts, locator)
    if how == "waived" and f.waiver is not None:
        w = f.waiver
        message = _x(f"waived until {w.expires}: {w.reason}")
        return _leaf("skipped", (("message", message),), _x(f"Waiver owner: {w.owner}\n\n{details}"))
    if how == "baselined":
        message = _x(f"in the baseline ({f.baseline_state}): {f.message}")
        return _leaf("skipped", (("message", message),), _x(details))
    message = _x(_one_line(f.message or (rule.title if rule else f.rule_id)))
    return f'<failure message="{_attr(message)}" type="{_attr(f.severity._value_)}">{_text(_x(details))}</failure>'


class _RuleText:
    """What the text of each failure of one rule says of the rule: `head` (its id and title) and
    `tail` (its remediation and where to read more), as written and escaped (`_x`) once."""

    def __init__(self, rule: Rule | None) -> None:
        self.head = self.tail = ""
        if rule is not None:
            self.head = f"Rule: {rule.id} {rule.title}\n"
            if rule.remediation.strip():
                self.tail += f"\n\nRemediation:\n{rule.remediation.strip()}"
            if rule.help_uri:
                self.tail += f"\n\nSee: {rule.help_uri}"
        self.head_x = _x(self.head)
        self.tail_x = _x(self.tail)
        # As character data (`_text` maps each character alone, so parts escape one by one).
        self.head_t = _text(self.head_x)
        self.tail_t = _text(self.tail_x)


def _details(f: Finding, parts: _RuleText, locator: Locator) -> str:
    """The text of a failure: what, where, and what to do (not escaped)."""
    loc = locator.locate(f)
    text = (
        f"{f.message}\n\n{parts.head}Severity: {f.severity._value_}\nHost: {f.host}\nResource: {f.resource}\n"
        f"Evidence: {loc.path}:{loc.line}"
    )
    if f.waiver is not None and f.waiver.expired:
        text += f"\nWaiver expired on {f.waiver.expires} (owner {f.waiver.owner}): {f.waiver.reason}"
    if f.baseline_state:
        text += f"\nBaseline: {f.baseline_state}"
    return text + parts.tail


def _active_details(f: Finding, parts: _RuleText, locator: Locator) -> str:
    """`_x(_details(...))` of a failure without waiver or baseline state, escaping only what varies.

    When the message, host, resource and path need no escape (str.isprintable(): no control,
    format or bidi character, no line end), the rule's parts are taken escaped as they are: no
    "\r\n" can straddle a part (`_x` folds it to "\n"), since a part from the rule ends in "\n" or
    starts after a line number, and `_x` otherwise maps each character alone.
    """
    loc = locator.locate(f)
    message, host, resource, path = f.message, f.host, f.resource, loc.path
    if not (message.isprintable() and host.isprintable() and resource.isprintable() and path.isprintable()):
        return _x(_details(f, parts, locator))
    return (
        f"{message}\n\n{parts.head_x}Severity: {f.severity._value_}\nHost: {host}\nResource: {resource}\n"
        f"Evidence: {path}:{loc.line}{parts.tail_x}"
    )


def _active_failure(
    f: Finding, resource: str, parts: _RuleText, locator: Locator, plain: dict[str, str | None]
) -> str | None:
    """The `<failure>` of an active failure whose message, host and evidence path hold no control
    character (`resource`: its resource, printable, as character data); None for other failures.

    What `_outcome_element` writes, escaping only what varies: for printable text `_one_line`
    gives printable text and `_x` returns it as is, so markup is all there is to escape, and
    `_text` maps each character alone (the rule's parts are escaped once, in `parts`).
    """
    message = f.message
    if not message:
        return None
    if one_line(message):  # SARIF asks the same of each failure's message
        single = True
    elif message.isprintable():
        single = False
    else:
        return None
    host = _plain_text(plain, f.host)
    loc = locator.locate(f)
    path = _plain_text(plain, loc.path)
    if host is None or path is None:
        return None
    text = _text(message)
    shown = text if single else _text(" ".join(message.split()))  # as _one_line
    if '"' in shown:
        shown = shown.replace('"', "&quot;")
    severity = f.severity._value_  # a word: nothing to escape
    return (
        f'<failure message="{shown}" type="{severity}">{text}\n\n{parts.head_t}Severity: {severity}\n'
        f"Host: {host}\nResource: {resource}\nEvidence: {path}:{loc.line}{parts.tail_t}</failure>"
    )


def _plain_text(plain: dict[str, str | None], value: str) -> str | None:
    """`value` as character data when it is printable (None when not), remembered in `plain`: a
    large host's cases repeat a few hosts, rule ids and evidence paths."""
    text = plain.get(value, "")
    if text == "":
        text = plain[value] = _text(value) if value.isprintable() else None
    return text


def _not_reviewed(f: Finding, resource: str, plain: dict[str, str | None]) -> str | None:
    """`_outcome_element`'s `<error>` of a not-reviewed finding whose message, host and rule id are
    printable (`resource`: its resource, printable, as character data); else None."""
    message = f.message
    if not message.isprintable():
        return None
    host = _plain_text(plain, f.host)
    rule_id = _plain_text(plain, f.rule_id)
    if host is None or rule_id is None:
        return None
    text = _text(message)
    shown = text.replace('"', "&quot;") if '"' in text else text
    return (
        f'<error message="not reviewed: {shown}" type="not_reviewed">'
        f"{rule_id} could not judge {resource} on {host}: {text}</error>"
    )


def _not_applicable(f: Finding) -> str | None:
    """`_outcome_element`'s `<skipped>` of a not-applicable finding with a printable message; else None."""
    message = f.message
    if not message:
        return '<skipped message="not applicable" />'
    if not message.isprintable():
        return None
    text = _text(message)
    if '"' in text:
        text = text.replace('"', "&quot;")
    return f'<skipped message="not applicable: {text}" />'


@lru_cache(maxsize=1024)  # one per pack and host, asked once per finding
def _classname(pack: str, host: str) -> str:
    """`iisguard.<pack>.<host>`: dots separate the parts only, so CI trees group by pack, then host."""
    parts = ("iisguard", pack or "rules", host or "unknown")
    return ".".join(_NOT_DOTTED.sub("_", p).strip("_") or "_" for p in parts)


def _one_line(text: str) -> str:
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text  # the common case: no whitespace but single spaces between words
    return " ".join(text.split())


def _x(text: str) -> str:
    """XML 1.0 forbids most control characters even as references: show them as escapes instead
    (escape_controls returns printable text as it is, without a regular expression)."""
    return escape_controls(text)


def _text(text: str) -> str:
    """Character data escaped as ElementTree escapes it."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _attr(text: str) -> str:
    """An attribute value escaped as ElementTree escapes it (line ends and tabs as references, so
    a parser reads them back instead of normalising them to spaces)."""
    text = _text(text)
    if '"' in text:
        text = text.replace('"', "&quot;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    if "\n" in text:
        text = text.replace("\n", "&#10;")
    if "\t" in text:
        text = text.replace("\t", "&#09;")
    return text


REPORTER = JunitReporter()


@hookimpl
def iisguard_register_reporters():
    return {"junit": REPORTER}

"""What reporters share: the Reporter protocol, where a finding's evidence is, and orderings.

Every reporter receives the same :class:`~iisguard.engine.evaluate.Report` and returns the whole
document as a string; the CLI writes it atomically.
"""

from __future__ import annotations

import itertools
import json
import os
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import filterfalse
from operator import attrgetter
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from ..engine.evaluate import HostResult, Report
from ..engine.findings import Finding, Outcome, Severity
from ..model import jsonpos
from ..redact import printable


class Reporter(Protocol):
    """An output format. `render` returns the whole document; the CLI writes it atomically.

    Optional: `lists_passes = False` says the format never shows where a pass stands (its
    `pointer` or `evidence`; counting passes or naming their resources is fine). When no output of
    a scan lists passes, the engine skips finding those (a tenth of a large host's scan); a
    reporter without the attribute gets every pass whole.
    """

    name: str
    extension: str
    description: str

    def render(self, report: Report) -> str: ...


def json_text(data: Any) -> str:
    """Indented JSON with UTF-8 kept. orjson when installed: the stdlib encoder is pure Python once
    `indent` is set, seconds for a fleet's findings; both write the same text."""
    return json_bytes(data).decode("utf-8")


def json_bytes(data: Any) -> bytes:
    """`json_text` as UTF-8 bytes, which orjson writes: a large report is not decoded only for the
    CLI to encode it again (a reporter offers them as `render_bytes`)."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is optional (the `fast` extra)
        return (json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n").encode("utf-8")
    try:
        # The newline by orjson: appended to the text, it would copy a large report once more.
        option = orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
        return orjson.dumps(data, option=option, default=str)
    except TypeError:  # a key that is not a string, an integer beyond 64 bits: let json decide
        return (json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n").encode("utf-8")


def placeholder() -> str:
    """A string that stands in a document for an array `json_chunks` writes in its place."""
    return f"@@iisguard-items-{uuid.uuid4().hex}@@"


def json_chunks(
    document: Any, arrays: dict[str, Iterable[Any]], *, batch: int = 256
) -> Iterator[bytes | memoryview] | None:
    """`json_bytes(document)` in pieces, each `placeholder()` value in it replaced by the array of
    the items `arrays` gives for it, which are made, encoded and let go a batch at a time as the
    pieces are taken: a large host's 29,000 SARIF results or 59,000 JSON findings are never all
    held as dicts, nor their text as one buffer (21,000 fewer page faults for the two).

    Byte for byte what `json_bytes` writes: a batch is encoded inside as many lists as the array
    is deep, so that orjson indents its items as it would in place, and cut out of them. None
    when orjson is missing or cannot encode the document; the caller then builds it whole."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is optional (the `fast` extra)
        return None
    try:
        head = orjson.dumps(document, option=orjson.OPT_INDENT_2, default=str)
    except TypeError:  # a key that is not a string, an integer beyond 64 bits: json_bytes decides
        return None
    places: list[tuple[int, int, Iterable[Any]]] = []
    for mark, items in arrays.items():
        quoted = f'"{mark}"'.encode()
        at = head.find(quoted)
        if at < 0 or head.find(quoted, at + 1) >= 0:
            return None  # not in the document once as a value: nothing to splice safely
        places.append((at, len(quoted), items))
    places.sort(key=lambda place: place[0])
    return _spliced(head, places, batch)


def _spliced(
    head: bytes, places: list[tuple[int, int, Iterable[Any]]], batch: int
) -> Iterator[bytes | memoryview]:
    view = memoryview(head)
    start = 0
    for at, size, items in places:
        yield view[start:at]
        line = head.rfind(b"\n", 0, at) + 1
        indent = len(head[line:at]) - len(head[line:at].lstrip(b" "))
        yield from _array(items, indent, batch)
        start = at + size
    yield view[start:]
    yield b"\n"


def _array(items: Iterable[Any], indent: int, batch: int) -> Iterator[bytes | memoryview]:
    """The JSON text of a list of `items` whose line starts `indent` spaces in, as orjson's
    OPT_INDENT_2 writes it there: `[]`, or its items a level deeper and `]` on a line of its own."""
    import orjson

    depth = indent // 2 + 1  # the lists around a batch that put its items at indent + 2
    opening = b"".join(b" " * (2 * i) + b"[\n" for i in range(depth))
    closing = b"".join(b"\n" + b" " * (2 * i) + b"]" for i in reversed(range(depth)))
    iterator = iter(items)
    first = True
    while chunk := list(itertools.islice(iterator, batch)):
        wrapped: Any = chunk
        for _ in range(depth - 1):
            wrapped = [wrapped]
        try:
            text = orjson.dumps(wrapped, option=orjson.OPT_INDENT_2, default=str)
        except TypeError:  # as json_bytes: what orjson refuses, json writes in the same layout
            text = json.dumps(wrapped, indent=2, ensure_ascii=False, default=str).encode("utf-8")
        del chunk, wrapped  # the batch's dicts go before the next batch is made
        yield b"[\n" if first else b",\n"
        yield memoryview(text)[len(opening) : len(text) - len(closing)]
        first = False
    yield b"[]" if first else b"\n" + b" " * indent + b"]"


SEVERITIES = tuple(sorted(Severity, key=lambda s: -s.rank))  # critical first


def escape_controls(text: str) -> str:
    """Show control and bidi characters as `\\xNN` (`\\uNNNN`) so data from a server cannot inject any
    (newlines and tabs stay); the one home is `iisguard.redact.printable`."""
    # Text that str.isprintable() accepts (once newlines and tabs are set aside) holds none of the
    # characters printable() escapes (controls, format and bidi characters, line and paragraph
    # separators, surrogates, non-characters are all unprintable to it): no regular expression for
    # the 200,000 strings of a large host's JUnit report. tests/test_report_base.py checks every code point.
    if text.isprintable() or ("\r" not in text and text.replace("\n", " ").replace("\t", " ").isprintable()):
        return text
    return printable(text.replace("\r\n", "\n"), keep_newlines=True)


@lru_cache(maxsize=1 << 15)
def one_line(text: str) -> bool:
    """Whether `text` is printable (str.isprintable: no control, format or bidi character, no line
    end) with single spaces between words and none at either end: a sentence SARIF and JUnit show
    as it is. Cached: both ask it of every failure's message (29,000 on a large host, 200
    characters each), and a string's hash, which the cache computes, costs a fifth of the check."""
    return text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " "


@dataclass(frozen=True)
class ByRule:
    """A host's findings by rule: `groups[rule_id]` = (its other outcomes, its passes), rules in the
    order they first appear, each list in the host's order; `states`: whether any finding has a
    baseline state (only with --baseline)."""

    groups: dict[str, tuple[list[Finding], list[Finding]]]
    states: bool


def by_rule(host: HostResult) -> ByRule:
    """The host's findings by rule (see ByRule), walked once for SARIF, JUnit and JSON together and
    for the host's counts (HostResult.by_rule): a large host has 336,000 findings, 88% of them
    passes. The lists are shared, so reporters never change them."""
    groups, states = host.by_rule()
    return ByRule(groups, states)


_FAIL = Outcome.FAIL  # a module name: EnumType.__getattr__ is slow on 3.11


def state(finding: Finding) -> str:
    """How a failure counts: `active`, `waived` or `baselined`; other outcomes are their own value."""
    if finding.outcome is not _FAIL:
        return finding.outcome._value_  # `.value` is a property, and a large host has 300,000 passes
    if finding.waiver is None and finding.baseline_state is None:
        return "active"  # most failures: neither property below needs asking
    if finding.suppressed:
        return "waived"
    if not finding.active_failure:
        return "baselined"
    return "active"


def sort_key(finding: Finding) -> tuple[int, str, str, str]:
    """Most severe first, then rule, host and resource: the order every reporter lists findings in."""
    # From a table: `.rank` is a property (a member hashes by identity, at C speed).
    return (_NEGATIVE_RANK[finding.severity], finding.rule_id, finding.host.upper(), finding.resource)


_NEGATIVE_RANK = {s: -s.rank for s in Severity}


def logical_name(finding: Finding) -> str:
    """A readable address such as `WEB01/iis/app_pools/Payroll`: host, kind of object, resource.

    Array indexes are left out of the pointer because they move between image builds, and a
    resource key that already starts with the kind (`app_pools/Payroll`) is not repeated.
    """
    pointer = finding.pointer
    kind = _kind(pointer) if pointer else ()
    host, resource = finding.host, finding.resource
    if "/" not in resource:  # most resources: the kind can only end with the resource itself
        if kind and kind[-1] == resource:
            kind = kind[:-1]
    elif resource.partition("/")[0] in kind:  # else no end of the kind is where the resource starts
        first = tuple(resource.split("/"))
        for k in range(min(len(kind), len(first)), 0, -1):
            if kind[-k:] == first[:k]:
                kind = kind[: len(kind) - k]
                break
    if host and resource and all(kind):
        return "/".join([host, *kind, resource])
    return "/".join([p for p in (host, *kind, resource) if p])


# A pointer without its last index -> the kinds in it: `/iis/settings/8123` and `/iis/settings/8124`
# are both `iis/settings` (a large host's SARIF names 29,000 results, in a few dozen such places).
_KINDS: dict[str, tuple[str, ...]] = {}


def _kind(pointer: str) -> tuple[str, ...]:
    """The parts of a JSON pointer that are not array indexes, unescaped."""
    head, _, last = pointer.rpartition("/")
    if not last.isdigit():
        return _kind_of(pointer)
    kind = _KINDS.get(head)
    if kind is None:
        if len(_KINDS) >= 4096:  # a few dozen on a large host: keep it small whatever comes
            _KINDS.clear()
        kind = _KINDS[head] = _kind_of(head)
    return kind


def _kind_of(pointer: str) -> tuple[str, ...]:
    parts = pointer.split("/")[1:]
    if "~" in pointer:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in parts]
    return tuple(filterfalse(str.isdigit, parts))


@dataclass(frozen=True)
class Location:
    """A file that shows a finding, as a URI relative to the working directory, and a 1-based line."""

    uri: str
    line: int
    path: str  # the same file as a relative path with forward slashes (unquoted)


def artifact_uri(finding: Finding, base: str | os.PathLike[str] | None = None) -> tuple[str, int]:
    """(relative path, line) of the file that shows one finding; see :class:`Locator` for many."""
    loc = Locator([finding], base).locate(finding)
    return loc.path, loc.line


class Locator:
    """Finds the file and line behind each finding of a report, reading each snapshot file once.

    The captured artifact named by the finding's evidence wins when it exists next to the snapshot;
    otherwise the finding points at the snapshot file itself, at the line of `finding.pointer` in
    it. Those lines are computed once per snapshot file for all its pointers.

    With `confine`, a file outside the base is never named with `../` (GitHub code scanning cannot
    resolve such a URI against the repository): an artifact outside falls back to its snapshot, and
    a snapshot outside is named by an absolute ``file://`` URI (listed in :attr:`outside`).
    """

    def __init__(
        self,
        findings: Iterable[Finding],
        base: str | os.PathLike[str] | None = None,
        *,
        confine: bool = False,
    ) -> None:
        self.root = Path(base or os.getcwd()).resolve()
        self.confine = confine
        self.outside: set[str] = set()  # snapshot files outside the base (with `confine`)
        self._artifacts: dict[tuple[str | None, str], str | None] = {}  # (snapshot, artifact) -> path or None
        self._relatives: dict[str, str] = {}  # snapshot path -> relative path
        self._lines: dict[str, dict[str, int]] = {}  # snapshot path -> pointer -> line
        self._uris: dict[str, str] = {}  # relative path -> URI (every finding of a host has the same)
        # snapshot path -> (URI, path) as findings name it; (URI, line) -> Location: a large host has
        # 336,000 findings in one file, and a compact snapshot puts them all on its line 1.
        self._snapshots: dict[str, tuple[str, str]] = {}
        self._places: dict[str, tuple[str, str, dict[str, int] | None, dict[int, Location]]] = {}
        self._locations: dict[tuple[str, int], Location] = {}
        findings = list(findings)
        # Every pointer of a file on one line (a compact snapshot) is on its line 1: nothing to gather
        # for its findings (59,000 of a large host's, for each report); an artifact is looked for when
        # a finding is located.
        files = set(map(_snapshot_path, findings))
        one_line = {snap for snap in files if snap and _on_one_line(snap)}
        if one_line and files <= one_line:
            return
        wanted: dict[str, set[str]] = {}
        for f in findings:
            snap = f.snapshot_path
            if f.location is None and snap and f.pointer is not None and snap not in one_line:
                evidence = f.evidence  # most findings have none: no call to look for its artifact
                if evidence is None or not evidence.artifact or self._artifact(f) is None:
                    wanted.setdefault(snap, set()).add(f.pointer)
        for snap, pointers in wanted.items():
            self._lines[snap] = _pointer_lines(snap, pointers)

    def locate(self, finding: Finding) -> Location:
        if finding.location is not None:  # located when its shard was scanned (relative to the cwd)
            where, line = finding.location
            rel = self.relative(where)
            if self.confine and _outside(rel):
                self.outside.add(finding.snapshot_path or where)
                absolute = Path(where).resolve()
                return Location(absolute.as_uri(), line, absolute.as_posix())
            return Location(self._uri(rel), line, rel)
        evidence = finding.evidence
        snap = finding.snapshot_path
        if evidence is not None and evidence.artifact:
            try:
                path = self._artifacts[(snap, evidence.artifact)]
            except KeyError:  # not looked for yet
                path = self._artifact(finding)
            if path is not None:
                return self._at(self._uri(path), _line(evidence.line), path)
        if snap:
            # (URI, path, pointer -> line, line -> Location) of the snapshot file: one look-up here
            # for each of the 117,000 locations a large host's three reports ask for.
            place = self._places.get(snap)
            if place is None:
                uri, path = self._snapshot(snap)
                place = self._places[snap] = (uri, path, self._lines.get(snap), {})
            pointer = finding.pointer
            lines = place[2]
            line = lines.get(pointer, 1) if lines is not None and pointer is not None else 1
            loc = place[3].get(line)
            if loc is None:
                loc = place[3][line] = self._at(place[0], line, place[1])
            return loc
        return Location("snapshot.json", 1, "snapshot.json")  # a report built in memory, not from files

    def _at(self, uri: str, line: int, path: str) -> Location:
        """The Location of a line of a file (one object for all the findings on it)."""
        loc = self._locations.get((uri, line))
        if loc is None:
            loc = self._locations[(uri, line)] = Location(uri, line, path)
        return loc

    def _snapshot(self, snap: str) -> tuple[str, str]:
        """(URI, path) naming a snapshot file: relative to the base, or (confined) absolute outside it."""
        path = self.relative(snap)
        if self.confine and _outside(path):
            self.outside.add(snap)
            absolute = Path(snap).resolve()
            where = (absolute.as_uri(), absolute.as_posix())
        else:
            where = (self._uri(path), path)
        self._snapshots[snap] = where
        return where

    def _artifact(self, finding: Finding) -> str | None:
        """The evidence artifact relative to the base, when that file exists."""
        evidence = finding.evidence
        if evidence is None or not evidence.artifact:
            return None
        key = (finding.snapshot_path, evidence.artifact)
        try:
            return self._artifacts[key]
        except KeyError:
            snap_dir = Path(finding.snapshot_path).resolve().parent if finding.snapshot_path else self.root
            target = snap_dir / _native(evidence.artifact)
            path = _relative(target, self.root) if target.is_file() else None
            if path is not None and self.confine and _outside(path):
                path = None  # the snapshot (with the line of the object) rather than a `../` URI
            self._artifacts[key] = path
            return path

    def _uri(self, path: str) -> str:
        uri = self._uris.get(path)
        if uri is None:
            uri = self._uris[path] = quote(path, safe="/")
        return uri

    def relative(self, path: str) -> str:
        """A file path (a snapshot) relative to the base, with forward slashes."""
        if path not in self._relatives:
            self._relatives[path] = _relative(Path(path), self.root)
        return self._relatives[path]


def _outside(relative: str) -> bool:
    """Whether a path made by `_relative` leaves the base (`../`, or another drive's absolute path)."""
    first = relative.split("/", 1)[0]
    return first == ".." or (len(first) == 2 and first[1] == ":")  # `..`, or `C:` from another drive


def _line(value: object) -> int:
    try:
        return max(1, int(value))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 1


def _native(artifact: str) -> str:
    # Captures made on Windows may name artifacts with backslashes.
    return artifact.replace("\\", "/")


def _relative(target: Path, root: Path) -> str:
    try:
        rel = target.resolve().relative_to(root)
    except ValueError:
        try:
            rel = Path(os.path.relpath(target.resolve(), root))
        except ValueError:  # another drive on Windows: nothing relative exists
            return target.resolve().as_posix().lstrip("/")
    return rel.as_posix()


# (path, size, mtime) -> (pointer -> line, where array elements start), shared by the reporters of
# one run: a scan writing SARIF, JUnit and JSON reads a large snapshot for its lines once, not three
# times. Only the last few files are kept, so a fleet's report does not hold every file's lines.
_LINES: OrderedDict[tuple[str, int, int], tuple[dict[str, int], dict[str, tuple[list[int], int]]]] = (
    OrderedDict()
)
_KEEP_FILES = 4


def _remembered(snapshot: str) -> tuple[dict[str, int], dict[str, tuple[list[int], int]]]:
    """The lines found so far in an unchanged snapshot file, and its layout (`_LINES`); OSError when
    it cannot be read."""
    st = os.stat(snapshot)
    key = (os.path.abspath(snapshot), st.st_size, st.st_mtime_ns)
    known, layout = _LINES.pop(key) if key in _LINES else ({}, {})
    _LINES[key] = (known, layout)  # the most recent last
    while len(_LINES) > _KEEP_FILES:
        _LINES.popitem(last=False)
    return known, layout


def _on_one_line(snapshot: str) -> bool:
    try:
        return jsonpos.on_one_line(snapshot, _remembered(snapshot)[1])
    except OSError:
        return False


_snapshot_path = attrgetter("snapshot_path")


def _pointer_lines(snapshot: str, pointers: set[str]) -> dict[str, int]:
    try:
        known, layout = _remembered(snapshot)
        missing = pointers - known.keys()
        if missing:  # a one-line (compact) file is not read whole, and only once
            known.update(jsonpos.file_lines_of(snapshot, missing, layout=layout))
    except OSError:
        return {}
    return known  # every pointer asked for, and those other reports of this run asked for


@dataclass(frozen=True)
class Unreviewed:
    """Not-reviewed outcomes of one host for one cause, as one line of a report.

    `sections` are the snapshot sections that were missing (all with the same status and
    collection message: an unreachable host is one line, not one per section); empty when rules
    judged some resources and lacked data for others (then `rules` holds that one rule).
    """

    host: str
    sections: tuple[str, ...]
    status: str  # "failed", "absent", "partial"; "" for resource-level gaps
    detail: str  # the collection message of the section, or the first finding's message
    rules: tuple[str, ...]
    count: int  # not-reviewed outcomes behind this line

    @property
    def text(self) -> str:
        if self.sections:
            what = f"section{'s' if len(self.sections) > 1 else ''} {', '.join(self.sections)} {self.status}"
            why = f" ({self.detail})" if self.detail else ""
            rules = _listing(self.rules)
            return f"{what}{why}: {len(self.rules)} rule(s) not reviewed: {rules}"
        return f"{self.rules[0]}: {self.count} resource(s) not reviewed: {self.detail}"


def _listing(items: tuple[str, ...], keep: int = 6) -> str:
    shown = ", ".join(items[:keep])
    return f"{shown}, … (+{len(items) - keep})" if len(items) > keep else shown


def not_reviewed_groups(report: Report) -> list[Unreviewed]:
    """Every not-reviewed outcome of a report, one line per host and missing section (see Unreviewed)."""
    out: list[Unreviewed] = []
    for host in report.hosts:
        messages = {str(s.get("name")): str(s.get("message") or "") for s in host.sections}
        by_cause: dict[tuple[str, str], dict[str, set[str]]] = {}  # (status, message) -> section -> rules
        by_rule: dict[str, list[Finding]] = {}
        for f in host.findings:
            if f.outcome is not Outcome.NOT_REVIEWED:
                continue
            missing = f.properties.get("missing_sections")
            if isinstance(missing, dict) and missing:
                for section, status in missing.items():
                    cause = (str(status), messages.get(str(section), ""))
                    by_cause.setdefault(cause, {}).setdefault(str(section), set()).add(f.rule_id)
            else:
                by_rule.setdefault(f.rule_id, []).append(f)
        for (status, message), sections in sorted(by_cause.items()):
            rules = sorted(set().union(*sections.values()))
            out.append(
                Unreviewed(host.host, tuple(sorted(sections)), status, message, tuple(rules), len(rules))
            )
        for rule_id, findings in sorted(by_rule.items()):
            out.append(Unreviewed(host.host, (), "", findings[0].message, (rule_id,), len(findings)))
    return out


@dataclass(frozen=True)
class SectionProblem:
    """Failed or partial collection sections of one host that share a status and a message."""

    status: str
    message: str
    sections: tuple[str, ...]

    @property
    def text(self) -> str:
        names = ", ".join(self.sections)
        what = f"section{'s' if len(self.sections) > 1 else ''} {names} {self.status}"
        return f"{what}: {self.message}" if self.message else what


def section_problems(host: HostResult) -> list[SectionProblem]:
    """A host's failed and partial sections, one entry per cause (an unreachable host is one line)."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for s in host.sections:
        status = str(s.get("status"))
        if status in ("failed", "partial"):
            grouped.setdefault((status, str(s.get("message") or "")), []).append(str(s.get("name")))
    return [SectionProblem(status, message, tuple(names)) for (status, message), names in grouped.items()]

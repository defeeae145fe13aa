"""What every parser shares: artifacts (decoded, hashed, streamed), the Parser protocol, the snapshot Builder."""

from __future__ import annotations

import codecs
import hashlib
import itertools
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import IO, Any, Protocol

from ..errors import CaptureError
from ..model import sids
from ..redact import printable, redact

# Artifacts larger than this are refused (icacls /T listings of huge trees stream, so the limit is generous).
MAX_ARTIFACT_BYTES = int(os.environ.get("IISGUARD_MAX_ARTIFACT_BYTES", str(2 * 1024 * 1024 * 1024)))
# Whole-text formats (XML, JSON) are read into memory; they have their own, lower limit.
MAX_DOCUMENT_BYTES = int(os.environ.get("IISGUARD_MAX_DOCUMENT_BYTES", str(256 * 1024 * 1024)))
HEAD_BYTES = 64 * 1024
# An import written to a file keeps at most this many parsed ACLs in memory; the others wait in a
# temporary file (an `icacls /T` listing of a whole drive holds millions).
SPILL_ACLS = int(os.environ.get("IISGUARD_SPILL_ACLS", "10000"))
_EOL = re.compile(r"\r\n|\r|\n")
# A line longer than this is cut (with a warning): no real listing has one, and a hostile 300 MB
# line would otherwise be held, and handed to every regular expression of a parser, whole.
MAX_LINE_CHARS = int(os.environ.get("IISGUARD_MAX_LINE_CHARS", str(1024 * 1024)))
MAX_NOTES = 100


def sniff_encoding(head: bytes) -> tuple[str, int]:
    """(codec, BOM length) from the first bytes: BOMs first, then NUL patterns of BOM-less UTF-16."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8", 3
    if head.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le", 2
    if head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be", 2
    sample = head[:4096]
    if len(sample) >= 4:
        even_nuls = sample[0::2].count(0)
        odd_nuls = sample[1::2].count(0)
        half = len(sample) // 2
        if odd_nuls > half * 0.4 and even_nuls < half * 0.1:
            return "utf-16-le", 0
        if even_nuls > half * 0.4 and odd_nuls < half * 0.1:
            return "utf-16-be", 0
    try:
        head.decode("utf-8")
        return "utf-8", 0
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the head boundary is still UTF-8.
        if exc.start >= len(head) - 4:
            return "utf-8", 0
        return _single_byte(sample), 0


# What a non-UTF-8 capture may be: the ANSI code page, or the console's OEM code page that cmd.exe and
# `>` redirection of console programs write in (850 Western Europe, 437 US, 866 Cyrillic, 932 Japanese).
_CODEPAGES = ("cp1252", "cp850", "cp437", "cp866", "cp1251", "cp932")


def _single_byte(sample: bytes) -> str:
    """The code page under which the most known localized words (non-ASCII) appear; cp1252 on a tie.

    `AUTORITE NT\\Système` written in cp850 reads `SystŠme` as cp1252: only cp850 yields the word.
    """
    vocabulary = _vocabulary()
    best, best_hits = "cp1252", 0
    for codec in _CODEPAGES:
        text = sample.decode(codec, "replace").casefold()
        hits = sum(text.count(word) for word in vocabulary)
        if hits > best_hits:
            best, best_hits = codec, hits
    return best


@lru_cache(maxsize=1)
def _vocabulary() -> tuple[str, ...]:
    from ..model import names

    words = {n.casefold() for group in names.LOCALIZED.values() for n in group}
    words |= set(names.BUILTIN_DOMAINS)
    # whoami /priv states and other words consoles print in these languages
    words |= {"aktiviert", "désactivé", "activé", "включен", "отключен", "有効", "無効"}
    return tuple(sorted(w for w in words if not w.isascii()))


@dataclass
class Artifact:
    """One captured file: where it is, how it is recorded in the snapshot, and its decoded text."""

    source: Path  # the file on disk
    path: str  # as recorded in the snapshot (relative to the snapshot's folder, POSIX separators)
    hint: dict[str, Any] = field(default_factory=dict)  # manifest facts: {"token_identity": "..."}
    data: bytes | None = None  # in-memory content (remote collection), instead of `source`
    # A command block cut from a pasted transcript (capture/blocks.py) starts on this line of the file
    # `path` names: console.numbered() and text() number its lines as in that file.
    first_line: int = 1
    notes: list[tuple[int | None, str]] = field(default_factory=list)  # see lines()

    @cached_property
    def size(self) -> int:
        return len(self.data) if self.data is not None else self.source.stat().st_size

    @cached_property
    def head_bytes(self) -> bytes:
        if self.data is not None:
            return self.data[:HEAD_BYTES]
        with self.source.open("rb") as fh:
            return fh.read(HEAD_BYTES)

    @cached_property
    def encoding(self) -> tuple[str, int]:
        return sniff_encoding(self.head_bytes)

    @cached_property
    def head(self) -> str:
        """The first 64 KB as text, for format detection."""
        codec, bom = self.encoding
        return self.head_bytes[bom:].decode(codec, "replace")

    @cached_property
    def paste_indent(self) -> str:
        """The indentation every line of a paste carries (a Markdown code block, a ticket quoting it), else "".

        Judged on the head: at least five non-blank lines, every one starting with the same run of two
        or more spaces or tabs. lines() takes it off each line that has it, so parsers read the paste
        as the console printed it (icacls continuation lines keep their own, deeper indentation).
        """
        found = [line for line in _EOL.split(self.head)[:-1] if line.strip()]
        if len(found) < 5:
            return ""
        common = found[0][: len(found[0]) - len(found[0].lstrip(" \t"))]
        for line in found[1:]:
            while common and not line.startswith(common):
                common = common[:-1]
            if len(common) < 2:
                return ""
        return common

    @cached_property
    def sha256(self) -> str:
        h = hashlib.sha256()
        if self.data is not None:
            h.update(self.data)
        else:
            with self.source.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
        return h.hexdigest()

    def check_size(self, limit: int = MAX_ARTIFACT_BYTES) -> None:
        if self.size > limit:
            raise CaptureError(
                f"file is {self.size:,} bytes, over the {limit:,}-byte limit for this format", where=self.path
            )

    def lines(self) -> Iterator[str]:
        """Decoded lines without line endings, streamed (CRLF, LF and lone CR all end a line).

        Linear in the file whatever its shape: only each new chunk is split, and a line still open
        at a chunk's end is kept as pieces, joined once when it ends. A line over MAX_LINE_CHARS keeps
        its first MAX_LINE_CHARS characters; a line holding NUL characters keeps the text before the
        first one (a NUL glued into a path would make another path). Both are noted in `notes`, which
        the importer turns into warnings.
        """
        self.check_size()
        codec, bom = self.encoding
        indent = self.paste_indent
        decoder = codecs.getincrementaldecoder(codec)("replace")
        chunks = iter([self.data[bom:]]) if self.data is not None else _file_chunks(self.source, bom)
        pieces: list[str] = []  # the open line, in pieces
        held = 0  # characters in pieces
        cut = False  # the open line went over MAX_LINE_CHARS
        no = 0

        def add(text: str) -> None:
            nonlocal held, cut
            take = text[: max(0, MAX_LINE_CHARS - held)]
            if take:
                pieces.append(take)
                held += len(take)
            cut = cut or len(take) < len(text)

        def finish(last: str) -> str:
            nonlocal held, cut, no
            add(last)
            line = "".join(pieces) if len(pieces) != 1 else pieces[0]
            if indent and line.startswith(indent):
                line = line[len(indent) :]
            no += 1
            at = no + self.first_line - 1  # a command block cut from a paste numbers as in its file
            if cut:
                self.note(at, f"line longer than {MAX_LINE_CHARS:,} characters; the rest of it was not read")
            if "\0" in line:
                self.note(at, "line holds NUL characters; the text from the first one on was not read")
                line = line.split("\0", 1)[0]
            pieces.clear()
            held, cut = 0, False
            return line

        skip_lf = False  # a CRLF split across two chunks
        for chunk in itertools.chain(chunks, [None]):
            text = decoder.decode(chunk) if chunk is not None else decoder.decode(b"", final=True)
            if skip_lf and text.startswith("\n"):
                text = text[1:]
            if text:
                skip_lf = text[-1] == "\r"
                parts = _EOL.split(text)
                tail = parts.pop()  # after the last line end ("" when the text ends with one)
                for part in parts:
                    yield finish(part)
                if tail:
                    add(tail)
        if pieces or cut:
            yield finish("")

    def note(self, line: int | None, message: str) -> None:
        """Something the reader itself had to cut (a very long line, NUL characters): a warning later."""
        if len(self.notes) < MAX_NOTES:
            self.notes.append((line, message))

    def text(self, limit: int = MAX_DOCUMENT_BYTES) -> str:
        """The whole decoded text, for formats that need the document at once (XML, JSON)."""
        self.check_size(limit)
        codec, bom = self.encoding
        raw = self.data if self.data is not None else self.source.read_bytes()
        # Blank lines in place of the lines before a block keep whole-document parsers' line numbers right.
        return "\n" * (self.first_line - 1) + raw[bom:].decode(codec, "replace")


def _file_chunks(path: Path, skip: int) -> Iterator[bytes]:
    with path.open("rb") as fh:
        fh.read(skip)
        # Even-sized chunks keep UTF-16 code units whole.
        yield from iter(lambda: fh.read(1 << 20), b"")


class Parser(Protocol):
    """A parser for one artifact format (see hookspecs.iisguard_register_parsers)."""

    kind: str
    sections: tuple[str, ...]

    def detect(self, head: str, name: str) -> float:
        """Confidence 0..1 that text starting with `head` (file name `name`, a hint only) is this format."""
        ...

    def parse(self, artifact: Artifact, builder: Builder) -> None:
        """Add the artifact's facts to the builder; report skipped lines with builder.warn()."""
        ...


class ArtifactRun:
    """One artifact being read: the file (`a`), the snapshot being built (`b`), and what the file has
    said so far. A format's subclass adds its state in ``__init__`` and reads the file in ``run()``."""

    def __init__(self, artifact: Artifact, builder: Builder) -> None:
        self.a = artifact
        self.b = builder
        self.problems = 0  # lines that could not be read: the format decides what that makes its section

    def run(self) -> None:
        raise NotImplementedError

    def warn(self, line: int | None, message: str, *, problem: bool = False) -> None:
        """A warning on a line of this file; `problem` also counts it in `problems`."""
        if problem:
            self.problems += 1
        self.b.warn(self.a, line, message)

    def hint(self, key: str) -> str | None:
        """A text fact the capture manifest gives about this file (`acl_path`, `spn_query`, ...), else None."""
        value = self.a.hint.get(key) if isinstance(self.a.hint, dict) else None
        return value if isinstance(value, str) else None


class RunParser:
    """The skeleton of the line-reading parsers: `kind`, `sections` and `detect()` on a stateless
    object (shared by every import), and a fresh `reader` run per artifact, holding that file's state.

    A format subclasses it with its kind, sections and detect(), and is registered as
    ``XParser(reader=_Run)`` where ``_Run`` is its ArtifactRun.
    """

    kind: str = ""
    sections: tuple[str, ...] = ()

    def __init__(self, reader: type[ArtifactRun]) -> None:
        self.reader = reader

    def detect(self, head: str, name: str) -> float:
        raise NotImplementedError

    def parse(self, artifact: Artifact, builder: Builder) -> None:
        self.reader(artifact, builder).run()


def _norm_name(name: str) -> str:
    return name.strip().casefold()


class Builder:
    """Assembles one snapshot from many artifacts; merges principals by SID, else by DOMAIN\\name."""

    def __init__(self, host: str | None = None, *, spill: bool = False) -> None:
        self.host: dict[str, Any] = {"name": host} if host else {}
        self._spill_allowed = spill  # only an import that writes a file can stream ACLs back out
        self._spill: IO[bytes] | None = None
        self.spilled = 0  # ACLs in the spill file; data["acls"] holds the ones after them
        self.host_candidates: list[str] = []
        # Host names the content itself gives (a remote prompt, `hostname`, systeminfo, `User accounts for
        # \\\\HOST`): name -> the files that give it. Two of them in one import are two machines.
        self.host_evidence: dict[str, list[str]] = {}
        self.reading: str | None = None  # the file being read, for host_evidence
        self.artifacts: list[dict[str, Any]] = []
        self.sections: dict[str, dict[str, Any]] = {}
        self.warnings: list[dict[str, Any]] = []
        self.unrecognized: list[dict[str, Any]] = []
        self.truncated: set[str] = set()  # artifacts read up to a cut (xmlsafe): their sections are partial
        self.data: dict[str, Any] = {}
        self._principals: list[dict[str, Any]] = []
        self._by_sid: dict[str, dict[str, Any]] = {}
        self._by_name: dict[str, dict[str, Any]] = {}
        # What build scripts state (capture/scripts/declared.py), when a script parser read a file.
        self.declared: Any = None

    # -- bookkeeping ----------------------------------------------------------------------------
    def warn(self, artifact: Artifact | str | None, line: int | None, message: str) -> None:
        """Record a warning; the message may quote the capture, so it is redacted and escaped here."""
        path = artifact.path if isinstance(artifact, Artifact) else artifact
        self.warnings.append({"artifact": path, "line": line, "message": printable(redact(message))})

    def section(self, name: str, status: str, message: str = "") -> None:
        """Record a section's status; a worse status never gets overwritten by a better one."""
        order = {"ok": 0, "partial": 1, "failed": 2, "absent": -1}
        old = self.sections.get(name)
        if old is None or order[status] >= order[old["status"]]:
            entry = {"name": name, "status": status}
            if message:  # a capture.yaml or server message: it may quote a failed command line
                entry["message"] = printable(redact(message))
            self.sections[name] = entry

    def artifact(self, artifact: Artifact, kind: str) -> None:
        self.artifacts.append(
            {"path": artifact.path, "kind": kind, "sha256": artifact.sha256, "bytes": artifact.size}
        )

    def evidence(self, artifact: Artifact, line: int | None) -> dict[str, Any]:
        return {"artifact": artifact.path, "line": line}

    def suggest_host(self, name: str, *, evidence: bool = False) -> None:
        """A host name the captured data suggests; `evidence` when the content says it is the machine it
        was captured on (a prompt, `hostname`), not merely an account name that may carry an old name."""
        if name and name not in self.host_candidates:
            self.host_candidates.append(name)
        if name and evidence:
            files = self.host_evidence.setdefault(name.upper(), [])
            where = self.reading or "?"
            if where not in files:
                files.append(where)

    # -- ACLs -----------------------------------------------------------------------------------
    def add_acl(self, acl: dict[str, Any]) -> None:
        """Append a finished ACL. With spilling on, every SPILL_ACLS held ACLs go to a temporary file."""
        acls = self.data.setdefault("acls", [])
        acls.append(acl)
        if self._spill_allowed and len(acls) >= SPILL_ACLS:
            if self._spill is None:
                self._spill = tempfile.TemporaryFile(prefix="iisguard-acls-")  # noqa: SIM115 - closed by close()
            dump = _line_dumper()
            self._spill.writelines(dump(a) for a in acls)
            self.spilled += len(acls)
            acls.clear()  # the same list: parsers holding it keep appending in order

    def spilled_acls(self) -> Iterator[dict[str, Any]]:
        """The spilled ACLs in the order they were added (data["acls"] holds the ones after them)."""
        if self._spill is None:
            return
        loads: Any
        try:
            from orjson import loads
        except ImportError:  # pragma: no cover - orjson is optional
            from json import loads
        self._spill.flush()
        self._spill.seek(0)
        for line in self._spill:
            yield loads(line)

    def close(self) -> None:
        """Drop the spill file (a TemporaryFile: the system removes it even if this is never called)."""
        if self._spill is not None:
            self._spill.close()
            self._spill = None

    # -- principals -----------------------------------------------------------------------------
    def principal(self, name: str | None = None, sid: str | None = None, **facts: Any) -> dict[str, Any]:
        """Find or create the principal for a name and/or SID, then merge facts into it.

        Lists (member_of, spns, sources, members) are unioned; other facts fill gaps, and a later
        source overrides only values that were None.
        """
        if sid:
            sid = sids.normalize_sid(sid)
        elif name:
            sid = sids.well_known_sid(name)
        entry = None
        if sid:
            entry = self._by_sid.get(sid)
        if entry is None and name:
            entry = self._by_name.get(_norm_name(name))
            if entry is not None and sid and entry.get("sid") and entry["sid"] != sid:
                entry = None  # same name, different account (e.g. a local and a domain 'svc')
        if entry is None:
            entry = {}
            self._principals.append(entry)
        if name and not entry.get("name"):
            entry["name"] = name
        if sid and not entry.get("sid"):
            entry["sid"] = sid
        if entry.get("sid"):
            self._by_sid[entry["sid"]] = entry
        if name:
            self._by_name.setdefault(_norm_name(name), entry)
        for key, value in facts.items():
            if value is None:
                continue
            if isinstance(value, list):
                merged = entry.setdefault(key, [])
                for item in value:
                    if item not in merged:
                        merged.append(item)
            elif isinstance(value, dict) and isinstance(entry.get(key), dict):
                for k, v in value.items():
                    if v is not None and entry[key].get(k) is None:
                        entry[key][k] = v
            elif entry.get(key) is None or (key == "kind" and entry[key] == "unknown"):
                entry[key] = value  # a guessed "unknown" kind is a gap that a source which knows fills
        if "kind" not in entry:
            entry["kind"] = _guess_kind(entry)
        return entry

    def find_principal(self, ref: str) -> dict[str, Any] | None:
        """The principal already recorded for a SID or name, or None."""
        if sids.is_sid(ref):
            return self._by_sid.get(sids.normalize_sid(ref))
        return self._by_name.get(_norm_name(ref))

    def rename_principal(self, old: str, name: str, sid: str | None) -> dict[str, Any]:
        """A principal recorded under a name that turned out to be another account (a bare pool name is
        `IIS APPPOOL\\<pool>`, a bare local group `HOST\\<group>`): its facts move to that account, merged
        by SID (by name when the account has none)."""
        entry = self._by_name.get(_norm_name(old))
        if entry is not None and not entry.get("sid"):
            self._by_name.pop(_norm_name(old), None)
            self._principals = [p for p in self._principals if p is not entry]
            facts = {k: v for k, v in entry.items() if k not in ("name", "sid", "kind")}
            return self.principal(name, sid, **facts)
        return self.principal(name, sid)

    @property
    def principals(self) -> list[dict[str, Any]]:
        return self._principals

    # -- result ---------------------------------------------------------------------------------
    def finish(self, *, source: str, tool_version: str, collected_at: str) -> dict[str, Any]:
        host = dict(self.host)
        if not host.get("name"):
            host["name"] = self.host_candidates[0] if self.host_candidates else "unknown"
        shown = printable(str(host["name"]))
        if shown != host["name"]:
            # No Windows host name holds control or bidi characters; a capture that sends them wants
            # to drive a terminal or forge a line in every report that names the host (#18, case 17).
            self.warn(None, None, f"the host name holds control or bidi characters; kept escaped as {shown}")
            host["name"] = shown
        snapshot: dict[str, Any] = {
            "schema_version": "1.0",
            "host": host,
            "collection": {
                "source": source,
                "tool_version": tool_version,
                "collected_at": collected_at,
                "artifacts": self.artifacts,
                "sections": list(self.sections.values()),
                "warnings": self.warnings,
                "unrecognized": [
                    {**u, "reason": printable(redact(str(u.get("reason", ""))))} for u in self.unrecognized
                ],
            },
        }
        snapshot.update(self.data)
        if self._principals:
            snapshot["principals"] = self._principals
        return snapshot


def _line_dumper() -> Any:
    """One JSON line per object, orjson when installed."""
    try:
        import orjson

        return lambda obj: orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)
    except ImportError:  # pragma: no cover - orjson is optional
        import json

        return lambda obj: (json.dumps(obj, ensure_ascii=False) + "\n").encode("utf-8")


def _guess_kind(p: dict[str, Any]) -> str:
    sid = p.get("sid") or ""
    name = (p.get("name") or "").casefold()
    if sid in sids.NAME_OF or sid.startswith("S-1-5-32-"):
        return "builtin"
    if sid.startswith((sids.APPPOOL_PREFIX, sids.NT_SERVICE_PREFIX)) or name.startswith(
        ("iis apppool\\", "nt service\\")
    ):
        return "virtual"
    return "unknown"

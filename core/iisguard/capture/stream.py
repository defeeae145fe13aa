"""The capture stream: what the capture script prints with -Stream (remote collection reads it).

    IISGUARD-CAPTURE 1 host=<NAME>
    IISGUARD-SECTION name=<section> status=<ok|partial|failed|absent> message=<text>
    IISGUARD-FILE name=<relative/path> bytes=<n> sha256=<hex>
    <base64 of the file's raw bytes, wrapped at 76 characters per line>
    IISGUARD-END-FILE
    ... (more SECTION / FILE blocks, any order)
    IISGUARD-DONE files=<n>

Version 2 (what the capture script prints since collection keeps partial output) orders the same
blocks so that a cut stream still means something: each section's FILE blocks come first, then
its SECTION line, which marks the section complete; FILE lines also carry `kind=` and `facts=`
(percent-encoded JSON) and an `IISGUARD-HOST facts=<json>` line carries the host facts, so the
files of complete sections can be imported without capture.yaml, which comes last.
`decode(..., partial=True)` returns those complete sections of a version-2 stream that stops early
(deadline, quota, cut connection) instead of raising; `CaptureStream.stopped` then says where.

Header values are percent-encoded (RFC 3986, UTF-8). The decoder ignores noise before the CAPTURE
line and after DONE, tolerates CRLF and blank lines, and raises CollectionError on truncation, a
size or sha256 mismatch, or bad base64. The folder the script writes without -Stream holds the same
files; its capture.yaml travels in the stream as a FILE too, so file kinds and token owners survive.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from .. import yamlsource
from ..errors import CollectionError

VERSION = "1"
VERSIONS = ("1", "2")
WRAP = 76
MANIFEST = "capture.yaml"
STATUSES = ("ok", "partial", "failed", "absent")
_HEADER = re.compile(r"^IISGUARD-(CAPTURE|SECTION|FILE|END-FILE|DONE|HOST)(?:\s+(.*))?$")


@dataclass
class CaptureStream:
    host: str | None
    files: list[tuple[str, bytes]] = field(default_factory=list)
    sections: list[dict[str, Any]] = field(default_factory=list)
    version: str = VERSION
    host_facts: dict[str, Any] = field(default_factory=dict)  # the HOST line (version 2)
    file_facts: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> kind and facts (version 2)
    stopped: str | None = None  # partial decode: why the rest is missing (None: the stream is whole)

    @property
    def manifest(self) -> dict[str, Any] | None:
        """capture.yaml from the stream, parsed, if the script sent one."""
        for name, data in self.files:
            if name.replace("\\", "/").casefold() == MANIFEST:
                loaded = yamlsource.safe_load(data.decode("utf-8-sig", "replace"))
                return loaded if isinstance(loaded, dict) else None
        return None


def _value(text: str) -> str:
    return quote(text, safe="")


def _pairs(rest: str | None, where: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for token in (rest or "").split():
        key, sep, value = token.partition("=")
        if not sep:
            raise CollectionError(f"capture stream: malformed header field {token[:40]!r}", where=where)
        out[key] = unquote(value)
    return out


# The capture folder's top-level directories and the section whose files they hold (version 2).
FOLDER_SECTIONS = {
    "iis": "iis",
    "webconfig": "web_configs",
    "acls": "acls",
    "user_rights": "user_rights",
    "tokens": "tokens",
    "local_accounts": "local_accounts",
    "services": "services",
    "ad": "ad",
    "spns": "spns",
}


def _file_block(name: str, data: bytes, extra: str = "") -> list[str]:
    lines = [
        f"IISGUARD-FILE name={_value(name)} bytes={len(data)} sha256={hashlib.sha256(data).hexdigest()}{extra}"
    ]
    b64 = base64.b64encode(data).decode("ascii")
    lines.extend(b64[i : i + WRAP] for i in range(0, len(b64), WRAP))
    lines.append("IISGUARD-END-FILE")
    return lines


def encode_v2(folder: Path, host: str | None = None, sections: list[dict[str, Any]] | None = None) -> str:
    """What the capture script prints for a capture folder with version 2: section by section.

    Files go with the section their top-level folder names (FOLDER_SECTIONS); each section's
    SECTION line follows its files; capture.yaml and DONE come last.
    """
    folder = Path(folder)
    manifest: dict[str, Any] = {}
    if (folder / MANIFEST).is_file():
        loaded = yamlsource.safe_load((folder / MANIFEST).read_text("utf-8-sig"))
        manifest = loaded if isinstance(loaded, dict) else {}
    host = host or manifest.get("host") or folder.resolve().name
    if sections is None:
        sections = [s for s in manifest.get("sections") or [] if isinstance(s, dict)]
    facts_by_path = {
        str(f.get("path", "")).replace("\\", "/").casefold(): {k: v for k, v in f.items() if k != "path"}
        for f in manifest.get("files") or []
        if isinstance(f, dict)
    }
    head = {k: manifest[k] for k in ("host_facts", "environment", "session") if manifest.get(k)}
    lines = [f"IISGUARD-CAPTURE 2 host={_value(str(host))}"]
    lines.append(f"IISGUARD-HOST facts={_value(json.dumps(head, default=str))}")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)
    by_section: dict[str, list[Path]] = {}
    for path in files:
        top = path.relative_to(folder).parts[0]
        by_section.setdefault(FOLDER_SECTIONS.get(top, top), []).append(path)
    reported = {str(s.get("name")): s for s in sections}
    order = list(dict.fromkeys([*FOLDER_SECTIONS.values(), *reported, *by_section]))
    count = 0
    for name in order:
        for path in by_section.get(name, []):
            rel = path.relative_to(folder).as_posix()
            facts = dict(facts_by_path.get(rel.casefold(), {}))
            kind = facts.pop("kind", "")
            extra = f" kind={_value(str(kind))}" if kind else ""
            if facts:
                extra += f" facts={_value(json.dumps(facts, default=str))}"
            lines.extend(_file_block(rel, path.read_bytes(), extra))
            count += 1
        if name in reported or name in by_section:
            s = reported.get(name, {"name": name, "status": "ok"})
            lines.append(
                f"IISGUARD-SECTION name={_value(name)} status={_value(str(s.get('status', 'ok')))} "
                f"message={_value(str(s.get('message', '')))}"
            )
    if (folder / MANIFEST).is_file():
        lines.extend(_file_block(MANIFEST, (folder / MANIFEST).read_bytes()))
        count += 1
    lines.append(f"IISGUARD-DONE files={count}")
    return "\r\n".join(lines) + "\r\n"


def encode(folder: Path, host: str | None = None, sections: list[dict[str, Any]] | None = None) -> str:
    """What the capture script prints for a capture folder (host and sections default to its capture.yaml)."""
    folder = Path(folder)
    manifest: dict[str, Any] = {}
    if (folder / MANIFEST).is_file():
        loaded = yamlsource.safe_load((folder / MANIFEST).read_text("utf-8-sig"))
        manifest = loaded if isinstance(loaded, dict) else {}
    host = host or manifest.get("host") or folder.resolve().name
    if sections is None:
        sections = [s for s in manifest.get("sections") or [] if isinstance(s, dict)]
    lines = [f"IISGUARD-CAPTURE {VERSION} host={_value(str(host))}"]
    for s in sections:
        lines.append(
            f"IISGUARD-SECTION name={_value(str(s.get('name', '')))} status={_value(str(s.get('status', '')))} "
            f"message={_value(str(s.get('message', '')))}"
        )
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    for path in files:
        data = path.read_bytes()
        name = path.relative_to(folder).as_posix()
        lines.append(
            f"IISGUARD-FILE name={_value(name)} bytes={len(data)} sha256={hashlib.sha256(data).hexdigest()}"
        )
        b64 = base64.b64encode(data).decode("ascii")
        lines.extend(b64[i : i + WRAP] for i in range(0, len(b64), WRAP))
        lines.append("IISGUARD-END-FILE")
    lines.append(f"IISGUARD-DONE files={len(files)}")
    return "\r\n".join(lines) + "\r\n"


def _json_field(fields: dict[str, str], key: str, where: str) -> dict[str, Any]:
    text = fields.get(key)
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        raise CollectionError(f"capture stream: {key}= is not JSON", where=where) from None
    return value if isinstance(value, dict) else {}


def decode(text: str, where: str = "capture stream", *, partial: bool = False) -> CaptureStream:
    """Parse the script's output; see the module docstring for what is tolerated and what is refused.

    With `partial`, a version-2 stream that stops before DONE (or is damaged after its last
    complete section) yields its complete sections, with `stopped` saying what happened.
    """
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip().startswith("IISGUARD-CAPTURE")), None)
    if start is None:
        raise CollectionError("no IISGUARD-CAPTURE line: this is not capture-script output", where=where)
    m = _HEADER.match(lines[start].strip())
    head = (m.group(2) if m else "") or ""
    version, _, rest = head.partition(" ")
    if version not in VERSIONS:
        raise CollectionError(
            f"capture stream version {version or '?'} is not supported (expected {' or '.join(VERSIONS)})",
            where=where,
        )
    stream = CaptureStream(host=_pairs(rest, where).get("host") or None, version=version)
    complete = [0]  # files that belong to complete sections (version 2)
    try:
        if _read(stream, lines, start + 1, where, complete):
            return stream
        raise CollectionError(
            f"output truncated after {len(stream.files)} files (no IISGUARD-DONE line)", where=where
        )
    except CollectionError as exc:
        if not partial or version == "1":
            raise
        del stream.files[complete[0] :]
        stream.file_facts = {k: v for k, v in stream.file_facts.items() if k in dict(stream.files)}
        stream.stopped = str(exc).removeprefix(f"{where}: ")
        return stream


def _read(stream: CaptureStream, lines: list[str], i: int, where: str, complete: list[int]) -> bool:
    """Fill `stream` from lines[i:]; True at DONE. complete[0]: how many files complete sections hold."""
    current: dict[str, Any] | None = None
    chunks: list[str] = []
    while i < len(lines):
        raw = lines[i].strip()
        i += 1
        if current is not None:
            if raw == "IISGUARD-END-FILE":
                name = current["name"]
                stream.files.append((name, _file_bytes(current, chunks, where)))
                facts = _json_field(current, "facts", where)
                if current.get("kind"):
                    facts["kind"] = current["kind"]
                if facts:
                    stream.file_facts[name] = facts
                current, chunks = None, []
            elif raw.startswith("IISGUARD-"):
                raise CollectionError(
                    f"file {current['name']!r} is not closed by IISGUARD-END-FILE "
                    f"(output truncated after {len(stream.files)} files)",
                    where=where,
                )
            elif raw:
                chunks.append(raw)
            continue
        if not raw:
            continue
        m = _HEADER.match(raw)
        if m is None:
            continue  # noise between blocks (a warning the shell printed)
        word, fields = m.group(1), _pairs(m.group(2), where)
        if word == "SECTION":
            status = fields.get("status", "")
            if not fields.get("name") or status not in STATUSES:
                raise CollectionError(f"capture stream: bad SECTION line {raw[:80]!r}", where=where)
            entry = {"name": fields["name"], "status": status}
            if fields.get("message"):
                entry["message"] = fields["message"]
            stream.sections.append(entry)
            complete[0] = len(stream.files)
        elif word == "HOST":
            stream.host_facts = _json_field(fields, "facts", where)
        elif word == "FILE":
            if not fields.get("name"):
                raise CollectionError("capture stream: FILE without a name", where=where)
            current = fields
        elif word == "DONE":
            expected = fields.get("files", "")
            if not expected.isdigit() or int(expected) != len(stream.files):
                raise CollectionError(
                    f"capture stream announces {expected or '?'} files but holds {len(stream.files)}",
                    where=where,
                )
            return True
        elif word == "CAPTURE":
            raise CollectionError("capture stream: a second IISGUARD-CAPTURE line before DONE", where=where)
    return False


def _file_bytes(fields: dict[str, str], chunks: list[str], where: str) -> bytes:
    name = fields["name"]
    try:
        data = base64.b64decode("".join(chunks), validate=True)
    except (binascii.Error, ValueError):
        raise CollectionError(f"file {name!r}: bad base64", where=where) from None
    expected = fields.get("bytes", "")
    if not expected.isdigit() or int(expected) != len(data):
        raise CollectionError(
            f"file {name!r}: {len(data)} bytes, the header says {expected or '?'}", where=where
        )
    digest = fields.get("sha256", "").lower()
    if digest != hashlib.sha256(data).hexdigest():
        raise CollectionError(f"file {name!r}: sha256 mismatch (damaged in transit)", where=where)
    return data

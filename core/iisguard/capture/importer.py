"""Captured files in, one validated snapshot out (`iisguard import`, and the end of remote collection).

Each file's format is detected from its content (capture.yaml or --kind may name it). Every file is
hashed and listed in collection.artifacts; a file no parser claims goes to collection.unrecognized
with the reason; every skipped or unreadable line goes to collection.warnings with file and line;
a file a parser refuses (unsafe XML, over the size limit) is a warning, and its sections become
`partial` or `failed`. The host name comes from --host, else the manifest, else the captured data,
else the folder name.

capture.yaml (written by the capture script, optional for hand-made folders)::

    host: WEB01
    collected_at: "2026-03-01T10:00:00Z"
    host_facts: {fqdn: web01.corp.example, domain: CORP, domain_joined: true,
                 os: {version: "10.0.20348"}, iis: {version: "10.0"}}
    environment: {SystemDrive: "C:", windir: "C:\\\\Windows"}
    files:                          # a list of entries, or a mapping path -> kind
      - {path: iis/applicationHost.config, kind: applicationhost_config}
      - {path: "webconfig/Default Web Site/web.config", kind: web_config, location: Default Web Site}
      - {path: spns/query-1.txt, kind: setspn, spn_query: HTTP/web01}   # other keys: parser hints
    tokens: {"tokens/whoami-apppool.txt": "IIS APPPOOL\\\\DefaultAppPool"}
    sections:
      - {name: ad, status: absent, message: the server is not domain-joined}

Paths in a manifest are relative to its folder (a bare file name also matches).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import lzma
import os
import re
import stat
import sys
import tempfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, NoReturn

import yaml

from .. import yamlsource
from ..atomic import file_kind
from ..errors import (
    CaptureError,
    CollectionError,
    IisguardError,
    LimitError,
    MissingExtra,
    PluginError,
    describe,
)
from ..model import jsonpos
from ..model import snapshot as snapmod
from ..redact import printable
from . import blocks, console, registry, secondhop
from .base import MAX_ARTIFACT_BYTES, Artifact, Builder
from .detect import CONTENT, Detection, detect, foreign, unreadable
from .scripts.declared import NOT_STATED, SOURCE, Declared

log = logging.getLogger(__name__)
MANIFEST = "capture.yaml"
MAX_ZIP_MEMBERS = 20000
# What an archive may inflate to, in total and per member relative to its compressed size (real
# captures compress 5-50x; a zip bomb 1000x). Members are extracted to a scratch folder, not memory.
MAX_ZIP_BYTES = int(os.environ.get("IISGUARD_MAX_ZIP_BYTES", str(2 * 1024 * 1024 * 1024)))
MAX_ZIP_RATIO = int(os.environ.get("IISGUARD_MAX_ZIP_RATIO", "200"))
_RATIO_FLOOR = 1024 * 1024  # small members may compress better than any ratio (a file of spaces)
MAX_LISTED = 20  # files named in an error
_ORDER = {"ok": 0, "partial": 1, "failed": 2}


class StrictImportError(CaptureError):
    """--strict and the import produced warnings or unrecognized files; the snapshot is attached."""

    def __init__(self, message: str, snapshot: dict[str, Any]) -> None:
        super().__init__(message)
        self.snapshot = snapshot


# -- manifests ----------------------------------------------------------------------------------


@dataclass
class Manifest:
    """What a capture.yaml says, with file facts keyed by relative path (casefolded)."""

    where: str = MANIFEST
    host: str | None = None
    collected_at: str | None = None
    host_facts: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    sections: list[dict[str, Any]] = field(default_factory=list)
    dropped_environment: list[str] = field(default_factory=list)
    session: dict[str, Any] = field(default_factory=dict)  # who ran the script, how (collection.session)

    @classmethod
    def from_data(cls, data: Any, where: str = MANIFEST, text: str | None = None) -> Manifest:
        """The manifest in `data` (parsed YAML); `text` (the YAML itself) lets errors name the key's line."""
        if data is None:
            return cls(where=where)
        if not isinstance(data, dict):
            raise CaptureError("a capture manifest is a mapping (host:, files:, ...)", where=where)
        _check_types(data, where, text)
        m = cls(where=where)
        m.host = _text(data.get("host"))
        collected = data.get("collected_at")
        m.collected_at = collected.isoformat() if isinstance(collected, dt.datetime) else _text(collected)
        m.host_facts = {k: _facts_text(v) for k, v in (data.get("host_facts") or {}).items()}
        env = data.get("environment")
        if isinstance(env, dict):
            for k, v in env.items():
                if v is None:
                    continue
                if str(k).casefold() in ENVIRONMENT_KEYS:
                    m.environment[str(k)] = printable(str(v))
                else:  # a compromised server could ship DB_PASSWORD here: only path variables are kept
                    m.dropped_environment.append(printable(str(k))[:60])
        files = data.get("files") or []
        if isinstance(files, dict):
            files = [{"path": k, "kind": v} for k, v in files.items()]
        for entry in files:
            if isinstance(entry, str):
                entry = {"path": entry}
            if isinstance(entry, dict) and entry.get("path"):
                m.files[_key(str(entry["path"]))] = {k: v for k, v in entry.items() if k != "path"}
        m.session = session_facts(data.get("session"))
        tokens = data.get("tokens") or {}
        for path, identity in tokens.items():
            m.files.setdefault(_key(str(path)), {})["token"] = identity
        for s in data.get("sections") or []:
            if (
                isinstance(s, dict)
                and s.get("name")
                and s.get("status") in ("ok", "partial", "failed", "absent")
            ):
                entry = {"name": str(s["name"]), "status": s["status"]}
                if s.get("message"):
                    entry["message"] = str(s["message"])
                m.sections.append(entry)
        return m

    @classmethod
    def read(cls, path: Path) -> Manifest:
        try:
            text = path.read_bytes().decode("utf-8-sig", "replace")
            data = yamlsource.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
            raise CaptureError(
                f"not valid YAML ({getattr(exc, 'problem', None) or 'syntax error'})", where=where
            ) from None
        except OSError as exc:
            raise CaptureError(f"cannot read: {exc.strerror or exc}", where=str(path)) from None
        return cls.from_data(data, where=str(path), text=text)

    def facts_for(self, relpath: str) -> dict[str, Any] | None:
        """Facts for a file, by its path below the manifest's folder, a shorter suffix of it, or its name."""
        parts = PurePosixPath(relpath.replace("\\", "/")).parts
        merged: dict[str, Any] = {}
        for i in range(len(parts)):  # the longest matching path wins for each fact
            for key, value in (self.files.get(_key("/".join(parts[i:]))) or {}).items():
                merged.setdefault(key, value)
        return merged or None

    def apply(self, artifact: Artifact, relpath: str) -> None:
        facts = self.facts_for(relpath)
        hint = artifact.hint
        if self.environment:
            hint.setdefault("environment", self.environment)
        if not facts:
            return
        # Every fact of a file entry becomes a parser hint (kind, location, spn_query, group,
        # acl_path, netbios_domain, ...); `token` is the manifest's short name for token_identity.
        for key, value in facts.items():
            if value is None or isinstance(value, (dict, list)):
                continue
            hint.setdefault(
                "token_identity" if key == "token" else str(key),
                value if isinstance(value, (bool, int)) else str(value),
            )


# The environment variables a snapshot keeps (rules expand %VAR% in paths with them); any other
# `environment:` key of a capture.yaml is dropped with a warning naming the key, never its value.
ENVIRONMENT_KEYS = frozenset(snapmod.DEFAULT_ENVIRONMENT) | {
    "programw6432",
    "commonprogramfiles",
    "commonprogramfiles(x86)",
    "commonprogramw6432",
}


# collection.session as the capture script records it (capture.ps1, "session"): each key with the
# type the snapshot schema gives it. Anything else in a capture.yaml's `session:` is left out.
_SESSION_TYPES: dict[str, tuple[type, ...]] = {
    "user": (str,),
    "elevated": (bool,),
    "administrators": (bool, type(None)),
    "ps_edition": (str,),
    "ps_version": (str,),
    "language_mode": (str,),
    "os_build": (str, int),
    "code_page": (int,),
    "oem_code_page": (int,),
    "delegated": (bool,),
    "local_groups_source": (str,),
}


def session_facts(value: Any) -> dict[str, Any]:
    """The session block of a capture (capture.yaml or the stream's HOST line), typed as the schema says."""
    out: dict[str, Any] = {}
    if not isinstance(value, dict):
        return out
    for key, types in _SESSION_TYPES.items():
        if key not in value:
            continue
        item = value[key]
        if not isinstance(item, types) or (isinstance(item, bool) and bool not in types):
            continue  # a string "yes" for elevated is not a fact we can trust
        if key == "os_build":
            item = str(item)
        out[key] = printable(item)[:200] if isinstance(item, str) else item
    return out


def _key(path: str) -> str:
    return PurePosixPath(path.replace("\\", "/").lstrip("./")).as_posix().casefold()


# What each manifest key may hold (None is always allowed); a wrong type would otherwise crash the
# import or surface as an "internal error" when the snapshot is checked against its schema.
_SCALAR = (str, int, float, dt.date)
_MANIFEST_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "host": (_SCALAR, "a host name"),
    "collected_at": (_SCALAR, "a date and time"),
    "host_facts": ((dict,), "a mapping (fqdn:, domain:, domain_joined:, ...)"),
    "environment": ((dict,), "a mapping of variable names to values"),
    "files": ((list, dict), "a list of {path:, kind:, ...} entries or a mapping of paths to kinds"),
    "tokens": ((dict,), "a mapping of file paths to identities"),
    "sections": ((list,), "a list of {name:, status:, message:} entries"),
    "session": ((dict,), "a mapping (elevated:, administrators:, ps_version:, language_mode:, ...)"),
}
_FACT_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "fqdn": ((str, int, float), "a text"),
    "domain": ((str, int, float), "a text"),
    "domain_joined": ((bool,), "true or false"),
    "is_domain_controller": ((bool,), "true or false"),
    "os": ((dict,), "a mapping (version:, build:, caption:)"),
    "iis": ((dict,), "a mapping (version:, installed:)"),
}


def _check_types(data: dict[Any, Any], where: str, text: str | None) -> None:
    def fail(key: str, label: str, expected: str, value: Any) -> None:
        line = _key_line(text, key) or _key_line(text, label.split(":", 1)[0])  # a one-line {...} mapping
        raise CaptureError(
            f"'{label}' must be {expected}, not {type(value).__name__}",
            where=f"{where}:{line}" if line else where,
        )

    for key, (types, expected) in _MANIFEST_TYPES.items():
        value = data.get(key)
        if value is not None and (
            not isinstance(value, types) or isinstance(value, bool) and types is _SCALAR
        ):
            fail(key, key, expected, value)
    _check_entries(data, where, text)
    for key, (types, expected) in _FACT_TYPES.items():
        value = (data.get("host_facts") or {}).get(key)
        if value is not None and not isinstance(value, types):
            fail(key, f"host_facts: {key}", expected, value)
        for inner, v in (value or {}).items() if isinstance(value, dict) else ():
            want: tuple[type, ...] = (bool,) if inner == "installed" else (str, int, float)
            if v is not None and (not isinstance(v, want) or isinstance(v, bool) and want != (bool,)):
                fail(key, f"host_facts: {key}: {inner}", "true or false" if want == (bool,) else "a text", v)


_STATUSES = ("ok", "partial", "failed", "absent")


def _check_entries(data: dict[Any, Any], where: str, text: str | None) -> None:
    """The entries of `sections:` and `files:`: a section named `['x']`, a section that is not a
    mapping or has no known status was dropped or imported as written (issue #18, case 18)."""

    def fail(pointer: tuple[str | int, ...], message: str) -> NoReturn:
        line = _line_at(text, pointer)
        raise CaptureError(message, where=f"{where}:{line}" if line else where)

    def kind(value: Any) -> str:
        return {dict: "a mapping", list: "a list", bool: "true or false"}.get(
            type(value), type(value).__name__
        )

    sections = data.get("sections")
    for i, entry in enumerate(sections if isinstance(sections, list) else []):
        at: tuple[str | int, ...] = ("sections", i)
        if not isinstance(entry, dict):
            fail(at, f"sections[{i}] must be a mapping {{name:, status:, message:}}, not {kind(entry)}")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            fail((*at, "name"), f"sections[{i}]: 'name' must be a section name (text), not {kind(name)}")
        status = entry.get("status")
        if status not in _STATUSES:
            shown = (
                repr(status) if isinstance(status, str) else "none given" if status is None else kind(status)
            )
            fail(
                (*at, "status"),
                f"section {name!r}: 'status' must be one of {', '.join(_STATUSES)}, not {shown}",
            )
        message = entry.get("message")
        if message is not None and not isinstance(message, (str, int, float)):
            fail((*at, "message"), f"section {name!r}: 'message' must be text, not {kind(message)}")
    files = data.get("files")
    for i, entry in enumerate(files if isinstance(files, list) else []):
        at = ("files", i)
        if isinstance(entry, dict):
            if not isinstance(entry.get("path"), str):
                fail(
                    (*at, "path"),
                    f"files[{i}]: 'path' must be a file path (text), not {kind(entry.get('path'))}",
                )
            if entry.get("kind") is not None and not isinstance(entry.get("kind"), str):
                fail(
                    (*at, "kind"),
                    f"files[{i}]: 'kind' must be a parser kind (text), not {kind(entry.get('kind'))}",
                )
        elif not isinstance(entry, str):
            fail(at, f"files[{i}] must be a path or a mapping {{path:, kind:}}, not {kind(entry)}")


def _line_at(text: str | None, pointer: tuple[str | int, ...]) -> int | None:
    """The line of a value in the manifest's YAML (the nearest parent's when it has none)."""
    if not text:
        return None
    try:
        return yamlsource.parse(text, MANIFEST).line(jsonpos.pointer(*pointer))
    except IisguardError:
        return None


def _facts_text(value: Any) -> Any:
    """A host fact with YAML's numbers (`version: 10.0`) as the text the snapshot holds."""
    if isinstance(value, dict):
        return {k: _facts_text(v) for k, v in value.items()}
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def _key_line(text: str | None, key: str) -> int | None:
    """The first line where `key:` starts (at any indent): a good pointer for a hand-written manifest."""
    pattern = re.compile(rf"^\s*(?:-\s*)?['\"]?{re.escape(key)}['\"]?\s*:")
    for no, line in enumerate((text or "").splitlines(), 1):
        if pattern.match(line):
            return no
    return None


def _text(value: Any) -> str | None:
    return str(value).strip() or None if value is not None else None


# -- building the snapshot ----------------------------------------------------------------------


def _split_where(exc: IisguardError, path: str) -> tuple[int | None, str]:
    """(line, message without the 'file:line: ' prefix) of an error raised while parsing a file."""
    message = str(exc)
    where = exc.where or ""
    if where and message.startswith(f"{where}: "):
        message = message[len(where) + 2 :]
    _, _, tail = where.rpartition(":")
    line = int(tail) if where.startswith(path) and tail.isdigit() else None
    return line, message


def build_snapshot(
    artifacts: list[Artifact],
    *,
    host: str | None = None,
    kind: str | None = None,
    manifest: Any = None,
    source: str = "import",
    sections: list[dict[str, Any]] | None = None,
    parsers: list[Any] | None = None,
    fallback_host: str | None = None,
    collected_at: str | None = None,
) -> dict[str, Any]:
    """Detect, parse and assemble artifacts into a snapshot valid against the schema."""
    data, _builder = _assemble(
        artifacts,
        host=host,
        kind=kind,
        manifest=manifest,
        source=source,
        sections=sections,
        parsers=parsers,
        fallback_host=fallback_host,
        collected_at=collected_at,
    )
    return data


def _assemble(
    artifacts: list[Artifact],
    *,
    host: str | None = None,
    kind: str | None = None,
    manifest: Any = None,
    source: str = "import",
    sections: list[dict[str, Any]] | None = None,
    parsers: list[Any] | None = None,
    fallback_host: str | None = None,
    collected_at: str | None = None,
    spill: bool = False,
    notes: list[tuple[str, str]] | None = None,
    partial: dict[str, str] | None = None,
    rejected: dict[str, str] | None = None,
) -> tuple[dict[str, Any], Builder]:
    """build_snapshot; with `spill`, ACLs past SPILL_ACLS wait in the builder's spill file (see
    `_write_spilled`) and the returned snapshot's `acls` holds only the ones after them.

    A file whose parser was chosen from its content but could not read most of its lines was not
    that format after all: the import is assembled again without it (a parser's facts cannot be
    taken back one file at a time), and the file is listed as unrecognized with the reason.
    `rejected` (path -> reason) holds those files on the second pass.
    """
    arguments = dict(
        host=host, kind=kind, manifest=manifest, source=source, sections=sections, parsers=parsers,
        fallback_host=fallback_host, collected_at=collected_at, spill=spill, notes=notes, partial=partial,
    )  # fmt: skip
    rejected = rejected or {}
    if parsers is None:  # a caller that wants the packs' parsers passes plugins.import_parsers()
        parsers = registry.builtin_parsers()
    if kind is not None:
        registry.by_kind(parsers, kind)
    m = manifest if isinstance(manifest, Manifest) else Manifest.from_data(manifest)
    for artifact in artifacts:
        m.apply(artifact, str(artifact.hint.get("relpath") or artifact.path))
    # The name is known before parsing when given or in the manifest, so every parser sees the same one
    # (local account names are qualified with it) whether the files came from a folder or a stream.
    builder = Builder(host or m.host, spill=spill)
    for key in ("fqdn", "domain", "domain_joined", "is_domain_controller", "os", "iis"):
        if m.host_facts.get(key) is not None:
            builder.host[key] = m.host_facts[key]
    if m.environment:
        builder.host["environment"] = dict(m.environment)
    for dropped in m.dropped_environment:
        builder.warn(
            m.where, None, f"environment variable {dropped!r} is not a path variable iisguard uses; not kept"
        )
    outcomes: dict[str, list[str]] = {}
    used: list[Any] = []
    guessed: list[tuple[Artifact, str]] = []  # files whose parser was chosen from the content
    pending: dict[str, str] = {}  # blocks of pastes their parser mostly could not read (see _parse_blocks)
    captures = [p for p in parsers if not is_script(p)]  # build scripts are never cut into pastes
    for artifact in artifacts:
        try:
            artifact.size, artifact.head  # noqa: B018 - read now, so an unreadable file is named here
        except OSError as exc:
            builder.unrecognized.append(
                {"path": artifact.path, "reason": f"cannot read: {exc.strerror or exc}"}
            )
            continue
        hinted = artifact.hint.get("kind")
        looks = foreign(artifact.head) if kind is None and not hinted else None
        if looks:  # a report, a snapshot, a policy: named for what it is, never split into "pastes"
            builder.unrecognized.append({"path": artifact.path, "reason": looks})
            _record(builder, artifact, "unrecognized")
            continue
        if kind is None and not hinted and artifact.path not in rejected and len(captures) < len(parsers):
            script = detect(artifact, parsers).parser
            if script is not None and is_script(
                script
            ):  # a build script is read whole, never cut into pastes
                _record(builder, artifact, script.kind)
                _parse_one(builder, script, artifact, outcomes, used)
                continue
        parts = blocks.plan(artifact, captures) if kind is None and not hinted else None
        if parts is not None:  # a paste of several commands: each block to its parser
            try:
                _parse_blocks(builder, artifact, parts, outcomes, used, rejected, pending)
            finally:
                blocks.cleanup(parts)
            continue
        found = detect(artifact, parsers if kind is not None else captures, kind=kind)
        if artifact.path in rejected:
            found = Detection(None, found.score, rejected[artifact.path])
        elif found.parser is not None and found.reason == CONTENT:
            guessed.append((artifact, found.parser.kind))
        parser = found.parser
        if kind is None and hinted and not any(p.kind == hinted for p in parsers):
            builder.warn(
                artifact,
                None,
                f"capture.yaml names kind {str(hinted)[:60]!r}, which no parser reads "
                f"(see `iisguard plugins`); {'read as ' + parser.kind if parser else 'not read'}",
            )
        if parser is None:
            builder.unrecognized.append({"path": artifact.path, "reason": found.reason})
            _record(builder, artifact, "unrecognized")
            continue
        _record(builder, artifact, parser.kind)
        builder.reading = artifact.path
        _parse_one(builder, parser, artifact, outcomes, used)
    if (guessed or pending) and not rejected:
        warned = Counter(
            w["artifact"]
            for w in {(w["artifact"], w["line"]): w for w in builder.warnings if w["line"]}.values()
        )
        for artifact, parsed_as in guessed:
            why = unreadable(artifact, warned[artifact.path])
            if why:
                rejected[artifact.path] = f"{why} as {parsed_as} output, the closest format; not imported"
        rejected.update(pending)
        if rejected:
            builder.close()
            return _assemble(artifacts, **arguments, rejected=rejected)
    if not (host or m.host) and len(builder.host_evidence) > 1:
        builder.close()
        raise SeveralHosts(dict(builder.host_evidence))
    for parser in used:
        finish = getattr(parser, "finish", None)
        if callable(finish):
            finish(builder)
    scripts = [p.kind for p in used if is_script(p)]
    if scripts:
        _refuse_mixing(builder, used)
        source = SOURCE
        Declared.of(builder).finish()
    _sections(builder, outcomes, list(m.sections) + list(sections or []), declared=bool(scripts))
    for where, message in notes or []:
        builder.warn(where, None, message)
    for which, message in (partial or {}).items():  # a folder that could not be read: nothing there is known
        for section in list(builder.sections.values()) if which == "*" else [builder.sections.get(which)]:
            if section is not None and section["status"] in ("ok", "absent" if which != "*" else "ok"):
                builder.section(section["name"], "partial", message)
    if not builder.host.get("name"):
        name = (builder.host_candidates[0] if builder.host_candidates else None) or fallback_host
        if name:
            builder.host["name"] = name
    when = collected_at or m.collected_at or _now()
    from ..version import __version__

    data = builder.finish(source=source, tool_version=__version__, collected_at=when)
    if m.session:
        data["collection"]["session"] = dict(m.session)
    problems = snapmod.problems(data)
    if problems:
        first = problems[0]
        raise CaptureError(
            f"internal error: the snapshot built from these files is not valid ({first.pointer or '/'}: {first.message}); "
            "please report it"
        )
    return data, builder


def _parse_one(
    builder: Builder, parser: Any, artifact: Artifact, outcomes: dict[str, list[str]], used: list[Any]
) -> None:
    """Run one parser on one artifact; its failure is a warning and a failed outcome for its sections."""
    if parser not in used:
        used.append(parser)
    status = "ok"
    try:
        parser.parse(artifact, builder)
        if artifact.path in builder.truncated:
            status = "partial"
    except MissingExtra:  # not this file's fault: the whole import needs the extra
        raise
    except LimitError:
        raise  # a bomb stops the import (exit 2), it is not one unreadable file among others
    except IisguardError as exc:
        line, message = _split_where(exc, artifact.path)
        builder.warn(artifact, line, message)
        status = "failed"
    except OSError as exc:
        builder.warn(artifact, None, f"cannot read: {exc.strerror or exc}")
        status = "failed"
    except SystemExit as exc:  # a pack's parser ending the process is a broken pack, never a silent exit
        raise PluginError(
            f"the {parser.kind} parser on {artifact.path}: {describe(exc)}; the pack is broken"
        ) from None
    except Exception as exc:  # noqa: BLE001 - one file's parser bug must not lose the others
        log.debug("parser %s crashed on %s", parser.kind, artifact.path, exc_info=True)
        builder.warn(
            artifact,
            None,
            f"the {parser.kind} parser failed on this file ({type(exc).__name__}); skipped",
        )
        status = "failed"
    for line, message in artifact.notes:  # what the line reader had to cut
        builder.warn(artifact, line, message)
    for section in getattr(parser, "sections", ()) or ():
        outcomes.setdefault(section, []).append(status)


def _parse_blocks(
    builder: Builder,
    artifact: Artifact,
    parts: list[blocks.Part],
    outcomes: dict[str, list[str]],
    used: list[Any],
    rejected: dict[str, str],
    pending: dict[str, str],
) -> None:
    """A paste of several commands: one artifact entry (kinds joined by '+'), each part to its parser.

    A part whose parser (chosen from its content) could not read most of its lines goes to `pending`
    (key: path#first line), and the import is assembled again with it in `rejected`: unrecognized.
    """
    kinds = dict.fromkeys(
        p.parser.kind for p in parts if p.parser is not None and f"{artifact.path}#{p.first}" not in rejected
    )
    _record(builder, artifact, "+".join(kinds) or "unrecognized")
    builder.reading = artifact.path
    for part in parts:
        for named in part.hosts:
            builder.suggest_host(named, evidence=True)
    for part in parts:
        key = f"{artifact.path}#{part.first}"
        # Only the program's name: the rest of a command line may hold a password (`net use /user:x pw`).
        what = f" ({console.clip(part.commands[0].split()[0], 40)})" if part.commands else ""
        if part.parser is None or part.artifact is None or key in rejected:
            reason = rejected.get(key) or part.reason
            builder.unrecognized.append(
                {"path": artifact.path, "reason": f"lines {part.first}-{part.last}{what}: {reason}"}
            )
            continue
        before = len(builder.warnings)
        _parse_one(builder, part.parser, part.artifact, outcomes, used)
        warned = {
            w["line"] for w in builder.warnings[before:] if w["line"] and w["artifact"] == artifact.path
        }
        why = unreadable(part.artifact, len(warned))
        if why:
            pending[key] = f"{why} as {part.parser.kind} output, the closest format; not imported"


def _write_spilled(data: dict[str, Any], builder: Builder, output: str) -> None:
    """Write a snapshot whose first ACLs were spilled: streamed, each ACL checked against the schema."""
    tail = data.get("acls") or []

    def acls() -> Iterator[dict[str, Any]]:
        for i, acl in enumerate(itertools.chain(builder.spilled_acls(), tail)):
            problems = snapmod.item_problems("acls", acl, i)
            if problems:
                first = problems[0]
                raise CaptureError(
                    f"internal error: the snapshot built from these files is not valid ({first.pointer}: "
                    f"{first.message}); please report it"
                )
            yield acl

    snapmod.save_streamed(data, output, "acls", acls())


def _record(builder: Builder, artifact: Artifact, kind: str) -> None:
    try:
        builder.artifact(artifact, kind)
    except OSError as exc:
        raise CaptureError(f"cannot read: {exc.strerror or exc}", where=artifact.path) from None


def _not_collected(section: dict[str, Any]) -> bool:
    return section["status"] == "failed" and str(section.get("message", "")).startswith("not collected:")


def is_script(parser: Any) -> bool:
    """A build-script parser (capture/scripts/): its files make a declared snapshot, not a captured one."""
    return parser is not None and getattr(parser, "declared", False) is True


def _refuse_mixing(builder: Builder, used: list[Any]) -> None:
    """What build scripts declare and what a server shows are two snapshots (compare them with `diff`)."""
    captured = sorted(
        {a["kind"] for a in builder.artifacts} - {p.kind for p in used if is_script(p)} - {"unrecognized"}
    )
    if captured:
        shown = ", ".join(a["path"] for a in builder.artifacts if a["kind"] in captured)[:300]
        raise CaptureError(
            f"build scripts and server captures ({', '.join(captured)}: {shown}) are not merged into one "
            "snapshot: import the scripts and the captures separately (iisguard diff compares them)"
        )


def _sections(
    builder: Builder,
    outcomes: dict[str, list[str]],
    reported: list[dict[str, Any]],
    *,
    declared: bool = False,
) -> None:
    for name, results in outcomes.items():
        if all(r == "ok" for r in results):
            builder.section(name, "ok")
        elif any(r in ("ok", "partial") for r in results):
            failed, cut = results.count("failed"), results.count("partial")
            why = [f"{failed} of {len(results)} file(s) could not be read"] if failed else []
            why += [f"{cut} of {len(results)} file(s) truncated (kept what was complete)"] if cut else []
            builder.section(name, "partial", "; ".join(why))
        else:
            builder.section(name, "failed", "no captured file for this section could be read")
    # A section one capture could not reach ("not collected: ..." - AD from a server without a
    # delegated credential) is replaced by another capture of it imported alongside (the script's
    # -AdOnly part run on an admin workstation); anything else keeps the worst status.
    captured = {s["name"] for s in reported if not _not_collected(s)}
    for s in reported:  # what the capture script said (a command that failed there)
        if s["status"] == "absent" and s["name"] in builder.sections:
            continue
        if _not_collected(s) and s["name"] in captured:
            continue
        builder.section(s["name"], s["status"], s.get("message", ""))
    for name, (status, message) in secondhop.explain(builder.sections).items():
        builder.sections.pop(name, None)  # the cause replaces Windows' bare error, same or worse status
        builder.section(name, status, message)
    if "principals" not in builder.sections and builder.principals and not declared:
        accounts = [builder.sections.get(n, {}).get("status") for n in ("local_accounts", "ad")]
        builder.section(
            "principals",
            "ok" if "ok" in accounts else "partial",
            "" if "ok" in accounts else "accounts named in the captures; no account listing was captured",
        )
    for name in snapmod.SECTIONS:
        if name not in builder.sections:
            builder.section(name, "absent", NOT_STATED if declared else "not captured")


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stamp(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- reading paths ------------------------------------------------------------------------------


@dataclass
class _Found:
    artifacts: list[Artifact] = field(default_factory=list)
    manifests: dict[Path, Manifest | None] = field(default_factory=dict)
    # Per artifact (by id): the host its capture names and the manifest (capture.yaml) it came with.
    owner: dict[int, tuple[str | None, Manifest | None]] = field(default_factory=dict)
    # Section statuses a capture reported (a stream's or zip's manifest), with the host they belong to.
    extra_sections: list[tuple[str | None, dict[str, Any]]] = field(default_factory=list)
    newest: float = 0.0
    # What the walk could not read or refused to follow: (where, message), and the sections it touches.
    notes: list[tuple[str, str]] = field(default_factory=list)
    partial: dict[str, str] = field(default_factory=dict)
    scratch: tempfile.TemporaryDirectory[str] | None = None  # zip members, extracted to disk
    expanded: int = 0  # bytes extracted from archives so far

    def scratch_file(self) -> Path:
        """A fresh file in the scratch folder (created on first use, removed by close())."""
        if self.scratch is None:
            self.scratch = tempfile.TemporaryDirectory(prefix="iisguard-zip-")
        return Path(self.scratch.name) / f"member-{len(os.listdir(self.scratch.name)):06d}"

    def close(self) -> None:
        if self.scratch is not None:
            self.scratch.cleanup()
            self.scratch = None

    def unreadable(self, where: str, message: str, rel: PurePosixPath | None) -> None:
        """A folder or file that could not be read: a warning, and its section (else every section)
        becomes `partial`, since what it held is unknown."""
        self.notes.append((where, message))
        top = rel.parts[0].casefold() if rel is not None and rel.parts else ""
        for name in [top] if top in snapmod.SECTIONS else ["*"]:
            self.partial.setdefault(name, f"{where}: {message}")

    def add(self, artifact: Artifact, manifest: Manifest | None, host: str | None = None) -> None:
        self.artifacts.append(artifact)
        self.owner[id(artifact)] = (host or (manifest.host if manifest else None), manifest)


def _recorded(path: Path, base: Path) -> str:
    try:
        return Path(os.path.relpath(path, base)).as_posix()
    except ValueError:  # another drive (Windows)
        return path.as_posix()


def _manifest_for(found: _Found, folder: Path, root: Path) -> Manifest | None:
    """The nearest capture.yaml from the file's folder up to the root given on the command line."""
    chain = []
    current = folder
    while True:
        chain.append(current)
        if current == root or current.parent == current:
            break
        current = current.parent
    for d in chain:
        if d not in found.manifests:
            candidate = d / MANIFEST
            found.manifests[d] = Manifest.read(candidate) if candidate.is_file() else None
        if found.manifests[d] is not None:
            return found.manifests[d]
    return None


def _files(found: _Found, item: Path, base: Path) -> Iterator[Path]:
    """Regular files below a folder, sorted, without following links out of it.

    An unreadable folder, a link leaving the folder, a FIFO or a device is reported (found.notes),
    never silently skipped nor followed: `chmod 000 acls/` must not leave the acls section `ok`, and a
    link to /etc/shadow must not be hashed into the snapshot.
    """
    root = item

    def refused(path: Path, message: str) -> None:
        found.notes.append((_recorded(path, base), message))

    def onerror(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else root
        rel = PurePosixPath(os.path.relpath(where, root).replace(os.sep, "/"))
        found.unreadable(
            _recorded(where, base),
            f"cannot read this folder ({exc.strerror or exc}); the files in it are missing",
            rel,
        )

    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror, followlinks=False):
        folder = Path(dirpath)
        for name in list(dirnames):
            sub = folder / name
            if sub.is_symlink():
                dirnames.remove(name)
                if not _inside(sub, root):
                    refused(sub, "a link to a folder outside the capture folder; not followed")
        for name in filenames:
            path = folder / name
            if path.is_symlink() and not _inside(path, root):
                refused(path, "a link to a file outside the capture folder; not followed")
                continue
            try:
                mode = path.stat().st_mode
            except OSError as exc:
                refused(path, f"cannot read: {exc.strerror or exc}")
                continue
            if not stat.S_ISREG(mode):
                refused(path, f"{file_kind(mode)}, not a file; not read")
                continue
            out.append(path)
    return iter(sorted(out))


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a link loop
        return False


def _walk(found: _Found, item: Path, base: Path, skip: set[Path]) -> None:
    root = item if item.is_dir() else item.parent
    files = _files(found, item, base) if item.is_dir() else iter([item])
    for file in files:
        rel = file.relative_to(root) if file != item else Path(file.name)
        if file.resolve() in skip or any(part.startswith(".") for part in rel.parts):
            continue
        if file.name.casefold() == MANIFEST:
            continue
        found.newest = max(found.newest, file.stat().st_mtime)
        if zipfile.is_zipfile(file):
            if file == item:
                _zip(found, file, base)
            else:
                nested = Artifact(source=file, path=_recorded(file, base))
                nested.hint["relpath"] = rel.as_posix()
                found.add(nested, _manifest_for(found, file.parent, root))
            continue
        manifest = _manifest_for(found, file.parent, root)
        artifact = Artifact(source=file, path=_recorded(file, base))
        artifact.hint["relpath"] = rel.as_posix()
        if manifest is not None:
            manifest.apply(artifact, _recorded(file, manifest_dir(found, manifest)))
        try:
            is_stream = _is_stream(artifact)
        except OSError:  # unreadable: the importer names it among the unrecognized files
            is_stream = False
        if is_stream:
            _stream(found, artifact)
            continue
        found.add(artifact, manifest)


def manifest_dir(found: _Found, manifest: Manifest) -> Path:
    return next(d for d, m in found.manifests.items() if m is manifest)


def _is_stream(artifact: Artifact) -> bool:
    head = artifact.head[:65536]
    return any(line.lstrip().startswith("IISGUARD-CAPTURE ") for line in head.splitlines()[:200])


def _stream(found: _Found, artifact: Artifact) -> None:
    """A saved capture stream (the script's -Stream output) expands into its files."""
    from . import stream as capture_stream

    try:
        decoded = capture_stream.decode(artifact.text(), where=artifact.path)
    except CollectionError as exc:
        raise CaptureError(str(exc).split(": ", 1)[-1], where=artifact.path) from None
    manifest = Manifest.from_data(decoded.manifest, where=f"{artifact.path}!/{MANIFEST}")
    for name, data in decoded.files:
        if name.casefold() == MANIFEST:
            continue
        member = Artifact(source=Path(name), path=f"{artifact.path}!/{name}", data=data)
        member.hint["relpath"] = name
        manifest.apply(member, name)
        found.add(member, manifest, decoded.host)
    host = decoded.host or manifest.host
    found.extra_sections.extend((host, s) for s in manifest.sections + decoded.sections)


def _zip(found: _Found, file: Path, base: Path) -> None:
    """A capture folder's zip: members are extracted (streamed, to a scratch folder) as zip!/member.

    A zip bomb is refused before it fills memory or disk: the declared sizes first, then the bytes
    actually inflated, against MAX_ZIP_BYTES in total and MAX_ZIP_RATIO per member; the error names
    the member. Members named with `..` or an absolute path are reported, not imported.
    """
    recorded = _recorded(file, base)
    try:
        with zipfile.ZipFile(file) as zf:
            members = [i for i in zf.infolist() if not i.is_dir()]
            if len(members) > MAX_ZIP_MEMBERS:
                raise CaptureError(
                    f"the archive holds {len(members):,} files, over the {MAX_ZIP_MEMBERS:,} limit",
                    where=recorded,
                )
            declared = 0
            for info in members:
                declared += info.file_size
                _check_inflation(info, info.file_size, declared, recorded)
            manifest = Manifest()
            for info in members:
                if PurePosixPath(info.filename).name.casefold() == MANIFEST:
                    text = _zip_member(zf, info, recorded).decode("utf-8-sig", "replace")
                    where = f"{recorded}!/{info.filename}"
                    try:
                        data = yamlsource.safe_load(text)
                    except yaml.MarkedYAMLError as exc:
                        mark = exc.problem_mark or exc.context_mark
                        raise CaptureError(
                            f"not valid YAML ({exc.problem or exc.context})",
                            where=f"{where}:{mark.line + 1}" if mark else where,
                        ) from None
                    manifest = Manifest.from_data(data, where=where, text=text)
            for info in members:
                name = info.filename
                parts = PurePosixPath(name.replace("\\", "/")).parts
                if ".." in parts or name.startswith(("/", "\\")) or ":" in (parts[0] if parts else ""):
                    found.notes.append(
                        (
                            f"{recorded}!/{printable(name)[:200]}",
                            "names a path outside the archive; not imported",
                        )
                    )
                    continue
                if PurePosixPath(name).name.casefold() == MANIFEST or any(p.startswith(".") for p in parts):
                    continue
                member = Artifact(source=_extract(found, zf, info, recorded), path=f"{recorded}!/{name}")
                member.hint["relpath"] = name
                manifest.apply(member, name)
                found.add(member, manifest)
            found.extra_sections.extend((manifest.host, s) for s in manifest.sections)
    except (zipfile.BadZipFile, OSError, yaml.YAMLError) as exc:
        raise CaptureError(f"cannot read the archive ({type(exc).__name__})", where=recorded) from None


def _check_inflation(info: zipfile.ZipInfo, size: int, total: int, recorded: str) -> None:
    """Refuse a member that inflates past the per-file, total or ratio limits (sizes so far)."""
    name = printable(info.filename)[:200]
    if size > MAX_ARTIFACT_BYTES:
        raise CaptureError(
            f"{name} expands to more than {MAX_ARTIFACT_BYTES:,} bytes, over the limit for one file",
            where=recorded,
        )
    if total > MAX_ZIP_BYTES:
        raise CaptureError(
            f"the archive expands to more than {MAX_ZIP_BYTES:,} bytes (IISGUARD_MAX_ZIP_BYTES), reached at {name}",
            where=recorded,
        )
    if size > _RATIO_FLOOR and size > MAX_ZIP_RATIO * max(info.compress_size, 1):
        raise CaptureError(
            f"{name} expands more than {MAX_ZIP_RATIO}x its compressed size (a zip bomb?); refused",
            where=recorded,
        )


def _extract(found: _Found, zf: zipfile.ZipFile, info: zipfile.ZipInfo, recorded: str) -> Path:
    """Stream one member to the scratch folder, checking the bytes actually inflated as they come."""
    dest = found.scratch_file()
    size = 0
    try:
        with zf.open(info) as src, dest.open("wb") as out:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                size += len(chunk)
                found.expanded += len(chunk)
                _check_inflation(info, size, found.expanded, recorded)
                out.write(chunk)
    except NotImplementedError:  # before RuntimeError, its base class
        raise CaptureError(
            f"cannot read the archive: {info.filename} uses a compression method Python cannot read",
            where=recorded,
        ) from None
    except RuntimeError:  # zipfile's word for "encrypted, password required"
        raise CaptureError(f"cannot read the archive: {info.filename} is encrypted", where=recorded) from None
    except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError) as exc:
        raise CaptureError(
            f"cannot read the archive: {info.filename} is damaged (it does not decompress or its CRC does "
            f"not match: {type(exc).__name__})",
            where=recorded,
        ) from None
    return dest


def _zip_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, recorded: str) -> bytes:
    """A small member's bytes (the manifest); a damaged one is a clear error, not a traceback."""
    try:
        with zf.open(info) as fh:
            data = fh.read(yamlsource.MAX_POLICY_BYTES + 1)
        if len(data) > yamlsource.MAX_POLICY_BYTES:
            raise CaptureError(
                f"{info.filename} is over {yamlsource.MAX_POLICY_BYTES:,} bytes: not a capture manifest",
                where=recorded,
            )
        return data
    except NotImplementedError:  # before RuntimeError, its base class
        reason = "uses a compression method Python cannot read"
    except RuntimeError:  # zipfile's word for "encrypted, password required"
        reason = "is encrypted"
    except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError):
        reason = "is damaged (it does not decompress or its CRC does not match)"
    raise CaptureError(f"cannot read the archive: {info.filename} {reason}", where=recorded)


def collect(
    paths: Iterable[str], *, output: str | None = None, base: Path | None = None
) -> tuple[_Found, Path]:
    """Walk the paths; `base` (default: the output's folder) is what recorded artifact paths are relative to."""
    to_file = bool(output and output != "-")
    base = base or (Path(str(output)).resolve().parent if to_file else Path.cwd())
    skip = {Path(str(output)).resolve()} if to_file else set()
    found = _Found()
    try:
        for raw in paths:
            item = Path(raw)
            try:
                mode = item.stat().st_mode
            except FileNotFoundError:
                raise CaptureError("no such file or folder", where=raw) from None
            except OSError as exc:
                raise CaptureError(f"cannot read: {exc.strerror or exc}", where=raw) from None
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                # A FIFO would block forever and /dev/zero never ends: refused before anything reads it.
                raise CaptureError(f"not a regular file or folder ({file_kind(mode)}); refused", where=raw)
            _walk(found, item.resolve(), base, skip)
    except BaseException:
        found.close()
        raise
    return found, base


class SeveralHosts(CaptureError):
    """Files with no manifest name several machines in their content: they are not merged into one host."""

    def __init__(self, by_host: dict[str, list[str]]) -> None:
        self.by_host = by_host
        self.listed = f"the captures name {len(by_host)} hosts: " + "; ".join(
            f"{h} ({', '.join(files[:3])}{' ...' if len(files) > 3 else ''})" for h, files in by_host.items()
        )
        super().__init__(
            f"{self.listed}; they are not merged into one snapshot: give -o DIR for one snapshot per host, "
            "or import each host's files on its own with --host"
        )


@dataclass
class _Group:
    """The artifacts of one host, with the capture manifests they came with."""

    host: str | None
    artifacts: list[Artifact] = field(default_factory=list)
    manifests: list[Manifest] = field(default_factory=list)
    sections: list[dict[str, Any]] = field(default_factory=list)


def _groups(found: _Found) -> list[_Group]:
    """Artifacts by the host their capture names. Files that name none join the host when there is one."""
    named: dict[str, _Group] = {}
    loose = _Group(None)
    for artifact in found.artifacts:
        host, manifest = found.owner.get(id(artifact), (None, None))
        group = named.setdefault(host.casefold(), _Group(host)) if host else loose
        group.artifacts.append(artifact)
        if manifest is not None and all(m is not manifest for m in group.manifests):
            group.manifests.append(manifest)
    for host, section in found.extra_sections:
        owner = named.get(host.casefold()) if host else None
        (owner or loose).sections.append(section)
    if not named:
        return [loose]
    groups = list(named.values())
    if loose.artifacts or loose.sections:
        if len(groups) > 1:
            shown = ", ".join(a.path for a in loose.artifacts[:5])
            more = f" and {len(loose.artifacts) - 5} more" if len(loose.artifacts) > 5 else ""
            raise CaptureError(
                f"the captures are of several hosts ({_hosts(groups)}) and {len(loose.artifacts)} file(s) "
                f"name none of them ({shown}{more}): import those on their own with --host"
            )
        groups[0].artifacts.extend(loose.artifacts)
        groups[0].manifests.extend(m for m in loose.manifests if all(m is not g for g in groups[0].manifests))
        groups[0].sections.extend(loose.sections)
    return groups


def _split_by_content(group: _Group, several: SeveralHosts) -> list[_Group]:
    """Files without a manifest whose content names several machines: one group per machine.

    Each file goes to the one machine it names; a file that names two (one paste of two sessions) or
    none (which machine it was captured on cannot be told) stops the import with the hosts found.
    """
    by_file: dict[str, list[str]] = {}
    for name, files in several.by_host.items():
        for f in files:
            by_file.setdefault(f, []).append(name)
    mixed = [f"{f} ({', '.join(h)})" for f, h in by_file.items() if len(h) > 1]
    unnamed = [a.path for a in group.artifacts if a.path not in by_file]
    if mixed or unnamed:
        what = (
            f"{'; '.join(mixed)} hold captures of several of them"
            if mixed
            else f"{', '.join(unnamed[:5])} name none of them"
        )
        raise CaptureError(
            f"{several.listed}; each file goes to the host it names, but {what}: split those files, "
            "or import them on their own with --host"
        ) from None
    out: dict[str, _Group] = {}
    for artifact in group.artifacts:
        name = by_file[artifact.path][0]
        target = out.setdefault(name, _Group(name, manifests=list(group.manifests)))
        target.artifacts.append(artifact)
    for target in out.values():
        target.sections = list(group.sections)
    return list(out.values())


def _hosts(groups: list[_Group]) -> str:
    return ", ".join(f"{g.host} ({len(g.artifacts)} file(s))" for g in groups)


def _unrecognized_error(data: dict[str, Any]) -> CaptureError:
    """No file of the import was recognized: name each one and what it looked like."""
    listed = data["collection"].get("unrecognized") or []
    lines = [f"  {u['path']}: {u['reason']}" for u in listed[:MAX_LISTED]]
    if len(listed) > MAX_LISTED:
        lines.append(f"  ... and {len(listed) - MAX_LISTED} more")
    return CaptureError(
        f"nothing imported: none of the {len({u['path'] for u in listed})} file(s) is a capture iisguard reads\n"
        + "\n".join(lines)
    )


def _build(
    group: _Group,
    found: _Found,
    *,
    paths: list[str],
    host: str | None,
    kind: str | None,
    parsers: list[Any] | None,
    spill: bool,
) -> tuple[dict[str, Any], Builder]:
    """Assemble one host's snapshot; exit 2 (CaptureError) when no file of it was recognized."""
    main = Manifest()
    main.host = group.host
    for m in group.manifests:
        main.collected_at = main.collected_at or m.collected_at
        for k, v in m.host_facts.items():
            main.host_facts.setdefault(k, v)
        for k, v in m.environment.items():
            main.environment.setdefault(k, v)
        main.dropped_environment.extend(m.dropped_environment)
        main.sections.extend(m.sections)
        for k, v in m.session.items():  # the server's own capture first (an -AdOnly one has none)
            main.session.setdefault(k, v)
    first = Path(paths[0]).resolve()
    fallback = (first if first.is_dir() else first.parent).name or None
    data, builder = _assemble(
        group.artifacts,
        host=host,
        kind=kind,
        manifest=main,
        parsers=parsers,
        sections=group.sections,
        fallback_host=fallback,
        collected_at=None if main.collected_at else (_stamp(found.newest) if found.newest else None),
        spill=spill,
        notes=found.notes,
        partial=found.partial,
    )
    if all(a.get("kind") == "unrecognized" for a in data["collection"]["artifacts"]):
        builder.close()
        raise _unrecognized_error(data)
    return data, builder


def _write(data: dict[str, Any], builder: Builder, output: str) -> None:
    """Write the snapshot to a file (atomically) or, for "-", to standard output."""
    try:
        if output == "-":
            sys.stdout.write(snapmod.dumps(data))
            sys.stdout.flush()
        elif builder.spilled:
            _write_spilled(data, builder, output)
            del data["acls"]
        else:
            snapmod.save(data, output)
    finally:
        builder.close()


def _check_strict(data: dict[str, Any]) -> None:
    collection = data["collection"]
    if collection.get("warnings") or collection.get("unrecognized"):
        raise StrictImportError(
            f"--strict: {len(collection.get('warnings') or [])} warning(s) and "
            f"{len(collection.get('unrecognized') or [])} unrecognized file(s)",
            data,
        )


def import_paths(
    paths: list[str],
    *,
    output: str | None,
    host: str | None = None,
    kind: str | None = None,
    strict: bool = False,
    parsers: list[Any] | None = None,
    base: Path | None = None,
) -> dict[str, Any]:
    """Import files and folders of one host into one snapshot; write it atomically to `output` ("-": stdout).

    Artifact paths are recorded relative to the output's folder, or to `base` when given (the
    repository root of `scan --scripts`, which keeps the snapshot in memory).

    Memory stays bounded when writing a file: past SPILL_ACLS parsed ACLs wait in a temporary file
    and the snapshot is written by streaming them. The returned snapshot then leaves `acls` out
    (they are in the file; load it to read them); everything else is there. Captures that name
    several hosts are not merged into one: CaptureError (see `import_per_host`). When no file is
    recognized nothing is written and CaptureError names each file and what it looked like.
    """
    if not paths:
        raise CaptureError("nothing to import: give at least one file or folder")
    _refuse_overwriting_input(paths, output)
    found, _base = collect(paths, output=output, base=base)
    try:
        return _import_found(found, paths, output, host=host, kind=kind, strict=strict, parsers=parsers)
    finally:
        found.close()


def _refuse_overwriting_input(paths: list[str], output: str | None) -> None:
    """`-o` onto a captured file would replace the evidence with the snapshot: refused. A previous
    snapshot inside the capture folder may be replaced (the walk skips it)."""
    if not output or output == "-":
        return
    target = Path(output).resolve()
    for raw in paths:
        item = Path(raw).resolve()
        if target == item or (item.is_dir() and target.is_relative_to(item) and target.exists()):
            if target != item and _is_snapshot(target):
                continue
            raise CaptureError(
                f"the output {output} is one of the files being imported; write the snapshot elsewhere",
                where=raw,
            )


def _is_snapshot(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    return head.lstrip().startswith(b"{") and b'"schema_version"' in head


def _import_found(
    found: _Found,
    paths: list[str],
    output: str | None,
    *,
    host: str | None,
    kind: str | None,
    strict: bool,
    parsers: list[Any] | None,
) -> dict[str, Any]:
    if not found.artifacts:
        raise CaptureError(f"no files to import in {', '.join(paths)}")
    groups = _groups(found)
    if len(groups) > 1:
        raise CaptureError(
            f"the captures are of {len(groups)} hosts: {_hosts(groups)}; they are not merged into one "
            "snapshot: give -o DIR for one snapshot per host, or import each host's captures on its own"
        )
    to_file = bool(output and output != "-")
    data, builder = _build(
        groups[0], found, paths=paths, host=host, kind=kind, parsers=parsers, spill=to_file
    )
    if output:
        _write(data, builder, output)
    else:
        builder.close()
    if strict:
        _check_strict(data)
    return data


def import_per_host(
    paths: list[str],
    out_dir: str | os.PathLike[str],
    *,
    host: str | None = None,
    kind: str | None = None,
    strict: bool = False,
    parsers: list[Any] | None = None,
) -> list[tuple[dict[str, Any], str]]:
    """One snapshot per host the captures name, written as `out_dir/<HOST>.json`: [(snapshot, file)]."""
    if not paths:
        raise CaptureError("nothing to import: give at least one file or folder")
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    found, _base = collect(paths, output=str(folder / ".iisguard-import"), base=folder.resolve())
    try:
        return _import_each(found, folder, paths, host=host, kind=kind, strict=strict, parsers=parsers)
    finally:
        found.close()


def _import_each(
    found: _Found,
    folder: Path,
    paths: list[str],
    *,
    host: str | None,
    kind: str | None,
    strict: bool,
    parsers: list[Any] | None,
) -> list[tuple[dict[str, Any], str]]:
    # Snapshots written by an earlier run into a folder inside the inputs are not inputs.
    inside = folder.resolve()
    found.artifacts = [
        a for a in found.artifacts if a.data is not None or inside not in a.source.resolve().parents
    ]
    if not found.artifacts:
        raise CaptureError(f"no files to import in {', '.join(paths)}")
    groups = _groups(found)
    if host and len(groups) > 1:
        raise CaptureError(f"--host names one host, but the captures are of {len(groups)}: {_hosts(groups)}")
    results: list[tuple[dict[str, Any], str]] = []
    names: set[str] = set()
    built: tuple[dict[str, Any], Builder] | None = None
    if len(groups) == 1 and groups[0].host is None and not host:
        try:
            built = _build(groups[0], found, paths=paths, host=None, kind=kind, parsers=parsers, spill=True)
        except SeveralHosts as several:
            groups = _split_by_content(groups[0], several)
    for group in groups:
        data, builder = built or _build(
            group, found, paths=paths, host=host, kind=kind, parsers=parsers, spill=True
        )
        built = None
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", str(data["host"]["name"])).strip("._") or "host"
        while name.casefold() in names:
            name += "_"
        names.add(name.casefold())
        target = str(folder / f"{name}.json")
        _write(data, builder, target)
        results.append((data, target))
    if strict:
        for data, _target in results:
            _check_strict(data)
    return results

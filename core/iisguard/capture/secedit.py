"""`secedit /export /areas USER_RIGHTS` INF files and GPO `GptTmpl.inf` -> `user_rights`.

`[Privilege Rights]` lines read `SeImpersonatePrivilege = *S-1-5-19,*S-1-5-20,svc_web`: `*`-prefixed
SIDs become `S-1-...`, names stay as written. Other sections ([System Access], [Event Audit],
[Registry Values], ...) are read past without warnings: they are not this parser's business.
The usual encoding is UTF-16 LE with a BOM; Artifact decodes it.

Pastes: a user-rights line is one with or without its `[Privilege Rights]` header, as
`Select-String`/`findstr` print it (`rights.inf:14:SeDebugPrivilege = ...`), and a line the console
wrapped is joined back when the line before it filled the console or ended with a comma.

Names: a bare name that is an application pool (of the snapshot, or one IIS creates by default)
is the pool's virtual account `IIS APPPOOL\\<name>` with its S-1-5-82 SID; `NT SERVICE\\<name>` gets its
S-1-5-80 SID; localized built-in names (`VORDEFINIERT\\Administratoren`) their well-known SID. A name
still without a SID after every file was read is reported once as unresolved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..hookspecs import hookimpl
from ..model import sids
from . import console, words
from .base import Artifact, ArtifactRun, Builder, RunParser

_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")
_ENTRY = re.compile(r"^\s*([A-Za-z][A-Za-z0-9]*)\s*=\s*(.*)$")
# A user-rights assignment anywhere on a line, after what Select-String/findstr put before it:
# `C:\temp\rights.inf:14:`, `rights.inf:`, `14:`, or Select-String -Context's `> `.
_RIGHT_LINE = re.compile(r"^(?P<prefix>[^=]*?)(?P<entry>Se[A-Za-z]+(?:Privilege|Right)\s*=.*)$")
_PREFIX = re.compile(r"^\s*(?:>\s*)?(?:[^=]*?:)?\s*$")
_CONTINUATION = re.compile(r"^[^=\[\]]+$")


class SeceditParser(RunParser):
    kind = "secedit"
    sections = ("user_rights",)

    def detect(self, head: str, name: str) -> float:
        score = 0.0
        if re.search(r"(?im)^\s*\[Privilege Rights\]\s*$", head):
            score = 0.95
        elif re.search(r"(?im)^[^=\n]*?Se[A-Za-z]+(?:Right|Privilege)\s*=\s*(?:\*?S-1-|\S|$)", head):
            score = 0.9  # header-less lines (Select-String, findstr): whoami never prints `=`
        elif re.search(r'(?im)^\s*signature\s*=\s*"\$CHICAGO\$"', head):
            score = 0.6
        if score and name.casefold().endswith((".inf", "gpttmpl.inf")):
            score = min(1.0, score + 0.04)
        return score

    def finish(self, builder: Builder) -> None:
        resolve_holders(builder)


@dataclass
class _Entry:
    line: int
    right: str
    value: str
    last: str  # the last physical line, to judge whether the next one continues it
    parts: list[str] = field(default_factory=list)  # the value's pieces, one per physical line
    spaced: list[bool] = field(default_factory=list)  # whether the console cut each piece at a space


class _Run(ArtifactRun):
    def __init__(self, artifact: Artifact, builder: Builder) -> None:
        super().__init__(artifact, builder)
        self.rights: dict[str, list[str]] = builder.data.setdefault("user_rights", {})
        # Where each holder was read, parallel to its right's list, so a finding names the INF line.
        self.where: dict[str, list[dict[str, Any]]] = builder.data.setdefault("user_rights_evidence", {})
        self.section: str | None = None
        self.saw_rights = False
        self.headerless = 0
        self.read = 0
        self.widest = 0
        self.entry: _Entry | None = None

    def run(self) -> None:
        for no, line in console.numbered(self.a):
            self.line(no, line)
            self.widest = max(self.widest, len(line))
        self.flush()
        a, b = self.a, self.b
        if not self.saw_rights and not self.headerless:
            b.warn(a, None, "secedit: no [Privilege Rights] section in this file")
            b.section("user_rights", "partial", f"no [Privilege Rights] in {a.path}")
            return
        if not self.saw_rights:
            # Lines without their header (Select-String, findstr) state only the rights they list; a whole
            # export omits a right nobody holds, which is what lets rules read an absent right as empty.
            b.section(
                "user_rights",
                "partial",
                f"{a.path} holds user-rights lines without their [Privilege Rights] section: rights it does not "
                "list are unknown",
            )
            return
        b.section("user_rights", "partial" if self.problems else "ok")
        if not self.read:
            b.warn(a, None, "secedit: the [Privilege Rights] section is empty")

    def line(self, no: int, line: str) -> None:
        text = line.strip()
        if not text or text.startswith(";"):
            self.flush()
            return
        if console.is_cut(
            text
        ):  # never part of a holder list, even right under a line that filled the console
            cut_list = self.entry is not None
            self.flush()
            self.b.warn(
                self.a,
                no,
                "secedit: the author cut the paste here"
                + ("; the holder list on the line before may be incomplete" if cut_list else ""),
            )
            return
        m = _SECTION.match(text)
        if m:
            self.flush()
            self.section = m.group(1).strip().casefold()
            self.saw_rights = self.saw_rights or self.section == "privilege rights"
            return
        if self.section is not None and self.section != "privilege rights":
            return  # [Unicode], [Version], [System Access], [Registry Values], ...
        if self.entry is not None and self.continues(text):
            # A line one short of the console width lost the space it was cut at (trailing blanks are trimmed).
            self.entry.spaced.append(len(self.entry.last) + 1 in console.CONSOLE_WIDTHS[1::2])
            self.entry.parts.append(text)
            self.entry.last = line
            return
        self.flush()
        p = console.prompt(line)
        if p is not None:
            console.note_prompt(p, self.b)
            return
        if self.section is None:
            r = _RIGHT_LINE.match(text)
            if r and _PREFIX.match(r.group("prefix")):
                self.headerless += 1
                self.start(no, r.group("entry"), line)
            elif not console.is_banner(line):
                self.b.warn(self.a, no, f"secedit: skipped a line before any [section]: {console.clip(text)}")
            return
        e = _ENTRY.match(text)
        if not e:
            self.problems += 1
            self.b.warn(
                self.a,
                no,
                f"secedit: skipped a [Privilege Rights] line that is not 'Right = holders': {console.clip(text)}",
            )
            return
        self.start(no, text, line)

    def continues(self, text: str) -> bool:
        """A line the console wrapped: the one before filled the console or ended inside the list."""
        assert self.entry is not None
        if not _CONTINUATION.match(text) or _RIGHT_LINE.match(text):
            return False
        last = self.entry.last.rstrip()
        return last.endswith(",") or console.fills_width(self.entry.last, self.widest)

    def start(self, no: int, text: str, raw: str) -> None:
        e = _ENTRY.match(text)
        assert e is not None
        self.entry = _Entry(no, e.group(1), e.group(2), raw, [e.group(2)])

    def flush(self) -> None:
        entry, self.entry = self.entry, None
        if entry is None:
            return
        value = ""
        for i, part in enumerate(entry.parts):  # a wrap inside a name joins the halves
            if i and entry.spaced[i - 1] and not value.endswith(","):
                value += " "
            value += part.strip()
        holders = [h for h in (_holder(h) for h in value.split(",")) if h]
        right = entry.right
        merged = self.rights.setdefault(right, [])
        lines = self.where.setdefault(right, [])
        for h in holders:
            if h not in merged:
                merged.append(h)
                lines.append(self.b.evidence(self.a, entry.line))
        self.read += 1
        for h in holders:
            _principal(self.b, h, self.a, entry.line)


def _holder(text: str) -> str:
    h = text.strip().strip('"').strip()
    if sids.is_sid(h):
        return sids.normalize_sid(h)
    if h and "\\" not in h and h.casefold() in _DEFAULT_POOLS:
        return f"IIS APPPOOL\\{_DEFAULT_POOLS[h.casefold()]}"
    return h


_DEFAULT_POOLS = {p.casefold(): p for p in sids.DEFAULT_APP_POOLS}


def _principal(builder: Builder, holder: str, artifact: Artifact, line: int) -> None:
    facts: dict[str, Any] = {"evidence": builder.evidence(artifact, line)}
    if sids.is_sid(holder):
        builder.principal(sids.name_of(holder), holder, **facts)
    else:
        # Localized built-in names (`VORDEFINIERT\\Administratoren`) have their well-known SID too.
        builder.principal(holder, words.sid_for(holder), **facts)


def resolve_holders(builder: Builder) -> None:
    """After every file: a bare name becomes the account the snapshot says it is, else it is reported.

    A bare name (no `DOMAIN\\`) is resolved only where the snapshot says what it is: an application
    pool of the snapshot (`IIS APPPOOL\\<pool>`, S-1-5-82-…), a captured local account or group
    (`SQLServerSQLAgentUser$HOST$MSSQLSERVER` is a local group SQL Server setup creates), or a service
    in `services` (`MSSQLSERVER` is `NT SERVICE\\MSSQLSERVER`, S-1-5-80-…, as LookupAccountSid names a
    service SID with the domain dropped). Anything else stays as written and is reported once as
    unresolved; rules then report its rights as not reviewed (model.userrights).
    """
    rights: dict[str, list[str]] = builder.data.get("user_rights") or {}
    if not rights:
        return
    pools = {
        str(p.get("name")).casefold(): str(p.get("name"))
        for p in (builder.data.get("iis") or {}).get("app_pools") or []
        if p.get("name")
    }
    services = {
        str(s.get("name")).casefold(): str(s.get("name"))
        for s in builder.data.get("services") or []
        if s.get("name") and "\\" not in str(s.get("name"))
    }
    evidence: dict[str, list[Any]] = builder.data.get("user_rights_evidence") or {}
    unresolved: dict[str, tuple[str, Any]] = {}
    # `Guest` in an export is the local account a listing captured as `HOST\\Guest`
    accounts: dict[str, dict[str, Any]] = {}
    for p in builder.principals:
        name = str(p.get("name") or "")
        if name and _known(p) and "\\" in name:
            accounts.setdefault(name.rpartition("\\")[2].casefold(), p)
    for right, holders in rights.items():
        where = evidence.get(right) or []
        for holder in list(holders):
            if sids.is_sid(holder):
                continue
            i = holders.index(holder)
            bare = "\\" not in holder
            target: tuple[str, str | None] | None = None
            if bare and holder.casefold() in pools:
                pool = pools[holder.casefold()]
                target = (f"IIS APPPOOL\\{pool}", sids.app_pool_sid(pool))
            elif bare and holder.casefold() in accounts and not _known(builder.find_principal(holder)):
                captured = accounts[holder.casefold()]
                target = (str(captured["name"]), captured.get("sid"))
            elif bare and holder.casefold() in services and not _known(builder.find_principal(holder)):
                service = services[holder.casefold()]
                target = (f"NT SERVICE\\{service}", sids.service_sid(service))
            if target is not None:
                name, sid = target
                builder.rename_principal(holder, name, sid)
                if name in holders:  # the account was listed under both spellings
                    del holders[i]
                    if len(where) > i:
                        del where[i]
                else:
                    holders[i] = name
                continue
            if _known(builder.find_principal(holder)):
                continue
            unresolved.setdefault(holder.casefold(), (holder, where[i] if len(where) > i else None))
    for name, ev in unresolved.values():
        builder.warn(
            (ev or {}).get("artifact"),
            (ev or {}).get("line"),
            f"user rights: {name!r} is a name this capture does not resolve to a SID (not an application "
            "pool, a captured service, a well-known or a captured account); rules report its rights as not "
            "reviewed",
        )


def _known(p: dict[str, Any] | None) -> bool:
    return p is not None and bool(p.get("sid") or p.get("kind") not in (None, "unknown"))


PARSERS = [SeceditParser(reader=_Run)]


@hookimpl
def iisguard_register_parsers() -> list[Any]:
    return PARSERS

"""`whoami /priv`, `/groups`, `/user` and `/all` (table, `/fo csv`, `/fo list`, any language) -> `tokens[]`.

The layout decides, not the words: a privilege is a `Se...Privilege` name whose state is the last
word of its row (Enabled/Disabled in any language, see words.state_of); a user or group row is the
one holding a SID; a group row's attributes follow its SID; the `S-1-16-*` label gives the integrity
level. Table columns come from the `====` separator when there is one. A row wrapped by the console
is joined with the line that carries its state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..hookspecs import hookimpl
from . import console, words
from .base import Artifact, ArtifactRun, Builder, RunParser

_PRIV = re.compile(r"^\s*(Se[A-Za-z]+Privilege)\b(.*)$")
_PRIV_ANYWHERE = re.compile(r"\bSe[A-Za-z]+Privilege\b")
_LIST = re.compile(r"^([^:\"]{1,60}?)\s*:\s*(.*)$")
INTEGRITY = {
    "S-1-16-0": "Untrusted",
    "S-1-16-4096": "Low",
    "S-1-16-8192": "Medium",
    "S-1-16-8448": "MediumPlus",
    "S-1-16-12288": "High",
    "S-1-16-16384": "System",
    "S-1-16-20480": "Protected",
}
# The group types whoami prints, to split name from type when there is no separator line.
_GROUP_TYPES = (
    "Well-known group",
    "Unknown SID type",
    "Alias",
    "Group",
    "Label",
    "User",
    "Bekannte Gruppe",
    "Unbekannter SID-Typ",
    "Gruppe",
    "Bezeichnung",
    "Benutzer",
    "Groupe bien connu",
    "Type SID inconnu",
    "Type de SID inconnu",
    "Groupe",
    "Étiquette",
    "Utilisateur",
    "Grupo conocido",
    "Tipo de SID desconocido",
    "Grupo",
    "Etiqueta",
    "Usuario",
    "Gruppo noto",
    "Gruppo",
    "Etichetta",
    "Bekende groep",
    "Groep",
)
_DOMAIN_GROUP_TYPES = {"group", "gruppe", "groupe", "grupo", "gruppo", "groep"}
_GROUP_WORDS = ("group", "grupp", "groupe", "grupo", "groep", "gruppo")
_ENABLED_WORDS = ("enabled", "aktiviert", "activ", "habilitad", "abilitat", "ingeschakeld")
_DEFAULT_WORDS = ("default", "standard", "dfaut", "defecto", "predetermin", "predefinit", "standaard")
_DENY_WORDS = ("deny", "verweiger", "refus", "denega", "negar", "negazion", "weigeren")


def group_flags(attributes: list[str]) -> tuple[bool | None, bool]:
    """(enabled, deny_only) from a group's attribute words in any of the languages we know."""
    deny_only = any(any(w in words.skeleton(a) for w in _DENY_WORDS) for a in attributes)
    if deny_only:
        return False, True
    if not attributes:
        return None, False
    for a in attributes:
        sk = words.skeleton(a)
        if (
            any(g in sk for g in _GROUP_WORDS)
            and any(e in sk for e in _ENABLED_WORDS)
            and not any(d in sk for d in _DEFAULT_WORDS)
        ):
            return True, False
    known = all(words.skeleton(a).isascii() for a in attributes)
    return (False if known else None), False


@dataclass
class _Token:
    user: str | None = None
    user_sid: str | None = None
    user_line: int | None = None
    integrity: str | None = None
    privileges: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: list[dict[str, Any]] = field(default_factory=list)
    first_line: int | None = None
    saw_privileges: bool = False

    def empty(self) -> bool:
        return not (self.user_sid or self.privileges or self.groups)


class WhoamiParser(RunParser):
    kind = "whoami"
    sections = ("tokens",)

    def detect(self, head: str, name: str) -> float:
        score = 0.0
        privs = len(_PRIV_ANYWHERE.findall(head))
        if privs and re.search(r"(?im)^(?:\s*\"?|[^:\n]{1,40}:\s*)Se[A-Za-z]+Privilege\"?(?:[\s,]|$)", head):
            score = 0.9 if privs >= 2 else 0.7
        elif re.search(r"(?i)\bwhoami\b", head) and console.find_sid(head):
            score = 0.7
        elif re.search(r"(?m)^(?:Mandatory Label|Verbindliche Beschriftung|Étiquette obligatoire)\\", head):
            score = 0.8
        score = console.name_bonus(score, name, ("whoami",))
        if re.search(r"(?im)^\s*\[Privilege Rights\]", head) or "Get-Acl" in head:
            score = min(score, 0.3)  # secedit INF and Get-Acl listings mention privileges too
        elif re.search(r"(?im)^[^=\n]*Se[A-Za-z]+(?:Privilege|Right)\s*=", head):
            score = min(score, 0.3)  # `SeXPrivilege = holders`: secedit lines without their header
        return score


class _Run(ArtifactRun):
    def __init__(self, artifact: Artifact, builder: Builder) -> None:
        super().__init__(artifact, builder)
        self.tokens: list[_Token] = [_Token()]
        self.columns: list[tuple[int, int]] | None = None
        self.list_record: list[tuple[int, str, str]] = []
        self.pending_priv: tuple[int, str, str] | None = None  # a privilege row whose state wrapped

    @property
    def tok(self) -> _Token:
        return self.tokens[-1]

    def run(self) -> None:
        # Two lines of lookahead: a title or column header is the line above a separator, or two
        # lines above one when the console wrapped both the header and the separator.
        window: list[tuple[int, str]] = []
        for item in console.numbered(self.a):
            window.append(item)
            if len(window) == 3:
                self.line(window[0][0], window[0][1], window[1][1], window[2][1])
                window.pop(0)
        window += [(0, ""), (0, "")]
        for i in range(len(window) - 2):
            if window[i][0]:
                self.line(window[i][0], window[i][1], window[i + 1][1], window[i + 2][1])
        self.flush_list()
        self.flush_pending()
        self.finish()

    # -- one line (with the next one, to recognise headers above separators) --------------------------
    def line(self, no: int, text: str, nxt: str, nxt2: str) -> None:
        p = console.prompt(text)
        if p is not None:
            console.note_prompt(p, self.b)
            self.flush_list()
            self.flush_pending()
            return
        stripped = text.strip()
        if not stripped:
            self.flush_list()
            self.flush_pending()
            return
        spans = console.dash_columns(text, "=")
        if spans:
            self.columns = spans
            return
        if console.dash_columns(text, "-"):
            return  # underline of a section title
        if console.dash_columns(nxt, "=") or console.dash_columns(nxt, "-"):
            return  # a section title or the column headers above a separator
        if console.dash_columns(nxt2, "=") and not _PRIV.match(text) and not console.find_sid(text):
            return  # the first half of a wrapped column header
        fields = console.csv_fields(text)
        if fields is not None:
            self.flush_pending()
            self.record(no, fields, csv=True)
            return
        m = _PRIV.match(text)
        if self.pending_priv is not None and not m:
            pno, name, rest = self.pending_priv
            self.pending_priv = None
            state = words.state_of(rest + " " + stripped)
            if state is None:
                state = words.state_of(rest + stripped)  # the state word itself was cut in two
            if state is None:
                self.warn(pno, f"whoami: privilege {name} has no Enabled/Disabled state word that we know")
            else:
                self.add_privilege(pno, name, state)
            return
        if m:
            self.flush_pending()
            self.privilege(no, m.group(1), m.group(2))
            return
        lm = _LIST.match(text)
        if lm and not console.find_sid(lm.group(1)):
            self.list_record.append((no, lm.group(1).strip(), lm.group(2).strip()))
            return
        if console.find_sid(text):
            self.sid_row(no, text)
            return
        if stripped.endswith((".", "!", "\u3002")):
            return  # sentences of the claims section ("User claims unknown.")
        self.warn(
            no,
            f"whoami: skipped a line that is not a privilege, user or group row: {console.clip(stripped, 80)}",
        )

    # -- privileges -------------------------------------------------------------------------------------
    def privilege(self, no: int, name: str, rest: str) -> None:
        state = words.state_of(rest)
        if state is None:
            self.pending_priv = (no, name, rest.strip())  # wrapped by the console, or an unknown word
            return
        self.add_privilege(no, name, state)

    def flush_pending(self) -> None:
        if self.pending_priv is not None:
            pno, name, _rest = self.pending_priv
            self.pending_priv = None
            self.warn(pno, f"whoami: privilege {name} has no Enabled/Disabled state word that we know")

    def add_privilege(self, no: int, name: str, enabled: bool) -> None:
        tok = self.tok
        if tok.first_line is None:
            tok.first_line = no
        tok.saw_privileges = True
        tok.privileges[name] = {"name": name, "enabled": enabled, "evidence": self.b.evidence(self.a, no)}

    # -- users and groups ----------------------------------------------------------------------------------
    def sid_row(self, no: int, text: str) -> None:
        m = console.find_sid(text)
        assert m is not None
        sid = m.group(0).lstrip("*").upper()
        before = text[: m.start()]
        after = text[m.end() :].strip()
        if sid.startswith("S-1-16-"):
            self.label(no, sid)
            return
        if sid.startswith("S-1-5-5-") and not before.strip():
            return  # whoami /logonid
        if after:
            is_user = False
        elif self.columns is not None:
            is_user = len(self.columns) == 2  # the user table has two columns: name and SID
        else:
            is_user = not self.tok.groups and self.tok.user_sid is None
        if is_user:
            self.user(no, before.strip(), sid)
            return
        name, gtype = self.split_name_type(before, m.start())
        attributes = [x.strip() for x in after.split(",") if x.strip()] if after else []
        self.group(no, name, gtype, sid, attributes)

    def split_name_type(self, before: str, sid_at: int) -> tuple[str, str | None]:
        cols = self.columns
        if cols and len(cols) >= 3 and abs(cols[2][0] - sid_at) <= 1:
            return before[: cols[1][0]].strip(), before[cols[1][0] :].strip() or None
        parts = re.split(r"\s{2,}", before.strip())
        if len(parts) >= 2:
            return " ".join(parts[:-1]).strip(), parts[-1].strip()
        text = before.strip()
        for t in sorted(_GROUP_TYPES, key=len, reverse=True):
            if text.casefold().endswith(" " + t.casefold()) or text.casefold() == t.casefold():
                return text[: len(text) - len(t)].strip(), t
        return text, None

    def user(self, no: int, name: str, sid: str) -> None:
        if self.tok.user_sid and self.tok.user_sid != sid:
            self.tokens.append(_Token())  # a second whoami of another account in the same file
        tok = self.tok
        tok.user = name or None
        tok.user_sid = sid
        tok.user_line = no
        if tok.first_line is None:
            tok.first_line = no

    def label(self, no: int, sid: str) -> None:
        self.tok.integrity = INTEGRITY.get(sid, sid)

    def group(self, no: int, name: str, gtype: str | None, sid: str, attributes: list[str]) -> None:
        enabled, deny_only = group_flags(attributes)
        entry: dict[str, Any] = {"name": name or sid, "sid": sid, "type": gtype, "attributes": attributes}
        entry["enabled"] = enabled
        if deny_only:
            entry["deny_only"] = True
        entry["evidence"] = self.b.evidence(self.a, no)
        if self.tok.first_line is None:
            self.tok.first_line = no
        self.tok.groups.append(entry)

    # -- /fo csv and /fo list --------------------------------------------------------------------------------
    def flush_list(self) -> None:
        if not self.list_record:
            return
        rec = self.list_record
        self.list_record = []
        self.record(rec[0][0], [v for _, _, v in rec], csv=False)

    def record(self, no: int, values: list[str], *, csv: bool) -> None:
        values = [v.strip() for v in values]
        if values and _PRIV.fullmatch(values[0]):
            state = words.state_of(values[-1]) if len(values) >= 2 else None
            if state is None:
                self.warn(
                    no, f"whoami: privilege {values[0]} has no Enabled/Disabled state word that we know"
                )
            else:
                self.add_privilege(no, values[0], state)
            return
        sid_at = next((i for i, v in enumerate(values) if console.sids_like(v)), None)
        if sid_at is None:
            if csv or len(values) > 1:
                return  # a header row ("Privilege Name","Description","State") or a claims record
            self.warn(
                no,
                f"whoami: skipped a record without a SID or privilege: {console.clip(' '.join(values), 80)}",
            )
            return
        sid = values[sid_at].lstrip("*").upper()
        if sid.startswith("S-1-16-"):
            self.label(no, sid)
        elif sid_at == 1 and len(values) == 2:
            self.user(no, values[0], sid)
        else:
            name = values[0] if sid_at >= 1 else ""
            gtype = values[1] if sid_at >= 2 else None
            attrs = values[sid_at + 1] if len(values) > sid_at + 1 else ""
            attributes = [x.strip() for x in attrs.split(",") if x.strip()]
            self.group(no, name, gtype, sid, attributes)

    # -- result -------------------------------------------------------------------------------------------------
    def finish(self) -> None:
        tokens = [t for t in self.tokens if not t.empty()]
        if not tokens:
            self.b.warn(self.a, None, "whoami: no privileges, user or groups found in this file")
            self.b.section("tokens", "partial", f"nothing readable in {self.a.path}")
            return
        hint = self.a.hint.get("token_identity") if isinstance(self.a.hint, dict) else None
        out = self.b.data.setdefault("tokens", [])
        partial = False
        for i, t in enumerate(tokens):
            identity = (hint if i == 0 and hint else None) or t.user
            token: dict[str, Any] = {
                "identity": identity,
                "source_artifact": self.a.path,
                "user_sid": t.user_sid,
                "integrity": t.integrity,
                "privileges": list(t.privileges.values()),
                "groups": t.groups,
                "evidence": self.b.evidence(self.a, t.first_line),
            }
            out.append(token)
            if not t.saw_privileges:
                partial = True
                self.b.warn(
                    self.a, t.first_line, "whoami: this output lists no privileges (run whoami /all or /priv)"
                )
            self._principals(t, identity)
        self.b.section("tokens", "partial" if partial else "ok")

    def _principals(self, t: _Token, identity: str | None) -> None:
        if t.user_sid:
            self.b.principal(identity or t.user, t.user_sid, evidence=self.b.evidence(self.a, t.user_line))
        for g in t.groups:
            sid = g["sid"]
            if sid.startswith(("S-1-16-", "S-1-5-5-")) or not g.get("name") or g["name"] == sid:
                continue  # labels, logon sessions and unnamed SIDs are not principals anyone manages
            facts: dict[str, Any] = {"evidence": g["evidence"]}
            gtype = (g.get("type") or "").casefold()
            if gtype in _DOMAIN_GROUP_TYPES:
                facts["kind"] = "domain_group"
            elif gtype == "alias" and sid.startswith("S-1-5-21-"):
                facts["kind"] = "local_group"
            self.b.principal(g["name"], sid, **facts)


PARSERS = [WhoamiParser(reader=_Run)]


@hookimpl
def iisguard_register_parsers() -> list[Any]:
    return PARSERS

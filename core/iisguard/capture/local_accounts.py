"""Local users and groups: `net user`, `net user NAME`, `net localgroup [NAME]`, `Get-LocalUser`,
`Get-LocalGroup`, `Get-LocalGroupMember` (tables and ConvertTo-Json) -> principals.

The layout decides, so any display language works: `net` output is cut into commands at prompts
and at its closing sentence ("The command completed successfully." in whatever language: the
last line); a long dash line separates a header from the listed names; `net user NAME` is a fixed
sequence of `label   value` lines (labels are matched in en/de/fr/es, else by position). Comments
and full names are never read. Group members come as `{name, sid?, kind?}`; a user's local groups
as `member_of`. Local names are qualified with the host (`WEB01\\svc`) when the capture names it.

A listing of every local group (`net localgroup`, `Get-LocalGroup` with no name) is recorded as
`local_accounts.groups_listed`: only then does a group absent from the capture not exist on the host;
otherwise its members are unknown (a capture of `net localgroup Administrators` alone says nothing
about Backup Operators).

JSON shapes accepted: arrays (or single objects) of Get-LocalUser / Get-LocalGroup /
Get-LocalGroupMember objects; member objects name their group in a `Group` (or `GroupName`)
property or through the echoed command `Get-LocalGroupMember -Group X`; `{"Name": g, "Members": [...]}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..hookspecs import hookimpl
from ..model import names, sids
from . import console, timefmt, words
from .base import MAX_DOCUMENT_BYTES, Artifact, ArtifactRun, Builder, RunParser

_KV = re.compile(r"^(\S.*?\S|\S)\s{2,}(\S.*)$")
_LONG_DASH = re.compile(r"^-{20,}\s*$")
_HOST_HEADER = re.compile(r"\\\\([A-Za-z0-9][A-Za-z0-9-]{0,62})\s*$")
_SOURCES = {0: None, 1: "local", 2: "activedirectory", 3: "azuread", 4: "microsoftaccount"}
_USER_WORDS = {"user", "benutzer", "utilisateur", "usuario", "utente", "gebruiker", "uzytkownik", "usurio"}
_GROUP_WORDS = {"group", "gruppe", "groupe", "grupo", "gruppo", "groep", "grupa"}
_NONE_GROUPS = {"none", "kein", "aucun", "ninguno", "nessuno", "geen", "brak", "nenhum"}

# net user NAME: field -> labels (skeletons are compared) and position among the label lines.
_NET_USER_FIELDS: dict[str, tuple[int, tuple[str, ...]]] = {
    "name": (
        0,
        (
            "User name",
            "Benutzername",
            "Nom d'utilisateur",
            "Nom d’utilisateur",
            "Nombre de usuario",
            "Nome utente",
        ),
    ),
    "active": (
        5,
        (
            "Account active",
            "Konto aktiv",
            "Compte : actif",
            "Compte actif",
            "Cuenta activa",
            "Account attivo",
        ),
    ),
    "last_set": (
        7,
        (
            "Password last set",
            "Letztes Setzen des Kennworts",
            "Dernier changmt. de mot de passe",
            "Ultimo cambio de contraseña",
            "Último cambio de contraseña",
            "Ultima impostazione password",
        ),
    ),
    "expires": (
        8,
        (
            "Password expires",
            "Kennwort läuft ab",
            "Le mot de passe expire",
            "La contraseña expira",
            "Scadenza password",
        ),
    ),
    "required": (
        10,
        (
            "Password required",
            "Kennwort erforderlich",
            "Mot de passe exigé",
            "Contraseña requerida",
            "Password richiesta",
        ),
    ),
    "local_groups": (
        18,
        (
            "Local Group Memberships",
            "Lokale Gruppenmitgliedschaften",
            "Appartient aux groupes locaux",
            "Miembros del grupo local",
            "Appartenenza a gruppi locali",
        ),
    ),
    "global_groups": (
        19,
        (
            "Global Group memberships",
            "Globale Gruppenmitgliedschaften",
            "Appartient aux groupes globaux",
            "Miembros del grupo global",
            "Appartenenza a gruppi globali",
        ),
    ),
}
_LABEL_FIELD = {
    words.skeleton(label): f for f, (_pos, labels) in _NET_USER_FIELDS.items() for label in labels
}
_NET_USER_LINES = 20


def _has(pattern: str) -> Any:
    rx = re.compile(pattern, re.IGNORECASE | re.MULTILINE)
    return lambda h: bool(rx.search(h))


_DETECT: list[tuple[float, Any]] = [
    # net user / net localgroup list: "User accounts for \\HOST", a blank line, dashes
    (0.85, _has(r"^\S.*\\\\[A-Za-z0-9-]+\s*$\s*^\s*$\s*^-{30,}")),
    (0.9, _has(r"^(?:Alias name|Aliasname|Nom alias|Nombre de alias|Nome alias)\s{2,}\S")),
    (
        0.9,
        lambda h: (
            _has(r"^(?:User name|Benutzername|Nom d.utilisateur|Nombre de usuario)\s{2,}\S")(h)
            and _has(r"^\S.*\s{2,}\*\S")(h)
        ),
    ),
    (0.9, _has(r"^\s*ObjectClass\s+Name\s+PrincipalSource\s*$")),
    (0.85, _has(r"^\s*Name\s+Enabled\s+Description\s*$")),
    (0.9, lambda h: _has(r'"PrincipalSource"\s*:')(h) and _has(r'"(?:ObjectClass|Enabled)"\s*:')(h)),
    (0.7, _has(r"^\S*>\s*(?:net1?(?:\.exe)?\s+(?:user|localgroup)|Get-Local(?:User|Group|GroupMember))\b")),
]


@dataclass
class _Seg:
    command: str | None
    lines: list[tuple[int, str]] = field(default_factory=list)
    completed: bool = False


@dataclass
class _User:
    name: str
    line: int
    facts: dict[str, Any] = field(default_factory=dict)
    groups: list[str] = field(default_factory=list)
    domain: bool = False  # `net user NAME /domain`: an account of the domain, not of this host


@dataclass
class _Group:
    name: str
    line: int
    sid: str | None = None
    members: list[dict[str, Any]] | None = None


class LocalAccountsParser(RunParser):
    kind = "local_accounts"
    sections = ("local_accounts",)

    def detect(self, head: str, name: str) -> float:
        h = head[:32768]
        score = max((sc for sc, test in _DETECT if test(h)), default=0.0)
        return console.name_bonus(score, name, ("user", "group", "local", "account", "net"), 0.04)


class _Run(ArtifactRun):
    def __init__(self, artifact: Artifact, builder: Builder) -> None:
        super().__init__(artifact, builder)
        self.host: str | None = builder.host.get("name")
        self.users: list[_User] = []
        self.groups: list[_Group] = []
        # Whether this file lists every local group (`net localgroup`, `Get-LocalGroup` with no name): only
        # then is a group missing from the capture known not to exist, rather than not captured.
        self.groups_listed = False
        self.group_hint = self.hint("group")

    def run(self) -> None:
        self.a.check_size(MAX_DOCUMENT_BYTES)
        lines = list(console.numbered(self.a))
        first = next((t for _, t in lines if t.strip() and console.prompt(t) is None), "")
        if first.lstrip().startswith(("{", "[")):
            self.read_json(lines)
        else:
            for seg in self.segments(lines):
                self.segment(seg)
        self.emit()

    # -- segments: one command's output each ---------------------------------------------------------------------
    def segments(self, lines: list[tuple[int, str]]) -> list[_Seg]:
        segs = [_Seg(None)]
        for i, (no, line) in enumerate(lines):
            p = console.prompt(line)
            if p is not None:
                console.note_prompt(p, self.b)
                segs.append(_Seg(p.command))
                continue
            if console.is_banner(line):
                continue
            seg = segs[-1]
            seg.lines.append((no, line))
            nxt = lines[i + 1][1] if i + 1 < len(lines) else ""
            if self.is_completion(seg, line, nxt):
                seg.completed = True
                seg.lines.pop()
                segs.append(_Seg(None))
        return [s for s in segs if any(t.strip() for _, t in s.lines)]

    def is_completion(self, seg: _Seg, line: str, nxt: str) -> bool:
        text = line.strip()
        if words.skeleton(text) in words.COMPLETED:
            return True
        if not text.endswith((".", "\u3002")) or re.search(r"\s{2,}", text) or " " not in text:
            return False
        if nxt.strip() and console.prompt(nxt) is None:
            return False
        return (
            any(_LONG_DASH.match(t) for _, t in seg.lines)
            or sum(bool(_KV.match(t)) for _, t in seg.lines) >= 3
        )

    def segment(self, seg: _Seg) -> None:
        body = [(no, t) for no, t in seg.lines]
        while body and not body[0][1].strip():
            body.pop(0)
        cmd = console.command_args(seg.command or "")
        verb = " ".join(a.casefold() for a in cmd[:2])
        table = self.ps_table(body)
        if table is not None:
            self.table(seg, cmd, *table)
            return
        dash = next((i for i, (_, t) in enumerate(body) if _LONG_DASH.match(t)), None)
        if dash is not None:
            self.net_list(cmd, verb, body[:dash], body[dash + 1 :])
            return
        if any(_KV.match(t) for _, t in body):
            self.net_user_detail(body, domain=any(a.casefold().startswith("/do") for a in cmd[1:]))
            return
        for no, t in body:
            if t.strip():  # not quoted: comments and descriptions may hold passwords
                self.warn(no, "local accounts: skipped a line outside any known listing")

    # -- net user / net localgroup -----------------------------------------------------------------------------------
    def net_list(
        self, cmd: list[str], verb: str, head: list[tuple[int, str]], items: list[tuple[int, str]]
    ) -> None:
        kv = [(no, _KV.match(t)) for no, t in head if t.strip()]
        pairs = [(no, m.group(1), m.group(2)) for no, m in kv if m]
        for _, t in head:
            m = _HOST_HEADER.search(t.strip())
            if m and not _KV.match(t):
                self.set_host(m.group(1), evidence=True)  # `User accounts for \\\\HOST`: the machine itself
        names = [(no, n) for no, t in items for n in self.split_names(t) if n]
        if pairs or (verb.startswith("net localgroup") and len(cmd) > 2):
            # net localgroup NAME: the first label line names the group, its members follow the dashes
            group = pairs[0][2].strip() if pairs else cmd[2]
            line = pairs[0][0] if pairs else (head[0][0] if head else 0)
            members = [self.member(t.strip(), no) for no, t in items if t.strip()]
            self.groups.append(_Group(group, line, members=members))
            return
        listed = [(no, t.strip()) for no, t in items if t.strip()]
        if listed and all(t.startswith("*") for _, t in listed):
            # net localgroup (no name): one "*Administrators" a line; not cut into 25-character columns
            # as `net user` is ("*System Managed Accounts Group" has a space at column 25).
            for no, n in listed:
                self.groups.append(_Group(n.lstrip("*").strip(), no))
            self.groups_listed = verb == "net localgroup" or not cmd
            return
        for no, n in names:  # net user: names in 25-character columns
            self.users.append(_User(n, no))

    @staticmethod
    def split_names(line: str) -> list[str]:
        if not line.strip():
            return []
        if (len(line) <= 25 or line[24] == " ") and (len(line) <= 50 or line[49] == " "):
            return [
                line[i : i + 25].strip() for i in range(0, max(len(line), 1), 25) if line[i : i + 25].strip()
            ]
        return [p for p in re.split(r"\s{2,}", line.strip()) if p]

    def net_user_detail(self, body: list[tuple[int, str]], *, domain: bool = False) -> None:
        fields: list[tuple[int, str, str]] = []  # (line, label, value)
        for no, t in body:
            if not t.strip():
                continue
            if t[:1].isspace() and fields and "*" in t:
                ln, label, value = fields[-1]
                fields[-1] = (ln, label, value + " " + t.strip())  # more groups on the next line
                continue
            m = _KV.match(t)
            fields.append((no, m.group(1), m.group(2)) if m else (no, t.strip(), ""))
        found: dict[str, tuple[int, str]] = {}
        for no, label, value in fields:
            f = _LABEL_FIELD.get(words.skeleton(label))
            if f:
                found.setdefault(f, (no, value))
        if "name" not in found and len(fields) >= _NET_USER_LINES:
            for f, (pos, _labels) in _NET_USER_FIELDS.items():  # an unknown language: by position
                found.setdefault(f, (fields[pos][0], fields[pos][2]))
        if "name" not in found or not found["name"][1].strip():
            for no, _label, _value in fields:
                self.warn(no, "local accounts: skipped a line of an unrecognized listing")
            return
        no, name = found["name"]
        user = _User(name.strip(), no, domain=domain)
        if "active" in found:
            user.facts["enabled"] = words.yes_no(found["active"][1])
        if "required" in found:
            user.facts["password_required"] = words.yes_no(found["required"][1])
        if "expires" in found:
            value = found["expires"][1]
            user.facts["password_never_expires"] = (
                True if words.is_never(value) else (False if timefmt.to_rfc3339(value) else None)
            )
        if "last_set" in found:
            user.facts["password_last_set"] = timefmt.to_rfc3339(found["last_set"][1])
        if "local_groups" in found and not domain:  # a domain account's local groups are the DC's
            user.groups = [  # a name cut by net user's 21-character column gets its full name back
                names.untruncated_group(g)
                for g in _star_list(found["local_groups"][1])
                if words.skeleton(g) not in _NONE_GROUPS
            ]
        self.users.append(user)

    # -- PowerShell tables --------------------------------------------------------------------------------------------
    def ps_table(self, body: list[tuple[int, str]]) -> tuple[list[str], list[tuple[int, list[str]]]] | None:
        for i in range(len(body) - 1):
            spans = console.dash_columns(body[i + 1][1])
            header = body[i][1]
            if spans and len(spans) == 1 and spans[0][1] - spans[0][0] >= 60:
                continue  # net's separator line, not a PowerShell column underline
            if spans and header.strip() and all(header[s : s + 1].strip() for s, _e in spans):
                found = console.table_rows(body[i:])
                if found is not None:
                    return found
        return None

    def table(self, seg: _Seg, cmd: list[str], headers: list[str], rows: list[tuple[int, list[str]]]) -> None:
        cols = [h.casefold() for h in headers]
        verb = cmd[0].casefold() if cmd else ""
        if "name" not in cols:
            for no, _cells in rows:
                self.warn(no, "local accounts: skipped a table row: the table has no Name column")
            return
        objs = [(no, dict(zip(cols, cells, strict=False))) for no, cells in rows]
        if verb == "get-localgroupmember" or {"objectclass", "principalsource"} <= set(cols):
            self.group_members(cmd, [(no, o) for no, o in objs])
        elif verb == "get-localgroup" or ("enabled" not in cols and verb != "get-localuser"):
            for no, o in objs:
                self.groups.append(_Group(o["name"], no, sid=_sid(o.get("sid"))))
            self.groups_listed = verb == "get-localgroup" and len(cmd) == 1
        else:
            for no, o in objs:
                self.add_user_object(no, o)

    # -- objects (tables and JSON) ------------------------------------------------------------------------------------
    def add_user_object(self, no: int, o: dict[str, Any]) -> None:
        name = _text(o.get("name"))
        if not name or name.endswith("..."):
            self.warn(no, "local accounts: skipped a user whose name is missing or cut off", problem=True)
            return
        user = _User(name, no)
        user.facts["sid"] = _sid(o.get("sid"))
        user.facts["enabled"] = words.as_bool(o.get("enabled"))
        if "passwordrequired" in o:
            user.facts["password_required"] = words.as_bool(o.get("passwordrequired"))
        if "passwordexpires" in o:
            expires = o.get("passwordexpires")
            user.facts["password_never_expires"] = expires in (None, "") or words.is_never(str(expires))
        if "passwordlastset" in o:
            user.facts["password_last_set"] = timefmt.to_rfc3339(o.get("passwordlastset"))
        self.users.append(user)

    def group_members(self, cmd: list[str], objs: list[tuple[int, dict[str, Any]]]) -> None:
        by_group: dict[str, list[dict[str, Any]]] = {}
        first_line: dict[str, int] = {}
        default = _command_group(cmd) or self.group_hint
        for no, o in objs:
            group = _text(o.get("group")) or _text(o.get("groupname")) or default
            member = self.member(_text(o.get("name")) or "", no, o)
            if not member.get("name") and not member.get("sid"):
                self.warn(no, "local accounts: skipped a group member without a name or SID", problem=True)
                continue
            if not group:
                self.warn(
                    no,
                    "local accounts: a group member whose group is not shown (no echoed command or Group property) was skipped",
                    problem=True,
                )
                continue
            by_group.setdefault(group, []).append(member)
            first_line.setdefault(group, no)
        for group, members in by_group.items():
            self.groups.append(_Group(group, first_line[group], members=members))

    def member(self, name: str, no: int, o: dict[str, Any] | None = None) -> dict[str, Any]:
        entry: dict[str, Any] = {}
        if name:
            entry["name"] = name
        sid = _sid(o.get("sid")) if o else None
        sid = sid or words.sid_for(name)
        if sid:
            entry["sid"] = sid
        if o is not None:
            kind = _member_kind(o, sid)
            if kind:
                entry["kind"] = kind
            source = _source(o.get("principalsource"))
            if source == "local" and "\\" in name:
                domain = name.split("\\", 1)[0]
                if domain.casefold() not in words.BUILTIN_DOMAINS and domain.casefold() != "nt service":
                    self.set_host(domain)
        entry["line"] = no
        return entry

    def read_json(self, lines: list[tuple[int, str]]) -> None:
        cmd: list[str] = []
        for _, t in lines:
            p = console.prompt(t)
            if p is not None:
                cmd = console.command_args(p.command)
                break
        try:
            # The lines already read, not a second read and decode of the file (their numbers match too).
            cuts: list[tuple[int, str]] = []
            docs = list(
                console.json_documents("\n".join(t for _, t in lines), lines[0][0] if lines else 1, cuts)
            )
        except ValueError as exc:
            self.warn(None, f"local accounts: {exc}", problem=True)
            return
        for no, message in cuts:
            self.warn(no, f"local accounts: {message}", problem=True)
        for doc in docs:
            objs: list[tuple[int, dict[str, Any]]] = []
            for no, item in console.json_items(*doc):
                if not isinstance(item, dict):
                    self.warn(no, "local accounts: skipped a JSON value that is not an object", problem=True)
                    continue
                objs.append((no, {console.keynorm(k): v for k, v in item.items()}))
            self.json_objects(cmd, objs)

    def json_objects(self, cmd: list[str], objs: list[tuple[int, dict[str, Any]]]) -> None:
        verb = cmd[0].casefold() if cmd else ""
        members: list[tuple[int, dict[str, Any]]] = []
        for no, o in objs:
            if isinstance(o.get("members"), list):
                group = _text(o.get("name")) or _text(o.get("group"))
                if not group:
                    self.warn(no, "local accounts: skipped a group object without a name", problem=True)
                    continue
                mem = []
                for m in o["members"]:
                    if isinstance(m, dict):
                        mo = {console.keynorm(k): v for k, v in m.items()}
                        mem.append(self.member(_text(mo.get("name")) or "", no, mo))
                    elif isinstance(m, str):
                        mem.append(self.member(m, no))
                self.groups.append(_Group(group, no, sid=_sid(o.get("sid")), members=mem))
            elif verb == "get-localgroupmember" or "group" in o or "groupname" in o:
                members.append((no, o))
            elif "enabled" in o or verb == "get-localuser" or "passwordrequired" in o:
                self.add_user_object(no, o)
            elif "principalsource" in o or "objectclass" in o:
                name = _text(o.get("name")) or ""
                if "\\" in name:
                    members.append((no, o))  # member names are qualified; Get-LocalGroup names are not
                elif name:
                    self.groups.append(_Group(name, no, sid=_sid(o.get("sid"))))
                    self.groups_listed = self.groups_listed or (verb == "get-localgroup" and len(cmd) == 1)
            else:
                self.warn(
                    no,
                    "local accounts: skipped a JSON object that is not a local user, group or member",
                    problem=True,
                )
        if members:
            self.group_members(cmd, members)

    # -- output ----------------------------------------------------------------------------------------------------------
    def set_host(self, name: str, *, evidence: bool = False) -> None:
        self.b.suggest_host(name.upper(), evidence=evidence)
        if not self.host:
            self.host = name.upper()

    def qualify(self, name: str) -> str:
        return f"{self.host}\\{name}" if self.host and "\\" not in name else name

    def group_ref(self, group: str) -> tuple[str, str | None]:
        """(name, SID): built-in groups keep their English canonical name or, localized, their SID."""
        sid = words.sid_for(group)
        if sid:
            canonical = sids.name_of(sid) or ""
            if (
                canonical.casefold().endswith("\\" + group.casefold())
                or canonical.casefold() == group.casefold()
            ):
                return canonical, sid
            return group, sid  # a localized name as shown; member_of uses the SID
        return self.qualify(group), None

    def emit(self) -> None:
        if not (self.users or self.groups):
            self.b.warn(self.a, None, "local accounts: no user, group or member found in this file")
            self.b.section("local_accounts", "partial", f"nothing readable in {self.a.path}")
            return
        for u in self.users:
            facts = {k: v for k, v in u.facts.items() if v is not None and k != "sid"}
            member_of = []
            for g in u.groups:
                name, sid = self.group_ref(g)
                member_of.append(sid if sid and name == g and "\\" not in name else name)
            if member_of:
                facts["member_of"] = member_of
            domain = self.b.host.get("domain") if u.domain else None
            self.b.principal(
                (f"{domain}\\{u.name}" if domain else u.name) if u.domain else self.qualify(u.name),
                u.facts.get("sid"),
                kind="domain_user" if u.domain else "local_user",
                evidence=self.b.evidence(self.a, u.line),
                **facts,
            )
        for grp in self.groups:
            name, sid = self.group_ref(grp.name)
            gfacts: dict[str, Any] = {"evidence": self.b.evidence(self.a, grp.line)}
            if not (sid or grp.sid or "").startswith("S-1-5-32-"):
                gfacts["kind"] = "local_group"
            if grp.members is not None:
                gfacts["members"] = [{k: v for k, v in m.items() if k != "line"} for m in grp.members]
            entry = self.b.principal(name, grp.sid or sid, **gfacts)
            if grp.members is not None:
                entry["members"] = gfacts["members"]  # the listing is the whole membership, not an addition
                for m in grp.members:
                    if m.get("kind") or m.get("sid"):
                        self.b.principal(
                            m.get("name"),
                            m.get("sid"),
                            kind=m.get("kind"),
                            evidence=self.b.evidence(self.a, m["line"]),
                        )
        if self.groups_listed:
            self.b.data.setdefault("local_accounts", {})["groups_listed"] = True
        self.b.section("local_accounts", "partial" if self.problems else "ok")


# -- helpers ------------------------------------------------------------------------------------------------------------


def _star_list(value: str) -> list[str]:
    return [g.strip() for g in re.findall(r"\*([^*]+)", value) if g.strip()]


def _command_group(cmd: list[str]) -> str | None:
    if not cmd or cmd[0].casefold() != "get-localgroupmember":
        return None
    args = cmd[1:]
    for i, a in enumerate(args):
        if a.casefold() in ("-group", "-name", "-sid") and i + 1 < len(args):
            return args[i + 1]
    positional = [a for a in args if not a.startswith("-")]
    return positional[0] if positional else None


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict):
        return _text(value.get("Value") or value.get("value") or value.get("Name") or value.get("name"))
    return None


def _sid(value: Any) -> str | None:
    t = _text(value)
    return sids.normalize_sid(t) if t and sids.is_sid(t) else None


def _source(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return _SOURCES.get(value)
    if isinstance(value, str):
        return value.strip().casefold() or None
    return None


def _member_kind(o: dict[str, Any], sid: str | None) -> str | None:
    cls = words.skeleton(_text(o.get("objectclass")) or "")
    source = _source(o.get("principalsource"))
    if sid and (sid.startswith("S-1-5-32-") or sid in sids.NAME_OF):
        return "builtin"
    if cls in _USER_WORDS:
        return {"local": "local_user", "activedirectory": "domain_user"}.get(source or "")
    if cls in _GROUP_WORDS:
        return {"local": "local_group", "activedirectory": "domain_group"}.get(source or "")
    return None


PARSERS = [LocalAccountsParser(reader=_Run)]


@hookimpl
def iisguard_register_parsers() -> list[Any]:
    return PARSERS

"""SDDL strings and `Get-Acl | Format-List` output -> `acls[]`.

Accepted forms: one SDDL per line (bare, `path<TAB>sddl`, `path: sddl`), `icacls /save` files (a
path line, then its SDDL line), and Get-Acl records (`Path`, `Owner`, `Access`, `Sddl`; wrapped
`Sddl :` lines are joined back, the `Microsoft.PowerShell.Core\\FileSystem::` prefix is dropped).
When a record has an Sddl line it is the source of truth (it holds inheritance and protection); the
`Access` lines are used only without one. Rights become the icacls codes of capture/rights.py.

`parse_sd()` is also used by the AD parser for msDS-AllowedToActOnBehalfOfOtherIdentity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..hookspecs import hookimpl
from ..model import rights, sids
from . import console, words
from .base import Artifact, ArtifactRun, Builder, RunParser

# Domain-relative aliases: their SID needs the domain SID, which an SDDL string does not carry.
DOMAIN_RELATIVE: dict[str, str] = {
    "DA": "Domain Admins",
    "DU": "Domain Users",
    "DG": "Domain Guests",
    "DC": "Domain Computers",
    "DD": "Domain Controllers",
    "CA": "Cert Publishers",
    "SA": "Schema Admins",
    "EA": "Enterprise Admins",
    "PA": "Group Policy Creator Owners",
    "RS": "RAS and IAS Servers",
    "LA": "Administrator",
    "LG": "Guest",
    "RO": "Enterprise Read-only Domain Controllers",
    "CN": "Cloneable Domain Controllers",
    "AP": "Protected Users",
    "KA": "Key Admins",
    "EK": "Enterprise Key Admins",
}
_ALLOW_TYPES = {"A", "OA", "XA", "ZA"}
_DENY_TYPES = {"D", "OD", "XD"}
_ACE_FLAGS = {"CI", "OI", "NP", "IO", "ID", "SA", "FA", "TP", "CR"}
_SDDL_START = re.compile(r"(?:^|[\t ]|:\s)((?:O:\S+?)?(?:G:\S+?)?D:[A-Z_]*\((?:A|D|OA|OD|XA|XD);)")
_GETACL_KEY = re.compile(
    r"^(Path|Owner|Group|Access|Audit|Sddl|AccessToString|AuditToString)\s*: ?(.*)$", re.I
)
_PROVIDER = re.compile(r"^[\w.]+\\[\w.]+::")
_ACCESS = re.compile(r"^(.*\S)\s+(Allow|Deny)\s+(\S.*)$")


@dataclass
class SddlAce:
    type: str  # allow or deny
    flags: list[str]
    mask: int
    account: str  # alias or SID as written


@dataclass
class SecurityDescriptor:
    owner: str | None = None
    dacl_flags: list[str] = field(default_factory=list)
    dacl_present: bool = False
    aces: list[SddlAce] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # parts that could not be read
    notes: list[str] = field(default_factory=list)  # read, but worth a warning

    @property
    def protected(self) -> bool | None:
        return "P" in self.dacl_flags if self.dacl_present else None


def _components(text: str) -> dict[str, str] | None:
    """`O:..G:..D:..S:..` split at top level (parentheses of conditional ACEs are skipped)."""
    out: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        if i + 1 < n and text[i] in "OGDS" and text[i + 1] == ":" and text[i] not in out:
            key = text[i]
            j, depth = i + 2, 0
            while j < n:
                c = text[j]
                if c == "(":
                    depth += 1
                elif c == ")":
                    depth -= 1
                elif (
                    depth == 0
                    and j + 1 < n
                    and c in "OGDS"
                    and text[j + 1] == ":"
                    and c not in out
                    and c != key
                ):
                    break
                j += 1
            out[key] = text[i + 2 : j]
            i = j
        else:
            return None
    return out


def _ace_groups(text: str) -> tuple[str, list[str]] | None:
    """DACL flags and its `(...)` ACE strings (nested parentheses kept inside an ACE)."""
    start = text.find("(")
    flags = text if start < 0 else text[:start]
    groups: list[str] = []
    depth = 0
    cur = ""
    for c in text[len(flags) :]:
        if c == "(":
            depth += 1
            if depth == 1:
                cur = ""
                continue
        elif c == ")":
            depth -= 1
            if depth == 0:
                groups.append(cur)
                continue
            if depth < 0:
                return None
        elif depth == 0:
            if c.isspace():
                continue
            return None
        cur += c
    if depth != 0:
        return None
    return flags, groups


def parse_sd(text: str) -> SecurityDescriptor | None:
    """A security descriptor in SDDL, or None when the text is not SDDL at all."""
    comps = _components(text.strip())
    if not comps or not ({"O", "G", "D"} & comps.keys()):
        return None
    sd = SecurityDescriptor(owner=(comps.get("O") or None))
    if "D" in comps:
        parsed = _ace_groups(comps["D"])
        if parsed is None:
            return None
        flags, groups = parsed
        sd.dacl_present = True
        sd.dacl_flags = re.findall(r"NO_ACCESS_CONTROL|AI|AR|P", flags)
        if "NO_ACCESS_CONTROL" in sd.dacl_flags:
            sd.aces.append(SddlAce("allow", [], rights.SIMPLE["F"], "WD"))
            sd.notes.append("the DACL is NO_ACCESS_CONTROL (a null DACL): everyone has full control")
        for g in groups:
            fields = g.split(";", 6)
            if len(fields) < 6:
                sd.problems.append(f"an ACE with {len(fields)} fields instead of 6: ({g[:60]})")
                continue
            atype, aflags, arights, account = (
                fields[0].upper(),
                fields[1].upper(),
                fields[2],
                fields[5].strip(),
            )
            if atype in _ALLOW_TYPES:
                kind = "allow"
            elif atype in _DENY_TYPES:
                kind = "deny"
            else:
                sd.problems.append(f"an ACE of type {atype!r} in the DACL was skipped")
                continue
            flag_list = [aflags[i : i + 2] for i in range(0, len(aflags), 2)]
            unknown = [f for f in flag_list if f not in _ACE_FLAGS]
            if unknown or len(aflags) % 2:
                sd.problems.append(f"an ACE with unknown flags {aflags!r} was skipped")
                continue
            mask = rights.sddl_mask(arights)
            if mask is None:
                sd.problems.append(f"an ACE with unreadable rights {arights!r} was skipped")
                continue
            if not account:
                sd.problems.append("an ACE without an account was skipped")
                continue
            sd.aces.append(SddlAce(kind, flag_list, mask, account))
    return sd


def resolve_account(account: str) -> tuple[str, str | None]:
    """(principal as a person reads it, SID when machine-independent) for an SDDL alias or SID."""
    a = account.strip()
    if sids.is_sid(a):
        sid = sids.normalize_sid(a)
        return sids.name_of(sid) or sid, sid
    up = a.upper()
    alias_sid = sids.SDDL_ALIASES.get(up)
    if alias_sid:
        return sids.name_of(alias_sid) or alias_sid, alias_sid
    if up in DOMAIN_RELATIVE:
        return DOMAIN_RELATIVE[up], None
    return a, None


def sd_aces(sd: SecurityDescriptor, evidence: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for ace in sd.aces:
        principal, sid = resolve_account(ace.account)
        entry: dict[str, Any] = {"principal": principal}
        if sid:
            entry["sid"] = sid
        entry["type"] = ace.type
        entry["rights"] = rights.codes_from_mask(ace.mask)
        entry["inherited"] = "ID" in ace.flags
        entry["inheritance"] = [f for f in ("OI", "CI", "IO", "NP") if f in ace.flags]
        entry["evidence"] = evidence
        out.append(entry)
    return out


class SddlParser(RunParser):
    kind = "sddl"
    sections = ("acls",)

    def detect(self, head: str, name: str) -> float:
        score = 0.0
        if re.search(r"(?im)^Path\s*:\s*Microsoft\.PowerShell\.Core\\FileSystem::", head):
            score = 0.95
        elif re.search(r"(?im)^Sddl\s*:\s*[OGD]:", head):
            score = 0.9
        elif _SDDL_START.search(head) or (
            re.search(r"(?im)^Access\w*\s*:.*\s(?:Allow|Deny)\s", head)
            and re.search(r"(?im)^Owner\s*:", head)
        ):
            score = 0.85
        return console.name_bonus(score, name, ("sddl", "acl"))


class _Run(ArtifactRun):
    def __init__(self, artifact: Artifact, builder: Builder) -> None:
        super().__init__(artifact, builder)
        self.record: dict[str, tuple[int, list[str]]] | None = None
        self.last_key: str | None = None
        self.held: tuple[int, str] | None = None  # a path line waiting for its SDDL line (icacls /save)
        self.count = 0
        self.hint_path = self.hint("acl_path")
        # `icacls DIR /save FILE /T` names each object relative to DIR's parent ("wwwroot\\x.htm"):
        # that parent comes as acl_base (the capture script records it), so the paths become whole.
        base = self.hint("acl_base")
        self.base: str | None = base.rstrip("\\") if base and base.strip() else None

    def run(self) -> None:
        for no, line in console.numbered(self.a):
            self.line(no, line)
        self.flush_record()
        self.flush_held()
        if not self.count:
            self.b.warn(self.a, None, "sddl: no security descriptor found in this file")
            self.b.section("acls", "partial", f"nothing readable in {self.a.path}")
            return
        self.b.section("acls", "partial" if self.problems else "ok")

    def line(self, no: int, line: str) -> None:
        p = console.prompt(line)
        if p is not None:
            console.note_prompt(p, self.b)
            self.flush_record()
            self.flush_held()
            return
        if not line.strip():
            self.flush_record()
            return
        if console.is_banner(line):
            return
        if line[0].isspace() and self.record is not None and self.last_key:
            self.record[self.last_key][1].append(line)
            return
        m = _GETACL_KEY.match(line)
        if m:
            self.flush_held()
            key = m.group(1).casefold().replace("tostring", "")  # AccessToString is Access
            if self.record is not None and key == "path":
                self.flush_record()
            if self.record is None:
                self.record = {}
            self.record[key] = (no, [m.group(2)])
            self.last_key = key
            return
        self.flush_record()
        self.plain(no, line.strip())

    # -- plain SDDL lines ---------------------------------------------------------------------------------
    def plain(self, no: int, text: str) -> None:
        path: str | None = None
        sddl = text
        if "\t" in text:
            path, _, sddl = text.partition("\t")
        else:
            m = re.match(r"^(.*?):\s+([OGD]:.*)$", text)
            if m:
                path, sddl = m.group(1), m.group(2)
        sd = parse_sd(sddl.strip()) if re.match(r"^[OGD]:", sddl.strip()) else None
        if sd is None:
            if path is None and not re.match(r"^[OGDS]:", text):
                self.flush_held()
                self.held = (no, text)  # maybe the path line of an icacls /save file
                return
            self.flush_held()
            self.problems += 1
            self.b.warn(
                self.a,
                no,
                f"sddl: skipped a line that is not a readable security descriptor: {console.clip(text)}",
            )
            return
        evidence_line = no
        if path is None and self.held is not None:
            evidence_line, path = self.held[0], self.held[1]
            self.held = None
        self.flush_held()
        if path is None:
            if self.hint_path and not self.count:
                path = self.hint_path
            else:
                path = f"{self.a.path}:{no}"
                self.b.warn(
                    self.a, no, f"sddl: the descriptor on line {no} has no path; recorded as {path!r}"
                )
        path = _strip_provider(path.strip())
        if self.base and not _is_absolute(path):
            path = self.base + "\\" + path.lstrip("\\")
        self.add(no, path, sd, None, evidence_line)

    def flush_held(self) -> None:
        if self.held is not None:
            no, text = self.held
            self.held = None
            self.b.warn(
                self.a, no, f"sddl: skipped a line that is neither a path nor SDDL: {console.clip(text)}"
            )

    # -- Get-Acl | Format-List --------------------------------------------------------------------------------
    def flush_record(self) -> None:
        rec = self.record
        self.record = None
        self.last_key = None
        if not rec:
            return
        first = min(no for no, _ in rec.values())
        if "path" not in rec:
            self.b.warn(self.a, first, "sddl: a Get-Acl record without a Path line was skipped")
            return
        pno, pparts = rec["path"]
        path = _strip_provider(console.join_wrapped(pparts))
        owner = console.join_wrapped(rec["owner"][1]) if "owner" in rec else None
        if "sddl" in rec:
            sno, sparts = rec["sddl"]
            text = "".join(p.strip() for p in sparts)  # SDDL has no spaces: wrapped pieces join directly
            sd = parse_sd(text)
            if sd is None:
                self.problems += 1
                self.b.warn(self.a, sno, "sddl: the Sddl value of this record is not readable SDDL")
            else:
                self.add(sno, path, sd, owner, pno)
                return
        if "access" in rec:
            self.add_access(path, owner, pno, rec["access"])
            return
        self.b.warn(self.a, pno, f"sddl: the Get-Acl record for {path} has neither Access nor Sddl")

    def add_access(self, path: str, owner: str | None, pno: int, access: tuple[int, list[str]]) -> None:
        ano, parts = access
        entries: list[tuple[int, str]] = []
        for i, part in enumerate(parts):
            text = part.strip()
            if not text:
                continue
            if entries and not _ACCESS.match(text):
                entries[-1] = (entries[-1][0], console.join_wrapped([entries[-1][1], text]))  # wrapped ACE
            else:
                entries.append((ano + i, text))
        aces = []
        if len(entries) == 1 and entries[0][1].startswith("{System."):
            self.problems += 1
            self.b.warn(
                self.a,
                ano,
                f"sddl: the Access value of {path} lists objects, not rules; capture Get-Acl with its Sddl",
            )
            return
        for no, text in entries:
            m = _ACCESS.match(text)
            mask = rights.filesystem_rights_mask(m.group(3)) if m else None
            if m is None or mask is None:
                self.problems += 1
                self.b.warn(
                    self.a, no, f"sddl: skipped an Access entry that cannot be read: {console.clip(text)}"
                )
                continue
            principal = m.group(1).strip()
            sid = words.sid_for(principal)
            ace: dict[str, Any] = {
                "principal": sids.normalize_sid(principal) if sids.is_sid(principal) else principal
            }
            if sid:
                ace["sid"] = sid
            ace["type"] = m.group(2).lower()
            ace["rights"] = rights.codes_from_mask(mask)
            ace["evidence"] = self.b.evidence(self.a, no)
            aces.append(ace)
        if not aces:
            return  # nothing readable: an ACL without ACEs would claim that nobody has access
        acl: dict[str, Any] = {"path": path}
        if owner:
            acl["owner"] = owner
        acl["aces"] = aces
        acl["evidence"] = self.b.evidence(self.a, pno)
        self.b.add_acl(acl)
        self.count += 1

    # -- both -----------------------------------------------------------------------------------------------------
    def add(self, no: int, path: str, sd: SecurityDescriptor, owner: str | None, path_line: int) -> None:
        if not path:
            self.b.warn(self.a, no, "sddl: a descriptor without a path was skipped")
            return
        for problem in sd.problems:
            self.problems += 1
            self.b.warn(self.a, no, f"sddl: {path}: {problem}")
        for note in sd.notes:
            self.b.warn(self.a, no, f"sddl: {path}: {note}")
        acl: dict[str, Any] = {"path": path}
        if owner or sd.owner:
            acl["owner"] = owner or resolve_account(sd.owner or "")[0]
        if sd.protected is not None:
            acl["protected"] = sd.protected
        acl["aces"] = sd_aces(sd, self.b.evidence(self.a, no))
        acl["evidence"] = self.b.evidence(self.a, path_line)
        self.b.add_acl(acl)
        self.count += 1


def _is_absolute(path: str) -> bool:
    return bool(re.match(r"^(?:[A-Za-z]:[\\/]|\\\\|//)", path))


def _strip_provider(path: str) -> str:
    return _PROVIDER.sub("", path.strip())


PARSERS = [SddlParser(reader=_Run)]


@hookimpl
def iisguard_register_parsers() -> list[Any]:
    return PARSERS

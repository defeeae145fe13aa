"""`setspn -L`, `-Q` (with `-T` / `-F`) and `-X` output -> principals with SPNs, `spns.queries[]`, `spns.duplicates[]`.

Each distinguished name starts an account (`Registered ServicePrincipalNames for CN=...:` in -L,
a bare `CN=...` line in -Q) and the indented lines under it are its SPNs. In -X, a line
`SPN is registered on these accounts:` starts a duplicate group whose indented lines are DNs.
The queried SPN comes from the echoed command (`setspn -Q HTTP/web01`) or the manifest hint
`spn_query`. LDAP and lookup errors become warnings and make the section `partial`.

Account names are `DOMAIN\\CN` with the NetBIOS domain taken as the DN's first DC label in upper case;
computers (in `OU=Domain Controllers` or `CN=Computers`, or holding `HOST/` SPNs) and accounts in
`CN=Managed Service Accounts` get the `$` their sAMAccountName carries. SPNs are kept verbatim: an
`@REALM` suffix is part of the value AD stores (IIS-KRB-017 reports it). A line cut short by the
author (`<SNIP>`, `...`) or by the console (`ldap/ACADEMY-EA-`, a line as wide as the console) is
warned about as possibly truncated and not taken as an SPN.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..hookspecs import hookimpl
from . import console
from .base import Artifact, ArtifactRun, Builder, RunParser

_DN = re.compile(r"((?:CN|OU)=(?:[^,\\]|\\.)+(?:,(?:CN|OU|DC|O|L)=(?:[^,\\]|\\.)+)*)", re.IGNORECASE)
_CHECKING = re.compile(r"^\S.*?\b(DC=[^\s]+(?:,DC=[^\s,]+)*)\s*$", re.IGNORECASE)
_DUPLICATES = re.compile(r"\bfound (\d+) groups? of duplicate SPNs?", re.IGNORECASE)
_DUP_HEADER = re.compile(r"^(\S+/\S+)\s+.*:\s*$")
_ERROR = re.compile(r"ldap error|failed|could not|unable|cannot|error|0x[0-9a-f]{8}|denied", re.IGNORECASE)
_COMPUTER_SPN = ("host/", "restrictedkrbhost/")


@dataclass
class _Account:
    dn: str
    line: int
    spns: list[str] = field(default_factory=list)


@dataclass
class _Query:
    spn: str | None
    line: int
    accounts: list[str] = field(default_factory=list)  # DNs
    done: bool = False


def split_dn(dn: str) -> list[tuple[str, str]]:
    """RDNs of a DN as (type, value) with `\\,` escapes resolved."""
    out = []
    for part in re.split(r"(?<!\\),", dn):
        key, sep, value = part.partition("=")
        if sep:
            out.append((key.strip().upper(), re.sub(r"\\(.)", r"\1", value.strip())))
    return out


def dn_domain(dn: str) -> tuple[str | None, str | None]:
    """(NetBIOS guess, DNS name) from the DC= parts of a DN."""
    dcs = [v for k, v in split_dn(dn) if k == "DC"]
    if not dcs:
        return None, None
    return dcs[0].upper(), ".".join(dcs).lower()


def strip_realm(spn: str) -> str:
    """`HTTP/web01.corp.contoso.com@CORP.CONTOSO.COM` -> `HTTP/web01.corp.contoso.com`."""
    head, sep, realm = spn.rpartition("@")
    if sep and head and "/" in head and realm and "/" not in realm:
        return head
    return spn


_CUT = re.compile(r"<\s*snip\s*>|\[\s*(?:snip|\.\.\.|…)\s*\]|\.\.\.|…", re.IGNORECASE)


def _truncated(spn: str, width: int) -> str | None:  # width: the raw line's length
    """Why an SPN line looks cut short, or None: an author's cut, a host name ending in `-` or `.`
    cut by the console, or no `service/host` shape at all."""
    if _CUT.search(spn):
        return "the author cut the line"
    service, sep, rest = spn.partition("/")
    host = rest.split("/", 1)[0].split(":", 1)[0].split("@", 1)[0]
    if not sep or not service or not host or " " in spn:
        return "not in service/host form"
    if host.endswith("-") or (rest.endswith("-") and "/" not in rest):
        return "the host name ends in '-'"
    if width in console.CONSOLE_WIDTHS:
        return "the line is as wide as the console"
    return None


class SetspnParser(RunParser):
    kind = "setspn"
    sections = ("spns",)

    def detect(self, head: str, name: str) -> float:
        score = 0.0
        if re.search(r"(?im)^Registered ServicePrincipalNames for CN=", head):
            score = 0.95
        elif (
            re.search(r"(?im)^Checking (?:domain|forest) DC=", head)
            or _DUPLICATES.search(head)
            or re.search(r"(?im)is registered on these accounts:\s*$", head)
        ):
            score = 0.9
        elif re.search(r"(?im)^(?:Existing SPN found!|No such SPN found\.)", head):
            score = 0.85
        elif re.search(r"(?im)^\S*>\s*setspn(?:\.exe)?\s", head) and re.search(r"(?im)^\s*CN=.+,DC=", head):
            score = 0.8
        elif re.search(r"(?im)^\S.*\bCN=[^\n]*,DC=[^\n]*:\s*$\n^\s+\w+/\S+", head):
            score = 0.75  # a localized -L header followed by an SPN
        return console.name_bonus(score, name, ("spn",))


class _Run(ArtifactRun):
    def __init__(self, artifact: Artifact, builder: Builder) -> None:
        super().__init__(artifact, builder)
        self.accounts: dict[str, _Account] = {}  # DN (folded) -> account with its SPNs
        self.account: _Account | None = None
        self.dup: dict[str, Any] | None = None
        self.dups: list[dict[str, Any]] = []
        self.queries: list[_Query] = []
        self.query: _Query | None = None
        self.mode: str | None = None
        self.query_spn: str | None = None
        self.hint_query = self.hint("spn_query")
        self.reported_dups: int | None = None
        self.computers: set[str] = set()
        self.read = 0
        self.raw_width = 0  # of the line being read (a line as wide as the console may be cut)

    def run(self) -> None:
        for no, line in console.numbered(self.a):
            self.raw_width = len(line)
            self.line(no, line)
        self.end_block()
        self.end_query()
        self.finish()

    # -- lines ----------------------------------------------------------------------------------------------------
    def line(self, no: int, line: str) -> None:
        p = console.prompt(line)
        if p is not None:
            console.note_prompt(p, self.b)
            self.end_block()
            self.end_query()
            self.command(p.command)
            return
        if not line.strip():
            self.end_block()
            return
        if console.is_banner(line):
            return
        text = line.strip()
        if line[0].isspace():
            self.indented(no, text)
            return
        if text.casefold().startswith("processing entry"):
            return
        m = _DUPLICATES.search(text)
        if m:
            self.end_block()
            self.reported_dups = (self.reported_dups or 0) + int(m.group(1))
            return
        if text.endswith("!") and "CN=" not in text and "/" not in text:
            self.end_block()  # "Existing SPN found!"
            self.end_query(found=True, line=no)
            return
        if text.casefold().startswith("no such spn") or (
            self.query is not None and text.endswith(".") and "no such" in text.casefold()
        ):
            self.end_block()
            self.end_query(found=False, line=no)
            return
        if text.casefold().startswith("warning"):
            self.warn(no, f"setspn: {text}")
            return
        dn = _DN.search(text)
        if dn and "DC=" in dn.group(1).upper():
            self.end_block()
            self.start_account(no, dn.group(1).rstrip(":").strip())
            return
        m = _DUP_HEADER.match(text)
        if m and "CN=" not in text:
            self.end_block()
            self.dup = {"spn": m.group(1), "accounts": [], "line": no}
            return
        m = _CHECKING.match(text)
        if m and "CN=" not in text.upper():
            self.end_block()
            if self.query is None and self.mode not in ("L", "X"):
                self.query = _Query(self.query_spn or self.hint_query, no)
            return
        if _ERROR.search(text):
            self.warn(no, f"setspn: {text}", problem=True)
            return
        self.warn(no, f"setspn: skipped a line that is not an account, SPN or result: {console.clip(text)}")

    def command(self, command: str) -> None:
        args = console.command_args(command)
        if not args or args[0].casefold() not in ("setspn", "setspn.exe"):
            self.mode = None
            self.query_spn = None
            return
        self.mode = None
        self.query_spn = None
        it = iter(args[1:])
        for arg in it:
            flag = arg.casefold()
            if flag in ("-q", "/q"):
                self.mode = "Q"
                self.query_spn = next(it, None)
            elif flag in ("-l", "/l", "-x", "/x"):
                self.mode = flag[1].upper()
            elif flag in ("-t", "/t"):
                next(it, None)  # the domain or forest to search

    def indented(self, no: int, text: str) -> None:
        if self.dup is not None:
            dn = _DN.search(text)
            if dn:
                self.dup["accounts"].append(dn.group(1))
                self.accounts.setdefault(dn.group(1).casefold(), _Account(dn.group(1), no))
            else:
                self.warn(
                    no, f"setspn: skipped a line in a duplicate group that is not a DN: {console.clip(text)}"
                )
            return
        if self.account is not None:
            spn = text.strip()
            why = _truncated(spn, self.raw_width)
            if why:
                self.warn(no, f"setspn: {console.clip(spn)} looks cut short ({why}); not taken as an SPN")
                return
            if spn not in self.account.spns:
                self.account.spns.append(spn)
            self.read += 1
            return
        self.warn(no, f"setspn: skipped an indented line with no account above it: {console.clip(text)}")

    def start_account(self, no: int, dn: str) -> None:
        acct = self.accounts.get(dn.casefold())
        if acct is None:
            acct = self.accounts[dn.casefold()] = _Account(dn, no)
        self.account = acct
        self.read += 1
        if self.query is None and (self.mode == "Q" or self.query_spn):
            self.query = _Query(self.query_spn or self.hint_query, no)
        if self.query is not None and dn not in self.query.accounts:
            self.query.accounts.append(dn)

    def end_block(self) -> None:
        self.account = None
        if self.dup is not None:
            self.dups.append(self.dup)
            self.dup = None

    def end_query(self, found: bool | None = None, line: int | None = None) -> None:
        q = self.query
        if found is not None and q is None:
            q = _Query(self.query_spn or self.hint_query, line or 0)
        self.query = None
        if q is None:
            return
        if found is False:
            q.accounts = []
        self.queries.append(q)

    # -- result ----------------------------------------------------------------------------------------------------
    def finish(self) -> None:
        # An account's own SPN host names it a computer: `HTTP/web01...` duplicated on `CN=WEB01`.
        for d in self.dups:
            host = d["spn"].split("/", 1)[-1].split(":")[0].split(".")[0].casefold()
            for dn in d["accounts"]:
                rdns = split_dn(dn)
                if rdns and rdns[0][1].casefold() == host:
                    self.computers.add(dn.casefold())
        known = {
            str(p["distinguished_name"]).casefold(): (str(p["name"]), p.get("kind") == "computer")
            for p in self.b.principals
            if p.get("distinguished_name") and p.get("name")
        }
        names = {key: known.get(key) or self.name_of(acct) for key, acct in self.accounts.items()}
        for key, acct in self.accounts.items():
            name, computer = names[key]
            facts: dict[str, Any] = {
                "distinguished_name": acct.dn,
                "evidence": self.b.evidence(self.a, acct.line),
            }
            if acct.spns:
                facts["spns"] = list(acct.spns)
            if computer:
                facts["kind"] = "computer"
            self.b.principal(name, None, **facts)
        spns = self.b.data.setdefault("spns", {})
        for q in self.queries:
            if not q.spn:
                if q.accounts:
                    self.warn(
                        q.line,
                        "setspn: the queried SPN is not shown (no echoed command); accounts are kept, the query is not",
                    )
                continue
            spns.setdefault("queries", []).append(
                {
                    "spn": q.spn,
                    "accounts": [names[d.casefold()][0] for d in q.accounts],
                    "evidence": self.b.evidence(self.a, q.line),
                }
            )
        for d in self.dups:
            spns.setdefault("duplicates", []).append(
                {
                    "spn": d["spn"],
                    "accounts": [names[dn.casefold()][0] for dn in d["accounts"]],
                    "evidence": self.b.evidence(self.a, d["line"]),
                }
            )
        if self.reported_dups is not None and self.reported_dups != len(self.dups):
            self.warn(
                None,
                f"setspn: the output reports {self.reported_dups} duplicate group(s) but shows {len(self.dups)}",
                problem=True,
            )
        elif self.reported_dups is not None:
            # `setspn -X` printed its closing count and every group it counted: an SPN absent from
            # duplicates[] is not duplicated (rules may then judge it without an -Q query).
            spns["duplicates_checked"] = True
        if not (self.accounts or self.queries or self.dups or self.reported_dups is not None):
            self.b.warn(
                self.a, None, "setspn: no account, query result or duplicate report found in this file"
            )
            self.b.section("spns", "partial", f"nothing readable in {self.a.path}")
            return
        if not spns:
            del self.b.data["spns"]
        self.b.section(
            "spns", "partial" if self.problems else "ok", "setspn reported errors" if self.problems else ""
        )

    def name_of(self, acct: _Account) -> tuple[str, bool]:
        rdns = split_dn(acct.dn)
        cn = rdns[0][1] if rdns else acct.dn
        netbios, _dns = dn_domain(acct.dn)
        containers = {(k, v.casefold()) for k, v in rdns[1:]}
        computer = (
            acct.dn.casefold() in self.computers
            or ("OU", "domain controllers") in containers
            or ("CN", "computers") in containers
            or any(s.casefold().startswith(_COMPUTER_SPN) for s in acct.spns)
        )
        managed = ("CN", "managed service accounts") in containers
        sam = cn + "$" if (computer or managed) and not cn.endswith("$") else cn
        return (f"{netbios}\\{sam}" if netbios else sam), computer


PARSERS = [SetspnParser(reader=_Run)]


@hookimpl
def iisguard_register_parsers() -> list[Any]:
    return PARSERS

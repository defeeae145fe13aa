"""Deterministic synthetic IIS hosts for the benchmarks: a snapshot and the raw captures behind it.

    python benchmarks/generate.py                       # large: 5,000 sites -> benchmarks/out/large/
    python benchmarks/generate.py --scale 0.5           # half of it -> benchmarks/out/large-0.5/
    python benchmarks/generate.py --size medium         # 100 sites -> benchmarks/out/medium/
    python benchmarks/generate.py --captures            # also the raw captures (for `iisguard import`)

A "large" host is a shared-hosting server: 5,000 sites, each with its own application pool (a mix
of ApplicationPoolIdentity, NetworkService, LocalService, LocalSystem, domain service accounts and
gMSAs), 20 ACL paths per site with five ACEs each (100,000 paths), 5,000 domain principals with
SPNs and delegation facts, user rights listing every pool's SID, SPN queries for every bound host
name, web.config summaries, services and tasks. A few percent of everything is misconfigured the
way real servers are (LocalSystem pools, Everyone:M on content, unencrypted passwords, IUSR able
to write, unconstrained delegation, duplicate SPNs, ...), so rules fail as well as pass.

The same host is written as raw captures: applicationHost.config, an `icacls /T /C` listing,
a secedit export (UTF-16 with BOM, as Windows writes it), `setspn -L/-Q/-X` output, Get-AD* as
ConvertTo-Json, `whoami /priv` output and the capture.yaml manifest. Everything comes from one
seeded random generator: the same arguments give byte-identical files.
"""

from __future__ import annotations

import argparse
import base64
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).resolve().parent / "out"
sys.path.insert(0, str(ROOT / "core"))

from iisguard.model.sids import app_pool_sid  # noqa: E402

SIZES = {
    # sites (= pools), ACL paths per site, domain principals
    "large": (5000, 20, 5000),
    "medium": (100, 20, 100),
}
DOMAIN = "corp.example.com"
NETBIOS = "CORP"
DOMAIN_DN = "DC=corp,DC=example,DC=com"
DOMAIN_SID = "S-1-5-21-3623811015-3361044348-30300820"
COLLECTED_AT = "2026-11-20T09:00:00Z"
SITES_ROOT = "D:\\Sites"

SYSTEM = "NT AUTHORITY\\SYSTEM"
ADMINS = "BUILTIN\\Administrators"
USERS = "BUILTIN\\Users"
IIS_IUSRS = "BUILTIN\\IIS_IUSRS"
IUSR = "NT AUTHORITY\\IUSR"
CREATOR = "CREATOR OWNER"
TRUSTED = "NT SERVICE\\TrustedInstaller"

# Relative paths under each site's folder: 20 ACL paths per site. The pool may modify App_Data,
# uploads and logs; everything else is read-only for it.
SITE_TREE = (
    "",
    "wwwroot",
    "wwwroot\\web.config",
    "wwwroot\\default.aspx",
    "wwwroot\\Global.asax",
    "wwwroot\\bin",
    "wwwroot\\bin\\Site.dll",
    "wwwroot\\bin\\Site.Data.dll",
    "wwwroot\\App_Data",
    "wwwroot\\App_Data\\site.mdf",
    "wwwroot\\uploads",
    "wwwroot\\uploads\\readme.txt",
    "wwwroot\\Content",
    "wwwroot\\Content\\site.css",
    "wwwroot\\Scripts",
    "wwwroot\\Scripts\\site.js",
    "wwwroot\\Views",
    "wwwroot\\Views\\web.config",
    "logs",
    "logs\\app.log",
)
WRITABLE = {
    "wwwroot\\App_Data",
    "wwwroot\\App_Data\\site.mdf",
    "wwwroot\\uploads",
    "wwwroot\\uploads\\readme.txt",
    "logs",
    "logs\\app.log",
}
FILES = {p for p in SITE_TREE if "." in p.rsplit("\\", 1)[-1]}

PROVIDER = "IISWASOnlyCngProvider"
RIGHTS_WITH_POOLS = (
    "SeAssignPrimaryTokenPrivilege",
    "SeIncreaseQuotaPrivilege",
    "SeAuditPrivilege",
    "SeServiceLogonRight",
)
BASE_RIGHTS = {
    "SeAssignPrimaryTokenPrivilege": ["S-1-5-19", "S-1-5-20"],
    "SeIncreaseQuotaPrivilege": ["S-1-5-19", "S-1-5-20", "S-1-5-32-544"],
    "SeAuditPrivilege": ["S-1-5-19", "S-1-5-20"],
    "SeImpersonatePrivilege": ["S-1-5-19", "S-1-5-20", "S-1-5-32-544", "S-1-5-32-568", "S-1-5-6"],
    "SeBatchLogonRight": ["S-1-5-32-544", "S-1-5-32-551", "S-1-5-32-559", "S-1-5-32-568"],
    "SeServiceLogonRight": ["S-1-5-80-0"],
    "SeInteractiveLogonRight": ["S-1-5-32-544", "S-1-5-32-551", "S-1-5-32-545"],
    "SeRemoteInteractiveLogonRight": ["S-1-5-32-544", "S-1-5-32-555"],
    "SeNetworkLogonRight": ["S-1-1-0", "S-1-5-32-544", "S-1-5-32-545", "S-1-5-32-551"],
    "SeDebugPrivilege": ["S-1-5-32-544"],
    "SeBackupPrivilege": ["S-1-5-32-544", "S-1-5-32-551"],
    "SeRestorePrivilege": ["S-1-5-32-544", "S-1-5-32-551"],
    "SeTakeOwnershipPrivilege": ["S-1-5-32-544"],
    "SeLoadDriverPrivilege": ["S-1-5-32-544"],
    "SeSecurityPrivilege": ["S-1-5-32-544"],
    "SeManageVolumePrivilege": ["S-1-5-32-544"],
    "SeChangeNotifyPrivilege": [
        "S-1-1-0",
        "S-1-5-19",
        "S-1-5-20",
        "S-1-5-32-544",
        "S-1-5-32-545",
        "S-1-5-32-551",
    ],
}
WORKER_PRIVILEGES = (
    ("SeAssignPrimaryTokenPrivilege", "Replace a process level token", False),
    ("SeIncreaseQuotaPrivilege", "Adjust memory quotas for a process", False),
    ("SeAuditPrivilege", "Generate security audits", False),
    ("SeChangeNotifyPrivilege", "Bypass traverse checking", True),
    ("SeImpersonatePrivilege", "Impersonate a client after authentication", True),
    ("SeCreateGlobalPrivilege", "Create global objects", True),
    ("SeIncreaseWorkingSetPrivilege", "Increase a process working set", False),
)


# -- the model ------------------------------------------------------------------------------------


@dataclass
class Account:
    sam: str  # without the domain; gMSAs and computers end in $
    kind: str  # domain_user, gmsa, computer
    rid: int
    ou: str
    spns: list[str] = field(default_factory=list)
    enabled: bool = True
    never_expires: bool = False
    password_required: bool = True
    password_last_set: str = "2026-06-01T10:00:00Z"
    admin_count: int | None = None
    member_of: list[str] = field(default_factory=list)  # group names (DOMAIN\\name)
    unconstrained: bool = False
    protocol_transition: bool = False
    constrained_to: list[str] = field(default_factory=list)
    rbcd_from: list[str] = field(default_factory=list)
    not_delegated: bool = False
    enc_types: int = 24

    @property
    def name(self) -> str:
        return f"{NETBIOS}\\{self.sam}"

    @property
    def cn(self) -> str:
        return self.sam.rstrip("$")

    @property
    def dn(self) -> str:
        return f"CN={self.cn},{self.ou},{DOMAIN_DN}"

    @property
    def sid(self) -> str:
        return f"{DOMAIN_SID}-{self.rid}"

    @property
    def uac(self) -> int:
        value = 0x1000 if self.kind in ("computer", "gmsa") else 0x200  # workstation trust / normal account
        if not self.enabled:
            value |= 0x2
        if not self.password_required:
            value |= 0x20
        if self.never_expires:
            value |= 0x10000
        if self.unconstrained:
            value |= 0x80000
        if self.not_delegated:
            value |= 0x100000
        if self.protocol_transition:
            value |= 0x1000000
        return value


@dataclass
class Pool:
    name: str
    identity: str
    user: str | None = None  # DOMAIN\\sam for SpecificUser
    password: str | None = None  # "encrypted", "clear" or None
    manual_group_membership: bool = False
    enable_32bit: bool = False


@dataclass
class Site:
    id: int
    name: str
    pool: str
    host: str  # DNS host name of its binding
    https: bool
    extra_app_pool: str | None = None  # a second application (/api) in this pool
    anonymous: bool = True
    anonymous_user: str = "IUSR"  # "" = the pool identity
    anonymous_password: bool = False
    windows: bool = False
    basic: bool = False
    kernel_mode: bool = True
    connect_as: bool = False
    web_config: dict[str, Any] | None = None


@dataclass
class Ace:
    principal: str
    type: str
    rights: tuple[str, ...]
    inherited: bool
    inheritance: tuple[str, ...]


@dataclass
class Host:
    name: str
    size: str
    scale: float
    pools: list[Pool]
    sites: list[Site]
    acls: list[tuple[str, list[Ace]]]
    accounts: list[Account]
    computer: Account
    local_users: list[dict[str, Any]]
    admin_members: list[str]
    iis_iusrs_members: list[str]
    user_rights: dict[str, list[str]]
    tokens: list[dict[str, Any]]
    spn_queries: list[tuple[str, list[str]]]  # spn -> account names
    duplicates: list[tuple[str, list[str]]]
    services: list[dict[str, Any]]
    tasks: list[dict[str, Any]]


def counts(size: str, scale: float) -> tuple[int, int, int]:
    sites, per_site, accounts = SIZES[size]
    return max(1, round(sites * scale)), per_site, max(1, round(accounts * scale))


def build(size: str = "large", scale: float = 1.0, seed: int = 1, host: str | None = None) -> Host:
    """The whole host in memory, from one seeded generator."""
    rng = random.Random(f"{size}/{scale}/{seed}")
    n_sites, _per_site, n_accounts = counts(size, scale)
    name = host or ("WEB-BIG01" if size == "large" else f"WEB-MED{seed:04d}")
    computer = Account(
        f"{name}$",
        "computer",
        1000 + seed % 1000,
        "OU=Web Servers,OU=Tier1",
        spns=[
            f"HOST/{name}",
            f"HOST/{name.lower()}.{DOMAIN}",
            f"WSMAN/{name}",
            f"WSMAN/{name.lower()}.{DOMAIN}",
        ],
        password_last_set="2026-11-01T03:00:00Z",
        enc_types=28,
    )
    accounts: list[Account] = []
    rid = 5000

    def account(sam: str, kind: str, ou: str) -> Account:
        nonlocal rid
        rid += 1
        acct = Account(
            sam,
            kind,
            rid,
            ou,
            password_last_set=f"20{rng.randint(16, 26)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T10:00:00Z",
        )
        accounts.append(acct)
        return acct

    # Pools: identity mix of a shared-hosting server (most on ApplicationPoolIdentity).
    pools: list[Pool] = []
    svc_pool: list[Account] = []
    for i in range(n_sites):
        pname = f"pool{i:05d}"
        r = rng.random()
        if r < 0.84:
            pools.append(Pool(pname, "ApplicationPoolIdentity"))
        elif r < 0.88:
            pools.append(Pool(pname, "NetworkService"))
        elif r < 0.89:
            pools.append(Pool(pname, "LocalService"))
        elif r < 0.90:
            pools.append(Pool(pname, "LocalSystem"))  # misconfiguration
        elif r < 0.96:
            if svc_pool and rng.random() < 0.15:  # one account for several pools
                acct = rng.choice(svc_pool)
            else:
                acct = account(f"svc_web{len(svc_pool):04d}", "domain_user", "OU=Service Accounts,OU=Tier1")
                acct.never_expires = rng.random() < 0.3
                svc_pool.append(acct)
            pw = "clear" if rng.random() < 0.05 else "encrypted"
            pools.append(Pool(pname, "SpecificUser", acct.name, pw))
        else:
            acct = account(f"gmsa_web{i:05d}$", "gmsa", "CN=Managed Service Accounts")
            acct.enc_types = 28
            pools.append(Pool(pname, "SpecificUser", acct.name))
        pools[-1].manual_group_membership = rng.random() < 0.01
        pools[-1].enable_32bit = rng.random() < 0.1

    # Sites: one pool each; a few share a pool or add an /api application in another site's pool.
    sites: list[Site] = []
    for i in range(n_sites):
        pool = pools[i].name
        if i and rng.random() < 0.02:
            pool = pools[i - 1].name  # an app pool serving more than one site
        s = Site(i + 1, f"site{i:05d}", pool, f"site{i:05d}.{DOMAIN}", https=rng.random() < 0.5)
        if rng.random() < 0.05:
            s.extra_app_pool = pools[rng.randrange(n_sites)].name
        r = rng.random()  # shared hosting: mostly anonymous; a few intranet-style sites use Windows auth
        if r < 0.04:
            s.anonymous, s.windows = False, True
            s.kernel_mode = rng.random() > 0.05
        elif r < 0.05:
            s.windows = True  # anonymous and Windows together
        elif r < 0.06:
            s.basic = True
        r = rng.random()
        if r < 0.03:
            s.anonymous_user = ""  # the pool identity
        elif r < 0.05:
            s.anonymous_user = f"{name}\\anon{i:05d}"
            s.anonymous_password = True
        s.connect_as = rng.random() < 0.01
        if rng.random() < 0.5:
            s.web_config = {
                "impersonate": rng.random() < 0.01,
                "forms_users": 2 if rng.random() < 0.01 else 0,
                "conn_total": rng.randint(0, 3),
                "conn_password": rng.random() < 0.05,
                "protected": rng.random() < 0.5,
            }
        sites.append(s)

    # Domain principals with SPNs and delegation facts, up to the requested number.
    while len(accounts) < n_accounts:
        k = len(accounts)
        if rng.random() < 0.3:
            acct = account(f"APP{k:05d}$", "computer", "OU=App Servers,OU=Tier1")
            acct.spns = [f"HOST/APP{k:05d}", f"HOST/app{k:05d}.{DOMAIN}"]
        else:
            acct = account(f"svc_app{k:05d}", "domain_user", "OU=Service Accounts,OU=Tier1")
            acct.spns = [f"HTTP/app{k:05d}.{DOMAIN}", f"MSSQLSvc/sql{k % 50:02d}.{DOMAIN}:1433"]
            acct.never_expires = rng.random() < 0.4
        acct.constrained_to = [f"MSSQLSvc/sql{k % 50:02d}.{DOMAIN}:1433"] if rng.random() < 0.2 else []
    for acct in accounts:
        r = rng.random()
        if r < 0.005:
            acct.unconstrained = True
        elif r < 0.02:
            acct.protocol_transition = True
            acct.constrained_to = acct.constrained_to or [f"cifs/app{acct.rid}.{DOMAIN}"]
        elif r < 0.025:
            acct.constrained_to = [f"cifs/dc01.{DOMAIN}", "cifs/DC01"]  # delegation to a DC
        if rng.random() < 0.002:
            acct.admin_count = 1
            acct.member_of = [f"{NETBIOS}\\Domain Admins"]
        else:
            acct.member_of = [f"{NETBIOS}\\Web Service Accounts"]
        if acct.kind == "domain_user" and rng.random() < 0.01:
            acct.password_required = False
        if acct.kind == "domain_user" and rng.random() < 0.1:
            acct.enc_types = 4  # RC4 only
        acct.not_delegated = rng.random() < 0.05

    # SPNs of the Windows-auth sites: on the pool's domain account, else on the host's computer
    # account. Every bound host name is queried (as the capture script does).
    pool_by_name = {p.name: p for p in pools}
    by_name = {a.name: a for a in accounts}
    spn_queries: list[tuple[str, list[str]]] = []
    duplicates: list[tuple[str, list[str]]] = []
    for s in sites:
        spn = f"HTTP/{s.host}"
        pool = pool_by_name[s.pool]
        owner = by_name.get(pool.user or "", computer)
        r = rng.random()
        if not s.windows or r < 0.05:
            spn_queries.append((spn, []))  # no SPN registered (for a Windows-auth site: KRB-001)
            continue
        if r < 0.06 and accounts:
            owner = rng.choice(accounts)  # on the wrong account
        owner.spns.append(spn)
        found = [owner.name]
        if r > 0.95 and accounts:
            other = rng.choice(accounts)
            if other is not owner:
                other.spns.append(spn)
                found.append(other.name)
                duplicates.append((spn, found))
        spn_queries.append((spn, found))
    computer.spns.extend([f"HTTP/{name.lower()}.{DOMAIN}", f"HTTP/{name}"])

    # ACLs: the system folders, then 20 paths per site with five ACEs each.
    acls: list[tuple[str, list[Ace]]] = []
    for path, aces in system_acls(rng):
        acls.append((path, aces))
    for s in sites:
        acls.extend(site_acls(rng, s, pool_by_name[s.pool]))

    local_users = [
        {
            "name": f"{name}\\Administrator",
            "enabled": True,
            "never_expires": False,
            "last_set": "2026-09-01T08:00:00Z",
            "member_of": [ADMINS],
        },
        {
            "name": f"{name}\\deploy",
            "enabled": True,
            "never_expires": True,
            "last_set": "2019-03-14T10:00:00Z",
            "member_of": [USERS],
        },
    ]
    for s in sites:
        if s.anonymous_user.startswith(name + "\\"):
            local_users.append(
                {
                    "name": s.anonymous_user,
                    "enabled": True,
                    "never_expires": True,
                    "last_set": "2018-01-01T00:00:00Z",
                    "member_of": [USERS],
                }
            )
    admin_members = [f"{name}\\Administrator", f"{NETBIOS}\\Domain Admins"]
    if svc_pool:
        admin_members.append(svc_pool[0].name)  # a pool account in Administrators
    iis_iusrs_members = [f"{name}\\deploy"] if n_sites > 10 else []

    pool_sids = [app_pool_sid(p.name) for p in pools if p.identity == "ApplicationPoolIdentity"]
    rights = {k: list(v) for k, v in BASE_RIGHTS.items()}
    for right in RIGHTS_WITH_POOLS:
        rights[right].extend(pool_sids)
    if pool_sids:
        rights["SeDebugPrivilege"].append(pool_sids[len(pool_sids) // 2])  # dangerous right on one pool
    rights["SeImpersonatePrivilege"].append("S-1-1-0")  # to everyone

    tokens = []
    for p in pools[: min(3, len(pools))]:
        privs = [{"name": n, "description": d, "enabled": e} for n, d, e in WORKER_PRIVILEGES]
        if p.identity == "LocalSystem":
            privs.append({"name": "SeDebugPrivilege", "description": "Debug programs", "enabled": True})
        tokens.append(
            {
                "identity": f"IIS APPPOOL\\{p.name}",
                "source_artifact": f"tokens/whoami-{p.name}.txt",
                "privileges": privs,
            }
        )

    services = [
        {"name": "W3SVC", "start_name": "LocalSystem", "state": "Running", "start_mode": "Auto"},
        {"name": "WAS", "start_name": "LocalSystem", "state": "Running", "start_mode": "Auto"},
    ]
    tasks = []
    for k, acct in enumerate(svc_pool[: max(1, len(svc_pool) // 20)]):
        services.append(
            {"name": f"SiteSync{k:03d}", "start_name": acct.name, "state": "Running", "start_mode": "Auto"}
        )
        tasks.append({"name": f"\\Hosting\\Cleanup{k:03d}", "run_as": acct.name})

    return Host(
        name,
        size,
        scale,
        pools,
        sites,
        acls,
        accounts,
        computer,
        local_users,
        admin_members,
        iis_iusrs_members,
        rights,
        tokens,
        spn_queries,
        duplicates,
        services,
        tasks,
    )


def system_acls(rng: random.Random) -> list[tuple[str, list[Ace]]]:
    oici, ci, io = ("OI", "CI"), ("CI",), ("OI", "CI", "IO")
    base = [
        Ace(TRUSTED, "allow", ("F",), False, ci),
        Ace(SYSTEM, "allow", ("F",), False, oici),
        Ace(ADMINS, "allow", ("F",), False, oici),
        Ace(USERS, "allow", ("RX",), False, oici),
        Ace(CREATOR, "allow", ("F",), False, io),
    ]
    inherited = [Ace(a.principal, a.type, a.rights, True, a.inheritance) for a in base]
    config = [
        Ace(TRUSTED, "allow", ("F",), False, oici),
        Ace(SYSTEM, "allow", ("F",), False, oici),
        Ace(ADMINS, "allow", ("F",), False, oici),
        Ace(USERS, "allow", ("R",), False, oici),
        Ace(IIS_IUSRS, "allow", ("R",), False, oici),
    ]
    return [
        ("C:\\inetpub", base),
        ("C:\\inetpub\\wwwroot", inherited),
        ("C:\\inetpub\\logs", inherited),
        ("C:\\inetpub\\logs\\LogFiles", inherited[:4] + [Ace(IIS_IUSRS, "allow", ("M",), False, oici)]),
        ("C:\\inetpub\\temp", inherited),
        ("C:\\Windows\\System32\\inetsrv", inherited),
        ("C:\\Windows\\System32\\inetsrv\\config", config),
        ("C:\\Windows\\System32\\inetsrv\\config\\applicationHost.config", config),
        ("C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\Temporary ASP.NET Files", inherited),
        (
            "D:\\Sites",
            [
                Ace(SYSTEM, "allow", ("F",), False, oici),
                Ace(ADMINS, "allow", ("F",), False, oici),
                Ace(CREATOR, "allow", ("F",), False, io),
                Ace(USERS, "allow", ("RX",), False, ("OI", "CI")),
                Ace(f"{NETBIOS}\\Web Deploy", "allow", ("M",), False, oici),
            ],
        ),
    ]


def pool_principal(pool: Pool) -> str:
    if pool.identity == "ApplicationPoolIdentity":
        return f"IIS APPPOOL\\{pool.name}"
    if pool.identity == "SpecificUser":
        return str(pool.user)
    return {
        "NetworkService": "NT AUTHORITY\\NETWORK SERVICE",
        "LocalService": "NT AUTHORITY\\LOCAL SERVICE",
        "LocalSystem": SYSTEM,
    }[pool.identity]


def site_acls(rng: random.Random, site: Site, pool: Pool) -> Iterator[tuple[str, list[Ace]]]:
    """Twenty paths: the site folder (explicit ACEs), then the tree inheriting from it."""
    root = f"{SITES_ROOT}\\{site.name}"
    worker = pool_principal(pool)
    broken = rng.random()  # which misconfiguration, if any, this site carries
    for rel in SITE_TREE:
        path = f"{root}\\{rel}" if rel else root
        is_file = rel in FILES
        flags: tuple[str, ...] = () if is_file else ("OI", "CI")
        inherited = bool(rel)
        worker_rights = ("M",) if rel in WRITABLE else ("RX",)
        fifth = Ace(IUSR, "allow", ("R",), inherited, flags)
        if broken < 0.02 and rel == "wwwroot":
            fifth = Ace("Everyone", "allow", ("M",), False, flags)  # content writable by everyone
        elif broken < 0.03 and rel == "wwwroot\\uploads":
            fifth = Ace(IUSR, "allow", ("M",), False, flags)  # anonymous can write
        elif broken < 0.04 and rel == "wwwroot\\bin":
            fifth = Ace(USERS, "allow", ("W",), False, flags)  # writable executables
        elif broken < 0.05 and rel == "wwwroot":
            worker_rights = ("M",)  # the pool can modify its content root
        yield (
            path,
            [
                Ace(SYSTEM, "allow", ("F",), inherited, flags),
                Ace(ADMINS, "allow", ("F",), inherited, flags),
                Ace(USERS, "allow", ("RX",), True, flags),  # from D:\\ (the drive's default)
                Ace(worker, "allow", worker_rights, inherited and rel not in WRITABLE, flags),
                fifth,
            ],
        )


# -- the snapshot ---------------------------------------------------------------------------------


def _secret(kind: str | None) -> dict[str, Any] | None:
    if kind is None:
        return None
    if kind == "clear":
        return {"present": True, "encrypted": False, "provider": None}
    return {"present": True, "encrypted": True, "provider": PROVIDER}


def _settings(h: Host) -> dict[str, Any]:
    """iis.settings as an import of this host's applicationHost.config and web.config files writes them:
    the server's sections once, one entry per pool and per site (their own elements), and an ASP.NET
    entry per captured web.config (one in 50 compiles with debug="true")."""
    line = iter(range(100, 10**9))

    def entry(
        location: str,
        section: str,
        attrs: dict[str, str],
        items: dict[str, list[tuple[str, dict[str, str]]]] | None = None,
    ) -> dict[str, Any]:
        artifact = (
            "iis/applicationHost.config"
            if not section.startswith("system.web/")
            else f"webconfig/{location}/web.config"
        )
        out: dict[str, Any] = {
            "location": location,
            "section": section,
            "attributes": {
                k: {"value": v, "evidence": {"artifact": artifact, "line": next(line)}}
                for k, v in attrs.items()
            },
        }
        if items:
            out["collections"] = {
                name: [
                    {"key": key, "attributes": a, "evidence": {"artifact": artifact, "line": next(line)}}
                    for key, a in values
                ]
                for name, values in items.items()
            }
        out["evidence"] = {"artifact": artifact, "line": next(line)}
        return out

    rf = "system.webServer/security/requestFiltering"
    extensions = [
        (e, {"fileExtension": e, "allowed": "false"}) for e in (".asa", ".asax", ".config", ".cs", ".mdb")
    ]
    settings = [
        entry(
            "",
            rf,
            {"fileExtensions/allowUnlisted": "true", "verbs/allowUnlisted": "true"},
            {"fileExtensions": extensions},
        ),
        entry("", "system.webServer/directoryBrowse", {"enabled": "false"}),
        entry(
            "",
            "system.webServer/httpErrors",
            {},
            {"": [("404.-1", {"statusCode": "404", "path": "404.htm"})]},
        ),
        entry(
            "",
            "system.webServer/httpProtocol",
            {},
            {"customHeaders": [("x-powered-by", {"name": "X-Powered-By", "value": "ASP.NET"})]},
        ),
        entry("", "system.webServer/security/access", {"sslFlags": "None"}),
        entry(
            "",
            "system.webServer/handlers",
            {"accessPolicy": "Read, Script"},
            {
                "": [
                    (
                        "pagehandlerfactory-integrated",
                        {"name": "PageHandlerFactory-Integrated", "path": "*.aspx"},
                    )
                ]
            },
        ),
        entry(
            "",
            "system.webServer/security/isapiCgiRestriction",
            {},
            {"": [("webengine4.dll", {"path": "webengine4.dll", "allowed": "true"})]},
        ),
        entry(
            "",
            "system.webServer/staticContent",
            {},
            {"": [(".htm", {"fileExtension": ".htm", "mimeType": "text/html"})]},
        ),
        entry(
            "",
            "system.webServer/globalModules",
            {},
            {"": [("staticfilemodule", {"name": "StaticFileModule", "image": "static.dll"})]},
        ),
        entry(
            "",
            "system.applicationHost/sites",
            {"logFile/logFormat": "W3C", "logFile/directory": "%SystemDrive%\\inetpub\\logs\\LogFiles"},
        ),
        entry(
            "",
            "system.applicationHost/applicationPools",
            {"managedRuntimeVersion": "v4.0", "processModel/identityType": "ApplicationPoolIdentity"},
        ),
    ]
    for p in h.pools:
        settings.append(
            entry(
                p.name,
                "system.applicationHost/applicationPools",
                {"name": p.name, "processModel/identityType": p.identity},
            )
        )
    aspnet_paths = []
    for s in h.sites:
        settings.append(
            entry(
                s.name,
                "system.applicationHost/sites",
                {"name": s.name, "id": str(s.id), "logFile/logFormat": "W3C"},
            )
        )
        if s.web_config is not None:
            aspnet_paths.append(s.name)
            settings.append(
                entry(s.name, "system.web/compilation", {"debug": "true" if s.id % 50 == 0 else "false"})
            )
    return {
        "settings": settings,
        "settings_sources": {"applicationhost": "whole", "aspnet_paths": aspnet_paths},
    }


def snapshot(h: Host) -> dict[str, Any]:
    """The host as a snapshot valid against the schema (collection.source "synthetic")."""
    sections = [
        {"name": s, "status": "ok"}
        for s in (
            "iis",
            "user_rights",
            "tokens",
            "acls",
            "principals",
            "spns",
            "local_accounts",
            "services",
            "ad",
            "web_configs",
        )
    ]
    pools = []
    for p in h.pools:
        ident: dict[str, Any] = {"type": p.identity}
        if p.user:
            ident["user"] = p.user
        if p.password:
            ident["password"] = _secret(p.password)
        pools.append(
            {
                "name": p.name,
                "identity": ident,
                "load_user_profile": True,
                "managed_runtime_version": "v4.0",
                "pipeline_mode": "Integrated",
                "enable_32bit": p.enable_32bit,
                "auto_start": True,
                "state": "Started",
                "manual_group_membership": p.manual_group_membership,
                "start_mode": "OnDemand",
            }
        )
    sites = []
    auth = [_auth("", True, "IUSR", False, False, False, True)]
    aspnet = []
    for s in h.sites:
        bindings = [{"protocol": "http", "binding_information": f"*:80:{s.host}", "host": s.host, "port": 80}]
        if s.https:
            bindings.append(
                {"protocol": "https", "binding_information": f"*:443:{s.host}", "host": s.host, "port": 443}
            )
        root = f"{SITES_ROOT}\\{s.name}\\wwwroot"
        vdir: dict[str, Any] = {"path": "/", "physical_path": root}
        if s.connect_as:
            vdir.update(
                {
                    "user": f"{NETBIOS}\\cust{s.id:05d}",
                    "password": _secret("encrypted"),
                    "logon_method": "ClearText",
                }
            )
        apps = [{"path": "/", "app_pool": s.pool, "virtual_directories": [vdir]}]
        if s.extra_app_pool:
            apps.append(
                {
                    "path": "/api",
                    "app_pool": s.extra_app_pool,
                    "virtual_directories": [{"path": "/", "physical_path": root + "\\api"}],
                }
            )
        sites.append(
            {
                "name": s.name,
                "id": s.id,
                "bindings": bindings,
                "applications": apps,
                "log_directory": "%SystemDrive%\\inetpub\\logs\\LogFiles",
                "log_directory_expanded": "C:\\inetpub\\logs\\LogFiles",
                "server_auto_start": True,
            }
        )
        auth.append(
            _auth(
                s.name, s.anonymous, s.anonymous_user, s.anonymous_password, s.windows, s.basic, s.kernel_mode
            )
        )
        if s.web_config is not None:
            w = s.web_config
            entry: dict[str, Any] = {
                "location": s.name,
                "artifact": f"webconfig/{s.name}/web.config",
                "connection_strings": {
                    "with_password": int(w["conn_password"]),
                    "protected": w["protected"],
                    "total": w["conn_total"],
                },
                "authorization": [
                    {"action": "allow", "users": ["*"], "roles": [], "verbs": [], "section": "system.web"}
                ],
            }
            if w["impersonate"]:
                entry["identity"] = {
                    "impersonate": True,
                    "user": f"{NETBIOS}\\cust{s.id:05d}",
                    "password": _secret("clear"),
                    "protected": False,
                }
            if w["forms_users"]:
                entry["forms_credentials"] = {"password_format": "Clear", "users": w["forms_users"]}
            aspnet.append(entry)
    data: dict[str, Any] = {
        "schema_version": "1.0",
        "host": {
            "name": h.name,
            "fqdn": f"{h.name.lower()}.{DOMAIN}",
            "domain": DOMAIN,
            "domain_joined": True,
            "is_domain_controller": False,
            "roles": ["Web-Server"],
            "environment": {"SystemDrive": "C:", "SystemRoot": "C:\\Windows", "windir": "C:\\Windows"},
            "os": {"version": "10.0.20348", "caption": "Microsoft Windows Server 2022 Datacenter"},
            "iis": {"version": "10.0", "installed": True},
        },
        "collection": {
            "source": "synthetic",
            "tool_version": f"benchmarks/generate.py {h.size} scale={h.scale}",
            "collected_at": COLLECTED_AT,
            "artifacts": [],
            "sections": sections,
            "warnings": [],
        },
        "iis": {
            "version": "10.0",
            "app_pools": pools,
            "sites": sites,
            "authentication": auth,
            **_settings(h),
            "config_protected_data": {
                "providers": [
                    {"name": "IISWASOnlyCngProvider", "key_container_name": "iisCngWasKey"},
                    {"name": "IISCngProvider", "key_container_name": "iisCngConfigurationKey"},
                ]
            },
        },
        "aspnet": aspnet,
        "principals": principals(h),
        # The synthetic host lists every local group it has (those absent do not exist on it).
        "local_accounts": {"groups_listed": True},
        "services": h.services,
        "scheduled_tasks": h.tasks,
        "user_rights": h.user_rights,
        "tokens": [{k: v for k, v in t.items()} for t in h.tokens],
        "acls": [
            {
                "path": path,
                "owner": SYSTEM,
                "protected": False,
                "aces": [
                    {
                        "principal": a.principal,
                        "type": a.type,
                        "rights": list(a.rights),
                        "inherited": a.inherited,
                        "inheritance": list(a.inheritance),
                    }
                    for a in aces
                ],
            }
            for path, aces in h.acls
        ],
        "spns": {
            "queries": [{"spn": spn, "accounts": list(accts)} for spn, accts in h.spn_queries],
            "duplicates_checked": True,
            "duplicates": [{"spn": spn, "accounts": list(accts)} for spn, accts in h.duplicates],
        },
        "ad": {
            "collected": True,
            "domain": DOMAIN,
            "accounts": [h.computer.name] + [a.name for a in h.accounts],
            "domain_controllers": [
                {"name": "DC01", "fqdn": f"dc01.{DOMAIN}", "sid": None},
                {"name": "DC02", "fqdn": f"dc02.{DOMAIN}", "sid": None},
            ],
            "tier0_hosts": [f"dc01.{DOMAIN}", f"dc02.{DOMAIN}"],
        },
    }
    return data


def _auth(
    location: str, anon: bool, user: str, anon_pw: bool, windows: bool, basic: bool, kernel: bool
) -> dict[str, Any]:
    anonymous: dict[str, Any] = {"enabled": anon, "user": user, "user_state": "set" if user else "empty"}
    if anon_pw:
        anonymous["password"] = _secret("encrypted")
    return {
        "location": location,
        "anonymous": anonymous,
        "windows": {
            "enabled": windows,
            "use_kernel_mode": kernel,
            "use_app_pool_credentials": False,
            "providers": ["Negotiate", "NTLM"],
            "extended_protection": "None",
        },
        "basic": {"enabled": basic},
        "digest": {"enabled": False},
        "client_certificate": {"enabled": False},
    }


def principals(h: Host) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {
            "name": ADMINS,
            "sid": "S-1-5-32-544",
            "kind": "builtin",
            "members": [{"name": m} for m in h.admin_members],
        },
        {
            "name": IIS_IUSRS,
            "sid": "S-1-5-32-568",
            "kind": "builtin",
            "members": [{"name": m} for m in h.iis_iusrs_members],
        },
        {
            "name": USERS,
            "sid": "S-1-5-32-545",
            "kind": "builtin",
            "members": [
                {"name": "NT AUTHORITY\\INTERACTIVE", "sid": "S-1-5-4"},
                {"name": "NT AUTHORITY\\Authenticated Users", "sid": "S-1-5-11"},
            ],
        },
        {"name": "BUILTIN\\Backup Operators", "sid": "S-1-5-32-551", "kind": "builtin", "members": []},
        {"name": "BUILTIN\\Remote Desktop Users", "sid": "S-1-5-32-555", "kind": "builtin", "members": []},
        {"name": IUSR, "sid": "S-1-5-17", "kind": "builtin"},
        {"name": "NT AUTHORITY\\NETWORK SERVICE", "sid": "S-1-5-20", "kind": "builtin"},
        {"name": "NT AUTHORITY\\LOCAL SERVICE", "sid": "S-1-5-19", "kind": "builtin"},
        {"name": SYSTEM, "sid": "S-1-5-18", "kind": "builtin"},
    ]
    for u in h.local_users:
        out.append(
            {
                "name": u["name"],
                "kind": "local_user",
                "enabled": u["enabled"],
                "password_never_expires": u["never_expires"],
                "password_last_set": u["last_set"],
                "member_of": u["member_of"],
            }
        )
    for p in h.pools:
        if p.identity == "ApplicationPoolIdentity":
            out.append({"name": f"IIS APPPOOL\\{p.name}", "sid": app_pool_sid(p.name), "kind": "virtual"})
    for a in [h.computer, *h.accounts]:
        out.append(
            {
                "name": a.name,
                "sid": a.sid,
                "kind": a.kind,
                "enabled": a.enabled,
                "password_never_expires": a.never_expires,
                "password_required": a.password_required,
                "password_last_set": a.password_last_set,
                "admin_count": a.admin_count,
                "user_account_control": a.uac,
                "supported_encryption_types": a.enc_types,
                "member_of": list(a.member_of),
                "spns": list(a.spns),
                "delegation": {
                    "unconstrained": a.unconstrained,
                    "protocol_transition": a.protocol_transition,
                    "constrained_to": list(a.constrained_to),
                    "rbcd_from": list(a.rbcd_from),
                    "sensitive_not_delegated": a.not_delegated,
                },
                "distinguished_name": a.dn,
                "object_class": {"gmsa": "msDS-GroupManagedServiceAccount"}.get(
                    a.kind, a.kind if a.kind == "computer" else "user"
                ),
                "ad_collected": True,
            }
        )
    return out


# -- raw captures ---------------------------------------------------------------------------------


def _blob(rng: random.Random) -> str:
    """A made-up encrypted-password blob (random bytes): it must never reach a snapshot."""
    return base64.b64encode(rng.randbytes(96)).decode()


def write_captures(h: Host, folder: Path, *, icacls_copies: int = 1) -> dict[str, int]:
    """Write the host as the capture script would; returns {relative path: bytes}.

    `icacls_copies` repeats the site tree under further drive letters, to show that import memory
    does not follow the size of the listing."""
    rng = random.Random(f"captures/{h.name}/{h.size}/{h.scale}")
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}

    def out(rel: str, text: str, encoding: str = "utf-8") -> None:
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode(encoding)
        if encoding == "utf-16-le":
            data = b"\xff\xfe" + data
        path.write_bytes(data)
        written[rel] = len(data)

    out("iis/applicationHost.config", application_host(h, rng))
    written.update(write_icacls(h, folder, "acls/icacls-sites.txt", copies=icacls_copies))
    out("user_rights/secedit.inf", secedit(h).replace("\n", "\r\n"), "utf-16-le")
    out("spn/setspn-L.txt", setspn_l(h))
    out("spn/setspn-Q.txt", setspn_q(h))
    out("spn/setspn-X.txt", setspn_x(h))
    users = [a for a in h.accounts if a.kind == "domain_user"]
    gmsas = [a for a in h.accounts if a.kind == "gmsa"]
    computers = [h.computer] + [a for a in h.accounts if a.kind == "computer"]
    out("ad/Get-ADUser.json", ad_json(users, "Get-ADUser -Filter * -Properties *"))
    if gmsas:
        out("ad/Get-ADServiceAccount.json", ad_json(gmsas, "Get-ADServiceAccount -Filter * -Properties *"))
    out("ad/Get-ADComputer.json", ad_json(computers, "Get-ADComputer -Filter * -Properties *"))
    tokens = {}
    for t in h.tokens:
        rel = str(t["source_artifact"])
        out(rel, whoami_priv(t))
        tokens[rel] = t["identity"]
    manifest = [
        "# Written by benchmarks/generate.py (synthetic host).",
        f"host: {h.name}",
        f'collected_at: "{COLLECTED_AT}"',
        "host_facts:",
        f"  fqdn: {h.name.lower()}.{DOMAIN}",
        f"  domain: {DOMAIN}",
        "  domain_joined: true",
        '  os: {version: "10.0.20348", caption: "Microsoft Windows Server 2022 Datacenter"}',
        '  iis: {version: "10.0"}',
        'environment: {SystemDrive: "C:", SystemRoot: "C:\\\\Windows", windir: "C:\\\\Windows"}',
        "tokens:",
        *[f'  "{rel}": "{ident.replace(chr(92), chr(92) * 2)}"' for rel, ident in tokens.items()],
        "",
    ]
    out("capture.yaml", "\n".join(manifest))
    return written


def application_host(h: Host, rng: random.Random) -> str:
    x: list[str] = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<configuration>",
        "    <configProtectedData>",
        "        <providers>",
    ]
    x.append(
        '            <add name="IISWASOnlyCngProvider" type="Microsoft.ApplicationHost.CngProtectedConfigurationProvider" '
        'cngProvider="" keyContainerName="iisCngWasKey" useMachineContainer="true" />'
    )
    x.append(
        '            <add name="IISCngProvider" type="Microsoft.ApplicationHost.CngProtectedConfigurationProvider" '
        'cngProvider="" keyContainerName="iisCngConfigurationKey" useMachineContainer="true" />'
    )
    x += [
        "        </providers>",
        "    </configProtectedData>",
        "    <system.applicationHost>",
        "        <applicationPools>",
    ]
    for p in h.pools:
        attrs = ' enable32BitAppOnWin64="true"' if p.enable_32bit else ""
        x.append(f'            <add name="{p.name}" managedRuntimeVersion="v4.0"{attrs}>')
        pm = f'identityType="{p.identity}"'
        if p.user:
            pm += f' userName="{p.user}"'
        if p.password == "encrypted":
            pm += f' password="[enc:{PROVIDER}:{_blob(rng)}:enc]"'
        elif p.password == "clear":
            pm += ' password="Synthetic-Not-A-Secret-1"'
        if p.manual_group_membership:
            pm += ' manualGroupMembership="true"'
        x.append(f"                <processModel {pm} />")
        x.append("            </add>")
    x += [
        '            <applicationPoolDefaults managedRuntimeVersion="v4.0">',
        '                <processModel identityType="ApplicationPoolIdentity" loadUserProfile="true" />',
        "            </applicationPoolDefaults>",
        "        </applicationPools>",
        "        <sites>",
    ]
    for s in h.sites:
        x.append(f'            <site name="{s.name}" id="{s.id}" serverAutoStart="true">')
        x.append(f'                <application path="/" applicationPool="{s.pool}">')
        connect = ""
        if s.connect_as:
            connect = f' userName="{NETBIOS}\\cust{s.id:05d}" password="[enc:{PROVIDER}:{_blob(rng)}:enc]" logonMethod="ClearText"'
        x.append(
            f'                    <virtualDirectory path="/" physicalPath="{SITES_ROOT}\\{s.name}\\wwwroot"{connect} />'
        )
        x.append("                </application>")
        if s.extra_app_pool:
            x.append(f'                <application path="/api" applicationPool="{s.extra_app_pool}">')
            x.append(
                f'                    <virtualDirectory path="/" physicalPath="{SITES_ROOT}\\{s.name}\\wwwroot\\api" />'
            )
            x.append("                </application>")
        x.append("                <bindings>")
        x.append(f'                    <binding protocol="http" bindingInformation="*:80:{s.host}" />')
        if s.https:
            x.append(
                f'                    <binding protocol="https" bindingInformation="*:443:{s.host}" sslFlags="1" />'
            )
        x += ["                </bindings>", "            </site>"]
    x += [
        "            <siteDefaults>",
        '                <logFile logFormat="W3C" directory="%SystemDrive%\\inetpub\\logs\\LogFiles" />',
        "            </siteDefaults>",
        '            <applicationDefaults applicationPool="DefaultAppPool" />',
        "        </sites>",
        "    </system.applicationHost>",
        "    <system.webServer>",
        "        <security>",
        "            <authentication>",
        '                <anonymousAuthentication enabled="true" userName="IUSR" />',
        '                <basicAuthentication enabled="false" />',
        '                <digestAuthentication enabled="false" />',
        '                <windowsAuthentication enabled="false">',
        "                    <providers>",
        '                        <add value="Negotiate" />',
        '                        <add value="NTLM" />',
        "                    </providers>",
        "                </windowsAuthentication>",
        "            </authentication>",
        "        </security>",
        "    </system.webServer>",
    ]
    for s in h.sites:
        if s.anonymous and s.anonymous_user == "IUSR" and not s.windows and not s.basic:
            continue  # inherits the server's settings
        x += [
            f'    <location path="{s.name}">',
            "        <system.webServer>",
            "            <security>",
            "                <authentication>",
        ]
        anon = f'enabled="{str(s.anonymous).lower()}"'
        if s.anonymous_user != "IUSR":
            anon += f' userName="{s.anonymous_user}"'
        if s.anonymous_password:
            anon += f' password="[enc:IISCngProvider:{_blob(rng)}:enc]"'
        x.append(f"                    <anonymousAuthentication {anon} />")
        if s.windows:
            x.append(
                f'                    <windowsAuthentication enabled="true" useKernelMode="{str(s.kernel_mode).lower()}" />'
            )
        if s.basic:
            x.append('                    <basicAuthentication enabled="true" />')
        x += [
            "                </authentication>",
            "            </security>",
            "        </system.webServer>",
            "    </location>",
        ]
    x.append("</configuration>")
    return "\n".join(x) + "\n"


def icacls_lines(h: Host, copies: int = 1) -> Iterator[str]:
    """`icacls D:\\Sites /T /C` as cmd.exe prints it: ACE lines indented under the path."""
    yield f"D:\\>icacls {SITES_ROOT} /T /C"
    n = 0
    for copy in range(copies):
        for path, aces in h.acls:
            if not path.startswith(SITES_ROOT):
                continue
            if copy:
                path = f"{'EFGHIJKLMNOPQRSTUVWXYZ'[copy - 1]}{path[1:]}"
            pad = " " * (len(path) + 1)
            for k, a in enumerate(aces):
                flags = ("(I)" if a.inherited else "") + "".join(f"({f})" for f in a.inheritance)
                rights = "(" + ",".join(a.rights) + ")"
                deny = "(DENY)" if a.type == "deny" else ""
                yield f"{path if k == 0 else pad[:-1]} {a.principal}:{deny}{flags}{rights}"
            n += 1
    yield ""
    yield f"Successfully processed {n:,} files; Failed processing 0 files"


def write_icacls(h: Host, folder: Path, rel: str, copies: int = 1) -> dict[str, int]:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\r\n") as fh:
        for line in icacls_lines(h, copies):
            fh.write(line + "\n")
    sys_path = path.parent / "icacls-system.txt"
    with sys_path.open("w", encoding="utf-8", newline="\r\n") as fh:
        fh.write("C:\\>icacls C:\\inetpub C:\\Windows\\System32\\inetsrv\\config /C\n")
        for p, aces in h.acls:
            if p.startswith(SITES_ROOT + "\\"):
                break
            pad = " " * (len(p) + 1)
            for k, a in enumerate(aces):
                flags = ("(I)" if a.inherited else "") + "".join(f"({f})" for f in a.inheritance)
                fh.write(f"{p if k == 0 else pad[:-1]} {a.principal}:{flags}({','.join(a.rights)})\n")
    return {rel: path.stat().st_size, sys_path.relative_to(folder).as_posix(): sys_path.stat().st_size}


def secedit(h: Host) -> str:
    lines = ["[Unicode]", "Unicode=yes", "[Privilege Rights]"]
    for right, holders in h.user_rights.items():
        lines.append(f"{right} = " + ",".join(f"*{s}" if s.startswith("S-1-") else s for s in holders))
    lines += ["[Version]", 'signature="$CHICAGO$"', "Revision=1", ""]
    return "\n".join(lines)


def setspn_l(h: Host) -> str:
    lines: list[str] = []
    for a in [h.computer, *h.accounts]:
        if not a.spns:
            continue
        lines.append(f"C:\\>setspn -L {a.name}")
        lines.append(f"Registered ServicePrincipalNames for {a.dn}:")
        lines.extend(f"        {spn}" for spn in a.spns)
        lines.append("")
    return "\n".join(lines)


def setspn_q(h: Host) -> str:
    by_name = {a.name: a for a in [h.computer, *h.accounts]}
    lines: list[str] = []
    for spn, accounts in h.spn_queries:
        lines.append(f"C:\\>setspn -Q {spn}")
        lines.append(f"Checking domain {DOMAIN_DN}")
        for name in accounts:
            a = by_name[name]
            lines.append(a.dn)
            lines.extend(f"        {s}" for s in a.spns)
        lines.append("")
        lines.append("Existing SPN found!" if accounts else "No such SPN found.")
        lines.append("")
    return "\n".join(lines)


def setspn_x(h: Host) -> str:
    by_name = {a.name: a for a in [h.computer, *h.accounts]}
    lines = ["C:\\>setspn -X -F", f"Checking forest {DOMAIN_DN}", "Processing entry 0"]
    for spn, accounts in h.duplicates:
        lines.append(f"{spn} is registered on these accounts:")
        lines.extend(f"        {by_name[n].dn}" for n in accounts)
        lines.append("")
    lines.append(f"found {len(h.duplicates)} group of duplicate SPNs.")
    return "\n".join(lines) + "\n"


def _ms(date: str) -> str:
    import datetime as dt

    t = dt.datetime.strptime(date, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    return f"\\/Date({int(t.timestamp() * 1000)})\\/"


def ad_json(accounts: list[Account], command: str) -> str:
    """ConvertTo-Json of Get-AD* objects, with the PowerShell layout (two spaces after the colon)."""
    import json

    items = []
    for a in accounts:
        obj = {
            "Description": "Synthetic account (made up by benchmarks/generate.py)",
            "DistinguishedName": a.dn,
            "Enabled": a.enabled,
            "MemberOf": [f"CN={g.split(chr(92))[1]},OU=Groups,{DOMAIN_DN}" for g in a.member_of],
            "msDS-AllowedToDelegateTo": a.constrained_to,
            "msDS-SupportedEncryptionTypes": a.enc_types,
            "Name": a.cn,
            "ObjectClass": {"gmsa": "msDS-GroupManagedServiceAccount"}.get(
                a.kind, a.kind if a.kind == "computer" else "user"
            ),
            "PasswordLastSet": _ms(a.password_last_set),
            "PasswordNeverExpires": a.never_expires,
            "PasswordNotRequired": not a.password_required,
            "PrincipalsAllowedToDelegateToAccount": a.rbcd_from,
            "SamAccountName": a.sam,
            "servicePrincipalName": a.spns,
            "SID": {"BinaryLength": 28, "AccountDomainSid": DOMAIN_SID, "Value": a.sid},
            "TrustedForDelegation": a.unconstrained,
            "TrustedToAuthForDelegation": a.protocol_transition,
            "AccountNotDelegated": a.not_delegated,
            "adminCount": a.admin_count,
            "userAccountControl": a.uac,
        }
        if a.kind == "computer":
            obj["DNSHostName"] = f"{a.cn.lower()}.{DOMAIN}"
        items.append(obj)
    body = json.dumps(items, indent=4).replace('": ', '":  ').replace("\\\\/", "\\/")
    return f"PS C:\\> {command} | ConvertTo-Json\n{body}\n"


def whoami_priv(token: dict[str, Any]) -> str:
    lines = [
        "PS C:\\> whoami /priv",
        "",
        "PRIVILEGES INFORMATION",
        "----------------------",
        "",
        f"{'Privilege Name':<30}{'Description':<42}State",
        f"{'=' * 29} {'=' * 41} ========",
    ]
    for p in token["privileges"]:
        lines.append(f"{p['name']:<30}{p['description']:<42}{'Enabled' if p['enabled'] else 'Disabled'}")
    return "\n".join(lines) + "\n"


# -- writing --------------------------------------------------------------------------------------


def dump(data: Any) -> bytes:
    """Indented like `iisguard import` writes snapshots (two spaces), so SARIF lines are realistic."""
    try:
        import orjson

        return orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"
    except ImportError:  # pragma: no cover
        import json

        return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()


def folder_name(size: str, scale: float) -> str:
    return size if scale == 1 else f"{size}-{scale:g}"


def generate(
    size: str = "large",
    scale: float = 1.0,
    *,
    out: Path = OUT,
    captures: bool = False,
    seed: int = 1,
    host: str | None = None,
    name: str | None = None,
    force: bool = False,
) -> Path:
    """Write <out>/<name>/snapshot.json (and captures/); reuse them when already generated for these arguments."""
    folder = out / (name or folder_name(size, scale))
    stamp = folder / ".params"
    params = f"{size} {scale} {seed} {host} captures={captures} v4"
    if not force and stamp.is_file() and stamp.read_text() == params and (folder / "snapshot.json").is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    h = build(size, scale, seed, host)
    (folder / "snapshot.json").write_bytes(dump(snapshot(h)))
    if captures:
        write_captures(h, folder / "captures")
    stamp.write_text(params)
    return folder


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size", choices=sorted(SIZES), default="large")
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the size: 0.25, 0.5, 1 (default 1)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--captures", action="store_true", help="also write the raw captures (for iisguard import)"
    )
    ap.add_argument("--out", type=Path, default=OUT, help=f"output folder (default {OUT.relative_to(ROOT)})")
    ap.add_argument("--force", action="store_true", help="regenerate even when the files exist")
    args = ap.parse_args(argv)
    folder = generate(
        args.size, args.scale, out=args.out, captures=args.captures, seed=args.seed, force=args.force
    )
    total = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    print(
        f"{folder}: snapshot {(folder / 'snapshot.json').stat().st_size / 1e6:.1f} MB, all files {total / 1e6:.1f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

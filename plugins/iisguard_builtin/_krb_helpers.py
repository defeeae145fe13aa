"""What the IIS-KRB rules share: AD accounts merged across captures, the identities IIS uses, SPN lookups.

A capture describes one AD account several times: the pool configuration names it `CORP\\svc_web`,
`setspn -L` by its distinguished name, `Get-ADUser` by sAMAccountName and SID. The importer merges
what it can (by SID, else by name); `Directory` finishes the job for the KRB rules by grouping
principals that share a SID, a DN or (for domain accounts) a sAMAccountName, so a fact read from
any of them counts once.

Everything here is derived from the snapshot alone and built once per snapshot (cached weakly).
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from iisguard import identities, sids, uac

# Domain parts that name the machine itself or a built-in authority: such accounts are not in AD.
_LOCAL_DOMAINS = {
    ".",
    "builtin",
    "nt authority",
    "iis apppool",
    "nt service",
    "nt virtual machine",
    "window manager",
    "font driver host",
    "application package authority",
    "mandatory label",
}
_LOCAL_KINDS = {"local_user", "local_group", "builtin", "virtual"}

# Privileged AD groups (RULES.md IIS-KRB-005): by well-known SID or domain RID, and by English name.
PRIVILEGED_SIDS = {
    sids.ADMINISTRATORS: "Administrators",
    sids.ACCOUNT_OPERATORS: "Account Operators",
    sids.SERVER_OPERATORS: "Server Operators",
    sids.PRINT_OPERATORS: "Print Operators",
    sids.BACKUP_OPERATORS: "Backup Operators",
}
PRIVILEGED_RIDS = {
    sids.RID_DOMAIN_ADMINS: "Domain Admins",
    sids.RID_SCHEMA_ADMINS: "Schema Admins",
    sids.RID_ENTERPRISE_ADMINS: "Enterprise Admins",
}
PRIVILEGED_NAMES = {
    "domain admins",
    "enterprise admins",
    "schema admins",
    "administrators",
    "account operators",
    "server operators",
    "backup operators",
    "print operators",
    "dnsadmins",
}

# Built-in pool identities that reach the network as the computer account (MS-APID); LocalService is anonymous.
MACHINE_IDENTITIES = {"ApplicationPoolIdentity", "NetworkService", "LocalSystem"}


def fold(text: str) -> str:
    return text.strip().casefold()


def bare(name: str) -> str:
    """`CORP\\svc` -> `svc`; `svc@corp.example.com` -> `svc`; casefolded."""
    n = fold(name)
    if "\\" in n:
        n = n.rsplit("\\", 1)[1]
    elif "@" in n:
        n = n.split("@", 1)[0]
    return n


def is_dn(text: str) -> bool:
    t = text.strip()
    return t[:3].upper() in ("CN=", "OU=") and "=" in t[3:]


def dn_first_value(dn: str) -> str:
    """The value of a DN's first RDN as written (escaped commas kept): `CN=Domain Admins,...` -> `Domain Admins`."""
    out, i = [], 0
    text = dn.strip()
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if ch == ",":
            break
        out.append(ch)
        i += 1
    value = "".join(out)
    return value.split("=", 1)[1].strip() if "=" in value else value.strip()


def dn_cn(dn: str) -> str:
    """The first RDN's value, casefolded, for comparisons."""
    return fold(dn_first_value(dn))


def globs_match(name: str, patterns: Iterable[str]) -> bool:
    n = fold(name)
    return any(fnmatch.fnmatchcase(n, fold(p)) for p in patterns)


def parse_time(value: Any) -> datetime | None:
    """RFC 3339 text as the snapshot stores it; None when absent or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        t = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def reference_time(snap: Any) -> datetime | None:
    """When the snapshot was taken: ages are judged against it, so a scan of an old snapshot is stable."""
    return parse_time((snap.data.get("collection") or {}).get("collected_at"))


def ad_section(snap: Any) -> Mapping[str, Any]:
    return snap.data.get("ad") or {}


def ad_collected(snap: Any) -> bool:
    return ad_section(snap).get("collected") is True


def host_short(snap: Any) -> str:
    return fold(snap.host).split(".", 1)[0]


def host_fqdn(snap: Any) -> str | None:
    host = snap.data.get("host") or {}
    fqdn = host.get("fqdn")
    if fqdn:
        return fold(fqdn)
    domain = host.get("domain") or ad_section(snap).get("domain")
    if domain and "." in str(domain):
        return f"{host_short(snap)}.{fold(domain)}"
    return None


def domain_joined(snap: Any) -> bool | None:
    host = snap.data.get("host") or {}
    joined = host.get("domain_joined")
    if joined is None and ad_collected(snap):
        return True
    return joined


@functools.lru_cache(maxsize=65536)
def is_domain_ref(ref: str | None, host: str) -> bool:
    """Whether an account as IIS configuration writes it is a domain account (so AD knows it)."""
    if not ref or sids.is_sid(ref) or sids.well_known_sid(ref):
        return False
    r = fold(ref)
    if "@" in r and "\\" not in r:
        return True
    if "\\" not in r:
        return False  # IIS resolves a bare userName on the machine first
    domain = r.rsplit("\\", 1)[0]
    return domain not in _LOCAL_DOMAINS and domain != fold(host) and domain != fold(host).split(".", 1)[0]


# --- accounts ---------------------------------------------------------------------------------------


@dataclass
class Account:
    """One AD account, possibly described by several snapshot principals (pool config, setspn, Get-AD*)."""

    members: list[dict[str, Any]] = field(default_factory=list)
    listed_in_ad: bool = False  # named in ad.accounts

    @property
    def ad(self) -> bool:
        """AD attributes were collected for this account."""
        return self.listed_in_ad or any(m.get("ad_collected") is True for m in self.members)

    def _ordered(self) -> list[dict[str, Any]]:
        return self.members  # Directory puts the members carrying AD data first

    @property
    def at(self) -> dict[str, Any]:
        """The principal a finding points at: the one carrying AD data where there is one."""
        return self._ordered()[0]

    def get(self, key: str) -> Any:
        for m in self._ordered():
            if m.get(key) is not None:
                return m[key]
        return None

    @property
    def name(self) -> str:
        names = [str(m["name"]) for m in self._ordered() if m.get("name")]
        qualified = [n for n in names if "\\" in n]
        return (qualified or names or [str(self.get("sid") or self.get("distinguished_name") or "?")])[0]

    @property
    def uac(self) -> int:
        value = self.get("user_account_control")
        return value if isinstance(value, int) else 0

    def flag(self, bit: int) -> bool:
        return bool(self.uac & bit)

    @property
    def spns(self) -> list[str]:
        out: dict[str, str] = {}
        for m in self.members:
            for s in m.get("spns") or []:
                out.setdefault(norm_spn(s), s)
        return list(out.values())

    def delegation(self, key: str) -> Any:
        """One delegation fact; lists are unioned across members, flags taken from the AD member first."""
        values = [(m.get("delegation") or {}).get(key) for m in self._ordered()]
        if key in ("constrained_to", "rbcd_from"):
            seen: dict[str, str] = {}
            for v in values:
                for item in v or []:
                    seen.setdefault(fold(item), item)
            return list(seen.values())
        return next((v for v in values if v is not None), None)

    @property
    def unconstrained(self) -> bool:
        return self.flag(uac.TRUSTED_FOR_DELEGATION) or self.delegation("unconstrained") is True

    @property
    def protocol_transition(self) -> bool:
        return self.flag(uac.TRUSTED_TO_AUTH_FOR_DELEGATION) or self.delegation("protocol_transition") is True

    @property
    def is_dc(self) -> bool:
        return self.flag(uac.SERVER_TRUST_ACCOUNT)

    @property
    def kind(self) -> str:
        """computer, gmsa, msa, user, group or unknown, from objectClass first, then the principal kind."""
        oc = fold(str(self.get("object_class") or ""))
        if oc:
            if "groupmanagedserviceaccount" in oc:
                return "gmsa"
            if "managedserviceaccount" in oc:
                return "msa"
            if oc == "computer":
                return "computer"
            if oc in ("user", "inetorgperson"):
                return "user"
            if oc == "group":
                return "group"
        kinds = {m.get("kind") for m in self.members}
        for k, out in (
            ("gmsa", "gmsa"),
            ("msa", "msa"),
            ("computer", "computer"),
            ("domain_user", "user"),
            ("domain_group", "group"),
        ):
            if k in kinds:
                return out
        return "unknown"


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


class Directory:
    """The snapshot's principals grouped into accounts, found by SID, DN, DOMAIN\\name, UPN or sAMAccountName."""

    def __init__(self, snap: Any) -> None:
        self.host = snap.host
        principals = [p for p in snap.data.get("principals") or [] if isinstance(p, dict)]
        keys_of = [self._keys(p) for p in principals]
        uf = _UnionFind(len(principals))
        first: dict[str, int] = {}
        for i, keys in enumerate(keys_of):
            for k in keys:
                if k in first:
                    uf.union(first[k], i)
                else:
                    first[k] = i
        groups: dict[int, Account] = {}
        for i, p in enumerate(principals):
            groups.setdefault(uf.find(i), Account()).members.append(p)
        self.accounts = list(groups.values())
        for acct in self.accounts:
            acct.members.sort(key=lambda m: m.get("ad_collected") is not True)
        self._found: dict[str, Account | None] = {}
        self._by_key: dict[str, Account] = {}
        for i, keys in enumerate(keys_of):
            for k in keys:
                self._by_key.setdefault(k, groups[uf.find(i)])
        listed = {fold(a) for a in ad_section(snap).get("accounts") or []}
        if listed:
            for acct in self.accounts:
                names = {fold(m.get("name") or "") for m in acct.members} | {
                    bare(m.get("name") or "") for m in acct.members
                }
                if names & listed or {fold(m.get("sid") or "") for m in acct.members} & listed:
                    acct.listed_in_ad = True

    def _keys(self, p: Mapping[str, Any]) -> list[str]:
        keys = []
        if p.get("sid") and sids.is_sid(str(p["sid"])):
            keys.append("sid:" + sids.normalize_sid(str(p["sid"])))
        if p.get("distinguished_name"):
            keys.append("dn:" + fold(str(p["distinguished_name"])))
        name = p.get("name")
        if name:
            keys.append(self._name_key(str(name), p.get("kind")))
        return keys

    def _name_key(self, name: str, kind: Any = None) -> str:
        n = fold(name)
        if "\\" in n:
            domain, account = n.rsplit("\\", 1)
            if domain in _LOCAL_DOMAINS or domain in (fold(self.host), fold(self.host).split(".", 1)[0]):
                return f"local:{account}"
            return f"sam:{account}"
        if "@" in n:
            return "sam:" + n.split("@", 1)[0]
        if kind in _LOCAL_KINDS:
            return f"local:{n}"
        return f"sam:{n}"

    def find(self, ref: str | None) -> Account | None:
        """The account a reference names: a SID, a DN, DOMAIN\\name, name@domain or a bare name."""
        if not ref or not ref.strip():
            return None
        if ref in self._found:
            return self._found[ref]
        found = self._find(ref.strip())
        self._found[ref] = found
        return found

    def _find(self, r: str) -> Account | None:
        if sids.is_sid(r):
            return self._by_key.get("sid:" + sids.normalize_sid(r))
        if is_dn(r):
            found = self._by_key.get("dn:" + fold(r))
            if found:
                return found
            cn = dn_cn(r)
            return self._by_key.get(f"sam:{cn}") or self._by_key.get(f"sam:{cn}$")
        known = sids.well_known_sid(r)
        if known:
            return self._by_key.get("sid:" + known)
        key = self._name_key(r)
        found = self._by_key.get(key)
        if found is None and key.startswith("local:") and "\\" not in r:
            found = self._by_key.get("sam:" + key[6:])
        return found

    def computer(self) -> Account | None:
        """The host's own computer account (HOST$)."""
        return self._by_key.get(f"sam:{host_short_name(self.host)}$")

    def computer_name(self) -> str:
        acct = self.computer()
        if acct:
            qualified = [str(m["name"]) for m in acct.members if "\\" in str(m.get("name") or "")]
            if qualified:
                return qualified[0]
        return f"{host_short_name(self.host).upper()}$"

    def same(self, ref: str, target: Decryptor) -> bool | None:
        """Whether an SPN holder (as a setspn/AD reference) is the decrypting identity; None when unknowable."""
        holder = self.find(ref)
        if target.account is not None and holder is not None:
            return holder is target.account
        if target.computer:
            want = {host_short_name(self.host), host_short_name(self.host) + "$"}
            names = _names_of(holder, ref)
            return bool(names & want)
        want_sam = bare(target.name)
        names = _names_of(holder, ref)
        if want_sam in names:
            return True
        if holder is not None:
            return False
        return None if is_dn(ref) else False


def host_short_name(host: str) -> str:
    return fold(host).split(".", 1)[0]


def _names_of(acct: Account | None, ref: str) -> set[str]:
    names = set()
    if acct is not None:
        for m in acct.members:
            if m.get("name"):
                names.add(bare(str(m["name"])))
            if m.get("distinguished_name"):
                names.add(dn_cn(str(m["distinguished_name"])))
    names.add(dn_cn(ref) if is_dn(ref) else bare(ref))
    return names


def derived(snap: Any, key: Any, build: Callable[[], Any]) -> Any:
    """Data derived from a snapshot alone, built once per snapshot object and shared by the KRB rules."""
    # On the snapshot object itself: in a WeakKeyDictionary the views (which hold the snapshot) kept
    # their key alive, so no scanned snapshot was ever freed and a fleet scan grew without bound.
    store = snap.__dict__.setdefault("_iisguard_krb_views", {})
    if key not in store:
        store[key] = build()
    return store[key]


def directory(snap: Any) -> Directory:
    """The snapshot's Directory, built once per snapshot object."""
    return derived(snap, "directory", lambda: Directory(snap))


# --- identities IIS uses -----------------------------------------------------------------------------


@dataclass
class IisIdentity:
    """An account IIS uses on the network, with what it is used for."""

    name: str  # as IIS configuration writes it, or the computer account's name
    account: Account | None
    computer: bool = False
    roles: list[str] = field(default_factory=list)
    at: Mapping[str, Any] | None = None  # the configuration object that names it

    @property
    def resource(self) -> str:
        return f"principals/{self.name}"

    def uses(self) -> str:
        return "; ".join(self.roles)


def iis_identities(snap: Any, *, computer: bool, users: bool = True) -> list[IisIdentity]:
    """Domain accounts the IIS configuration uses (see _iis_identities), built once per snapshot."""
    return derived(snap, ("identities", computer, users), lambda: _iis_identities(snap, computer, users))


def _iis_identities(snap: Any, computer: bool, users: bool) -> list[IisIdentity]:
    """Domain accounts the IIS configuration uses (pool, anonymous, connect-as), and the computer account.

    `computer=True` adds HOST$, which NetworkService, ApplicationPoolIdentity and kernel-mode Kerberos use.
    Local and built-in accounts are left out: AD knows nothing about them.
    """
    d = directory(snap)
    out: dict[str, IisIdentity] = {}

    def add(ref: str, role: str, at: Mapping[str, Any] | None) -> None:
        acct = d.find(ref)
        key = f"acct:{id(acct)}" if acct is not None else "ref:" + bare(ref)
        entry = out.get(key)
        if entry is None:
            entry = out[key] = IisIdentity(ref, acct, roles=[], at=at)
        if role not in entry.roles:
            entry.roles.append(role)

    machine_roles = []
    if users:
        for pool in snap.app_pools:
            ident = pool.get("identity") or {}
            kind = ident.get("type") or "ApplicationPoolIdentity"
            if kind == "SpecificUser" and is_domain_ref(ident.get("user"), snap.host):
                add(str(ident["user"]), f"identity of application pool '{pool['name']}'", pool)
        for loc in snap.locations.apps:
            anon = loc.anonymous
            user = (anon or {}).get("user")
            if anon and anon.get("enabled") and user and is_domain_ref(user, snap.host):
                add(str(user), f"anonymous user of '{loc.path}'", anon)
        for site in snap.sites:
            for app in site.get("applications") or []:
                for vdir in app.get("virtual_directories") or []:
                    if is_domain_ref(vdir.get("user"), snap.host):
                        where = f"{site['name']}{app.get('path', '')}".rstrip("/") + (
                            "" if vdir.get("path") in (None, "/") else str(vdir["path"])
                        )
                        add(str(vdir["user"]), f"connect-as user of '{where}'", vdir)
    if computer:
        for pool in snap.app_pools:
            kind = (pool.get("identity") or {}).get("type") or "ApplicationPoolIdentity"
            if kind in MACHINE_IDENTITIES:
                machine_roles.append(pool["name"])
        acct = d.computer()
        roles = [
            "computer account (kernel-mode Kerberos and the network identity of built-in pool identities"
            + (f" such as pool '{machine_roles[0]}'" if machine_roles else "")
            + ")"
        ]
        ident = IisIdentity(d.computer_name(), acct, computer=True, roles=roles, at=acct.at if acct else None)
        key = f"acct:{id(acct)}" if acct is not None else "computer"
        if key in out:
            out[key].computer = True
            out[key].roles[:0] = roles
        else:
            out = {key: ident, **out}
    return list(out.values())


def effective_section(
    index: Mapping[str, Mapping[str, Any]], path: str, section: str
) -> Mapping[str, Any] | None:
    """The `section` (windows, anonymous, ...) of the nearest authentication entry at or above `path` that sets it."""
    entry = identities.effective_auth(index, path, section)
    return entry[section] if entry is not None else None


# --- Windows authentication and the decrypting identity ---------------------------------------------


def negotiate_enabled(windows: Mapping[str, Any] | None) -> bool:
    """Windows auth on, with Negotiate (Kerberos possible). No provider list means the default Negotiate, NTLM."""
    if not windows or windows.get("enabled") is not True:
        return False
    providers = windows.get("providers") or ["Negotiate", "NTLM"]
    return any(fold(p).startswith("negotiate") for p in providers)


def ntlm_possible(windows: Mapping[str, Any] | None) -> bool:
    """NTLM is accepted: the NTLM provider, or plain Negotiate (which falls back to NTLM)."""
    if not windows or windows.get("enabled") is not True:
        return False
    providers = [fold(p) for p in windows.get("providers") or ["Negotiate", "NTLM"]]
    return any(p in ("ntlm", "negotiate") for p in providers)


@dataclass(frozen=True)
class WindowsLocation:
    loc: identities.Location
    windows: Mapping[str, Any]


def windows_locations(snap: Any) -> Iterator[WindowsLocation]:
    """Every site and application where Windows authentication is enabled, with its effective settings."""
    for loc in snap.locations.apps:
        windows = loc.auth("windows")
        if windows and windows.get("enabled") is True:
            yield WindowsLocation(loc, windows)


def kernel_mode(windows: Mapping[str, Any]) -> bool:
    return windows.get("use_kernel_mode") is not False  # default true (MS-WINAUTH)


def app_pool_credentials(windows: Mapping[str, Any]) -> bool:
    return windows.get("use_app_pool_credentials") is True  # default false


@dataclass(frozen=True)
class Decryptor:
    """The account whose key decrypts Kerberos tickets for a location (RULES.md §1, Kerberos defaults)."""

    name: str
    account: Account | None
    computer: bool
    why: str
    usable: bool = True  # False: the identity cannot accept Kerberos (a local account, LocalService)


def decryptor(snap: Any, wl: WindowsLocation) -> Decryptor | None:
    """HOST$ under kernel mode without useAppPoolCredentials; otherwise the pool identity (None: pool unknown)."""
    d = directory(snap)
    w = wl.windows
    if kernel_mode(w) and not app_pool_credentials(w):
        return Decryptor(
            d.computer_name(),
            d.computer(),
            True,
            "kernel-mode authentication without useAppPoolCredentials decrypts tickets with the "
            "computer account",
        )
    pool = snap.pool(wl.loc.pool_name)
    if pool is None:
        return None
    setting = "useAppPoolCredentials=true" if kernel_mode(w) else "useKernelMode=false"
    ident = pool.get("identity") or {}
    kind = ident.get("type") or "ApplicationPoolIdentity"
    if kind in MACHINE_IDENTITIES:
        return Decryptor(
            d.computer_name(),
            d.computer(),
            True,
            f"{setting} makes pool '{pool['name']}' decrypt tickets, and its {kind} identity is the "
            "computer account on the network",
        )
    if kind == "LocalService":
        return Decryptor(
            "NT AUTHORITY\\LOCAL SERVICE",
            None,
            False,
            f"{setting} makes pool '{pool['name']}' decrypt tickets, but LocalService has no network "
            "credentials",
            usable=False,
        )
    user = str(ident.get("user") or "")
    if not is_domain_ref(user, snap.host):
        return Decryptor(
            user or "?",
            None,
            False,
            f"{setting} makes pool '{pool['name']}' decrypt tickets, but its identity '{user}' is a local "
            "account that cannot hold an SPN",
            usable=False,
        )
    return Decryptor(
        user, d.find(user), False, f"{setting} makes pool '{pool['name']}' (identity {user}) decrypt tickets"
    )


# --- host names and SPNs -------------------------------------------------------------------------


def norm_spn(spn: str) -> str:
    """Case-insensitive, without an @REALM suffix."""
    return fold(spn).split("@", 1)[0]


def spn_host(spn: str) -> str:
    """The host part of an SPN `class/host[:port][/service]`, casefolded."""
    rest = norm_spn(spn).split("/", 1)[1] if "/" in spn else norm_spn(spn)
    host = rest.split("/", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def binding_host(binding: Mapping[str, Any]) -> str:
    host = binding.get("host")
    if host is None:
        info = str(binding.get("binding_information") or "")
        host = info.split(":", 2)[2] if info.count(":") >= 2 else ""
    return fold(str(host))


def _kerberos_name(name: str) -> bool:
    """A name a browser builds an HTTP/<name> SPN for: not an IP literal, not a wildcard."""
    if not name or "*" in name or name.startswith("["):
        return False
    return not all(part.isdigit() for part in name.split("."))


def site_host_names(snap: Any, site: Mapping[str, Any]) -> list[str]:
    """Host names clients use for a site: HTTP(S) host headers, plus the host's FQDN and short name for
    bindings without one (in binding order, without repeats)."""
    names: dict[str, None] = {}
    for b in site.get("bindings") or []:
        if fold(str(b.get("protocol") or "")) not in ("http", "https"):
            continue
        host = binding_host(b)
        if host:
            if _kerberos_name(host):
                names[host] = None
        else:
            fqdn = host_fqdn(snap)
            if fqdn:
                names[fqdn] = None
            names[host_short(snap)] = None
    return list(names)


def https_site(site: Mapping[str, Any]) -> bool:
    return any(fold(str(b.get("protocol") or "")) == "https" for b in site.get("bindings") or [])


@dataclass
class NameUse:
    """A host name that Negotiate serves, and every location (with its decrypting identity) that serves it."""

    name: str
    sites: list[str] = field(default_factory=list)
    uses: list[tuple[WindowsLocation, Decryptor | None]] = field(default_factory=list)
    at: Mapping[str, Any] | None = None


def negotiate_names(snap: Any) -> list[NameUse]:
    """Host names of every site where some location accepts Negotiate, in site order (built once)."""
    return derived(snap, "negotiate_names", lambda: _negotiate_names(snap))


def _negotiate_names(snap: Any) -> list[NameUse]:
    out: dict[str, NameUse] = {}
    by_site: dict[str, list[WindowsLocation]] = {}
    for wl in windows_locations(snap):
        if negotiate_enabled(wl.windows):
            by_site.setdefault(wl.loc.site, []).append(wl)
    for site in snap.sites:
        wls = by_site.get(site["name"])
        if not wls:
            continue
        for name in site_host_names(snap, site):
            use = out.setdefault(name, NameUse(name, at=site))
            use.sites.append(site["name"])
            for wl in wls:
                use.uses.append((wl, decryptor(snap, wl)))
    return list(out.values())


@dataclass
class Lookup:
    """Who holds the SPN a client asks for: `known` is False when the snapshot cannot say."""

    spn: str | None  # HTTP/<name>, or HOST/<name> when HTTP is absent and the sPNMappings alias applies
    holders: dict[str, str]  # holder reference (as captured) -> how to show it
    known: bool
    why: str = ""


def spn_index(snap: Any) -> SpnIndex:
    """The snapshot's SpnIndex, built once."""
    return derived(snap, "spn_index", lambda: SpnIndex(snap))


class SpnIndex:
    """SPN -> the accounts that hold it, from principals' SPN lists, `setspn -Q` answers and `setspn -X`."""

    def __init__(self, snap: Any) -> None:
        self.d = directory(snap)
        self.snap = snap
        self.holders: dict[str, dict[str, str]] = {}  # spn -> {account ident: reference}
        self.queried: set[str] = set()
        spns = snap.data.get("spns") or {}
        self.duplicates_checked = bool(spns.get("duplicates_checked")) or bool(spns.get("duplicates"))
        self.duplicate_entries: dict[str, Mapping[str, Any]] = {}
        for acct in self.d.accounts:
            for spn in acct.spns:
                self.holders.setdefault(norm_spn(spn), {}).setdefault(f"acct:{id(acct)}", acct.name)
        for q in spns.get("queries") or []:
            self.queried.add(norm_spn(str(q.get("spn", ""))))
            for ref in q.get("accounts") or []:
                self._add(str(q["spn"]), str(ref))
        for dup in spns.get("duplicates") or []:
            self.duplicate_entries[norm_spn(str(dup.get("spn", "")))] = dup
            for ref in dup.get("accounts") or []:
                self._add(str(dup["spn"]), str(ref))

    def ident(self, ref: str) -> str:
        acct = self.d.find(ref)
        if acct is not None:
            return f"acct:{id(acct)}"
        return ("dn:" + fold(ref)) if is_dn(ref) else ("name:" + bare(ref))

    def _add(self, spn: str, ref: str) -> None:
        if not spn or not ref:
            return
        self.holders.setdefault(norm_spn(spn), {}).setdefault(self.ident(ref), ref)

    def display(self, ref: str) -> str:
        acct = self.d.find(ref)
        return acct.name if acct is not None else ref

    def lookup(self, name: str) -> Lookup:
        """Resolve HTTP/<name> the way the KDC does: the HTTP SPN, else HOST/<name> (sPNMappings)."""
        http, host = f"http/{name}", f"host/{name}"
        if self.holders.get(http):
            return Lookup(f"HTTP/{name}", self.holders[http], True)
        if http not in self.queried:
            return Lookup(
                None, {}, False, f"no `setspn -Q HTTP/{name}` was captured and no collected account holds it"
            )
        if self.holders.get(host):
            return Lookup(f"HOST/{name}", self.holders[host], True)
        own = name in {host_short(self.snap), host_fqdn(self.snap)}
        if own and host not in self.queried:
            comp = self.d.computer()
            if comp is None or not comp.ad:
                return Lookup(
                    None,
                    {},
                    False,
                    f"HTTP/{name} is not registered; HOST/{name} on the computer account "
                    "would stand in for it, but the computer account's SPNs were not collected",
                )
        return Lookup(None, {}, True)


def privileged_groups(d: Directory, acct: Account, extra: Iterable[str] = ()) -> list[str]:
    """Names of privileged AD groups the account is in, directly or through nested groups known to the snapshot."""
    wanted = PRIVILEGED_NAMES | {fold(e) for e in extra}
    found: dict[str, None] = {}
    seen_refs: set[str] = set()
    seen_accts: set[int] = {id(acct)}
    todo = [str(g) for g in acct_groups(acct)]
    while todo:
        ref = todo.pop()
        if fold(ref) in seen_refs:
            continue
        seen_refs.add(fold(ref))
        label = _privileged_label(ref, wanted)
        group = d.find(ref)
        if label is None and group is not None:
            for m in group.members:
                label = (
                    label
                    or _privileged_label(str(m.get("sid") or ""), wanted)
                    or _privileged_label(str(m.get("name") or ""), wanted)
                )
        if label:
            found.setdefault(label, None)
        if group is not None and id(group) not in seen_accts:
            seen_accts.add(id(group))
            todo.extend(str(g) for g in acct_groups(group))
    return list(found)


def acct_groups(acct: Account) -> list[str]:
    out: dict[str, str] = {}
    for m in acct.members:
        for g in m.get("member_of") or []:
            out.setdefault(fold(str(g)), str(g))
    return list(out.values())


def _privileged_label(ref: str, wanted: set[str]) -> str | None:
    if not ref:
        return None
    if sids.is_sid(ref):
        sid = sids.normalize_sid(ref)
        if sid in PRIVILEGED_SIDS:
            return PRIVILEGED_SIDS[sid]
        rid = sids.domain_rid(sid)
        return PRIVILEGED_RIDS.get(rid) if rid is not None else None
    name = dn_cn(ref) if is_dn(ref) else bare(ref)
    if name in wanted:
        return dn_first_value(ref) if is_dn(ref) else ref.rsplit("\\", 1)[-1]
    return None


# --- domain controllers and Tier 0 ----------------------------------------------------------------


class Tier0:
    """Host names of domain controllers and other Tier-0 hosts, by FQDN and by short name."""

    def __init__(self, snap: Any, extra: Iterable[str] = ()) -> None:
        ad = ad_section(snap)
        self.fqdns: dict[str, str] = {}  # fqdn -> what it is
        self.shorts: dict[str, str] = {}  # short name of a host whose FQDN is unknown -> what it is
        self.short_of_fqdn: dict[str, str] = {}  # short name of a host known by FQDN -> what it is
        self.dc_known = bool(ad.get("domain_controllers"))
        for dc in ad.get("domain_controllers") or []:
            self._add(dc.get("fqdn"), dc.get("name"), "domain controller")
        for n in list(ad.get("tier0_hosts") or []) + list(extra):
            self._add(str(n), None, "Tier-0 host")
        self.dc_accounts = [a for a in directory(snap).accounts if a.is_dc]
        for a in self.dc_accounts:
            self.dc_known = True
            self._add(None, bare(a.name).rstrip("$"), "domain controller")

    def _add(self, fqdn: Any, name: Any, what: str) -> None:
        f = fold(str(fqdn or "")).rstrip(".")
        n = fold(str(name or "")).rstrip(".")
        if not f and "." in n:
            f, n = n, ""
        if f:
            self.fqdns.setdefault(f, what)
            self.short_of_fqdn.setdefault(f.split(".", 1)[0], what)
        if n and n not in self.short_of_fqdn:
            self.shorts.setdefault(n.split(".", 1)[0], what)

    def classify(self, host: str) -> str | None:
        """'domain controller' / 'Tier-0 host' when the host is one, else None.

        A short name matches any listed host with that first label; an FQDN matches a listed FQDN, or a
        host listed only by short name (its domain is unknown, so the name decides).
        """
        h = fold(host).rstrip(".")
        if "." in h:
            return self.fqdns.get(h) or self.shorts.get(h.split(".", 1)[0])
        return self.shorts.get(h) or self.short_of_fqdn.get(h)

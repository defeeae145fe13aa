"""Kerberos as IIS uses it: the identities that decrypt tickets, SPNs and who holds them, Tier-0 hosts.

Accounts come from `snap.accounts` (one account however the capture spells it); everything here is
derived from the snapshot alone and built once per snapshot (`snap.kerberos`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .accounts import Account, Directory, host_short_name
from .iis import MACHINE_IDENTITIES, Location
from .names import bare, dn_cn, fold, is_dn

if TYPE_CHECKING:
    from .snapshot import Snapshot


def ad_section(snap: Snapshot) -> Mapping[str, Any]:
    return snap.data.get("ad") or {}


def ad_collected(snap: Snapshot) -> bool:
    return ad_section(snap).get("collected") is True


def host_short(snap: Snapshot) -> str:
    return fold(snap.host).split(".", 1)[0]


def host_fqdn(snap: Snapshot) -> str | None:
    host = snap.data.get("host") or {}
    fqdn = host.get("fqdn")
    if fqdn:
        return fold(fqdn)
    domain = host.get("domain") or ad_section(snap).get("domain")
    if domain and "." in str(domain):
        return f"{host_short(snap)}.{fold(domain)}"
    return None


def domain_joined(snap: Snapshot) -> bool | None:
    host = snap.data.get("host") or {}
    joined = host.get("domain_joined")
    if joined is None and ad_collected(snap):
        return True
    return joined


def rbcd_captured(account: Account) -> bool | None:
    """Whether the capture read the account's RBCD attribute (`Account.captured("rbcd_from")`)."""
    return account.captured("rbcd_from")


def same_account(d: Directory, host: str, ref: str, target: Decryptor) -> bool | None:
    """Whether an SPN holder (as a setspn/AD reference) is the decrypting identity; None when unknowable."""
    holder = d.find(ref)
    if target.account is not None and holder is not None:
        return holder is target.account
    if target.computer:
        want = {host_short_name(host), host_short_name(host) + "$"}
        names = _names_of(holder, ref)
        return bool(names & want)
    want_sam = bare(target.name)
    names = _names_of(holder, ref)
    if want_sam in names:
        return True
    if holder is not None:
        return False
    return None if is_dn(ref) else False


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


def _iis_identities(
    snap: Snapshot, computer: bool, users: bool, found: Mapping[str, IisIdentity] | None = None
) -> list[IisIdentity]:
    """Domain accounts the IIS configuration uses (pool, anonymous, connect-as), and the computer account.

    `computer=True` adds HOST$, which NetworkService, ApplicationPoolIdentity and kernel-mode Kerberos use.
    Local and built-in accounts are left out: AD knows nothing about them. `found`: what
    `_user_identities` says, when the caller has it (each list gets its own copies: the computer
    account may join one of them).
    """
    out: dict[str, IisIdentity] = {}
    if users:
        known = _user_identities(snap) if found is None else found
        out = {key: replace(ident, roles=list(ident.roles)) for key, ident in known.items()}
    d = snap.accounts.directory
    machine_roles = []
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


def _user_identities(snap: Snapshot) -> dict[str, IisIdentity]:
    """The domain accounts of `_iis_identities` (pool identities, anonymous and connect-as users), by account."""
    d = snap.accounts.directory
    accounts = snap.accounts
    out: dict[str, IisIdentity] = {}

    def add(ref: str, role: str, at: Mapping[str, Any] | None) -> None:
        acct = d.find(ref)
        key = f"acct:{id(acct)}" if acct is not None else "ref:" + bare(ref)
        entry = out.get(key)
        if entry is None:
            entry = out[key] = IisIdentity(ref, acct, roles=[], at=at)
        if role not in entry.roles:
            entry.roles.append(role)

    for pool in snap.app_pools:
        ident = pool.get("identity") or {}
        kind = ident.get("type") or "ApplicationPoolIdentity"
        if kind == "SpecificUser" and accounts.is_domain(ident.get("user")):
            add(str(ident["user"]), f"identity of application pool '{pool['name']}'", pool)
    for loc in snap.locations.apps:
        anon = loc.anonymous
        user = (anon or {}).get("user")
        if anon and anon.get("enabled") and user and accounts.is_domain(user):
            add(str(user), f"anonymous user of '{loc.path}'", anon)
    for site in snap.sites:
        for app in site.get("applications") or []:
            for vdir in app.get("virtual_directories") or []:
                if accounts.is_domain(vdir.get("user")):
                    where = f"{site['name']}{app.get('path', '')}".rstrip("/") + (
                        "" if vdir.get("path") in (None, "/") else str(vdir["path"])
                    )
                    add(str(vdir["user"]), f"connect-as user of '{where}'", vdir)
    return out


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
    loc: Location
    windows: Mapping[str, Any]


def windows_locations(snap: Snapshot) -> Iterator[WindowsLocation]:
    """Every site and application where Windows authentication is enabled, with its effective settings
    (found once per snapshot: several KRB rules walk them)."""
    return iter(snap.kerberos.windows)


def _windows_locations(snap: Snapshot) -> list[WindowsLocation]:
    out = []
    for loc in snap.locations.apps:
        windows = loc.auth("windows")
        if windows and windows.get("enabled") is True:
            out.append(WindowsLocation(loc, windows))
    return out


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


def decryptor(snap: Snapshot, wl: WindowsLocation) -> Decryptor | None:
    """HOST$ under kernel mode without useAppPoolCredentials; otherwise the pool identity (None: pool unknown)."""
    d = snap.accounts.directory
    w = wl.windows
    if kernel_mode(w) and not app_pool_credentials(w):
        return Decryptor(
            d.computer_name(),
            d.computer(),
            True,
            "kernel-mode authentication without useAppPoolCredentials decrypts tickets with the "
            "computer account",
        )
    pool = snap.pools.get(wl.loc.pool_name)  # applicationHost.config or IIS 6 metabase pools
    if pool is None:
        return None
    setting = "useAppPoolCredentials=true" if kernel_mode(w) else "useKernelMode=false"
    if pool.legacy:
        setting = "IIS 6 authentication in the worker process"
    kind = pool.type
    if kind in MACHINE_IDENTITIES:
        return Decryptor(
            d.computer_name(),
            d.computer(),
            True,
            f"{setting} makes pool '{pool.name}' decrypt tickets, and its {kind} identity is the "
            "computer account on the network",
        )
    if kind == "LocalService":
        return Decryptor(
            "NT AUTHORITY\\LOCAL SERVICE",
            None,
            False,
            f"{setting} makes pool '{pool.name}' decrypt tickets, but LocalService has no network "
            "credentials",
            usable=False,
        )
    user = pool.user
    if not snap.accounts.is_domain(user):
        return Decryptor(
            user or "?",
            None,
            False,
            f"{setting} makes pool '{pool.name}' decrypt tickets, but its identity '{user}' is a local "
            "account that cannot hold an SPN",
            usable=False,
        )
    return Decryptor(
        user, d.find(user), False, f"{setting} makes pool '{pool.name}' (identity {user}) decrypt tickets"
    )


# --- host names and SPNs -------------------------------------------------------------------------


def norm_spn(spn: str) -> str:
    """Case-insensitive, as registered: a realm suffix stays, because a KDC looking up `HTTP/web01`
    never matches the value `HTTP/web01@CORP.EXAMPLE` (IIS-KRB-017 reports such values)."""
    return fold(spn)


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


def site_host_names(snap: Snapshot, site: Mapping[str, Any]) -> list[str]:
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


def _negotiate_names(snap: Snapshot) -> list[NameUse]:
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


class SpnIndex:
    """SPN -> the accounts that hold it, from principals' SPN lists, `setspn -Q` answers and `setspn -X`."""

    def __init__(self, snap: Snapshot) -> None:
        self.d = snap.accounts.directory
        self.snap = snap
        self.holders: dict[str, dict[str, str]] = {}  # spn -> {account ident: reference}
        self.queried: set[str] = set()
        spns = snap.data.get("spns") or {}
        self.duplicates_checked = bool(spns.get("duplicates_checked")) or bool(spns.get("duplicates"))
        self.duplicate_entries: dict[str, Mapping[str, Any]] = {}
        holders = self.holders
        for acct in self.d.accounts:
            held_spns = acct.spns  # a list built per read, as the account's name: read once per account
            if held_spns:
                ident, name = f"acct:{id(acct)}", acct.name
                for spn in held_spns:
                    held = holders.get(key := norm_spn(spn))
                    if held is None:
                        holders[key] = {ident: name}
                    else:
                        held.setdefault(ident, name)
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


class Tier0:
    """Host names of domain controllers and other Tier-0 hosts, by FQDN and by short name."""

    def __init__(self, snap: Snapshot, extra: Iterable[str] = ()) -> None:
        ad = ad_section(snap)
        self.fqdns: dict[str, str] = {}  # fqdn -> what it is
        self.shorts: dict[str, str] = {}  # short name of a host whose FQDN is unknown -> what it is
        self.short_of_fqdn: dict[str, str] = {}  # short name of a host known by FQDN -> what it is
        self.dc_known = bool(ad.get("domain_controllers"))
        for dc in ad.get("domain_controllers") or []:
            self._add(dc.get("fqdn"), dc.get("name"), "domain controller")
        for n in list(ad.get("tier0_hosts") or []) + list(extra):
            self._add(str(n), None, "Tier-0 host")
        self.dc_accounts = list(snap.kerberos.dc_accounts)
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


class Kerberos:
    """What the KRB rules ask of one snapshot, each part built on first use (`snap.kerberos`)."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self._identities: dict[tuple[bool, bool], list[IisIdentity]] = {}
        self._users: dict[str, IisIdentity] | None = None  # _user_identities, shared by both lists
        self._dcs: list[Account] | None = None
        self._windows: list[WindowsLocation] | None = None
        self._spn_index: SpnIndex | None = None
        self._names: list[NameUse] | None = None

    def identities(self, *, computer: bool, users: bool = True) -> list[IisIdentity]:
        """Domain accounts the IIS configuration uses (pool, anonymous, connect-as), and with `computer`
        the computer account HOST$ (which NetworkService, ApplicationPoolIdentity and kernel-mode
        Kerberos use). Local and built-in accounts are left out: AD knows nothing about them."""
        key = (computer, users)
        if key not in self._identities:
            if users and self._users is None:
                self._users = _user_identities(self.snap)
            self._identities[key] = _iis_identities(self.snap, computer, users, self._users)
        return self._identities[key]

    @property
    def windows(self) -> list[WindowsLocation]:
        """What `windows_locations` yields, in the same order."""
        if self._windows is None:
            self._windows = _windows_locations(self.snap)
        return self._windows

    @property
    def dc_accounts(self) -> list[Account]:
        """The directory's domain controller accounts (SERVER_TRUST_ACCOUNT), in directory order: asked by
        every Tier0 (one per rule) of a directory of thousands of accounts."""
        if self._dcs is None:
            self._dcs = [a for a in self.snap.accounts.directory.accounts if a.is_dc]
        return self._dcs

    @property
    def spn_index(self) -> SpnIndex:
        if self._spn_index is None:
            self._spn_index = SpnIndex(self.snap)
        return self._spn_index

    @property
    def negotiate_names(self) -> list[NameUse]:
        """Host names of every site where some location accepts Negotiate, in site order."""
        if self._names is None:
            self._names = _negotiate_names(self.snap)
        return self._names

    def decryptor(self, wl: WindowsLocation) -> Decryptor | None:
        return decryptor(self.snap, wl)

    def same(self, ref: str, target: Decryptor) -> bool | None:
        return same_account(self.snap.accounts.directory, self.snap.host, ref, target)

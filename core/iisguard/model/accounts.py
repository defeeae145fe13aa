"""Accounts: one resolver for every way a capture names a principal, its scope, and group membership.

A reference is a SID (`S-1-…`, `*S-1-…`), `DOMAIN\\name`, `.\\name`, a bare name, a UPN
(`svc@corp.example.com`), a distinguished name (`CN=svc,OU=…`) or a localized built-in name
(`Jeder`, `VORDEFINIERT\\Administratoren`). `Accounts.key()` turns any of them into one comparable
key: the SID where one can be known, else `name:<domain\\name>`.

One account is often described several times (the pool configuration says `CORP\\svc_web`,
`setspn -L` gives its DN, `Get-ADUser` its sAMAccountName and SID): `Accounts.account()` groups
such principals into one `Account`, by SID, DN and (for domain accounts) sAMAccountName, so a fact
read from any of them counts once, and `key()` gives all their spellings the same key.

Group membership is transitive, read from both `members[]` and `member_of[]`. `membership()`
answers "is this account in one of these privileged groups?" with yes, no or unknown (and why),
from the one table `PRIVILEGED_GROUPS`; unknown is what rules report as `not_reviewed`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from . import names, sids, uac

if TYPE_CHECKING:
    from .snapshot import Snapshot

# Domain parts that name the machine itself or a built-in authority: such accounts are not in AD.
LOCAL_DOMAINS = frozenset(
    {
        "",
        ".",
        "localhost",
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
    | names.BUILTIN_DOMAINS
)
_VIRTUAL_DOMAINS = {
    "nt virtual machine": "virtual",
    "window manager": "virtual",
    "font driver host": "virtual",
}
_VIRTUAL_SID_PREFIXES = ("S-1-5-83-", "S-1-5-90-", "S-1-5-96-")  # Hyper-V VMs, DWM, UMFD
SCOPES = ("builtin", "iis_pool", "service", "virtual", "local", "domain")
GROUP_KINDS = ("local_group", "domain_group")
_LOCAL_KINDS = {"local_user", "local_group", "builtin", "virtual"}
_DOMAIN_KINDS = {"domain_user", "domain_group", "gmsa", "msa", "computer"}


def _norm(name: str) -> str:
    return name.strip().casefold()


# --- AD facts and the attributes that state them ---------------------------------------------------

# The AD facts rules judge, and the attributes (normalised LDAP or Get-AD* property names, as in
# `ad_attributes`) any one of which states the fact. userAccountControl states every flag; the AD module's
# boolean properties (TrustedForDelegation...) state one each.
AD_FACTS: dict[str, tuple[str, ...]] = {
    "user_account_control": ("useraccountcontrol",),
    "unconstrained": ("useraccountcontrol", "trustedfordelegation"),
    "protocol_transition": ("useraccountcontrol", "trustedtoauthfordelegation"),
    "password_never_expires": ("useraccountcontrol", "passwordneverexpires"),
    "password_not_required": ("useraccountcontrol", "passwordnotrequired"),
    "constrained_to": ("msdsallowedtodelegateto",),
    "rbcd_from": ("msdsallowedtoactonbehalfofotheridentity", "principalsallowedtodelegatetoaccount"),
    "spns": ("serviceprincipalname", "serviceprincipalnames"),
    "encryption_types": ("msdssupportedencryptiontypes",),
    "password_last_set": ("passwordlastset", "pwdlastset"),
    "admin_count": ("admincount",),
    "groups": ("memberof", "memberoftransitive", "transitivememberof", "tokengroups", "tokengroupnames"),
}
# How a message names each fact's attribute to a reader.
AD_FACT_NAMES: dict[str, str] = {
    "user_account_control": "userAccountControl",
    "unconstrained": "userAccountControl / TrustedForDelegation",
    "protocol_transition": "userAccountControl / TrustedToAuthForDelegation",
    "password_never_expires": "userAccountControl / PasswordNeverExpires",
    "password_not_required": "userAccountControl / PasswordNotRequired",
    "constrained_to": "msDS-AllowedToDelegateTo",
    "rbcd_from": "msDS-AllowedToActOnBehalfOfOtherIdentity / PrincipalsAllowedToDelegateToAccount",
    "spns": "servicePrincipalName",
    "encryption_types": "msDS-SupportedEncryptionTypes",
    "password_last_set": "pwdLastSet / PasswordLastSet",
    "admin_count": "adminCount",
    "groups": "memberOf",
}


# --- the one table of privileged groups ------------------------------------------------------------


@dataclass(frozen=True)
class PrivilegedGroup:
    """A group whose members hold power over the host or the domain.

    Matched by well-known SID, by domain-relative RID (any domain's S-1-5-21-…-RID), or by name
    (English and localized, with any domain part or none: the AD parser writes `Domain Admins`
    when it does not know the NetBIOS name).
    """

    label: str
    names: tuple[str, ...]
    sid: str | None = None
    rid: int | None = None
    scope: str = "local"  # local: a group on the host (also the domain's BUILTIN group); domain: an AD group
    admin: bool = False  # administrator of the host or the domain (not merely privileged)

    @cached_property
    def folded(self) -> frozenset[str]:
        """The names, case-folded (worked out once per group: membership matches every group a
        principal is in against every wanted group)."""
        return frozenset(n.casefold() for n in self.names)


def _local(label: str, sid: str, *more: str, admin: bool = False) -> PrivilegedGroup:
    localized = names.LOCALIZED.get(sid, ())
    return PrivilegedGroup(f"BUILTIN\\{label}", (label, *more, *localized), sid=sid, admin=admin)


PRIVILEGED_GROUPS: tuple[PrivilegedGroup, ...] = (
    _local("Administrators", sids.ADMINISTRATORS, admin=True),
    _local("Backup Operators", sids.BACKUP_OPERATORS, admin=True),
    _local("Server Operators", sids.SERVER_OPERATORS, admin=True),
    _local("Account Operators", sids.ACCOUNT_OPERATORS, admin=True),
    _local("Print Operators", sids.PRINT_OPERATORS, admin=True),
    _local("Power Users", sids.POWER_USERS),
    _local("Remote Desktop Users", sids.REMOTE_DESKTOP_USERS),
    _local("Distributed COM Users", sids.DISTRIBUTED_COM_USERS),
    _local("Event Log Readers", sids.EVENT_LOG_READERS),
    _local("Performance Log Users", sids.PERFORMANCE_LOG_USERS),
    _local("Performance Monitor Users", sids.PERFORMANCE_MONITOR_USERS),
    _local("Network Configuration Operators", sids.NETWORK_CONFIGURATION_OPERATORS),
    _local("Replicator", sids.REPLICATOR),
    _local("Certificate Service DCOM Access", sids.CERTIFICATE_SERVICE_DCOM_ACCESS),
    PrivilegedGroup(
        "Domain Admins",
        ("Domain Admins", "Domänen-Admins", "Admins du domaine", "Admins. del dominio"),
        rid=sids.RID_DOMAIN_ADMINS,
        scope="domain",
        admin=True,
    ),
    PrivilegedGroup(
        "Enterprise Admins",
        ("Enterprise Admins", "Organisations-Admins", "Administrateurs de l’entreprise"),
        rid=sids.RID_ENTERPRISE_ADMINS,
        scope="domain",
        admin=True,
    ),
    PrivilegedGroup(
        "Schema Admins",
        ("Schema Admins", "Schema-Admins", "Administrateurs du schéma"),
        rid=sids.RID_SCHEMA_ADMINS,
        scope="domain",
        admin=True,
    ),
    PrivilegedGroup("Key Admins", ("Key Admins",), rid=sids.RID_KEY_ADMINS, scope="domain"),
    PrivilegedGroup(
        "Enterprise Key Admins",
        ("Enterprise Key Admins",),
        rid=sids.RID_ENTERPRISE_KEY_ADMINS,
        scope="domain",
    ),
    PrivilegedGroup("DnsAdmins", ("DnsAdmins",), scope="domain", admin=True),
)
_GROUP_BY_SID = {g.sid: g for g in PRIVILEGED_GROUPS if g.sid}
_GROUP_BY_RID = {g.rid: g for g in PRIVILEGED_GROUPS if g.rid is not None}
_GROUP_BY_NAME = {n: g for g in PRIVILEGED_GROUPS for n in g.folded}


def _domain_group(ref: str, sid: str | None) -> PrivilegedGroup | None:
    """The domain entry of PRIVILEGED_GROUPS a reference names (by RID or name), else None."""
    if sid:
        rid = sids.domain_rid(sid)
        group = _GROUP_BY_RID.get(rid) if rid is not None else None
        return group if group is not None and group.scope == "domain" else None
    if "\\" in ref and _norm(ref).rpartition("\\")[0] in names.BUILTIN_DOMAINS:
        return None
    group = _GROUP_BY_NAME.get(names.bare(ref))
    return group if group is not None and group.scope == "domain" else None


def privileged_groups(
    selectors: Iterable[str | int | PrivilegedGroup] | None = None,
    *,
    admin: bool | None = None,
    scope: str | None = None,
) -> tuple[PrivilegedGroup, ...]:
    """Entries of PRIVILEGED_GROUPS chosen by SID, RID or name (a rule parameter), or by admin/scope.

    A selector no entry knows (an organization's own group, by SID or name) becomes a group of its own.
    """
    chosen: list[PrivilegedGroup] = []
    if selectors is None:
        chosen = list(PRIVILEGED_GROUPS)
    else:
        for s in selectors:
            g = s if isinstance(s, PrivilegedGroup) else group_of(s)
            if g is None:
                text = str(s).strip()
                sid = names.sid_for(text)
                g = PrivilegedGroup(text, (names.bare(text),), sid=sid, scope="local" if sid else "domain")
            if g not in chosen:
                chosen.append(g)
    return tuple(
        g for g in chosen if (admin is None or g.admin == admin) and (scope is None or g.scope == scope)
    )


def group_of(selector: str | int) -> PrivilegedGroup | None:
    """The table entry a SID, RID or (bare, qualified, localized) name denotes, else None."""
    if isinstance(selector, int) or str(selector).strip().isdigit():
        return _GROUP_BY_RID.get(int(selector))
    text = str(selector).strip()
    if sids.is_sid(text):
        known = sids.normalize_sid(text)
        rid = sids.domain_rid(known)
        return _GROUP_BY_SID.get(known) or (_GROUP_BY_RID.get(rid) if rid is not None else None)
    sid = names.sid_for(text)
    if sid and sid in _GROUP_BY_SID:
        return _GROUP_BY_SID[sid]
    return _GROUP_BY_NAME.get(names.bare(text))


@dataclass(frozen=True)
class Membership:
    """Whether principals are in privileged groups: `answer` is yes, no or unknown.

    `hits` name each group found with the path to it ("Domain Admins (through CORP\\Web Admins)");
    `unknown` lists groups whose members were not captured; `needs_ad` domain accounts whose AD
    group memberships were not collected. `reason` says in one sentence why the answer is unknown.
    """

    hits: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    needs_ad: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()  # labels of the groups hit, without the path

    @property
    def answer(self) -> str:
        if self.hits:
            return "yes"
        return "no" if self.judged else "unknown"

    @property
    def judged(self) -> bool:
        return not self.unknown and not self.needs_ad

    @property
    def reason(self) -> str:
        parts = []
        if self.unknown:
            shown = ", ".join(self.unknown[:4]) + (
                f" and {len(self.unknown) - 4} more" if len(self.unknown) > 4 else ""
            )
            parts.append(f"members of {shown} were not captured")
        if self.needs_ad:
            parts.append(
                f"no Active Directory data for {', '.join(self.needs_ad)} (domain group memberships unknown)"
            )
        return "; ".join(parts)


# --- AD accounts: several principals, one account --------------------------------------------------


@dataclass
class Account:
    """One account, possibly described by several snapshot principals (pool config, setspn, Get-AD*)."""

    members: list[dict[str, Any]] = field(default_factory=list)
    listed_in_ad: bool = False  # named in ad.accounts

    @property
    def ad(self) -> bool:
        """AD attributes were collected for this account."""
        return self.listed_in_ad or any(m.get("ad_collected") is True for m in self.members)

    @property
    def at(self) -> dict[str, Any]:
        """The principal a finding points at: the one carrying AD data where there is one."""
        return self.members[0]

    def get(self, key: str) -> Any:
        for m in self.members:
            if m.get(key) is not None:
                return m[key]
        return None

    @property
    def sid(self) -> str | None:
        sid = self.get("sid")
        return sids.normalize_sid(str(sid)) if sid and sids.is_sid(str(sid)) else None

    @property
    def name(self) -> str:
        shown = [str(m["name"]) for m in self.members if m.get("name")]
        qualified = [n for n in shown if "\\" in n]
        return (qualified or shown or [str(self.get("sid") or self.get("distinguished_name") or "?")])[0]

    def has_attribute(self, attribute: str) -> bool | None:
        """Whether an AD attribute was present in what was captured for this account; None when the
        capture did not record which attributes it read (snapshots made before that was recorded)."""
        recorded: list[list[Any]] = [
            m["ad_attributes"] for m in self.members if isinstance(m.get("ad_attributes"), list)
        ]
        if not recorded:
            return None
        wanted = attribute.casefold()
        return any(wanted in {str(a).casefold() for a in attrs} for attrs in recorded)

    def captured(self, fact: str) -> bool | None:
        """Whether the AD fact `fact` (a key of `AD_FACTS`) was captured for this account.

        True when a captured record carried one of the fact's attributes, or was a `-Properties *` dump
        (which lists every attribute that has a value, so an absent one is unset); False when the records
        name the attributes they carried and none is the fact's (a pasted `Get-ADUser -Properties
        ServicePrincipalName` says nothing about delegation); None when the capture did not record which
        attributes it read (the collector, which always asks for all of them; older snapshots).
        A rule reads False as "cannot tell", never as "empty".
        """
        found = [self.has_attribute(a) for a in AD_FACTS[fact]]
        if any(f is True for f in found) or any(m.get("ad_all_properties") is True for m in self.members):
            return True
        return None if any(f is None for f in found) else False

    def uncaptured(self, *facts: str) -> list[str]:
        """The attribute names (for a message) of those `facts` the capture did not carry (`captured` False)."""
        return [AD_FACT_NAMES[f] for f in facts if self.captured(f) is False]

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
                out.setdefault(_norm(s), s)  # verbatim: a realm suffix is part of the value AD stores
        return list(out.values())

    def delegation(self, key: str) -> Any:
        """One delegation fact; lists are unioned across members, flags taken from the AD member first."""
        values = [(m.get("delegation") or {}).get(key) for m in self.members]
        if key in ("constrained_to", "rbcd_from"):
            seen: dict[str, str] = {}
            for v in values:
                for item in v or []:
                    seen.setdefault(_norm(item), item)
            return list(seen.values())
        return next((v for v in values if v is not None), None)

    @property
    def groups(self) -> list[str]:
        """member_of[] of every principal describing the account, as written."""
        out: dict[str, str] = {}
        for m in self.members:
            for g in m.get("member_of") or []:
                out.setdefault(_norm(str(g)), str(g))
        return list(out.values())

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
        oc = _norm(str(self.get("object_class") or ""))
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


def _not_ad_collected(member: Mapping[str, Any]) -> bool:
    return member.get("ad_collected") is not True


def host_short_name(host: str) -> str:
    return _norm(host).split(".", 1)[0]


class Directory:
    """The snapshot's principals grouped into accounts, found by SID, DN, DOMAIN\\name, UPN or sAMAccountName."""

    def __init__(self, snap: Snapshot) -> None:
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
            root = uf.find(i)
            acct = groups.get(root)
            if acct is None:  # not setdefault(root, Account()): an Account built per principal
                groups[root] = Account([p])
            else:
                acct.members.append(p)
        self.accounts = list(groups.values())
        for acct in self.accounts:
            if len(acct.members) > 1:
                acct.members.sort(key=_not_ad_collected)
        self._found: dict[str, Account | None] = {}
        self._by_key: dict[str, Account] = {}
        self._by_principal: dict[int, Account] = {}
        for i, keys in enumerate(keys_of):
            acct = groups[uf.find(i)]
            self._by_principal[id(principals[i])] = acct
            for k in keys:
                self._by_key.setdefault(k, acct)
        listed = {_norm(a) for a in (snap.data.get("ad") or {}).get("accounts") or []}
        if listed:
            for acct in self.accounts:  # a member's name, bare name or SID in ad.accounts
                for m in acct.members:
                    name = m.get("name") or ""
                    if (
                        _norm(name) in listed
                        or names.bare(name) in listed
                        or _norm(m.get("sid") or "") in listed
                    ):
                        acct.listed_in_ad = True
                        break

    def _keys(self, p: Mapping[str, Any]) -> list[str]:
        keys = []
        if p.get("sid") and sids.is_sid(str(p["sid"])):
            keys.append("sid:" + sids.normalize_sid(str(p["sid"])))
        if p.get("distinguished_name"):
            keys.append("dn:" + _norm(str(p["distinguished_name"])))
        name = p.get("name")
        if name:
            keys.append(self._name_key(str(name), p.get("kind")))
        return keys

    @cached_property
    def _host_names(self) -> tuple[str, str]:
        return _norm(self.host), host_short_name(self.host)

    def _name_key(self, name: str, kind: Any = None) -> str:
        n = _norm(name)
        if "\\" in n:
            domain, account = n.rsplit("\\", 1)
            if domain in LOCAL_DOMAINS or domain in self._host_names:
                return f"local:{account}"
            return f"sam:{account}"
        if "@" in n:
            return "sam:" + n.split("@", 1)[0]
        if kind in _LOCAL_KINDS:
            return f"local:{n}"
        return f"sam:{n}"

    def of(self, principal: Mapping[str, Any]) -> Account | None:
        """The account a snapshot principal belongs to."""
        return self._by_principal.get(id(principal))

    def find(self, ref: str | None) -> Account | None:
        """The account a reference names: a SID, a DN, DOMAIN\\name, name@domain or a bare name."""
        if not ref or not ref.strip():
            return None
        try:
            return self._found[ref]
        except KeyError:
            found = self._found[ref] = self._find(ref.strip())
            return found

    def _find(self, r: str) -> Account | None:
        if sids.is_sid(r):
            return self._by_key.get("sid:" + sids.normalize_sid(r))
        if names.is_dn(r):
            found = self._by_key.get("dn:" + _norm(r))
            if found:
                return found
            cn = names.dn_cn(r)
            return self._by_key.get(f"sam:{cn}") or self._by_key.get(f"sam:{cn}$")
        known = names.sid_for(r)
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


# --- the resolver ----------------------------------------------------------------------------------


class Accounts:
    """Every principal of a snapshot, indexed by SID and by normalized name (see the module docstring)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snap = snapshot
        self.host = snapshot.host.casefold()
        self.by_sid: dict[str, dict[str, Any]] = {}
        self.by_name: dict[str, dict[str, Any]] = {}
        for p in snapshot.data.get("principals") or []:
            sid = p.get("sid")
            if sid:
                self.by_sid[sid.upper()] = p
            name = p.get("name")
            if name:
                for variant in self._variants(name):
                    self.by_name.setdefault(variant, p)
        self._groups_cache: dict[str, frozenset[str]] = {}
        # Rules resolve the same few references (one per ACE of 100,000 ACLs) again and again.
        self._get_cache: dict[str, dict[str, Any] | None] = {}
        self._sid_cache: dict[str, str | None] = {}
        self._key_cache: dict[str, str] = {}
        self._members_of_group: dict[str, set[str]] | None = None
        self._parents_index: dict[str, set[str]] | None = None
        self._directory: Directory | None = None
        # id(groups tuple) -> (that tuple, groups whose members are unknown, answers by (refs, judge_ad))
        # id(groups tuple) -> (that tuple, groups whose members are unknown, answers by (refs, judge_ad),
        # each principal's part of an answer by (key, first or not))
        self._by_groups: dict[
            int,
            tuple[
                tuple[PrivilegedGroup, ...],
                tuple[str, ...],
                dict[Any, Membership],
                dict[tuple[str, str, bool], tuple[tuple[str, str], ...]],
            ],
        ] = {}
        self._paths_cache: dict[str, dict[str, str | None]] = {}
        # Walks shared by every principal with the same direct groups (see _walk).
        self._walks: dict[frozenset[str], tuple[dict[str, str | None], frozenset[str]]] = {}
        self._scope_cache: dict[str, str] = {}
        self._domain_cache: dict[str | None, bool] = {}

    @property
    def directory(self) -> Directory:
        """Principals grouped into accounts (built on first use)."""
        if self._directory is None:
            self._directory = Directory(self.snap)
        return self._directory

    def account(self, ref: str | None) -> Account | None:
        """The account (all principals describing it) a reference names, or None."""
        return self.directory.find(ref)

    def _variants(self, name: str) -> Iterable[str]:
        n = _norm(name)
        yield n
        domain, sep, account = n.rpartition("\\")
        if sep and domain in (".", self.host, "builtin", "nt authority"):
            yield account
        if not sep:
            yield f"{self.host}\\{n}"

    def get(self, ref: str | None) -> dict[str, Any] | None:
        """The snapshot principal a reference names (first match), or None."""
        if not ref:
            return None
        try:
            return self._get_cache[ref]
        except KeyError:
            found = self._get_cache[ref] = self._get(ref)
            return found

    def _get(self, ref: str) -> dict[str, Any] | None:
        if sids.is_sid(ref):
            return self.by_sid.get(sids.normalize_sid(ref))
        for variant in self._variants(ref):
            if variant in self.by_name:
                return self.by_name[variant]
        sid = names.sid_for(ref)
        if sid:
            return self.by_sid.get(sid)
        if names.is_upn(ref) or names.is_dn(ref):
            acct = self.account(ref)
            if acct is not None:
                return acct.at
            if names.is_upn(ref):
                return self._get(names.upn_as_account(ref))
        return None

    def sid_of(self, ref: str | None) -> str | None:
        """The SID for a reference, from the snapshot or the well-known tables; None when unknowable."""
        if not ref:
            return None
        try:
            return self._sid_cache[ref]
        except KeyError:
            found = self._sid_cache[ref] = self._sid_of(ref)
            return found

    def _sid_of(self, ref: str) -> str | None:
        if sids.is_sid(ref):
            return sids.normalize_sid(ref)
        known = names.sid_for(ref)
        if known:
            return known
        p = self.get(ref)
        if p and p.get("sid"):
            return str(p["sid"])
        if names.is_upn(ref) or names.is_dn(ref) or p is not None:
            acct = self.account(ref) if p is None else self.directory.of(p)
            if acct is not None and acct.sid:
                return acct.sid
        return None

    def key(self, ref: str | None) -> str:
        """One comparable key per principal: its SID where one can be known, else `name:<domain\\name>`."""
        ref = ref or ""
        try:
            return self._key_cache[ref]
        except KeyError:
            found = self._key_cache[ref] = self._key(ref)
            return found

    def _key(self, ref: str) -> str:
        if ref.startswith("name:"):
            return ref
        sid = self.sid_of(ref)
        domain_group = _domain_group(ref, sid)
        if domain_group is not None:
            # Domain Admins however it is written (SID with RID 512, CORP\Domain Admins, `Domain Admins`
            # from an AD export without the NetBIOS name, a DN, Domänen-Admins): one key, so a right
            # granted to one spelling reaches a member listed under another.
            return f"name:{domain_group.label.casefold()}"
        if sid:
            return sid
        p = self.get(ref)
        acct = self.directory.of(p) if p is not None else None
        # One account described twice without a SID (`svc_web` from AD, `CORP\\svc_web` in the pool
        # configuration): the account's qualified name is the key of both.
        name = (acct.name if acct is not None else None) or (p or {}).get("name") or ref or ""
        if names.is_dn(name):
            return f"name:{names.dn_cn(name)}"
        if names.is_upn(name):
            name = names.upn_as_account(name)
        domain, sep, account = _norm(name).rpartition("\\")
        if sep and domain in (".", self.host, "localhost"):
            return f"name:{self.host}\\{account}"
        if not sep and (p or {}).get("kind") in ("local_user", "local_group"):
            # A local account recorded by its bare name (a build script's New-LocalUser 'reports') is the
            # host's: `.\reports` and `HOST\reports` name it too.
            return f"name:{self.host}\\{account}"
        return f"name:{_norm(name)}"

    def keys(self, refs: Iterable[Any]) -> set[str]:
        """Principal keys for a parameter list of SIDs or names."""
        return {self.key(str(r)) for r in refs if str(r).strip()}

    def ref(self, key: str) -> str:
        """A principal key turned back into a reference `key()`, `get()` and `display()` accept."""
        return key[5:] if key.startswith("name:") else key

    def display(self, ref: str) -> str:
        """A name a person recognises for a reference (SIDs become names where known)."""
        ref = self.ref(ref)
        p = self.get(ref)
        if p and p.get("name"):
            return str(p["name"])
        group = _GROUP_BY_NAME.get(ref.casefold())
        if group is not None and group.scope == "domain":
            return group.label
        if sids.is_sid(ref):
            return sids.name_of(sids.normalize_sid(ref)) or ref
        return ref

    def shown(self, ref: str) -> str:
        """A readable name for a SID or name, keeping what the capture showed when they differ."""
        bare_ref = ref.strip().lstrip("*")
        name = self.display(bare_ref)
        return name if name.casefold() == bare_ref.casefold() else f"{name} ({bare_ref})"

    def kind(self, ref: str | None) -> str:
        """The principal's kind as captured (local_user, domain_group, …), else builtin/virtual/unknown."""
        p = self.get(ref)
        if p and p.get("kind"):
            return str(p["kind"])
        sid = self.sid_of(ref)
        if sid and (sid in sids.NAME_OF):
            return "builtin"
        if sid and sid.startswith((sids.APPPOOL_PREFIX, sids.NT_SERVICE_PREFIX)):
            return "virtual"
        return "unknown"

    def is_group(self, ref: str) -> bool:
        """A local or domain group, or a BUILTIN alias (S-1-5-32-…)."""
        key = self.key(ref)
        return self.kind(self.ref(key)) in GROUP_KINDS or key.startswith("S-1-5-32-")

    def scope(self, ref: str) -> str:
        try:
            return self._scope_cache[ref]
        except KeyError:
            found = self._scope_cache[ref] = self._scope(ref)
            return found

    def _scope(self, ref: str) -> str:
        """Where an account lives: builtin, iis_pool, service, virtual, local or domain.

        `builtin`: well-known accounts and groups (SYSTEM, IUSR, BUILTIN\\…, Everyone). `iis_pool`:
        IIS APPPOOL\\x. `service`: NT SERVICE\\x. `virtual`: other per-machine virtual accounts (Hyper-V
        VMs, Window Manager, Font Driver Host). `local`: accounts of this machine (`.\\x`, `HOST\\x`,
        `localhost\\x`, a bare name IIS resolves on the machine first, or a captured local account).
        `domain`: everything else (`CORP\\x`, UPNs, DNs, captured AD accounts).
        """
        text = ref.strip()
        sid = self.sid_of(text)
        domain = _norm(text).rpartition("\\")[0] if "\\" in text else ""
        if (sid and sid.startswith(sids.APPPOOL_PREFIX)) or domain == "iis apppool":
            return "iis_pool"
        if (sid and sid.startswith(sids.NT_SERVICE_PREFIX)) or domain == "nt service":
            return "service"
        if domain in _VIRTUAL_DOMAINS or (sid and sid.startswith(_VIRTUAL_SID_PREFIXES)):
            return "virtual"
        if names.sid_for(text) or (sid and not sid.startswith("S-1-5-21-")):
            return "builtin"
        kind = (self.get(text) or {}).get("kind")
        if kind in ("local_user", "local_group"):
            return "local"
        if kind in _DOMAIN_KINDS:
            return "domain"
        if kind == "builtin":
            return "builtin"
        if kind == "virtual":
            return "virtual"
        if names.is_upn(text) or names.is_dn(text):
            return "domain"
        if "\\" not in text or domain in LOCAL_DOMAINS or domain in (self.host, host_short_name(self.host)):
            return "local"
        return "domain"

    def is_domain(self, ref: str | None) -> bool:
        """A domain account (so Active Directory knows it)."""
        try:  # remembered: rules ask it of the same few thousand names tens of thousands of times
            return self._domain_cache[ref]
        except KeyError:
            found = self._domain_cache[ref] = self._is_domain(ref)
            return found
        except TypeError:  # not a string (an unvalidated snapshot): not remembered
            return self._is_domain(ref)

    def _is_domain(self, ref: str | None) -> bool:
        return bool(ref) and not sids.is_sid(str(ref)) and self.scope(str(ref)) == "domain"

    def has_ad_data(self, ref: str) -> bool:
        """Whether Active Directory facts were collected for this account."""
        acct = self.account(ref)
        if acct is not None and acct.ad:
            return True
        p = self.get(ref)
        return bool(p and p.get("ad_collected"))

    # --- group membership ---------------------------------------------------------------------------
    def _group_members(self) -> dict[str, set[str]]:
        # group key -> member keys, from both directions of the data (members[] and member_of[]).
        if self._members_of_group is None:
            index: dict[str, set[str]] = {}
            for p in self.snap.data.get("principals") or []:
                pk = self.key(p.get("sid") or p.get("name"))
                if isinstance(p.get("members"), list):
                    index.setdefault(pk, set())  # a captured empty group is known to have no members
                for m in p.get("members") or []:
                    mk = self.key(m.get("sid") or m.get("name"))
                    index.setdefault(pk, set()).add(mk)
                for g in p.get("member_of") or []:
                    index.setdefault(self.key(g), set()).add(pk)
            self._members_of_group = index
        return self._members_of_group

    def _parents(self) -> dict[str, set[str]]:
        if self._parents_index is None:
            parents: dict[str, set[str]] = {}
            for group, members in self._group_members().items():
                for m in members:
                    parents.setdefault(m, set()).add(group)
            self._parents_index = parents
        return self._parents_index

    def groups_of(self, ref: str) -> frozenset[str]:
        """Keys of every group the principal is in, transitively (cycles are tolerated). Shared
        between principals with the same direct groups: do not modify."""
        start = self.key(ref)
        cached = self._groups_cache.get(start)
        if cached is None:
            cached = self._groups_cache[start] = self._walk(start)[1]
        return cached

    def _paths(self, start: str) -> dict[str, str | None]:
        """group key -> the direct group it was reached through (None: a direct membership), breadth
        first. Shared between principals with the same direct groups: do not modify."""
        cached = self._paths_cache.get(start)
        if cached is None:
            cached = self._paths_cache[start] = self._walk(start)[0]
        return cached

    def _walk(self, start: str) -> tuple[dict[str, str | None], frozenset[str]]:
        """The groups reachable from `start`, walked once per set of direct groups.

        Everything past the first hop depends only on the direct groups, so 20,000 members of
        IIS_IUSRS and the same nested groups share one walk; a walk per member held members x
        groups entries (issue #18, case 8: a 600 KB snapshot of 3,000 members and a 3,000-deep
        chain of nested groups took IIS-HOST-001 731 MB and 151 s).
        """
        direct = self._parents().get(start)
        if not direct:
            return {}, frozenset()
        shared = frozenset(direct)
        walk = self._walks.get(shared)
        if walk is None:
            via = self._walk_from(sorted(direct))
            walk = self._walks[shared] = (via, frozenset(via))
        if start in walk[1]:  # a group in a cycle of its own: it is not its own member
            via = {g: t for g, t in walk[0].items() if g != start}
            return via, frozenset(via)
        return walk

    def _walk_from(self, direct: list[str]) -> dict[str, str | None]:
        parents = self._parents()
        via: dict[str, str | None] = {}
        todo: list[tuple[str, str]] = []
        for g in direct:
            via[g] = None
            todo.append((g, g))
        while todo:
            nxt: list[tuple[str, str]] = []
            for key, through in todo:
                for g in sorted(parents.get(key, ())):
                    if g not in via:
                        via[g] = through
                        nxt.append((g, through))
            todo = nxt
        return via

    def members_known(self, group_ref: str) -> bool:
        """Whether the snapshot lists the members of a group (so 'not a member' can be judged)."""
        return self.key(group_ref) in self._group_members()

    def members(self, group_ref: str) -> tuple[bool, list[dict[str, Any]]]:
        """(known, members) of a group: members listed on it, plus principals naming it in member_of."""
        gkey = self.key(group_ref)
        group = self.get(self.ref(gkey))
        known = group is not None and "members" in group
        seen: dict[str, dict[str, Any]] = {}
        for m in (group or {}).get("members") or []:
            ref = m.get("sid") or m.get("name") or ""
            if ref:
                seen.setdefault(self.key(ref), m)
        for p in self.snap.data.get("principals") or []:
            for g in p.get("member_of") or []:
                if self.key(g) == gkey:
                    known = True
                    ref = p.get("sid") or p.get("name") or ""
                    if ref:
                        # The principal itself, not a copy: a finding `at=` a dict that is not in the
                        # document made the pointer index walk (and hold) the whole snapshot (#18).
                        seen.setdefault(self.key(ref), p)
        return known, list(seen.values())

    def membership_captured(self) -> bool:
        """Whether any group membership was captured (a `members` list on a group, or `member_of` on anyone)."""
        return any("members" in p or "member_of" in p for p in self.snap.data.get("principals") or [])

    def group_enumerated(self, group: PrivilegedGroup | str) -> bool:
        """Whether 'not a member of this group' can be judged from the capture.

        True when the group's members were captured, or when the host's local groups were listed in
        full (`local_accounts.groups_listed`) and this one is not among them (Account Operators on a
        member server). A capture of `net localgroup Administrators` alone says nothing about Backup
        Operators: its members are unknown, not none.
        """
        if isinstance(group, PrivilegedGroup):
            refs = [group.sid] if group.sid else list(group.names)
        else:
            refs = [group]
        for ref in refs:
            if ref and self.members_known(ref):
                return True
        if self.local_groups_listed():
            return all(self.get(ref) is None for ref in refs if ref)
        return False

    def local_groups_listed(self) -> bool:
        """Whether the capture listed every local group of the host (`net localgroup`, `Get-LocalGroup`)."""
        facts = self.snap.data.get("local_accounts")
        if isinstance(facts, Mapping) and "groups_listed" in facts:
            return facts.get("groups_listed") is True
        return False

    def _matches(self, key: str, wanted: Sequence[PrivilegedGroup]) -> PrivilegedGroup | None:
        if key.startswith("name:"):
            bare_name = names.bare(key[5:])
            return next((g for g in wanted if bare_name in g.folded), None)
        rid = sids.domain_rid(key)
        for g in wanted:
            if g.sid == key or (g.rid is not None and rid == g.rid):
                return g
        p = self.get(key)
        if p and p.get("name"):
            bare_name = names.bare(str(p["name"]))
            return next((g for g in wanted if bare_name in g.folded), None)
        return None

    def membership(
        self,
        refs: str | Sequence[str],
        groups: Iterable[PrivilegedGroup] | None = None,
        *,
        judge_ad: bool = True,
    ) -> Membership:
        """Whether the principals (an account, then groups its token also carries) are in `groups`.

        `groups` defaults to every entry of PRIVILEGED_GROUPS. Membership is transitive. The answer is
        unknown when a wanted local group's members were not captured, or (with `judge_ad`) when the
        first principal is a domain account without Active Directory data.
        """
        refs = [refs] if isinstance(refs, str) else list(refs)
        wanted = (
            groups
            if isinstance(groups, tuple)
            else tuple(groups)
            if groups is not None
            else PRIVILEGED_GROUPS
        )
        # Rules pass the same tuple for every resource: key the caches on it (kept alive in _by_groups, so its
        # id is not reused while cached) instead of hashing twenty group records per question.
        held = self._by_groups.get(id(wanted))
        if held is None or held[0] is not wanted:
            unknown = tuple(
                self.display(g.sid) if g.sid else g.label
                for g in wanted
                if g.scope == "local" and not self.group_enumerated(g)
            )
            held = self._by_groups[id(wanted)] = (wanted, unknown, {}, {})
        answers = held[2]
        cache_key = (tuple(refs), judge_ad)
        cached = answers.get(cache_key)
        if cached is not None:
            return cached
        parts = held[3]
        hits: dict[str, None] = {}
        labels: dict[str, None] = {}
        first_key = self.key(refs[0]) if refs else ""
        for ref in refs:
            key = self.key(ref)
            # What one principal adds depends on it alone (and on whether it is the first): IIS_IUSRS,
            # asked with each of 5,000 pool identities, is walked once.
            part = parts.get((ref, key, key == first_key))
            if part is None:
                part = parts[ref, key, key == first_key] = self._membership_part(
                    ref, key, key != first_key, wanted
                )
            for hit, label in part:
                hits.setdefault(hit, None)
                labels.setdefault(label, None)
        unknown = held[1]
        needs_ad: tuple[str, ...] = ()
        if judge_ad and refs and self.is_domain(refs[0]) and not self.has_ad_data(refs[0]):
            needs_ad = (refs[0],)
        result = Membership(tuple(hits), unknown, needs_ad, tuple(labels))
        answers[cache_key] = result
        return result

    def _membership_part(
        self, ref: str, key: str, through_ref: bool, wanted: Sequence[PrivilegedGroup]
    ) -> tuple[tuple[str, str], ...]:
        """(what to show, group label) for each wanted group `ref` is in; `through_ref` names `ref` in
        the path (a principal after the first: a group the account's token carries)."""
        found = []
        for g, through in self._paths(key).items():
            entry = self._matches(g, wanted)
            if entry is None:
                continue
            shown = self.display(g)
            path = []
            if through is not None:
                path.append(self.display(through))
            if through_ref:
                path.append(self.display(ref))
            found.append((f"{shown} (through {', '.join(path)})" if path else shown, entry.label))
        return tuple(found)


def ref_of(key: str) -> str:
    """A principal key turned back into a reference (`name:corp\\x` -> `corp\\x`; SIDs unchanged)."""
    return key[5:] if key.startswith("name:") else key


# --- who counts as "everyone" or as an administrator ------------------------------------------------
BROAD_NAMES = frozenset({"domain users", "domain computers", "domain guests"})
ADMIN_DOMAIN_RIDS = frozenset({sids.RID_DOMAIN_ADMINS, sids.RID_ENTERPRISE_ADMINS, sids.RID_SCHEMA_ADMINS})


def is_broad(key: str) -> bool:
    """Everyone, Authenticated Users, Users, Guests, Anonymous, Domain Users/Computers/Guests (a principal key)."""
    if key in sids.BROAD_PRINCIPALS:
        return True
    rid = sids.domain_rid(key) if key.startswith("S-") else None
    if rid in sids.BROAD_DOMAIN_RIDS:
        return True
    account = key.rsplit("\\", 1)[-1] if key.startswith("name:") else ""
    return account in BROAD_NAMES


def is_admin(key: str) -> bool:
    """SYSTEM, Administrators, or Domain/Enterprise/Schema Admins (a principal key)."""
    if key in (sids.ADMINISTRATORS, sids.LOCAL_SYSTEM):
        return True
    rid = sids.domain_rid(key) if key.startswith("S-") else None
    if rid in ADMIN_DOMAIN_RIDS:
        return True
    if key.startswith("name:"):
        g = _GROUP_BY_NAME.get(names.bare(key[5:]))
        return g is not None and g.label in ("Domain Admins", "Enterprise Admins", "Schema Admins")
    return False

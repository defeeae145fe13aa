"""The declared snapshot: what build scripts state about a server, each fact at its script line.

A build script (PowerShell, a batch file with appcmd, a DSC configuration, an Ansible task) is read
statically, never run, into the same snapshot model a captured server fills, so the same rules judge
it. The snapshot says ``collection.source: declared``; every object carries ``evidence: {artifact,
line}`` at the script line that states it, and a section is ``ok`` only when some script stated a
fact of it (the others are ``absent``: the scripts do not say, and the rules that need them are
``not_applicable`` for a declared snapshot, not ``not_reviewed``).

Script parsers share one :class:`Declared` per import (``Declared.of(builder)``) and call its methods
with plain values: a ``str`` (or ``bool``) the script states literally, :class:`Unresolved` for a value
the script computes at run time (``$cred`` from ``Get-Credential``, a file read, a vault lookup), and
``None`` for "not stated". An unresolved value is recorded as unknown (``declared.unresolved[]``),
never guessed. A password is never passed here: parsers say whether one is written literally in the
script (``password=LITERAL``, or ``Literal(at)`` naming the line holding its text) or comes from elsewhere (``Unresolved``); a literal one is recorded as
``declared.secrets[]`` with its place and context, never its text.

The parser pattern for a script kind (see ``capture/scripts/powershell.py``)::

    class MyScriptParser:
        kind = "my_script"
        declared = True            # a build script: read before pastes are cut, never mixed with captures
        sections = ()              # Declared decides the sections from what was stated
        def detect(self, head, name): ...
        def parse(self, artifact, builder):
            d = Declared.of(builder)
            d.pool_identity("Payroll", d.at(artifact, 12), identity_type="LocalSystem")

    @hookimpl
    def iisguard_register_parsers(): return [MyScriptParser()]

and the module is listed in ``capture/registry.py`` MODULES (``"scripts.my_script"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...model import sids
from ...redact import printable, redact
from ..base import Artifact, Builder

SOURCE = "declared"
# What a section holds in a declared snapshot, and its message when no script stated any of it.
NOT_STATED = "not stated by the build scripts"


@dataclass(frozen=True)
class Unresolved:
    """A value the script computes at run time; `reason` says from what (`$cred from Get-Credential`).

    `prefix` is the literal text of an argument before its unknown part (`/processModel.password:` of
    `/processModel.password:%PW%`), so a program's switch is still recognised."""

    reason: str
    prefix: str = ""


@dataclass(frozen=True)
class Literal:
    """A password written literally in a script; `at` is the line holding its text when that is not the
    line of the statement that uses it (`$pw = 'x'` ... `-Password $pw`). The text itself is never kept."""

    at: At | None = None


LITERAL = Literal()
Value = str | Unresolved | None
Secret = Literal | Unresolved | None


class Text(str):
    """A string a script writes literally, remembering where (`$pw = 'x'`): a secret found later is
    reported at the line that holds it."""

    at: At | None = None

    @classmethod
    def of(cls, value: str, at: At | None) -> Text:
        made = cls(value)
        made.at = at
        return made


@dataclass(frozen=True)
class At:
    """Where a script states a fact: the artifact and its 1-based line."""

    artifact: Artifact
    line: int | None

    def evidence(self) -> dict[str, Any]:
        return {"artifact": self.artifact.path, "line": self.line}


# identityType as IIS stores it (processModel.identityType; appcmd and Set-ItemProperty take the number
# or the name): https://learn.microsoft.com/iis/configuration/system.applicationhost/applicationpools/add/processmodel
IDENTITY_TYPES = {
    "0": "LocalSystem",
    "1": "LocalService",
    "2": "NetworkService",
    "3": "SpecificUser",
    "4": "ApplicationPoolIdentity",
    "localsystem": "LocalSystem",
    "localservice": "LocalService",
    "networkservice": "NetworkService",
    "specificuser": "SpecificUser",
    "applicationpoolidentity": "ApplicationPoolIdentity",
}


def to_identity_type(value: str) -> str | None:
    """The snapshot's identity type for a number or name a script gives (`3`, `LocalSystem`), or None."""
    return IDENTITY_TYPES.get(str(value).strip().strip("'\"").casefold())


class Declared:
    """Accumulates what every script of one import states, onto the importer's Builder."""

    def __init__(self, builder: Builder) -> None:
        self.b = builder
        self.stated: set[str] = set()  # sections some script stated a fact of
        self._pools: dict[str, dict[str, Any]] = {}
        self._pending_pools: dict[str, dict[str, Any]] = {}  # pools whose identity type is not stated yet
        self._sites: dict[str, dict[str, Any]] = {}
        self._acls: dict[str, dict[str, Any]] = {}
        self._auth: dict[str, dict[str, Any]] = {}
        self._secret_at: set[tuple[str, int | None]] = set()
        self._ad_accounts: list[dict[str, Any]] = []
        self.finished = False

    @classmethod
    def of(cls, builder: Builder) -> Declared:
        """The import's Declared (created on first use), shared by every script parser."""
        found = getattr(builder, "declared", None)
        if not isinstance(found, Declared):
            found = cls(builder)
            builder.declared = found
        return found

    @staticmethod
    def at(artifact: Artifact, line: int | None) -> At:
        return At(artifact, line)

    # -- bookkeeping ---------------------------------------------------------------------------
    def _section(self, name: str) -> None:
        self.stated.add(name)

    def _declared(self) -> dict[str, Any]:
        return self.b.data.setdefault("declared", {})

    def unresolved(self, at: At, what: str, reason: str) -> None:
        """A value the script states but computes at run time: recorded as unknown, never guessed."""
        entry = {
            "what": printable(redact(what)),
            "reason": printable(redact(reason)),
            "evidence": at.evidence(),
        }
        self._declared().setdefault("unresolved", []).append(entry)

    @staticmethod
    def _mark(obj: dict[str, Any] | None, field: str) -> None:
        """The object states `field` but its value is computed at run time: rules on it are not_reviewed."""
        if obj is not None and field not in obj.setdefault("unresolved", []):
            obj["unresolved"].append(field)

    @staticmethod
    def _unmark(obj: dict[str, Any], field: str) -> None:
        if field in obj.get("unresolved", ()):
            obj["unresolved"].remove(field)
            if not obj["unresolved"]:
                del obj["unresolved"]

    def literal_secret(self, at: At, context: str) -> None:
        """A secret written in clear in the script (`ConvertTo-SecureString 'x' -AsPlainText`, `/password:x`).

        Only where it is and what it is for are kept; one entry per script line.
        """
        key = (at.artifact.path, at.line)
        if key in self._secret_at:
            return
        self._secret_at.add(key)
        # The context is iisguard's own words and names (never a value), so it is not redacted: the
        # redactor would take `-AsPlainText` for a password switch and mask the words after it.
        entry = {"context": printable(context), "evidence": at.evidence()}
        self._declared().setdefault("secrets", []).append(entry)

    def _secret(self, at: At, secret: Secret, context: str, what: str) -> dict[str, Any] | None:
        if secret is None:
            return None
        if isinstance(secret, Unresolved):
            self.unresolved(at, what, secret.reason)
        else:
            self.literal_secret(secret.at or at, context)
        # How IIS stores it is up to the server (appcmd and the IIS provider encrypt it): not stated.
        return {"present": True}

    # -- IIS: application pools ----------------------------------------------------------------
    def app_pool(self, name: str, at: At, **settings: Any) -> dict[str, Any] | None:
        """A pool the script creates (New-WebAppPool, `appcmd add apppool`, WebAppPool).

        A pool created without an identity gets IIS's default, ApplicationPoolIdentity
        (applicationPoolDefaults on IIS 7.5+), unless the script sets the defaults. `settings` are
        snapshot keys of the pool (`auto_start`, `managed_runtime_version`, `load_user_profile`, ...).
        Returns the pool when its identity type is known.
        """
        pool = self._pools.get(name.casefold())
        if pool is None:
            pending = self._pending_pools.pop(name.casefold(), None)
            pool = {"name": name, "identity": {"type": "ApplicationPoolIdentity"}, "evidence": at.evidence()}
            if pending:  # identity details stated before the type: keep them
                pool["identity"].update({k: v for k, v in pending["identity"].items() if k != "type"})
                pool.update({k: v for k, v in pending.items() if k not in ("name", "identity")})
            self._add_pool(pool)
        self._settings(pool, settings)
        return pool

    def _add_pool(self, pool: dict[str, Any]) -> None:
        self._pools[pool["name"].casefold()] = pool
        self.b.data.setdefault("iis", {}).setdefault("app_pools", []).append(pool)
        self._section("iis")

    @staticmethod
    def _settings(pool: dict[str, Any], settings: dict[str, Any]) -> None:
        for key, value in settings.items():
            if value is not None and not isinstance(value, Unresolved):
                pool[key] = value

    def pool_identity(
        self,
        name: str,
        at: At,
        *,
        identity_type: Value = None,
        user: Value = None,
        password: Secret = None,
    ) -> None:
        """processModel of a pool: identityType (a number or a name), userName, password."""
        kind: str | None = None
        if isinstance(identity_type, Unresolved):
            self.unresolved(at, f"application pool '{name}' identityType", identity_type.reason)
            self._mark(self._pools.get(name.casefold()), "identity.type")
        elif identity_type is not None:
            kind = to_identity_type(identity_type)
            if kind is None:
                self.unresolved(
                    at, f"application pool '{name}' identityType", f"unknown value {identity_type!r}"
                )
        pool = self._pools.get(name.casefold())
        if pool is None and kind is not None:
            pool = self.app_pool(name, at)
        target = (
            pool
            if pool is not None
            else self._pending_pools.setdefault(
                name.casefold(), {"name": name, "identity": {}, "evidence": at.evidence()}
            )
        )
        identity = target["identity"]
        if kind is not None:
            identity["type"] = kind
            if kind != "SpecificUser":
                identity.pop("user", None)
                identity.pop("password", None)
            target["evidence"] = at.evidence()  # rules on the identity point at the line that set it
        if isinstance(user, Unresolved):
            self.unresolved(at, f"application pool '{name}' userName", user.reason)
            identity.pop("user", None)
            self._mark(target, "identity.user")
            target["evidence"] = at.evidence()
        elif user:
            identity["user"] = user
            self._unmark(target, "identity.user")
            target["evidence"] = at.evidence()
        stored = self._secret(
            at, password, f"password of application pool '{name}'", f"application pool '{name}' password"
        )
        if stored is not None:
            identity["password"] = stored

    def pool_settings(self, name: str, at: At, **settings: Any) -> None:
        """Other pool attributes the script sets on an existing pool (auto_start, load_user_profile, ...)."""
        pool = self._pools.get(name.casefold()) or self._pending_pools.setdefault(
            name.casefold(), {"name": name, "identity": {}, "evidence": at.evidence()}
        )
        self._settings(pool, settings)

    # -- IIS: sites, applications, virtual directories -------------------------------------------
    def site(
        self,
        name: str,
        at: At,
        *,
        physical_path: Value = None,
        app_pool: Value = None,
        bindings: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A site (New-Website, `appcmd add site`): its root application and virtual directory."""
        site = self._sites.get(name.casefold())
        if site is None:
            site = {"name": name, "bindings": [], "applications": [], "evidence": at.evidence()}
            self._sites[name.casefold()] = site
            self.b.data.setdefault("iis", {}).setdefault("sites", []).append(site)
            self._section("iis")
        if bindings:
            site["bindings"].extend(bindings)
        if physical_path is not None or app_pool is not None:
            self.application(name, "/", at, physical_path=physical_path, app_pool=app_pool)
        return site

    def application(
        self, site: str, path: str, at: At, *, physical_path: Value = None, app_pool: Value = None
    ) -> dict[str, Any]:
        """An application of a site (New-WebApplication, `appcmd add app`) and its root virtual directory."""
        owner = self.site(site, at)
        path = "/" + path.strip("/") if path.strip("/") else "/"
        app = next((a for a in owner["applications"] if a["path"].casefold() == path.casefold()), None)
        if app is None:
            app = {"path": path, "virtual_directories": [], "evidence": at.evidence()}
            owner["applications"].append(app)
        if isinstance(app_pool, Unresolved):
            self.unresolved(at, f"application pool of '{site}{path}'", app_pool.reason)
            self._mark(app, "app_pool")
        elif app_pool:
            app["app_pool"] = app_pool
            self._unmark(app, "app_pool")
        if physical_path is not None:
            self.virtual_directory(site, path, "/", at, physical_path=physical_path)
        return app

    def virtual_directory(self, site: str, app_path: str, path: str, at: At, *, physical_path: Value) -> None:
        """A virtual directory and where its content lives (the content root the ACL rules judge)."""
        app = self.application(site, app_path, at)
        vpath = "/" + path.strip("/") if path.strip("/") else "/"
        vdir = next((v for v in app["virtual_directories"] if v["path"].casefold() == vpath.casefold()), None)
        if vdir is None:
            vdir = {"path": vpath, "evidence": at.evidence()}
            app["virtual_directories"].append(vdir)
        if isinstance(physical_path, Unresolved):
            self.unresolved(
                at, f"physical path of '{site}{app['path'].rstrip('/')}{vpath}'", physical_path.reason
            )
            self._mark(vdir, "physical_path")
        elif physical_path:
            vdir["physical_path"] = physical_path
            self._unmark(vdir, "physical_path")

    # -- IIS: anonymous authentication -----------------------------------------------------------
    def anonymous(
        self,
        location: str,
        at: At,
        *,
        enabled: bool | None = None,
        user: Value = None,
        password: Secret = None,
    ) -> None:
        """anonymousAuthentication at a configuration path ("" for the server, `Site`, `Site/app`)."""
        entry = self._auth.get(location.casefold())
        if entry is None:
            entry = {"location": location, "anonymous": {}, "evidence": at.evidence()}
            self._auth[location.casefold()] = entry
            self.b.data.setdefault("iis", {}).setdefault("authentication", []).append(entry)
            self._section("iis")
        anon = entry["anonymous"]
        entry["evidence"] = anon["evidence"] = at.evidence()
        if enabled is not None:
            anon["enabled"] = enabled
        if isinstance(user, Unresolved):
            self.unresolved(at, f"anonymous user at '{location or 'server'}'", user.reason)
            self._mark(entry, "anonymous.user")
            self._mark(anon, "user")
        elif user is not None:
            anon["user"] = user
            anon["user_state"] = "set" if user else "empty"
            self._unmark(entry, "anonymous.user")
            self._unmark(anon, "user")
        stored = self._secret(
            at,
            password,
            f"password of the anonymous user at '{location or 'server'}'",
            f"anonymous user password at '{location or 'server'}'",
        )
        if stored is not None:
            anon["password"] = stored

    # -- accounts --------------------------------------------------------------------------------
    def local_user(self, name: str, at: At, *, password: Secret = None, **facts: Any) -> dict[str, Any]:
        """A local account the script creates or changes (New-LocalUser, `net user /add`).

        `facts` are principal keys (`enabled`, `password_never_expires`, `password_required`, ...).
        """
        self._secret(at, password, f"password of local user '{name}'", f"local user '{name}' password")
        entry = self.b.principal(name, kind="local_user", evidence=at.evidence(), **_known(facts))
        self._section("local_accounts")
        self._section("principals")
        return entry

    def local_group(self, name: str, at: At) -> dict[str, Any]:
        entry = self.b.principal(name, kind=None if _builtin(name) else "local_group", evidence=at.evidence())
        self._section("local_accounts")
        self._section("principals")
        return entry

    def group_member(self, group: str, member: str, at: At) -> None:
        """`member` added to local group `group` (Add-LocalGroupMember, `net localgroup G M /add`).

        An addition, not the group's whole membership: the group's other members are not stated.
        """
        grp = self.local_group(group, at)
        ref = grp.get("sid") if grp.get("sid", "").startswith("S-1-5-32-") else grp.get("name")
        self.b.principal(member, evidence=at.evidence(), member_of=[ref])

    def domain_account(self, name: str, at: At, **facts: Any) -> dict[str, Any]:
        """Facts an AD script sets on an account (Set-ADUser -PasswordNeverExpires, ...)."""
        # `ad_collected` on a declared snapshot: the scripts state AD facts of this account (the ones
        # they do not state stay null), so the AD rules judge what they state.
        known = _known(facts)
        # Only the attributes the scripts set are "captured": the AD rules cannot tell the others
        # (model.accounts.AD_FACTS), so an unstated msDS-SupportedEncryptionTypes is not read as unset.
        attributes = [_AD_ATTRIBUTES[k] for k in known if k in _AD_ATTRIBUTES]
        entry = self.b.principal(
            name, evidence=at.evidence(), ad_collected=True, ad_attributes=attributes, **known
        )
        if entry.get("kind") in (None, "unknown"):
            entry["kind"] = "domain_user"
        self._ad_accounts.append(entry)
        self._section("ad")
        self._section("principals")
        return entry

    def delegation(self, name: str, at: At, **flags: Any) -> None:
        """Delegation flags (Set-ADAccountControl -TrustedForDelegation: `unconstrained`;
        -TrustedToAuthForDelegation: `protocol_transition`; `constrained_to=[...]`)."""
        entry = self.domain_account(name, at)
        attributes = entry.setdefault("ad_attributes", [])
        attributes.extend(
            _AD_ATTRIBUTES[k] for k, v in flags.items() if v is not None and k in _AD_ATTRIBUTES
        )
        delegation = entry.setdefault("delegation", {})
        for key, value in flags.items():
            if value is None:
                continue
            if isinstance(value, list):
                merged = delegation.setdefault(key, [])
                merged.extend(v for v in value if v not in merged)
            else:
                delegation[key] = value
        entry["evidence"] = at.evidence()

    # -- rights, ACLs, SPNs ----------------------------------------------------------------------
    def user_right(self, right: str, holder: str, at: At) -> None:
        """A user right granted (ntrights +r, secedit INF, Carbon Grant-CPrivilege, win_user_right)."""
        holders = self.b.data.setdefault("user_rights", {}).setdefault(right, [])
        where = self.b.data.setdefault("user_rights_evidence", {}).setdefault(right, [])
        sid = sids.well_known_sid(holder)
        value = sid or holder
        if value not in holders:
            holders.append(value)
            where.append(at.evidence())
        self.b.principal(holder, sid, evidence=at.evidence())
        self._section("user_rights")

    def acl_grant(
        self,
        path: str,
        principal: str,
        rights: list[str],
        at: At,
        *,
        inheritance: list[str] | tuple[str, ...] = (),
        deny: bool = False,
    ) -> None:
        """An ACE the script adds (`icacls P /grant U:(OI)(CI)M`, Set-Acl with a FileSystemAccessRule).

        Only the ACEs the scripts add are known: the path's other entries are not stated.
        """
        acl = self._acls.get(path.casefold())
        if acl is None:
            acl = {"path": path, "aces": [], "evidence": at.evidence()}
            self._acls[path.casefold()] = acl
            self.b.add_acl(acl)
        ace: dict[str, Any] = {"principal": principal}
        sid = sids.well_known_sid(principal)
        if sid:
            ace["sid"] = sid
        ace.update(
            type="deny" if deny else "allow",
            rights=list(rights),
            inherited=False,
            inheritance=[f for f in ("OI", "CI", "IO", "NP") if f in inheritance],
            evidence=at.evidence(),
        )
        acl["aces"].append(ace)
        self._section("acls")

    def spn(self, spn: str, account: str, at: At) -> None:
        """An SPN registered on an account (`setspn -S/-A`, Set-ADUser -ServicePrincipalNames @{Add=...})."""
        self.b.principal(account, evidence=at.evidence(), spns=[spn], ad_attributes=["serviceprincipalname"])
        self._section("spns")
        self._section("principals")

    # -- end -------------------------------------------------------------------------------------
    def finish(self) -> None:
        """Section statuses from what was stated (called once by the importer after every parser)."""
        if self.finished:
            return
        self.finished = True
        for pending in self._pending_pools.values():
            self._declared().setdefault("unresolved", []).append(
                {
                    "what": printable(redact(f"application pool '{pending['name']}' identityType")),
                    "reason": "the scripts set the pool's account or settings but not its identityType; "
                    "the pool is not in iis.app_pools",
                    "evidence": pending["evidence"],
                }
            )
        if self._ad_accounts:
            ad = self.b.data.setdefault("ad", {})
            ad["collected"] = True
            names = [str(p.get("name")) for p in self.b.principals if p.get("ad_collected") and p.get("name")]
            ad["accounts"] = list(dict.fromkeys(names))
        if self.b.principals:
            self._section("principals")
        _plain(self.b.data)
        _plain(self.b.principals)
        for name in sorted(self.stated):
            self.b.section(name, "ok")


def _plain(value: Any) -> None:
    """Texts that remember their line become plain strings: the snapshot holds JSON values only."""
    if isinstance(value, dict):
        for key in [k for k in value if isinstance(k, Text)]:
            value[str.__str__(key)] = value.pop(key)
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in list(items):
        if isinstance(item, Text):
            value[key] = str.__str__(item)
        elif isinstance(item, (dict, list)):
            _plain(item)


# The AD attribute (model.accounts.AD_FACTS spelling) behind each fact a script may set.
_AD_ATTRIBUTES = {
    "password_never_expires": "passwordneverexpires",
    "password_required": "passwordnotrequired",
    "enabled": "enabled",
    "unconstrained": "trustedfordelegation",
    "protocol_transition": "trustedtoauthfordelegation",
    "sensitive_not_delegated": "accountnotdelegated",
    "constrained_to": "msdsallowedtodelegateto",
}


def _known(facts: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in facts.items() if v is not None and not isinstance(v, Unresolved)}


def _builtin(name: str) -> bool:
    return bool((sids.well_known_sid(name) or "").startswith("S-1-5-32-"))

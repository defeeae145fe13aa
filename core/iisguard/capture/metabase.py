"""IIS 6 metabase.xml: the anonymous and IWAM accounts, isolation mode, pool identities, stored secrets,
and the authentication of every configured path.

Properties inherit down the metabase path (/LM/W3SVC -> /LM/W3SVC/1 -> /LM/W3SVC/1/ROOT ...), so an
application's pool and a pool's identity type come from the nearest ancestor that sets them. Secure
properties (AnonymousUserPass, WAMUserPass, UNCPassword) are recorded as present or not, every one of
them (`legacy.secrets`, with the key that holds it); metabase.xml holds them as hex blobs encrypted
with the metabase session key, and neither is kept.

AuthFlags (`AuthAnonymous | AuthNTLM` or its number, 5) and NTAuthenticationProviders become
`iis.authentication` entries, effective at each key that sets them or an anonymous account: the
service (location ""), a site (its ServerComment) and a site's virtual directories (`Site/path`).
A virtual directory's own AnonymousUserName/AnonymousUserPass are listed in `legacy.anonymous_users`.

Sites: every /LM/W3SVC/<n> web server becomes an `iis.sites` entry as applicationHost.config's do,
so the rules that judge IIS 7+ sites judge IIS 6 ones: its name (ServerComment), bindings
(ServerBindings, SecureBindings), its applications (ROOT and every key with AppRoot/AppIsolated,
with the pool AppPoolId names, inherited; none in IIS 5 isolation mode, which has no pools) and
their virtual directories (IIsWebVirtualDir keys with a Path, with the UNCUserName a UNC share is
reached as and whether its UNCPassword is stored).
"""

from __future__ import annotations

import re
from typing import Any

from ..hookspecs import hookimpl
from . import iisconf, xmlsafe
from .appconfig import split_binding
from .base import Artifact, Builder
from .xmlsafe import Node

SECRETS = {
    "AnonymousUserPass": "anonymous_password",
    "WAMUserPass": "wam_password",
    "UNCPassword": "unc_password",
}
IDENTITY_TYPES = {0: "LocalSystem", 1: "LocalService", 2: "NetworkService", 3: "SpecificUser"}
# AuthFlags bits (IIS 6 metabase property reference, "AuthFlags"): MD_AUTH_ANONYMOUS 0x1, MD_AUTH_BASIC
# 0x2, MD_AUTH_NT 0x4 (Integrated Windows), MD_AUTH_MD5 0x10 (Digest), MD_AUTH_PASSPORT 0x40.
AUTH_FLAGS = {"authanonymous": 0x1, "authbasic": 0x2, "authntlm": 0x4, "authmd5": 0x10, "authpassport": 0x40}
_SITE_KEY = re.compile(r"^/lm/w3svc/(\d+)(?:/root)?(/.*)?$")
DEFAULT_IDENTITY_TYPE = 2  # NetworkService, the IIS 6 default
_HEX = re.compile(r"^[0-9a-fA-F]{32,}$")
_PER_HOST_ACCOUNT = re.compile(r"^(?:.*\\)?I(?:USR|WAM)_(.+)$", re.IGNORECASE)


def _secret(value: str) -> dict[str, Any]:
    if not value.strip():
        return {"present": False}
    return {"present": True, "encrypted": bool(_HEX.match(value.strip())), "provider": None}


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None and value.strip() != "" else None
    except ValueError:
        return None


def auth_flags(value: str | None) -> int | None:
    """AuthFlags as written in metabase.xml (`AuthAnonymous | AuthNTLM`) or as a number (`5`, `0x5`)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return int(text, 0)
    except ValueError:
        pass
    bits = 0
    for word in re.split(r"[|,\s]+", text):
        if word:
            bit = AUTH_FLAGS.get(word.casefold())
            if bit is None:
                return None
            bits |= bit
    return bits


class _Properties:
    """Metabase keys by Location, with their properties (attributes plus <Custom Name= Value=>)."""

    def __init__(self, root: Node) -> None:
        self.keys: dict[str, tuple[Node, dict[str, str]]] = {}
        self.order: list[str] = []
        for node in root.iter():
            location = node.get("Location")
            if location is None:
                continue
            props = {k: v for k, v in node.attrs.items() if k != "Location"}
            for custom in node.all("Custom"):
                if custom.get("Name"):
                    props[custom.get("Name") or ""] = custom.get("Value") or ""
            key = location.strip().rstrip("/").casefold() or "/"
            if key not in self.keys:
                self.order.append(key)
            self.keys[key] = (node, props)

    def inherited(self, key: str, name: str) -> str | None:
        parts = key.split("/")
        for i in range(len(parts), 0, -1):
            found = self.keys.get("/".join(parts[:i]))
            if found is not None and name in found[1]:
                return found[1][name]
        return None


class MetabaseParser:
    """IIS 6 (and IIS 5.1 exported) metabase.xml."""

    kind = "metabase_xml"
    sections = ("iis",)

    def detect(self, head: str, name: str) -> float:
        if "XML_Metabase" in head or "<MBProperty" in head:
            return 0.95
        if "<IIsWebService" in head or "<IIsWebVirtualDir" in head:
            return 0.8
        return 0.0

    def parse(self, artifact: Artifact, builder: Builder) -> None:
        text = artifact.text()
        root = xmlsafe.load(artifact, builder, text)
        lines = text.splitlines()
        props = _Properties(root)
        if not props.keys:
            builder.warn(artifact, root.line, "no metabase keys (elements with Location=) found")
            return

        def line_of(node: Node, name: str) -> int:
            """The line holding `name=` inside the element (metabase.xml puts one attribute per line)."""
            pattern = re.compile(rf"(^|\s){re.escape(name)}\s*=")
            for i in range(node.line - 1, min(len(lines), node.line + 400)):
                if pattern.search(lines[i]):
                    return i + 1
                if (
                    i >= node.line
                    and lines[i].lstrip().startswith("<")
                    and not lines[i].lstrip().startswith("<Custom")
                ):
                    break
            return node.line

        def ev(node: Node, name: str | None = None) -> dict[str, Any]:
            return {"artifact": artifact.path, "line": line_of(node, name) if name else node.line}

        service = props.keys.get("/lm/w3svc")
        service_node, service_props = service if service else (root, {})
        legacy: dict[str, Any] = {"evidence": ev(service_node)}

        def first_set(name: str) -> tuple[str, Node] | None:
            if name in service_props:
                return service_props[name], service_node
            for key in props.order:
                node, p = props.keys[key]
                if p.get(name):
                    return p[name], node
            return None

        for prop, field in (("AnonymousUserName", "anonymous_user"), ("WAMUserName", "wam_user")):
            found = first_set(prop)
            legacy[field] = found[0] if found else None
            if found and found[0]:
                iisconf.note_principal(builder, artifact, found[0], line_of(found[1], prop))
                m = _PER_HOST_ACCOUNT.match(found[0])
                if m:
                    builder.suggest_host(m.group(1).upper())
        secrets: list[dict[str, Any]] = []
        for prop, field in SECRETS.items():
            present = [
                (p[prop], node) for node, p in (props.keys[k] for k in props.order) if p.get(prop, "").strip()
            ]
            if present:
                legacy[field] = _secret(present[0][0])
                legacy.setdefault("secret_evidence", ev(present[0][1], prop))
            else:
                legacy[field] = {"present": False}
            for value, node in present:  # every one, not only the first of its kind
                secrets.append(
                    {
                        "property": prop,
                        "location": node.get("Location") or "",
                        "password": _secret(value),
                        "evidence": ev(node, prop),
                    }
                )
        if secrets:
            secrets.sort(key=lambda x: x["evidence"]["line"])
            legacy["secrets"] = secrets
        isolation = service_props.get("IIs5IsolationModeEnabled")
        legacy["iis5_isolation_mode"] = iisconf.parse_bool(isolation) if isolation is not None else False
        pools_key = props.keys.get("/lm/w3svc/apppools")
        pools_default = _int(pools_key[1].get("AppPoolIdentityType")) if pools_key else None
        legacy["app_pool_identity_type"] = (
            pools_default if pools_default is not None else DEFAULT_IDENTITY_TYPE
        )
        legacy["app_pools"] = []
        legacy["applications"] = []
        for key in props.order:
            node, p = props.keys[key]
            if key.startswith("/lm/w3svc/apppools/") and node.tag == "IIsApplicationPool":
                name = (node.get("Location") or "").rstrip("/").rsplit("/", 1)[-1]
                identity = _int(props.inherited(key, "AppPoolIdentityType"))
                if identity is None:
                    identity = legacy["app_pool_identity_type"]
                wam = props.inherited(key, "WAMUserName") if identity == 3 else None
                pool = {"name": name, "identity_type": identity, "wam_user": wam, "evidence": ev(node)}
                legacy["app_pools"].append(pool)
                if wam:
                    iisconf.note_principal(builder, artifact, wam, line_of(node, "WAMUserName"))
            elif "AppIsolated" in p or "AppRoot" in p:
                legacy["applications"].append(
                    {
                        "path": node.get("Location") or key,
                        "isolation": _int(props.inherited(key, "AppIsolated")),
                        "app_pool": props.inherited(key, "AppPoolId") or "DefaultAppPool",
                        "evidence": ev(node, "AppIsolated" if "AppIsolated" in p else "AppRoot"),
                    }
                )
        iis = builder.data.setdefault("iis", {})
        auth, anonymous = _authentication(props, ev)
        if anonymous:
            legacy["anonymous_users"] = anonymous
        for entry in anonymous:
            iisconf.note_principal(builder, artifact, entry["user"], entry["evidence"]["line"])
        if auth:
            iis.setdefault("authentication", []).extend(auth)
        sites = _sites(props, ev, legacy["iis5_isolation_mode"], builder, artifact, line_of)
        if sites:
            known = {str(s.get("name", "")).casefold() for s in iis.get("sites") or []}
            iis.setdefault("sites", []).extend(s for s in sites if s["name"].casefold() not in known)
        iis["legacy"] = legacy
        iis.setdefault("version", "6.0")
        builder.host.setdefault("iis", {}).setdefault("version", "6.0")


def _location(props: _Properties, key: str) -> str | None:
    """The configuration path of a metabase key: "" for the service, the site's name, `Site/vdir`."""
    if key == "/lm/w3svc":
        return ""
    m = _SITE_KEY.match(key)
    if not m:
        return None
    name = _site_name(props, m.group(1))
    node = props.keys[key][0]
    original = (node.get("Location") or "").rstrip("/")
    rest = original[len(original) - len(m.group(2)) :] if m.group(2) else ""
    return name + rest


def _site_name(props: _Properties, number: str) -> str:
    site = props.keys.get(f"/lm/w3svc/{number}")
    return (site[1].get("ServerComment") if site else None) or f"W3SVC/{number}"


def _bindings(value: str | None, protocol: str, node: Node, ev: Any) -> list[dict[str, Any]]:
    """ServerBindings / SecureBindings: `IP:port:host` entries, one per line of the value (XML turns the
    line ends into spaces); SecureBindings often omit the host (`:443:`)."""
    out: list[dict[str, Any]] = []
    for info in (value or "").split():
        entry: dict[str, Any] = {"protocol": protocol, "binding_information": info}
        parts = split_binding(info if info.count(":") >= 2 else info + ":")
        if parts is not None:
            ip, port, host = parts
            entry["ip"], entry["port"], entry["host"] = ip or "*", port, host
        entry["evidence"] = ev(node, "ServerBindings" if protocol == "http" else "SecureBindings")
        out.append(entry)
    return out


def _sites(
    props: _Properties, ev: Any, iis5_mode: bool | None, builder: Builder, artifact: Artifact, line_of: Any
) -> list[dict[str, Any]]:
    """iis.sites from the metabase: sites, their applications and virtual directories (see the module doc)."""
    sites: dict[str, dict[str, Any]] = {}
    apps: dict[str, dict[str, Any]] = {}  # application key -> application (its key is under ROOT)
    for key in props.order:
        node, p = props.keys[key]
        m = re.match(r"^/lm/w3svc/(\d+)$", key)
        if m and (node.tag == "IIsWebServer" or "ServerBindings" in p or "ServerComment" in p):
            entry: dict[str, Any] = {"name": _site_name(props, m.group(1)), "id": int(m.group(1))}
            entry["bindings"] = _bindings(p.get("ServerBindings"), "http", node, ev) + _bindings(
                p.get("SecureBindings"), "https", node, ev
            )
            entry["applications"] = []
            log = props.inherited(key, "LogFileDirectory")
            if log:
                entry["log_directory"] = log
            entry["evidence"] = ev(node)
            sites[m.group(1)] = entry
    for key in props.order:  # applications first (ROOT and every AppRoot), so a vdir finds its nearest one
        node, p = props.keys[key]
        m = _SITE_KEY.match(key)
        if not m or m.group(1) not in sites or not key.startswith(f"/lm/w3svc/{m.group(1)}/root"):
            continue
        rest = (m.group(2) or "").rstrip("/")
        if rest and "AppRoot" not in p and "AppIsolated" not in p:
            continue
        original = (node.get("Location") or "").rstrip("/")
        path = original[len(original) - len(rest) :] if rest else "/"
        pool = None if iis5_mode else props.inherited(key, "AppPoolId") or "DefaultAppPool"
        app = {"path": path, "app_pool": pool, "virtual_directories": [], "evidence": ev(node)}
        apps[key] = app
        sites[m.group(1)]["applications"].append(app)
    for key in props.order:
        node, p = props.keys[key]
        m = _SITE_KEY.match(key)
        if not m or m.group(1) not in sites or "Path" not in p:
            continue
        owner = key
        while owner not in apps and "/" in owner:
            owner = owner.rsplit("/", 1)[0]
        holder = apps.get(owner)
        if holder is None:
            continue
        original = (node.get("Location") or "").rstrip("/")
        below = len(key) - len(owner)
        vdir: dict[str, Any] = {
            "path": original[len(original) - below :] if below else "/",
            "physical_path": p["Path"],
        }
        user = p.get("UNCUserName")
        if user:
            vdir["user"] = user
            iisconf.note_principal(builder, artifact, user, line_of(node, "UNCUserName"))
        if user or p.get("UNCPassword"):
            vdir["password"] = _secret(p.get("UNCPassword") or "")
        vdir["evidence"] = ev(node, "Path")
        holder["virtual_directories"].append(vdir)
    return list(sites.values())


def _authentication(props: _Properties, ev: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """iis.authentication entries (effective, inherited AuthFlags) and per-vdir anonymous accounts."""
    auth: list[dict[str, Any]] = []
    anonymous: list[dict[str, Any]] = []
    own = ("AuthFlags", "NTAuthenticationProviders", "AnonymousUserName", "AnonymousUserPass")
    for key in props.order:
        node, p = props.keys[key]
        location = _location(props, key)
        if location is None or not any(name in p for name in own):
            continue
        flags = auth_flags(props.inherited(key, "AuthFlags"))
        user = props.inherited(key, "AnonymousUserName")
        password = props.inherited(key, "AnonymousUserPass")
        where = "AuthFlags" if "AuthFlags" in p else next(n for n in own if n in p)
        entry: dict[str, Any] = {"location": location}
        anon: dict[str, Any] = {"enabled": bool(flags & 0x1) if flags is not None else None}
        if user is not None:
            anon["user"] = user
            anon["user_state"] = "set" if user.strip() else "empty"
        if password is not None:
            anon["password"] = _secret(password)
        anon["evidence"] = ev(node, where)
        entry["anonymous"] = anon
        if flags is not None:
            providers = props.inherited(key, "NTAuthenticationProviders")
            windows: dict[str, Any] = {"enabled": bool(flags & 0x4), "evidence": ev(node, where)}
            # IIS 6 authenticates in the worker process (kernel-mode authentication came with IIS 7), so
            # the pool identity decrypts Kerberos tickets.
            windows["use_kernel_mode"] = False
            windows["providers"] = [
                x.strip()
                for x in (providers if providers is not None else "Negotiate,NTLM").split(",")
                if x.strip()
            ]
            entry["windows"] = windows
            entry["basic"] = {"enabled": bool(flags & 0x2), "evidence": ev(node, where)}
            entry["digest"] = {"enabled": bool(flags & 0x10), "evidence": ev(node, where)}
        auth.append(entry)
        if key != "/lm/w3svc" and ("AnonymousUserName" in p or "AnonymousUserPass" in p):
            vdir: dict[str, Any] = {"location": location, "user": user or ""}
            vdir["password"] = _secret(password or "")
            vdir["evidence"] = ev(
                node, "AnonymousUserName" if "AnonymousUserName" in p else "AnonymousUserPass"
            )
            anonymous.append(vdir)
    return auth, anonymous


PARSERS = [MetabaseParser()]


@hookimpl
def iisguard_register_parsers() -> list[Any]:
    return PARSERS

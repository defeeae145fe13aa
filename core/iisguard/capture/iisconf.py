"""What the IIS configuration parsers share: secrets, booleans, configuration paths, and the resolver
that turns every `<location>` and web.config override into the authentication IIS would use.

IIS merges configuration path by path, from the server down (server, site, application, folder).
At each path, what a higher file says about it comes first (applicationHost.config's top level for
the server, its `<location path="Site/app">` for that path, a site web.config's `<location path="app">`),
then the web.config that sits at that path; so an application's web.config overrides an
applicationHost.config location tag for the same application. A web.config may only set a
section that is unlocked for its path (`overrideModeDefault` in `<configSections>`, changed by a
`<location overrideMode=...>` that contains the section); a locked section makes IIS answer 500.19,
so its settings never take effect. Attributes merge one by one; collections (`<providers>`,
certificate mappings) merge with `<add>`, `<remove>` and `<clear>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..model import sids
from .xmlsafe import Node

if TYPE_CHECKING:
    from .base import Artifact, Builder

# What the capture script writes instead of a clear-text secret, so the value never leaves the server.
REMOVED = "[iisguard:removed]"
_ENC = re.compile(r"^\[enc:([^:\]]*):(.*):enc\]$", re.DOTALL)

AUTH_SECTIONS = (
    "anonymousAuthentication",
    "windowsAuthentication",
    "basicAuthentication",
    "digestAuthentication",
    "clientCertificateMappingAuthentication",
    "iisClientCertificateMappingAuthentication",
)
IDENTITY = "identity"  # ASP.NET <system.web><identity>, from web.config files only
# IIS ships every authentication section with overrideModeDefault="Deny".
SHIPPED_OVERRIDE_MODE = "Deny"


def secret(value: str | None) -> dict[str, Any]:
    """`{present, encrypted, provider}` for a password attribute. The value itself is never kept."""
    if value is None or value.strip() == "":
        return {"present": False}
    m = _ENC.match(value.strip())
    if m:
        if not m.group(2):  # "[enc:AesProvider::enc]" is how IIS writes an empty secret
            return {"present": False}
        return {"present": True, "encrypted": True, "provider": m.group(1) or None}
    return {"present": True, "encrypted": False, "provider": None}


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def parse_bool(value: str | None) -> bool | None:
    """IIS booleans are case-insensitive "true"/"false"; None for absent or unreadable."""
    if value is None:
        return None
    v = value.strip().casefold()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    return None


def config_path(*parts: str) -> str:
    """A configuration path as people write it: "Default Web Site/app"; "" is the server level."""
    joined = "/".join(p.strip().replace("\\", "/") for p in parts if p is not None)
    segments = [s for s in joined.split("/") if s and s != "."]
    return "/".join(segments)


def path_key(path: str) -> str:
    return config_path(path).casefold()


def ancestors(key: str) -> list[str]:
    """ "" then each prefix of a key, ending with the key itself."""
    out = [""]
    if key:
        parts = key.split("/")
        out.extend("/".join(parts[: i + 1]) for i in range(len(parts)))
    return out


def depth(key: str) -> int:
    return 0 if not key else key.count("/") + 1


@dataclass
class Layer:
    """One section element that applies to a configuration path."""

    level: int  # 0: applicationHost.config; 1 + depth for a web.config at that depth
    depth: int
    order: int
    path: str  # display form
    section: str
    node: Node
    artifact: str
    child_apps: bool = True  # False: <location inheritInChildApplications="false">

    @property
    def rank(self) -> tuple[int, int, int]:
        # Path by path from the server down; at each path, location tags of higher files first,
        # then the web.config that sits at that path, then document order.
        return (self.depth, self.level, self.order)


@dataclass
class _Merged:
    attrs: dict[str, str] = field(default_factory=dict)
    providers: list[str] = field(default_factory=list)
    protection: dict[str, str] = field(default_factory=dict)
    one_to_one: dict[str, Node] = field(default_factory=dict)
    many_to_one: dict[str, Node] = field(default_factory=dict)
    evidence: dict[str, Any] | None = None
    touched: bool = False


def _merge_collection(items: dict[str, Node], parent: Node | None, key: str) -> None:
    if parent is None:
        return
    for c in parent.children:
        if c.tag == "clear":
            items.clear()
        elif c.tag == "add":
            items[(c.get(key) or "").casefold()] = c
        elif c.tag == "remove":
            items.pop((c.get(key) or "").casefold(), None)


def _apply(merged: _Merged, layer: Layer) -> None:
    node = layer.node
    merged.touched = True
    merged.attrs.update(node.attrs)
    merged.evidence = {"artifact": layer.artifact, "line": node.line}
    if layer.section == "windowsAuthentication":
        providers = node.child("providers")
        if providers is not None:
            for c in providers.children:
                value = c.get("value") or ""
                if c.tag == "clear":
                    merged.providers = []
                elif (
                    c.tag == "add"
                    and value
                    and value.casefold() not in {p.casefold() for p in merged.providers}
                ):
                    merged.providers.append(value)
                elif c.tag == "remove":
                    merged.providers = [p for p in merged.providers if p.casefold() != value.casefold()]
        protection = node.child("extendedProtection")
        if protection is not None:
            merged.protection.update(protection.attrs)
    elif layer.section == "iisClientCertificateMappingAuthentication":
        _merge_collection(merged.one_to_one, node.child("oneToOneMappings"), "certificate")
        _merge_collection(merged.many_to_one, node.child("manyToOneMappings"), "name")


def _flag(attrs: dict[str, str], name: str, default: bool) -> bool:
    value = parse_bool(attrs.get(name))
    return default if value is None else value


@dataclass
class IisState:
    """Shared by the applicationHost.config, web.config and metabase parsers of one import."""

    apphost: str | None = None  # the artifact the server configuration came from
    root_evidence: dict[str, Any] | None = None
    layers: dict[str, list[Layer]] = field(default_factory=dict)
    override_default: dict[str, str] = field(default_factory=dict)
    override_layers: dict[str, list[tuple[int, int, str, str]]] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)  # key -> display, sites and applications first
    app_keys: set[str] = field(default_factory=set)  # applications other than a site's root
    auth_known: bool = False  # the captured configuration includes server-level authentication
    path_evidence: dict[str, dict[str, Any]] = field(default_factory=dict)
    order: int = 0
    finished: bool = False

    def next_order(self) -> int:
        self.order += 1
        return self.order

    def add_layer(self, layer: Layer) -> None:
        self.layers.setdefault(path_key(layer.path), []).append(layer)

    def add_path(self, path: str, evidence: dict[str, Any] | None) -> None:
        key = path_key(path)
        if key not in self.paths:
            self.paths[key] = config_path(path)
        if evidence and key not in self.path_evidence:
            self.path_evidence[key] = evidence

    def override_mode(self, section: str, key: str) -> str:
        """Allow or Deny: may a web.config at this path set the section?"""
        mode = self.override_default.get(section, SHIPPED_OVERRIDE_MODE)
        for k in ancestors(key):
            for _depth, _order, sec, value in sorted(self.override_layers.get(k, ())):
                if sec == section and value in ("Allow", "Deny"):
                    mode = value
        return mode


def state(builder: Builder) -> IisState:
    """The IIS state of this import, kept on the builder (created on first use)."""
    found = vars(builder).get("_iisguard_iis")
    if found is None:
        found = IisState()
        vars(builder)["_iisguard_iis"] = found
    return found


def auth_sections(system_web_server: Node | None) -> list[Node]:
    """The authentication section elements under a <system.webServer> element."""
    if system_web_server is None:
        return []
    auth = system_web_server.find("security", "authentication")
    if auth is None:
        return []
    return [c for c in auth.children if c.tag in AUTH_SECTIONS]


def override_of(location: Node) -> str | None:
    mode = location.get("overrideMode")
    if mode:
        return mode.strip().capitalize()
    allow = parse_bool(location.get("allowOverride"))
    if allow is not None:
        return "Allow" if allow else "Deny"
    return None


# -- the resolved snapshot entries ---------------------------------------------------------------


def finish(builder: Builder) -> None:
    """Write iis.authentication: the effective settings of the server, every site, application and
    configured path. Runs once, after every artifact was parsed, whatever order they came in."""
    st = state(builder)
    if st.finished or st.apphost is None or not st.auth_known:
        return
    st.finished = True
    keys = list(st.paths)
    for key in sorted(st.layers):
        if key not in st.paths:
            first = st.layers[key][0]
            st.paths[key] = config_path(first.path)
            keys.append(key)
    if "" in keys:
        keys.remove("")
    keys.insert(0, "")
    st.paths.setdefault("", "")
    refused: set[int] = set()
    entries = []
    for key in keys:
        chain: list[Layer] = []
        for k in ancestors(key):
            chain.extend(st.layers.get(k, ()))
        chain.sort(key=lambda layer: layer.rank)
        merged: dict[str, _Merged] = {}
        for layer in chain:
            if not layer.child_apps and _crosses_application(st, path_key(layer.path), key):
                continue
            locked = (
                layer.level > 0
                and layer.section != IDENTITY
                and st.override_mode(layer.section, path_key(layer.path)) != "Allow"
            )
            if locked:
                if id(layer) not in refused:
                    refused.add(id(layer))
                    builder.warn(
                        layer.artifact,
                        layer.node.line,
                        f"web.config sets {layer.section} for '{layer.path or '(server)'}', but "
                        "applicationHost.config locks that section there (IIS answers HTTP 500.19); "
                        "the setting is ignored",
                    )
                continue
            _apply(merged.setdefault(layer.section, _Merged()), layer)
        entries.append(_entry(st, key, merged))
    iis = builder.data.setdefault("iis", {})
    iis["authentication"] = entries


def _crosses_application(st: IisState, layer_key: str, key: str) -> bool:
    """Is there an application boundary strictly below layer_key on the way down to key?"""
    return any(k in st.app_keys for k in ancestors(key) if len(k) > len(layer_key))


def _entry(st: IisState, key: str, merged: dict[str, _Merged]) -> dict[str, Any]:
    fallback = st.path_evidence.get(key) or st.root_evidence

    def ev(m: _Merged) -> dict[str, Any] | None:
        return m.evidence or fallback

    entry: dict[str, Any] = {"location": st.paths.get(key, key)}
    anon = merged.get("anonymousAuthentication", _Merged())
    a = anon.attrs
    if "userName" in a:
        user, user_state = a["userName"], ("empty" if a["userName"].strip() == "" else "set")
    else:
        user, user_state = "IUSR", "absent"
    entry["anonymous"] = {
        "enabled": _flag(a, "enabled", True),
        "user": user,
        "user_state": user_state,
        "password": secret(a.get("password")),
    }
    win = merged.get("windowsAuthentication", _Merged())
    w = win.attrs
    entry["windows"] = {
        "enabled": _flag(w, "enabled", False),
        "use_kernel_mode": _flag(w, "useKernelMode", True),
        "use_app_pool_credentials": _flag(w, "useAppPoolCredentials", False),
        "providers": list(win.providers),
        "extended_protection": win.protection.get("tokenChecking") or "None",
    }
    for name, section in (("basic", "basicAuthentication"), ("digest", "digestAuthentication")):
        m = merged.get(section, _Merged())
        entry[name] = {"enabled": _flag(m.attrs, "enabled", False)}
    iis_map = merged.get("iisClientCertificateMappingAuthentication", _Merged())
    ad_map = merged.get("clientCertificateMappingAuthentication", _Merged())
    one_to_one = list(iis_map.one_to_one.values())
    entry["client_certificate"] = {
        "enabled": _flag(iis_map.attrs, "enabled", False) or _flag(ad_map.attrs, "enabled", False),
        "one_to_one_mappings": len(one_to_one),
        "one_to_one_with_password": sum(1 for n in one_to_one if secret(n.get("password"))["present"]),
        "many_to_one_mappings": len(iis_map.many_to_one),
    }
    for name, m in (
        ("anonymous", anon),
        ("windows", win),
        ("basic", merged.get("basicAuthentication", _Merged())),
        ("digest", merged.get("digestAuthentication", _Merged())),
        ("client_certificate", iis_map if iis_map.touched else ad_map),
    ):
        evidence = ev(m)
        if evidence:
            entry[name]["evidence"] = evidence
    ident = merged.get(IDENTITY)
    if ident is not None:
        i = ident.attrs
        entry["impersonation"] = {
            "impersonate": _flag(i, "impersonate", False),
            "user": i.get("userName") or None,
            "password": secret(i.get("password")),
        }
        if ident.evidence:
            entry["impersonation"]["evidence"] = ident.evidence
    if fallback:
        entry["evidence"] = fallback
    return entry


def note_principal(builder: Builder, artifact: Artifact, user: str, line: int | None, **facts: Any) -> None:
    """Record an account named in IIS configuration (pool identity, anonymous, connect-as)."""
    if not user or not user.strip():
        return
    sid = sids.well_known_sid(user)
    builder.principal(
        name=(sids.name_of(sid) if sid else None) or user.strip(),
        sid=sid,
        sources=[artifact.path],
        evidence={"artifact": artifact.path, "line": line},
        **facts,
    )

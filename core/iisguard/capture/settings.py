"""The effective value of the IIS and ASP.NET settings hardening rules judge, per configuration path.

Resolved the way iisconf resolves authentication: path by path from the server down, at each path the
`<location>` tags of higher files first, then the web.config at that path; `inheritInChildApplications
="false"` stops a layer at the next application boundary; a web.config layer of a section that is
locked for its path (`overrideModeDefault` in `<configSections>`, `<location overrideMode=...>`) or an
attribute named in a higher layer's `lockAttributes` is ignored, as IIS ignores it (HTTP 500.19).
Attributes merge one by one; collections (`<add>`, `<remove>`, `<clear>`) merge by their key.

Written to `iis.settings[]`: for each section, one entry at the server ("") and one at every site,
application or configured path whose effective value differs from its parent's (the server's value
holds everywhere nothing overrides it), so a 5,000-site host that configures nothing per site has one
entry per section. Each attribute keeps the file and line that set it. The IIS schema defaults for
absent attributes are not written here: `iisguard.model.settings` applies them when asked.

Secrets never enter: `password`, machine keys and session-state connection strings become
`[iisguard:removed]` (an `AutoGenerate` key is kept: it says no fixed key is configured), and the
`<credentials>` of forms authentication are not read (webconfig counts them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .iisconf import REMOVED, Layer, ancestors, config_path, depth, parse_bool, path_key
from .xmlsafe import Node

if TYPE_CHECKING:
    from .base import Artifact, Builder

WEB_SERVER = "system.webServer"
SYSTEM_WEB = "system.web"
# Sections resolved per configuration path (server, site, application, folder).
PATH_SECTIONS = (
    tuple(
        f"{WEB_SERVER}/{name}"
        for name in (
            "asp",
            "directoryBrowse",
            "handlers",
            "httpErrors",
            "httpLogging",
            "httpProtocol",
            "proxy",
            "security/access",
            "security/dynamicIpSecurity",
            "security/isapiCgiRestriction",
            "security/requestFiltering",
            "staticContent",
            "webdav/authoring",
        )
    )
    + tuple(
        f"{SYSTEM_WEB}/{name}"
        for name in (
            "authentication",
            "compilation",
            "customErrors",
            "deployment",
            "httpCookies",
            "httpRuntime",
            "machineKey",
            "sessionState",
            "trace",
            "trust",
        )
    )
    + ("system.ftpServer/security/authentication",)
)
# Sections of <system.applicationHost>: sites and pools by name under their defaults, and the server's log.
SITES = "system.applicationHost/sites"
POOLS = "system.applicationHost/applicationPools"
LOG = "system.applicationHost/log"
GLOBAL_MODULES = "system.webServer/globalModules"
HOST_SECTIONS = (SITES, POOLS, LOG, GLOBAL_MODULES)
SECTIONS = PATH_SECTIONS + HOST_SECTIONS
_ROOTS = (WEB_SERVER, SYSTEM_WEB, "system.ftpServer")
# overrideModeDefault of each path section in applicationHost.config as IIS 10 ships it, for a pasted
# fragment without <configSections> (the whole file's own <configSections> wins).
SHIPPED_OVERRIDE = {
    f"{WEB_SERVER}/asp": "Deny",
    f"{WEB_SERVER}/directoryBrowse": "Allow",
    f"{WEB_SERVER}/handlers": "Deny",
    f"{WEB_SERVER}/httpErrors": "Allow",
    f"{WEB_SERVER}/httpLogging": "Deny",
    f"{WEB_SERVER}/httpProtocol": "Allow",
    f"{WEB_SERVER}/security/access": "Deny",
    f"{WEB_SERVER}/security/dynamicIpSecurity": "Deny",
    f"{WEB_SERVER}/security/isapiCgiRestriction": "Deny",
    f"{WEB_SERVER}/security/requestFiltering": "Allow",
    f"{WEB_SERVER}/staticContent": "Allow",
    f"{WEB_SERVER}/webdav/authoring": "Deny",
    "system.ftpServer/security/authentication": "Deny",
}
# Elements whose children are collection items even though they are not called <add>.
_ITEM_TAGS = {"mimeMap", "error", "scheme"}
_COLLECTION_OPS = {"add", "remove", "clear"}
# Attributes that configure the configuration system, not the setting.
_META = re.compile(r"^(lock\w*|xmlns(:.*)?|xdt:.*|configSource|configProtectionProvider)$", re.IGNORECASE)
_SECRET = {"password", "validationkey", "decryptionkey", "sqlconnectionstring", "stateconnectionstring"}
_SKIP_ELEMENTS = {"credentials"}  # forms credentials: user names and password hashes
_KEYS = ("name", "fileExtension", "verb", "segment", "path", "logFieldName", "value", "ipAddress", "url")


def _clean(name: str, value: str) -> str:
    if name.casefold() in _SECRET and not value.strip().casefold().startswith("autogenerate"):
        return REMOVED if value.strip() else ""
    if value.lstrip().startswith("[enc:"):
        return REMOVED
    return value


def _key(node: Node) -> str:
    if "statusCode" in node.attrs:  # httpErrors / customErrors items: status and sub-status
        return f"{node.attrs['statusCode']}.{node.attrs.get('subStatusCode', '-1')}"
    for k in _KEYS:
        if k in node.attrs:
            return node.attrs[k].strip().casefold()
    return ""


@dataclass
class _Value:
    """A section's merged value at one path."""

    attrs: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    items: dict[str, dict[str, tuple[dict[str, str], dict[str, Any]]]] = field(default_factory=dict)
    locked: set[str] = field(default_factory=set)
    evidence: dict[str, Any] | None = None

    def copy(self) -> _Value:
        return _Value(
            dict(self.attrs), {k: dict(v) for k, v in self.items.items()}, set(self.locked), self.evidence
        )

    def same(self, other: _Value) -> bool:
        return self.attrs == other.attrs and self.items == other.items

    def entry(self, location: str, section: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "location": location,
            "section": section,
            "attributes": {k: {"value": v, "evidence": ev} for k, (v, ev) in self.attrs.items()},
        }
        collections = {
            name: [{"key": k, "attributes": a, "evidence": ev} for k, (a, ev) in items.items()]
            for name, items in self.items.items()
        }
        if collections:
            out["collections"] = collections
        if self.evidence:
            out["evidence"] = self.evidence
        return out


def _merge(
    value: _Value, node: Node, artifact: str, *, lockable: bool, refused: list[str], prefix: str = ""
) -> None:
    """Merge one element (and its descendants) into a section's value."""
    ev = {"artifact": artifact, "line": node.line}
    for name, raw in node.attrs.items():
        if _META.match(name):
            continue
        full = prefix + name
        if lockable and full in value.locked:
            refused.append(full)
            continue
        value.attrs[full] = (_clean(name, raw), ev)
    if not lockable:
        for attr in (node.get("lockAttributes") or "").split(","):
            if attr.strip():
                value.locked.add(prefix + attr.strip())
    for child in node.children:
        if child.tag in _SKIP_ELEMENTS:
            continue
        if child.tag in _COLLECTION_OPS or child.tag in _ITEM_TAGS:
            items = value.items.setdefault(prefix.rstrip("/"), {})
            if child.tag == "clear":
                items.clear()
            elif child.tag == "remove":
                items.pop(_key(child), None)
            else:
                attrs = {k: _clean(k, v) for k, v in child.attrs.items() if not _META.match(k)}
                items[_key(child)] = (attrs, {"artifact": artifact, "line": child.line})
            continue
        _merge(value, child, artifact, lockable=lockable, refused=refused, prefix=f"{prefix}{child.tag}/")


@dataclass
class SettingsState:
    """What the applicationHost.config and web.config readers of one import collected."""

    layers: dict[str, list[Layer]] = field(default_factory=dict)  # path key -> layers
    override_default: dict[str, str] = field(default_factory=dict)  # full section name -> Allow/Deny
    override_layers: dict[str, list[tuple[int, int, str, str]]] = field(default_factory=dict)
    host: dict[str, list[tuple[str, Node, str]]] = field(
        default_factory=dict
    )  # section -> (name, node, artifact)
    apphost: str | None = None  # "whole" or "fragment"
    apphost_sections: set[str] = field(default_factory=set)
    aspnet_paths: set[str] = field(default_factory=set)
    finished: bool = False

    def override_mode(self, section: str, key: str) -> str:
        mode = self.override_default.get(section) or SHIPPED_OVERRIDE.get(section, "Allow")
        for k in ancestors(key):
            for _depth, _order, sec, value in sorted(self.override_layers.get(k, ())):
                if sec == section:
                    mode = value
        return mode


def state(builder: Builder) -> SettingsState:
    found = vars(builder).get("_iisguard_settings")
    if found is None:
        found = SettingsState()
        vars(builder)["_iisguard_settings"] = found
    return found


def sections_in(scope: Node) -> list[tuple[str, Node]]:
    """(full section name, element) for every tracked path section under a <configuration> or <location>."""
    out = []
    for name in PATH_SECTIONS:
        root, _, rest = name.partition("/")
        top = scope.child(root)
        node = top.find(*rest.split("/")) if top is not None else None
        if node is not None:
            out.append((name, node))
    return out


def add_scope(builder: Builder, artifact: Artifact, scope: Node, path: str, level: int, order: int) -> None:
    """Record the tracked sections of one scope (a file's root or a <location>) as layers at `path`."""
    from . import iisconf

    st = state(builder)
    ist = iisconf.state(builder)
    child_apps = scope.tag != "location" or parse_bool(scope.get("inheritInChildApplications")) is not False
    key = path_key(path)
    mode = None
    if level == 0 and scope.tag == "location":
        mode = iisconf.override_of(scope)
    for section, node in sections_in(scope):
        if level > 0 and section.startswith(SYSTEM_WEB + "/"):
            st.aspnet_paths.add(key)
        if level == 0:
            st.apphost_sections.add(section)
        layer = Layer(level, depth(key), ist.next_order(), path, section, node, artifact.path, child_apps)
        st.layers.setdefault(key, []).append(layer)
        if mode:
            st.override_layers.setdefault(key, []).append((depth(key), order, section, mode))


def read_apphost(builder: Builder, artifact: Artifact, root: Node, whole: bool) -> None:
    """applicationHost.config: the tracked sections at the server and in every <location>, site and pool
    settings, the server's log, and which sections web.config files may set."""
    from . import iisconf

    st = state(builder)
    st.apphost = "whole" if whole else "fragment"
    ist = iisconf.state(builder)
    add_scope(builder, artifact, root, "", 0, ist.next_order())
    for loc in root.all("location"):
        add_scope(builder, artifact, loc, config_path(loc.get("path") or ""), 0, ist.next_order())
    sections = root.child("configSections")
    if sections is not None:
        stack: list[tuple[Node, str]] = [(sections, "")]
        while stack:
            node, prefix = stack.pop()
            for c in node.children:
                name = c.get("name") or ""
                if c.tag == "sectionGroup":
                    stack.append((c, f"{prefix}{name}/"))
                elif c.tag == "section":
                    mode = c.get("overrideModeDefault")
                    if mode is None and c.get("allowOverride") is not None:
                        mode = "Allow" if parse_bool(c.get("allowOverride")) else "Deny"
                    st.override_default[f"{prefix}{name}"] = (mode or "Allow").strip().capitalize()
    host = root.child("system.applicationHost")
    pools = host.child("applicationPools") if host is not None else None
    if pools is not None:
        st.apphost_sections.add(POOLS)
        found: dict[str, tuple[str, Node, str]] = {}
        defaults = []
        for c in pools.children:
            if c.tag == "applicationPoolDefaults":
                defaults.append(("", c, artifact.path))
            elif c.tag == "add" and c.get("name"):
                found[(c.get("name") or "").casefold()] = (c.get("name") or "", c, artifact.path)
            elif c.tag == "remove":
                found.pop((c.get("name") or "").casefold(), None)
            elif c.tag == "clear":
                found.clear()
        st.host[POOLS] = defaults + list(found.values())
    sites = host.child("sites") if host is not None else None
    if sites is not None:
        st.apphost_sections.add(SITES)
        st.host[SITES] = [("", c, artifact.path) for c in sites.all("siteDefaults")] + [
            (c.get("name") or "", c, artifact.path) for c in sites.all("site") if c.get("name")
        ]
    log = host.child("log") if host is not None else None
    if log is not None or host is not None:
        st.apphost_sections.add(LOG)
        st.host[LOG] = [("", log, artifact.path)] if log is not None else []
    modules = root.find(WEB_SERVER, "globalModules")
    if modules is not None:
        st.apphost_sections.add(GLOBAL_MODULES)
        st.host[GLOBAL_MODULES] = [("", modules, artifact.path)]


# Children of <site> and <add> (pool) that are objects of their own, not settings of the site or pool.
_HOST_SKIP = {"bindings", "application", "applicationDefaults", "virtualDirectoryDefaults"}


def _host_entries(st: SettingsState) -> list[dict[str, Any]]:
    out = []
    for section in HOST_SECTIONS:
        base = _Value()
        refused: list[str] = []
        layers = st.host.get(section, [])
        for name, node, artifact in layers:
            if name:
                continue
            _merge(base, _trimmed(node), artifact, lockable=False, refused=refused)
            base.evidence = {"artifact": artifact, "line": node.line}
        if any(not n for n, _, _ in layers):
            out.append(base.entry("", section))
        for name, node, artifact in layers:
            if not name:
                continue
            value = base.copy()
            _merge(value, _trimmed(node), artifact, lockable=False, refused=refused)
            if section == POOLS:
                # A pool is judged by name whatever its entry (Settings.scopes lists app_pools), and a lookup
                # walks up to applicationPoolDefaults: a pool that sets nothing of its own needs no entry, and
                # its name is the entry's location. (One copy of the defaults per pool cost ~1 KB each.)
                value.attrs.pop("name", None)
                if value.same(base):
                    continue
            value.evidence = {"artifact": artifact, "line": node.line}
            out.append(value.entry(name, section))
    return out


def _trimmed(node: Node) -> Node:
    return Node(node.tag, node.attrs, node.line, [c for c in node.children if c.tag not in _HOST_SKIP])


def finish(builder: Builder) -> None:
    """Write iis.settings and iis.settings_sources once every artifact was parsed."""
    from . import iisconf

    st = state(builder)
    if st.finished or (st.apphost is None and not st.aspnet_paths and not st.layers):
        return
    st.finished = True
    ist = iisconf.state(builder)
    app_keys = ist.app_keys
    known = {k: config_path(v) for k, v in ist.paths.items()}
    for key, layers in st.layers.items():
        known.setdefault(key, config_path(layers[0].path))
    known.setdefault("", "")
    order = sorted(known, key=lambda k: (depth(k), k))
    entries: list[dict[str, Any]] = []
    computed: dict[tuple[str, str], _Value] = {}
    warned: set[int] = set()
    for key in order:
        chain_keys = [k for k in ancestors(key) if k in st.layers]
        if key and not any(k for k in chain_keys):
            continue  # nothing below the server configures this path: the server's value holds
        chain: list[Layer] = []
        for k in chain_keys:
            chain.extend(st.layers[k])
        chain.sort(key=lambda layer: layer.rank)
        by_section: dict[str, list[Layer]] = {}
        for layer in chain:
            by_section.setdefault(layer.section, []).append(layer)
        for section, layers in by_section.items():
            if key and not any(path_key(layer.path) for layer in layers):
                continue
            value = _Value()
            for layer in layers:
                lkey = path_key(layer.path)
                if not layer.child_apps and any(k in app_keys for k in ancestors(key) if len(k) > len(lkey)):
                    continue
                lockable = layer.level > 0
                locked = (
                    lockable
                    and not section.startswith(SYSTEM_WEB + "/")
                    and st.override_mode(section, lkey) != "Allow"
                )
                if locked:
                    if id(layer) not in warned:
                        warned.add(id(layer))
                        builder.warn(
                            layer.artifact,
                            layer.node.line,
                            f"web.config sets {section} for '{layer.path or '(server)'}', but "
                            "applicationHost.config locks that section there (IIS answers HTTP 500.19); "
                            "the setting is ignored",
                        )
                    continue
                refused: list[str] = []
                _merge(value, layer.node, layer.artifact, lockable=lockable, refused=refused)
                value.evidence = {"artifact": layer.artifact, "line": layer.node.line}
                if refused and id(layer) not in warned:
                    warned.add(id(layer))
                    builder.warn(
                        layer.artifact,
                        layer.node.line,
                        f"web.config sets {', '.join(sorted(set(refused)))} of {section} for "
                        f"'{layer.path or '(server)'}', which a higher level locks (lockAttributes); ignored",
                    )
            parent = _parent_value(computed, section, key)
            computed[(section, key)] = value
            if parent is not None and parent.same(value):
                continue
            entries.append(value.entry(known.get(key, key), section))
    entries.extend(_host_entries(st))
    iis = builder.data.setdefault("iis", {})
    iis["settings"] = entries
    sources: dict[str, Any] = {}
    if st.apphost:
        sources["applicationhost"] = st.apphost
        if st.apphost == "fragment":
            sources["sections"] = sorted(st.apphost_sections)
    sources["aspnet_paths"] = sorted(known.get(k, k) for k in st.aspnet_paths)
    iis["settings_sources"] = sources


def _parent_value(computed: dict[tuple[str, str], _Value], section: str, key: str) -> _Value | None:
    for k in reversed(ancestors(key)[:-1]):
        found = computed.get((section, k))
        if found is not None:
            return found
    return None

"""applicationHost.config (IIS 7-10, IIS Express), administration.config and redirection.config.

Pools get `applicationPoolDefaults` (wherever in the collection it appears) and then the IIS schema
defaults; sites get `siteDefaults`; applications get the site's `applicationDefaults`, then the
`<sites>` element's; virtual directories get the application's, the site's and the `<sites>`
element's `virtualDirectoryDefaults`. An application whose pool is set nowhere has none: the IIS
schema gives `applicationPool` no default value. Authentication is resolved in iisconf.finish, once
web.config files (if any) are known too. Passwords become {present, encrypted, provider}.
"""

from __future__ import annotations

import re
from typing import Any

from ..hookspecs import hookimpl
from ..model import sids
from . import iisconf, settings, xmlsafe
from .base import Artifact, Builder
from .iisconf import Layer, config_path, parse_bool, path_key, secret
from .xmlsafe import FRAGMENT, Node

IDENTITY_TYPES = {
    t.casefold(): t
    for t in ("LocalSystem", "LocalService", "NetworkService", "SpecificUser", "ApplicationPoolIdentity")
}
IDENTITY_TYPES.update(
    {
        "0": "LocalSystem",
        "1": "LocalService",
        "2": "NetworkService",
        "3": "SpecificUser",
        "4": "ApplicationPoolIdentity",
    }
)
BUILTIN_IDENTITY = {
    "LocalSystem": sids.LOCAL_SYSTEM,
    "LocalService": sids.LOCAL_SERVICE,
    "NetworkService": sids.NETWORK_SERVICE,
}
DEFAULT_LOG_DIRECTORY = "%SystemDrive%\\inetpub\\logs\\LogFiles"
_WEB_PROTOCOLS = {"http", "https", "ftp", "ftps"}
_VAR = re.compile(r"%([^%]+)%")

# Where a piece of a pasted fragment belongs in a whole file.
_UNDER_APPHOST = {"applicationPools", "sites", "log", "listenerAdapters", "webLimits", "customMetadata"}
_UNDER_ROOT = {
    "system.applicationHost",
    "system.webServer",
    "location",
    "configProtectedData",
    "configSections",
}


def expand(path: str | None, environment: dict[str, str] | None) -> str | None:
    """%SystemDrive%\\x -> C:\\x when every variable is known for this host, else None."""
    if not path or not environment:
        return None
    env = {k.casefold(): v for k, v in environment.items()}
    missing = False

    def sub(m: re.Match[str]) -> str:
        nonlocal missing
        value = env.get(m.group(1).casefold())
        if value is None:
            missing = True
            return m.group(0)
        return value

    out = _VAR.sub(sub, path)
    return None if missing or out == path else out


def split_binding(info: str) -> tuple[str | None, int | None, str] | None:
    """ "IP:port:host" (IPv6 in brackets) -> (ip, port, host); None when it is not that shape."""
    if info.startswith("["):
        end = info.find("]")
        if end < 0 or info[end + 1 : end + 2] != ":":
            return None
        ip, rest = info[: end + 1], info[end + 2 :]
        port, sep, host = rest.partition(":")
        if not sep:
            return None
    else:
        parts = info.split(":", 2)
        if len(parts) != 3:
            return None
        ip, port, host = parts
    return ip, (int(port) if port.strip().isdigit() else None), host


class _Reader:
    """Reads one applicationHost.config into the builder."""

    def __init__(self, artifact: Artifact, builder: Builder) -> None:
        self.a = artifact
        self.b = builder
        self.st = iisconf.state(builder)
        self.env = artifact.hint.get("environment") or None

    def ev(self, node: Node) -> dict[str, Any]:
        return {"artifact": self.a.path, "line": node.line}

    def warn(self, node: Node | None, message: str) -> None:
        self.b.warn(self.a, node.line if node is not None else None, message)

    def flag(self, node: Node, name: str, value: str | None, default: bool | None) -> bool | None:
        if value is None:
            return default
        parsed = parse_bool(value)
        if parsed is None:
            self.warn(node, f"{name}={value!r} is not true or false; left unknown")
        return parsed

    # -- pools --------------------------------------------------------------------------------
    def pools(self, node: Node) -> list[dict[str, Any]]:
        defaults = None
        for c in node.children:  # the defaults apply wherever the element stands
            if c.tag == "applicationPoolDefaults":
                defaults = c
        adds: dict[str, Node] = {}
        for c in node.children:
            if c.tag == "add":
                if not c.get("name"):
                    self.warn(c, "application pool without a name; skipped")
                    continue
                adds[(c.get("name") or "").casefold()] = c
            elif c.tag == "remove":
                adds.pop((c.get("name") or "").casefold(), None)
            elif c.tag == "clear":
                adds.clear()
        out = []
        for add in adds.values():
            pool = self.pool(add, defaults)
            if pool is not None:
                out.append(pool)
        return out

    def pool(self, add: Node, defaults: Node | None) -> dict[str, Any] | None:
        name = add.get("name", "") or ""
        pm = add.child("processModel")
        dpm = defaults.child("processModel") if defaults is not None else None

        def attr(key: str) -> str | None:
            for src in (add, defaults):
                if src is not None and key in src.attrs:
                    return src.attrs[key]
            return None

        def pm_attr(key: str) -> str | None:
            for src in (pm, dpm):
                if src is not None and key in src.attrs:
                    return src.attrs[key]
            return None

        raw_type = pm_attr("identityType")
        itype = IDENTITY_TYPES.get((raw_type or "ApplicationPoolIdentity").strip().casefold())
        if itype is None:
            self.warn(
                pm or add,
                f"application pool '{name}': identityType={raw_type!r} is not one IIS knows; pool skipped",
            )
            return None
        identity: dict[str, Any] = {"type": itype}
        user = pm_attr("userName")
        if itype == "SpecificUser":
            if user:
                identity["user"] = user
            else:
                self.warn(pm or add, f"application pool '{name}' is SpecificUser but names no userName")
        identity["password"] = secret(pm_attr("password"))
        logon_type = pm_attr("logonType") or "LogonBatch"
        identity["logon_type"] = logon_type
        if itype == "ApplicationPoolIdentity":
            identity["sid"] = sids.app_pool_sid(name)
        elif itype in BUILTIN_IDENTITY:
            identity["sid"] = BUILTIN_IDENTITY[itype]
        elif user and sids.well_known_sid(user):
            identity["sid"] = sids.well_known_sid(user)
        pool: dict[str, Any] = {
            "name": name,
            "identity": identity,
            "load_user_profile": self.flag(add, "loadUserProfile", pm_attr("loadUserProfile"), False),
            "managed_runtime_version": attr("managedRuntimeVersion"),
            "pipeline_mode": attr("managedPipelineMode") or "Integrated",
            "enable_32bit": self.flag(add, "enable32BitAppOnWin64", attr("enable32BitAppOnWin64"), False),
            "auto_start": self.flag(add, "autoStart", attr("autoStart"), True),
            "start_mode": attr("startMode") or "OnDemand",
            "manual_group_membership": self.flag(
                add, "manualGroupMembership", pm_attr("manualGroupMembership"), False
            ),
            "logon_type": logon_type,
            "evidence": self.ev(add),
        }
        if itype == "ApplicationPoolIdentity":
            self.b.principal(
                name=f"IIS APPPOOL\\{name}",
                sid=identity["sid"],
                kind="virtual",
                sources=[self.a.path],
                evidence=self.ev(add),
            )
        elif itype in BUILTIN_IDENTITY:
            iisconf.note_principal(self.b, self.a, sids.name_of(identity["sid"]) or itype, add.line)
        elif user:
            iisconf.note_principal(self.b, self.a, user, (pm or add).line)
        return pool

    # -- sites --------------------------------------------------------------------------------
    def sites(self, node: Node, pool_names: set[str] | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        site_defaults = node.child("siteDefaults")
        app_defaults = node.child("applicationDefaults")
        vdir_defaults = node.child("virtualDirectoryDefaults")
        default_log = _log_directory(site_defaults) or DEFAULT_LOG_DIRECTORY
        default_auto = (
            self.flag(site_defaults, "serverAutoStart", site_defaults.get("serverAutoStart"), True)
            if site_defaults
            else True
        )
        out = []
        for site in node.all("site"):
            name = site.get("name") or ""
            if not name:
                self.warn(site, "site without a name; skipped")
                continue
            raw_id = site.get("id")
            entry: dict[str, Any] = {
                "name": name,
                "id": int(raw_id) if raw_id and raw_id.strip().isdigit() else raw_id,
                "bindings": self.bindings(site.child("bindings")),
                "applications": [],
                "log_directory": _log_directory(site) or default_log,
                "server_auto_start": self.flag(
                    site, "serverAutoStart", site.get("serverAutoStart"), default_auto
                ),
                "evidence": self.ev(site),
            }
            expanded = expand(entry["log_directory"], self.env)
            if expanded:
                entry["log_directory_expanded"] = expanded
            self.st.add_path(name, self.ev(site))
            site_app_defaults = site.child("applicationDefaults")
            site_vdir_defaults = site.child("virtualDirectoryDefaults")
            for app in site.all("application"):
                entry["applications"].append(
                    self.application(
                        name,
                        app,
                        (site_app_defaults, app_defaults),
                        (site_vdir_defaults, vdir_defaults),
                        pool_names,
                    )
                )
            out.append(entry)
        defaults: dict[str, Any] = {"log_directory": default_log}
        return out, defaults

    def bindings(self, node: Node | None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if node is None:
            return out
        for b in node.children:
            if b.tag == "clear":
                out.clear()
                continue
            if b.tag != "binding":
                continue
            protocol = b.get("protocol") or ""
            info = b.get("bindingInformation") or ""
            entry: dict[str, Any] = {"protocol": protocol, "binding_information": info}
            if protocol.casefold() in _WEB_PROTOCOLS:
                parts = split_binding(info)
                if parts is None:
                    self.warn(b, f"binding {info!r} is not IP:port:host; kept as written")
                else:
                    entry["ip"], entry["port"], entry["host"] = parts
            entry["evidence"] = self.ev(b)
            out.append(entry)
        return out

    def application(
        self,
        site: str,
        app: Node,
        app_defaults: tuple[Node | None, ...],
        vdir_defaults: tuple[Node | None, ...],
        pool_names: set[str] | None,
    ) -> dict[str, Any]:
        path = app.get("path") or "/"
        pool: str | None = None
        for src in (app, *app_defaults):
            if src is not None and "applicationPool" in src.attrs:
                pool = src.attrs["applicationPool"]
                break
        where = config_path(site, path)
        if not pool:
            self.warn(
                app, f"application '{where}' has no application pool (none set, no applicationDefaults)"
            )
            pool = None
        elif pool_names is not None and pool.casefold() not in pool_names:
            self.warn(
                app, f"application '{where}' uses application pool '{pool}', which this file does not define"
            )
        self.st.add_path(where, self.ev(app))
        if path.strip("/"):
            self.st.app_keys.add(path_key(where))
        app_vdir_defaults = app.child("virtualDirectoryDefaults")
        vdirs = [self.vdir(v, (app_vdir_defaults, *vdir_defaults)) for v in app.all("virtualDirectory")]
        return {"path": path, "app_pool": pool, "virtual_directories": vdirs, "evidence": self.ev(app)}

    def vdir(self, vd: Node, defaults: tuple[Node | None, ...]) -> dict[str, Any]:
        def attr(key: str) -> str | None:
            for src in (vd, *defaults):
                if src is not None and key in src.attrs:
                    return src.attrs[key]
            return None

        entry: dict[str, Any] = {"path": vd.get("path") or "/"}
        physical = attr("physicalPath")
        if physical is not None:
            entry["physical_path"] = physical
            expanded = expand(physical, self.env)
            if expanded:
                entry["physical_path_expanded"] = expanded
        user = attr("userName")
        password = attr("password")
        if user:
            entry["user"] = user
            iisconf.note_principal(self.b, self.a, user, vd.line)
        if user or password:
            entry["password"] = secret(password)
        entry["logon_method"] = attr("logonMethod") or "ClearText"
        entry["evidence"] = self.ev(vd)
        return entry

    # -- authentication, locks, protected data ---------------------------------------------------
    def authentication(self, root: Node) -> None:
        seen: dict[tuple[str, str], int] = {}

        def add(section: Node, path: str, child_apps: bool = True) -> None:
            key = (path_key(path), section.tag)
            if key in seen:
                self.warn(
                    section,
                    f"{section.tag} is defined a second time for '{path or '(server)'}' "
                    f"(first on line {seen[key]}); IIS refuses such a file",
                )
            seen.setdefault(key, section.line)
            self.st.add_layer(
                Layer(
                    0,
                    iisconf.depth(key[0]),
                    self.st.next_order(),
                    path,
                    section.tag,
                    section,
                    self.a.path,
                    child_apps,
                )
            )
            if section.tag == "anonymousAuthentication" and section.get("userName"):
                iisconf.note_principal(self.b, self.a, section.get("userName") or "", section.line)

        for section in iisconf.auth_sections(root.child("system.webServer")):
            add(section, "")
        for loc in root.all("location"):
            path = config_path(loc.get("path") or "")
            child_apps = parse_bool(loc.get("inheritInChildApplications")) is not False
            mode = iisconf.override_of(loc)
            for section in iisconf.auth_sections(loc.child("system.webServer")):
                add(section, path, child_apps)
                if mode:
                    key = path_key(path)
                    self.st.override_layers.setdefault(key, []).append(
                        (iisconf.depth(key), self.st.next_order(), section.tag, mode)
                    )

    def override_defaults(self, root: Node) -> None:
        sections = root.child("configSections")
        if sections is None:
            return
        stack: list[tuple[Node, str]] = [(sections, "")]
        while stack:
            node, prefix = stack.pop()
            for c in node.children:
                name = c.get("name") or ""
                if c.tag == "sectionGroup":
                    stack.append((c, f"{prefix}{name}/"))
                elif c.tag == "section" and prefix == "system.webServer/security/authentication/":
                    mode = c.get("overrideModeDefault")
                    if mode is None and c.get("allowOverride") is not None:
                        mode = "Allow" if parse_bool(c.get("allowOverride")) else "Deny"
                    self.st.override_default[name] = (mode or "Allow").strip().capitalize()

    def protected_data(self, root: Node) -> dict[str, Any] | None:
        cpd = root.child("configProtectedData")
        if cpd is None:
            return None
        providers = []
        for c in (cpd.child("providers") or Node("providers", {}, 0)).children:
            if c.tag == "add" and c.get("name"):
                providers.append({"name": c.get("name"), "type": c.get("type") or None})
        return {"default_provider": cpd.get("defaultProvider"), "providers": providers}


def _log_directory(node: Node | None) -> str | None:
    log = node.child("logFile") if node is not None else None
    return log.get("directory") if log is not None else None


def _assemble(root: Node, artifact: Artifact, builder: Builder) -> tuple[Node, list[str]]:
    """A whole <configuration> for a root that may be a pasted fragment; returns it and the pieces' names."""
    if root.tag == "configuration":
        return root, []
    pieces = root.children if root.tag == FRAGMENT else [root]
    config = Node("configuration", {}, pieces[0].line if pieces else root.line)
    apphost = Node("system.applicationHost", {}, config.line)
    sites = Node("sites", {}, config.line)
    names = []
    for piece in pieces:
        names.append(f"<{piece.tag}>")
        if piece.tag in _UNDER_ROOT:
            config.children.append(piece)
        elif piece.tag in _UNDER_APPHOST:
            apphost.children.append(piece)
        elif piece.tag == "site":
            sites.children.append(piece)
        elif piece.tag == "security":
            config.children.append(Node("system.webServer", {}, piece.line, [piece]))
        elif piece.tag == "authentication":
            security = Node("security", {}, piece.line, [piece])
            config.children.append(Node("system.webServer", {}, piece.line, [security]))
        else:
            builder.warn(
                artifact, piece.line, f"<{piece.tag}> is not part of applicationHost.config; ignored"
            )
            names.pop()
    if sites.children:
        apphost.children.append(sites)
    if apphost.children:
        config.children.append(apphost)
    return config, names


class AppHostParser:
    """applicationHost.config, whole or as a pasted fragment."""

    kind = "applicationhost_config"
    sections = ("iis",)

    def detect(self, head: str, name: str) -> float:
        if "<system.applicationHost" in head or 'name="system.applicationHost"' in head:
            return 0.95
        if name.casefold() == "applicationhost.config" and "<configuration" in head:
            return 0.92  # a trimmed copy: the name breaks the tie with web.config
        if re.search(r"<(applicationPools|sites)[\s>]", head):
            return 0.9
        if re.search(r"</(applicationPools|sites)>", head) and re.search(r"<(add|site)\s[^>]*\bname=", head):
            return 0.85  # a paste that starts inside the section: its end tag is there
        if re.search(r"<site\s[^>]*\bid=", head) or re.search(r"<anonymousAuthentication[\s/>]", head):
            return 0.6 if name.casefold().endswith(".config") else 0.5
        return 0.0

    def parse(self, artifact: Artifact, builder: Builder) -> None:
        st = iisconf.state(builder)
        if st.apphost is not None:
            builder.warn(
                artifact,
                None,
                f"an applicationHost.config was already imported ({st.apphost}); this one is ignored",
            )
            return
        raw = xmlsafe.load(artifact, builder)
        root, pieces = _assemble(raw, artifact, builder)
        reader = _Reader(artifact, builder)
        st.apphost = artifact.path
        st.root_evidence = reader.ev(root)
        iis = builder.data.setdefault("iis", {})
        apphost = root.child("system.applicationHost")
        pools_node = apphost.child("applicationPools") if apphost is not None else None
        pool_names: set[str] | None = None
        if pools_node is not None:
            iis["app_pools"] = reader.pools(pools_node)
            pool_names = {p["name"].casefold() for p in iis["app_pools"]}
        sites_node = apphost.child("sites") if apphost is not None else None
        if sites_node is not None:
            iis["sites"], iis["site_defaults"] = reader.sites(sites_node, pool_names)
        cpd = reader.protected_data(root)
        if cpd is not None:
            iis["config_protected_data"] = cpd
        reader.override_defaults(root)
        reader.authentication(root)
        settings.read_apphost(builder, artifact, root, whole=raw.tag == "configuration")
        st.auth_known = root.child("system.webServer") is not None or bool(root.all("location"))
        if raw.tag != "configuration":
            what = ", ".join(pieces) or "nothing IIS-related"
            builder.warn(
                artifact,
                raw.line,
                f"this is a fragment ({what}), not a whole applicationHost.config; imported what it contains",
            )
            builder.section("iis", "partial", f"{artifact.path} is a fragment of applicationHost.config")
        elif pools_node is None and sites_node is None:
            builder.warn(
                artifact, root.line, "no <applicationPools> or <sites> in this applicationHost.config"
            )

    def finish(self, builder: Builder) -> None:
        iisconf.finish(builder)
        settings.finish(builder)


class RedirectionParser:
    """redirection.config: shared configuration, and the account used to reach it."""

    kind = "redirection_config"
    sections = ("iis",)

    def detect(self, head: str, name: str) -> float:
        return 0.95 if "<configurationRedirection" in head else 0.0

    def parse(self, artifact: Artifact, builder: Builder) -> None:
        root = xmlsafe.load(artifact, builder)
        node = next((n for n in root.iter() if n.tag == "configurationRedirection"), None)
        if node is None:
            builder.warn(artifact, root.line, "no <configurationRedirection> element")
            return
        entry: dict[str, Any] = {
            "enabled": parse_bool(node.get("enabled")) or False,
            "path": node.get("path") or None,
            "user": node.get("userName") or None,
            "password": secret(node.get("password")),
            "evidence": {"artifact": artifact.path, "line": node.line},
        }
        if entry["user"]:
            iisconf.note_principal(builder, artifact, entry["user"], node.line)
        builder.data.setdefault("iis", {})["shared_configuration"] = entry


class AdministrationParser:
    """administration.config: IIS Manager users kept in the configuration credential store."""

    kind = "administration_config"
    sections = ("iis",)

    def detect(self, head: str, name: str) -> float:
        if "<moduleProviders" in head or "<trustedProviders" in head:
            return 0.9
        if "<management" in head and "<system.webServer" in head:
            return 0.7
        return 0.0

    def parse(self, artifact: Artifact, builder: Builder) -> None:
        root = xmlsafe.load(artifact, builder)
        management = next((n for n in root.iter() if n.tag == "management"), None)
        if management is None:
            builder.warn(artifact, root.line, "no <management> section")
            return
        auth = management.child("authentication")
        credentials = auth.child("credentials") if auth is not None else None
        users = [c for c in credentials.children if c.tag == "add"] if credentials is not None else []
        builder.data.setdefault("iis", {})["management"] = {
            "authentication_provider": auth.get("defaultProvider") if auth is not None else None,
            "iis_manager_users": len(users),
            "evidence": {"artifact": artifact.path, "line": (credentials or auth or management).line},
        }


PARSERS = [AppHostParser(), RedirectionParser(), AdministrationParser()]


@hookimpl
def iisguard_register_parsers() -> list[Any]:
    return PARSERS

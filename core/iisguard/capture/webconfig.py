"""web.config files captured from content folders.

Which site or application a web.config belongs to comes from the capture: a manifest entry
(`location: "Default Web Site/app"`) or the folder layout `webconfig/<Site>/<app path>/web.config`.
Each file yields `aspnet[]` entries (one for the file, one per `<location path=...>` inside it) with
ASP.NET impersonation, forms credentials, connection strings with inline passwords (counted, never
copied) and authorization rules. Its `<system.webServer>` authentication sections and `<identity>`
join the effective authentication in iisconf, where locks decide whether they take effect.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote

from ..hookspecs import hookimpl
from . import iisconf, settings, xmlsafe
from .base import Artifact, Builder
from .iisconf import Layer, config_path, secret
from .xmlsafe import Node

FOLDERS = {"webconfig", "webconfigs", "web_config", "web_configs", "web.config"}
# key=value pairs of a connection string whose value is a password (ADO.NET, OLE DB, ODBC).
_PASSWORD_KEY = re.compile(r"(?:^|;)\s*(?:password|pwd)\s*=\s*(\"[^\"]*\"|'[^']*'|[^;]*)", re.IGNORECASE)
_MARKERS = (
    "<system.web>",
    "<system.web ",
    "<system.webServer",
    "<connectionStrings",
    "<appSettings",
    "<location",
)


def location_of(artifact: Artifact) -> str | None:
    """The configuration path a web.config applies to, from the manifest or the capture's folders."""
    hinted = artifact.hint.get("location")
    if isinstance(hinted, str):
        return config_path(hinted)
    rel = PurePosixPath(str(artifact.hint.get("relpath") or artifact.path).replace("\\", "/"))
    parts = list(rel.parts[:-1])
    for i, part in enumerate(parts):
        if part.casefold() in FOLDERS:
            return config_path(*(unquote(p) for p in parts[i + 1 :]))
    return None


def with_password(connection_string: str) -> bool:
    for m in _PASSWORD_KEY.finditer(connection_string):
        value = m.group(1).strip().strip("\"'")
        if value:
            return True
    return False


class _Reader:
    def __init__(self, artifact: Artifact, builder: Builder, base: str) -> None:
        self.a = artifact
        self.b = builder
        self.base = base
        self.st = iisconf.state(builder)
        self.level = 1 + iisconf.depth(iisconf.path_key(base))

    def ev(self, node: Node) -> dict[str, Any]:
        return {"artifact": self.a.path, "line": node.line}

    def scope(self, node: Node, path: str, child_apps: bool = True) -> dict[str, Any] | None:
        """Read one configuration scope (the file's root, or a <location> in it)."""
        entry: dict[str, Any] = {"location": path, "artifact": self.a.path}
        web = node.child("system.web")
        server = node.child("system.webServer")
        identity = web.child("identity") if web is not None else None
        if identity is not None:
            entry["identity"] = self.identity(identity)
            self.layer(identity, path, iisconf.IDENTITY, child_apps)
        forms = web.find("authentication", "forms", "credentials") if web is not None else None
        if forms is not None:
            users = [u for u in forms.children if u.tag == "user"]
            entry["forms_credentials"] = {
                "password_format": forms.get("passwordFormat") or "SHA1",
                "users": len(users),
                "evidence": self.ev(forms),
            }
        strings = node.child("connectionStrings")
        if strings is not None:
            entry["connection_strings"] = self.connection_strings(strings)
        rules = self.authorization(web, server)
        if rules:
            entry["authorization"] = rules
        for section in iisconf.auth_sections(server):
            self.layer(section, path, section.tag, child_apps)
            if section.tag == "anonymousAuthentication" and section.get("userName"):
                iisconf.note_principal(self.b, self.a, section.get("userName") or "", section.line)
        if len(entry) == 2:
            return None
        entry["evidence"] = self.ev(node)
        return entry

    def layer(self, node: Node, path: str, section: str, child_apps: bool) -> None:
        key = iisconf.path_key(path)
        self.st.add_layer(
            Layer(
                self.level,
                iisconf.depth(key),
                self.st.next_order(),
                path,
                section,
                node,
                self.a.path,
                child_apps,
            )
        )

    def identity(self, node: Node) -> dict[str, Any]:
        if node.get("configProtectionProvider"):
            return {
                "impersonate": None,
                "user": None,
                "password": {"present": False},
                "protected": True,
                "evidence": self.ev(node),
            }
        user = node.get("userName") or None
        if user:
            iisconf.note_principal(self.b, self.a, user, node.line)
        return {
            "impersonate": iisconf.parse_bool(node.get("impersonate")) or False,
            "user": user,
            "password": secret(node.get("password")),
            "protected": False,
            "evidence": self.ev(node),
        }

    def connection_strings(self, node: Node) -> dict[str, Any]:
        if node.get("configProtectionProvider"):
            return {"total": 0, "with_password": 0, "protected": True, "evidence": self.ev(node)}
        entries: dict[str, Node] = {}
        for c in node.children:
            if c.tag == "add":
                entries[(c.get("name") or "").casefold()] = c
            elif c.tag == "remove":
                entries.pop((c.get("name") or "").casefold(), None)
            elif c.tag == "clear":
                entries.clear()
        with_pw = [c for c in entries.values() if with_password(c.get("connectionString") or "")]
        return {
            "total": len(entries),
            "with_password": len(with_pw),
            "protected": False,
            "evidence": self.ev(with_pw[0] if with_pw else node),
        }

    def authorization(self, web: Node | None, server: Node | None) -> list[dict[str, Any]]:
        rules: list[dict[str, Any]] = []
        auth = web.child("authorization") if web is not None else None
        for c in auth.children if auth is not None else ():
            if c.tag in ("allow", "deny"):
                rules.append(self.rule(c, c.tag, "system.web"))
        url = server.find("security", "authorization") if server is not None else None
        for c in url.children if url is not None else ():
            if c.tag == "add":
                action = (c.get("accessType") or "").strip().casefold()
                if action not in ("allow", "deny"):
                    self.b.warn(
                        self.a, c.line, f"authorization rule with accessType={c.get('accessType')!r}; skipped"
                    )
                    continue
                rules.append(self.rule(c, action, "system.webServer"))
            elif c.tag == "clear":
                rules = [r for r in rules if r["section"] != "system.webServer"]
        return rules

    def rule(self, node: Node, action: str, section: str) -> dict[str, Any]:
        def split(name: str) -> list[str]:
            return [v.strip() for v in (node.get(name) or "").split(",") if v.strip()]

        return {
            "action": action,
            "users": split("users"),
            "roles": split("roles"),
            "verbs": split("verbs"),
            "section": section,
            "evidence": self.ev(node),
        }


class WebConfigParser:
    """A site's or application's web.config (also the ASP.NET root web.config)."""

    kind = "web_config"
    sections = ("web_configs",)

    def detect(self, head: str, name: str) -> float:
        if "<system.applicationHost" in head or "<configurationRedirection" in head:
            return 0.0
        if "<configuration" not in head:
            # A pasted <system.web> or <system.webServer> section, without the document around it.
            fragment = re.search(r"(?m)^[ \t]*<system\.web(?:Server)?[\s>]", head)  # an element, not prose
            return 0.7 if fragment else 0.0
        score = 0.5
        if any(m in head for m in _MARKERS):
            score = 0.8
        if name.casefold().endswith("web.config"):
            score += 0.1
        return score

    def parse(self, artifact: Artifact, builder: Builder) -> None:
        root = xmlsafe.load(artifact, builder)
        if root.tag != "configuration":
            builder.warn(
                artifact,
                root.line,
                f"a web.config starts with <configuration>, this one with <{root.tag}>; "
                "read what it contains",
            )
            if root.tag != xmlsafe.FRAGMENT:  # one pasted section: read it as the document's child
                root = xmlsafe.Node(xmlsafe.FRAGMENT, {}, root.line, [root])
        base = location_of(artifact)
        if base is None:
            builder.warn(
                artifact,
                None,
                "cannot tell which site or application this web.config belongs to (name it in capture.yaml "
                "with location:, or place it under webconfig/<Site>/<app>/); recorded at the server level",
            )
            base = ""
        reader = _Reader(artifact, builder, base)
        entries = []
        settings.add_scope(builder, artifact, root, base, reader.level, 0)
        for loc in root.all("location"):
            settings.add_scope(
                builder, artifact, loc, config_path(base, loc.get("path") or ""), reader.level, 0
            )
        first = reader.scope(root, base)
        if first is not None:
            entries.append(first)
        for loc in root.all("location"):
            child_apps = iisconf.parse_bool(loc.get("inheritInChildApplications")) is not False
            entry = reader.scope(loc, config_path(base, loc.get("path") or ""), child_apps)
            if entry is not None:
                entry["evidence"] = reader.ev(loc)
                entries.append(entry)
        builder.data.setdefault("aspnet", []).extend(entries)
        iisconf.state(builder).add_path(base, None)

    def finish(self, builder: Builder) -> None:
        iisconf.finish(builder)
        settings.finish(builder)


PARSERS = [WebConfigParser()]


@hookimpl
def iisguard_register_parsers() -> list[Any]:
    return PARSERS

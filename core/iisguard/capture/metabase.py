"""IIS 6 metabase.xml: the anonymous and IWAM accounts, isolation mode, pool identities, stored secrets.

Properties inherit down the metabase path (/LM/W3SVC -> /LM/W3SVC/1 -> /LM/W3SVC/1/ROOT ...), so an
application's pool and a pool's identity type come from the nearest ancestor that sets them. Secure
properties (AnonymousUserPass, WAMUserPass, UNCPassword) are recorded as present or not; metabase.xml
holds them as hex blobs encrypted with the metabase session key, and neither is kept.
"""

from __future__ import annotations

import re
from typing import Any

from . import iisconf, xmlsafe
from .base import Artifact, Builder
from .xmlsafe import Node

SECRETS = {
    "AnonymousUserPass": "anonymous_password",
    "WAMUserPass": "wam_password",
    "UNCPassword": "unc_password",
}
IDENTITY_TYPES = {0: "LocalSystem", 1: "LocalService", 2: "NetworkService", 3: "SpecificUser"}
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
        for prop, field in SECRETS.items():
            present = [
                (p[prop], node) for node, p in (props.keys[k] for k in props.order) if p.get(prop, "").strip()
            ]
            if present:
                legacy[field] = _secret(present[0][0])
                legacy.setdefault("secret_evidence", ev(present[0][1], prop))
            else:
                legacy[field] = {"present": False}
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
        iis["legacy"] = legacy
        iis.setdefault("version", "6.0")
        builder.host.setdefault("iis", {}).setdefault("version", "6.0")


PARSERS = [MetabaseParser()]

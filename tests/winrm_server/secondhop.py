"""The second hop: what the capture script prints on a host whose logon holds no delegated credential.

A WinRM logon by NTLM, Basic or a client certificate, and a Kerberos logon without delegation,
leaves the server's process with no credential it can present to another machine (Microsoft Learn,
"Making the second hop in PowerShell Remoting"). Everything the capture that leaves the server then
fails *on Windows*, whatever the collector believes:

* AD: ADSI ([adsi]'LDAP://RootDSE', DirectorySearcher) cannot bind and throws
  ERROR_DS_OPERATIONS_ERROR, "An operations error occurred." (0x80072020, winerror.h); the
  ActiveDirectory module warns "Error initializing default drive: 'Unable to find a default server
  with Active Directory Web Services running.'" on import and its cmdlets throw "Unable to contact
  the server. This may be because this server does not exist, it is currently down, or it does not
  have the Active Directory Web Services running." (ADServerDownException).
* setspn queries AD the same way and fails (exit code 1).
* Shared configuration on a share (redirection.config): the same, for applicationHost.config itself.
* A UNC content path: Test-Path answers False (it swallows the access-denied error), icacls and
  file reads get "Access is denied."

The test host decides whether the logon was delegated from what it saw on the wire (server.py:
Basic, NTLM and certificate logons never are), not from the flag the collector passes. It then
answers with the capture folder as the script writes it on such a host, following capture.ps1's
code paths: told (-NoDelegation) the script skips those parts and says why; not told, it runs
them and catches what Windows throws (its catch blocks keep the first message per section).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree import ElementTree as ET

import yaml

from iisguard.capture.secondhop import SECOND_HOP

OFF_HOST_FOLDERS = ("ad", "spn", "spns")  # written from AD queries and setspn
ADSI_ERROR = "An operations error occurred.\r\n"  # ERROR_DS_OPERATIONS_ERROR, as ADSI words it
UNREACHED = "(a share needs a delegated credential or access for this account)"


def unc_content(apphost: Path) -> dict[str, str]:
    """Location (`Site/app`) -> the UNC physical path of its root virtual directory."""
    out: dict[str, str] = {}
    if not apphost.is_file():
        return out
    root = ET.parse(apphost).getroot()
    for site in root.iterfind("system.applicationHost/sites/site"):
        for app in site.iterfind("application"):
            for vdir in app.iterfind("virtualDirectory"):
                path = vdir.get("physicalPath", "")
                if vdir.get("path") == "/" and path.startswith("\\\\"):
                    location = (site.get("name", "") + app.get("path", "/")).rstrip("/")
                    out[location] = path
    return out


def shared_configuration(redirection: Path) -> str | None:
    """The folder redirection.config sends IIS to for its configuration, when shared configuration is on."""
    if not redirection.is_file():
        return None
    node = ET.parse(redirection).getroot().find(".//configurationRedirection")
    if node is None or node.get("enabled", "").lower() != "true":
        return None
    return node.get("path") or None


def without_delegation(folder: Path, work: Path, *, told: bool) -> Path:
    """A copy of `folder` as the script leaves it when the logon cannot reach other machines."""
    out = work / "no-delegation"
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(folder, out)
    manifest_path = out / "capture.yaml"
    manifest: dict[str, Any] = yaml.safe_load(manifest_path.read_text("utf-8")) or {}
    files = list(manifest.get("files") or [])
    unc = unc_content(out / "iis" / "applicationHost.config")
    unc_roots = tuple(p.lower() for p in unc.values())

    def off_host(entry: dict[str, Any]) -> bool:
        rel = PurePosixPath(str(entry.get("path", "")))
        if rel.parts and rel.parts[0] in OFF_HOST_FOLDERS:
            return True
        acl = str(entry.get("acl_path", "")).lower()
        if acl.startswith("\\\\"):
            return True
        return entry.get("kind") == "web_config" and str(entry.get("location", "")) in unc

    for folder_name in OFF_HOST_FOLDERS:  # files a manifest does not list are still AD output
        shutil.rmtree(out / folder_name, ignore_errors=True)
    kept = []
    for entry in files:
        if off_host(entry):
            (out / str(entry["path"])).unlink(missing_ok=True)
        else:
            kept.append(entry)
    manifest["files"] = kept
    unreached = [p for p in unc.values() if p.lower().startswith(unc_roots)]
    sections = {s["name"]: s for s in manifest.get("sections") or []}
    domain = bool((manifest.get("host_facts") or {}).get("domain_joined"))
    if told:
        if domain:
            how = f" (on a domain-joined admin workstation: capture.ps1 -AdOnly -ForHost {manifest.get('host')})"
            for name in ("ad", "spns"):
                sections[name] = _section(name, "failed", "not collected: " + SECOND_HOP + how)
        if unreached:
            first = unreached[0].rstrip("\\") + "\\web.config"
            sections["web_configs"] = _section(
                "web_configs", "partial", f"not read (UNC content): {first}; {SECOND_HOP}"
            )
            sections["acls"] = _section(
                "acls", "partial", f"UNC content {', '.join(unreached)} not read: {SECOND_HOP}"
            )
    else:
        if domain:
            # capture.ps1's ad section: the domain name lookup is the first bind, and its catch
            # keeps the first message; setspn -L then exits 1 for the computer account.
            sections["ad"] = _section("ad", "partial", "domain name lookup: " + ADSI_ERROR)
            host = str(manifest.get("host", ""))
            sections["spns"] = _section("spns", "partial", f"setspn -L exited with code 1 for {host}$")
        if unreached:
            first = unreached[0].rstrip("\\") + "\\web.config"
            sections["web_configs"] = _section(
                "web_configs", "partial", f"could not reach {first} {UNREACHED}"
            )
            sections["acls"] = _section(
                "acls", "partial", f"UNC content {', '.join(unreached)} could not be reached {UNREACHED}"
            )
    shared = shared_configuration(out / "iis" / "redirection.config")
    if shared and shared.startswith("\\\\"):
        # capture.ps1's iis section: the shared applicationHost.config is on a share this logon cannot
        # read, so the section throws before any applicationHost.config is written.
        for rel in ("iis/shared/applicationHost.config", "iis/applicationHost.config"):
            (out / rel).unlink(missing_ok=True)
        manifest["files"] = [f for f in manifest["files"] if str(f.get("path")) not in
                             ("iis/shared/applicationHost.config", "iis/applicationHost.config")]  # fmt: skip
        local = "; the local applicationHost.config is not the one IIS uses"
        if told:
            message = f"shared configuration on {shared} not read: {SECOND_HOP}{local}"
        else:
            message = f"shared configuration {shared}\\applicationHost.config could not be reached {UNREACHED}{local}"
        sections["iis"] = _section("iis", "failed", message)
    manifest["sections"] = list(sections.values())
    manifest_path.write_text(json.dumps(manifest, indent=1), "utf-8")  # JSON is YAML, as the script writes it
    return out


def _section(name: str, status: str, message: str) -> dict[str, str]:
    return {"name": name, "status": status, "message": re.sub(r"\s+$", "", message)}

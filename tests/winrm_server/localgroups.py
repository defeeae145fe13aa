"""Local groups as Windows shows them to the capture script, in the host's display language.

A host is described by its groups (localized name, SID, members with SIDs). The test host renders
what the received script asks for: the current script reads membership with SIDs
(Get-LocalGroupMember, ADSI's objectSid; capture.ps1 "[i13] local group membership by SID"), an
older one read `net localgroup NAME` text, which carries names only, in the display language.
Get-LocalGroupMember fails on a group holding an orphaned SID ("Failed to compare two elements in
the array", PowerShell#2996); the script then reads that group through ADSI, where such a member
has its SID for a name.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import yaml

SID_SCRIPT = "Get-LocalGroupMember -SID"  # how a script that reads members by SID is recognised


@dataclass
class Member:
    name: str | None  # None: an orphaned SID (the account was deleted); no name translates
    sid: str
    kind: str = "User"


@dataclass
class Group:
    name: str
    sid: str
    members: list[Member] = field(default_factory=list)


def render(folder: Path, work: Path, groups: list[Group], script: str) -> Path:
    """A copy of `folder` whose per-group membership is what `script` captures on this host."""
    out = work / "local-groups"
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(folder, out)
    manifest_path = out / "capture.yaml"
    manifest = yaml.safe_load(manifest_path.read_text("utf-8")) or {}
    files = [
        e
        for e in manifest.get("files") or []
        if not str(e.get("path", "")).startswith("local_accounts/net-localgroup-")
    ]
    for old in (out / "local_accounts").glob("net-localgroup-*.txt"):
        old.unlink()
    session = dict(manifest.get("session") or {})
    if SID_SCRIPT in script:
        records, used = [], set()
        for g in groups:
            orphan = any(m.name is None for m in g.members)
            used.add("adsi" if orphan else "Get-LocalGroupMember")
            members = []
            for m in g.members:
                item = {"Name": m.name or m.sid, "SID": m.sid, "ObjectClass": m.kind}
                if not orphan:
                    item["PrincipalSource"] = "Local" if "\\" in (m.name or "") else "Unknown"
                members.append(item)
            records.append({"Name": g.name, "SID": g.sid, "Members": members})
        (out / "local_accounts" / "local-groups.json").write_text(
            json.dumps(records, indent=2, ensure_ascii=False), "utf-8-sig"
        )
        source = ", ".join(sorted(used))
        files.append({"path": "local_accounts/local-groups.json", "kind": "local_accounts"})
        session["local_groups_source"] = source
    else:
        for g in groups:
            rel = f"local_accounts/net-localgroup-{g.name}.txt"
            lines = [
                f"PS C:\\> net localgroup {g.name}",
                f"Diğer ad     {g.name}",
                "Açıklama     ",
                "",
                "Üyeler",
                "",
                "-" * 79,
                *[m.name or "" for m in g.members if m.name],
                "Komut başarıyla tamamlandı.",
            ]
            (out / rel).write_text("\r\n".join(lines) + "\r\n", "utf-8-sig")
            files.append({"path": rel, "kind": "local_accounts", "group": g.name})
    manifest["files"] = files
    if session:
        manifest["session"] = session
    manifest_path.write_text(json.dumps(manifest, indent=1, default=str), "utf-8")
    return out

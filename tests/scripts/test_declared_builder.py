"""The declared-snapshot builder (capture/scripts/declared.py) through the importer, with a script parser
made the way every script kind is (declared = True, sections decided by what was stated)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from iisguard.capture import registry
from iisguard.capture.base import Artifact, Builder
from iisguard.capture.importer import build_snapshot
from iisguard.capture.scripts.declared import LITERAL, Declared, Unresolved
from iisguard.engine.evaluate import Selected, evaluate
from iisguard.engine.findings import Outcome
from iisguard.errors import CaptureError
from iisguard.model import snapshot as snapmod
from iisguard.plugins import load_plugins


class _LineScript:
    """A toy script kind: `pool NAME TYPE [USER]`, `password NAME`, `grant PATH WHO RIGHT`, `site NAME PATH POOL`."""

    kind = "toy_script"
    declared = True
    sections: tuple[str, ...] = ()

    def detect(self, head: str, name: str) -> float:
        return 0.95 if head.startswith("#toy") else 0.0

    def parse(self, artifact: Artifact, builder: Builder) -> None:
        d = Declared.of(builder)
        for no, line in enumerate(artifact.lines(), 1):
            words = line.split()
            at = d.at(artifact, no)
            if words[:1] == ["pool"]:
                user = words[3] if len(words) > 3 else None
                d.pool_identity(
                    words[1],
                    at,
                    identity_type=words[2],
                    user=Unresolved("$cred") if user == "$cred" else user,
                )
            elif words[:1] == ["password"]:
                d.pool_identity(words[1], at, password=LITERAL)
            elif words[:1] == ["grant"]:
                d.acl_grant(words[1], words[2], [words[3]], at, inheritance=["OI", "CI"])
            elif words[:1] == ["site"]:
                d.site(words[1], at, physical_path=words[2], app_pool=words[3])


def _art(tmp_path: Path, name: str, text: str) -> Artifact:
    f = tmp_path / name
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(text)
    return Artifact(source=f, path=name)


def _build(tmp_path: Path, text: str) -> dict[str, Any]:
    return build_snapshot(
        [_art(tmp_path, "build/setup.toy", text)],
        host="IMAGE",
        parsers=[*registry.builtin_parsers(), _LineScript()],
    )


SCRIPT = """#toy
pool Payroll 0
pool Web 3 CORP\\svc_web
password Web
pool Api SpecificUser $cred
site Shop C:\\inetpub\\shop Web
grant C:\\inetpub\\shop Everyone M
"""


def test_declared_snapshot_is_valid_and_marked(tmp_path: Path) -> None:
    data = _build(tmp_path, SCRIPT)
    assert not snapmod.problems(data)
    assert data["collection"]["source"] == "declared"
    pools = {p["name"]: p for p in data["iis"]["app_pools"]}
    assert pools["Payroll"]["identity"] == {"type": "LocalSystem"}
    assert pools["Payroll"]["evidence"] == {"artifact": "build/setup.toy", "line": 2}
    assert pools["Web"]["identity"] == {
        "type": "SpecificUser",
        "user": "CORP\\svc_web",
        "password": {"present": True},
    }
    # the user computed at run time is unknown, never guessed
    assert "user" not in pools["Api"]["identity"]
    assert data["declared"]["unresolved"] == [
        {
            "what": "application pool 'Api' userName",
            "reason": "$cred",
            "evidence": {"artifact": "build/setup.toy", "line": 5},
        }
    ]
    assert data["declared"]["secrets"] == [
        {
            "context": "password of application pool 'Web'",
            "evidence": {"artifact": "build/setup.toy", "line": 4},
        }
    ]
    status = {s["name"]: s for s in data["collection"]["sections"]}
    assert status["iis"]["status"] == "ok" and status["acls"]["status"] == "ok"
    assert status["user_rights"] == {
        "name": "user_rights",
        "status": "absent",
        "message": "not stated by the build scripts",
    }


def test_same_rules_fire_and_unstated_sections_are_not_applicable(tmp_path: Path) -> None:
    data = _build(tmp_path, SCRIPT)
    plugins = load_plugins(entry_points=False, builtin_rules=True)
    selected = [Selected(r, r.severity, r.default_parameters()) for r in plugins.rules.values()]
    result = evaluate(snapmod.Snapshot(data, "declared.json"), selected)
    by_rule: dict[str, list[Any]] = {}
    for f in result.findings:
        by_rule.setdefault(f.rule_id, []).append(f)
    localsystem = [f for f in by_rule["IIS-POOL-001"] if f.outcome is Outcome.FAIL]
    assert [(f.evidence.artifact, f.evidence.line) for f in localsystem] == [("build/setup.toy", 2)]
    assert any(f.outcome is Outcome.FAIL for f in by_rule["IIS-ACL-003"])  # Everyone:(M) on a content root
    # only what the script states but computes at run time (pool Api's account) is not reviewed
    unreviewed = {f.resource for f in result.findings if f.outcome is Outcome.NOT_REVIEWED}
    assert unreviewed == {"app_pools/Api"}
    assert all(
        f.evidence is not None
        and (f.evidence.artifact, f.evidence.line) == ("build/setup.toy", 5)
        and "computes identity.user at run time" in f.message
        for f in result.findings
        if f.outcome is Outcome.NOT_REVIEWED
    )
    assert all(f.outcome is Outcome.NOT_APPLICABLE for f in by_rule["IIS-PRIV-001"])
    assert not result.gaps


def test_scripts_and_captures_are_not_merged(tmp_path: Path) -> None:
    whoami = _art(
        tmp_path,
        "whoami.txt",
        "PRIVILEGES INFORMATION\n----------------------\n\nPrivilege Name                Description                    State\n============================= ============================== ========\nSeChangeNotifyPrivilege       Bypass traverse checking       Enabled\n",
    )
    with pytest.raises(CaptureError, match="not merged into one snapshot"):
        build_snapshot(
            [_art(tmp_path, "setup.toy", SCRIPT), whoami],
            parsers=[*registry.builtin_parsers(), _LineScript()],
        )


def test_script_stating_nothing_is_a_gap(tmp_path: Path) -> None:
    data = _build(tmp_path, "#toy\nnothing here\n")
    plugins = load_plugins(entry_points=False, builtin_rules=True)
    selected = [Selected(r, r.severity, r.default_parameters()) for r in plugins.rules.values()]
    result = evaluate(snapmod.Snapshot(data, "declared.json"), selected)
    assert result.gaps == [
        "IMAGE: the build scripts state nothing iisguard judges (no app pool, site, anonymous user, account, "
        "right, ACL or SPN)"
    ]

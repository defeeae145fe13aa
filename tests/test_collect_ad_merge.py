"""AD data captured apart from the server (second hop) and merged into its snapshot at import."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from iisguard.cli import main
from iisguard.collect.script import capture_script

ROOT = Path(__file__).resolve().parents[1]
FARM = ROOT / "fixtures" / "hosts" / "farm-web01" / "captures"
NOT_COLLECTED = (
    "not collected: AD, setspn and UNC content need a delegated credential: use --transport kerberos "
    "--delegate, or credssp, or import AD data captured on a domain-joined admin workstation"
)


def _split(tmp: Path) -> tuple[Path, Path]:
    """The server's capture without AD (as -NoDelegation leaves it) and an -AdOnly capture of the rest."""
    server, ad = tmp / "server", tmp / "ad"
    shutil.copytree(FARM, server)
    ad.mkdir()
    for part in ("ad", "spn"):
        shutil.move(str(server / part), str(ad / part))
    manifest = (server / "capture.yaml").read_text("utf-8")
    (server / "capture.yaml").write_text(
        manifest
        + "sections:\n"
        + "".join(
            f"  - {{name: {n}, status: failed, message: {json.dumps(NOT_COLLECTED)}}}\n"
            for n in ("ad", "spns")
        ),
        "utf-8",
    )
    (ad / "capture.yaml").write_text(
        "host: FARM-WEB01\nsections:\n  - {name: ad, status: ok}\n  - {name: spns, status: ok}\n", "utf-8"
    )
    return server, ad


def _facts(value):
    """Facts without their evidence (the artifact paths differ between the two imports)."""
    if isinstance(value, dict):
        return {k: _facts(v) for k, v in value.items() if k != "evidence"}
    if isinstance(value, list):
        return [_facts(v) for v in value]
    return value


def _sections(path: Path) -> dict[str, dict]:
    return {s["name"]: s for s in json.loads(path.read_text("utf-8"))["collection"]["sections"]}


def test_ad_capture_replaces_not_collected(tmp_path, capsys):
    server, ad = _split(tmp_path)
    alone, merged, whole = tmp_path / "alone.json", tmp_path / "merged.json", tmp_path / "whole.json"
    assert main(["import", str(server), "-o", str(alone)]) == 0
    assert main(["import", str(server), str(ad), "-o", str(merged)]) == 0
    assert main(["import", str(FARM), "-o", str(whole)]) == 0
    capsys.readouterr()
    assert _sections(alone)["ad"] == {"name": "ad", "status": "failed", "message": NOT_COLLECTED}
    for name in ("ad", "spns"):  # what the AD capture's own files say (this fixture's are partial)
        assert _sections(merged)[name] == _sections(whole)[name] != _sections(alone)[name]
    got, want = json.loads(merged.read_text("utf-8")), json.loads(whole.read_text("utf-8"))
    assert want["ad"] and _facts(got["ad"]) == _facts(want["ad"])  # the same directory facts
    assert _facts(got["spns"]) == _facts(want["spns"])


def test_a_real_failure_is_not_replaced(tmp_path, capsys):
    """Only "not collected" gives way: a failure the server reported itself still counts."""
    server, ad = _split(tmp_path)
    text = (
        (server / "capture.yaml")
        .read_text("utf-8")
        .replace(json.dumps(NOT_COLLECTED), '"LDAP: access denied"')
    )
    (server / "capture.yaml").write_text(text, "utf-8")
    out = tmp_path / "merged.json"
    main(["import", str(server), str(ad), "-o", str(out)])
    capsys.readouterr()
    assert _sections(out)["ad"]["status"] == "failed"


def test_script_has_the_ad_only_part():
    script = capture_script()
    assert "[switch]$AdOnly" in script and "[string]$ForHost" in script and "[string[]]$Accounts" in script
    assert "if ($AdOnly -and $Name -ne 'ad' -and $Name -ne 'spns') { return }" in script
    assert "capture.ps1 -AdOnly -ForHost " in script  # the not-collected message says how

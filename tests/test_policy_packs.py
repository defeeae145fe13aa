"""Organization packs for real: the example pack installs from its folder with pip and runs; a pack
whose import fails is named with its version, stops the scan (exit 2) and can be skipped."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from iisguard.cli import main

from .policy_support import SNAPSHOT

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def pip_install(folder: Path, target: Path) -> None:
    """`pip install <folder>` into `target`, as a user would (a copy is built, so the checkout stays clean)."""
    src = target.parent / f"src-{folder.name}"
    shutil.copytree(folder, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(src),
        ],
        check=True,
        capture_output=True,
        text=True,
    )


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """Install example packs into a fresh folder on sys.path (like site-packages), with the shipped profiles."""
    target = tmp_path / "site"
    monkeypatch.syspath_prepend(str(target))
    monkeypatch.delenv("IISGUARD_POLICIES", raising=False)
    monkeypatch.chdir(tmp_path)

    def install(name: str) -> Path:
        pip_install(EXAMPLES / name, target)
        importlib.invalidate_caches()
        return target

    yield install
    for mod in [m for m in sys.modules if m.startswith(("acme_iisguard", "broken_iisguard"))]:
        del sys.modules[mod]


def run(capsys, *argv):
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_example_pack_installs_lists_and_runs(installed, capsys, tmp_path):
    target = installed("acme-iisguard-pack")
    assert (target / "acme_iisguard_pack-1.0.0.dist-info" / "entry_points.txt").read_text().split() == [
        "[iisguard]",
        "acme",
        "=",
        "acme_iisguard",
    ]

    code, out, _ = run(capsys, "plugins", "--format", "json")
    acme = next(p for p in json.loads(out) if p["name"] == "acme")
    assert (acme["version"], acme["status"], acme["builtin"]) == ("1.0.0", "loaded", False)
    assert acme["rules"] == ["ACME-SITE-001", "ACME-ACCT-001"]

    code, out, _ = run(capsys, "scan", SNAPSHOT, "--rule", "ACME-*", "-f", "json")
    doc = json.loads(out)
    got = {(f["rule_id"], f["resource"]): f["outcome"] for f in doc["findings"]}
    assert got == {
        ("ACME-SITE-001", "sites/Default Web Site"): "fail",
        ("ACME-ACCT-001", "app_pools/DefaultAppPool"): "not_applicable",
        ("ACME-ACCT-001", "app_pools/LegacyCRM"): "not_applicable",
        ("ACME-ACCT-001", "app_pools/Legacy32"): "fail",
        ("ACME-ACCT-001", "app_pools/Shop"): "not_applicable",
    }
    assert code == 1  # ACME-SITE-001 is medium
    assert {f["pack"] for f in doc["findings"]} == {"acme"}

    # The pack's own tests pass against the installed pack, and `iisguard rules test` runs its cases.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), os.environ.get("PYTHONPATH", "")])}
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLES / "acme-iisguard-pack" / "tests")],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert tests.returncode == 0, tests.stdout + tests.stderr
    code, out, _ = run(capsys, "rules", "test", EXAMPLES / "acme-iisguard-pack" / "fixtures" / "rules")
    assert code == 0 and "5 case(s): 5 passed, 0 failed" in out


def test_broken_pack_is_named_stops_the_scan_and_can_be_skipped(installed, capsys):
    installed("broken-iisguard-pack")
    code, _, err = run(capsys, "scan", SNAPSHOT)
    assert code == 2
    assert (
        "rule pack failed to load: broken 0.3.1: ModuleNotFoundError: No module named 'acme_internal_sdk'"
        in err
    )
    assert "--skip-broken-plugins" in err

    code, out, _ = run(capsys, "scan", SNAPSHOT, "--skip-broken-plugins", "-f", "json", "--fail-on", "never")
    assert code in (0, 3)  # the other packs' rules ran
    doc = json.loads(out)
    assert doc["findings"], "the scan ran without the broken pack"
    assert any(n["kind"] == "plugin" and "broken 0.3.1" in n["message"] for n in doc["notices"])

    code, out, _ = run(capsys, "plugins")
    assert code == 2 and "broken 0.3.1" in out and "BROKEN" in out

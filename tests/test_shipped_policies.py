"""Profiles, framework mappings and the example policy ship inside the package (importlib.resources).

Before, they were found by walking up from the source file to a `policies/` folder of the checkout:
an installed wheel had none, so `--profile cis-iis10` and `extends: baseline` failed and a plain scan
silently ran without the default profile.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from iisguard.cli import main
from iisguard.engine import frameworks, policy

from .conftest import FIXTURES, ROOT

SNAPSHOT = FIXTURES / "hosts" / "demo-misconfigured" / "snapshot.json"


def test_policies_are_found_inside_the_package(monkeypatch):
    import iisguard

    monkeypatch.delenv("IISGUARD_POLICIES", raising=False)
    folder = frameworks.policies_dir()
    assert folder == Path(iisguard.__file__).parent / "policies"
    assert policy.available_profiles() == ["baseline", "cis-iis10", "stig-iis10"]
    assert frameworks.available() == ["cis-iis10", "stig-iis10"]
    assert (folder / "examples" / "acme-policy.yaml").is_file()


@pytest.mark.slow
def test_the_wheel_carries_profiles_frameworks_and_the_example(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", tmp_path, ROOT],
        check=True, capture_output=True, cwd=tmp_path,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("iisguard-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "profiles/baseline.yaml",
        "profiles/cis-iis10.yaml",
        "profiles/stig-iis10.yaml",
        "frameworks/cis-iis10.yaml",
        "frameworks/stig-iis10.yaml",
        "examples/acme-policy.yaml",
    ):
        assert f"iisguard/policies/{name}" in names


def test_a_missing_default_profile_is_an_error_not_silence(monkeypatch, tmp_path, capsys):
    (tmp_path / "profiles").mkdir()
    monkeypatch.setenv("IISGUARD_POLICIES", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    code = main(["scan", str(SNAPSHOT)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"the default profile 'baseline' is missing from {tmp_path / 'profiles'}" in err


def test_shipped_profiles_frameworks_and_extends_work_from_anywhere(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("IISGUARD_POLICIES", raising=False)
    monkeypatch.chdir(tmp_path)
    for profile in ("cis-iis10", "stig-iis10"):
        assert main(["scan", str(SNAPSHOT), "--profile", profile, "-f", "json", "--fail-on", "never"]) == 0
        assert f'"profile": "{profile}"' in capsys.readouterr().out
    assert main(["rules", "list", "--framework", "stig-iis10"]) == 0
    assert "V-218" in capsys.readouterr().out
    # The example policy, as a user gets it from the installed package, extends `baseline`.
    assert main(["policy", "example"]) == 0
    (tmp_path / "iisguard.yaml").write_text(capsys.readouterr().out, "utf-8")
    assert main(["policy", "check", "iisguard.yaml"]) == 0
    assert main(["scan", str(SNAPSHOT), "-f", "json", "--fail-on", "never"]) == 0
    out = capsys.readouterr().out
    assert '"profile": "baseline"' in out and "ACME-" in out

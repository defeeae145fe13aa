"""The golden image's build scripts (fixtures/scripts/golden-image): import and scan as a user does.

The fixture is a realistic set written for these tests (the passwords are fake): `iis-pools.ps1`
(pools, sites, a literal pool password through a variable, a pool set to LocalSystem, an
Everyone:(M) grant on a site's folder, an account from Get-Credential), `accounts.ps1` (a local
account with a ConvertTo-SecureString -AsPlainText password, a Users:(M) grant outside any site, AD
flags, unconstrained delegation, an SPN) and `intranet.cmd` (CRLF batch: appcmd pools, site and
anonymous user with a literal password, a password from an environment variable, icacls, ntrights,
setspn). fixtures/scripts/ holds no README: a folder of scripts is imported whole.

Findings land at the exact script lines, the same misconfiguration as a script and as a captured
server fires the same rules, and the three passwords in the scripts reach no output: snapshot,
reports in every format, standard output and error, warnings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from iisguard.cli import main

from ..conftest import ROOT

SCRIPTS = ROOT / "fixtures" / "scripts" / "golden-image"
SECRETS = ("Summer2026!Payroll", "Winter2026!Local", "Autumn2026!Anon")
# (rule, script, line) of every active failure of the baseline profile on the golden image.
EXPECTED = {
    ("IIS-POOL-001", "iis-pools.ps1", 30),  # Set-ItemProperty ... processModel.identityType -Value 0
    ("IIS-ACL-003", "iis-pools.ps1", 43),  # icacls ... /grant "Everyone:(OI)(CI)M" on the Shop site's folder
    ("IIS-SCRIPT-001", "iis-pools.ps1", 18),  # $svcPassword = '...' used as the Payroll pool's password
    ("IIS-SCRIPT-001", "accounts.ps1", 4),  # ConvertTo-SecureString '...' -AsPlainText
    ("IIS-SCRIPT-001", "intranet.cmd", 6),  # set ANON_PW=... used as /password: of the anonymous user
    ("IIS-SCRIPT-002", "accounts.ps1", 10),  # Users:(M) on D:\uploads, no site's folder
    ("IIS-SCRIPT-003", "accounts.ps1", 15),  # svc_batch trusted for delegation
    ("IIS-KRB-007", "accounts.ps1", 14),  # the Payroll pool's account trusted for delegation
    ("IIS-KRB-006", "accounts.ps1", 14),  # ... with an SPN and a password that never expires
    ("IIS-CRED-003", "intranet.cmd", 12),  # a custom anonymous user with a stored password
    ("IIS-HOST-001", "accounts.ps1", 5),  # a local account added to IIS_IUSRS
    ("IIS-POOL-003", "intranet.cmd", 9),  # the Intranet pool's account holds SeTcbPrivilege ...
    ("IIS-PRIV-002", "intranet.cmd", 17),  # ... granted by ntrights on this line
    ("IIS-POOL-007", "intranet.cmd", 9),  # a plain domain user as a pool identity
    ("IIS-CFG-018", "iis-pools.ps1", 41),  # a site's content on C:, the system drive (low; #19)
    ("IIS-CFG-018", "iis-pools.ps1", 42),  # the other site's, too
}


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "iisguard", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository holding the build scripts at build/, as a pull request sees it."""
    root = tmp_path_factory.mktemp("repo")
    (root / "build").mkdir()
    for f in SCRIPTS.iterdir():
        (root / "build" / f.name).write_bytes(f.read_bytes())
    return root


def _fails(sarif: dict) -> set[tuple[str, str, int]]:
    out = set()
    for result in sarif["runs"][0]["results"]:
        loc = result["locations"][0]["physicalLocation"]
        out.add((result["ruleId"], loc["artifactLocation"]["uri"], loc["region"]["startLine"]))
    return out


def test_import_is_a_declared_snapshot(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "declared.json"
    done = _run("import", str(repo / "build"), "-o", str(out), cwd=repo)
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text())
    assert data["collection"]["source"] == "declared"
    kinds = {Path(a["path"]).name: a["kind"] for a in data["collection"]["artifacts"]}
    assert kinds == {
        "iis-pools.ps1": "powershell_script",
        "accounts.ps1": "powershell_script",
        "intranet.cmd": "batch_script",
    }
    assert _run("validate", str(out), cwd=repo).returncode == 0
    # The API pool's account comes from Get-Credential: unknown, never guessed.
    api = next(p for p in data["iis"]["app_pools"] if p["name"] == "Api")
    assert "user" not in api["identity"] and api["unresolved"] == ["identity.user"]
    reasons = {u["what"]: u["reason"] for u in data["declared"]["unresolved"]}
    assert reasons["application pool 'Api' userName"] == "Get-Credential (asks at run time)"
    assert "application pool 'Intranet' password" in reasons  # %INTRANET_PW% is not set by the script
    # Statuses say what the scripts state; the rest is not stated.
    status = {s["name"]: s["status"] for s in data["collection"]["sections"]}
    assert status == {
        "iis": "ok",
        "acls": "ok",
        "user_rights": "ok",
        "local_accounts": "ok",
        "principals": "ok",
        "ad": "ok",
        "spns": "ok",
        "tokens": "absent",
        "services": "absent",
        "web_configs": "absent",
        "registry": "absent",
        "features": "absent",
    }


def test_scan_scripts_reports_at_the_script_lines(repo: Path, tmp_path: Path) -> None:
    """`scan --scripts` from a subfolder, with --sarif-root at the repository root."""
    sub = repo / "build"
    sarif = tmp_path / "scripts.sarif"
    done = _run("scan", "--scripts", ".", "--sarif-root", str(repo), "--format", f"sarif:{sarif}", cwd=sub)
    assert done.returncode == 1, done.stderr
    log = json.loads(sarif.read_text())
    assert log["runs"][0]["invocations"][0]["executionSuccessful"] is True
    assert _fails(log) == {(rule, f"build/{script}", line) for rule, script, line in EXPECTED}


def test_secrets_reach_no_output(repo: Path, tmp_path: Path) -> None:
    formats = ["sarif", "json", "text", "html", "junit", "ckl", "cklb", "hdf"]
    args = ["scan", "--scripts", "build", "--include-passes"]
    for fmt in formats:
        args += ["--format", f"{fmt}:{tmp_path / ('out.' + fmt)}"]
    done = _run(*args, cwd=repo)
    assert done.returncode == 1, done.stderr
    snapshot = tmp_path / "declared.json"
    imported = _run("import", "build", "-o", str(snapshot), cwd=repo)
    texts = {p.name: p.read_text(errors="replace") for p in tmp_path.iterdir()}
    texts |= {"scan stdout": done.stdout, "scan stderr": done.stderr, "import stderr": imported.stderr}
    assert len(texts) == len(formats) + 4
    for name, text in texts.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret} in {name}"
    # ... while the snapshot still says where each one is
    data = json.loads(snapshot.read_text())
    lines = {
        (Path(s["evidence"]["artifact"]).name, s["evidence"]["line"]) for s in data["declared"]["secrets"]
    }
    assert lines == {("iis-pools.ps1", 18), ("accounts.ps1", 4), ("intranet.cmd", 6)}


APPHOST = """<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <system.applicationHost>
    <applicationPools>
      <add name="Reporting"><processModel identityType="LocalSystem" /></add>
      <add name="ShopPool" />
      <applicationPoolDefaults><processModel identityType="ApplicationPoolIdentity" /></applicationPoolDefaults>
    </applicationPools>
    <sites>
      <site name="Shop" id="2">
        <application path="/" applicationPool="ShopPool">
          <virtualDirectory path="/" physicalPath="%SystemDrive%\\inetpub\\shop" />
        </application>
        <bindings><binding protocol="https" bindingInformation="*:443:shop.corp.example" /></bindings>
      </site>
    </sites>
  </system.applicationHost>
</configuration>
"""
ICACLS = """C:\\inetpub\\shop Everyone:(OI)(CI)(M)
                NT AUTHORITY\\SYSTEM:(I)(OI)(CI)(F)
                BUILTIN\\Administrators:(I)(OI)(CI)(F)

Successfully processed 1 files; Failed processing 0 files
"""
SCRIPT = """Import-Module WebAdministration
New-WebAppPool -Name Reporting
Set-ItemProperty IIS:\\AppPools\\Reporting -Name processModel -Value @{identityType='LocalSystem'}
New-WebAppPool -Name ShopPool
New-Website -Name Shop -PhysicalPath "$env:SystemDrive\\inetpub\\shop" -ApplicationPool ShopPool -Port 443 -Ssl
icacls "$env:SystemDrive\\inetpub\\shop" /grant "Everyone:(OI)(CI)M"
"""


def test_same_misconfiguration_as_script_and_as_server_fires_the_same_rules(tmp_path: Path) -> None:
    (tmp_path / "server").mkdir()
    (tmp_path / "server" / "applicationHost.config").write_text(APPHOST)
    (tmp_path / "server" / "icacls-shop.txt").write_text(ICACLS)
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "shop.ps1").write_text(SCRIPT)
    results = {}
    for name in ("server", "build"):
        snap = tmp_path / f"{name}.json"
        assert main(["import", str(tmp_path / name), "-o", str(snap), "--host", "WEB01"]) == 0
        report = tmp_path / f"{name}.report.json"
        main(
            ["scan", str(snap), "--format", f"json:{report}", "--rule", "IIS-POOL-001", "--rule", "IIS-ACL-*"]
        )
        findings = json.loads(report.read_text())["findings"]
        results[name] = {(f["rule_id"], f["resource"]) for f in findings if f["outcome"] == "fail"}
    assert results["server"] == {
        ("IIS-POOL-001", "app_pools/Reporting"),
        ("IIS-ACL-003", "acls/C:\\inetpub\\shop"),
    }
    # The same rules, on the same pool and folder (the script names it %SystemDrive%\inetpub\shop).
    assert results["build"] == {
        ("IIS-POOL-001", "app_pools/Reporting"),
        ("IIS-ACL-003", "acls/%SystemDrive%\\inetpub\\shop"),
    }


def test_scripts_and_captures_are_never_merged(repo: Path, tmp_path: Path) -> None:
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "shop.ps1").write_text(SCRIPT)
    (mixed / "applicationHost.config").write_text(APPHOST)
    done = _run("import", str(mixed), "-o", str(tmp_path / "m.json"), cwd=tmp_path)
    assert done.returncode == 2
    assert "build scripts and server captures" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "m.json").exists()


def test_a_folder_without_a_script_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("Remember to rotate the image every month.\n")
    done = _run("scan", "--scripts", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2 and "nothing imported" in done.stderr


def test_scripts_that_state_nothing_are_exit_3(tmp_path: Path) -> None:
    (tmp_path / "banner.ps1").write_text(
        "$ErrorActionPreference = 'Stop'\nWrite-Host 'Configuring the image'\n"
    )
    done = _run("scan", "--scripts", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 3, done.stderr
    assert "the build scripts state nothing iisguard judges" in done.stderr


def test_without_the_scripts_extra_the_message_names_it(repo: Path, tmp_path: Path) -> None:
    """tree-sitter missing (a plain install): PowerShell needs `iisguard[scripts]`; exit 2, no traceback."""
    code = (
        "import sys; sys.modules['tree_sitter'] = None; sys.modules['tree_sitter_powershell'] = None\n"
        "from iisguard.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    env = dict(os.environ)
    done = subprocess.run(
        [sys.executable, "-c", code, "import", "build", "-o", str(tmp_path / "d.json")],
        cwd=repo, capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2
    assert "pip install 'iisguard[scripts]'" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "d.json").exists()
    # A batch file needs no extra.
    done = subprocess.run(
        [sys.executable, "-c", code, "import", "build/intranet.cmd", "-o", str(tmp_path / "b.json")],
        cwd=repo, capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr

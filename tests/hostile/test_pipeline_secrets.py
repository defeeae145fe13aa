"""Issue #18: the whole pipeline leaks no secret. Passwords are planted in every place a capture, a
server or a library could carry them; `iisguard --debug collect` runs against the loopback
WS-Management test server (tests/winrm_server), then `import` and `scan` to every report format; no
secret appears in any snapshot, report, kept artifact's derived output, stdout/stderr, log record or
error line.

Planted: the collection password itself (and its Basic and UTF-16 forms), a clear-text pool password
and an `[enc:...:enc]` blob in applicationHost.config, a connection string in web.config and in a
stray icacls line, an AD description, a `ConvertTo-SecureString ... -AsPlainText` line, `password=`
in a WS-Management fault text and in CLIXML errors from the script, a capture.yaml section message,
and an `environment:` key.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from iisguard.capture.stream import encode
from iisguard.collect.script import capture_script

from ..conftest import FIXTURES
from ..winrm_server import HostConfig, WinRMTestServer, clixml, make_tls_files

CAPTURES = FIXTURES / "hosts" / "demo-misconfigured" / "captures"
AD_USER = FIXTURES / "hosts" / "farm-web01" / "captures" / "ad" / "Get-ADUser_svc_webfarm.json"
PASSWORD = "Coll3ct-Pa55!word"  # the collection password
SECRETS = {
    "pool": "PoolClear-Secret-11",
    "enc": "EncBlob0Secret0Payload0x22",
    "connection": "ConnStr-Secret-33",
    "ad": "AdDesc-Secret-44",
    "plaintext": "AsPlain-Secret-55",
    "fault": "Fault-Secret-66",
    "clixml": "Clixml-Secret-77",
    "yaml": "Yaml-Secret-88",
    "environment": "Env-Secret-99",
    "stray": "Stray-Secret-10",
}
FORMATS = ("sarif", "junit", "json", "text", "html", "ckl", "cklb", "hdf")


def forms() -> list[str]:
    """Every secret, and the collection password as it travels (Basic header, UTF-16 hex)."""
    return [
        *SECRETS.values(),
        PASSWORD,
        base64.b64encode(f"scanner:{PASSWORD}".encode()).decode(),
        PASSWORD.encode("utf-16-le").hex(),
    ]


def plant(folder: Path) -> Path:
    """The demo host's captures with a secret in every place a compromised server could put one."""
    shutil.copytree(CAPTURES, folder)
    config = folder / "iis" / "applicationHost.config"
    text = config.read_text("utf-8")
    text = text.replace('password="FAKE-demo-password-not-real"', f'password="{SECRETS["pool"]}"')
    text = text.replace(
        "AAAAAEZBS0UtZGVtby1ibG9iLW5vdC1hLXJlYWwtc2VjcmV0AAAA", SECRETS["enc"]
    )  # the [enc:IISCngProvider:...:enc] blob
    config.write_text(text, "utf-8")
    webconfig = next((folder / "webconfig").rglob("web.config"))
    webconfig.write_text(
        webconfig.read_text("utf-8").replace(
            "<configuration>",
            '<configuration><connectionStrings><add name="db" connectionString="Server=db;User ID=sa;'
            f'Password={SECRETS["connection"]};" /></connectionStrings>',
            1,
        ),
        "utf-8",
    )
    listing = sorted((folder / "acls").iterdir())[0]
    lines = listing.read_text("utf-8").splitlines()
    lines[1:1] = [
        f"password for svc is {SECRETS['stray']} (Server=db;Password={SECRETS['connection']})",
        f'$p = ConvertTo-SecureString "{SECRETS["plaintext"]}" -AsPlainText -Force',
        f"net use \\\\db\\c$ /user:CORP\\scanner {PASSWORD}",
    ]
    listing.write_text("\n".join(lines) + "\n", "utf-8")
    (folder / "ad").mkdir()
    (folder / "ad" / AD_USER.name).write_text(
        AD_USER.read_text("utf-8").replace("pw Summer2016!", f"pw {SECRETS['ad']}"), "utf-8"
    )
    manifest = folder / "capture.yaml"
    manifest.write_text(
        manifest.read_text("utf-8")
        + f"""environment:
  SystemDrive: "C:"
  DB_PASSWORD: "{SECRETS["environment"]}"
""",
        "utf-8",
    )
    return folder


def run(args: list, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "iisguard", "--debug", *map(str, args)],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=300, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("transport", ["basic", "ntlm"])
def test_no_secret_leaves_collect_import_or_scan(tmp_path, transport):
    folder = plant(tmp_path / "cap")
    sections = [
        {
            "name": "ad",
            "status": "failed",
            "message": f"Get-ADUser failed: -Password {SECRETS['yaml']} rejected",
        }
    ]
    stream = encode(folder, sections=sections).encode("utf-8")
    stderr = clixml([
        # PowerShell's own wording when a plain string is passed where a SecureString is wanted
        f"New-LocalUser : Cannot bind parameter 'Password'. Cannot convert the \"{SECRETS['clixml']}\" value "
        'of type "System.String" to type "System.Security.SecureString".',
        f"Exception calling Open with connection Server=db;Password={SECRETS['clixml']};",
        f"the credential for scanner is {PASSWORD}",
    ])  # fmt: skip
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "IISGUARD_USERNAME": "scanner", "IISGUARD_PASSWORD": PASSWORD}
    outputs: list[str] = []
    tls = make_tls_files(tmp_path / "tls")
    with WinRMTestServer(tmp_path / "srv", users={"scanner": PASSWORD}, tls=tls) as server:
        good = server.add_host(
            HostConfig(name="WEB-LEGACY01", stdout=stream, stderr=stderr, expect_script=capture_script())
        )
        faulty = server.add_host(
            HostConfig(fault="fault500", fault_action="Command", fault_code=2147942405,
                       fault_text=f"Access is denied for scanner (password={SECRETS['fault']}; tried {PASSWORD}).")
        )  # fmt: skip
        common = ["--transport", transport, "--ca-bundle", tls.ca_cert]
        proc = run(
            [
                "collect",
                f"127.0.0.1:{good}",
                *common,
                "-o",
                work / "snap.json",
                "--keep-artifacts",
                work / "kept",
            ],
            env,
            work,
        )
        # exit 3: the ad section failed on the server (a gap), the snapshot is written all the same
        assert proc.returncode == 3 and "iisguard: collected 127.0.0.1" in proc.stderr, proc.stderr[-3000:]
        outputs += [proc.stdout, proc.stderr]
        assert "Starting new HTTPS connection" in proc.stderr  # --debug logging was on
        proc = run(["collect", f"127.0.0.1:{faulty}", *common, "-o", work / "faulty.json"], env, work)
        assert proc.returncode == 3 and "Access is denied" in proc.stderr, proc.stderr[-3000:]
        outputs += [proc.stdout, proc.stderr]
    # The planted files reached the collector: the secrets were really there to leak.
    assert SECRETS["ad"] in (work / "kept" / "ad" / AD_USER.name).read_text("utf-8", "replace")
    kept = work / "kept"
    shutil.move(kept, tmp_path / "kept")  # what the server sent, outside the folder searched below
    proc = run(["import", tmp_path / "kept", "-o", work / "imported.json"], env, work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    outputs += [proc.stdout, proc.stderr]
    proc = run(["import", tmp_path / "kept", "-o", work / "strict.json", "--strict"], env, work)
    assert proc.returncode == 2  # the stray lines are quoted (redacted) and fail --strict
    outputs += [proc.stdout, proc.stderr]
    for snap in ("snap.json", "imported.json"):
        reports = [f"{fmt}:{work / f'{snap}.{fmt}'}" for fmt in FORMATS]
        args = ["scan", work / snap, "--include-passes", "--framework", "stig-iis10", "--fail-on", "never"]
        proc = run([*args, *sum((["--format", r] for r in reports), [])], env, work)
        # 3: the failed ad section is a gap of the snapshot (even with --fail-on never), whether the snapshot
        # was collected or imported from the kept folder (its capture.yaml carries the collected statuses)
        assert proc.returncode == 3, (snap, proc.stderr[-3000:])
        outputs += [proc.stdout, proc.stderr]
        proc = run(["scan", work / snap, "--format", "text", "--fail-on", "never"], env, work)
        outputs += [proc.stdout, proc.stderr]
    written = {p.name: p.read_text("utf-8", "replace") for p in work.rglob("*") if p.is_file()}
    assert {f"snap.json.{fmt}" for fmt in FORMATS} <= set(written), sorted(written)
    warnings = written["imported.json"]
    assert "********" in warnings  # the quoted lines were kept, masked
    for secret in forms():
        for name, text in written.items():
            assert secret not in text, (secret, name)
        for i, text in enumerate(outputs):
            assert secret not in text, (
                secret,
                i,
                text[max(0, text.find(secret) - 300) : text.find(secret) + 100],
            )

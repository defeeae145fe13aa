"""`iisguard collect` end to end against the WS-Management test server.

The server answers the real capture script with what it prints for a fixture host's capture folder
(`iisguard.capture.stream.encode`), so the snapshot collected over WinRM must equal the one
`iisguard import` makes from that folder, apart from collection metadata.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from iisguard.capture.importer import import_paths
from iisguard.capture.stream import encode
from iisguard.cli import main
from iisguard.collect import local
from iisguard.collect.script import capture_script

from .winrm_server import HostConfig, WinRMTestServer, clixml, make_tls_files, receive_capacity

ROOT = Path(__file__).resolve().parents[1]
CAPTURES = sorted(
    p for p in (ROOT / "fixtures" / "hosts").glob("*/captures") if (p / "capture.yaml").is_file()
)
PRIMARY = next((p for p in CAPTURES if p.parent.name == "iis10-default"), CAPTURES[0])
PASSWORD = "S3cr3t-Collect!pass"
METADATA = ("source", "tool_version", "collected_at", "delegation")


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def server(tmp_path, tls, monkeypatch):
    monkeypatch.setenv("IISGUARD_USERNAME", "scanner")
    monkeypatch.setenv("IISGUARD_PASSWORD", PASSWORD)
    with WinRMTestServer(tmp_path / "srv", users={"scanner": PASSWORD}, tls=tls) as srv:
        yield srv


def fixture_host(folder: Path, **kw) -> HostConfig:
    kw.setdefault("stdout", encode(folder).encode("utf-8"))
    return HostConfig(name=folder.parent.name, expect_script=capture_script(), **kw)


def without_metadata(snapshot: dict) -> dict:
    snapshot = json.loads(json.dumps(snapshot))
    for key in METADATA:
        snapshot["collection"].pop(key, None)
    return snapshot


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    assert PASSWORD not in out + err
    return code, out, err


@pytest.mark.parametrize("folder", CAPTURES, ids=[p.parent.name for p in CAPTURES])
def test_collect_equals_import(folder, server, tls, tmp_path, capsys):
    port = server.add_host(fixture_host(folder))
    collected = tmp_path / "collected"
    code, _, err = run(
        capsys,
        "collect",
        f"127.0.0.1:{port}",
        "--ca-bundle",
        str(tls.ca_cert),
        "-o",
        str(collected / "snapshot.json"),
        "--keep-artifacts",
        str(collected / "captures"),
    )
    assert code == 0, err

    # The same folder imported from the same relative place records the same artifact paths.
    imported = tmp_path / "imported"
    shutil.copytree(folder, imported / "captures")
    assert run(capsys, "import", str(imported / "captures"), "-o", str(imported / "snapshot.json"))[0] == 0

    got = json.loads((collected / "snapshot.json").read_text("utf-8"))
    want = json.loads((imported / "snapshot.json").read_text("utf-8"))
    assert got["collection"]["source"] == "winrm" and want["collection"]["source"] == "import"
    assert without_metadata(got) == without_metadata(want)
    # The kept artifacts are the capture folder, byte for byte.
    for path in folder.rglob("*"):
        if path.is_file():
            assert (collected / "captures" / path.relative_to(folder)).read_bytes() == path.read_bytes()


def test_snapshot_to_stdout_over_http_ntlm(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("IISGUARD_USERNAME", "scanner")
    monkeypatch.setenv("IISGUARD_PASSWORD", PASSWORD)
    with WinRMTestServer(tmp_path / "srv", users={"scanner": PASSWORD}) as srv:
        port = srv.add_host(fixture_host(PRIMARY))
        code, out, err = run(capsys, "collect", f"127.0.0.1:{port}", "--http")
        assert srv.stats(port).encrypted_requests == srv.stats(port).wsman_requests
    assert code == 0
    snapshot = json.loads(out)
    want = import_paths([str(PRIMARY)], output=None)
    # Without --keep-artifacts, artifacts are named by their path in the capture folder.
    strip = str(Path(os.path.relpath(PRIMARY, Path.cwd())).as_posix()) + "/"
    want = json.loads(json.dumps(want).replace(f'"{strip}', '"'))
    assert without_metadata(snapshot) == without_metadata(want)
    lines = err.strip().splitlines()
    assert lines[0] == (
        f"iisguard: note: 127.0.0.1:{port}: plain HTTP; the WinRM messages are encrypted by NTLM "
        "message encryption (the HTTP headers are not)"
    )
    assert lines[1].startswith(f"iisguard: collected 127.0.0.1:{port} (host ")
    assert "-> standard output" in lines[1]


def _with_sites(folder: Path, dest: Path, extra: int) -> Path:
    """A copy of a capture folder whose applicationHost.config has `extra` more sites, each with its own pool."""
    shutil.copytree(folder, dest)
    config = dest / "iis" / "applicationHost.config"
    text = config.read_text("utf-8-sig")
    sites = "".join(
        f'<site name="Bulk{i}" id="{1000 + i}"><application path="/" applicationPool="BulkPool{i}">'
        f'<virtualDirectory path="/" physicalPath="C:\\inetpub\\bulk{i}" /></application>'
        f'<bindings><binding protocol="http" bindingInformation="*:80:bulk{i}.example" /></bindings></site>\n'
        for i in range(extra)
    )
    pools = "".join(f'<add name="BulkPool{i}" />\n' for i in range(extra))
    text = text.replace("</sites>", sites + "</sites>", 1).replace(
        "</applicationPools>", pools + "</applicationPools>", 1
    )
    config.write_text(text, "utf-8")
    return dest


def test_requests_per_host_do_not_grow_with_sites(server, tls, tmp_path, capsys):
    """One shell, one command, one Send whatever the site count; Receives follow the bytes, not the sites."""
    seen = {}
    for extra in (0, 25, 400):
        folder = _with_sites(PRIMARY, tmp_path / f"sites{extra}", extra)
        stdout = encode(folder).encode("utf-8")
        port = server.add_host(fixture_host(folder, stdout=stdout, receive_chunk=10**9))
        out = tmp_path / f"sites{extra}.json"
        code, _, err = run(
            capsys, "collect", f"127.0.0.1:{port}", "--ca-bundle", str(tls.ca_cert), "-o", str(out)
        )
        assert code == 0, err
        snapshot = json.loads(out.read_text("utf-8"))
        assert sum(s["name"].startswith("Bulk") for s in snapshot["iis"]["sites"]) == extra
        stats = server.stats(port)
        assert {k: v for k, v in stats.actions.items() if k != "Receive"} == {
            "Create": 1,
            "Command": 1,
            "Send": 1,
            "Signal": 1,
            "Delete": 1,
        }
        # As few Receives as the 500 KB envelope allows (about 370 KB of output each).
        assert stats.actions["Receive"] == -(-len(stdout) // receive_capacity(512000))
        seen[extra] = stats.wsman_requests
    assert seen[0] == seen[25] <= 7  # both fit one or two envelopes
    assert seen[400] <= 12


def test_failed_section_on_the_server_becomes_failed_in_the_snapshot(server, tls, tmp_path, capsys):
    sections = [{"name": "acls", "status": "failed", "message": "Get-Acl: Access is denied"}]
    port = server.add_host(fixture_host(PRIMARY, stdout=encode(PRIMARY, sections=sections).encode()))
    out = tmp_path / "snap.json"
    code, _, err = run(
        capsys, "collect", f"127.0.0.1:{port}", "--ca-bundle", str(tls.ca_cert), "-o", str(out)
    )
    assert code == 3
    snapshot = json.loads(out.read_text("utf-8"))
    acls = next(s for s in snapshot["collection"]["sections"] if s["name"] == "acls")
    assert acls == {"name": "acls", "status": "failed", "message": "Get-Acl: Access is denied"}
    assert (
        "iisguard: warning: section acls failed on the server: Get-Acl: Access is denied; rules that need it "
        "will say not_reviewed"
    ) in err

    report = tmp_path / "report.json"
    run(capsys, "scan", str(out), "--rule", "IIS-ACL-*", "-f", f"json:{report}", "--fail-on", "never")
    findings = json.loads(report.read_text("utf-8"))["findings"]
    assert findings and {f["outcome"] for f in findings} == {"not_reviewed"}


def test_script_errors_are_decoded_from_clixml(server, tls, capsys):
    """A script that dies: its CLIXML error is the one line; progress records are dropped."""
    truncated = encode(PRIMARY).encode()[:3000]
    stderr = clixml(
        [
            "Get-WebConfiguration : Filename: redirection.config",
            "Error: Cannot read configuration file due to insufficient permissions",
            "At line:12 char:5",
        ]
    )
    port = server.add_host(fixture_host(PRIMARY, stdout=truncated, stderr=stderr, exit_code=1))
    code, _, err = run(capsys, "collect", f"127.0.0.1:{port}", "--ca-bundle", str(tls.ca_cert))
    assert code == 3
    assert err.strip() == (
        f"iisguard: error: 127.0.0.1:{port}: the capture script failed (exit code 1): Get-WebConfiguration : "
        "Filename: redirection.config"
    )
    assert "Preparing modules" not in err


def test_script_warnings_with_complete_output_are_kept(server, tls, tmp_path, capsys, caplog):
    stderr = clixml(["Get-ADUser : Unable to contact the server."])
    port = server.add_host(fixture_host(PRIMARY, stderr=stderr))
    out = tmp_path / "snap.json"
    code, _, err = run(
        capsys, "collect", f"127.0.0.1:{port}", "--ca-bundle", str(tls.ca_cert), "-o", str(out)
    )
    assert code == 0
    assert (
        f"127.0.0.1:{port}: the capture script reported: Get-ADUser : Unable to contact the server."
        in caplog.text
    )
    warnings = json.loads(out.read_text("utf-8"))["collection"]["warnings"]
    assert {
        "artifact": None,
        "line": None,
        "message": "the capture script reported: Get-ADUser : Unable to contact the server.",
    } in warnings


def test_output_that_is_not_a_capture_stream(server, tls, capsys):
    port = server.add_host(fixture_host(PRIMARY, stdout=b"Windows PowerShell\r\nPS C:\\> \r\n"))
    code, _, err = run(capsys, "collect", f"127.0.0.1:{port}", "--ca-bundle", str(tls.ca_cert))
    assert code == 3
    assert err.strip() == (
        f"iisguard: error: 127.0.0.1:{port}: the capture script did not run (exit code 0); PowerShell printed: "
        "Windows PowerShell"
    )


def test_unsafe_file_names_in_the_stream_are_refused(server, tls, tmp_path, capsys):
    evil = tmp_path / "evil"
    (evil / "iis").mkdir(parents=True)
    (evil / "iis" / "x.txt").write_text("x")
    stream = encode(evil).replace("name=iis%2Fx.txt", "name=..%2F..%2Fescape.txt")
    port = server.add_host(fixture_host(PRIMARY, stdout=stream.encode()))
    code, _, err = run(
        capsys,
        "collect",
        f"127.0.0.1:{port}",
        "--ca-bundle",
        str(tls.ca_cert),
        "--keep-artifacts",
        str(tmp_path / "kept"),
    )
    assert code == 3 and "unsafe file path: '../../escape.txt'" in err
    assert not (tmp_path / "escape.txt").exists()


def test_no_password_in_any_output_or_log_even_with_debug(server, tls, tmp_path):
    """A real `iisguard --debug collect` process: stdout, stderr (all debug logging), files written."""
    port = server.add_host(fixture_host(PRIMARY))
    reject = server.add_host(HostConfig(fault="reject-auth"))
    forms = [
        PASSWORD,
        base64.b64encode(f"scanner:{PASSWORD}".encode()).decode(),
        PASSWORD.encode("utf-16-le").hex(),
    ]
    env = {**os.environ, "IISGUARD_USERNAME": "scanner", "IISGUARD_PASSWORD": PASSWORD}
    # --debug adds the traceback to the one-line error and keeps the documented exit code (3).
    for transport, target, expect in (("basic", port, 0), ("ntlm", reject, 3)):
        out_dir = tmp_path / f"{transport}-{target}"
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "iisguard",
                "--debug",
                "collect",
                f"127.0.0.1:{target}",
                "--transport",
                transport,
                "--ca-bundle",
                str(tls.ca_cert),
                "-o",
                str(out_dir / "snap.json"),
                "--keep-artifacts",
                str(out_dir / "a"),
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert proc.returncode == expect, proc.stderr[-2000:]
        assert expect == 0 or "CollectionError: 127.0.0.1" in proc.stderr
        assert "Starting new HTTPS connection" in proc.stderr  # debug logging was on
        written = "".join(p.read_text("utf-8", "replace") for p in out_dir.rglob("*") if p.is_file())
        for form in forms:
            assert form not in proc.stdout + proc.stderr + written


def test_local_runs_the_same_script_through_powershell(tmp_path, monkeypatch, capsys):
    """--local on Windows: powershell.exe gets the script on stdin; here a stand-in plays powershell.exe."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "stream.txt").write_text(encode(PRIMARY), "utf-8")
    (tmp_path / "script.ps1").write_text(capture_script(), "utf-8")
    fake = bin_dir / "powershell.exe"
    fake.write_text(
        textwrap.dedent(f"""\
        #!{sys.executable}
        import sys
        import base64
        assert sys.argv[1:5] == ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass"], sys.argv
        assert sys.argv[5] == "-EncodedCommand", sys.argv
        boot = base64.b64decode(sys.argv[6]).decode("utf-16-le")
        assert "ScriptBlock]::Create(" in boot and "-Stream" in boot, boot
        stdin = sys.stdin.buffer.read().decode("utf-8")
        script = open({str(tmp_path / "script.ps1")!r}, encoding="utf-8").read().rstrip()
        assert stdin.rstrip() == script, "not the capture script"
        sys.stdout.buffer.write(open({str(tmp_path / "stream.txt")!r}, "rb").read())
    """)
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir) + os.pathsep + os.environ.get("PATH", ""))
    monkeypatch.setattr(local, "is_windows", lambda: True)
    out = tmp_path / "local.json"
    code, _, err = run(capsys, "collect", "--local", "-o", str(out))
    assert code == 0, err
    got = json.loads(out.read_text("utf-8"))
    assert got["collection"]["source"] == "local"
    want = import_paths([str(PRIMARY)], output=None)
    strip = str(Path(os.path.relpath(PRIMARY, Path.cwd())).as_posix()) + "/"
    want = json.loads(json.dumps(want).replace(f'"{strip}', '"'))
    assert without_metadata(got) == without_metadata(want)


def test_certificate_transport_needs_no_password(server, tls, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("IISGUARD_USERNAME")
    monkeypatch.delenv("IISGUARD_PASSWORD")
    port = server.add_host(fixture_host(PRIMARY, auth=frozenset({"certificate"})))
    out = tmp_path / "snap.json"
    code, _, err = run(
        capsys,
        "collect",
        f"127.0.0.1:{port}",
        "--transport",
        "certificate",
        "--cert",
        str(tls.client_cert),
        "--cert-key",
        str(tls.client_key),
        "--ca-bundle",
        str(tls.ca_cert),
        "-o",
        str(out),
    )
    assert code == 0, err
    assert server.stats(port).users == {"scanner"}
    assert json.loads(out.read_text("utf-8"))["collection"]["source"] == "winrm"

"""Collection against a test server that behaves like Windows where the collector used to assume otherwise.

Each test names the Windows behaviour it reproduces (sources in tests/winrm_server/powershell.py and
server.py); each failed against the collector before issue #13 was worked on.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iisguard.capture import registry, stream
from iisguard.capture.base import Artifact
from iisguard.capture.importer import build_snapshot
from iisguard.cli import main
from iisguard.collect import winrm
from iisguard.collect.credentials import Credentials
from iisguard.collect.script import capture_script
from iisguard.errors import CollectionError, UsageError

from .winrm_server import HostConfig, WinRMTestServer, make_tls_files, powershell

ROOT = Path(__file__).resolve().parents[1]
PRIMARY = ROOT / "fixtures" / "hosts" / "iis10-default" / "captures"
PASSWORD = "W1ndows-L1ke!pass"
USER = Credentials("scanner", PASSWORD)


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def server(tmp_path, tls, monkeypatch):
    monkeypatch.setenv("IISGUARD_USERNAME", "scanner")
    monkeypatch.setenv("IISGUARD_PASSWORD", PASSWORD)
    with WinRMTestServer(tmp_path / "srv", users={"scanner": PASSWORD}, tls=tls) as srv:
        yield srv


def host(**kw) -> HostConfig:
    kw.setdefault("stdout", stream.encode_v2(PRIMARY).encode("utf-8"))
    return HostConfig(name="IIS10-DEFAULT", expect_script=capture_script(), **kw)


def target(port: int, tls, **kw) -> winrm.Target:
    kw.setdefault("read_timeout", 10)
    kw.setdefault("operation_timeout", 5)
    return winrm.make_target(f"127.0.0.1:{port}", transport="basic", ca_bundle=str(tls.ca_cert), **kw)


def collect(capsys, tls, port, *extra):
    code = main(["collect", f"127.0.0.1:{port}", "--ca-bundle", str(tls.ca_cert), *extra])
    out, err = capsys.readouterr()
    assert PASSWORD not in out + err
    return code, out, err


# -- feeding the script (item 6) -----------------------------------------------------------------
def test_command_stdin_rules_as_powershell_reads_them():
    """ConsoleHost InputLoop: a blank line ends block mode and runs what was collected, complete or not."""
    framed = "& {\n$a = 1\n\n$b = 2\n} -Stream\n\n"  # the old framing around a script with a blank line
    read = powershell.read_command_stdin(framed)
    assert read.statements == ["$b = 2"]  # the cut block failed to parse; the rest ran line by line
    assert read.stderr and "Missing closing '}'" in read.stderr[0]
    assert powershell.read_command_stdin("& {\n$a = 1\n}").dropped == "& {\n$a = 1\n}"  # no final blank line
    assert powershell.read_command_stdin("Write-Output 1\n").statements == ["Write-Output 1"]


def test_a_script_with_blank_lines_runs_whole(server, tls):
    """With `-Command -` a blank line inside the script cut it in two; the bootstrap runs it whole."""
    script = "param([switch]$Stream)\n\nif ($Stream) {\n\n    Write-Output 'capture'\n}\n"
    port = server.add_host(HostConfig(stdout=b"whole", expect_script=script))
    raw = winrm.run_script(target(port, tls), USER, script)
    assert raw.stdout.endswith(b"whole") and raw.exit_code == 0
    assert server.stats(port).commands[0][1].endswith(winrm.bootstrap_args(" -NoDelegation")[-1])


def test_a_script_that_does_not_parse_is_reported_as_not_run(server, tls, capsys):
    """A parse error: PowerShell runs nothing. The error says so, with PowerShell's own message."""
    broken = capture_script() + "\nif ($true) { 'unclosed'\n"
    port = server.add_host(host())
    raw = winrm.run_script(target(port, tls), USER, broken)
    assert raw.exit_code == 1
    from iisguard.collect.assemble import snapshot_from_output

    with pytest.raises(CollectionError) as err:
        snapshot_from_output(raw.stdout, raw.stderr, raw.exit_code, where="h", source="winrm")
    assert str(err.value).startswith(
        'h: PowerShell started but did not run the capture script (exit code 1): Exception calling "Create"'
    )


def test_empty_script_is_refused():
    with pytest.raises(UsageError, match="empty"):
        winrm.stdin_payload("\n  \n")


# -- partial output (item 4) ------------------------------------------------------------------------
def _cut_after_section(text: str, section: str) -> int:
    marker = f"IISGUARD-SECTION name={section} "
    at = text.index(marker)
    return text.index("\n", at) + 1 + 200  # a little of the next section's first file


def test_quota_kill_keeps_complete_sections_and_names_the_quota(server, tls, tmp_path, capsys):
    """WinRM kills a shell over MaxMemoryPerShellMB: output stops short, the command ends."""
    text = stream.encode_v2(PRIMARY)
    cut = _cut_after_section(text, "acls")
    port = server.add_host(host(killed_after=cut, killed_exit_code=-1073741801 & 0xFFFFFFFF))
    out = tmp_path / "snap.json"
    code, _, err = collect(capsys, tls, port, "-o", str(out))
    assert code == 3
    snapshot = json.loads(out.read_text("utf-8"))
    sections = {s["name"]: s for s in snapshot["collection"]["sections"]}
    assert sections["iis"]["status"] == "ok" and sections["acls"]["status"] == "ok"
    assert snapshot["acls"] and snapshot["iis"]["sites"]  # what arrived was imported
    for name in ("user_rights", "tokens", "local_accounts", "services"):
        assert sections[name]["status"] == "failed"
        assert "MaxMemoryPerShellMB" in sections[name]["message"]
    assert any("MaxMemoryPerShellMB" in w["message"] for w in snapshot["collection"]["warnings"])


def test_deadline_keeps_complete_sections(server, tls, tmp_path, capsys, monkeypatch):
    """The script never finishes (stall): at --deadline the complete sections are kept, the rest failed.
    The deadline clock moves 0.1 s per reading (15 Receives), whatever the load on this machine."""
    ticks = iter(range(10_000))
    monkeypatch.setattr(winrm, "_clock", lambda: next(ticks) * 0.1)
    text = stream.encode_v2(PRIMARY)
    port = server.add_host(host(stall_after=_cut_after_section(text, "web_configs")))
    out = tmp_path / "snap.json"
    code, _, err = collect(capsys, tls, port, "-o", str(out), "--deadline", "1.5", "--operation-timeout", "1",
                           "--read-timeout", "5")  # fmt: skip
    assert code == 3, err
    snapshot = json.loads(out.read_text("utf-8"))
    sections = {s["name"]: s for s in snapshot["collection"]["sections"]}
    assert sections["iis"]["status"] == "ok"
    assert sections["acls"]["status"] == "failed"
    assert "deadline" in sections["acls"]["message"]
    assert server.stats(port).shells_open == 0  # signalled and deleted


def test_delayed_output_arrives(server, tls):
    port = server.add_host(host(output_delay=1.2))
    raw = winrm.run_script(target(port, tls, operation_timeout=1, read_timeout=5), USER, capture_script())
    assert b"IISGUARD-DONE" in raw.stdout and raw.requests["Receive"] >= 2


def test_partial_decode_keeps_only_complete_sections():
    text = stream.encode_v2(PRIMARY)
    decoded = stream.decode(text[: _cut_after_section(text, "iis")], partial=True)
    names = [s["name"] for s in decoded.sections]
    assert names[0] == "iis" and "acls" not in names  # web_configs (no file here) may follow at once
    assert decoded.files and all(name.startswith("iis/") for name, _ in decoded.files)
    assert decoded.stopped and "truncated" in decoded.stopped
    whole = stream.decode(text)
    assert whole.stopped is None and any(n == "capture.yaml" for n, _ in whole.files)


# -- rights and policy faults (item 2) --------------------------------------------------------------
def test_access_denied_on_shell_creation_is_explained(server, tls, capsys):
    port = server.add_host(host(fault="access-denied"))
    code, _, err = collect(capsys, tls, port)
    assert code == 3
    assert "access denied when opening a remote shell (WS-Management fault 2147942405)" in err
    assert "Administrators" in err and "LocalAccountTokenFilterPolicy" in err
    assert "Remote Management Users is not enough" in err


def test_remote_shell_access_disabled_is_explained(server, tls, capsys):
    port = server.add_host(host(fault="shell-disabled"))
    code, _, err = collect(capsys, tls, port)
    assert code == 3 and "Allow Remote Shell Access" in err and "AllowRemoteShellAccess = false" in err


# -- quotas and retries (item 7) -----------------------------------------------------------------
def test_send_retried_on_error_busy(server, tls, monkeypatch):
    monkeypatch.setattr(winrm, "SEND_RETRY_PAUSE", 0.01)
    port = server.add_host(host(fault="busy-send", busy_sends=2))
    raw = winrm.run_script(target(port, tls), USER, capture_script())
    assert b"IISGUARD-DONE" in raw.stdout
    assert raw.requests["Send"] == 3


def test_send_operation_timeout_is_not_fatal(server, tls):
    port = server.add_host(host(fault="send-timeout"))
    raw = winrm.run_script(target(port, tls), USER, capture_script())
    assert b"IISGUARD-DONE" in raw.stdout


def test_large_envelope_and_a_server_configured_lower(server, tls):
    """500 KB envelopes where MaxEnvelopeSizekb allows (2012+). A server configured for 150 KB does not
    refuse the request (MS-WSMV 3.1.4.1.7: it answers with its own size), so Create is not retried;
    the Receives are smaller and there are more of them."""
    big = host(receive_chunk=10**9)
    small = host(receive_chunk=10**9, max_envelope_kb=150)
    new, old = server.add_host(big), server.add_host(small)
    a = winrm.run_script(target(new, tls), USER, capture_script())
    b = winrm.run_script(target(old, tls), USER, capture_script())
    assert a.stdout == b.stdout
    assert a.requests["Create"] == b.requests["Create"] == 1
    assert b.requests["Receive"] > a.requests["Receive"]


def _large_script() -> str:
    script = (
        capture_script()
        + "\n<#\n"
        + "padding that makes standard input larger than one envelope\n" * 6000
        + "#>\n"
    )
    assert len(script) > 300 * 1024
    return script


def test_a_send_over_max_envelope_gets_413_and_goes_again_in_smaller_envelopes(server, tls):
    """A request body over MaxEnvelopeSizekb is refused with HTTP 413 and no SOAP fault
    (ansible.windows#620): the collector sends the piece again in 150 KB envelopes."""
    script = _large_script()
    port = server.add_host(HostConfig(stdout=b"IISGUARD-CAPTURE whole", max_envelope_kb=150))
    raw = winrm.run_script(target(port, tls), USER, script)
    assert raw.stdout.endswith(b"whole") and raw.exit_code == 0
    stats = server.stats(port)
    assert stats.too_large == 1
    assert stats.stdin_bytes == len(winrm.stdin_payload(script))  # every byte once, in order


def test_even_150_kb_refused_is_explained(server, tls, capsys):
    port = server.add_host(HostConfig(max_envelope_kb=100))
    with pytest.raises(CollectionError) as err:
        winrm.run_script(target(port, tls), USER, _large_script())
    assert "(HTTP 413)" in str(err.value) and "MaxEnvelopeSizekb is lower than 150" in str(err.value)


def test_operation_timeout_capped_at_max_timeout():
    t = winrm.make_target("web01", operation_timeout=120, read_timeout=180)
    assert t.operation_timeout == 60 and t.operation_timeout_asked == 120
    assert any("waits at most MaxTimeoutms" in n for n in t.notices())


def test_server_uses_its_max_timeout_for_a_longer_one(server, tls):
    """MS-WSMV 3.1.4.1.6: an OperationTimeout over MaxTimeoutms is lowered to it, not refused; the
    collector asks again until the output comes."""
    port = server.add_host(host(max_timeout_ms=1000, output_delay=2.5))
    raw = winrm.run_script(target(port, tls, operation_timeout=3, read_timeout=10), USER, capture_script())
    assert b"IISGUARD-DONE" in raw.stdout and raw.requests["Receive"] >= 3
    assert 0.5 < server.stats(port).longest_wait < 2.0  # held for MaxTimeoutms (1 s), not the 3 s asked


# -- second hop (item 1) ---------------------------------------------------------------------------
def test_delegation_recorded_and_passed_to_the_script(server, tls, tmp_path, capsys):
    port = server.add_host(host())
    out = tmp_path / "snap.json"
    code, _, err = collect(capsys, tls, port, "-o", str(out), "--transport", "basic")
    assert code == 0, err
    snapshot = json.loads(out.read_text("utf-8"))
    assert snapshot["collection"]["delegation"] == {"delegated": False, "transport": "basic"}
    boot = powershell.decode_encoded_command(server.stats(port).commands[0][1].split()[-1])
    assert boot is not None and "-Stream -NoDelegation" in boot


def test_delegate_needs_kerberos():
    with pytest.raises(UsageError, match="--transport kerberos only"):
        winrm.make_target("web01", transport="ntlm", delegate=True)


def test_capture_script_marks_second_hop_facts_not_skipped():
    script = capture_script()
    assert "[switch]$NoDelegation" in script
    assert "elseif ($NoDelegation) {" in script  # ad and spns: failed with the reason
    assert script.count("$SecondHop") >= 4  # ad/spns, UNC web.configs, UNC ACLs


# -- signed copy, CLM, diagnostics (items 3, 8) ----------------------------------------------------
def test_script_path_runs_a_signed_copy_with_file(server, tls):
    port = server.add_host(host(script_path=r"C:\iisguard\capture.ps1"))
    t = target(port, tls, script_path=r"C:\iisguard\capture.ps1")
    raw = winrm.run_script(t, USER, capture_script())
    assert b"IISGUARD-DONE" in raw.stdout
    assert (
        "-ExecutionPolicy AllSigned -File C:\\iisguard\\capture.ps1 -Stream"
        in server.stats(port).commands[0][1]
    )
    assert server.stats(port).stdin_bytes == 0


def test_constrained_language_is_reported_once(server, tls, tmp_path, capsys):
    why = "PowerShell runs in ConstrainedLanguage mode (App Control or AppLocker), where unsigned code cannot use .NET"
    lines = [
        "IISGUARD-CAPTURE 2 host=WEB01",
        'IISGUARD-HOST facts={"session":{"language_mode":"ConstrainedLanguage"}}',
    ]
    lines += [f"IISGUARD-SECTION name={n} status=failed message={why.replace(' ', '%20')}" for n in
              ("iis", "acls", "tokens")]  # fmt: skip
    lines.append("IISGUARD-DONE files=0")
    port = server.add_host(host(stdout=("\r\n".join(lines) + "\r\n").encode()))
    out = tmp_path / "snap.json"
    code, _, err = collect(capsys, tls, port, "-o", str(out))
    assert code == 3
    assert err.count("ConstrainedLanguage") == 1
    assert json.loads(out.read_text("utf-8"))["collection"]["session"] == {
        "language_mode": "ConstrainedLanguage"
    }


def test_warnings_before_the_stream_are_kept(server, tls, tmp_path, capsys):
    warning = b"WARNING: Error initializing default drive: 'Unable to find a default server with Active Directory Web Services running.'\r\n"
    port = server.add_host(host(stdout=warning + stream.encode_v2(PRIMARY).encode()))
    out = tmp_path / "snap.json"
    code, _, err = collect(capsys, tls, port, "-o", str(out))
    assert code == 0, err
    messages = [w["message"] for w in json.loads(out.read_text("utf-8"))["collection"]["warnings"]]
    assert any("Error initializing default drive" in m for m in messages)


# -- icacls /save read by the SDDL parser (item 4) ---------------------------------------------------
def test_icacls_save_paths_are_made_whole_with_acl_base():
    """icacls DIR /save FILE /T names objects relative to DIR's parent, in UTF-16LE without a BOM."""
    saved = (
        "wwwroot\r\nD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;IU)\r\n"
        "wwwroot\\iisstart.htm\r\nD:AI(A;ID;FA;;;SY)(A;ID;0x1200a9;;;BU)\r\n"
    ).encode("utf-16-le")
    art = Artifact(source=Path("acls/010-wwwroot.sddl"), path="acls/010-wwwroot.sddl", data=saved,
                   hint={"kind": "sddl", "acl_path": "C:\\inetpub\\wwwroot", "acl_base": "C:\\inetpub"})  # fmt: skip
    snap = build_snapshot([art], parsers=registry.builtin_parsers(), host="W", kind="sddl")
    assert [a["path"] for a in snap["acls"]] == ["C:\\inetpub\\wwwroot", "C:\\inetpub\\wwwroot\\iisstart.htm"]


# -- what the script does on Windows, checked by reading it (no Windows here) -----------------------
def test_clm_check_comes_before_any_dotnet_use():
    """In Constrained Language Mode New-Object of .NET types and static calls fail: the check is first."""
    script = capture_script()
    check = script.index("$ExecutionContext.SessionState.LanguageMode -ne 'FullLanguage'")
    block_end = script.index("\n}\n", check)
    for dotnet in ("New-Object", "[System.", "[Console]", "[Uri]", "[guid]", "[adsi]"):
        assert dotnet not in script[:block_end], dotnet


def test_the_script_stops_once_when_not_elevated():
    script = capture_script()
    assert "elseif (-not $elevated) {" in script and "$Capture.Stop = 'not elevated: '" in script
    assert (
        "if ($Capture.Stop) { Set-Section $Name 'failed' $Capture.Stop; Complete-Section $Name; return }"
        in script
    )


def test_stale_temp_folders_are_removed_but_not_a_live_run():
    script = capture_script()
    assert "Get-ChildItem -LiteralPath $tmp -Filter 'iisguard-*'" in script
    assert "[System.IO.File]::Open($oldLock, 'Open', 'ReadWrite', 'None')" in script  # fails while held
    assert (
        "[System.IO.File]::Open((Join-Path $Capture.Root '.lock'), 'CreateNew', 'ReadWrite', 'None')"
        in script
    )
    assert script.index("Filter 'iisguard-*'") < script.index("'iisguard-' + [guid]::NewGuid()")


def test_setspn_exit_codes_are_checked():
    script = capture_script()
    assert "('setspn -L exited with code ' + $code + ' for ' + $sam)" in script
    assert "('setspn -X exited with code ' + $code)" in script


def test_recursive_acls_use_icacls_save_not_powershell_memory():
    script = capture_script()
    assert "& icacls.exe $path /save (Get-CapturePath $name) /T /C" in script
    assert "Add-CaptureFile $name 'sddl' @{ acl_path = $path; acl_base = $parent }" in script
    assert "'/T', '/C'" not in script  # no recursive listing through Save-CommandOutput any more

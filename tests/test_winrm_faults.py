"""Each server-side failure gives one line that says what happened, and the documented exit code."""

from __future__ import annotations

import pytest

from iisguard.cli import main
from iisguard.collect import winrm

from .winrm_server import HostConfig, WinRMTestServer, closed_port, make_tls_files

PASSWORD = "Tr0ub4dor&3-zebra"


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def server(tmp_path, tls, monkeypatch):
    monkeypatch.setenv("IISGUARD_USERNAME", "scanner")
    monkeypatch.setenv("IISGUARD_PASSWORD", PASSWORD)
    with WinRMTestServer(tmp_path / "srv", users={"scanner": PASSWORD}, tls=tls) as srv:
        yield srv


def collect(capsys, tls, port, *extra):
    args = [
        "collect",
        f"127.0.0.1:{port}",
        "--ca-bundle",
        str(tls.ca_cert),
        "--read-timeout",
        "2",
        "--operation-timeout",
        "1",
        *extra,
    ]
    code = main(args)
    out, err = capsys.readouterr()
    assert PASSWORD not in out + err
    return code, out, err


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("iisguard: error: ")
    return lines[0]


@pytest.mark.parametrize("transport", ["ntlm", "basic"])
def test_authentication_rejected(server, tls, capsys, transport):
    port = server.add_host(HostConfig(fault="reject-auth"))
    code, out, err = collect(capsys, tls, port, "--transport", transport)
    line = one_error_line(err)
    assert code == 3 and out == ""
    assert line.startswith(
        f"iisguard: error: 127.0.0.1:{port}: authentication rejected (transport {transport}); "
        "likely causes: wrong user name or password"
    )
    assert ("Basic is disabled by default" in line) == (transport == "basic")
    assert ("LocalAccountTokenFilterPolicy" in line) == (transport == "ntlm")
    assert server.stats(port).wsman_requests == 0


def test_wrong_password_is_refused_by_real_ntlm(server, tls, capsys, monkeypatch):
    monkeypatch.setenv("IISGUARD_PASSWORD", "not-the-password")
    port = server.add_host(HostConfig())
    code, _, err = collect(capsys, tls, port)
    assert code == 3
    assert "authentication rejected (transport ntlm)" in one_error_line(err)


def test_wsman_fault_reports_code_and_text(server, tls, capsys):
    port = server.add_host(HostConfig(fault="fault500", fault_action="Create"))
    code, _, err = collect(capsys, tls, port)
    assert code == 3
    assert one_error_line(err) == (
        f"iisguard: error: 127.0.0.1:{port}: WS-Management fault 2150859174 while opening a shell (HTTP 500): "
        "The WS-Management service cannot process the request. This user is allowed a maximum number of 5 "
        "concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user."
    )


def test_fault_after_the_shell_opened_still_cleans_up(server, tls, capsys):
    port = server.add_host(
        HostConfig(
            fault="fault500", fault_action="Command", fault_code=2147942405, fault_text="Access is denied."
        )
    )
    code, _, err = collect(capsys, tls, port)
    assert code == 3
    assert (
        "WS-Management fault 2147942405 while starting PowerShell (HTTP 500): Access is denied."
        in one_error_line(err)
    )
    assert server.stats(port).actions["Delete"] == 1 and server.stats(port).shells_open == 0


def test_hung_response_times_out(server, tls, capsys):
    port = server.add_host(HostConfig(fault="hang", fault_action="Receive"))
    code, _, err = collect(capsys, tls, port)
    assert code == 3
    assert one_error_line(err) == (
        f"iisguard: error: 127.0.0.1:{port}: timed out while reading the script's output: no answer within the "
        "read timeout of 2 s (raise --read-timeout for a slow server)"
    )


def test_command_that_never_finishes_meets_our_deadline(server, tls, capsys, monkeypatch):
    """pywinrm retries OperationTimeout faults forever; the overall deadline ends it, and the shell is closed.

    The deadline is read on a clock that moves 0.2 s per reading, so the count of Receives before it
    (two: at 0.2 and 0.4, stopped at 0.6 > 0.5) does not depend on how loaded this machine is; on the
    wall clock a busy machine could spend the whole 0.5 s before the first Receive.
    """
    ticks = iter(range(10_000))
    monkeypatch.setattr(winrm, "_clock", lambda: next(ticks) * 0.2)
    port = server.add_host(HostConfig(fault="busy"))
    code, _, err = collect(capsys, tls, port, "--deadline", "0.5")
    assert code == 3
    assert one_error_line(err) == (
        f"iisguard: error: 127.0.0.1:{port}: timed out: the capture script was still running after 0.5 s "
        "(the overall deadline per host); raise --deadline if the server is large or slow"
    )
    stats = server.stats(port)
    assert stats.actions["Receive"] == 2  # each answered "no output yet" and asked again
    assert stats.actions["Signal"] == 1 and stats.shells_open == 0


def test_connection_cut_mid_receive(server, tls, capsys):
    port = server.add_host(HostConfig(stdout=b"A" * 200_000, receive_chunk=16_000, fault="cut"))
    code, _, err = collect(capsys, tls, port)
    assert code == 3
    assert one_error_line(err) == (
        f"iisguard: error: 127.0.0.1:{port}: the server closed the connection while reading the script's output "
        "(response cut off), before the capture script printed anything"
    )


def test_malformed_xml(server, tls, capsys):
    port = server.add_host(HostConfig(stdout=b"x", fault="malformed"))
    code, _, err = collect(capsys, tls, port)
    assert code == 3
    line = one_error_line(err)
    assert line.startswith(
        f"iisguard: error: 127.0.0.1:{port}: malformed WS-Management response while reading the script's output: "
        "not well-formed XML"
    )


def test_connection_refused(server, tls, capsys):
    port = closed_port()
    code, _, err = collect(capsys, tls, port)
    assert code == 3
    assert one_error_line(err) == (
        f"iisguard: error: 127.0.0.1:{port}: connection refused: nothing listens on port {port} (WinRM not "
        "enabled? run `winrm quickconfig` on the server; HTTPS listens on 5986, HTTP on 5985)"
    )


def test_untrusted_certificate(server, capsys):
    port = server.add_host(HostConfig())
    code = main(["collect", f"127.0.0.1:{port}"])
    _, err = capsys.readouterr()
    assert code == 3
    line = one_error_line(err)
    assert line.startswith(f"iisguard: error: 127.0.0.1:{port}: certificate verification failed (")
    assert line.endswith(
        "pass --ca-bundle FILE with the CA that issued the WinRM listener's certificate "
        "(--insecure-skip-verify only for a lab)"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--http", "--transport", "basic"], "refusing plain HTTP with basic authentication"),
        (["--read-timeout", "5", "--operation-timeout", "5"], "must be greater than --operation-timeout"),
        (["--local"], "give exactly one of HOST, --local or --inventory FILE (got HOST, --local)"),
        (["--out-dir", "x"], "--out-dir goes with --inventory"),
    ],
)
def test_usage_errors_exit_2(capsys, args, message):
    assert main(["collect", "127.0.0.1:1", *args]) == 2
    assert message in one_error_line(capsys.readouterr().err)


def test_no_credentials_without_a_terminal(server, tls, capsys, monkeypatch):
    monkeypatch.delenv("IISGUARD_PASSWORD")
    port = server.add_host(HostConfig())
    code = main(["collect", f"127.0.0.1:{port}", "--ca-bundle", str(tls.ca_cert)])
    assert code == 2
    assert one_error_line(capsys.readouterr().err) == (
        "iisguard: error: no password: set IISGUARD_PASSWORD; passwords are never accepted on the command line"
    )
    assert server.stats(port).http_requests == 0


def test_local_needs_windows(capsys):
    assert main(["collect", "--local"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "--local runs the capture script through powershell.exe and needs Windows" in line

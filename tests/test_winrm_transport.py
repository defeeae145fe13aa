"""pywinrm, unmodified, against the WS-Management test server: transports, TLS, round trips, large output."""

from __future__ import annotations

import base64
import hashlib

import pytest

from iisguard.collect import winrm
from iisguard.collect.credentials import Credentials
from iisguard.errors import CollectionError, UsageError

from .winrm_server import HostConfig, WinRMTestServer, make_tls_files, receive_capacity

USER = Credentials("scanner", "Passw0rd!")
SCRIPT = "param([switch]$Stream)\nWrite-Output 'capture'\n"


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def http_server(tmp_path):
    with WinRMTestServer(tmp_path / "http") as srv:
        yield srv


@pytest.fixture
def https_server(tmp_path, tls):
    with WinRMTestServer(tmp_path / "https", tls=tls) as srv:
        yield srv


def _blob(size: int) -> bytes:
    """Deterministic, incompressible-looking output of a given size."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(str(counter).encode()).digest()
        counter += 1
    return base64.b64encode(bytes(out))[:size]


def _target(port: int, **kw) -> winrm.Target:
    kw.setdefault("read_timeout", 10)
    kw.setdefault("operation_timeout", 5)
    return winrm.make_target(f"127.0.0.1:{port}", **kw)


@pytest.mark.parametrize(
    ("scheme", "transport"),
    [("http", "ntlm"), ("https", "ntlm"), ("https", "basic")],
)
def test_one_shell_one_command_whole_output(scheme, transport, http_server, https_server, tls):
    server = http_server if scheme == "http" else https_server
    output = _blob(50_000)
    port = server.add_host(HostConfig(stdout=output, expect_script=SCRIPT, receive_chunk=16 * 1024))
    target = _target(
        port, scheme=scheme, transport=transport, ca_bundle=str(tls.ca_cert) if scheme == "https" else None
    )

    raw = winrm.run_script(target, USER, SCRIPT)

    assert raw.stdout == output
    assert raw.exit_code == 0
    stats = server.stats(port)
    # Output split over several Receives; everything else exactly once.
    assert stats.actions["Receive"] == 4 == raw.requests["Receive"]
    for action in ("Create", "Command", "Send", "Signal", "Delete"):
        assert stats.actions[action] == 1 == raw.requests[action], action
    # The bootstrap on the command line (-EncodedCommand), the script on standard input.
    assert stats.commands == [("powershell", " ".join(winrm.bootstrap_args(" -NoDelegation")))]
    assert stats.shells_open == 0  # the shell was deleted
    # Sealed messages over HTTP; over HTTPS, TLS protects them and they travel unsealed.
    assert stats.encrypted_requests == (stats.wsman_requests if scheme == "http" else 0)


def test_http_ntlm_body_is_encrypted_on_the_wire(http_server):
    """Over plain HTTP the server only understands the request after unwrapping it with the NTLM session key."""
    port = http_server.add_host(HostConfig(stdout=b"ok", expect_script=SCRIPT))
    raw = winrm.run_script(_target(port, scheme="http"), USER, SCRIPT)
    assert raw.stdout == b"ok"
    stats = http_server.stats(port)
    assert stats.encrypted_requests == stats.wsman_requests == 6
    # The handshake on an empty POST (401, challenge, authenticate) precedes the six WS-Man requests.
    assert stats.http_requests == stats.wsman_requests + 3


def test_script_larger_than_one_envelope_goes_in_several_sends(http_server):
    big_script = SCRIPT + "# " + "x" * (3 * winrm.send_chunk(winrm.LARGE_ENVELOPE)) + "\n"
    port = http_server.add_host(HostConfig(stdout=b"done", expect_script=big_script))
    raw = winrm.run_script(_target(port, scheme="http"), USER, big_script)
    assert raw.stdout == b"done"  # the server recognised the reassembled script
    assert http_server.stats(port).actions["Send"] == raw.requests["Send"] == 4
    assert http_server.stats(port).stdin_bytes == len(winrm.stdin_payload(big_script))


def test_output_far_larger_than_one_envelope(https_server, tls):
    """The server fills each Receive up to the 500 KB envelope negotiated; no byte is lost across them."""
    output = _blob(3_000_000)
    port = https_server.add_host(HostConfig(stdout=output, expect_script=SCRIPT, receive_chunk=10**9))
    raw = winrm.run_script(_target(port, transport="basic", ca_bundle=str(tls.ca_cert)), USER, SCRIPT)
    assert hashlib.sha256(raw.stdout).digest() == hashlib.sha256(output).digest()
    receives = https_server.stats(port).actions["Receive"]
    # ~370 KB of output per 500 KB envelope (base64 and XML overhead): 3 MB needs 9 of them.
    assert receives == -(-len(output) // receive_capacity(winrm.LARGE_ENVELOPE)) == 9


def test_certificate_verification_on_by_default(https_server):
    port = https_server.add_host(HostConfig(stdout=b"x", expect_script=SCRIPT))
    with pytest.raises(CollectionError) as err:
        winrm.run_script(_target(port, transport="basic"), USER, SCRIPT)
    message = str(err.value)
    assert message.startswith(f"127.0.0.1:{port}: certificate verification failed")
    assert "--ca-bundle" in message and "\n" not in message
    assert https_server.stats(port).wsman_requests == 0


def test_insecure_skip_verify_connects_and_says_so(https_server):
    port = https_server.add_host(HostConfig(stdout=b"x", expect_script=SCRIPT))
    target = _target(port, transport="basic", insecure_skip_verify=True)
    assert any("certificate verification is off" in n for n in target.notices())
    assert winrm.run_script(target, USER, SCRIPT).stdout == b"x"


def test_https_client_against_http_listener(http_server):
    port = http_server.add_host(HostConfig(stdout=b"x", expect_script=SCRIPT))
    with pytest.raises(CollectionError, match="does not speak HTTPS"):
        winrm.run_script(_target(port, transport="ntlm"), USER, SCRIPT)


def test_plain_http_notice_names_the_encryption(http_server):
    target = _target(5985, scheme="http", transport="ntlm")
    assert target.notices() == [
        "127.0.0.1:5985: plain HTTP; the WinRM messages are encrypted by NTLM message "
        "encryption (the HTTP headers are not)"
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scheme": "http", "transport": "basic"}, "refusing plain HTTP with basic"),
        ({"scheme": "http", "transport": "certificate"}, "refusing plain HTTP with certificate"),
        ({"read_timeout": 20, "operation_timeout": 20}, "must be greater than --operation-timeout"),
        ({"read_timeout": 5, "operation_timeout": 30}, "must be greater than --operation-timeout"),
        ({"read_timeout": 0.5, "operation_timeout": 0.2}, "whole number of seconds"),
        ({"ca_bundle": "/nonexistent/ca.pem"}, "no such file"),
        ({"ca_bundle": __file__, "insecure_skip_verify": True}, "contradict"),
        ({"transport": "certificate"}, "needs --cert FILE and --cert-key FILE"),
        ({"transport": "telnet"}, "unknown transport"),
        ({"deadline": 0}, "positive"),
    ],
)
def test_contradictory_settings_are_usage_errors(kwargs, message):
    kwargs.setdefault("read_timeout", 10)
    kwargs.setdefault("operation_timeout", 5)
    with pytest.raises(UsageError, match=message):
        winrm.make_target("127.0.0.1", **kwargs)


@pytest.mark.parametrize(
    ("text", "host", "port", "scheme"),
    [
        ("web01", "web01", None, None),
        ("web01.corp.example:5985", "web01.corp.example", 5985, None),
        ("127.0.0.1:15986", "127.0.0.1", 15986, None),
        ("[::1]:5986", "::1", 5986, None),
        ("::1", "::1", None, None),
        ("https://web01:443/wsman", "web01", 443, "https"),
    ],
)
def test_parse_host(text, host, port, scheme):
    assert winrm.parse_host(text) == (host, port, scheme)


def test_default_ports_and_endpoint():
    assert _target(5986).endpoint == "https://127.0.0.1:5986/wsman"
    assert winrm.make_target("web01").port == 5986
    assert winrm.make_target("web01", scheme="http").port == 5985
    assert winrm.make_target("::1", scheme="http").endpoint == "http://[::1]:5985/wsman"
    with pytest.raises(UsageError, match="port must be a number"):
        winrm.make_target("web01:http")
    with pytest.raises(UsageError, match="names port 1 but --port 2"):
        winrm.make_target("web01:1", port=2)


def test_missing_extras_are_named(monkeypatch):
    from winrm import transport as wt

    monkeypatch.setattr(wt, "HAVE_KERBEROS", False)
    monkeypatch.setattr(wt, "HAVE_CREDSSP", False)
    with pytest.raises(UsageError, match=r"pip install 'iisguard\[kerberos\]'"):
        winrm.make_target("web01", transport="kerberos")
    with pytest.raises(UsageError, match=r"pip install 'iisguard\[credssp\]'"):
        winrm.make_target("web01", transport="credssp")


def test_certificate_authentication(https_server, tls):
    port = https_server.add_host(HostConfig(stdout=b"by certificate", expect_script=SCRIPT))
    target = _target(
        port,
        transport="certificate",
        ca_bundle=str(tls.ca_cert),
        cert_pem=str(tls.client_cert),
        cert_key_pem=str(tls.client_key),
    )
    raw = winrm.run_script(target, Credentials(None, None), SCRIPT)
    assert raw.stdout == b"by certificate"
    assert https_server.stats(port).users == {"scanner"}  # mapped from the certificate's subject


def test_unmapped_client_certificate_is_rejected(tmp_path, tls):
    with WinRMTestServer(tmp_path / "srv", users={"someone-else": "x"}, tls=tls) as server:
        port = server.add_host(HostConfig(stdout=b"x", expect_script=SCRIPT))
        target = _target(
            port,
            transport="certificate",
            ca_bundle=str(tls.ca_cert),
            cert_pem=str(tls.client_cert),
            cert_key_pem=str(tls.client_key),
        )
        with pytest.raises(CollectionError) as err:
            winrm.run_script(target, Credentials(None, None), SCRIPT)
    assert str(err.value) == (
        f"127.0.0.1:{port}: authentication rejected (transport certificate); likely causes: the client "
        "certificate is not mapped to a local account, or Certificate auth is disabled"
    )

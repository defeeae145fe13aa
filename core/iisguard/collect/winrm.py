"""Collection over WinRM: run the capture script on the server in one shell and one command.

pywinrm's `Protocol` is used directly. `Session.run_ps` would put the script on the command line
(`-EncodedCommand`), which breaks on cmd.exe's 8 KB limit, and `run_cmd` opens a shell per call.
Here one host costs: Create (shell), Command (`powershell -NoProfile -NonInteractive -Command -`),
Send (the script on standard input, in as few envelopes as fit), Receive until the command is Done
(as few as the server's envelope size allows), Signal, Delete. The count does not grow with the
number of sites, only with the bytes printed.

Every failure becomes a CollectionError with one line saying what happened and what to check.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CollectionError, UsageError
from .assemble import Collected, snapshot_from_output
from .credentials import Credentials

log = logging.getLogger(__name__)

TRANSPORTS = ("ntlm", "kerberos", "credssp", "basic", "certificate")
ENCRYPTING = frozenset({"ntlm", "kerberos", "credssp"})  # MS-WSMV message encryption over plain HTTP
DEFAULT_PORTS = {"https": 5986, "http": 5985}
DEFAULT_READ_TIMEOUT = 60  # pywinrm's 30 s is short for a first logon (profile creation)
DEFAULT_OPERATION_TIMEOUT = 20
DEFAULT_DEADLINE = 900.0  # overall, per host
POWERSHELL = ("powershell", ["-NoProfile", "-NonInteractive", "-Command", "-"])
# Raw script bytes per Send: base64 grows them 4/3, and the request must stay under the
# 150 KB MaxEnvelopeSize pywinrm announces (NTLM sealing adds a few bytes more).
SEND_CHUNK = 96 * 1024
MAX_OUTPUT_BYTES = int(os.environ.get("IISGUARD_MAX_OUTPUT_BYTES", str(2 * 1024 * 1024 * 1024)))


@dataclass(frozen=True)
class Target:
    """Where and how to reach one host's WinRM service."""

    host: str
    port: int
    scheme: str = "https"
    transport: str = "ntlm"
    ca_bundle: str | None = None
    verify: bool = True
    read_timeout: int = DEFAULT_READ_TIMEOUT
    operation_timeout: int = DEFAULT_OPERATION_TIMEOUT
    deadline: float = DEFAULT_DEADLINE
    cert_pem: str | None = None
    cert_key_pem: str | None = None

    @property
    def label(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def endpoint(self) -> str:
        return f"{self.scheme}://{self.label}/wsman"

    def notices(self) -> list[str]:
        """What a person should know about how this connection is protected."""
        out = []
        if self.scheme == "http":
            out.append(
                f"{self.label}: plain HTTP; the WinRM messages are encrypted by {self.transport.upper()} "
                "message encryption (the HTTP headers are not)"
            )
        elif not self.verify:
            out.append(
                f"{self.label}: certificate verification is off (--insecure-skip-verify); anyone on the "
                "network path can impersonate this server"
            )
        return out


def parse_host(text: str) -> tuple[str, int | None, str | None]:
    """(host, port or None, scheme or None) from `host`, `host:port`, `[v6]:port` or a URL."""
    text = text.strip()
    scheme = None
    if "://" in text:
        scheme, _, text = text.partition("://")
        scheme = scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise UsageError(f"{scheme}://: only http:// and https:// endpoints exist for WinRM")
        text = text.split("/", 1)[0]
    if not text:
        raise UsageError("no host given")
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""  # a bare name, or an IPv6 address without brackets
    port = None
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise UsageError(f"{text}: the port must be a number from 1 to 65535")
        port = int(port_text)
    return host, port, scheme


def make_target(
    host_text: str,
    *,
    transport: str = "ntlm",
    port: int | None = None,
    scheme: str | None = None,
    ca_bundle: str | None = None,
    insecure_skip_verify: bool = False,
    read_timeout: float | None = None,
    operation_timeout: float | None = None,
    deadline: float | None = None,
    cert_pem: str | None = None,
    cert_key_pem: str | None = None,
) -> Target:
    """A validated Target; every contradiction is a UsageError that says what to do instead."""
    host, host_port, url_scheme = parse_host(host_text)
    if url_scheme and scheme and url_scheme != scheme:
        raise UsageError(f"{host_text}: the URL says {url_scheme}:// but --{scheme} was given")
    scheme = scheme or url_scheme or "https"
    if port is not None and host_port is not None and port != host_port:
        raise UsageError(f"{host_text}: the host names port {host_port} but --port {port} was given")
    port = host_port or port or DEFAULT_PORTS[scheme]
    if transport not in TRANSPORTS:
        raise UsageError(f"unknown transport {transport!r}; choose from {', '.join(TRANSPORTS)}")
    if scheme == "http" and transport not in ENCRYPTING:
        raise UsageError(
            f"refusing plain HTTP with {transport} authentication: credentials and data would cross the "
            "network unencrypted; use --https (port 5986) or an encrypting transport (ntlm, kerberos, credssp)"
        )
    if ca_bundle and insecure_skip_verify:
        raise UsageError("--ca-bundle and --insecure-skip-verify contradict each other; choose one")
    if ca_bundle and not Path(ca_bundle).is_file():
        raise UsageError(
            "no such file (expected the PEM certificate of the CA that issued the WinRM "
            "listener's certificate)",
            where=ca_bundle,
        )
    if scheme == "http" and (ca_bundle or insecure_skip_verify):
        log.warning("%s: --ca-bundle / --insecure-skip-verify have no effect over plain HTTP", host_text)
    read = _whole_seconds(read_timeout, DEFAULT_READ_TIMEOUT, "--read-timeout")
    operation = _whole_seconds(operation_timeout, DEFAULT_OPERATION_TIMEOUT, "--operation-timeout")
    if read <= operation:
        raise UsageError(
            f"--read-timeout ({read} s) must be greater than --operation-timeout ({operation} s): the "
            "server may hold a request for the whole operation timeout before it answers"
        )
    overall = DEFAULT_DEADLINE if deadline is None else float(deadline)
    if overall <= 0:
        raise UsageError("--deadline must be a positive number of seconds")
    if transport == "certificate":
        if not cert_pem or not cert_key_pem:
            raise UsageError("certificate authentication needs --cert FILE and --cert-key FILE (PEM)")
        for path in (cert_pem, cert_key_pem):
            if not Path(path).is_file():
                raise UsageError("no such file", where=path)
    _check_extra(transport)
    return Target(
        host=host,
        port=port,
        scheme=scheme,
        transport=transport,
        ca_bundle=ca_bundle,
        verify=not insecure_skip_verify,
        read_timeout=read,
        operation_timeout=operation,
        deadline=overall,
        cert_pem=cert_pem,
        cert_key_pem=cert_key_pem,
    )


def _whole_seconds(value: float | None, default: int, option: str) -> int:
    if value is None:
        return default
    if value != int(value) or value < 1:
        raise UsageError(f"{option} must be a whole number of seconds, 1 or more (got {value})")
    return int(value)


def _check_extra(transport: str) -> None:
    """Kerberos and CredSSP need pywinrm's optional extras; say which to install."""
    from winrm import transport as wt

    if transport == "kerberos" and not wt.HAVE_KERBEROS:
        raise UsageError("Kerberos support is not installed: pip install 'iisguard[kerberos]'")
    if transport == "credssp" and not wt.HAVE_CREDSSP:
        raise UsageError("CredSSP support is not installed: pip install 'iisguard[credssp]'")


# -- running the script ------------------------------------------------------------------------
@dataclass
class RawOutput:
    """What the remote command produced, and what it cost."""

    stdout: bytes
    stderr: bytes
    exit_code: int
    requests: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def stdin_payload(script: str) -> bytes:
    """The capture script as PowerShell reads it from standard input with `-Command -`.

    `-Command -` reads statements line by line, so the script is wrapped in one script block that
    is invoked with -Stream; the blank line ends that statement and runs it.
    """
    return ("& {\n" + script.rstrip() + "\n} -Stream\n\n").encode("utf-8")


def run_script(target: Target, credentials: Credentials, script: str) -> RawOutput:
    """Run the capture script on the target and return its raw output; raise CollectionError on failure."""
    from winrm.exceptions import WinRMOperationTimeoutError
    from winrm.protocol import Protocol

    started = time.monotonic()
    deadline = started + target.deadline
    counts = {"Create": 0, "Command": 0, "Send": 0, "Receive": 0, "Signal": 0, "Delete": 0}
    phase = "connecting"
    try:
        protocol = Protocol(
            endpoint=target.endpoint,
            transport=target.transport,  # type: ignore[arg-type]
            username=credentials.username,
            password=credentials.password,
            ca_trust_path=target.ca_bundle,  # type: ignore[arg-type]  # None: the default CA store
            server_cert_validation="validate" if target.verify else "ignore",
            read_timeout_sec=target.read_timeout,
            operation_timeout_sec=target.operation_timeout,
            cert_pem=target.cert_pem,
            cert_key_pem=target.cert_key_pem,
            message_encryption="auto",
            proxy=None,  # connect directly; never pick a proxy up from the environment
        )
    except Exception as exc:  # noqa: BLE001 - pywinrm validates arguments with several exception types
        raise CollectionError(explain(exc, target, phase), where=target.label) from None

    shell_id = command_id = None
    stdout: list[bytes] = []
    stderr: list[bytes] = []
    size = 0
    exit_code = -1
    failure: BaseException | None = None
    try:
        phase = "opening a shell"
        counts["Create"] += 1
        shell_id = protocol.open_shell(noprofile=True, codepage=65001)
        phase = "starting PowerShell"
        counts["Command"] += 1
        command_id = protocol.run_command(shell_id, POWERSHELL[0], POWERSHELL[1])
        phase = "sending the capture script"
        payload = stdin_payload(script)
        chunks = [payload[i : i + SEND_CHUNK] for i in range(0, len(payload), SEND_CHUNK)] or [b""]
        for i, chunk in enumerate(chunks):
            counts["Send"] += 1
            protocol.send_command_input(shell_id, command_id, chunk, end=i == len(chunks) - 1)
        phase = "reading the script's output"
        while True:
            if time.monotonic() > deadline:
                raise _DeadlineExceeded()
            counts["Receive"] += 1
            try:
                out, err, code, done = protocol.get_command_output_raw(shell_id, command_id)
            except WinRMOperationTimeoutError:
                continue  # the server's "no output yet": ask again, within our own deadline
            stdout.append(out)
            stderr.append(err)
            size += len(out) + len(err)
            if size > MAX_OUTPUT_BYTES:
                raise CollectionError(
                    f"the capture script printed over {MAX_OUTPUT_BYTES:,} bytes; stopped reading "
                    "(set IISGUARD_MAX_OUTPUT_BYTES to raise the limit)",
                    where=target.label,
                )
            if done:
                exit_code = code
                break
    except CollectionError as exc:
        failure = exc
        raise
    except _DeadlineExceeded:
        failure = CollectionError(
            f"timed out: the capture script was still running after {target.deadline:g} s (the overall "
            "deadline per host); raise --deadline if the server is large or slow",
            where=target.label,
        )
        raise failure from None
    except Exception as exc:  # noqa: BLE001 - every library failure becomes one explained line
        log.debug("%s: %s failed", target.label, phase, exc_info=True)
        failure = exc
        raise CollectionError(explain(exc, target, phase), where=target.label) from None
    finally:
        _cleanup(protocol, target, shell_id, command_id, counts, failure)
    elapsed = time.monotonic() - started
    log.debug(
        "%s: %d WS-Management requests (%s) in %.2f s",
        target.label,
        sum(counts.values()),
        ", ".join(f"{k} {v}" for k, v in counts.items()),
        elapsed,
    )
    return RawOutput(b"".join(stdout), b"".join(stderr), exit_code, counts, elapsed)


class _DeadlineExceeded(Exception):
    pass


def _cleanup(
    protocol: Any,
    target: Target,
    shell_id: str | None,
    command_id: str | None,
    counts: dict[str, int],
    failure: BaseException | None,
) -> None:
    """Signal and delete what was opened, unless the connection itself is what failed."""
    try:
        if shell_id is not None and (failure is None or not _connection_broken(failure)):
            try:
                if command_id is not None:
                    counts["Signal"] += 1
                    protocol.cleanup_command(shell_id, command_id)
                counts["Delete"] += 1
                protocol.close_shell(shell_id, close_session=False)
            except Exception as exc:  # noqa: BLE001 - the output is in hand; a failed cleanup is a note
                log.warning(
                    "%s: could not close the remote shell: %s", target.label, explain(exc, target, "cleanup")
                )
    finally:
        protocol.transport.close_session()


def _connection_broken(exc: BaseException) -> bool:
    import requests

    return isinstance(exc, requests.exceptions.RequestException) and not isinstance(exc, requests.HTTPError)


# -- explaining failures -----------------------------------------------------------------------
def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (urllib3 keeps the cause in .reason and args)."""
    seen: list[BaseException] = []
    todo: list[Any] = [exc]
    while todo and len(seen) < 20:
        item = todo.pop()
        if not isinstance(item, BaseException) or any(item is s for s in seen):
            continue
        seen.append(item)
        todo.extend([item.__cause__, item.__context__, getattr(item, "reason", None), *item.args])
    return seen


def _auth_hint(transport: str) -> str:
    if transport == "basic":
        return (
            "wrong user name or password; Basic is disabled by default on Windows "
            '(winrm set winrm/config/service/auth @{Basic="true"}) and takes local accounts only'
        )
    if transport == "kerberos":
        return (
            "no Kerberos ticket (run kinit user@REALM) or an expired one; the host must be named by the "
            "name its HTTP/ SPN carries (an FQDN, not an IP address)"
        )
    if transport == "certificate":
        return "the client certificate is not mapped to a local account, or Certificate auth is disabled"
    return (
        "wrong user name or password (DOMAIN\\user for a domain account); a local account other than "
        "the built-in Administrator is refused unless LocalAccountTokenFilterPolicy=1 on the server; "
        "the account must be in Administrators or Remote Management Users"
    )


def explain(exc: BaseException, target: Target, phase: str) -> str:
    """One line: what went wrong with this host, and the likely cause."""
    import xml.etree.ElementTree as ET
    from xml.parsers.expat import ExpatError

    import requests
    from winrm import exceptions as wx

    chain = _chain(exc)
    names = {type(e).__name__ for e in chain}
    text = " ".join(str(e) for e in chain)

    if (
        isinstance(exc, wx.InvalidCredentialsError)
        or (isinstance(exc, PermissionError) and "ntlm" in str(exc).lower())
        or "SpnegoError" in names
        or "NoCredentialError" in names
    ):
        return f"authentication rejected (transport {target.transport}); likely causes: {_auth_hint(target.transport)}"
    if isinstance(exc, wx.WSManFaultError):
        code = (
            exc.wsman_fault_code
            if exc.wsman_fault_code is not None
            else (exc.fault_subcode or exc.fault_code)
        )
        reason = " ".join((exc.reason or "").split())
        return f"WS-Management fault {code} while {phase} (HTTP {exc.code}): {reason}"
    if isinstance(exc, wx.WinRMTransportError):
        hint = " (is this a WinRM endpoint? it is served at /wsman)" if exc.code == 404 else ""
        return f"HTTP {exc.code} from the server while {phase}, without a WS-Management fault{hint}"
    if (
        isinstance(exc, requests.exceptions.SSLError)
        or "SSLError" in names
        or "SSLCertVerificationError" in names
    ):
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
            detail = text.split("certificate verify failed:")[-1].split(")")[0].split("'")[0].strip(" ,")
            return (
                f"certificate verification failed ({detail or 'untrusted certificate'}); pass --ca-bundle "
                "FILE with the CA that issued the WinRM listener's certificate (--insecure-skip-verify only "
                "for a lab)"
            )
        if "WRONG_VERSION_NUMBER" in text or "wrong version number" in text:
            return "TLS handshake failed: the port does not speak HTTPS (the HTTP listener is on 5985; use --http)"
        return f"TLS handshake failed while {phase}: {_short(text)}"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"timed out connecting (no answer within {target.read_timeout} s; a firewall may drop the packets)"
    if isinstance(exc, requests.exceptions.ReadTimeout) or "ReadTimeoutError" in names:
        return (
            f"timed out while {phase}: no answer within the read timeout of {target.read_timeout} s "
            "(raise --read-timeout for a slow server)"
        )
    if "ConnectionRefusedError" in names or "Connection refused" in text:
        return (
            f"connection refused: nothing listens on port {target.port} (WinRM not enabled? run "
            "`winrm quickconfig` on the server; HTTPS listens on 5986, HTTP on 5985)"
        )
    if "gaierror" in names or "Name or service not known" in text or "nodename nor servname" in text:
        return "cannot resolve the host name"
    if isinstance(
        exc, (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)
    ) or names & {
        "RemoteDisconnected",
        "ProtocolError",
        "IncompleteRead",
        "ConnectionResetError",
    }:
        return f"the server closed the connection while {phase} (response cut off)"
    if isinstance(exc, UnicodeDecodeError):
        return f"unreadable response while {phase}: the body is not UTF-8 text"
    if isinstance(exc, (ET.ParseError, ExpatError)):
        return f"malformed WS-Management response while {phase}: not well-formed XML ({exc})"
    if isinstance(exc, (StopIteration, KeyError, IndexError, AssertionError, AttributeError)):
        return f"unexpected WS-Management response while {phase}: a required element is missing"
    if isinstance(exc, wx.WinRMError):
        return f"WinRM error while {phase}: {_short(str(exc))}"
    return f"{type(exc).__name__} while {phase}: {_short(str(exc))}"


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- one host, end to end ------------------------------------------------------------------------
def collect(
    target: Target,
    credentials: Credentials,
    *,
    keep_artifacts: str | os.PathLike[str] | None = None,
    snapshot_path: str | os.PathLike[str] | None = None,
    script: str | None = None,
    parsers: list[Any] | None = None,
) -> Collected:
    """Run the capture script on the host and import what it printed into a snapshot."""
    if script is None:
        from .script import capture_script

        script = capture_script()
    raw = run_script(target, credentials, script)
    snapshot = snapshot_from_output(
        raw.stdout,
        raw.stderr,
        raw.exit_code,
        where=target.label,
        source="winrm",
        keep_artifacts=keep_artifacts,
        snapshot_path=snapshot_path,
        parsers=parsers,
    )
    return Collected(snapshot, raw.requests, raw.seconds)

"""Collection over WinRM: run the capture script on the server in one shell and one command.

pywinrm's `Protocol` is used directly. `Session.run_ps` would put the script on the command line
(`-EncodedCommand`), which breaks on cmd.exe's 8 KB limit, and `run_cmd` opens a shell per call.
Here one host costs: Create (shell), Command (powershell with a short `-EncodedCommand` bootstrap
that reads all of standard input and runs it as one script block, as Ansible does), Send (the
script on standard input, in as few envelopes as fit), Receive until the command is Done, Signal,
Delete. Receives carry at most one envelope each (500 KB asked for; a server configured lower
answers with its own MaxEnvelopeSizekb), so the request count grows with the bytes the script
prints (see the README), not with the number of sites.

Why not `-Command -` with the script on standard input: powershell.exe reads that like typed
lines (ConsoleHost's InputLoop in PowerShell's src/Microsoft.PowerShell.ConsoleHost/host/msh/
ConsoleHost.cs; PowerShell#3223): a blank line runs what is collected so far, an unfinished block
at the end of input is dropped silently, and a parse error runs nothing yet exits 0. The bootstrap
(Ansible's lib/ansible/executor/powershell/bootstrap_wrapper.ps1 does the same; its winrm
connection plugin passes console_mode_stdin=False) makes any script text run whole or fail loudly.

Every failure becomes a CollectionError with one line saying what happened and what to check.
"""

from __future__ import annotations

import base64
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
# MaxTimeoutms is 60000 by default (MS-WSMV 2.2.4.10); a longer OperationTimeout is not refused,
# the service waits at most MaxTimeoutms (MS-WSMV 3.1.4.1.6). Asking for more gains nothing: the
# collector simply asks again. Capped so that --read-timeout can be checked against what is used.
MAX_OPERATION_TIMEOUT = 60
DEFAULT_DEADLINE = 900.0  # overall, per host
# MaxEnvelopeSizekb is 500 by default since Windows Server 2012 (150 before; MS-WSMV 2.2.4.10).
# Responses: the collector asks for 500 KB (a third of the Receives); a server configured lower
# answers with its own size, it does not refuse the request (MS-WSMV 3.1.4.1.7). Requests: a body
# over MaxEnvelopeSizekb is refused with HTTP 413 and no SOAP fault (ansible.windows#620, #391), so
# standard input goes in 500 KB Sends and, after a 413, again in 150 KB ones.
LARGE_ENVELOPE = 500 * 1024
SMALL_ENVELOPE = 150 * 1024
REQUEST_TOO_LARGE = 413
SEND_RETRIES = 3  # Send answered with ERROR_BUSY (170): Ansible retries 3 times
SEND_RETRY_PAUSE = 1.0
ERROR_BUSY = 170
ACCESS_DENIED = 2147942405  # 0x80070005 as a WS-Man fault code
# wsmerror.h (Windows SDK; the same values in windows-rs, Win32::System::RemoteManagement)
OPERATION_TIMEOUT_FAULT = 0x80338029  # ERROR_WSMAN_OPERATION_TIMEDOUT, 2150858793
REMOTESHELLS_NOT_ALLOWED = 0x803381AC  # ERROR_WSMAN_REMOTESHELLS_NOT_ALLOWED, 2150859180
MAX_OUTPUT_BYTES = int(os.environ.get("IISGUARD_MAX_OUTPUT_BYTES", str(2 * 1024 * 1024 * 1024)))

# Read all of standard input as UTF-8 text and run it as one script block with -Stream. The first
# line printed tells "PowerShell started" apart from "the script ran" when nothing else arrives.
# Setting the console encodings can fail (Constrained Language Mode): the script reports that.
BOOTSTRAP = (
    "try { [Console]::InputEncoding = [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false } "
    "catch { $null = $_ }; "
    "'IISGUARD-BOOT 1'; "
    "$iisguardScript = $input | Out-String; "
    "& ([ScriptBlock]::Create($iisguardScript)) -Stream{args}"
)
# Windows PowerShell 5.1 (present on every supported Windows Server); no profile, no prompts.
POWERSHELL = (
    "powershell",
    ["-NoProfile", "-NonInteractive", "-Command", "-"],
)  # old framing, kept for reference


def bootstrap_args(script_args: str = "") -> list[str]:
    """powershell.exe arguments: the bootstrap as -EncodedCommand (base64 of UTF-16LE text)."""
    encoded = base64.b64encode(BOOTSTRAP.replace("{args}", script_args).encode("utf-16-le")).decode("ascii")
    return ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-EncodedCommand", encoded]


def file_args(path: str, script_args: str = "") -> list[str]:
    """powershell.exe arguments for a signed copy of the capture script already on the server."""
    return [
        "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "AllSigned", "-File", path, "-Stream",
        *script_args.split(),
    ]  # fmt: skip


def send_chunk(envelope: int) -> int:
    """Raw script bytes per Send: base64 grows them 4/3; the SOAP header and NTLM sealing need ~8 KB."""
    return (envelope - 8 * 1024) * 3 // 4


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
    delegate: bool = False  # Kerberos: send a forwardable TGT so the server can reach AD and shares
    script_path: str | None = None  # a signed copy of the capture script on the server (-File)
    operation_timeout_asked: int | None = None  # what the user asked for, when it was capped

    @property
    def delegated(self) -> bool:
        """Whether the server holds credentials it can use to reach another machine (the second hop)."""
        return self.transport == "credssp" or (self.transport == "kerberos" and self.delegate)

    def delegation(self) -> dict[str, Any]:
        """The snapshot's collection.delegation record."""
        return {"delegated": self.delegated, "transport": self.transport}

    @property
    def label(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def endpoint(self) -> str:
        return f"{self.scheme}://{self.label}/wsman"

    def notices(self) -> list[str]:
        """What a person should know about how this connection is protected (and limited)."""
        out = []
        if self.operation_timeout_asked is not None:
            out.append(
                f"{self.label}: --operation-timeout {self.operation_timeout_asked} s capped to "
                f"{self.operation_timeout} s: Windows waits at most MaxTimeoutms (60000 ms by default) whatever "
                "is asked, and a longer wait gains nothing (the collector asks again until --deadline)"
            )
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
    delegate: bool = False,
    script_path: str | None = None,
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
    if delegate and transport != "kerberos":
        raise UsageError(
            "--delegate (kerberos_delegation) works with --transport kerberos only: NTLM, Basic and certificate "
            "logons cannot pass credentials on, and CredSSP always delegates"
        )
    if script_path is not None and (not script_path.strip() or any(c in script_path for c in '"\r\n')):
        raise UsageError("--script-path must be a plain path on the server, e.g. C:\\iisguard\\capture.ps1")
    read = _whole_seconds(read_timeout, DEFAULT_READ_TIMEOUT, "--read-timeout")
    operation = _whole_seconds(operation_timeout, DEFAULT_OPERATION_TIMEOUT, "--operation-timeout")
    asked = None
    if operation > MAX_OPERATION_TIMEOUT:
        asked, operation = operation, MAX_OPERATION_TIMEOUT
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
        delegate=delegate,
        script_path=script_path,
        operation_timeout_asked=asked,
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
    stopped: str | None = None  # why reading stopped before the command ended (deadline, connection)


def _clock() -> float:
    """The clock --deadline is measured on (a test may replace it to count in Receives)."""
    return time.monotonic()


def stdin_payload(script: str) -> bytes:
    """The capture script as the bootstrap reads it from standard input: UTF-8 text, sent whole.

    The bootstrap runs it as one script block, so blank lines and unfinished blocks mean what they
    mean in a .ps1 file; an empty script is refused here rather than "run" as nothing.
    """
    if not script.strip():
        raise UsageError("the capture script is empty")
    return (script.rstrip() + "\n").encode("utf-8")


def script_arguments(target: Target) -> str:
    """Parameters for the capture script beyond -Stream."""
    return "" if target.delegated else " -NoDelegation"


def run_script(target: Target, credentials: Credentials, script: str) -> RawOutput:
    """Run the capture script on the target and return its raw output; raise CollectionError on failure.

    Output read before the deadline, or before the connection broke, is returned with `stopped`
    set, so the complete sections can be kept.
    """
    from winrm.exceptions import WinRMOperationTimeoutError, WSManFaultError

    Protocol = _protocol_class()
    started = _clock()
    deadline = started + target.deadline
    counts = {"Create": 0, "Command": 0, "Send": 0, "Receive": 0, "Signal": 0, "Delete": 0}
    phase = "connecting"
    try:
        protocol = Protocol(
            endpoint=target.endpoint,
            transport=target.transport,
            username=credentials.username,
            password=credentials.password,
            ca_trust_path=target.ca_bundle,  # None: the default CA store
            server_cert_validation="validate" if target.verify else "ignore",
            read_timeout_sec=target.read_timeout,
            operation_timeout_sec=target.operation_timeout,
            cert_pem=target.cert_pem,
            cert_key_pem=target.cert_key_pem,
            kerberos_delegation=target.delegate,
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
    stopped: str | None = None
    failure: BaseException | None = None
    try:
        phase = "opening a shell"
        shell_id = _open_shell(protocol, counts)
        phase = "starting PowerShell"
        counts["Command"] += 1
        arguments = script_arguments(target)
        if target.script_path:
            args = file_args(target.script_path, arguments)
            payload = b""
        else:
            args = bootstrap_args(arguments)
            payload = stdin_payload(script)
        command_id = protocol.run_command(shell_id, "powershell", args, console_mode_stdin=False)
        phase = "sending the capture script"
        _send_all(protocol, shell_id, command_id, payload, counts, deadline)
        phase = "reading the script's output"
        while True:
            if _clock() > deadline:
                raise _DeadlineExceeded()
            counts["Receive"] += 1
            try:
                out, err, code, done = protocol.get_command_output_raw(shell_id, command_id)
            except WinRMOperationTimeoutError:
                continue  # the server's "no output yet": ask again, within our own deadline
            except WSManFaultError:
                raise
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
        failure = _DeadlineExceeded()
        stopped = (
            f"timed out: the capture script was still running after {target.deadline:g} s (the overall "
            "deadline per host); raise --deadline if the server is large or slow"
        )
        if not stdout:
            raise CollectionError(stopped, where=target.label) from None
    except Exception as exc:  # noqa: BLE001 - every library failure becomes one explained line
        log.debug("%s: %s failed", target.label, phase, exc_info=True)
        failure = exc
        if phase == "reading the script's output" and any(stdout) and _connection_broken(exc):
            stopped = explain(exc, target, phase)  # keep what arrived; the complete sections count
        else:
            raise CollectionError(explain(exc, target, phase), where=target.label) from None
    finally:
        _cleanup(protocol, target, shell_id, command_id, counts, failure)
    elapsed = _clock() - started
    log.debug(
        "%s: %d WS-Management requests (%s) in %.2f s",
        target.label,
        sum(counts.values()),
        ", ".join(f"{k} {v}" for k, v in counts.items()),
        elapsed,
    )
    return RawOutput(b"".join(stdout), b"".join(stderr), exit_code, counts, elapsed, stopped)


def _protocol_class() -> Any:
    """pywinrm's Protocol announcing `max_env_sz` in every header (0.5.0 always writes 153600)."""
    from winrm.protocol import Protocol

    class _Protocol(Protocol):
        def build_wsman_header(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
            header = super().build_wsman_header(*args, **kwargs)
            header["env:Header"]["w:MaxEnvelopeSize"]["#text"] = str(self.max_env_sz)
            return header

    return _Protocol


def _open_shell(protocol: Any, counts: dict[str, int]) -> str:
    """Create the shell asking for 500 KB envelopes (a server configured lower answers with less)."""
    protocol.max_env_sz = LARGE_ENVELOPE
    counts["Create"] += 1
    return str(protocol.open_shell(noprofile=True, codepage=65001))


def _too_large(exc: BaseException) -> bool:
    from winrm.exceptions import WinRMTransportError

    return isinstance(exc, WinRMTransportError) and exc.code == REQUEST_TOO_LARGE


def _send_all(
    protocol: Any, shell_id: str, command_id: str, payload: bytes, counts: dict[str, int], deadline: float
) -> None:
    """Standard input in Sends as large as the envelope allows; after HTTP 413 (the server's
    MaxEnvelopeSizekb is below 500) the refused piece and the rest go again in 150 KB envelopes.
    A refused request was not processed, so sending it again duplicates nothing."""
    pos = 0
    while True:
        chunk = send_chunk(protocol.max_env_sz)
        piece = payload[pos : pos + chunk]
        end = pos + chunk >= len(payload)
        try:
            _send(protocol, shell_id, command_id, piece, end, counts, deadline)
        except Exception as exc:
            if not _too_large(exc) or protocol.max_env_sz <= SMALL_ENVELOPE:
                raise
            log.debug("HTTP 413 for a %d-byte Send; sending in %d-byte envelopes", len(piece), SMALL_ENVELOPE)
            protocol.max_env_sz = SMALL_ENVELOPE
            continue
        pos += chunk
        if end:
            return


def _send(
    protocol: Any,
    shell_id: str,
    command_id: str,
    data: bytes,
    end: bool,
    counts: dict[str, int],
    deadline: float,
) -> None:
    """One Send, retried as Ansible's winrm plugin does (lib/ansible/plugins/connection/winrm.py):
    an OperationTimeout on Send means the server took the input while busy (go on); ERROR_BUSY
    (170) means a previous Send is still being processed (wait, then send again, 3 attempts)."""
    from winrm.exceptions import WinRMOperationTimeoutError, WSManFaultError

    for attempt in range(1, SEND_RETRIES + 1):
        counts["Send"] += 1
        try:
            protocol.send_command_input(shell_id, command_id, data, end=end)
            return
        except WinRMOperationTimeoutError:
            log.warning("the server answered OperationTimeout to Send; the input was taken, continuing")
            return
        except WSManFaultError as exc:
            if exc.wsman_fault_code != ERROR_BUSY or attempt == SEND_RETRIES:
                raise
            if _clock() + SEND_RETRY_PAUSE * attempt > deadline:
                raise
            log.warning(
                "Send refused with ERROR_BUSY (170), attempt %d of %d; retrying", attempt, SEND_RETRIES
            )
            time.sleep(SEND_RETRY_PAUSE * attempt)


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
        "the account must be in Administrators (Remote Management Users is not enough for the cmd shell)"
    )


# Faults a Windows server answers when the logon worked but the shell may not be used, explained.
ACCESS_DENIED_HINT = (
    "access denied when opening a remote shell (WS-Management fault 2147942405): the account logged on but "
    "may not use the shell. The cmd shell the collector uses is open to Administrators only by default "
    "(Remote Management Users is not enough; pywinrm#338): add the account to the server's Administrators "
    "group. A local administrator other than the built-in Administrator is filtered by UAC remote "
    "restrictions: on the server run `reg add HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System "
    "/v LocalAccountTokenFilterPolicy /t REG_DWORD /d 1 /f`, or use a domain account"
)
SHELL_DISABLED_HINT = (
    'remote shells are disabled on the server by Group Policy ("Allow Remote Shell Access" is Disabled; '
    "`winrm get winrm/config/winrs` shows AllowRemoteShellAccess = false): enable the policy for this server "
    "(Computer Configuration > Administrative Templates > Windows Components > Windows Remote Shell), or run "
    "`iisguard capture-script` on the server by hand and `iisguard import` the folder"
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
        if (
            exc.wsman_fault_code == REMOTESHELLS_NOT_ALLOWED
            or "not accept any remote shell requests" in reason
        ):
            return SHELL_DISABLED_HINT
        if exc.wsman_fault_code == ACCESS_DENIED and phase == "opening a shell":
            return ACCESS_DENIED_HINT
        if exc.wsman_fault_code == ERROR_BUSY:
            return (
                f"the server answered ERROR_BUSY (170) while {phase}, {SEND_RETRIES} times: it is still "
                "processing earlier input; try again later, or with fewer hosts at once (--concurrency)"
            )
        return f"WS-Management fault {code} while {phase} (HTTP {exc.code}): {reason}"
    if _too_large(exc):
        return (
            f"the server refused a request of {SMALL_ENVELOPE // 1024} KB while {phase} (HTTP 413): its "
            "MaxEnvelopeSizekb is lower than 150; check with `winrm get winrm/config`, raise it with "
            '`winrm set winrm/config @{MaxEnvelopeSizekb="500"}`'
        )
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
        stopped=raw.stopped,
        delegation=target.delegation(),
    )
    return Collected(snapshot, raw.requests, raw.seconds)

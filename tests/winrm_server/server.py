"""A WS-Management server on loopback that behaves like a Windows host running the capture script.

Real HTTP and HTTPS, real Basic authentication and real NTLM (pyspnego's acceptor) with MS-WSMV
message encryption, and the shell resource: Create, Command, Send, Receive, Signal, Delete. Each
simulated host listens on its own port. When a command is `powershell -NoProfile -NonInteractive
-Command -` and its standard input carries the capture script invoked with `-Stream`, the host
answers with what that script would print for its fixture folder, over several Receive responses.

PowerShell's command line and standard input are read as powershell.exe reads them (see
powershell.py): `-Command -` line by line with the console's rules, `-EncodedCommand` bootstraps
that read all of standard input, `-File` for a script already on the server. Server quotas are
enforced as Windows enforces them (MS-WSMV, "Web Services Management Protocol Extensions for
Windows Vista"):
  MaxEnvelopeSizekb (500 by default since Windows Server 2012, 150 before; 2.2.4.10) caps the
    responses: a request asking for larger envelopes is not refused, the server uses its own limit
    (3.1.4.1.7); a request asking for less than 8192 octets gets the wsman:EncodingLimit fault
    (ERROR_WSMAN_MIN_ENVELOPE_SIZE, 0x8033807E in the SDK's wsmerror.h). A request *body* larger than
    MaxEnvelopeSizekb is refused with HTTP 413 and no SOAP body (ansible.windows#620 and #391,
    masterzen/winrm#156; the Windows client words it "the request size exceeded the configured
    MaxEnvelopeSize quota", AutomatedLab#1147).
  MaxTimeoutms (60000 by default; 2.2.4.10) caps OperationTimeout the same way: a longer one is not
    refused, the server waits at most MaxTimeoutms (3.1.4.1.6) and then answers the OperationTimeout
    fault (ERROR_WSMAN_OPERATION_TIMEDOUT, 0x80338029 = 2150858793).
Output can arrive late (`output_delay`), stop short as when WinRM kills a shell
over MaxMemoryPerShellMB (`killed_after`), or stop and never finish (`stall_after`).

Logons: Basic, NTLM (pyspnego's acceptor, with MS-WSMV message encryption), a client certificate,
and CredSSP (pyspnego's MS-CSSP acceptor), the only one that leaves the user's credential on the
server; what a host's capture can reach follows from that (secondhop.py), not from the flags.

Faults are injected per host (`HostConfig.fault`):
  reject-auth  every credential is refused (HTTP 401 once the handshake completes)
  fault500     the `fault_action` request gets HTTP 500 with a WS-Man fault body
  hang         the `fault_action` request never gets an answer (the client's read timeout fires)
  busy         every Receive answers the WS-Man OperationTimeout fault (the command never ends)
  cut          the second Receive response is cut off mid-body and the connection closed
  malformed    the first Receive response is not well-formed XML
  access-denied   Create answers HTTP 500, WS-Man fault 2147942405 "Access is denied." (what a local
                  administrator other than the built-in one gets under UAC remote restrictions,
                  LocalAccountTokenFilterPolicy=0, or a non-administrator on the cmd shell plugin;
                  wazuh-ansible#581, pywinrm#338)
  shell-disabled  Create answers ERROR_WSMAN_REMOTESHELLS_NOT_ALLOWED (0x803381AC, wsmerror.h) "The
                  service is configured to not accept any remote shell requests" (Group Policy
                  "Allow Remote Shell Access" disabled; CIS 18.9.87.1, jpboyce/cb_cis_windows_2016#5)
  busy-send       the first `busy_sends` Send requests answer WS-Man fault 170 (ERROR_BUSY), which
                  Ansible's winrm connection plugin retries (lib/ansible/plugins/connection/winrm.py)
  send-timeout    the first Send answers the OperationTimeout fault although the input was taken
                  (Ansible: "the input is still processed and it's safe to continue")
"""

from __future__ import annotations

import base64
import collections
import os
import socket
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import spnego
import spnego.exceptions

from . import localgroups, powershell, secondhop, wsman
from .tls import TlsFiles

POWERSHELL_ARGS = "-NoProfile -NonInteractive -Command -"
ERROR_BUSY = 170  # winerror.h; a Send while the previous one is still being processed
# wsmerror.h (Windows SDK; the same values are in windows-rs, Win32::System::RemoteManagement)
ERROR_WSMAN_MIN_ENVELOPE_SIZE = 0x8033807E  # "the envelope size in the request is too small"
ERROR_WSMAN_REMOTESHELLS_NOT_ALLOWED = 0x803381AC
MIN_ENVELOPE = 8192  # MS-WSMV 3.1.4.1.7: a smaller wsman:MaxEnvelopeSize is an EncodingLimit fault
CERT_AUTH = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual"


def clixml(errors: list[str], *, progress: bool = True) -> bytes:
    """What powershell.exe writes on stderr under WinRM: CLIXML with progress records and error lines."""
    objs = []
    if progress:
        objs.append(
            '<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T>'
            '<T>System.Object</T></TN><MS><I64 N="SourceId">1</I64><PR N="Record"><AV>Preparing modules for '
            "first use.</AV><AI>0</AI><Nil /><PI>-1</PI><PC>-1</PC><T>Completed</T><SR>-1</SR><SD> </SD></PR>"
            "</MS></Obj>"
        )
    for message in errors:
        for line in message.splitlines():
            text = escape(line).replace("\r", "")
            objs.append(f'<S S="Error">{text}_x000D__x000A_</S>')
    xml = (
        '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
        + "".join(objs)
        + "</Objs>"
    )
    return b"#< CLIXML\r\n" + xml.encode("utf-8")


def receive_capacity(max_envelope: int = 153600) -> int:
    """Output bytes one Receive response carries: base64 grows them 4/3, each Stream element costs ~100."""
    raw = (max_envelope - wsman.RECEIVE_OVERHEAD) * 3 // 4
    return raw * 8192 // (8192 + 150) - 2048  # each 8 KB piece is its own Stream element


@dataclass
class HostConfig:
    """One simulated Windows host."""

    name: str = "IIS10-DEFAULT"
    stdout: bytes = b""  # what the capture script prints with -Stream
    stderr: bytes = b""
    exit_code: int = 0
    expect_script: str | None = None  # the capture script text to recognise on stdin (None: accept any)
    receive_chunk: int = (
        16 * 1024
    )  # at most this many output bytes per Receive (MaxEnvelopeSize also caps it)
    latency: float = 0.0  # seconds added before every HTTP response
    auth: frozenset[str] = frozenset({"basic", "ntlm", "certificate"})
    fault: str | None = None
    fault_action: str = "Receive"
    fault_code: int = 2150859174
    fault_text: str = (
        "The WS-Management service cannot process the request. This user is allowed a maximum number of 5 "
        "concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user."
    )
    busy_sends: int = 1  # with fault="busy-send": how many Sends answer ERROR_BUSY first
    max_envelope_kb: int = 500  # MaxEnvelopeSizekb (winrm get winrm/config)
    max_timeout_ms: int = 60000  # MaxTimeoutms
    output_delay: float = 0.0  # seconds after standard input closes before any output
    killed_after: int | None = None  # stdout stops after this many bytes and the command ends
    killed_exit_code: int = 1
    stall_after: int | None = None  # stdout stops after this many bytes and the command never ends
    script_path: str | None = None  # a signed copy of the capture script on the server (-File)
    # The first Receive of a command waits (up to 20 s) until this many shells are open on the whole
    # server: a fleet test then sees the concurrency it allows, however slow the machine is.
    rendezvous: int | None = None
    # The capture folder the script writes on this host when everything it reaches works. Set, the
    # host answers with it as the script prints it *for this logon*: a logon that holds no delegated
    # credential (Basic, NTLM, certificate: as the server sees it, whatever the collector claims)
    # gets the second hop's failures (secondhop.py). `stdout` is then not used.
    capture: Path | None = None
    # With `capture`: the host's local groups in its display language (localgroups.py); the
    # per-group membership files are then what the received script reads on such a host.
    local_groups: list[localgroups.Group] | None = None


@dataclass
class _Command:
    id: str
    command: str
    arguments: str
    stdin: bytearray = field(default_factory=bytearray)
    stdin_done: bool = False
    stdout: bytes = b""
    stderr: bytes = b""
    exit_code: int = 0
    out_pos: int = 0
    err_pos: int = 0
    receives: int = 0
    ready_at: float = 0.0  # monotonic time the output starts to flow
    sends: int = 0
    ran: list[str] = field(default_factory=list)  # what PowerShell ran (statements or a whole script)
    delegated: bool = False  # whether the logon that started it holds a credential it can pass on


@dataclass
class HostStats:
    """What one host saw: WS-Man requests by action, HTTP round trips (auth legs included), shells."""

    actions: collections.Counter[str] = field(default_factory=collections.Counter)
    http_requests: int = 0
    shells_open: int = 0
    commands: list[tuple[str, str]] = field(default_factory=list)
    stdin_bytes: int = 0
    users: set[str] = field(default_factory=set)  # accounts that authenticated
    encrypted_requests: int = 0  # WS-Man requests that arrived sealed (MS-WSMV message encryption)
    too_large: int = 0  # requests refused with HTTP 413 (body over MaxEnvelopeSizekb)
    delegated_logons: int = 0  # CredSSP logons whose credential the server received
    longest_wait: float = 0.0  # the longest a Receive was held before "no output yet"

    @property
    def wsman_requests(self) -> int:
        return sum(self.actions.values())


class Gauge:
    """Open shells across every host of a server, and the most ever open at once."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.now = 0
        self.peak = 0

    def add(self, delta: int) -> None:
        with self.lock:
            self.now += delta
            self.peak = max(self.peak, self.now)
            self.lock.notify_all()

    def wait_for(self, count: int, timeout: float) -> bool:
        """Block until `count` shells are open at once (True), or `timeout` seconds pass (False)."""
        with self.lock:
            return self.lock.wait_for(lambda: self.now >= count, timeout)


class _HostState:
    def __init__(self, config: HostConfig, stop: threading.Event, gauge: Gauge, workdir: Path) -> None:
        self.config = config
        self.workdir = workdir
        self.stop = stop
        self.gauge = gauge
        self.lock = threading.Lock()
        self.shells: dict[str, dict[str, _Command]] = {}
        self.stats = HostStats()
        self.port = 0

    # -- the shell resource ---------------------------------------------------------------------
    def handle(self, req: wsman.Request, delegated: bool = False) -> tuple[int, bytes]:
        relates = req.message_id
        action = req.action
        fault = self.config.fault
        if action == "Create" and fault == "access-denied":
            return 500, wsman.fault(relates, code=2147942405, text="Access is denied. ")
        if action == "Create" and fault == "shell-disabled":
            return 500, wsman.fault(
                relates,
                code=ERROR_WSMAN_REMOTESHELLS_NOT_ALLOWED,
                subcode="w:AccessDenied",
                value="s:Sender",
                text="The WS-Management service cannot process the request. The service is configured to "
                "not accept any remote shell requests. ",
            )
        if action == "Create":
            shell_id = str(uuid.uuid4()).upper()
            with self.lock:
                self.shells[shell_id] = {}
                self.stats.shells_open += 1
            self.gauge.add(1)
            return 200, wsman.created(relates, shell_id, f"http://127.0.0.1:{self.port}/wsman")
        shell = self.shells.get(req.shell_id or "")
        if shell is None:
            return 500, wsman.fault(
                relates,
                code=2150858843,
                subcode="w:InvalidSelectors",
                text="The request for the Windows Remote Shell with ShellId "
                f"{req.shell_id} failed because the shell was not found on the server.",
            )
        if action == "Delete":
            with self.lock:
                self.shells.pop(req.shell_id or "", None)
                self.stats.shells_open -= 1
            self.gauge.add(-1)
            return 200, wsman.delete_response(relates)
        if action == "Command":
            line = req.body.find("rsp:CommandLine", wsman.NS)
            command = (line.findtext("rsp:Command", "", wsman.NS) if line is not None else "").strip()
            arguments = (line.findtext("rsp:Arguments", "", wsman.NS) if line is not None else "").strip()
            cmd = _Command(str(uuid.uuid4()).upper(), command, arguments, delegated=delegated)
            shell[cmd.id] = cmd
            with self.lock:
                self.stats.commands.append((command, arguments))
            return 200, wsman.command_response(relates, cmd.id)
        if action == "Send":
            stream = req.body.find("rsp:Send/rsp:Stream", wsman.NS)
            cmd = shell.get(stream.get("CommandId", "") if stream is not None else "")
            if stream is None or cmd is None:
                return 500, wsman.fault(relates, code=2150858843, text="The command was not found.")
            data = base64.b64decode(stream.text or "")
            cmd.sends += 1
            if fault == "busy-send" and cmd.sends <= self.config.busy_sends:
                return 500, wsman.fault(relates, code=ERROR_BUSY, text="The requested resource is in use. ")
            if fault == "send-timeout" and cmd.sends == 1:
                cmd.stdin += data  # taken, although the answer says otherwise
                with self.lock:
                    self.stats.stdin_bytes += len(data)
                if stream.get("End", "false").lower() == "true":
                    cmd.stdin_done = True
                    self._run(cmd)
                return 500, _operation_timeout(relates)
            cmd.stdin += data
            with self.lock:
                self.stats.stdin_bytes += len(data)
            if stream.get("End", "false").lower() == "true":
                cmd.stdin_done = True
                self._run(cmd)
            return 200, wsman.send_response(relates)
        if action == "Receive":
            desired = req.body.find("rsp:Receive/rsp:DesiredStream", wsman.NS)
            cmd = shell.get(desired.get("CommandId", "") if desired is not None else "")
            if cmd is None:
                return 500, wsman.fault(relates, code=2150858843, text="The command was not found.")
            return self._receive(req, cmd)
        if action == "Signal":
            signal = req.body.find("rsp:Signal", wsman.NS)
            shell.pop(signal.get("CommandId", "") if signal is not None else "", None)
            return 200, wsman.signal_response(relates)
        return 500, wsman.fault(
            relates,
            code=2150858765,
            subcode="a:ActionNotSupported",
            value="s:Sender",
            text=f"The action is not supported by the service: {action}",
        )

    def _run(self, cmd: _Command) -> None:
        """Decide what the command prints, once its standard input is closed (as powershell.exe would)."""
        cmd.ready_at = time.monotonic() + self.config.output_delay
        text = bytes(cmd.stdin).decode("utf-8", "replace")
        args = powershell.split_arguments(cmd.arguments)
        lowered = [a.lower() for a in args]
        if cmd.command.lower() not in ("powershell", "powershell.exe"):
            self._unrecognised(cmd)
            return
        if "-encodedcommand" in lowered:
            at = lowered.index("-encodedcommand")
            boot = powershell.decode_encoded_command(args[at + 1]) if at + 1 < len(args) else None
            if boot is None or not powershell.is_stdin_bootstrap(boot):
                self._unrecognised(cmd)
                return
            # The bootstrap runs all of standard input as one script block: a parse error is a
            # terminating error (CLIXML on stderr, exit code 1) and nothing runs.
            error = powershell.parse_error(text)
            if error is not None:
                cmd.stdout = b"IISGUARD-BOOT 1\r\n" if "IISGUARD-BOOT" in boot else b""
                cmd.stderr = clixml([f'Exception calling "Create" with "1" argument(s): "{error}"'])
                cmd.exit_code = 1
                return
            cmd.ran = [text]
            self._answer(cmd, text, "-Stream" in boot, told="-NoDelegation" in boot)
            return
        if "-file" in lowered:
            at = lowered.index("-file")
            path = args[at + 1] if at + 1 < len(args) else ""
            if self.config.script_path is None or path.lower() != self.config.script_path.lower():
                cmd.stderr = f"The argument '{path}' to the -File parameter does not exist.\r\n".encode()
                cmd.exit_code = 4294770688  # -196608: Windows PowerShell when the -File script is missing
                return
            cmd.ran = [path]
            self._answer(cmd, None, "-stream" in lowered[at + 2 :], told="-nodelegation" in lowered[at + 2 :])
            return
        if cmd.arguments != POWERSHELL_ARGS:
            self._unrecognised(cmd)
            return
        read = powershell.read_command_stdin(text)
        cmd.ran = read.statements
        script = self.config.expect_script.rstrip() if self.config.expect_script else None
        for statement in read.statements:
            if script is None or (script in statement and "-Stream" in statement.replace(script, "")):
                self._answer(cmd, None, True)
                break
        # Under -Command - errors reach stderr as plain text, and the exit code stays 0.
        errors = "".join(line + "\r\n" for line in read.stderr).encode()
        cmd.stderr = errors + cmd.stderr
        if not cmd.stdout:
            cmd.exit_code = 0

    def _answer(self, cmd: _Command, script: str | None, stream: bool, told: bool = False) -> None:
        """The configured output when the capture script runs with -Stream (script None: already checked)."""
        expected = self.config.expect_script
        if script is not None and expected is not None and script.strip() != expected.strip():
            self._unrecognised(cmd)
            return
        if not stream:
            self._unrecognised(cmd)
            return
        cmd.stdout, cmd.stderr, cmd.exit_code = self.config.stdout, self.config.stderr, self.config.exit_code
        if self.config.capture is not None:
            from iisguard.capture.stream import encode_v2

            folder = self.config.capture
            if not cmd.delegated:
                folder = secondhop.without_delegation(folder, self.workdir / cmd.id, told=told)
            if self.config.local_groups is not None:
                text = script if script is not None else (self.config.expect_script or "")
                folder = localgroups.render(folder, self.workdir / cmd.id, self.config.local_groups, text)
            cmd.stdout = encode_v2(folder).encode("utf-8")

    def _unrecognised(self, cmd: _Command) -> None:
        cmd.stderr = clixml([f"The test host does not recognise this command: {cmd.command} {cmd.arguments}"])
        cmd.exit_code = 1

    def _available(self, cmd: _Command) -> tuple[int, bool]:
        """(stdout bytes that may be sent so far, whether the process has ended)."""
        cfg = self.config
        if cfg.killed_after is not None and len(cmd.stdout) > cfg.killed_after:
            return cfg.killed_after, True
        if cfg.stall_after is not None and len(cmd.stdout) > cfg.stall_after:
            return cfg.stall_after, False
        return len(cmd.stdout), True

    def _receive(self, req: wsman.Request, cmd: _Command) -> tuple[int, bytes]:
        relates = req.message_id
        cmd.receives += 1
        if self.config.rendezvous is not None and cmd.receives == 1:
            self.gauge.wait_for(self.config.rendezvous, 20.0)
        fault = self.config.fault
        limit, ends = self._available(cmd) if cmd.stdin_done else (0, False)
        waiting = cmd.stdin_done and time.monotonic() < cmd.ready_at
        stalled = cmd.stdin_done and not ends and cmd.out_pos >= limit
        if fault == "busy" or not cmd.stdin_done or waiting or stalled:
            # MS-WSMV 3.1.4.14: no output within OperationTimeout is fault 2150858793; the client asks again.
            pause = min(req.operation_timeout, 0.05)
            if waiting:
                pause = min(req.operation_timeout, max(0.0, cmd.ready_at - time.monotonic()))
            held = time.monotonic()
            self.stop.wait(pause)
            with self.lock:
                self.stats.longest_wait = max(self.stats.longest_wait, time.monotonic() - held)
            if waiting and time.monotonic() >= cmd.ready_at:
                return self._receive(req, cmd)
            return 500, _operation_timeout(relates)
        budget = max(1024, min(self.config.receive_chunk, receive_capacity(req.max_envelope)))
        streams: list[tuple[str, str]] = []
        for name in ("stdout", "stderr"):
            data = cmd.stdout[:limit] if name == "stdout" else cmd.stderr
            pos = cmd.out_pos if name == "stdout" else cmd.err_pos
            while budget > 0 and pos < len(data):
                piece = data[pos : pos + min(budget, 8192)]
                streams.append((name, base64.b64encode(piece).decode("ascii")))
                pos += len(piece)
                budget -= len(piece)
            if name == "stdout":
                cmd.out_pos = pos
            else:
                cmd.err_pos = pos
        done = ends and cmd.out_pos >= limit and cmd.err_pos >= len(cmd.stderr)
        killed = limit < len(cmd.stdout)
        code = self.config.killed_exit_code if killed else cmd.exit_code
        body = wsman.receive_response(relates, cmd.id, streams, done=done, exit_code=code)
        if len(body) > req.max_envelope:
            raise AssertionError(f"test server built a {len(body)}-byte envelope over {req.max_envelope}")
        return 200, body


def _operation_timeout(relates: str) -> bytes:
    return wsman.fault(
        relates,
        code=wsman.OPERATION_TIMEOUT_CODE,
        subcode="w:TimedOut",
        text="The WS-Management service cannot complete the operation within the time specified in "
        "OperationTimeout.",
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Listener

    def setup(self) -> None:
        # Headers and body go out in two writes; without NODELAY, Nagle plus delayed ACK add 40 ms to each.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()
        self.ntlm: Any = None
        self.ntlm_ready = False
        self.encrypted = False
        self.credssp: Any = None
        self.credssp_ready = False
        # Whether this connection's logon left a credential on the server that it can pass on (the
        # second hop): only CredSSP, which sends the user's password inside its TLS channel (MS-CSSP
        # TSPasswordCreds). Basic, NTLM and certificate logons never do.
        self.delegated = False

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # quiet: pytest shows server noise otherwise

    # -- plumbing -------------------------------------------------------------------------------
    def _reply(
        self, status: int, body: bytes = b"", headers: dict[str, str] | list[tuple[str, str]] = ()
    ) -> None:
        self.send_response(status)
        items = headers.items() if isinstance(headers, dict) else headers
        for key, value in items:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _challenge(self) -> None:
        allowed = self.server.host.config.auth
        headers = []
        if "ntlm" in allowed:
            headers.append(("WWW-Authenticate", "Negotiate"))
        if "basic" in allowed:
            headers.append(("WWW-Authenticate", 'Basic realm="WSMAN"'))
        if "credssp" in allowed:
            headers.append(("WWW-Authenticate", "CredSSP"))
        self._reply(401, b"", headers)

    def _authenticate(self) -> bool:
        """True when the request may proceed; otherwise a 401 (or challenge) has been sent."""
        host = self.server.host
        reject = host.config.fault == "reject-auth"
        header = self.headers.get("Authorization", "")
        if header == CERT_AUTH and "certificate" in host.config.auth:
            # A client certificate (verified against the CA during the handshake) mapped by its CN.
            peer = self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None
            names = [v for rdn in (peer or {}).get("subject", ()) for k, v in rdn if k == "commonName"]
            if reject or not names or names[0] not in self.server.users:
                self._challenge()
                return False
            with host.lock:
                host.stats.users.add(names[0])
            return True
        scheme, _, token = header.partition(" ")
        scheme = scheme.lower()
        if scheme == "basic" and "basic" in host.config.auth:
            user, _, password = base64.b64decode(token).decode("utf-8", "replace").partition(":")
            if reject or self.server.users.get(user) != password:
                self._challenge()
                return False
            with host.lock:
                host.stats.users.add(user)
            return True
        if scheme in ("negotiate", "ntlm") and "ntlm" in host.config.auth:
            if self.ntlm is None or self.ntlm_ready:
                self.ntlm = spnego.server(protocol="ntlm", options=spnego.NegotiateOptions.use_ntlm)
                self.ntlm_ready = False
            try:
                out = self.ntlm.step(base64.b64decode(token))
            except spnego.exceptions.SpnegoError:
                self.ntlm = None
                self._challenge()
                return False
            if not self.ntlm.complete:
                self._reply(
                    401, b"", {"WWW-Authenticate": f"Negotiate {base64.b64encode(out or b'').decode()}"}
                )
                return False
            if reject:
                self.ntlm = None
                self._challenge()
                return False
            self.ntlm_ready = True
            with host.lock:
                host.stats.users.add(str(self.ntlm.client_principal or "").lstrip("\\"))
            return True
        if scheme == "credssp" and "credssp" in host.config.auth:
            return self._credssp(token, reject)
        if not scheme and (self.ntlm_ready or self.credssp_ready):
            return True  # NTLM and CredSSP authenticate the connection, not each request
        self._challenge()
        return False

    def _credssp(self, token: str, reject: bool) -> bool:
        """CredSSP (MS-CSSP) with pyspnego's acceptor: TLS, NTLM inside it, then the client's
        TSCredentials - the password the server keeps and can use for the second hop."""
        host = self.server.host
        if self.credssp is None or self.credssp_ready:
            self.credssp = spnego.server(protocol="credssp")
            self.credssp_ready = False
        try:
            out = self.credssp.step(base64.b64decode(token))
        except (spnego.exceptions.SpnegoError, ValueError):
            self.credssp = None
            self._challenge()
            return False
        if not self.credssp.complete:
            self._reply(401, b"", {"WWW-Authenticate": f"CredSSP {base64.b64encode(out or b'').decode()}"})
            return False
        cred = self.credssp.get_extra_info("client_credential")
        user = str(getattr(cred, "username", "") or "")
        if reject or self.server.users.get(user) != getattr(cred, "password", None):
            self.credssp = None
            self._challenge()
            return False
        self.credssp_ready = True
        self.delegated = True
        with host.lock:
            host.stats.users.add(user)
            host.stats.delegated_logons += 1
        return True

    # -- requests -------------------------------------------------------------------------------
    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        host = self.server.host
        body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
        with host.lock:
            host.stats.http_requests += 1
        if host.config.latency:
            host.stop.wait(host.config.latency)
        if not self._authenticate():
            return
        encrypted = self.headers.get("Content-Type", "").startswith("multipart/encrypted")
        self.encrypted = encrypted  # answer in kind
        if encrypted:
            if not self.ntlm_ready:
                self._reply(400)
                return
            try:
                length, signature, sealed = wsman.split_encrypted(body)
                xml = self.ntlm.unwrap_winrm(signature, sealed)
            except (ValueError, spnego.exceptions.SpnegoError):
                self._reply(400)
                return
            if len(xml) != length:
                self._reply(400)
                return
        else:
            xml = body
        # (after unsealing, so the NTLM sequence numbers stay in step)
        if len(body) > host.config.max_envelope_kb * 1024:
            # A request larger than MaxEnvelopeSizekb: HTTP 413, no SOAP fault (ansible.windows#620).
            with host.lock:
                host.stats.too_large += 1
            self._reply(413)
            return
        if not xml:
            self._reply(200)  # pywinrm's empty POST that sets up the security context
            return
        try:
            req = wsman.parse_request(xml)
        except (ValueError, SyntaxError):
            self._reply(
                400,
                wsman.fault(
                    "",
                    code=2150858817,
                    subcode="w:InvalidMessageInformationHeader",
                    value="s:Sender",
                    text="The WS-Management request is not valid XML.",
                ),
            )
            return
        server_max = host.config.max_envelope_kb * 1024
        # MS-WSMV 3.1.4.1.7 and 3.1.4.1.6: larger values than the configuration allows are lowered
        # to it, never refused.
        req.max_envelope = min(req.max_envelope, server_max)
        req.operation_timeout = min(req.operation_timeout, host.config.max_timeout_ms / 1000)
        if req.max_envelope < MIN_ENVELOPE:
            status, out = (
                500,
                wsman.fault(
                    req.message_id,
                    code=ERROR_WSMAN_MIN_ENVELOPE_SIZE,
                    subcode="w:EncodingLimit",
                    value="s:Sender",
                    text="The WS-Management service cannot process the request because the envelope size in "
                    "the request is too small. ",
                ),
            )
        else:
            with host.lock:
                host.stats.actions[req.action] += 1
                host.stats.encrypted_requests += encrypted
            if self._inject(req):
                return
            status, out = host.handle(req, delegated=self.delegated)
        self._send_wsman(status, out, encrypted)

    def _send_wsman(self, status: int, out: bytes, encrypted: bool) -> None:
        if encrypted:
            wrapped = self.ntlm.wrap_winrm(out)
            self._reply(
                status,
                wsman.join_encrypted(len(out), wrapped.header, wrapped.data),
                {"Content-Type": wsman.ENCRYPTED_CONTENT_TYPE},
            )
        else:
            self._reply(status, out, {"Content-Type": "application/soap+xml;charset=UTF-8"})

    def _inject(self, req: wsman.Request) -> bool:
        """Carry out the host's fault for this request; True when the response has been dealt with."""
        host = self.server.host
        fault = host.config.fault
        if fault == "fault500" and req.action == host.config.fault_action:
            body = wsman.fault(
                req.message_id,
                code=host.config.fault_code,
                text=host.config.fault_text,
                subcode="w:QuotaLimit",
            )
            self._send_wsman(500, body, self.encrypted)
            return True
        if fault == "hang" and req.action == host.config.fault_action:
            host.stop.wait(60)
            self.close_connection = True
            return True
        if fault == "cut" and req.action == "Receive" and host.stats.actions["Receive"] >= 2:
            status, out = host.handle(req)
            self.send_response(status)
            self.send_header("Content-Type", "application/soap+xml;charset=UTF-8")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out[: len(out) // 3])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return True
        if fault == "malformed" and req.action == "Receive":
            out = wsman.envelope(
                wsman.ACTION_BASE["Receive"] + "Response",
                req.message_id,
                "<rsp:ReceiveResponse><rsp:Stream Name='stdout'>AAAA</rsp:Strea",
            )
            out = out.replace(b"</s:Body></s:Envelope>", b"")
            self._send_wsman(200, out, self.encrypted)
            return True
        return False


class _Listener(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, host: _HostState, users: dict[str, str], ssl_context: ssl.SSLContext | None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.host = host
        self.users = users
        self.ssl_context = ssl_context

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake runs here, in the connection's own thread, so a stuck client blocks no one.
        if self.ssl_context is not None:
            try:
                request = self.ssl_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)


class WinRMTestServer:
    """Simulated Windows hosts on 127.0.0.1, one port each. Use as a context manager."""

    def __init__(
        self, workdir: Path, *, users: dict[str, str] | None = None, tls: TlsFiles | None = None
    ) -> None:
        self.users = dict(users or {"scanner": "Passw0rd!"})
        self.tls = tls
        self._stop = threading.Event()
        self.shells = Gauge()  # shells open across all hosts (fleet concurrency)
        self._hosts: dict[int, _HostState] = {}
        self._listeners: list[_Listener] = []
        self._ssl: ssl.SSLContext | None = None
        if tls is not None:
            self._ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._ssl.load_cert_chain(tls.server_cert, tls.server_key)
            # Client certificates are optional (Basic and NTLM need none) and checked against the CA.
            self._ssl.verify_mode = ssl.CERT_OPTIONAL
            self._ssl.load_verify_locations(tls.ca_cert)
        # pyspnego's NTLM acceptor reads accounts from the file NTLM_USER_FILE names (DOMAIN:user:password).
        workdir.mkdir(parents=True, exist_ok=True)
        self._workdir = workdir
        self._user_file = workdir / "ntlm_users"
        self._user_file.write_text("".join(f":{u}:{p}\n" for u, p in self.users.items()), encoding="utf-8")
        self._old_user_file = os.environ.get("NTLM_USER_FILE")
        os.environ["NTLM_USER_FILE"] = str(self._user_file)

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    def add_host(self, config: HostConfig) -> int:
        """Start listening for one more host; returns its port."""
        state = _HostState(config, self._stop, self.shells, self._workdir / f"host-{len(self._hosts)}")
        listener = _Listener(state, self.users, self._ssl)
        state.port = listener.server_address[1]
        self._hosts[state.port] = state
        self._listeners.append(listener)
        threading.Thread(target=listener.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return state.port

    def stats(self, port: int) -> HostStats:
        return self._hosts[port].stats

    def config(self, port: int) -> HostConfig:
        return self._hosts[port].config

    def close(self) -> None:
        self._stop.set()
        for listener in self._listeners:
            listener.shutdown()
            listener.server_close()
        if self._old_user_file is None:
            os.environ.pop("NTLM_USER_FILE", None)
        else:
            os.environ["NTLM_USER_FILE"] = self._old_user_file

    def __enter__(self) -> WinRMTestServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def closed_port() -> int:
    """A loopback port nothing listens on (for 'connection refused')."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False

"""WS-Management envelopes as a Windows server writes them, and the MS-WSMV encrypted body framing.

Shapes follow MS-WSMV and the canned exchanges in pywinrm's own tests; nothing here knows about
the capture script or the fixtures (see server.py for that).
"""

from __future__ import annotations

import struct
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from xml.sax.saxutils import escape

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "p": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
}
SHELL_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
ACTION_BASE = {
    "Create": "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create",
    "Delete": "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete",
    "Command": f"{SHELL_URI}/Command",
    "Send": f"{SHELL_URI}/Send",
    "Receive": f"{SHELL_URI}/Receive",
    "Signal": f"{SHELL_URI}/Signal",
}
ACTION_NAME = {uri: name for name, uri in ACTION_BASE.items()}
FAULT_ACTION = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
# The WS-Man fault a Receive answers with when no output arrived within OperationTimeout.
OPERATION_TIMEOUT_CODE = 2150858793

_NSDECL = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in NS.items())


@dataclass
class Request:
    """The parts of a WS-Man request the shell resource needs."""

    action: str  # short name: Create, Command, Send, Receive, Signal, Delete (or the full URI if unknown)
    message_id: str
    shell_id: str | None
    max_envelope: int
    operation_timeout: float
    body: ET.Element


def parse_request(xml: bytes) -> Request:
    root = ET.fromstring(xml)
    header = root.find("s:Header", NS)
    body = root.find("s:Body", NS)
    if header is None or body is None:
        raise ValueError("not a SOAP envelope")
    action_uri = (header.findtext("a:Action", "", NS) or "").strip()
    selector = header.find("w:SelectorSet/w:Selector[@Name='ShellId']", NS)
    max_env = int(header.findtext("w:MaxEnvelopeSize", "153600", NS) or 153600)
    timeout_text = header.findtext("w:OperationTimeout", "PT60S", NS) or "PT60S"
    return Request(
        action=ACTION_NAME.get(action_uri, action_uri),
        message_id=(header.findtext("a:MessageID", "", NS) or "").strip(),
        shell_id=selector.text.strip() if selector is not None and selector.text else None,
        max_envelope=max_env,
        operation_timeout=_duration(timeout_text),
        body=body,
    )


def _duration(text: str) -> float:
    """Seconds from the simple xs:duration pywinrm sends (PT20S, PT1.5S)."""
    text = text.strip().upper()
    if text.startswith("PT") and text.endswith("S"):
        try:
            return float(text[2:-1])
        except ValueError:
            pass
    return 60.0


def envelope(action: str, relates_to: str, body: str) -> bytes:
    """A response envelope; `body` is the already-serialised content of s:Body."""
    return (
        f'<?xml version="1.0" encoding="utf-8"?><s:Envelope xml:lang="en-US" {_NSDECL}>'
        f"<s:Header><a:Action>{escape(action)}</a:Action>"
        f"<a:MessageID>uuid:{str(uuid.uuid4()).upper()}</a:MessageID>"
        "<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
        f"<a:RelatesTo>{escape(relates_to)}</a:RelatesTo></s:Header>"
        f"<s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def created(relates_to: str, shell_id: str, host_url: str) -> bytes:
    body = (
        "<x:ResourceCreated>"
        f"<a:Address>{escape(host_url)}</a:Address>"
        "<a:ReferenceParameters>"
        "<w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</w:ResourceURI>"
        f'<w:SelectorSet><w:Selector Name="ShellId">{shell_id}</w:Selector></w:SelectorSet>'
        "</a:ReferenceParameters></x:ResourceCreated>"
    )
    return envelope(ACTION_BASE["Create"] + "Response", relates_to, body)


def command_response(relates_to: str, command_id: str) -> bytes:
    body = f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId></rsp:CommandResponse>"
    return envelope(ACTION_BASE["Command"] + "Response", relates_to, body)


def send_response(relates_to: str) -> bytes:
    return envelope(ACTION_BASE["Send"] + "Response", relates_to, "<rsp:SendResponse/>")


def signal_response(relates_to: str) -> bytes:
    return envelope(ACTION_BASE["Signal"] + "Response", relates_to, "<rsp:SignalResponse/>")


def delete_response(relates_to: str) -> bytes:
    return envelope(ACTION_BASE["Delete"] + "Response", relates_to, "")


def receive_response(
    relates_to: str,
    command_id: str,
    streams: list[tuple[str, str]],
    *,
    done: bool,
    exit_code: int = 0,
) -> bytes:
    """`streams` holds (name, base64 text) pairs; `done` adds the End markers and the exit code."""
    parts = [
        f'<rsp:Stream Name="{name}" CommandId="{command_id}">{text}</rsp:Stream>' for name, text in streams
    ]
    if done:
        parts.append(f'<rsp:Stream Name="stdout" CommandId="{command_id}" End="true"></rsp:Stream>')
        parts.append(f'<rsp:Stream Name="stderr" CommandId="{command_id}" End="true"></rsp:Stream>')
        parts.append(
            f'<rsp:CommandState CommandId="{command_id}" State="{SHELL_URI}/CommandState/Done">'
            f"<rsp:ExitCode>{exit_code}</rsp:ExitCode></rsp:CommandState>"
        )
    else:
        parts.append(f'<rsp:CommandState CommandId="{command_id}" State="{SHELL_URI}/CommandState/Running"/>')
    body = "<rsp:ReceiveResponse>" + "".join(parts) + "</rsp:ReceiveResponse>"
    return envelope(ACTION_BASE["Receive"] + "Response", relates_to, body)


RECEIVE_OVERHEAD = len(receive_response("uuid:" + "0" * 36, "0" * 36, [], done=True)) + 512


def fault(
    relates_to: str,
    *,
    code: int,
    text: str,
    subcode: str = "w:InternalError",
    value: str = "s:Receiver",
    machine: str = "127.0.0.1",
) -> bytes:
    body = (
        "<s:Fault>"
        f"<s:Code><s:Value>{value}</s:Value><s:Subcode><s:Value>{subcode}</s:Value></s:Subcode></s:Code>"
        f'<s:Reason><s:Text xml:lang="en-US">{escape(text)}</s:Text></s:Reason>'
        "<s:Detail>"
        f'<f:WSManFault Code="{code}" Machine="{escape(machine)}"><f:Message>{escape(text)}</f:Message></f:WSManFault>'
        "</s:Detail></s:Fault>"
    )
    return envelope(FAULT_ACTION, relates_to, body)


# -- MS-WSMV 2.2.9.1 encrypted bodies (multipart/encrypted, one part per message) ----------------
BOUNDARY = b"--Encrypted Boundary"
END = BOUNDARY + b"--\r\n"
SPNEGO_PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
OCTET_LINE = b"\tContent-Type: application/octet-stream\r\n"
ENCRYPTED_CONTENT_TYPE = f'multipart/encrypted;protocol="{SPNEGO_PROTOCOL}";boundary="Encrypted Boundary"'


def split_encrypted(body: bytes) -> tuple[int, bytes, bytes]:
    """(original length, signature, sealed bytes) from a single-part encrypted request body."""
    if not body.startswith(BOUNDARY + b"\r\n") or not body.endswith(END):
        raise ValueError("not an MS-WSMV encrypted body")
    inner = body[len(BOUNDARY) + 2 : -len(END)]
    header, sep, rest = inner.partition(BOUNDARY + b"\r\n")
    if not sep or not rest.startswith(OCTET_LINE):
        raise ValueError("encrypted body without its octet-stream part")
    if SPNEGO_PROTOCOL.encode() not in header:
        raise ValueError("encrypted body for another protocol")
    length = int(header.split(b"Length=")[1].split(b"\r\n")[0])
    payload = rest[len(OCTET_LINE) :]
    (sig_len,) = struct.unpack("<i", payload[:4])
    return length, payload[4 : 4 + sig_len], payload[4 + sig_len :]


def join_encrypted(length: int, signature: bytes, sealed: bytes) -> bytes:
    return (
        BOUNDARY + b"\r\n"
        b"\tContent-Type: " + SPNEGO_PROTOCOL.encode() + b"\r\n"
        b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length="
        + str(length).encode()
        + b"\r\n"
        + BOUNDARY
        + b"\r\n"
        + OCTET_LINE
        + struct.pack("<i", len(signature))
        + signature
        + sealed
        + END
    )

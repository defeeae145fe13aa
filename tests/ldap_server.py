"""A small LDAP server on loopback that answers like an Active Directory domain controller.

Real LDAP v3 over TCP: BER messages decoded and encoded with pyasn1 and the RFC 4511 ASN.1
definitions ldap3 ships (ldap3.protocol.rfc4511), so the collector's ldap3 client talks to it as
to a DC - not ldap3's MOCK strategy, which never leaves the client. What it does:

* LDAPS (TLS from the first byte, port 636 on a DC) and StartTLS (extended operation
  1.3.6.1.4.1.1466.20037, RFC 4511 4.14) with the test CA's server certificate;
* simple bind with `DOMAIN\\user` or `user@domain` and the password, invalidCredentials (49) else;
  a bind on a connection that is not encrypted is refused with strongerAuthRequired (8), as a DC
  that requires LDAP signing refuses simple binds in clear text (LDAPServerIntegrity=2);
* search: the RootDSE (base "", scope base), equality / presence / and / or filters over the
  entries, the requested attributes only (`*` gives them all, `description` included: a client
  asking for it would carry a secret away), every attribute list requested recorded;
* binary attributes as AD stores them: objectSid, msDS-AllowedToActOnBehalfOfOtherIdentity (a
  self-relative security descriptor).
"""

from __future__ import annotations

import socket
import socketserver
import ssl
import struct
import threading
from dataclasses import dataclass, field
from typing import Any

from ldap3.protocol import rfc4511 as r
from pyasn1.codec.ber import decoder, encoder
from pyasn1.error import PyAsn1Error, SubstrateUnderrunError

STARTTLS = "1.3.6.1.4.1.1466.20037"


def sid_bytes(sid: str) -> bytes:
    """The binary form of a SID string (MS-DTYP 2.4.2.2)."""
    parts = sid.split("-")
    revision, authority, subs = int(parts[1]), int(parts[2]), [int(p) for p in parts[3:]]
    return (
        struct.pack("<BB", revision, len(subs))
        + authority.to_bytes(6, "big")
        + b"".join(struct.pack("<I", s) for s in subs)
    )


def security_descriptor(allowed: list[str]) -> bytes:
    """A self-relative security descriptor whose DACL allows each SID (what AD keeps in
    msDS-AllowedToActOnBehalfOfOtherIdentity for resource-based constrained delegation)."""
    aces = b""
    for sid in allowed:
        body = struct.pack("<I", 0x000F01FF) + sid_bytes(sid)  # ACCESS_ALLOWED_ACE, full control
        aces += struct.pack("<BBH", 0x00, 0x00, 4 + len(body)) + body
    dacl = struct.pack("<BBHHH", 2, 0, 8 + len(aces), len(allowed), 0) + aces
    owner = sid_bytes("S-1-5-32-544")
    header_len = 20
    # revision 1, control SE_DACL_PRESENT | SE_SELF_RELATIVE; owner, group (none), sacl (none), dacl
    header = struct.pack("<BBHIIII", 1, 0, 0x8004, header_len, 0, 0, header_len + len(owner))
    return header + owner + dacl


@dataclass
class Directory:
    """Entries by DN; attribute values as bytes (a str is stored UTF-8)."""

    users: dict[str, str]  # bind name (CORP\\user or user@corp.example) -> password
    entries: dict[str, dict[str, list[bytes]]] = field(default_factory=dict)
    requested: list[list[str]] = field(default_factory=list)  # every search's attribute list
    binds: list[str] = field(default_factory=list)
    tls_binds: int = 0

    def add(self, dn: str, **attrs: Any) -> None:
        entry: dict[str, list[bytes]] = {}
        for name, value in attrs.items():
            values = value if isinstance(value, list) else [value]
            entry[name.replace("_", "-")] = [
                v if isinstance(v, bytes) else str(v).encode("utf-8") for v in values
            ]
        self.entries[dn] = entry


class _Handler(socketserver.BaseRequestHandler):
    server: _Listener

    def handle(self) -> None:
        sock = self.request
        if self.server.ldaps:
            try:
                sock = self.server.context.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError):
                return
        encrypted = self.server.ldaps
        buffer = b""
        while True:
            try:
                msg, rest = decoder.decode(buffer, asn1Spec=r.LDAPMessage())
            except SubstrateUnderrunError:
                msg = None
            except PyAsn1Error:
                return
            if msg is None or not buffer:
                try:
                    chunk = sock.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                buffer += chunk
                continue
            buffer = rest
            mid = int(msg["messageID"])
            op = msg["protocolOp"]
            name = op.getName()
            req = op.getComponent()
            if name == "unbindRequest":
                return
            if name == "extendedReq" and str(req["requestName"]) == STARTTLS and not encrypted:
                sock.sendall(self.extended(mid))
                try:
                    sock = self.server.context.wrap_socket(sock, server_side=True)
                except (ssl.SSLError, OSError):
                    return
                encrypted = True
                continue
            if name == "bindRequest":
                sock.sendall(self.bind(mid, req, encrypted))
            elif name == "searchRequest":
                for out in self.search(mid, req):
                    sock.sendall(out)
            else:
                sock.sendall(self.result(mid, "extendedResp", r.ExtendedResponse(), 2, "unsupported"))

    # -- operations ---------------------------------------------------------------------------------
    def result(self, mid: int, op_name: str, op: Any, code: int, message: str = "") -> bytes:
        op["resultCode"] = code
        op["matchedDN"] = ""
        op["diagnosticMessage"] = message
        return _message(mid, op_name, op)

    def extended(self, mid: int) -> bytes:
        op = r.ExtendedResponse()
        op["resultCode"] = 0
        op["matchedDN"] = ""
        op["diagnosticMessage"] = ""
        op["responseName"] = STARTTLS
        return _message(mid, "extendedResp", op)

    def bind(self, mid: int, req: Any, encrypted: bool) -> bytes:
        directory = self.server.directory
        who = str(req["name"])
        auth = req["authentication"]
        if auth.getName() != "simple":
            return self.result(mid, "bindResponse", r.BindResponse(), 7, "authMethodNotSupported")
        if not encrypted:
            return self.result(
                mid, "bindResponse", r.BindResponse(), 8, "00002028: LdapErr: DSID-0C090259, comment: The "
                "server requires binds to turn on integrity checking if SSL\\TLS are not already active"
            )  # fmt: skip
        password = bytes(auth.getComponent()).decode("utf-8", "replace")
        if directory.users.get(who) != password or not password:
            return self.result(
                mid, "bindResponse", r.BindResponse(), 49,
                "80090308: LdapErr: DSID-0C090447, comment: AcceptSecurityContext error, data 52e, v4563",
            )  # fmt: skip
        directory.binds.append(who)
        directory.tls_binds += 1
        return self.result(mid, "bindResponse", r.BindResponse(), 0)

    def search(self, mid: int, req: Any) -> list[bytes]:
        directory = self.server.directory
        if not directory.binds:
            done = r.SearchResultDone()
            return [self.result(mid, "searchResDone", done, 1, "000004DC: LdapErr: DSID-0C090A5C, comment: "
                                "In order to perform this operation a successful bind must be completed")]  # fmt: skip
        base = str(req["baseObject"])
        scope = int(req["scope"])
        wanted = [str(a) for a in req["attributes"]]
        directory.requested.append(wanted)
        out = []
        for dn, attrs in directory.entries.items():
            if scope == 0 and dn.casefold() != base.casefold():
                continue
            if scope != 0 and not (
                dn.casefold() == base.casefold() or dn.casefold().endswith("," + base.casefold())
            ):
                continue
            if not _matches(req["filter"], attrs):
                continue
            out.append(_entry(mid, dn, attrs, wanted))
        done = r.SearchResultDone()
        out.append(self.result(mid, "searchResDone", done, 0))
        return out


def _message(mid: int, op_name: str, op: Any) -> bytes:
    msg = r.LDAPMessage()
    msg["messageID"] = mid
    protocol = r.ProtocolOp()
    protocol.setComponentByName(op_name, op)
    msg["protocolOp"] = protocol
    return bytes(encoder.encode(msg))


def _entry(mid: int, dn: str, attrs: dict[str, list[bytes]], wanted: list[str]) -> bytes:
    entry = r.SearchResultEntry()
    entry["object"] = dn
    everything = "*" in wanted
    keys = {w.casefold() for w in wanted}
    selected = r.PartialAttributeList()
    i = 0
    for name, values in attrs.items():
        if not everything and name.casefold() not in keys:
            continue
        attribute = r.PartialAttribute()
        attribute["type"] = name
        vals = r.Vals()
        for j, value in enumerate(values):
            vals.setComponentByPosition(j, value)
        attribute["vals"] = vals
        selected.setComponentByPosition(i, attribute)
        i += 1
    entry["attributes"] = selected
    return _message(mid, "searchResEntry", entry)


def _matches(flt: Any, attrs: dict[str, list[bytes]]) -> bool:
    kind = flt.getName()
    value = flt.getComponent()
    lowered = {k.casefold(): v for k, v in attrs.items()}
    if kind == "and":
        return all(_matches(f, attrs) for f in value)
    if kind == "or":
        return any(_matches(f, attrs) for f in value)
    if kind == "not":
        return not _matches(value, attrs)
    if kind == "present":
        return str(value).casefold() in lowered
    if kind == "equalityMatch":
        want = bytes(value["assertionValue"])
        return any(v.lower() == want.lower() for v in lowered.get(str(value["attributeDesc"]).casefold(), []))
    return False


class _Listener(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, directory: Directory, context: ssl.SSLContext, ldaps: bool) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.directory = directory
        self.context = context
        self.ldaps = ldaps


class LdapTestServer:
    """One DC on 127.0.0.1: `ldaps_port` speaks TLS at once, `ldap_port` plain LDAP with StartTLS."""

    def __init__(self, directory: Directory, cert: str, key: str) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.directory = directory
        self._listeners = [_Listener(directory, context, True), _Listener(directory, context, False)]
        self.ldaps_port = self._listeners[0].server_address[1]
        self.ldap_port = self._listeners[1].server_address[1]

    def __enter__(self) -> LdapTestServer:
        for listener in self._listeners:
            threading.Thread(
                target=listener.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            ).start()
        return self

    def __exit__(self, *exc: object) -> None:
        for listener in self._listeners:
            listener.shutdown()
            listener.server_close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

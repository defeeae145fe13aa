"""A WS-Management test server on loopback: simulated Windows hosts for the collection tests."""

from .server import HostConfig, HostStats, WinRMTestServer, clixml, closed_port, receive_capacity
from .tls import TlsFiles, make_tls_files

__all__ = [
    "HostConfig",
    "HostStats",
    "TlsFiles",
    "WinRMTestServer",
    "clixml",
    "closed_port",
    "make_tls_files",
    "receive_capacity",
]

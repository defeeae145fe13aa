"""WS-Management requests per host against the bytes the capture script prints.

One simulated host per size (the suite's WS-Management test server on loopback, HTTPS + Basic so
the server side costs little), each answering the real capture script with that many bytes of
output; the server fills every Receive up to the envelope size the client asks for, as Windows
does for a producer that is ahead of the client. Prints requests by action and the ratio to the
smallest size.

    .venv/bin/python benchmarks/bench_collect_requests.py [--sizes 0.1,6.5,13]

Run against another tree's collector (for a before/after) with PYTHONPATH=OTHER/core.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from iisguard.collect import winrm  # noqa: E402
from iisguard.collect.credentials import Credentials  # noqa: E402
from iisguard.collect.script import capture_script  # noqa: E402
from tests.winrm_server import HostConfig, WinRMTestServer, make_tls_files  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="0.1,6.5,13", help="output sizes in MB (10^6 bytes)")
    args = parser.parse_args()
    sizes = [float(s) for s in args.sizes.split(",")]
    script = capture_script()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tls = make_tls_files(Path(tmp) / "tls")
        with WinRMTestServer(Path(tmp) / "srv", users={"scanner": "Passw0rd!"}, tls=tls) as server:
            for mb in sizes:
                output = (b"A" * 75 + b"\r\n") * int(mb * 1_000_000 / 77)
                port = server.add_host(HostConfig(stdout=output, expect_script=script, receive_chunk=10**9))
                target = winrm.make_target(
                    f"127.0.0.1:{port}",
                    transport="basic",
                    ca_bundle=str(tls.ca_cert),
                    read_timeout=30,
                    operation_timeout=20,
                )
                raw = winrm.run_script(target, Credentials("scanner", "Passw0rd!"), script)
                assert raw.stdout == output, "output damaged"
                rows.append((mb, len(output), raw.requests))
    base = sum(rows[0][2].values())
    print(f"collector: {winrm.__file__}")
    print("| output | bytes | WS-Man requests | Receive | Send | ratio to first |")
    print("|---:|---:|---:|---:|---:|---:|")
    for mb, size, requests in rows:
        total = sum(requests.values())
        print(
            f"| {mb:g} MB | {size:,} | {total} | {requests['Receive']} | {requests['Send']} | {total / base:.1f}x |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

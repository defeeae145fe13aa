"""Run simulated hosts in a process of their own (for benchmarks: the server's CPU then is not the client's).

    IISGUARD_TEST_PASSWORD=... python -m tests.winrm_server --hosts 120 --latency 0.02 --capture DIR

Prints one JSON line {"ports": [...]}, then reads commands from standard input: `stats` answers a
JSON line {port: [ws-man requests, http round trips]}; end of input stops the server.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from iisguard.capture.stream import encode
from iisguard.collect.script import capture_script

from . import HostConfig, WinRMTestServer


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.winrm_server")
    parser.add_argument("--hosts", type=int, default=1)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--capture", required=True, help="capture folder whose stream every host prints")
    parser.add_argument("--user", default="scanner")
    parser.add_argument("--receive-chunk", type=int, default=10**9, help="output bytes per Receive at most")
    args = parser.parse_args()
    password = os.environ.get("IISGUARD_TEST_PASSWORD", "Passw0rd!")  # never on a command line
    stdout = encode(Path(args.capture)).encode("utf-8")
    with (
        tempfile.TemporaryDirectory() as tmp,
        WinRMTestServer(Path(tmp), users={args.user: password}) as server,
    ):
        ports = [
            server.add_host(
                HostConfig(
                    name=f"HOST{i:04d}",
                    stdout=stdout,
                    expect_script=capture_script(),
                    latency=args.latency,
                    receive_chunk=args.receive_chunk,
                )
            )
            for i in range(args.hosts)
        ]
        print(json.dumps({"ports": ports, "stream_bytes": len(stdout)}), flush=True)
        for line in sys.stdin:
            if line.strip() == "stats":
                stats = {p: [server.stats(p).wsman_requests, server.stats(p).http_requests] for p in ports}
                print(json.dumps(stats), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

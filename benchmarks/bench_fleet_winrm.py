#!/usr/bin/env python3
"""Fleet collection over WinRM against simulated hosts on loopback, with network latency added.

    .venv/bin/python benchmarks/bench_fleet_winrm.py [--hosts 120] [--latency 0.02] [--concurrency 1,8,32]

The hosts are the WS-Management test server of the test suite (tests/winrm_server: real HTTP,
real NTLM with message encryption, the shell resource), run in a process of their own so their
CPU is not the collector's. Each answers the capture script with what the fixture host
`fixtures/hosts/iis10-default` prints (another fixture host while that one is absent), and waits
--latency seconds before every HTTP response, like a round trip to a remote data centre. The same
inventory is collected once per concurrency level by `iisguard.collect.fleet.run_fleet`, the code
behind `iisguard collect --inventory`, including the import of every host's output.

Reports requests per host (WS-Management requests and HTTP round trips, counted by the server),
wall time per level, the speed-up over collecting one host at a time, and the collector's CPU time
per host (decoding, NTLM sealing, parsing and validating the snapshot): once the latency is
hidden by concurrency, that CPU time, under one interpreter lock, bounds the throughput.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CAPTURES = sorted(
    p for p in (ROOT / "fixtures" / "hosts").glob("*/captures") if (p / "capture.yaml").is_file()
)
FIXTURE = next((p for p in CAPTURES if p.parent.name == "iis10-default"), CAPTURES[0] if CAPTURES else None)
USER, PASSWORD = "bench", "bench-Passw0rd!"


class ServerProcess:
    """python -m tests.winrm_server in a child process, spoken to over its standard input and output."""

    def __init__(self, hosts: int, latency: float, capture: Path) -> None:
        env = {**os.environ, "IISGUARD_TEST_PASSWORD": PASSWORD, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.winrm_server",
                "--hosts",
                str(hosts),
                "--latency",
                str(latency),
                "--capture",
                str(capture),
                "--user",
                USER,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        hello = json.loads(self._line())
        self.ports: list[int] = hello["ports"]
        self.stream_bytes: int = hello["stream_bytes"]

    def _line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the test server process ended early")
        return line

    def stats(self) -> dict[int, list[int]]:
        assert self.proc.stdin is not None
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        return {int(k): v for k, v in json.loads(self._line()).items()}

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=120, help="simulated hosts (default 120)")
    parser.add_argument(
        "--latency", type=float, default=0.02, help="seconds before every HTTP response (default 0.02)"
    )
    parser.add_argument("--concurrency", default="1,8,32", help="comma-separated levels (default 1,8,32)")
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.concurrency.split(",")]
    if FIXTURE is None:
        print("no fixture host with a capture folder under fixtures/hosts", file=sys.stderr)
        return 2

    from iisguard.collect import fleet

    os.environ["IISGUARD_USERNAME"], os.environ["IISGUARD_PASSWORD"] = USER, PASSWORD
    server = ServerProcess(args.hosts, args.latency, FIXTURE)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            inventory = Path(tmp) / "hosts.yaml"
            inventory.write_text(
                "groups:\n  bench:\n    transport: ntlm\n    scheme: http\n    hosts:\n"
                + "".join(
                    f"      - {{host: '127.0.0.1:{p}', name: web{i:03d}}}\n"
                    for i, p in enumerate(server.ports)
                ),
                encoding="utf-8",
            )
            hosts = fleet.load_inventory(inventory)
            print(
                f"{args.hosts} simulated hosts ({FIXTURE.parent.name}: capture stream {server.stream_bytes:,} bytes), "
                f"HTTP + NTLM with message encryption, {args.latency * 1000:.0f} ms before every HTTP response"
            )
            for level in levels:
                before = server.stats()
                started, cpu = time.perf_counter(), time.process_time()
                results = fleet.run_fleet(
                    hosts,
                    out_dir=Path(tmp) / f"out-{level}",
                    concurrency=level,
                    cli_settings={},
                    progress_stream=io.StringIO(),
                )
                wall = time.perf_counter() - started
                cpu = time.process_time() - cpu
                after = server.stats()
                failed = [r for r in results if r.status != "ok"]
                if failed:
                    print(
                        f"concurrency {level}: {len(failed)} host(s) failed; first: {failed[0].reason}",
                        file=sys.stderr,
                    )
                    return 1
                wsman = [after[p][0] - before[p][0] for p in server.ports]
                http = [after[p][1] - before[p][1] for p in server.ports]
                rows.append((level, wall, cpu, wsman, http))
    finally:
        server.close()

    base = next((row[1] for row in rows if row[0] == 1), None)
    print()
    print(
        "| concurrency | wall time | hosts/s | speed-up vs 1 | collector CPU/host | WS-Man requests/host "
        "| HTTP round trips/host |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for level, wall, cpu, wsman, http in rows:
        speedup = f"{base / wall:.1f}x" if base else "-"
        print(
            f"| {level} | {wall:.2f} s | {args.hosts / wall:.1f} | {speedup} | {cpu / args.hosts * 1000:.0f} ms "
            f"| {_spread(wsman)} | {_spread(http)} |"
        )
    return 0


def _spread(values: list[int]) -> str:
    lo, hi = min(values), max(values)
    return str(lo) if lo == hi else f"{lo}-{hi} (median {statistics.median(values):g})"


if __name__ == "__main__":
    sys.exit(main())

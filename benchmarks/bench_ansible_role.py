#!/usr/bin/env python3
"""Hosts per minute through the Ansible collection's collect role, on loopback, by --forks.

    .venv/bin/python benchmarks/bench_ansible_role.py [--hosts 64] [--latency 0.02] [--forks 1,8,32]

The hosts are the suite's WS-Management test server in a process of its own (as in
bench_fleet_winrm.py: NTLM over HTTP with message encryption, every host printing the
iis10-default capture, --latency seconds before every HTTP response). An Ansible INI inventory
names them; `ansible-playbook` runs the collection's `iisguard.scanner.collect` role for all of
them with each --forks value (each host: one `iisguard collect` process on the controller).
Reports wall time and hosts per minute per level, and checks every host left a collected
snapshot. What bounds it: each host costs one Python process start (interpreter, pywinrm, the
parsers) and Ansible's own per-task work on the controller's CPUs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _measure as m  # noqa: E402
from bench_fleet_winrm import FIXTURE, PASSWORD, USER, ServerProcess  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
COLLECTIONS = ROOT / "integrations" / "ansible"
BIN = Path(sys.executable).parent

PLAY = """\
- name: Collect with the iisguard collection
  hosts: iis
  gather_facts: false
  roles:
    - role: iisguard.scanner.collect
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hosts", type=int, default=64)
    ap.add_argument("--latency", type=float, default=0.02)
    ap.add_argument("--forks", default="1,8,32")
    args = ap.parse_args(argv)
    levels = [int(x) for x in args.forks.split(",")]
    playbook_bin = BIN / "ansible-playbook"
    if not playbook_bin.exists() or FIXTURE is None:
        raise SystemExit("needs ansible-playbook (the test extras) and fixtures/hosts/iis10-default")

    print(f"# Ansible collect role: {args.hosts} hosts, {args.latency * 1000:.0f} ms latency")
    print(f"# {m.machine()}")
    rows = []
    server = ServerProcess(args.hosts, args.latency, FIXTURE)
    try:
        with tempfile.TemporaryDirectory(prefix="iisguard-bench-ansible-") as tmp:
            work = Path(tmp)
            inv = work / "inventory.ini"
            lines = ["[iis]"] + [
                f"host{i:03d} ansible_host=127.0.0.1 ansible_port={p}" for i, p in enumerate(server.ports)
            ]
            lines += [
                "[iis:vars]",
                "ansible_connection=winrm",
                f"ansible_user={USER}",
                "ansible_password=\"{{ lookup('env', 'BENCH_WINRM_PASSWORD') }}\"",
                "ansible_winrm_transport=ntlm",
                "ansible_winrm_scheme=http",
            ]
            inv.write_text("\n".join(lines) + "\n", encoding="utf-8")
            (work / "play.yml").write_text(PLAY, encoding="utf-8")
            for forks in levels:
                out = work / f"snaps-{forks}"
                env = {
                    **os.environ,
                    "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
                    "ANSIBLE_HOME": str(work / ".ansible"),
                    "ANSIBLE_LOCAL_TEMP": str(work / ".ansible-tmp"),
                    "BENCH_WINRM_PASSWORD": PASSWORD,
                    "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                }
                started = time.perf_counter()
                done = subprocess.run(
                    [
                        str(playbook_bin),
                        "-i",
                        str(inv),
                        str(work / "play.yml"),
                        "--forks",
                        str(forks),
                        "-e",
                        f"iisguard_command={BIN / 'iisguard'}",
                        "-e",
                        f"iisguard_out_dir={out}",
                    ],
                    capture_output=True,
                    text=True,
                    env=env,
                    cwd=work,
                    check=False,
                )
                wall = time.perf_counter() - started
                if done.returncode != 0:
                    raise SystemExit(
                        f"ansible-playbook --forks {forks} failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}"
                    )
                snaps = sorted(out.glob("*.json"))
                ok = sum(
                    1
                    for p in snaps
                    if all(
                        s["status"] != "failed" for s in json.loads(p.read_bytes())["collection"]["sections"]
                    )
                )
                if len(snaps) != args.hosts or ok != args.hosts:
                    raise SystemExit(
                        f"--forks {forks}: {len(snaps)} snapshots, {ok} collected, of {args.hosts}"
                    )
                rows.append((forks, wall))
                print(f"forks {forks:>3}: {wall:7.1f} s  {args.hosts / wall * 60:7.1f} hosts/min", flush=True)
    finally:
        server.close()
    base = rows[0][1]
    print()
    print("| forks | wall | hosts/minute | speed-up over forks 1 |")
    print("|---|---|---|---|")
    for forks, wall in rows:
        print(f"| {forks} | {wall:.1f} s | {args.hosts / wall * 60:.0f} | {base / wall:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`iisguard import` of build scripts: time and memory against script size (linear, #16).

    python benchmarks/bench_scripts.py              # 1x, 2x, 4x of a generated PowerShell and batch script
    python benchmarks/bench_scripts.py --pools 2000

A PowerShell script and a batch file are generated with N pools each (a pool, its identity as a
hashtable or appcmd switches, a site, an icacls grant, a splatted New-Website, variables), then
imported in a child process at 1x, 2x and 4x that size: wall time, peak RSS, and the ratio of each
to the 1x run. Linear time and memory means the 4x ratios stay near 4 (time) and well under 4 (RSS,
which starts from the interpreter's own ~40 MB).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _measure as m  # noqa: E402


def powershell(pools: int) -> str:
    out = ["Import-Module WebAdministration", "$root = 'D:\\sites'"]
    for i in range(pools):
        out += [
            f"$name = 'Pool{i:05d}'",
            "New-WebAppPool -Name $name",
            'Set-ItemProperty "IIS:\\AppPools\\$name" -Name processModel -Value @{',
            f"    userName = 'CORP\\svc{i:05d}'",
            "    identityType = 3",
            "}",
            f"$site = @{{ Name = 'Site{i:05d}'; PhysicalPath = \"$root\\site{i:05d}\"; ApplicationPool = $name }}",
            "New-Website @site",
            f'icacls "$root\\site{i:05d}" /grant "IIS APPPOOL\\$name:(OI)(CI)RX"',
        ]
    return "\n".join(out) + "\n"


def batch(pools: int) -> str:
    out = ["@echo off", "setlocal", "set APPCMD=%windir%\\system32\\inetsrv\\appcmd.exe"]
    for i in range(pools):
        out += [
            f"set POOL=B{i:05d}",
            "%APPCMD% add apppool /name:%POOL% /managedRuntimeVersion:v4.0",
            f"%APPCMD% set apppool %POOL% /processModel.identityType:SpecificUser /processModel.userName:CORP\\b{i:05d}",
            f'icacls "D:\\b\\{i:05d}" /grant "IIS APPPOOL\\%POOL%:(OI)(CI)RX" /T',
        ]
    return "\r\n".join(out) + "\r\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pools", type=int, default=1000, help="pools in the 1x scripts (default 1000)")
    args = ap.parse_args(argv)
    print(f"machine: {m.machine()}")
    print("| scripts | bytes | pools | wall time | peak RSS | time / 1x | RSS / 1x |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    base: m.Run | None = None
    for factor in (1, 2, 4):
        with tempfile.TemporaryDirectory(prefix="iisguard-scripts-") as tmp:
            build = Path(tmp) / "build"
            build.mkdir()
            (build / "pools.ps1").write_text(powershell(args.pools * factor), encoding="utf-8")
            (build / "pools.cmd").write_text(batch(args.pools * factor), encoding="utf-8", newline="")
            size = sum(f.stat().st_size for f in build.iterdir())
            r = m.run(m.iisguard("import", str(build), "-o", str(Path(tmp) / "declared.json")), cwd=Path(tmp))
            if r.returncode != 0:
                raise SystemExit(f"iisguard import failed ({r.returncode}):\n{r.stderr[-3000:]}")
            base = base or r
            print(
                f"| {factor}x | {size:,} | {2 * args.pools * factor:,} | {r.seconds:.2f} s | {m.mb(r.peak_rss)} "
                f"| {r.seconds / base.seconds:.2f} | {r.peak_rss / base.peak_rss:.2f} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

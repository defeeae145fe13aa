"""`iisguard scan` over a fleet of 1,000 medium snapshots: one worker against one per CPU.

    python benchmarks/bench_fleet.py                  # 1,000 hosts, --jobs 1 then --jobs <CPUs>
    python benchmarks/bench_fleet.py --hosts 200 --jobs 2
    python benchmarks/bench_fleet.py --hosts 100 --layout compact   # every snapshot on one line

The fleet is 1,000 distinct medium hosts (100 sites, 2,000 ACL paths each; one seed per host),
generated once under benchmarks/out/fleet/. Each scan is a child process writing SARIF; the two
reports must be identical apart from run times, or the speed-up means nothing. Peak RSS is the
main process's (workers have their own, one snapshot each). `--layout compact` scans the same
snapshots written on one line (as `json.dumps` or `jq -c` write them; a copy beside each).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _measure as m  # noqa: E402
import generate  # noqa: E402

FLEET = m.OUT / "fleet"


def _one_host(seed: int) -> None:
    generate.generate("medium", 1.0, seed=seed, name=f"host{seed:04d}", out=FLEET)


def make_fleet(hosts: int) -> Path:
    with ProcessPoolExecutor() as pool:  # generation is not what is measured: use every core
        list(pool.map(_one_host, range(1, hosts + 1), chunksize=16))
    return FLEET


def files_of(hosts: int, layout: str = "indented") -> list[str]:
    return [
        str(m.layout_of(FLEET / f"host{seed:04d}" / "snapshot.json", layout)) for seed in range(1, hosts + 1)
    ]


def scan(files: list[str], jobs: int, out: Path) -> tuple[m.Run, dict]:
    # The files are named one by one, so a larger fleet folder from an earlier run does not count.
    r = m.run(
        m.iisguard(
            "scan", *files, "--jobs", str(jobs), "-f", f"sarif:{out / 'fleet.sarif'}", "--fail-on", "never"
        ),
        cwd=out,
    )
    if r.returncode != 0:
        raise SystemExit(f"iisguard scan --jobs {jobs} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    sarif = json.loads((out / "fleet.sarif").read_bytes())
    for run in sarif["runs"]:
        run.pop("invocations", None)  # start and end times
    return r, sarif


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hosts", type=int, default=1000, help="snapshots in the fleet (default 1000)")
    ap.add_argument("--jobs", type=int, default=0, help="workers to compare with one (default: one per CPU)")
    ap.add_argument("--layout", choices=("indented", "compact"), default="indented", help="snapshot layout")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(m.ROOT / "core"))
    from iisguard.engine.parallel import cpus

    jobs = args.jobs or cpus()
    print(f"machine: {m.machine()}; load average {m.load_average()}")
    make_fleet(args.hosts)
    files = files_of(args.hosts, args.layout)
    size = sum(Path(f).stat().st_size for f in files)
    print(f"fleet: {args.hosts} snapshots ({args.layout}), {m.mb(size)}")
    with tempfile.TemporaryDirectory(prefix="iisguard-fleet-") as tmp:
        one_dir, many_dir = Path(tmp, "one"), Path(tmp, "many")
        one_dir.mkdir()
        many_dir.mkdir()
        one, one_report = scan(files, 1, one_dir)
        print(f"--jobs 1: {one.seconds:.1f} s, peak RSS {m.mb(one.peak_rss)}")
        many, many_report = scan(files, jobs, many_dir)
        print(f"--jobs {jobs}: {many.seconds:.1f} s, peak RSS {m.mb(many.peak_rss)}")
    same = one_report == many_report
    results = sum(len(run["results"]) for run in one_report["runs"])
    speedup = one.seconds / many.seconds
    print(
        f"speed-up with {jobs} workers: {speedup:.2f}x; reports identical: {same} ({results:,} SARIF results)"
    )
    m.OUT.mkdir(parents=True, exist_ok=True)
    (m.OUT / f"bench_fleet-{args.layout}.json").write_text(
        json.dumps(
            {
                "machine": m.machine(),
                "hosts": args.hosts,
                "layout": args.layout,
                "bytes": size,
                "jobs": jobs,
                "one_s": round(one.seconds, 2),
                "many_s": round(many.seconds, 2),
                "speedup": round(speedup, 2),
                "one_peak_rss": one.peak_rss,
                "many_peak_rss": many.peak_rss,
                "identical": same,
                "sarif_results": results,
            },
            indent=2,
        )
        + "\n"
    )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

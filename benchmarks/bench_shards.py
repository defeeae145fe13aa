#!/usr/bin/env python3
"""A sharded scan of a fleet: N shards (as N CI jobs would run them) and the merge, against one scan.

    .venv/bin/python benchmarks/bench_shards.py [--hosts 1000] [--scale 0.1] [--shards 1,2,4] [--layout compact]

The fleet is --hosts distinct generated hosts (benchmarks/generate.py, medium size times --scale;
one seed per host, generated once under benchmarks/out/). For each N the shards run one after the
other here (in CI they run at once on N machines), each a child process writing its JSON report;
then `iisguard merge` writes SARIF and JUnit. The merged SARIF must equal the SARIF of one plain
scan apart from run times, or the numbers mean nothing. Reported per N: the slowest shard, the
merge, their sum (the wall time of a matrix with N machines), and the speed-up over one scan.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _measure as m  # noqa: E402
import generate  # noqa: E402

_TIME = re.compile(rb'"(startTimeUtc|endTimeUtc)": "[^"]*"')


def fleet_dir(scale: float) -> Path:
    return m.OUT / f"shard-fleet-{scale:g}"


def _one_host(job: tuple[int, float]) -> None:
    seed, scale = job
    generate.generate("medium", scale, seed=seed, name=f"host{seed:04d}", out=fleet_dir(scale))


def make_fleet(hosts: int, scale: float) -> Path:
    with ProcessPoolExecutor() as pool:  # generation is not what is measured: use every core
        list(pool.map(_one_host, [(s, scale) for s in range(1, hosts + 1)], chunksize=16))
    return fleet_dir(scale)


def sarif_without_times(path: Path) -> dict:
    doc = json.loads(_TIME.sub(b'"t": ""', path.read_bytes()))
    for run in doc["runs"]:
        for inv in run.get("invocations", []):
            inv.pop("t", None)
    return doc


def timed(args: list[str], cwd: Path, what: str) -> m.Run:
    r = m.run(m.iisguard(*args), cwd=cwd)
    if r.returncode not in (0, 1):
        raise SystemExit(f"{what} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return r


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hosts", type=int, default=1000)
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--shards", default="1,2,4")
    ap.add_argument("--layout", choices=("indented", "compact"), default="indented", help="snapshot layout")
    args = ap.parse_args(argv)
    levels = [int(x) for x in args.shards.split(",")]

    fleet = make_fleet(args.hosts, args.scale)
    files = [
        str(m.layout_of(fleet / f"host{s:04d}" / "snapshot.json", args.layout))
        for s in range(1, args.hosts + 1)
    ]
    size = sum(Path(f).stat().st_size for f in files)
    print(f"# sharded scan: {args.hosts} hosts (medium x {args.scale:g}), {m.mb(size)} of snapshots")
    print(f"# {m.machine()}")
    with tempfile.TemporaryDirectory(prefix="iisguard-bench-shards-") as tmp:
        work = Path(tmp)
        # Every snapshot file is named, so a larger fleet folder from an earlier run does not count.
        (work / "files.txt").write_text("\n".join(files))
        one = timed(
            [
                "scan",
                *files,
                "--jobs",
                "1",
                "-f",
                f"sarif:{work / 'one.sarif'}",
                "-f",
                f"junit:{work / 'one.xml'}",
                "--fail-on",
                "never",
            ],
            work,
            "the plain scan",
        )
        print(f"one scan (--jobs 1): {one.seconds:.1f} s, peak {m.mb(one.peak_rss)}", flush=True)
        expected = sarif_without_times(work / "one.sarif")
        rows = []
        for n in levels:
            shard_runs = []
            for k in range(1, n + 1):
                r = timed(
                    [
                        "scan",
                        *files,
                        "--jobs",
                        "1",
                        "--shard",
                        f"{k}/{n}",
                        "-f",
                        f"json:{work / f'n{n}-s{k}.json'}",
                        "--fail-on",
                        "never",
                    ],
                    work,
                    f"shard {k}/{n}",
                )
                shard_runs.append(r)
            merged = timed(
                [
                    "merge",
                    *(str(work / f"n{n}-s{k}.json") for k in range(1, n + 1)),
                    "-f",
                    f"sarif:{work / f'n{n}.sarif'}",
                    "-f",
                    f"junit:{work / f'n{n}.xml'}",
                ],
                work,
                f"the merge of {n}",
            )
            if sarif_without_times(work / f"n{n}.sarif") != expected:
                raise SystemExit(f"the merge of {n} shards differs from one scan")
            slowest = max(r.seconds for r in shard_runs)
            rows.append(
                (
                    n,
                    slowest,
                    sum(r.seconds for r in shard_runs),
                    merged.seconds,
                    max(r.peak_rss for r in shard_runs),
                    merged.peak_rss,
                )
            )
            print(f"N={n}: slowest shard {slowest:.1f} s, merge {merged.seconds:.1f} s", flush=True)
    print()
    print(
        "| N | slowest shard | all shards (one machine) | merge | matrix wall (slowest + merge) | "
        "speed-up over one scan | shard peak RSS | merge peak RSS |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n, slowest, total, merge, shard_rss, merge_rss in rows:
        wall = slowest + merge
        print(
            f"| {n} | {slowest:.1f} s | {total:.1f} s | {merge:.1f} s | {wall:.1f} s | "
            f"{one.seconds / wall:.2f}x | {m.mb(shard_rss)} | {m.mb(merge_rss)} |"
        )
    print(f"\none scan: {one.seconds:.1f} s; merged SARIF identical to it for every N (times aside)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

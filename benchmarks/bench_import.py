"""`iisguard import` of the large synthetic capture folder, and whether the icacls listing streams.

    python benchmarks/bench_import.py              # the large host's captures, then 1x / 2x icacls listings
    python benchmarks/bench_import.py --scale 0.5
    python benchmarks/bench_import.py --layout compact   # the JSON captures as ConvertTo-Json -Compress

1. The whole capture folder of the large host (applicationHost.config with 5,000 sites and pools, an
   `icacls /T` listing of 100,000 paths, a UTF-16 secedit export, setspn -L/-Q/-X, Get-AD* JSON,
   whoami output, capture.yaml) is imported in a child process: wall time, MB/s of captured bytes,
   peak RSS of that process (wait4).
2. The icacls listing alone, then the same listing with its site tree repeated on a second drive
   (twice the bytes): peak RSS of each import. A listing held in memory as text would add at least
   its own size; the ratio of the growth in RSS to the growth of the listing says how much of it
   stays in memory (the parsed ACLs themselves are in the snapshot that import writes).

The JSON inputs of an import are the Get-AD* captures (`ConvertTo-Json`). `--layout compact`
imports a copy of the folder whose JSON captures are written on one line (`ConvertTo-Json
-Compress`, as `json.dumps` or `jq -c` would) and checks that the same objects come out.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _measure as m  # noqa: E402
import generate  # noqa: E402


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def compact_captures(captures: Path) -> Path:
    """A copy of the capture folder with every JSON capture on one line (other files linked)."""
    out = captures.with_name("captures-compact")
    stamp = out / ".from"
    source = str((captures / "capture.yaml").stat().st_mtime) if (captures / "capture.yaml").exists() else ""
    if stamp.is_file() and stamp.read_text() == source:
        return out
    shutil.rmtree(out, ignore_errors=True)
    for f in captures.rglob("*"):
        target = out / f.relative_to(captures)
        if f.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if f.suffix == ".json":
            head, _, body = f.read_text(encoding="utf-8").partition("\n")
            data = json.loads(body)
            text = json.dumps(data, separators=(",", ":"))
            target.write_text(f"{head} -Compress\n{text}\n", encoding="utf-8")
        else:
            os.link(f, target)
    stamp.write_text(source)
    return out


def import_(paths: list[Path], out: Path) -> m.Run:
    r = m.run(m.iisguard("import", *map(str, paths), "-o", str(out / "snapshot.json")), cwd=out)
    if r.returncode != 0:
        raise SystemExit(f"iisguard import failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return r


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the large host (default 1)")
    ap.add_argument("--layout", choices=("indented", "compact"), default="indented", help="JSON captures")
    args = ap.parse_args(argv)
    print(f"machine: {m.machine()}; load average {m.load_average()}")
    folder = generate.generate("large", args.scale, captures=True)
    captures = folder / "captures"
    if args.layout == "compact":
        captures = compact_captures(captures)
        print(f"JSON captures on one line: {captures}")
    total = folder_bytes(captures)
    listing = captures / "acls" / "icacls-sites.txt"
    doubled = folder / "icacls-2x" / "icacls-sites.txt"
    if not doubled.is_file():
        host = generate.build("large", args.scale)
        generate.write_icacls(host, doubled.parent, doubled.name, copies=2)
    with tempfile.TemporaryDirectory(prefix="iisguard-import-") as tmp:
        whole = import_([captures], Path(tmp))
        snap = json.loads((Path(tmp) / "snapshot.json").read_bytes())
        counts = {
            "pools": len(snap["iis"]["app_pools"]),
            "sites": len(snap["iis"]["sites"]),
            "acls": len(snap.get("acls") or []),
            "principals": len(snap.get("principals") or []),
            "warnings": len(snap["collection"].get("warnings") or []),
        }
    with tempfile.TemporaryDirectory(prefix="iisguard-import-") as tmp:
        one = import_([listing], Path(tmp))
    with tempfile.TemporaryDirectory(prefix="iisguard-import-") as tmp:
        two = import_([doubled], Path(tmp))
    one_b, two_b = listing.stat().st_size, doubled.stat().st_size
    growth = (two.peak_rss - one.peak_rss) / (two_b - one_b)
    print(
        f"capture folder: {m.mb(total)} in {whole.seconds:.1f} s = {total / 1e6 / whole.seconds:.1f} MB/s, "
        f"peak RSS {m.mb(whole.peak_rss)} ({whole.peak_rss / total:.1f}x the captures)"
    )
    print(f"  imported: {counts}")
    print(
        f"icacls listing {m.mb(one_b)}: {one.seconds:.1f} s, {one_b / 1e6 / one.seconds:.1f} MB/s, peak RSS {m.mb(one.peak_rss)}"
    )
    print(
        f"icacls listing {m.mb(two_b)}: {two.seconds:.1f} s, {two_b / 1e6 / two.seconds:.1f} MB/s, peak RSS {m.mb(two.peak_rss)}"
    )
    print(
        f"peak RSS 2x / 1x = {two.peak_rss / one.peak_rss:.2f}; RSS growth per byte of listing = {growth:.2f}"
    )
    m.OUT.mkdir(parents=True, exist_ok=True)
    (m.OUT / f"bench_import-{args.layout}.json").write_text(
        json.dumps(
            {
                "machine": m.machine(),
                "scale": args.scale,
                "layout": args.layout,
                "capture_bytes": total,
                "seconds": round(whole.seconds, 2),
                "mb_per_s": round(total / 1e6 / whole.seconds, 2),
                "peak_rss": whole.peak_rss,
                "imported": counts,
                "icacls_1x": {"bytes": one_b, "seconds": round(one.seconds, 2), "peak_rss": one.peak_rss},
                "icacls_2x": {"bytes": two_b, "seconds": round(two.seconds, 2), "peak_rss": two.peak_rss},
                "rss_growth_per_listing_byte": round(growth, 3),
            },
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

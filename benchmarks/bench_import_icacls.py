"""`iisguard import` of a large `icacls /T` listing: throughput and peak memory against its size.

    .venv/bin/python benchmarks/bench_import_icacls.py                 # 25, 50 and 100 MB
    .venv/bin/python benchmarks/bench_import_icacls.py --sizes 10,200  # other sizes (MB)

Each listing is written once to benchmarks/out/icacls/ (deterministic: a shared-hosting tree of
site folders, files inherited from their folder, five ACEs a path, as cmd.exe prints `icacls
D:\\Sites /T /C`), then imported in a child process (`iisguard import FILE -o snapshot.json`);
wall time and the child's own peak RSS (wait4) are printed as a markdown table. Memory should stay
roughly flat as the listing grows: the ACLs go to a spill file while the listing is read, and the
snapshot is written from it by streaming.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import OUT, iisguard, machine, mb, run  # noqa: E402

FOLDERS = ["", "\\App_Data", "\\bin", "\\uploads", "\\logs", "\\Content", "\\Scripts", "\\Views"]
FILES = ["default.aspx", "web.config", "site.css", "app.js", "index.html", "logo.png", "about.aspx"]


def listing(path: Path, size: int) -> tuple[int, int]:
    """Write an icacls /T listing of about `size` bytes; (paths, ACEs) written."""
    paths = aces = 0
    with path.open("w", encoding="utf-8", newline="\r\n") as fh:
        fh.write("D:\\>icacls D:\\Sites /T /C\n")
        site = 0
        while fh.tell() < size:
            site += 1
            pool = f"IIS APPPOOL\\Site{site:05d}"
            for folder in FOLDERS:
                base = f"D:\\Sites\\site{site:05d}.example.com{folder}"
                writable = folder in ("\\App_Data", "\\uploads", "\\logs")
                own = f"{pool}:(OI)(CI)({'M' if writable else 'RX'})"
                folder_aces = [
                    own if folder == "" else own.replace(":(OI)", ":(I)(OI)"),
                    "NT AUTHORITY\\SYSTEM:(I)(OI)(CI)(F)",
                    "BUILTIN\\Administrators:(I)(OI)(CI)(F)",
                    "CREATOR OWNER:(I)(OI)(CI)(IO)(F)",
                    "BUILTIN\\Users:(I)(OI)(CI)(RX)",
                ]
                entries = [(base, folder_aces)]
                file_aces = [a.replace("(OI)(CI)", "").replace(":(I)(IO)(F)", ":(I)(F)") for a in folder_aces]
                file_aces = [a if ":(I)" in a else a.replace(":(", ":(I)(", 1) for a in file_aces]
                entries += [(f"{base}\\{name}", file_aces[:3] + file_aces[4:]) for name in FILES]
                for p, list_ in entries:
                    pad = " " * (len(p) + 1)
                    fh.write(f"{p} {list_[0]}\n")
                    fh.writelines(f"{pad}{a}\n" for a in list_[1:])
                    fh.write("\n")
                    paths += 1
                    aces += len(list_)
        fh.write(f"Successfully processed {paths:,} files; Failed processing 0 files\n")
    return paths, aces


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="25,50,100", help="listing sizes in MB (comma-separated)")
    args = ap.parse_args()
    folder = OUT / "icacls"
    folder.mkdir(parents=True, exist_ok=True)
    print(f"Machine: {machine()}\n")
    print("| listing | paths | ACEs | import time | MB/s | peak RSS | snapshot |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for size in (int(s) for s in args.sizes.split(",")):
        source = folder / f"icacls-{size}MB.txt"
        counts = folder / f"icacls-{size}MB.counts.json"
        if not source.exists() or not counts.exists():
            paths, aces = listing(source, size * 1_000_000)
            counts.write_text(json.dumps([paths, aces]))
        paths, aces = json.loads(counts.read_text())
        target = folder / f"snapshot-{size}MB.json"
        r = run(iisguard("import", str(source), "-o", str(target), "--host", "BENCH"))
        if r.returncode:
            print(r.stderr, file=sys.stderr)
            return 1
        nbytes = source.stat().st_size
        print(
            f"| {mb(nbytes)} | {paths:,} | {aces:,} | {r.seconds:.1f} s | {nbytes / 1e6 / r.seconds:.1f} "
            f"| {r.peak_rss / 2**20:,.0f} MiB | {mb(target.stat().st_size)} |",
            flush=True,
        )
        target.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

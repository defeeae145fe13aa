"""The HTML report of the large synthetic host: render time, size, memory, and the page in a browser.

    python benchmarks/bench_html.py                  # scale 1 of "large", compact snapshot
    python benchmarks/bench_html.py --scale 0.25 --no-browser

A child process scans the host (every built-in rule, not timed) and then renders `--format html`
as `iisguard scan` does, timed alone (wall and CPU), with its own peak memory: the process's
high-water mark is reset just before rendering (/proc/self/clear_refs), so the number is what
the rendering added to a scan already in memory. Then the page is opened from disk in headless
chromium (Debian's, through Playwright, as the test suite does): time until `load`, the number of
failure rows the page holds and shows before any click, and the time a search takes to filter
them. Every request but the file itself is refused and counted (there must be none).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _measure as m  # noqa: E402
import bench_scan  # noqa: E402
import generate  # noqa: E402

CHROMIUM = os.environ.get("IISGUARD_CHROMIUM", "/usr/bin/chromium")

CHILD = r"""
import json, sys, time
from iisguard import pipeline
from iisguard.cli.scan import OutputSpec, _render_one
from iisguard.model import snapshot as snapmod
from iisguard.plugins import load_plugins

plugins = load_plugins()
report = pipeline.scan([sys.argv[1]], plugins=plugins, fail_on="never")

def status(key):
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith(key))

rss = status("VmRSS:")
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")  # reset VmHWM to the current RSS
wall, cpu = time.perf_counter(), time.process_time()
out = OutputSpec("html", sys.argv[2])
text = _render_one(out, report, plugins.reporters, sarif_root=None, quiet=False, compact=False)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
open(sys.argv[2], "w", encoding="utf-8").write(text)
counts = report.counts()
print(json.dumps({"wall": wall, "cpu": cpu, "extra_peak": status("VmHWM:") - rss, "rss_before": rss,
                  "bytes": len(text.encode("utf-8")), "fail": counts["fail"]}))
"""


def render(snapshot: Path, html: Path) -> dict:
    r = m.run([m.PYTHON, "-c", CHILD, str(snapshot), str(html)])
    if r.returncode:
        raise SystemExit(f"render failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def browse(html: Path, search: str) -> dict | None:
    if not Path(CHROMIUM).is_file():
        print(f"no browser: {CHROMIUM} not found")
        return None
    try:
        from playwright import sync_api
    except ImportError:
        print("no browser: playwright is not installed (test extras)")
        return None
    url = html.resolve().as_uri()
    requests: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(600_000)

        def route(r):
            if r.request.url == url:
                r.continue_()
            else:
                requests.append(r.request.url)
                r.abort()

        page.route("**/*", route)
        start = time.perf_counter()
        page.goto(url, wait_until="load")
        loaded = time.perf_counter() - start
        rows = page.evaluate("document.querySelectorAll('main .finding').length")
        visible = page.evaluate(
            "Array.from(document.querySelectorAll('main .finding')).filter(r => r.checkVisibility()).length"
        )
        start = time.perf_counter()
        page.fill("#filter-search", search)
        shown = page.get_attribute("#filter-shown", "data-shown")
        searched = time.perf_counter() - start
        found_visible = page.evaluate(
            "Array.from(document.querySelectorAll('main .finding')).filter(r => r.checkVisibility()).length"
        )
        browser.close()
    return {
        "load_s": round(loaded, 2),
        "rows": rows,
        "visible_rows": visible,
        "search": search,
        "search_s": round(searched, 2),
        "search_shown": int(shown or 0),
        "search_visible": found_visible,
        "requests": len(requests),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the large host (default 1)")
    ap.add_argument("--layout", choices=("compact", "indented"), default="compact")
    ap.add_argument("--no-browser", action="store_true", help="render only")
    ap.add_argument("--search", default="site049", help="text typed into the page's search box")
    args = ap.parse_args(argv)
    snapshot = generate.generate("large", args.scale) / "snapshot.json"
    if args.layout == "compact":
        snapshot = bench_scan.compact(snapshot)
    print(f"machine: {m.machine()}; load average {m.load_average()}")
    with tempfile.TemporaryDirectory(prefix="iisguard-html-") as tmp:
        html = Path(tmp) / "report.html"
        r = render(snapshot, html)
        print(
            f"render: {r['wall']:.2f} s wall, {r['cpu']:.2f} s CPU, {m.mb(r['bytes'])}, "
            f"+{m.mb(r['extra_peak'])} peak memory over the scan's {m.mb(r['rss_before'])} "
            f"({r['fail']} failures on the host)"
        )
        page = None if args.no_browser else browse(html, args.search)
        if page:
            print(
                f"chromium: load {page['load_s']:.2f} s; {page['rows']} failure rows, {page['visible_rows']} shown "
                f"before any click; search {page['search']!r}: {page['search_s']:.2f} s, "
                f"{page['search_shown']} counted, {page['search_visible']} visible; "
                f"{page['requests']} request(s) refused"
            )
    m.OUT.mkdir(parents=True, exist_ok=True)
    (m.OUT / "bench_html.json").write_text(
        json.dumps({"machine": m.machine(), "render": r, "browser": page}, indent=2) + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

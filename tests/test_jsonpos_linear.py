"""Evidence lines (model/jsonpos.py) in linear time and memory whatever the snapshot's layout.

Issue 15 item 6: on a snapshot without indentation the locator sliced the whole prefix of the line
before every value it skipped and kept each slice as a cache key: a 100-site host written as one
line took 5 s and 1.6 GB, 200 sites 19 s and 6.3 GB. These tests measure memory (tracemalloc, and
the peak RSS of a real `iisguard scan`) and time growth on compact layouts next to indented ones.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from iisguard.model import jsonpos

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import generate  # noqa: E402

LAYOUTS = {
    "indented": lambda d: json.dumps(d, indent=2),
    "one line": json.dumps,  # json.dumps' default, jq -c
    "one line, not the first": lambda d: "\n" + json.dumps(d, separators=(",", ":")) + "\n",
    "tabs and CRLF": lambda d: json.dumps(d, indent="\t").replace("\n", "\r\n"),
    "odd spacing": lambda d: "\n".join(
        " " * (i % 5) + line.strip() for i, line in enumerate(json.dumps(d, indent=3).split("\n"))
    ),
    "break after each comma": lambda d: json.dumps(d, separators=(",\n", ": ")),
}


def acls(n: int) -> dict:
    """A snapshot-shaped document: n ACLs of four ACEs each, with evidence."""
    return {
        "host": {"name": "WEB01"},
        "acls": [
            {
                "path": f"D:\\Sites\\site{i:05d}\\wwwroot",
                "aces": [
                    {"principal": p, "sid": f"S-1-5-{j}", "rights": ["ReadAndExecute"], "type": "allow"}
                    for j, p in enumerate(("SYSTEM", "Administrators", "Users", f"IIS APPPOOL\\pool{i}"))
                ],
                "evidence": {"artifact": "icacls.txt", "line": 5 * i + 1},
            }
            for i in range(n)
        ],
    }


def wanted(n: int) -> list[str]:
    """What reporters ask for: every tenth ACL, one ACE of each, and a pointer that is not there."""
    return [p for i in range(0, n, 10) for p in (f"/acls/{i}", f"/acls/{i}/aces/2")] + ["/acls/99999999"]


def peak_bytes(text: str, pointers: list[str]) -> int:
    """Peak bytes allocated by one lines_of call."""
    data = text.encode()
    tracemalloc.start()
    try:
        jsonpos.lines_of(data, pointers)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def seconds(text: str, pointers: list[str]) -> float:
    """CPU seconds of one lines_of call (this process's own: other jobs on a shared CI machine
    stretch wall time, not this)."""
    data = text.encode()
    start = time.process_time()
    jsonpos.lines_of(data, pointers)
    return time.process_time() - start


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_lines_agree_with_the_token_walk(layout):
    text = LAYOUTS[layout](acls(60))
    pointers = wanted(60) + ["/acls/7/aces/3/rights", "/host/name", ""]
    got = jsonpos.lines_of(text, pointers)
    every = {p[:i] for p in pointers for i in range(len(p) + 1) if i == len(p) or p[i] == "/"}
    found = jsonpos._lines_by_tokens(text, every)
    for p in pointers:
        q = p
        while q not in found and q:
            q = q.rsplit("/", 1)[0]
        assert got[p] == found.get(q, 1), (layout, p)


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_memory_is_linear_and_small(layout):
    """Peak allocation stays under the text's size (the quadratic version held every line prefix)."""
    text = LAYOUTS[layout](acls(2000))  # about 0.6 MB
    size = len(text.encode())
    peak = peak_bytes(text, wanted(2000))
    assert peak < size + 2_000_000, f"{layout}: {peak:,} bytes allocated for a {size:,}-byte text"


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_time_grows_linearly(layout):
    """Four times the ACLs cost about four times the time (quadratic would be sixteen)."""
    small, large = (LAYOUTS[layout](acls(n)) for n in (2000, 8000))
    t_small = min(seconds(small, wanted(2000)) for _ in range(3))
    t_large = min(seconds(large, wanted(8000)) for _ in range(3))
    assert t_large < 8 * t_small + 0.02, f"{layout}: {t_small:.4f}s -> {t_large:.4f}s for 4x the text"


@pytest.mark.parametrize("layout", [*LAYOUTS, "one line, CRLF", "newline past the first chunk"])
def test_lines_of_a_file_are_the_lines_of_its_text(tmp_path, monkeypatch, layout):
    """file_lines_of reads a one-line file in chunks instead of whole: the same answers as lines_of."""
    monkeypatch.setattr(jsonpos, "_CHUNK", 64)  # chunk boundaries inside the text
    doc = acls(12)
    if layout == "one line, CRLF":
        text = json.dumps(doc) + "\r\n"
    elif layout == "newline past the first chunk":
        text = json.dumps(doc) + "\n" + " " * 100 + "\n"  # still one line: only whitespace after
    else:
        text = LAYOUTS[layout](doc)
    path = tmp_path / "snapshot.json"
    path.write_bytes(text.encode())
    pointers = wanted(12) + ["/acls/7/aces/3/rights", "/host/name", "", "/nowhere/3"]
    layout_memo: dict = {}
    assert jsonpos.file_lines_of(str(path), pointers, layout=layout_memo) == jsonpos.lines_of(text, pointers)
    first = text.find("\n")
    one_line = (
        first < 0 or not text[first:].strip()
    )  # lines_of's rule: only whitespace after the first newline
    assert (jsonpos._ONE_LINE in layout_memo) is one_line
    fresh: dict = {}
    assert jsonpos.on_one_line(str(path), fresh) is one_line  # asked alone, the same answer
    if one_line:  # remembered: the file is not read again
        path.unlink()
        assert jsonpos.file_lines_of(str(path), ["/acls/0"], layout=layout_memo) == {"/acls/0": 1}
        assert jsonpos.on_one_line(str(path), layout_memo) and jsonpos.on_one_line(str(path), fresh)
    else:
        path.unlink()
        assert not jsonpos.on_one_line(str(path), fresh)  # remembered either way


def test_a_second_line_far_into_a_file_is_seen(tmp_path, monkeypatch):
    monkeypatch.setattr(jsonpos, "_CHUNK", 64)
    text = json.dumps(acls(12)) + "\n" + " " * 200 + "\n\n  {}"  # a second value on line 3: not one line
    path = tmp_path / "two.json"
    path.write_bytes(text.encode())
    assert not jsonpos._one_line(str(path))
    assert jsonpos.file_lines_of(str(path), ["/acls/0"]) == jsonpos.lines_of(text, ["/acls/0"])


PEAK = """
import atexit, os, runpy, sys
def peak():
    with open("/proc/self/status") as f:
        kb = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
    sys.stderr.write(f"PEAK {kb * 1024}\\n")
atexit.register(peak)
sys.argv = ["iisguard", *sys.argv[1:]]
runpy.run_module("iisguard", run_name="__main__", alter_sys=True)
"""


def scan(snapshot: Path, out: Path) -> tuple[float, int, dict]:
    """Wall time, peak RSS and the JSON report of `iisguard scan` (SARIF + JUnit + JSON) in a child."""
    cmd = [sys.executable, "-c", PEAK, "scan", str(snapshot), "--fail-on", "never"]
    for fmt, name in (("sarif", "r.sarif"), ("junit", "r.xml"), ("json", "r.json")):
        cmd += ["-f", f"{fmt}:{out / name}"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=out, env=dict(os.environ))
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr[-2000:]
    peak = int(proc.stderr.rsplit("PEAK ", 1)[1])
    return seconds, peak, json.loads((out / "r.json").read_text())


@pytest.mark.skipif(sys.platform != "linux", reason="peak RSS is read from /proc/self/status (Linux)")
def test_a_compact_100_site_host_scans_like_an_indented_one(tmp_path):
    """The issue's example: 100 sites as one line took 5.0 s and 1.6 GB where indented took 0.9 s."""
    data = generate.snapshot(generate.build("medium", 1.0, 1, None))
    runs = {}
    for name, dump in (("indented", lambda d: json.dumps(d, indent=2)), ("compact", json.dumps)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "snapshot.json").write_text(dump(data) + "\n", encoding="utf-8")
        runs[name] = scan(folder / "snapshot.json", folder)
    (t_ind, rss_ind, doc_ind), (t_cmp, rss_cmp, doc_cmp) = runs["indented"], runs["compact"]
    assert doc_cmp["summary"]["outcomes"] == doc_ind["summary"]["outcomes"]
    assert rss_cmp < rss_ind * 1.25 + 30_000_000, f"compact {rss_cmp:,} B vs indented {rss_ind:,} B"
    assert t_cmp < t_ind * 1.5 + 1.0, f"compact {t_cmp:.2f}s vs indented {t_ind:.2f}s"
    # Every location of the compact report is on its only line.
    assert {f["location"]["line"] for f in doc_cmp["findings"] if f["location"]["uri"].endswith(".json")} == {
        1
    }


@pytest.mark.parametrize("layout", ["indented", "one line"])
def test_a_file_is_scanned_for_its_first_newline_once(tmp_path, monkeypatch, layout):
    """A report asks whether a snapshot is on one line, then for the lines of its pointers: with the
    caller's `layout` kept, the file is scanned for its first newline once, whatever the answer."""
    text = json.dumps(acls(12), indent=2 if layout == "indented" else None)
    path = tmp_path / "snapshot.json"
    path.write_text(text)
    scans: list[str] = []
    real = jsonpos._one_line
    monkeypatch.setattr(jsonpos, "_one_line", lambda p: scans.append(str(p)) or real(p))
    memo: dict = {}
    one = jsonpos.on_one_line(str(path), memo)
    lines = jsonpos.file_lines_of(str(path), ["/acls/3"], layout=memo)
    assert one is (layout == "one line") and lines == jsonpos.lines_of(text, ["/acls/3"])
    assert scans == [str(path)]

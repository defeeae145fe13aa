"""Issue #18, case 7: an applicationHost.config import takes memory proportional to the file, and a
file of absurdly many elements is refused (exit 2, file:line, the limit) before it takes gigabytes.

11 MB of one-line pools (`<add name="P1" />`, 500,000 of them) took 2.2 GB and 77 s and wrote a
498 MB snapshot (measured for issue #18); 54 MB crashed in orjson. Each 20-byte pool is about 1 KB
of snapshot, so the snapshot is written piece by piece and the elements of one file are capped
(IISGUARD_MAX_XML_ELEMENTS, 250,000 by default: a real host of 5,000 sites has about 41,000).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from iisguard.model import snapshot as snapmod

from .conftest import bounded, one_error_line, peak_rss


def one_line_pools(path: Path, count: int) -> Path:
    """applicationHost.config with `count` pools, one `<add name="Pn" />` per line from line 2."""
    with path.open("w") as fh:
        fh.write("<configuration><system.applicationHost><applicationPools>\n")
        for i in range(count):
            fh.write(f'<add name="P{i}" />\n')
        fh.write("</applicationPools></system.applicationHost></configuration>\n")
    return path


def test_an_xml_file_of_too_many_elements_is_refused_in_seconds(tmp_path):
    config = one_line_pools(tmp_path / "applicationHost.config", 500_000)  # 11 MB, as in the issue
    started = time.monotonic()
    proc = bounded(["import", config, "-o", tmp_path / "s.json"], memory_mb=1024, seconds=90)
    assert time.monotonic() - started < 90
    assert proc.returncode == 2, proc.stderr[-2000:]
    line = one_error_line(proc.stderr)
    # Element 250,001 is pool 249,998 (three elements open the file), on line 249,999.
    assert line.startswith(
        "iisguard: error: applicationHost.config:249999: more than 250,000 XML elements in one file; refused"
    ), line
    assert "IISGUARD_MAX_XML_ELEMENTS" in line
    assert not (tmp_path / "s.json").exists()


def test_the_limit_can_be_raised(tmp_path):
    config = one_line_pools(tmp_path / "applicationHost.config", 300)
    env = {**os.environ, "IISGUARD_MAX_XML_ELEMENTS": "100"}
    proc = bounded(["import", config, "-o", tmp_path / "s.json"], env=env)
    assert proc.returncode == 2 and "more than 100 XML elements" in one_error_line(proc.stderr)
    env["IISGUARD_MAX_XML_ELEMENTS"] = "1000"
    proc = bounded(["import", config, "-o", tmp_path / "s.json"], env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(json.loads((tmp_path / "s.json").read_text())["iis"]["app_pools"]) == 300


def test_import_memory_grows_with_the_pools_not_with_the_snapshot_text(tmp_path):
    """Peak RSS per pool, from the growth between 10,000 and 40,000 one-line pools (the interpreter
    and the packs cancel out). Serializing the snapshot whole, decoding it and encoding it again cost
    about 4.5 KB per pool (three copies of its ~1 KB of JSON on top of the objects); written piece by
    piece, about 2.7 KB (the parsed tree, the pool, its virtual account). The file written is the
    same bytes `dumps` gives."""
    peaks = {}
    for count in (10_000, 40_000):
        config = one_line_pools(tmp_path / f"p{count}.config", count)
        out = tmp_path / f"s{count}.json"
        code, peaks[count], err = peak_rss(["import", config, "-o", out], tmp_path)
        assert code == 0, err[-2000:]
    per_pool = (peaks[40_000] - peaks[10_000]) / 30_000
    assert per_pool < 3.5 * 1024, (per_pool, peaks)
    written = out.read_bytes()
    assert written == snapmod.dumps(json.loads(written)).encode("utf-8")

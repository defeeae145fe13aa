"""Issue #18, case 17: a host name from capture.yaml and file names carrying ESC, BEL, a newline and
U+202E reach no terminal raw: every line iisguard writes to a terminal (import summary and details,
the text report, a JSON report on standard output, the gap lines, `--debug` log records) shows them
escaped, and none of them can start a forged line.

The commands run on a pseudo-terminal, as a person sees them (colours and the terminal layout on).
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import FIXTURES

CAPTURES = FIXTURES / "hosts" / "iis10-default" / "captures"
HOST = "EVIL\x1b[2J\x07\n[ERROR] forged\u202eexe.txt"
ACL_FILE = "x\x1b[31mred\x07\n[ERROR] forged\u202etxt.txt"
JUNK_FILE = "junk\x1b]0;title\x07\u202e\x9b.bin"
HOSTILE = ("\x1b[2J", "\x07", "\u202e", "\x1b]0;", "\x1b[31mred", "\x9b")
OWN_COLOURS = re.compile(r"\x1b\[[0-9;]*m")  # iisguard's own SGR colours on a terminal


def on_terminal(args: list, cwd: Path) -> tuple[int, str]:
    """`python -m iisguard ARGS` with stdout and stderr on a pseudo-terminal: (exit code, all it wrote)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "iisguard", *map(str, args)],
        stdout=slave, stderr=slave, stdin=subprocess.DEVNULL, cwd=cwd,
        env={**os.environ, "COLUMNS": "200", "LINES": "50"},
    )  # fmt: skip
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 120)
        if not ready:
            proc.kill()
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    code = proc.wait(timeout=60)
    os.close(master)
    return code, b"".join(chunks).decode("utf-8", "replace")


def assert_every_line_escaped(text: str) -> None:
    assert text.strip()
    for line in text.replace("\r\n", "\n").split("\n"):
        for raw in HOSTILE:
            assert raw not in line, (raw, line)
        assert "\x1b" not in OWN_COLOURS.sub("", line), line
        # A forged line starts at the margin; a wrapped report line may continue, indented, with any word.
        assert not line.startswith("[ERROR] forged"), line


@pytest.fixture
def capture(tmp_path) -> Path:
    folder = tmp_path / "cap"
    shutil.copytree(CAPTURES, folder)
    manifest = folder / "capture.yaml"
    manifest.write_text(
        manifest.read_text().replace("host: IIS10-DEFAULT", "host: " + json.dumps(HOST)), "utf-8"
    )  # JSON strings are YAML double-quoted strings
    first = sorted((folder / "acls").iterdir())[0]
    first.rename(folder / "acls" / ACL_FILE)
    (folder / JUNK_FILE).write_text("nothing any parser knows\n")
    config = folder / "iis" / "applicationHost.config"  # a site name IIS allows: U+202E is no control
    config.write_text(
        config.read_text("utf-8").replace('"Default Web Site"', '"Default\u202eWeb Site"'), "utf-8"
    )
    return folder


def test_import_lines_and_debug_records_are_escaped(capture, tmp_path):
    code, text = on_terminal(["--debug", "import", capture, "-o", tmp_path / "s.json"], tmp_path)
    assert code == 0, text
    assert "iisguard: imported EVIL\\x1b[2J\\x07\\x0a[ERROR] forged\\u202eexe.txt" in text
    assert "junk\\x1b]0;title\\x07\\u202e\\x9b.bin: not recognized" in text
    assert_every_line_escaped(text)
    # No Windows host name holds these: the snapshot keeps it escaped, so no report can print it raw.
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["host"]["name"] == "EVIL\\x1b[2J\\x07\\x0a[ERROR] forged\\u202eexe.txt"
    assert any(
        "host name holds control or bidi characters" in w["message"] for w in data["collection"]["warnings"]
    )


def test_scan_reports_and_gap_lines_are_escaped(capture, tmp_path):
    assert on_terminal(["import", capture, "-o", tmp_path / "s.json"], tmp_path)[0] == 0
    data = json.loads((tmp_path / "s.json").read_text())
    for section in data["collection"]["sections"]:  # every section failed: a gap line names the host
        section["status"], section["message"] = "failed", f"failed on {HOST}"
    (tmp_path / "gap.json").write_text(json.dumps(data))
    for args in (
        ["scan", tmp_path / "s.json"],
        ["--debug", "scan", tmp_path / "s.json", "--format", "json", "--include-passes"],
        ["scan", tmp_path / "s.json", "--format", "sarif"],
        ["scan", tmp_path / "s.json", "--format", "junit"],
        ["scan", tmp_path / "gap.json", "--fail-on", "never"],
        ["validate", tmp_path / "s.json"],
    ):
        code, text = on_terminal(args, tmp_path)
        assert code in (0, 1, 3), (args, text[-2000:])
        assert_every_line_escaped(text)
        if "json" in args:  # the same character, escaped as JSON
            assert "Default\\u202eWeb Site" in text[text.index("{") :]

"""Helpers for the hostile-input suite: every input is generated here, none is a large file on disk."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from iisguard.cli import main

from ..conftest import ROOT

PEAK = ROOT / "benchmarks" / "_peak.py"


def run(capsys, *args: str) -> tuple[int, str, str]:
    """`iisguard ARGS` in this process: (exit code, stdout, stderr)."""
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    """The single `iisguard: error:` line a failure prints, and no traceback."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err[-3000:]
    assert lines and lines[-1].startswith("iisguard: error: "), lines
    return lines[-1]


def bounded(args: list[str], *, memory_mb: int = 1024, seconds: int = 60, cwd: Path | None = None, **kw):
    """`python -m iisguard ARGS` in a child with an address-space limit and a timeout: a bomb must end
    in seconds, inside the limit, with exit 2 (never MemoryError or a kill)."""

    def limit() -> None:
        limit_bytes = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    return subprocess.run(
        [sys.executable, "-m", "iisguard", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=seconds,
        preexec_fn=limit,
        cwd=cwd,
        check=False,
        **kw,
    )


def peak_rss(args: list, tmp_path: Path, **kw) -> tuple[int, int, str]:
    """(exit code, peak RSS in bytes, stderr) of `python -m iisguard ARGS`, measured as the benchmarks
    do (benchmarks/_peak.py: the child's own VmHWM, written at exit)."""
    out = tmp_path / "peak.txt"
    env = {**os.environ, "IISGUARD_BENCH_PEAK": str(out)}
    proc = subprocess.run(
        [sys.executable, str(PEAK), "-m", "iisguard", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
        **kw,
    )
    return proc.returncode, int(out.read_text()), proc.stderr


def load(path: Path) -> dict:
    return json.loads(path.read_text("utf-8"))


@pytest.fixture
def cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path

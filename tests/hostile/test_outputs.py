"""Issue #18, cases 12-14: no data lost (an output over an input, two formats to one file, SIGTERM
while writing) and ordinary I/O failures as one line with exit 2, never a traceback."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import FIXTURES
from .conftest import one_error_line, run

SNAPSHOT = FIXTURES / "hosts" / "demo-misconfigured" / "snapshot.json"


@pytest.fixture
def demo(tmp_path):
    path = tmp_path / "demo.json"
    path.write_bytes(SNAPSHOT.read_bytes())
    return path


def test_a_report_over_its_input_snapshot_is_refused(demo, capsys):
    before = demo.read_bytes()
    code, _, err = run(capsys, "scan", demo, "--format", f"json:{demo}")
    assert code == 2 and "would overwrite" in one_error_line(err)
    assert demo.read_bytes() == before


def test_two_formats_to_one_file_are_refused(demo, tmp_path, capsys):
    code, _, err = run(
        capsys, "scan", demo, "--format", f"json:{tmp_path}/r", "--format", f"sarif:{tmp_path}/./r"
    )
    assert code == 2 and "both write" in one_error_line(err)
    assert not (tmp_path / "r").exists()


def test_reports_are_all_written_or_none(demo, tmp_path, capsys, monkeypatch):
    """A failure while the second report is written leaves the first one old too, and no temp file."""
    sarif, junit = tmp_path / "r.sarif", tmp_path / "r.xml"
    sarif.write_text("old sarif")
    junit.write_text("old junit")
    import iisguard.atomic as atomic

    real = atomic.os.fsync
    calls = []

    def full_disk(fd):
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(fd)

    monkeypatch.setattr(atomic.os, "fsync", full_disk)
    code, _, err = run(capsys, "scan", demo, "--format", f"sarif:{sarif}", "--format", f"junit:{junit}")
    assert code == 2 and "No space left on device" in one_error_line(err)
    assert sarif.read_text() == "old sarif" and junit.read_text() == "old junit"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.json", "r.sarif", "r.xml"]


def test_sigterm_while_writing_cleans_up_and_exits_143(demo, tmp_path, capsys, monkeypatch):
    """SIGTERM arrives while the second report is being written: exit 143, both old reports kept,
    no hidden temporary file left (they were 56-100 MB each)."""
    sarif, junit = tmp_path / "r.sarif", tmp_path / "r.xml"
    sarif.write_text("old sarif")
    junit.write_text("old junit")
    import iisguard.atomic as atomic

    real = atomic.os.fsync
    calls = []

    def signalled(fd):
        calls.append(fd)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return real(fd)

    monkeypatch.setattr(atomic.os, "fsync", signalled)
    code, _, err = run(capsys, "scan", demo, "--format", f"sarif:{sarif}", "--format", f"junit:{junit}")
    assert code == 143 and "iisguard: terminated" in err and "Traceback" not in err
    assert sarif.read_text() == "old sarif" and junit.read_text() == "old junit"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.json", "r.sarif", "r.xml"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # restored after the run


@pytest.mark.parametrize("case", ["readonly", "directory", "devfull"])
def test_output_failures_are_one_line_exit_2(demo, tmp_path, case):
    if case == "readonly":
        folder = tmp_path / "ro"
        folder.mkdir()
        target = folder / "r.json"
        # root ignores modes: a read-only bind is out of reach, so the test runs as nobody when root
        folder.chmod(0o555)
        tmp_path.chmod(0o755)
        demo.chmod(0o644)
    elif case == "directory":
        target = tmp_path / "adir"
        target.mkdir()
    else:
        target = Path("/dev/full")

    # As root, file modes only apply without the capabilities that override them (setpriv,
    # util-linux); dropping to another user fails where the interpreter lives under a private /root.
    prefix: list[str] = []
    if case == "readonly" and os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to test a read-only folder as root"
        prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search"]

    args = (
        ["scan", demo, "--format", f"json:{target}"]
        if case != "devfull"
        else ["scan", demo, "--format", "json"]
    )
    stdout = None if case != "devfull" else open("/dev/full", "w")  # noqa: SIM115 - closed below
    try:
        proc = subprocess.run(
            [*prefix, sys.executable, "-m", "iisguard", *map(str, args)],
            stdout=stdout or subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120,
            cwd="/", check=False,
        )  # fmt: skip
    finally:
        if stdout:
            stdout.close()
    assert proc.returncode == 2, proc.stderr
    one_error_line(proc.stderr)


def test_closed_stdout_is_one_line_exit_2(demo):
    proc = subprocess.run(
        [sys.executable, "-m", "iisguard", "scan", str(demo), "--format", "json"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=120, check=False,
        preexec_fn=lambda: os.close(1),
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "standard output is closed" in one_error_line(proc.stderr)

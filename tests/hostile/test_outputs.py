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


# In a private mount namespace (util-linux unshare, as any user): a 16 KiB tmpfs for a full disk, and
# /dev/full bound over a file so a regression that renamed over it could not replace the real device.
FULL_DISK = """
set -e
mount -t tmpfs -o size=16k tmpfs "$1"
mount --bind /dev/full "$2"
echo old > "$1/r.json"
set +e
"$3" -m iisguard scan "$4" --format "json:$1/r.json" --include-passes > /dev/null 2> "$5/err1"
echo "rc1=$?"
echo "left=$(ls -A "$1" | tr '\\n' ' ')"
echo "content=$(cat "$1/r.json")"
"$3" -m iisguard scan "$4" --format "json:$2" > /dev/null 2> "$5/err2"
echo "rc2=$?"
test -c "$2" && echo "device=yes"
"""


def test_a_full_disk_and_dev_full_are_one_line_exit_2_nothing_half_written(demo, tmp_path):
    unshare = shutil.which("unshare")
    assert unshare, "unshare (util-linux) is needed to mount a tiny tmpfs"
    mnt, full = tmp_path / "mnt", tmp_path / "full"
    mnt.mkdir()
    full.touch()
    proc = subprocess.run(
        [unshare, "--map-root-user", "--mount", "sh", "-c", FULL_DISK, "sh", mnt, full, sys.executable, demo, tmp_path],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = dict(line.split("=", 1) for line in proc.stdout.splitlines())
    err1, err2 = (tmp_path / "err1").read_text(), (tmp_path / "err2").read_text()
    # The report (about 200 KB with passes) does not fit: one line naming it, the old file kept, no temp file.
    assert result["rc1"] == "2" and result["left"].split() == ["r.json"] and result["content"] == "old", (
        result,
        err1,
    )
    assert one_error_line(err1) == f"iisguard: error: {mnt}/r.json: No space left on device"
    # /dev/full is written in place (a rename would replace the device node): ENOSPC, one line.
    assert result["rc2"] == "2", err2
    assert one_error_line(err2) == f"iisguard: error: {full}: No space left on device"
    assert result.get("device") == "yes"


def test_a_fifo_as_a_report_is_written_not_replaced(demo, tmp_path):
    """`--format sarif:/dev/stdout`, a FIFO or /dev/null are written in place: renaming a temporary
    file over them replaced the node itself (as root, `json:/dev/null` made /dev/null a regular file)."""
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    proc = subprocess.run(
        [sys.executable, "-m", "iisguard", "scan", str(demo), "--format", f"json:{fifo}"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    reader.join(30)
    assert proc.returncode == 1, proc.stderr  # the demo host fails the gate
    assert fifo.is_fifo()
    assert got and b'"findings"' in got[0]


BASELINES = {
    "deep": ('{"runs": ' + "[" * 100_000 + "]" * 100_000 + "}", "--baseline {path}: not a SARIF log: JSON nested too deeply to read"),
    "run": ('{"runs": [1]}', "{path}:1: not a SARIF log: runs[0] is a number, not an object"),
    "results": ('{"runs": [{\n"results": "x"}]}', "{path}:2: not a SARIF log: runs[0].results is a string, not an array"),
    "message": (
        '{"runs": [{"results": [\n{"kind": "fail", "partialFingerprints": {"a": "b"},\n "message": "m"}]}]}',
        "{path}:3: not a SARIF log: runs[0].results[0].message is a string, not an object",
    ),
    "suppressions": (
        '{"runs": [{"results": [{"suppressions": 5}]}]}',
        "{path}:1: not a SARIF log: runs[0].results[0].suppressions is a number, not an array",
    ),
    "fingerprints": (
        '{"runs": [{"results": [{"partialFingerprints": ["a"]}]}]}',
        "{path}:1: not a SARIF log: runs[0].results[0].partialFingerprints is an array, not an object",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", BASELINES)
def test_a_deep_or_wrongly_typed_baseline_is_one_line_exit_2(demo, tmp_path, capsys, case):
    text, message = BASELINES[case]
    baseline = tmp_path / "base.sarif"
    baseline.write_text(text)
    code, _, err = run(capsys, "scan", demo, "--baseline", baseline, "--format", f"json:{tmp_path}/r.json")
    assert code == 2
    assert one_error_line(err) == "iisguard: error: " + message.format(path=baseline)
    assert not (tmp_path / "r.json").exists()

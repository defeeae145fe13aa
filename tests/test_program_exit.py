"""The `iisguard` program ends without freeing what the scan held (iisguard.lifetime): its outputs,
exit code and stream handling must be those of `main()`, and a library caller keeps nothing."""

from __future__ import annotations

import json
import subprocess
import sys

from iisguard import lifetime
from iisguard.cli import main

from .conftest import FIXTURES

HOSTS = FIXTURES / "hosts"


def program(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "iisguard", *args], capture_output=True, **kw)


def test_program_writes_every_output_and_exits_with_the_gate(tmp_path):
    out = tmp_path / "r.json"
    xml = tmp_path / "r.xml"
    run = program(
        "scan", str(HOSTS), "--fail-on", "medium", "-f", f"json:{out}", "-f", f"junit:{xml}", "-f", "text:-"
    )
    assert run.returncode == 1, run.stderr  # the fixture fleet fails at medium
    assert b"Traceback" not in run.stderr
    text = run.stdout.decode()
    summary = json.loads(out.read_bytes())["summary"]
    assert text.rstrip().splitlines()[-1].startswith("Summary: ")  # stdout flushed to its last line
    assert f"{summary['outcomes']['fail']} failed" in text.rstrip().splitlines()[-1]
    assert xml.read_text().rstrip().endswith("</testsuites>")
    same = tmp_path / "same.json"
    assert main(["scan", str(HOSTS), "--fail-on", "medium", "-f", f"json:{same}"]) == 1
    assert json.loads(same.read_bytes())["summary"]["outcomes"] == summary["outcomes"]


def test_program_exit_codes_are_main_s(tmp_path):
    assert program("scan", str(HOSTS / "iis10-default"), "--fail-on", "never").returncode == 0
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    run = program("scan", str(bad))
    assert run.returncode == 2 and b"not valid JSON" in run.stderr and b"Traceback" not in run.stderr


def test_program_read_by_head_is_not_an_error():
    """Output piped into `head` and closed early: exit as main() says, no 'Exception ignored' noise."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "iisguard", "scan", str(HOSTS), "--fail-on", "never", "-f", "text:-"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(10)
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait() == 0
    assert b"Exception ignored" not in err and b"Traceback" not in err


def test_program_output_to_a_full_disk_fails(tmp_path):
    with open("/dev/full", "wb") as full:
        run = subprocess.run(
            [sys.executable, "-m", "iisguard", "scan", str(HOSTS / "iis10-default"), "--fail-on", "never"],
            stdout=full,
            stderr=subprocess.PIPE,
        )
    assert run.returncode == 2 and b"No space left" in run.stderr


def test_a_library_call_keeps_nothing(tmp_path, loaded_snapshots):
    loaded = loaded_snapshots
    assert (
        main(["scan", str(HOSTS), "--jobs", "1", "--fail-on", "never", "-f", f"json:{tmp_path / 'r.json'}"])
        == 0
    )
    assert lifetime._kept == [] and loaded and all(ref() is None for ref in loaded)


def test_the_program_keeps_only_the_last_snapshot(tmp_path, monkeypatch, loaded_snapshots):
    """Declared ending (as `program()` does): a fleet's snapshots are freed one by one as before, only
    the last is left for the process's end, whole (its indexes too: releasing them costs time)."""
    monkeypatch.setattr(lifetime, "_ending", True)
    monkeypatch.setattr(lifetime, "_kept", [])
    loaded = loaded_snapshots
    assert (
        main(["scan", str(HOSTS), "--jobs", "1", "--fail-on", "never", "-f", f"json:{tmp_path / 'r.json'}"])
        == 0
    )
    assert len(loaded) > 2
    assert all(ref() is None for ref in loaded[:-1])
    assert lifetime._kept == [loaded[-1]()] and len(vars(lifetime._kept[0])) > 2

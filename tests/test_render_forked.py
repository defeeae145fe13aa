"""A large report's outputs render side by side in forked processes (cli/scan.py write_reports):
the same files, staged and renamed as one batch, with the user's umask, nothing left behind."""

from __future__ import annotations

import os
import re

import pytest

from iisguard import forked
from iisguard.cli import main
from iisguard.cli import scan as scan_cli
from iisguard.report.json import JsonReporter

from .conftest import FIXTURES

HOSTS = FIXTURES / "hosts"
FORMATS = ("json", "sarif", "junit", "text", "html")


def run(tmp_path, name, jobs=None):
    folder = tmp_path / name
    folder.mkdir()
    args = ["scan", str(HOSTS), "--fail-on", "never", *(["--jobs", str(jobs)] if jobs else [])]
    for fmt in FORMATS:
        args += ["-f", f"{fmt}:{folder / ('report.' + fmt)}"]
    args += ["-f", f"ckl:{folder}/ckl/", "-f", f"hdf:{folder}/hdf/"]  # one file per host, in the same batch
    assert main(args) == 0
    return folder


STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")
TIMING = re.compile(r'("seconds"|"duration"|"duration_s"|time)(: |=")[0-9.e-]+')


def contents(folder):
    """Every file's text, with the run's clock readings (timestamps, durations) blanked."""
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            text = STAMP.sub("T", path.read_text(encoding="utf-8"))
            files[str(path.relative_to(folder))] = TIMING.sub(r"\1\2N", text)
    return files


def test_forked_rendering_writes_what_one_process_writes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    one = contents(run(tmp_path, "one"))
    forks = []
    real_fork = forked._fork

    def counting_fork(*args):
        child = real_fork(*args)
        forks.append(child[0])
        return child

    monkeypatch.setattr(forked, "_fork", counting_fork)
    monkeypatch.setattr(scan_cli, "RENDER_FORK_FINDINGS", 0)
    old = os.umask(0o027)
    try:
        folder = run(tmp_path, "many", jobs=3)
    finally:
        os.umask(old)
    assert len(forks) == 2  # three processes rendered (the scan itself: several files, a process pool)
    many = contents(folder)
    assert many.keys() == one.keys() and len(many) > len(FORMATS)
    assert many == one
    for path in folder.rglob("*"):
        assert not path.name.endswith(".tmp")
        if path.is_file():
            assert path.stat().st_mode & 0o777 == 0o640


def test_a_render_that_fails_in_a_child_is_redone_here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    parent = os.getpid()
    real = JsonReporter.render

    def only_here(self, report):
        if os.getpid() != parent:
            os._exit(9)  # as if killed
        return real(self, report)

    monkeypatch.setattr(JsonReporter, "render", only_here)
    monkeypatch.setattr(scan_cli, "RENDER_FORK_FINDINGS", 0)
    folder = run(tmp_path, "redone", jobs=2)
    monkeypatch.setattr(scan_cli, "RENDER_FORK_FINDINGS", 10**12)
    assert contents(folder) == contents(run(tmp_path, "serial"))


def test_jobs_1_renders_here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(scan_cli, "RENDER_FORK_FINDINGS", 0)
    monkeypatch.setattr(forked, "_fork", lambda *a: pytest.fail("forked"))
    assert main(
        [
            "scan",
            str(HOSTS),
            "--jobs",
            "1",
            "-f",
            f"json:{tmp_path / 'a.json'}",
            "-f",
            f"sarif:{tmp_path / 'a.sarif'}",
        ]
    ) in (0, 1)
    assert (tmp_path / "a.json").is_file() and (tmp_path / "a.sarif").is_file()


def _written_by(reporter, tmp_path, monkeypatch, capsys) -> tuple[bytes, str]:
    """(the file, standard output) of a scan whose `json` format is `reporter`, written to both."""
    real = scan_cli.load_plugins

    def load(*a, **k):
        loaded = real(*a, **k)
        loaded.reporters["json"] = reporter
        return loaded

    monkeypatch.setattr(scan_cli, "load_plugins", load)
    out = tmp_path / "r.json"
    args = ["scan", str(HOSTS / "iis10-default"), "--fail-on", "never", "-f", f"json:{out}", "-f", "json:-"]
    assert main(args) == 0
    return out.read_bytes(), capsys.readouterr().out


def test_a_reporter_that_offers_its_bytes_is_written_as_they_are(tmp_path, monkeypatch, capsys):
    """`render_bytes` (UTF-8, as orjson writes it) goes to the file untouched; to stdout as text."""

    class Bytes:
        name, extension, description = "json", ".json", "a third-party format offering its bytes"

        def render_bytes(self, report):
            return '{"written": "as bytes \u00e9"}\n'.encode()

        def render(self, report):  # pragma: no cover - the CLI must prefer render_bytes
            raise AssertionError("render() called although render_bytes() exists")

    written, shown = _written_by(Bytes(), tmp_path, monkeypatch, capsys)
    assert written == '{"written": "as bytes \u00e9"}\n'.encode()
    assert shown == '{"written": "as bytes \u00e9"}\n'


def test_a_reporter_that_offers_chunks_is_written_piece_by_piece(tmp_path, monkeypatch, capsys):
    """`render_chunks` (UTF-8 pieces) is preferred to the rest: the pieces reach the file in order,
    and stdout gets them as text."""

    class Chunks:
        name, extension, description = "json", ".json", "a third-party format offering pieces"

        def render_chunks(self, report):
            return iter([b'{"written": ', memoryview('"in pieces \u00e9"}'.encode()), b"\n"])

        def render_bytes(self, report):  # pragma: no cover - the CLI must prefer render_chunks
            raise AssertionError("render_bytes() called although render_chunks() exists")

        render = render_bytes

    written, shown = _written_by(Chunks(), tmp_path, monkeypatch, capsys)
    assert written == '{"written": "in pieces \u00e9"}\n'.encode()
    assert shown == '{"written": "in pieces \u00e9"}\n'

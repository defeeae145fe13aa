"""`iisguard scan` output options: --sarif-root, and the terminal's --quiet / --compact / progress."""

from __future__ import annotations

import io
import json
import shutil
from urllib.parse import urlsplit

from iisguard.cli import main
from iisguard.cli.progress import TerminalProgress
from iisguard.engine.evaluate import Step

from .conftest import FIXTURES

MISCONFIGURED = FIXTURES / "hosts" / "demo-misconfigured"


def test_sarif_root_relative_to_the_repository_never_dot_dot(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    shutil.copytree(MISCONFIGURED, repo / "hosts" / "demo")
    job = tmp_path / "job"  # the scan runs outside the repository, as a CI step may
    job.mkdir()
    monkeypatch.chdir(job)
    code = main(
        ["scan", str(repo / "hosts" / "demo"), "--sarif-root", str(repo), "--format", "sarif:out.sarif"]
    )
    assert code == 1
    sarif = json.loads((job / "out.sarif").read_text(encoding="utf-8"))
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for run in sarif["runs"]
        for r in run["results"]
    }
    assert uris and all(u.startswith("hosts/demo/") and not urlsplit(u).scheme for u in uris), uris
    assert all((repo / u).is_file() for u in uris)


def test_sarif_root_must_be_a_folder(tmp_path, capsys):
    code = main(["scan", str(MISCONFIGURED), "--sarif-root", str(tmp_path / "nope"), "--format", "sarif:-"])
    assert code == 2
    assert "--sarif-root" in capsys.readouterr().err


# --- the terminal: --quiet, --compact, progress --------------------------------------------------------


def test_quiet_and_compact_from_the_command_line(capsys):
    assert main(["scan", str(MISCONFIGURED)]) == 1
    full = capsys.readouterr().out.splitlines()
    assert main(["scan", str(MISCONFIGURED), "--quiet"]) == 1
    quiet = capsys.readouterr().out.splitlines()
    assert main(["scan", str(MISCONFIGURED), "--compact"]) == 1
    compact = capsys.readouterr().out.splitlines()
    assert full[1] == full[-1] == quiet[1] == quiet[-1]  # the summary first and last
    assert "Remediation:" in "\n".join(full) and "Remediation:" not in "\n".join(quiet + compact)
    failures = int(full[1].split(" failed")[0].split()[-1])
    assert sum(1 for line in quiet if line.startswith("    IIS-")) == failures
    assert len(quiet) < failures + 16 < len(full)  # the demo's failures and little else
    assert "NOT REVIEWED" not in "\n".join(quiet) and "NOT REVIEWED" in "\n".join(compact)


def test_progress_is_silent_when_not_a_terminal(tmp_path, capsys):
    assert main(["scan", str(MISCONFIGURED), "--format", f"json:{tmp_path / 'r.json'}"]) == 1
    assert capsys.readouterr().err == ""


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_hosts_and_packs_after_a_second_then_erases_itself():
    now = [0.0]
    out = FakeTerminal()
    progress = TerminalProgress(out, clock=lambda: now[0])
    progress(Step("web01.json", 1, 2))
    progress(Step("web01.json", 1, 2, "pool", 1, 7))
    assert out.getvalue() == ""  # the first second is quiet
    now[0] = 1.5
    progress(Step("web01.json", 1, 2, "acl", 5, 7))
    assert out.getvalue() == "\r\x1b[Kiisguard: host 1/2 web01.json · rules acl (5/7) · 2s"
    now[0] = 1.55
    progress(Step("web01.json", 1, 2, "cred", 6, 7))  # throttled: ten redraws a second at most
    now[0] = 2.0
    progress(Step("web\x1b[2J02.json", 2, 2))
    assert out.getvalue().endswith("\r\x1b[Kiisguard: host 2/2 web\\x1b[2J02.json · 2s")
    progress.close()
    assert out.getvalue().endswith("\r\x1b[K")
    silent = io.StringIO()
    quiet = TerminalProgress(silent, clock=lambda: now[0] + 100)
    quiet(Step("web01.json", 1, 1, "acl", 1, 1))
    quiet.close()
    assert silent.getvalue() == ""


def test_scan_reports_each_host_and_rule_pack(tmp_path):
    import iisguard

    first, second = tmp_path / "a.json", tmp_path / "b.json"
    shutil.copy(MISCONFIGURED / "snapshot.json", first)
    shutil.copy(MISCONFIGURED / "snapshot.json", second)
    steps: list[Step] = []
    iisguard.scan([first, second], progress=steps.append, jobs=1)
    assert [(s.host, s.index, s.total) for s in steps if not s.pack] == [("a.json", 1, 2), ("b.json", 2, 2)]
    packs = [s for s in steps if s.host == "a.json" and s.pack]
    assert len(packs) == packs[0].packs >= 5 and [s.pack_index for s in packs] == list(
        range(1, len(packs) + 1)
    )
    steps.clear()
    iisguard.scan([first, second], progress=steps.append, jobs=2)  # workers: one step per finished host
    assert [(s.host, s.index, s.done) for s in steps] == [("a.json", 1, True), ("b.json", 2, True)]

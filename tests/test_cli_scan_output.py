"""`iisguard scan` output options: --sarif-root, and the terminal's --quiet / --compact / progress."""

from __future__ import annotations

import json
import shutil
from urllib.parse import urlsplit

from iisguard.cli import main

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

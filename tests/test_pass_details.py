"""Passes without pointer and evidence when no report shows them (`pass_details`, engine/evaluate.py).

A large host's scan spent a tenth of its time finding where each of its 277,000 passes stands in the
snapshot, for reports that only count them. The findings must be the same otherwise, in one process
and with the rules shared out; a scan whose outputs show passes (JSON `--include-passes`, a
baseline's `absent`, a shard, a third-party format) keeps them whole.
"""

from __future__ import annotations

import json

import pytest

import iisguard
from iisguard.cli import main
from iisguard.cli import scan as cli_scan
from iisguard.engine.findings import Outcome

from .conftest import FIXTURES

HOST = FIXTURES / "hosts" / "demo-misconfigured" / "snapshot.json"


def by_key(report):
    return {(f.rule_id, f.resource): f for f in report.findings()}


@pytest.mark.parametrize("jobs", [1, 2])
def test_without_pass_details_only_the_passes_lose_pointer_and_evidence(jobs):
    whole = by_key(iisguard.scan(HOST, jobs=jobs))
    bare = by_key(iisguard.scan(HOST, jobs=jobs, pass_details=False))
    assert list(bare) == list(whole)  # the same findings, in the same order
    passes = [k for k, f in whole.items() if f.outcome is Outcome.PASS]
    # what the option drops is there to drop on this host
    assert sum(1 for k in passes if whole[k].pointer) > 50
    assert sum(1 for k in passes if whole[k].evidence) > 50
    for key, f in whole.items():
        if f.outcome is Outcome.PASS:
            assert bare[key].pointer is None and bare[key].evidence is None, key
            assert bare[key].message == f.message and bare[key].severity is f.severity
        else:
            assert bare[key] == f, key
    assert any(f.pointer for f in bare.values()), "failures keep their pointers"


def test_a_baseline_keeps_pass_details(tmp_path):
    """A failure fixed since the baseline is reported at its pass (SARIF baselineState absent)."""
    base = tmp_path / "base.sarif"
    assert main(["scan", str(HOST), "--fail-on", "never", "-f", f"sarif:{base}"]) == 0
    fixed = FIXTURES / "hosts" / "demo-golden" / "snapshot.json"
    data = json.loads(fixed.read_text())
    data["host"]["name"] = json.loads(HOST.read_text())["host"]["name"]  # the same host, now fixed
    now = tmp_path / "snapshot.json"
    now.write_text(json.dumps(data))
    report = iisguard.scan(now, baseline=base, pass_details=False)
    absent = [f for f in report.findings() if f.baseline_state == "absent" and f.pointer]
    assert absent, "a fixed failure's pass keeps its pointer"


class Recording:
    def __init__(self, monkeypatch):
        self.asked: list[bool] = []
        real = cli_scan.pipeline.scan

        def scan(*args, **kwargs):
            self.asked.append(kwargs["pass_details"])
            return real(*args, **kwargs)

        monkeypatch.setattr(cli_scan.pipeline, "scan", scan)


@pytest.mark.parametrize(
    ("formats", "details"),
    [
        (["sarif", "junit", "json", "html", "text", "hdf", "ckl", "cklb"], False),
        (["sarif", "json", "--include-passes"], True),
        (["sarif", "shown"], True),  # a format that does not say it only counts passes gets them whole
    ],
)
def test_the_cli_asks_for_pass_details_only_when_an_output_shows_them(
    tmp_path, monkeypatch, formats, details
):
    recording = Recording(monkeypatch)

    class Shown:  # a third-party format without `lists_passes`: it may show where each pass stands
        name, extension, description = "shown", "txt", "pass pointers"

        def render(self, report):
            return "".join(f"{f.pointer}\n" for f in report.findings() if f.outcome is Outcome.PASS)

    real = cli_scan.load_plugins

    def load_plugins(**kwargs):
        plugins = real(**kwargs)
        plugins.reporters["shown"] = Shown()
        return plugins

    monkeypatch.setattr(cli_scan, "load_plugins", load_plugins)
    args = ["scan", str(HOST), "--fail-on", "never"]
    for fmt in formats:
        args += [fmt] if fmt.startswith("--") else ["-f", f"{fmt}:{tmp_path / fmt}"]
    assert main(args) == 0
    assert recording.asked == [details]
    if "shown" in formats:
        pointers = (tmp_path / "shown").read_text().split()
        assert sum(1 for p in pointers if p != "None") > 50
    if "--include-passes" in formats:
        listed = json.loads((tmp_path / "json").read_text())
        passes = [f for f in listed["findings"] if f["outcome"] == "pass"]
        assert passes and any(f.get("pointer") for f in passes)

"""`iisguard scan --jobs N`: the same report, in the same order, whatever N (workers are processes)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from iisguard.cli import main
from iisguard.engine import parallel

from .conftest import FIXTURES

HOSTS = sorted(p.parent for p in (FIXTURES / "hosts").glob("*/snapshot.json"))


def fleet(tmp_path, copies=2):
    """The demo and farm hosts, each twice under another host name: a small fleet of distinct files."""
    folder = tmp_path / "fleet"
    folder.mkdir()
    for n in range(copies):
        for host in HOSTS:
            data = json.loads((host / "snapshot.json").read_text())
            data["host"]["name"] = f"{data['host']['name']}-{n}"
            (folder / f"{n}-{host.name}.json").write_text(json.dumps(data, indent=2))
            if (host / "captures").is_dir() and n == 0:  # evidence paths are relative to the snapshot
                shutil.copytree(host / "captures", folder / "captures", dirs_exist_ok=True)
    return folder


def scan(folder, out, jobs):
    code = main(
        [
            "scan",
            str(folder),
            "--jobs",
            str(jobs),
            "--fail-on",
            "high",
            "-f",
            f"json:{out}.json",
            "-f",
            f"sarif:{out}.sarif",
        ]
    )
    doc = json.loads(Path(f"{out}.json").read_text())
    doc.pop("generated_at")
    for host in doc["hosts"]:
        host.pop("seconds")
    sarif = json.loads(Path(f"{out}.sarif").read_text())
    for run in sarif["runs"]:
        run.pop("invocations", None)
    return code, doc, sarif


def test_two_workers_give_the_report_one_gives(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = fleet(tmp_path)
    one = scan(folder, tmp_path / "one", 1)
    two = scan(folder, tmp_path / "two", 2)
    assert one[0] == two[0] == 1
    assert one[1] == two[1]
    assert one[2] == two[2]
    hosts = [h["name"] for h in one[1]["hosts"]]
    assert len(hosts) == 2 * len(HOSTS) and hosts == [h["name"] for h in two[1]["hosts"]]
    assert sum(one[1]["summary"]["outcomes"].values()) > 100  # a real report, not two empty ones


def test_a_bad_file_is_named_whatever_the_number_of_workers(tmp_path, capsys):
    folder = fleet(tmp_path, copies=1)
    (folder / "zz-broken.json").write_text('{"schema_version": "1.0", ')
    for jobs in (1, 2):
        assert main(["scan", str(folder), "--jobs", str(jobs)]) == 2
        err = capsys.readouterr().err
        assert "zz-broken.json" in err and "not valid JSON" in err


def test_jobs_must_be_positive(capsys):
    for bad in ("0", "-2", "many"):
        try:
            main(["scan", str(HOSTS[0]), "--jobs", bad])
        except SystemExit as exc:
            assert exc.code == 2
        assert "--jobs" in capsys.readouterr().err


def test_default_is_one_process_for_a_few_snapshots():
    assert parallel.default_jobs(1) == 1
    assert parallel.default_jobs(parallel.MANY - 1) == 1
    assert parallel.default_jobs(1000) == parallel.cpus()


def test_each_loaded_snapshot_is_freed_once_its_rules_ran(tmp_path, loaded_snapshots):
    """The model's indexes refer back to their snapshot; the engine releases them, so the document is
    freed by reference counting while the collector is paused (and not kept by the freeze after it)."""
    loaded = loaded_snapshots
    out = tmp_path / "r.json"
    assert (
        main(["scan", str(FIXTURES / "hosts"), "--jobs", "1", "--fail-on", "never", "-f", f"json:{out}"]) == 0
    )
    assert len(loaded) == len(HOSTS) and all(ref() is None for ref in loaded)


def test_release_forgets_the_indexes_and_they_come_back():
    from iisguard.model import snapshot as snapmod

    snap = snapmod.load(HOSTS[0] / "snapshot.json")
    accounts, by_path = snap.accounts, snap.acls_by_path
    snap.release()
    assert set(vars(snap)) == {"data", "path"}
    assert snap.acls_by_path == by_path and snap.accounts is not accounts

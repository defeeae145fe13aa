"""`scan --shard K/N` + `iisguard merge`: N shard reports combine into the reports one scan writes."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from iisguard import pipeline
from iisguard.cli import main
from iisguard.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]
HOSTS = ROOT / "fixtures" / "hosts"

POLICY = """\
apiVersion: iisguard/v1
kind: Policy
name: shards
extends: baseline
waivers:
  - rule: IIS-ACL-003
    resource: "*Public*"
    hosts: ["WEB-LEGACY02"]
    reason: "content share rebuilt in Q3 (ticket SEC-42)"
    owner: web-platform
    expires: 2027-06-30
  - rule: IIS-ACL-003
    resource: "*Nowhere*"
    reason: "matches nothing on any host"
    owner: web-platform
    expires: 2027-06-30
  - rule: IIS-ACL-004
    resource: "*"
    hosts: ["WEB-LEGACY05"]
    reason: "expired long ago"
    owner: web-platform
    expires: 2020-01-01
"""


def fleet(tmp_path: Path) -> Path:
    """Seven hosts: five renamed copies of the misconfigured demo, the default host, a farm server."""
    folder = tmp_path / "snaps"
    folder.mkdir()
    demo = json.loads((HOSTS / "demo-misconfigured" / "snapshot.json").read_text("utf-8"))
    for i in range(1, 6):
        demo["host"]["name"] = f"WEB-LEGACY{i:02}"
        # compact on odd hosts: shards and merge read any valid layout
        text = json.dumps(demo) if i % 2 else json.dumps(demo, indent=2)
        (folder / f"web-legacy{i:02}.json").write_text(text, "utf-8")
    for name in ("iis10-default", "farm-web01"):
        shutil.copy(HOSTS / name / "snapshot.json", folder / f"{name}.json")
    return folder


NORMALISE = [
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?"), "<time>"),
    (re.compile(r'"seconds": [0-9.]+'), '"seconds": 0'),
    (re.compile(r'time="[0-9.]+"'), 'time="0"'),
    (re.compile(r"in [0-9.]+ ?s\b"), "in 0 s"),
]


def normal(text: str) -> str:
    for rx, to in NORMALISE:
        text = rx.sub(to, text)
    return text


FORMATS = ("sarif", "junit", "json", "text")


def outputs(folder: Path) -> list[str]:
    return [arg for fmt in FORMATS for arg in ("-f", f"{fmt}:{folder / fmt}")]


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_shards_merge_into_the_reports_of_one_scan(tmp_path, monkeypatch, capsys, count):
    monkeypatch.chdir(tmp_path)
    snaps = fleet(tmp_path)
    (tmp_path / "policy.yaml").write_text(POLICY, "utf-8")
    common = [str(snaps), "--policy", "policy.yaml"]

    # A baseline taken from two hosts: their failures are 'unchanged', the others 'new'.
    assert main(["scan", str(snaps / "web-legacy01.json"), "-f", "sarif:base.sarif"]) == 1
    common += ["--baseline", "base.sarif"]

    (tmp_path / "one").mkdir()
    whole = main(["scan", *common, *outputs(tmp_path / "one")])
    assert whole == 1, capsys.readouterr().err

    for k in range(1, count + 1):
        assert main(["scan", *common, "--shard", f"{k}/{count}", "-f", f"json:shard{k}.json"]) == 0
    (tmp_path / "merged").mkdir()
    merged = main(["merge", *(f"shard{k}.json" for k in range(count, 0, -1)), *outputs(tmp_path / "merged")])
    capsys.readouterr()

    assert merged == whole == 1
    for fmt in FORMATS:
        one = normal((tmp_path / "one" / fmt).read_text("utf-8"))
        two = normal((tmp_path / "merged" / fmt).read_text("utf-8"))
        assert one == two, fmt
    report = json.loads((tmp_path / "merged" / "json").read_text("utf-8"))
    assert len(report["hosts"]) == 7
    assert report["summary"]["failures"]["waived"] > 0 and report["summary"]["baseline"]["unchanged"] > 0
    kinds = {n["kind"] for n in report["notices"]}
    assert {"waiver-unused", "waiver-expired", "baseline"} <= kinds


def test_required_sections_gate_the_merge_as_they_gate_one_scan(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    snaps = fleet(tmp_path)
    args = [str(snaps), "--require", "ad", "--fail-on", "never"]
    whole = main(["scan", *args, "-f", "json:one.json"])
    for k in (1, 2):
        main(["scan", *args, "--shard", f"{k}/2", "-f", f"json:s{k}.json"])
    capsys.readouterr()
    merged = main(["merge", "s1.json", "s2.json", "-f", "json:merged.json"])
    err = capsys.readouterr().err
    assert whole == merged == 3
    assert "required section ad is" in err
    one, two = (json.loads(Path(p).read_text("utf-8")) for p in ("one.json", "merged.json"))
    assert [h.get("gaps") for h in one["hosts"]] == [h.get("gaps") for h in two["hosts"]]
    assert any(h.get("gaps") for h in two["hosts"])


def test_each_host_is_in_exactly_one_shard_and_reruns_agree(tmp_path):
    snaps = fleet(tmp_path)
    files = sorted(str(p) for p in snaps.glob("*.json"))
    parts = [pipeline.shard_of(files, k, 3) for k in (1, 2, 3)]
    assert sorted(i for part in parts for i in part) == list(range(len(files)))
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
    assert parts == [pipeline.shard_of(files, k, 3) for k in (1, 2, 3)]


def test_merge_refuses_an_incomplete_or_mixed_set(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    snaps = fleet(tmp_path)
    for k in (1, 2, 3):
        main(["scan", str(snaps), "--shard", f"{k}/3", "-f", f"json:s{k}.json"])
    main(["scan", str(snaps), "--shard", "1/2", "-f", "json:other.json"])
    main(["scan", str(snaps), "-f", "json:plain.json"])
    capsys.readouterr()

    with pytest.raises(UsageError, match=r"shard\(s\) 3/3 missing"):
        pipeline.merge(["s1.json", "s2.json"])
    with pytest.raises(UsageError, match="given twice"):
        pipeline.merge(["s1.json", "s2.json", "s3.json", "s2.json"])
    with pytest.raises(UsageError, match="does not belong"):
        pipeline.merge(["s1.json", "s2.json", "s3.json", "other.json"])
    with pytest.raises(UsageError, match="without a 'shard' section"):
        pipeline.merge(["plain.json"])

    assert main(["merge", "s1.json", "s3.json"]) == 2
    assert "2/3 missing" in capsys.readouterr().err
    assert main(["scan", str(snaps), "--shard", "1/2", "-f", "sarif:x.sarif"]) == 2
    assert "--shard writes the JSON report" in capsys.readouterr().err
    with pytest.raises(SystemExit) as bad:
        main(["scan", str(snaps), "--shard", "3/2", "-f", "json:x.json"])
    assert bad.value.code == 2 and "1 <= K <= N" in capsys.readouterr().err

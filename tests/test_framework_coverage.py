"""The framework files account for every item, and the README's coverage figures are computed from them.

Every STIG and CIS item is automated (rules map to it), procedural (`procedural:` says why no capture
can decide it) or an open gap named with `gap:`; an item with none of these fails here. The README's
coverage lines are what `iisguard rules list --framework NAME` prints, so they cannot go stale.
"""

from __future__ import annotations

import json
import re

import pytest

from iisguard.cli import main
from iisguard.engine import frameworks

from .conftest import ROOT

NAMES = ("stig-iis10", "cis-iis10")


@pytest.mark.parametrize("name", NAMES)
def test_every_item_is_automated_procedural_or_a_named_gap(name, builtin_rules):
    fw = frameworks.load(name)
    silent = [i.id for i in fw.items if not i.rules and not i.procedural and not i.gap]
    assert not silent, f"{name}: items neither mapped, procedural nor a named gap: {silent}"
    # An item mapped only to rules no pack defines (planned ids, test_meta_rules) automates nothing.
    counts = fw.coverage(set(builtin_rules))
    assert counts["automated"] == sum(1 for i in fw.items if any(r in builtin_rules for r in i.rules))
    for item in fw.items:
        for reason in (item.procedural, item.gap):
            assert not reason or len(reason.split()) >= 4, (item.id, reason)  # a reason, not a tag


@pytest.mark.parametrize("name", NAMES)
def test_readme_coverage_lines_are_the_computed_ones(name, capsys):
    assert main(["rules", "list", "--framework", name, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    counts = doc["coverage"]
    assert sum(counts.values()) == len(frameworks.load(name).items)
    assert counts["automated"] == sum(1 for i in doc["items"] if i["coverage"] == "automated")
    readme = (ROOT / "README.md").read_text("utf-8")
    block = readme.split("<!-- coverage:begin -->", 1)[1].split("<!-- coverage:end -->", 1)[0]
    line = next((ln for ln in block.splitlines() if ln.startswith(f"- `{name}`")), None)
    assert line is not None, f"README has no coverage line for {name}"
    got = re.search(r"(\d+) items: (\d+) automated, (\d+) procedural, (\d+) uncovered", line)
    assert got, line
    total = sum(counts.values())
    assert tuple(map(int, got.groups())) == (
        total,
        counts["automated"],
        counts["procedural"],
        counts["uncovered"],
    ), f"README coverage line for {name} is stale; the text command prints:\n" + _text(name, capsys)


def _text(name, capsys):
    main(["rules", "list", "--framework", name])
    return capsys.readouterr().out.splitlines()[0]


def test_procedural_items_reach_the_reports(tmp_path):
    from iisguard.engine import compliance

    fw = frameworks.load("stig-iis10")
    item = next(i for i in fw.items if i.procedural)
    c = compliance.control(item, "WEB01", {}, ())
    assert c.status == "procedural" and item.procedural in c.reason
    gap = next(i for i in fw.items if i.gap)
    assert compliance.control(gap, "WEB01", {}, ()).status == "not_covered"


def test_a_mapped_item_cannot_also_be_procedural(tmp_path, monkeypatch):
    folder = tmp_path / "frameworks"
    folder.mkdir()
    (tmp_path / "profiles").mkdir()
    (folder / "x.yaml").write_text(
        "kind: Framework\nname: x\nitems:\n  - id: A\n    rules: [IIS-POOL-001]\n    procedural: by a person reading\n"
    )
    monkeypatch.setenv("IISGUARD_POLICIES", str(tmp_path))
    frameworks.load.cache_clear()
    try:
        with pytest.raises(Exception, match="procedural/gap are for items without"):
            frameworks.load("x")
    finally:
        frameworks.load.cache_clear()


def test_checklists_and_hdf_carry_the_procedural_reason(tmp_path, monkeypatch):
    import xml.etree.ElementTree as ET

    from .conftest import FIXTURES

    monkeypatch.chdir(tmp_path)
    host = FIXTURES / "hosts" / "demo-misconfigured" / "snapshot.json"
    args = ["scan", str(host), "--fail-on", "never", "--profile", "stig-iis10"]
    assert (
        main(
            [
                *args,
                "-f",
                "ckl:out.ckl",
                "-f",
                "hdf:out.hdf.json",
                "-f",
                "text:out.txt",
                "--framework",
                "stig-iis10",
            ]
        )
        == 0
    )
    fw = frameworks.load("stig-iis10")
    item = next(i for i in fw.items if i.procedural)
    vulns = {}
    for vuln in ET.parse(tmp_path / "out.ckl").getroot().iter("VULN"):
        data = {sd.findtext("VULN_ATTRIBUTE"): sd.findtext("ATTRIBUTE_DATA") for sd in vuln.iter("STIG_DATA")}
        vulns[data["Vuln_Num"]] = vuln
    vuln = vulns[item.id]
    assert vuln.findtext("STATUS") == "Not_Reviewed"
    assert item.procedural in (vuln.findtext("COMMENTS") or "")
    hdf = json.loads((tmp_path / "out.hdf.json").read_text())
    control = next(c for c in hdf["profiles"][0]["controls"] if c["id"] == item.id)
    assert [r["status"] for r in control["results"]] == ["skipped"]
    assert item.procedural in control["results"][0]["skip_message"]
    text = (tmp_path / "out.txt").read_text()
    assert "Procedural, no capture decides them" in text and item.id in text

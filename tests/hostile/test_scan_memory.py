"""Issue #18, case 8: scan memory is proportional to the snapshot, IIS-HOST-001 included.

A 100 MB snapshot of 42,000 ACLs took 6.1 GB, almost all in IIS-HOST-001: its findings pointed at
copies of principals, which made the pointer index walk (and hold) the whole snapshot. Members of
IIS_IUSRS in nested groups cost members x groups: a walk of the group nest per member.
"""

from __future__ import annotations

import json

from ..conftest import FIXTURES
from .conftest import peak_rss

SNAPSHOT = FIXTURES / "hosts" / "iis10-default" / "snapshot.json"


def _peaks(tmp_path, snap, rules=("IIS-HOST-001", "IIS-HOST-002")) -> dict[str, int]:
    peaks = {}
    for rule in rules:
        args = [
            "scan",
            snap,
            "--rule",
            rule,
            "--format",
            f"json:{tmp_path / rule}.json",
            "--fail-on",
            "never",
        ]
        code, peaks[rule], err = peak_rss(args, tmp_path)
        assert code == 0, err[-2000:]
    return peaks


def test_iis_host_001_needs_no_more_memory_than_another_rule(tmp_path):
    data = json.loads(SNAPSHOT.read_text())
    ace = {"type": "allow", "rights": ["RX", "R", "GR", "GE", "RD", "REA", "X", "RA", "RC", "S"],
           "inherited": True, "inheritance": ["OI", "CI"]}  # fmt: skip
    data["acls"] = [
        {
            "path": f"C:\\inetpub\\wwwroot\\site{i}",
            "aces": [{**ace, "principal": f"CORP\\u{j}"} for j in range(30)],
        }
        for i in range(6000)
    ]
    data.setdefault("principals", []).append(
        {"name": "IIS10-DEFAULT\\jdoe", "kind": "local_user", "member_of": ["BUILTIN\\IIS_IUSRS"]}
    )
    snap = tmp_path / "big.json"
    snap.write_text(json.dumps(data))
    peaks = _peaks(tmp_path, snap)
    assert peaks["IIS-HOST-001"] < peaks["IIS-HOST-002"] * 1.1 + (10 << 20), peaks
    findings = json.loads((tmp_path / "IIS-HOST-001.json").read_text())["findings"]
    assert [f["resource"] for f in findings if f["outcome"] == "fail"] == ["principals/IIS10-DEFAULT\\jdoe"]


def test_members_in_a_deep_nest_of_groups_cost_no_more_than_the_nest(tmp_path):
    """2,000 members of IIS_IUSRS, each also in the first of a 2,000-deep chain of nested groups:
    a 400 KB snapshot. A walk of the chain per member took IIS-HOST-001 about 330 MB (3,000 of each:
    731 MB and 151 s); one walk per set of direct groups, a few MB more than IIS-HOST-002."""
    data = json.loads(SNAPSHOT.read_text())
    n = 2000
    data["principals"] += [
        {"name": f"CORP\\u{i}", "kind": "domain_user", "member_of": ["BUILTIN\\IIS_IUSRS", "CORP\\g0"]}
        for i in range(n)
    ] + [{"name": f"CORP\\g{g}", "kind": "domain_group", "member_of": [f"CORP\\g{g + 1}"]} for g in range(n)]
    data["principals"].append(
        {"name": "CORP\\g2000", "kind": "domain_group", "member_of": ["BUILTIN\\Administrators"]}
    )
    snap = tmp_path / "nest.json"
    snap.write_text(json.dumps(data))
    peaks = _peaks(tmp_path, snap)
    assert peaks["IIS-HOST-001"] < peaks["IIS-HOST-002"] * 1.1 + (20 << 20), peaks
    findings = json.loads((tmp_path / "IIS-HOST-001.json").read_text())["findings"]
    failed = [f for f in findings if f["outcome"] == "fail"]
    # The administrator 2,001 groups up is still found, for every member.
    assert len(failed) == n and all("an administrator" in f["message"] for f in failed)

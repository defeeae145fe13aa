"""The misconfigured-settings host of issue #19: imported from its captures and scanned through `iisguard`,
each forbidden setting fails the rules mapped to its STIG item, with the SARIF region at its line."""

from __future__ import annotations

import json
from pathlib import PurePosixPath

import pytest

from iisguard.cli import main
from iisguard.engine import frameworks

from .conftest import FIXTURES

HOST = FIXTURES / "hosts" / "iis10-stig-misconfigured"
APPHOST = HOST / "captures" / "iis" / "applicationHost.config"
WEB_CONFIG = HOST / "captures" / "webconfig" / "Default Web Site" / "web.config"
SCHANNEL = HOST / "captures" / "registry" / "01-SCHANNEL.txt"

# (rule, STIG item, file, text on the line that sets the value)
EXPECTED = [
    ("IIS-CFG-011", "V-218808", APPHOST, '<directoryBrowse enabled="true"'),
    ("IIS-CFG-011", "V-218759", APPHOST, '<directoryBrowse enabled="true"'),
    ("IIS-CFG-012", "V-218810", APPHOST, 'errorMode="Detailed"'),
    ("IIS-CFG-012", "V-218760", APPHOST, 'errorMode="Detailed"'),
    ("IIS-CFG-005", "V-218757", APPHOST, 'allowDoubleEscaping="true"'),
    ("IIS-CFG-004", "V-218756", APPHOST, 'allowHighBitCharacters="true"'),
    ("IIS-CFG-001", "V-218753", APPHOST, 'maxUrl="65536"'),
    ("IIS-CFG-002", "V-218754", APPHOST, 'maxAllowedContentLength="2147483647"'),
    ("IIS-CFG-003", "V-218755", APPHOST, 'maxQueryString="32768"'),
    ("IIS-CFG-021", "V-218761", WEB_CONFIG, 'debug="true"'),
    ("IIS-CFG-023", "V-218761", WEB_CONFIG, '<trace enabled="true"'),
    ("IIS-CFG-028", "V-218770", WEB_CONFIG, 'requireSSL="false"'),
    ("IIS-CFG-029", "V-218770", WEB_CONFIG, 'httpOnlyCookies="false"'),
    ("IIS-CFG-025", "V-218736", WEB_CONFIG, 'cookieless="UseUri"'),
    ("IIS-CFG-027", "V-218763", WEB_CONFIG, 'timeout="60"'),
    # SSL 3.0 and TLS 1.0 turned on in the SCHANNEL registry (i19b): the value's line of the reg query capture
    ("IIS-TLS-001", "V-218821", SCHANNEL, "Enabled    REG_DWORD    0x1"),
    ("IIS-TLS-002", "V-218821", SCHANNEL, "Enabled    REG_DWORD    0xffffffff"),
    ("IIS-TLS-002", "V-218822", SCHANNEL, "Enabled    REG_DWORD    0xffffffff"),
]


def line_of(path, needle):
    lines = path.read_text("utf-8-sig").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


@pytest.fixture(scope="module")
def sarif(tmp_path_factory):
    out = tmp_path_factory.mktemp("hardening")
    snapshot = out / "IIS10-STIGBAD.json"
    assert main(["import", str(HOST / "captures"), "-o", str(snapshot)]) == 0
    code = main(
        [
            "scan",
            str(snapshot),
            "--profile",
            "stig-iis10",
            "--sarif-root",
            str(HOST.parent.parent.parent),
            "--format",
            f"sarif:{out / 'out.sarif'}",
        ]
    )
    assert code == 1
    return json.loads((out / "out.sarif").read_text())


def results(doc, rule_id):
    return [r for run in doc["runs"] for r in run["results"] if r["ruleId"] == rule_id]


@pytest.mark.parametrize(
    ("rule_id", "item", "path", "needle"), EXPECTED, ids=[f"{e[1]}-{e[0]}" for e in EXPECTED]
)
def test_each_setting_fails_its_stig_item_at_its_line(sarif, rule_id, item, path, needle):
    stig = {i.id: set(i.rules) for i in frameworks.load("stig-iis10").items}
    assert rule_id in stig[item], f"{rule_id} is not mapped to {item}"
    failing = [r for r in results(sarif, rule_id) if r.get("kind", "fail") == "fail" and r["level"] != "none"]
    assert failing, f"{rule_id} did not fail"
    want = line_of(path, needle)
    where = {
        (
            PurePosixPath(loc["physicalLocation"]["artifactLocation"]["uri"]).name,
            loc["physicalLocation"]["region"]["startLine"],
        )
        for r in failing
        for loc in r["locations"]
    }
    assert (path.name, want) in where, f"{rule_id}: expected {path.name}:{want}, got {sorted(where)}"
    # raised to the STIG item's severity by the profile: every one of these gates at medium
    assert any(r["level"] == "error" or r["level"] == "warning" for r in failing)


def test_the_committed_snapshot_is_the_import_of_the_captures(tmp_path):
    fresh = tmp_path / "fresh.json"
    assert main(["import", str(HOST / "captures"), "-o", str(fresh)]) == 0
    committed = json.loads((HOST / "snapshot.json").read_text())
    new = json.loads(fresh.read_text())

    def values(doc):
        return [
            (e["location"], e["section"], {k: a["value"] for k, a in e["attributes"].items()})
            for e in doc["iis"]["settings"]
        ]

    assert values(new) and values(new) == values(committed), "regenerate it with the README's command"

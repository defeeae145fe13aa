"""Win32_Service listings as JSON, CSV (with and without #TYPE) and a table."""

from __future__ import annotations

import pytest

from iisguard.capture.services import PARSERS

EXPECTED = [
    ("AppHostSvc", "localSystem", "Running", "Auto"),
    ("W3SVC", "LocalSystem", "Running", "Auto"),
    ("WAS", "LocalSystem", "Running", "Manual"),
    ("MSSQLSERVER", "CORP\\svc_sql", "Running", "Auto"),
    ("ShopSync", "CORP\\svc_web", "Running", "Auto"),
    ("ReportJob", ".\\svc_report", "Stopped", "Disabled"),
    ("Dnscache", "NT AUTHORITY\\NetworkService", "Running", "Auto"),
    ("WinRM", "NT AUTHORITY\\NetworkService", "Running", "Auto"),
    ("gmsaTask", "CORP\\gmsa_web$", "Running", "Auto"),
]


def rows(r):
    return [(s["name"], s["start_name"], s["state"], s["start_mode"]) for s in r.data["services"]]


@pytest.mark.parametrize(
    ("fixture", "first_line"),
    [
        ("services/win32_service_ps51.json", 3),
        ("services/win32_service_export.csv", 3),
        ("services/win32_service_table.txt", 5),
    ],
)
def test_every_form_reads_the_same_services(parse, fixture, first_line):
    r = parse("services", fixture)
    assert rows(r) == EXPECTED
    assert r.data["services"][0]["evidence"]["line"] == first_line
    assert r.warnings == [] and r.status("services") == "ok"


def test_powershell7_csv_without_type_line(parse):
    r = parse("services", "services/win32_service_ps7.csv")
    assert rows(r) == EXPECTED[:4]


def test_utf16_json(parse, captures, to_utf16):
    r = parse("services", to_utf16((captures / "services/win32_service_ps51.json").read_text()))
    assert rows(r) == EXPECTED


def test_single_object_and_missing_values(parse):
    r = parse("services", '{"Name": "W3SVC", "StartName": null, "State": "Running"}')
    assert rows(r) == [("W3SVC", None, "Running", None)]


def test_rows_without_a_name_are_warned(parse):
    r = parse("services", '"Name","StartName"\n"W3SVC","LocalSystem"\n"","CORP\\svc"\n')
    assert rows(r) == [("W3SVC", "LocalSystem", None, None)]
    assert [w["line"] for w in r.warnings] == [3]
    assert r.status("services") == "partial"


def test_broken_json_is_a_warning(parse):
    r = parse("services", '[{"Name": "W3SVC", "StartName": ')
    assert r.data.get("services", []) == []
    assert "not valid JSON" in r.messages[0]
    assert r.status("services") == "partial"


def test_detect(captures):
    p = PARSERS[0]
    for name in ("win32_service_ps51.json", "win32_service_export.csv", "win32_service_table.txt"):
        assert p.detect((captures / "services" / name).read_text(), "x.txt") >= 0.85
    assert p.detect('{"Name": "x", "Enabled": true}', "x.json") == 0.0

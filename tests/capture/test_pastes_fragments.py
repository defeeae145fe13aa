"""Fragments and cut pastes: a section without <configuration>, XML cut off before its closing tags,
JSON with an author's cut; what was complete is kept, with a warning that says where it was cut."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iisguard.capture import registry
from iisguard.capture.base import Artifact
from iisguard.capture.importer import build_snapshot

PASTES = Path(__file__).parent / "pastes"
PARSERS = registry.builtin_parsers()


def imported(name: str, data: bytes | None = None, kind: str | None = None) -> dict:
    raw = data if data is not None else (PASTES / name).read_bytes()
    return build_snapshot(
        [Artifact(source=Path(name), path=name, data=raw)], host="H", kind=kind, parsers=PARSERS
    )


@pytest.mark.parametrize("crlf", [False, True])
def test_a_cut_application_pools_section_keeps_its_complete_pools(crlf):
    data = (PASTES / "apppools_cut.txt").read_bytes()
    snap = imported("apppools_cut.txt", data.replace(b"\n", b"\r\n") if crlf else data)
    pools = {p["name"]: p for p in snap["iis"]["app_pools"]}
    assert pools["Warehouse"]["identity"]["type"] == "LocalSystem"
    assert pools["Billing"]["identity"]["user"] == "CONTOSO\\svc_billing"
    assert "Reports" in pools  # its start tag was complete; its processModel was cut
    cut = [w for w in snap["collection"]["warnings"] if "truncated after line" in w["message"]]
    assert [w["line"] for w in cut] == [8] and cut[0]["message"].startswith("truncated after line 8")
    assert next(s for s in snap["collection"]["sections"] if s["name"] == "iis")["status"] == "partial"
    assert "QmlsbGluZ1NlY3JldEJsb2I" not in json.dumps(snap)


def test_a_cut_paste_with_a_dtd_is_still_refused():
    text = '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e "e">]>\n<applicationPools>\n<add name="A">\n'
    snap = imported("dtd.config", text.encode(), kind="applicationhost_config")
    assert "iis" not in snap or not snap["iis"].get("app_pools")
    assert any("refused" in w["message"] for w in snap["collection"]["warnings"])


APPHOST = """<configuration><system.applicationHost>
<applicationPools><add name="Intra" /></applicationPools>
<sites><site name="Intra" id="3"><application path="/" applicationPool="Intra">
<virtualDirectory path="/" physicalPath="D:\\intra" /></application></site></sites>
</system.applicationHost>
<system.webServer><security><authentication><anonymousAuthentication enabled="true" /></authentication></security>
</system.webServer></configuration>
"""


def _with_apphost(name: str, data: bytes) -> dict:
    config = Artifact(source=Path(name), path="web.txt", data=data, hint={"location": "Intra"})
    apphost = Artifact(
        source=Path("applicationHost.config"), path="applicationHost.config", data=APPHOST.encode()
    )
    snap = build_snapshot([apphost, config], host="H", parsers=PARSERS)
    snap.pop("collection")
    return snap


def test_a_system_webserver_fragment_is_a_web_config_and_reads_as_the_whole_document():
    data = (PASTES / "webserver_fragment.txt").read_bytes()
    snap = imported("webserver_fragment.txt")
    assert snap["collection"]["artifacts"][0]["kind"] == "web_config"
    assert any("read what it contains" in w["message"] for w in snap["collection"]["warnings"])
    whole = b"<configuration>\n" + data.replace(b"\n", b" ", 1) + b"</configuration>\n"
    fragment = _with_apphost("fragment.txt", data)
    assert fragment == _with_apphost("whole.config", whole)
    alone = build_snapshot(
        [Artifact(source=Path("a"), path="applicationHost.config", data=APPHOST.encode())],
        host="H",
        parsers=PARSERS,
    )
    alone.pop("collection")
    assert fragment != alone  # the fragment's settings did reach the snapshot


def test_a_system_web_fragment_in_a_paste_is_a_web_config():
    text = (
        "PS C:\\inetpub\\wwwroot> Select-Xml -Path web.config -XPath //system.web | % { $_.Node.OuterXml }\n"
        '<system.web><identity impersonate="true" userName="CONTOSO\\app_imp" password="Imp3rsonate!" />'
        '<compilation debug="true" /></system.web>\n'
    )
    snap = imported("fragment.txt", text.encode())
    assert snap["collection"]["artifacts"][0]["kind"] == "web_config"
    (entry,) = snap["aspnet"]
    assert entry["identity"]["user"] == "CONTOSO\\app_imp"
    assert entry["identity"]["password"]["present"] is True
    assert "Imp3rsonate" not in json.dumps(snap)


def test_json_with_author_cuts_keeps_the_objects_around_them():
    snap = imported("services_snip.json", kind="services")
    names = [s["name"] for s in snap["services"]]
    assert names == ["W3SVC", "MSSQL$LEDGER"]  # Spooler's object was cut in half: not guessed
    assert [s["evidence"]["line"] for s in snap["services"]] == [2, 14]  # each object's `{` in the paste
    messages = [(w["line"], w["message"]) for w in snap["collection"]["warnings"]]
    assert any(line == 8 and "cut" in m for line, m in messages)
    assert any("kept the complete objects" in m for _, m in messages)


@pytest.mark.parametrize("cut", ["...", "…", "<snip>", "// ...", "# snip", "[...]"])
def test_a_cut_between_complete_objects_is_read_past(cut):
    text = (
        '[\n  {"Name": "WAS", "StartName": "LocalSystem", "State": "Running"},\n'
        f"  {cut}\n"
        '  {"Name": "AppHostSvc", "StartName": "LocalSystem", "State": "Running"},\n'
        f"  {cut}\n]\n"
    )
    snap = imported("svc.json", text.encode(), kind="services")
    assert [s["name"] for s in snap["services"]] == ["WAS", "AppHostSvc"]
    notes = [(w["line"], w["message"]) for w in snap["collection"]["warnings"]]
    assert [line for line, _ in notes] == [3, 5]
    assert all("author cut" in m for _, m in notes)


def _utf16(text: str) -> bytes:
    return b"\xff\xfe" + text.encode("utf-16-le")


@pytest.mark.parametrize("shape", ["lf", "crlf", "utf16"])
def test_a_cut_inside_a_top_level_object_keeps_its_complete_members(shape):
    """Get-ADUser ... | ConvertTo-Json of one account: the author cut the MemberOf list (`...`) and two
    members further down (`<snip>`); the members before and after are kept, the cut one is dropped."""
    text = (PASTES / "aduser_object_cut.json").read_text()
    data = {
        "lf": text.encode(),
        "crlf": text.replace("\n", "\r\n").encode(),
        "utf16": _utf16(text.replace("\n", "\r\n")),
    }[shape]
    snap = imported("aduser_object_cut.json", data, kind="ad")
    (svc,) = [p for p in snap["principals"] if (p.get("name") or "").endswith("svc_intranet")]
    assert svc["spns"] == ["HTTP/intranet.beispiel.test", "HTTP/intranet"]
    assert svc["delegation"]["unconstrained"] is True  # the member after the second cut
    assert not svc.get("member_of")  # the cut list is not guessed
    warned = {w["line"]: w["message"] for w in snap["collection"]["warnings"]}
    assert "kept the complete members" in warned[4]  # MemberOf, the member the cut broke
    assert "author cut" in warned[6] and "author cut" in warned[12]


def test_an_inline_cut_in_one_line_json_and_an_object_cut_off_at_its_end():
    text = (
        '{"Name": "W3SVC", <snip>, "StartName": "LocalSystem", "State": "Running"}\n'
        '{"Name": "WAS", "StartName": "LocalSystem",\n'
        '  "State": "Running",\n'
    )
    snap = imported("svc.json", text.encode(), kind="services")
    assert [(s["name"], s["start_name"]) for s in snap["services"]] == [
        ("W3SVC", "LocalSystem"),
        ("WAS", "LocalSystem"),
    ]
    notes = [(w["line"], w["message"]) for w in snap["collection"]["warnings"]]
    assert (
        1,
        "services: not valid JSON here: kept the complete members of the object before and after it",
    ) in notes
    assert any(line == 3 and "cut off before its closing brace" in m for line, m in notes)


def test_a_paste_that_starts_inside_a_section_keeps_its_complete_elements():
    """Select-Object -Skip cut the file in the middle of a site: the end tags of <application>, <site>
    and <sites> are there, their start tags are not. The complete site after the cut is read, the
    half site before it is not guessed, and the stored password never leaves the paste."""
    snap = imported("sites_cut_at_start.txt")
    sites = snap["iis"]["sites"]
    assert [s["name"] for s in sites] == ["Lieferanten"]
    (app,) = sites[0]["applications"]
    assert app["app_pool"] == "Lieferanten"
    assert app["virtual_directories"][0]["user"] == "EXTRA\\svc_share"
    assert app["virtual_directories"][0]["password"]["encrypted"] is True
    assert "c2VjcmV0" not in json.dumps(snap)
    warned = [w["message"] for w in snap["collection"]["warnings"]]
    assert any("starts inside <sites>" in m for m in warned), warned

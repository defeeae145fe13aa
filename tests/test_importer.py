"""The importer: detection, manifests, host naming, warnings, unrecognized files, strict mode, limits, secrets."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from iisguard.capture import registry, stream
from iisguard.capture.base import Artifact, Builder
from iisguard.capture.importer import StrictImportError, build_snapshot, import_paths
from iisguard.cli import main
from iisguard.errors import CaptureError, UsageError

from .conftest import ROOT

PARSERS = registry.builtin_parsers()

APPHOST = """<?xml version="1.0" encoding="UTF-8"?>
<configuration>
    <system.applicationHost>
        <applicationPools>
            <add name="DefaultAppPool" />
            <add name="Payroll">
                <processModel identityType="SpecificUser" userName="CORP\\svc_payroll" password="[enc:IISWASOnlyCngProvider:UGF5cm9sbEJsb2JTZWNyZXQ=:enc]" />
            </add>
            <add name="Legacy">
                <processModel identityType="SpecificUser" userName="svc_legacy" password="ClearTextSecret#1" />
            </add>
        </applicationPools>
        <sites>
            <site name="Default Web Site" id="1">
                <application path="/" applicationPool="DefaultAppPool">
                    <virtualDirectory path="/" physicalPath="%SystemDrive%\\inetpub\\wwwroot" />
                </application>
                <bindings>
                    <binding protocol="http" bindingInformation="not-a-binding" />
                </bindings>
            </site>
        </sites>
    </system.applicationHost>
    <system.webServer>
        <security><authentication><anonymousAuthentication enabled="true" userName="IUSR" /></authentication></security>
    </system.webServer>
</configuration>
"""
WEB_CONFIG = """<configuration>
  <system.web><identity impersonate="true" userName="CORP\\imp" password="WebConfigSecret#2" /></system.web>
</configuration>
"""
BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<configuration><system.applicationHost>&lol3;</system.applicationHost></configuration>
"""
EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE configuration [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<configuration><system.applicationHost><sites>&xxe;</sites></system.applicationHost></configuration>
"""
AD_USER = """{
  "SamAccountName": "svc_payroll",
  "SID": "S-1-5-21-1004336348-1177238915-682003330-1104",
  "Description": "payroll service - password is DirectorySecret#3",
  "userAccountControl": 66048
}
"""
SECRETS = ["UGF5cm9sbEJsb2JTZWNyZXQ=", "ClearTextSecret#1", "WebConfigSecret#2", "DirectorySecret#3"]


def write(folder: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return folder


def imported(folder: Path, out: Path | None = None, **kwargs: Any) -> dict[str, Any]:
    """Import a folder; the snapshot goes inside it by default (so artifact paths are plain names,
    and the importer must skip its own output)."""
    kwargs.setdefault("parsers", PARSERS)
    return import_paths([str(folder)], output=str(out or folder / "snapshot.json"), **kwargs)


def kinds(snap: dict[str, Any]) -> dict[str, str]:
    return {a["path"].rsplit("/", 1)[-1]: a["kind"] for a in snap["collection"]["artifacts"]}


def section(snap: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in snap["collection"]["sections"] if s["name"] == name)


# -- detection ------------------------------------------------------------------------------------


def test_format_is_detected_from_content_not_names(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"whoami.txt": APPHOST, "icacls.txt": WEB_CONFIG, "applicationHost.config": "just some notes\n"},
    )
    snap = imported(tmp_path)
    assert kinds(snap) == {
        "whoami.txt": "applicationhost_config",
        "icacls.txt": "web_config",
        "applicationHost.config": "unrecognized",
    }
    assert snap["collection"]["unrecognized"] == [
        {"path": "applicationHost.config", "reason": "no parser recognized the content"}
    ]


def test_unrecognized_files_say_why(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "old.zip", "w") as zf:
        zf.writestr("x.txt", "x")
    write(
        tmp_path,
        {"empty.txt": "", "blank.txt": "\n \n", "image.bin": bytes(range(256)) * 4, "ok.config": APPHOST},
    )
    reasons = {u["path"]: u["reason"] for u in imported(tmp_path)["collection"]["unrecognized"]}
    assert reasons["empty.txt"] == "empty file"
    assert reasons["blank.txt"] == "holds only blank space"
    assert reasons["image.bin"].startswith("binary data")
    assert reasons["old.zip"].startswith("a zip archive")


def test_kind_forces_one_format_and_unknown_kind_is_a_usage_error(tmp_path: Path) -> None:
    write(tmp_path, {"notes.txt": "<configuration><system.web/></configuration>"})
    snap = imported(tmp_path, kind="applicationhost_config")
    assert kinds(snap) == {"notes.txt": "applicationhost_config"}
    with pytest.raises(UsageError, match="unknown --kind 'nonsense'; known kinds: .*applicationhost_config"):
        imported(tmp_path, kind="nonsense")


def test_utf16_le_and_be_with_bom(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "le.config": b"\xff\xfe" + APPHOST.replace("\n", "\r\n").encode("utf-16-le"),
            "web/be.config": b"\xfe\xff" + WEB_CONFIG.encode("utf-16-be"),
        },
    )
    snap = imported(tmp_path)
    assert kinds(snap) == {"le.config": "applicationhost_config", "be.config": "web_config"}
    assert [p["name"] for p in snap["iis"]["app_pools"]] == ["DefaultAppPool", "Payroll", "Legacy"]
    assert snap["iis"]["app_pools"][1]["evidence"]["line"] == 6


# -- manifest, host naming, artifacts -------------------------------------------------------------


class Recorder:
    """A parser that claims *.rec files and records the hints the importer gave it."""

    kind = "recorder"
    sections = ("tokens",)

    def __init__(self) -> None:
        self.hints: dict[str, dict[str, Any]] = {}

    def detect(self, head: str, name: str) -> float:
        return 0.9 if head.startswith("REC") else 0.0

    def parse(self, artifact: Artifact, builder: Builder) -> None:
        self.hints[artifact.path] = dict(artifact.hint)
        for i, line in enumerate(artifact.lines(), 1):
            if line.startswith("HOST "):
                builder.suggest_host(line[5:])
            elif line.startswith("BAD"):
                builder.warn(artifact, i, "could not read this line")


MANIFEST = """host: WEB-MANIFEST
collected_at: "2026-02-03T04:05:06Z"
host_facts: {fqdn: web01.corp.example, domain: CORP, domain_joined: true}
environment: {SystemDrive: "C:"}
files:
  - {path: iis/applicationHost.config, kind: applicationhost_config}
  - {path: "webconfig/odd name/web.config", kind: web_config, location: "Intranet/hr"}
  - {path: tokens/apppool.rec, kind: recorder}
tokens: {"apppool.rec": "IIS APPPOOL\\\\DefaultAppPool"}
sections:
  - {name: ad, status: absent, message: the server is not domain-joined}
  - {name: spns, status: failed, message: setspn is not installed}
"""


def test_manifest_names_host_kinds_locations_tokens_and_sections(tmp_path: Path) -> None:
    cap = write(
        tmp_path / "capture",
        {
            "capture.yaml": MANIFEST,
            "iis/applicationHost.config": APPHOST,
            "webconfig/odd name/web.config": WEB_CONFIG,
            "tokens/apppool.rec": "REC\nHOST FROM-DATA\n",
        },
    )
    recorder = Recorder()
    snap = import_paths([str(cap)], output=str(tmp_path / "out" / "snap.json"), parsers=[*PARSERS, recorder])
    assert snap["host"]["name"] == "WEB-MANIFEST"  # manifest before captured data
    assert snap["host"]["fqdn"] == "web01.corp.example" and snap["host"]["domain_joined"] is True
    assert snap["host"]["environment"] == {"SystemDrive": "C:"}
    assert snap["collection"]["collected_at"] == "2026-02-03T04:05:06Z"
    hint = recorder.hints["../capture/tokens/apppool.rec"]
    assert hint["token_identity"] == "IIS APPPOOL\\DefaultAppPool" and hint["kind"] == "recorder"
    assert {a["location"] for a in snap["aspnet"]} == {"Intranet/hr"}
    vdir = snap["iis"]["sites"][0]["applications"][0]["virtual_directories"][0]
    assert vdir["physical_path_expanded"] == "C:\\inetpub\\wwwroot"  # the manifest's environment
    assert section(snap, "spns") == {"name": "spns", "status": "failed", "message": "setspn is not installed"}
    assert section(snap, "ad")["status"] == "absent"
    assert section(snap, "iis")["status"] == "ok" and section(snap, "tokens")["status"] == "ok"
    # artifact paths are relative to the snapshot's folder, with forward slashes, and hashed
    arts = {a["path"]: a for a in snap["collection"]["artifacts"]}
    assert "../capture/iis/applicationHost.config" in arts
    import hashlib

    assert (
        arts["../capture/iis/applicationHost.config"]["sha256"]
        == hashlib.sha256(APPHOST.encode()).hexdigest()
    )
    assert json.loads((tmp_path / "out" / "snap.json").read_text())["host"]["name"] == "WEB-MANIFEST"


def test_host_name_order(tmp_path: Path) -> None:
    cap = write(tmp_path / "FOLDER-HOST", {"a.rec": "REC\nHOST FROM-DATA\n"})
    parsers = [*PARSERS, Recorder()]
    assert imported(cap, parsers=parsers, host="CLI-HOST")["host"]["name"] == "CLI-HOST"
    assert imported(cap, parsers=parsers)["host"]["name"] == "FROM-DATA"
    (cap / "a.rec").write_text("REC\n")
    assert imported(cap, parsers=parsers)["host"]["name"] == "FOLDER-HOST"
    (cap / "capture.yaml").write_text("host: FROM-MANIFEST\n")
    assert imported(cap, parsers=parsers)["host"]["name"] == "FROM-MANIFEST"


def test_warnings_name_the_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, {"iis.config": APPHOST, "t.rec": "REC\nfine\nBAD line\n"})
    snap = imported(tmp_path, parsers=[*PARSERS, Recorder()])
    warnings = snap["collection"]["warnings"]
    assert {"artifact": "t.rec", "line": 3, "message": "could not read this line"} in warnings
    binding = next(w for w in warnings if "not-a-binding" in w["message"])
    assert binding["artifact"] == "iis.config" and binding["line"] == 19


def test_refused_xml_is_a_warning_with_its_line_and_fails_the_section(tmp_path: Path) -> None:
    write(tmp_path, {"applicationHost.config": BOMB, "xxe.config": EXTERNAL})
    snap = imported(tmp_path)
    warnings = {w["artifact"]: w for w in snap["collection"]["warnings"]}
    assert warnings["applicationHost.config"]["line"] == 2
    assert "refused: the XML declares a DTD" in warnings["applicationHost.config"]["message"]
    assert "refused" in warnings["xxe.config"]["message"]
    assert section(snap, "iis")["status"] == "failed"
    assert "iis" not in snap
    assert "root:" not in json.dumps(snap)  # nothing of /etc/passwd was read


def test_one_refused_file_among_good_ones_makes_the_section_partial(tmp_path: Path) -> None:
    # mismatched tags: not a cut paste (which keeps what it holds, see test_truncated_xml_keeps_...)
    write(
        tmp_path, {"a/web.config": WEB_CONFIG, "b/web.config": "<configuration><system.web></configuration>"}
    )
    snap = imported(tmp_path)
    assert section(snap, "web_configs")["status"] == "partial"
    broken = next(w for w in snap["collection"]["warnings"] if w["artifact"] == "b/web.config" and w["line"])
    assert broken["message"].startswith("not well-formed XML")


def test_a_crashing_plugin_parser_loses_only_its_file(tmp_path: Path) -> None:
    class Broken:
        kind = "broken"
        sections = ("services",)

        def detect(self, head: str) -> float:  # the one-argument form of the hookspec
            return 1.0 if head.startswith("BROKEN") else 0.0

        def parse(self, artifact: Artifact, builder: Builder) -> None:
            raise KeyError("boom")

    write(tmp_path, {"x.txt": "BROKEN\n", "iis.config": APPHOST})
    snap = imported(tmp_path, parsers=[*PARSERS, Broken()])
    assert any(
        w["message"] == "the broken parser failed on this file (KeyError); skipped"
        for w in snap["collection"]["warnings"]
    )
    assert section(snap, "services")["status"] == "failed" and section(snap, "iis")["status"] == "ok"


# -- strict, CLI, limits ---------------------------------------------------------------------------


def test_strict_turns_warnings_into_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "cap", {"iis.config": APPHOST, "notes.txt": "hello"})
    out = tmp_path / "snap.json"
    with pytest.raises(StrictImportError) as info:
        imported(tmp_path / "cap", out, strict=True)
    assert info.value.snapshot["collection"]["unrecognized"]
    assert out.is_file()  # written anyway, for inspection
    assert main(["import", str(tmp_path / "cap"), "-o", str(out), "--strict"]) == 2
    err = capsys.readouterr().err
    assert "notes.txt: not recognized" in err and "not-a-binding" in err and "--strict" in err
    assert main(["import", str(tmp_path / "cap"), "-o", str(out)]) == 0
    summary, warning, unrecognized = capsys.readouterr().err.strip().splitlines()
    assert summary.startswith("iisguard: imported cap: 2 artifact(s), sections iis=ok")
    assert "1 warning(s), 1 unrecognized" in summary
    # The warning and the unrecognized file are shown (file:line: what), not only counted.
    assert warning.startswith(f"  {tmp_path / 'cap' / 'iis.config'}:") and "not-a-binding" in warning
    assert (
        unrecognized
        == f"  {tmp_path / 'cap' / 'notes.txt'}: not recognized: no parser recognized the content"
    )


def test_cli_errors_name_the_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(tmp_path / "missing"), "-o", str(tmp_path / "s.json")]) == 2
    assert "missing: no such file or folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["import", str(tmp_path / "empty"), "-o", str(tmp_path / "s.json")]) == 2
    assert "no files to import" in capsys.readouterr().err


def test_size_limit_is_enforced(tmp_path: Path) -> None:
    big = APPHOST.replace("<sites>", "<sites>" + "<!-- padding -->\n" * 400)
    write(tmp_path / "cap", {"applicationHost.config": big})
    env = dict(os.environ, IISGUARD_MAX_DOCUMENT_BYTES="4000", IISGUARD_DISABLE_PLUGIN_AUTOLOAD="1")
    result = subprocess.run(
        [sys.executable, "-m", "iisguard", "import", str(tmp_path / "cap"), "-o", str(tmp_path / "s.json")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    snap = json.loads((tmp_path / "s.json").read_text())
    message = snap["collection"]["warnings"][0]["message"]
    assert "over the 4,000-byte limit" in message
    assert section(snap, "iis")["status"] == "failed"


# -- archives and saved streams -------------------------------------------------------------------


def test_zip_of_a_capture_folder(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "WEB01.zip", "w") as zf:
        zf.writestr("capture.yaml", "host: ZIPPED\nfiles: {'webconfig/Site/web.config': web_config}\n")
        zf.writestr("iis/applicationHost.config", APPHOST)
        zf.writestr("webconfig/Site/web.config", WEB_CONFIG)
    snap = import_paths([str(tmp_path / "WEB01.zip")], output=str(tmp_path / "s.json"), parsers=PARSERS)
    assert snap["host"]["name"] == "ZIPPED"
    assert sorted(a["path"] for a in snap["collection"]["artifacts"]) == [
        "WEB01.zip!/iis/applicationHost.config",
        "WEB01.zip!/webconfig/Site/web.config",
    ]
    assert snap["aspnet"][0]["location"] == "Site"


def _damaged_zip(path: Path, how: str) -> None:
    """A one-member zip made unreadable the way real archives are: encrypted, odd method, corrupt data."""
    method = zipfile.ZIP_DEFLATED if how == "damaged" else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", method) as zf:
        zf.writestr("web.config", WEB_CONFIG + "<!--" + "padding " * 500 + "-->")
    raw = bytearray(path.read_bytes())
    central = raw.find(b"PK\x01\x02")
    if how == "encrypted":  # general-purpose flag bit 0, in the local and the central header
        raw[6] |= 1
        raw[central + 8] |= 1
    elif how == "method":  # 99 is WinZip AES, which zipfile cannot read
        raw[8] = raw[central + 10] = 99
    else:
        start = raw.find(b"web.config") + len("web.config")
        for i in range(start + 5, start + 60):
            raw[i] ^= 0x55
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("encrypted", "is encrypted"),
        ("method", "uses a compression method Python cannot read"),
        ("damaged", "is damaged"),
    ],
)
def test_an_unreadable_zip_member_is_a_clear_error(tmp_path: Path, how: str, reason: str) -> None:
    _damaged_zip(tmp_path / "WEB01.zip", how)
    with pytest.raises(CaptureError, match=f"cannot read the archive: web.config {reason}") as info:
        import_paths([str(tmp_path / "WEB01.zip")], output=str(tmp_path / "s.json"), parsers=PARSERS)
    assert info.value.where == "WEB01.zip"


def test_saved_stream_output_imports_like_the_folder(tmp_path: Path) -> None:
    cap = write(tmp_path / "cap", {"capture.yaml": "host: STREAMED\n", "iis/applicationHost.config": APPHOST})
    text = "Windows PowerShell banner\r\n" + stream.encode(cap) + "PS C:\\> \r\n"
    (tmp_path / "saved").mkdir()
    (tmp_path / "saved" / "output.txt").write_text(text)
    snap = import_paths([str(tmp_path / "saved")], output=str(tmp_path / "s.json"), parsers=PARSERS)
    assert snap["host"]["name"] == "STREAMED"
    assert [a["path"] for a in snap["collection"]["artifacts"]] == [
        "saved/output.txt!/iis/applicationHost.config"
    ]
    assert (
        snap["iis"]["app_pools"][0]["evidence"]["artifact"] == "saved/output.txt!/iis/applicationHost.config"
    )


# -- nothing secret, anywhere --------------------------------------------------------------------


def test_secrets_never_reach_the_snapshot_reports_or_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = APPHOST.replace("</sites>", '<site name="x" password="ClearTextSecret#1"></sites>')
    write(
        tmp_path / "cap",
        {
            "capture.yaml": "host: SECRETS\n",
            "iis/applicationHost.config": APPHOST,
            "webconfig/Site/web.config": WEB_CONFIG,
            "ad/svc_payroll.json": AD_USER,
            "broken/applicationHost.config": broken,
        },
    )
    out = tmp_path / "snap.json"
    assert main(["import", str(tmp_path / "cap"), "-o", str(out)]) == 0
    assert main(
        [
            "scan",
            str(out),
            "--fail-on",
            "never",
            "--format",
            f"json:{tmp_path / 'r.json'}",
            "--format",
            f"sarif:{tmp_path / 'r.sarif'}",
            "--format",
            f"text:{tmp_path / 'r.txt'}",
        ]
    ) in (0, 1, 3)
    captured = capsys.readouterr()
    texts = [out.read_text(), captured.out, captured.err] + [
        (tmp_path / n).read_text() for n in ("r.json", "r.sarif", "r.txt")
    ]
    for text in texts:
        for secret in SECRETS:
            assert secret not in text
        assert not re.search(r"\[enc:\w+:[A-Za-z0-9+/=]+:enc\]", text)
    snap = json.loads(out.read_text())
    payroll = next(p for p in snap["iis"]["app_pools"] if p["name"] == "Payroll")
    assert payroll["identity"]["password"] == {
        "present": True,
        "encrypted": True,
        "provider": "IISWASOnlyCngProvider",
    }
    assert any("not well-formed XML" in w["message"] for w in snap["collection"]["warnings"])


def test_build_snapshot_with_in_memory_artifacts_and_a_raw_manifest() -> None:
    artifacts = [
        Artifact(
            source=Path("iis/applicationHost.config"),
            path="iis/applicationHost.config",
            data=APPHOST.encode(),
        )
    ]
    snap = build_snapshot(
        artifacts,
        host=None,
        manifest={"host": "MEM", "environment": {"SystemDrive": "D:"}},
        source="winrm",
        sections=[{"name": "acls", "status": "failed", "message": "icacls: access denied"}],
        parsers=PARSERS,
    )
    assert snap["host"]["name"] == "MEM" and snap["collection"]["source"] == "winrm"
    assert section(snap, "acls")["status"] == "failed"
    vdir = snap["iis"]["sites"][0]["applications"][0]["virtual_directories"][0]
    assert vdir["physical_path_expanded"] == "D:\\inetpub\\wwwroot"


def test_bad_manifest_is_a_clear_error(tmp_path: Path) -> None:
    write(tmp_path, {"capture.yaml": "host: [unclosed\n", "x.config": APPHOST})
    with pytest.raises(CaptureError, match=r"capture.yaml:\d+: not valid YAML"):
        imported(tmp_path)


@pytest.mark.parametrize(
    ("manifest", "error"),
    [
        ("host: [WEB01, WEB02]\n", r"capture.yaml:1: 'host' must be a host name, not list"),
        ("host: h\nsections: 5\n", r"capture.yaml:2: 'sections' must be a list .*, not int"),
        ("host: h\nfiles: web.config\n", r"capture.yaml:2: 'files' must be a list .*, not str"),
        ("host: h\ntokens: [x]\n", r"capture.yaml:2: 'tokens' must be a mapping .*, not list"),
        (
            "host: h\nhost_facts:\n  fqdn: web01\n  domain_joined: maybe\n",
            r"capture.yaml:4: 'host_facts: domain_joined' must be true or false, not str",
        ),
        (
            "host_facts: {iis: {installed: 1}}\n",
            r"capture.yaml:1: 'host_facts: iis: installed' must be true or false",
        ),
    ],
)
def test_a_manifest_value_of_the_wrong_type_is_a_clear_error(
    tmp_path: Path, manifest: str, error: str
) -> None:
    write(tmp_path, {"capture.yaml": manifest, "x.config": APPHOST})
    with pytest.raises(CaptureError, match=error):
        imported(tmp_path)


def test_a_manifest_kind_no_parser_reads_is_a_warning(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"capture.yaml": "files:\n  - {path: x.config, kind: applicationhost}\n", "x.config": APPHOST},
    )
    snap = imported(tmp_path)
    assert [a["kind"] for a in snap["collection"]["artifacts"]] == ["applicationhost_config"]
    assert any(
        w["artifact"] == "x.config" and "names kind 'applicationhost', which no parser reads" in w["message"]
        for w in snap["collection"]["warnings"]
    )


def test_manifest_host_facts_numbers_become_text(tmp_path: Path) -> None:
    write(
        tmp_path, {"capture.yaml": "host_facts: {os: {version: 10.0, build: 17763}}\n", "x.config": APPHOST}
    )
    assert imported(tmp_path)["host"]["os"] == {"version": "10.0", "build": "17763"}


# -- the fixture host ----------------------------------------------------------------------------


def test_fixture_iis10_default_imports_cleanly_into_its_committed_snapshot(tmp_path: Path) -> None:
    import shutil

    host = ROOT / "fixtures" / "hosts" / "iis10-default"
    shutil.copytree(host / "captures", tmp_path / "iis10-default" / "captures")
    out = tmp_path / "iis10-default" / "snapshot.json"
    snap = import_paths(
        [str(tmp_path / "iis10-default" / "captures")],
        output=str(out),
        parsers=registry.builtin_parsers(),
        strict=True,
    )
    committed = json.loads((host / "snapshot.json").read_text())
    for data in (snap, committed):
        data["collection"]["tool_version"] = "x"
    assert snap == committed, (
        "re-import the fixture: iisguard import fixtures/hosts/iis10-default/captures -o fixtures/hosts/iis10-default/snapshot.json"
    )
    assert snap["host"]["name"] == "IIS10-DEFAULT"
    assert {p["name"] for p in snap["iis"]["app_pools"]} == {
        "DefaultAppPool",
        ".NET v4.5",
        ".NET v4.5 Classic",
    }
    anonymous = snap["iis"]["authentication"][0]["anonymous"]
    assert (anonymous["enabled"], anonymous["user"]) == (True, "IUSR")
    assert snap["tokens"][0]["identity"] == "IIS APPPOOL\\DefaultAppPool"

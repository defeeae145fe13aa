"""The second hop through the test server: a logon that cannot pass its credential on (Basic, NTLM,
certificate as the server sees it) gets AD, setspn and UNC content failing as on Windows, and the
snapshot says so - failed or partial with the reason, the UNC content listed, never ok (#13 item 1).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from iisguard.capture.secondhop import SECOND_HOP
from iisguard.cli import main
from iisguard.collect import winrm
from iisguard.collect.script import capture_script

from .winrm_server import HostConfig, WinRMTestServer, make_tls_files

ROOT = Path(__file__).resolve().parents[1]
FARM = ROOT / "fixtures" / "hosts" / "farm-web01" / "captures"
PASSWORD = "Sec0nd-h0p-pass"
SHARE = "\\\\fs01\\sites$\\HR"


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def server(tmp_path, tls, monkeypatch):
    monkeypatch.setenv("IISGUARD_USERNAME", "scanner")
    monkeypatch.setenv("IISGUARD_PASSWORD", PASSWORD)
    with WinRMTestServer(tmp_path / "srv", users={"scanner": PASSWORD}, tls=tls) as srv:
        yield srv


@pytest.fixture
def farm(tmp_path) -> Path:
    """farm-web01 as a delegated run captures it, with the HR site's content on a share."""
    folder = tmp_path / "farm"
    shutil.copytree(FARM, folder)
    apphost = folder / "iis" / "applicationHost.config"
    apphost.write_text(apphost.read_text("utf-8").replace("D:\\Sites\\HR", SHARE), "utf-8")
    (folder / "acls").mkdir()
    (folder / "acls" / "004-HR.txt").write_text(
        f"{SHARE} CORP\\svc_webfarm:(OI)(CI)(RX)\r\n          BUILTIN\\Administrators:(OI)(CI)(F)\r\n\r\n"
        "Successfully processed 1 files; Failed processing 0 files\r\n",
        "utf-8",
    )
    (folder / "webconfig" / "HR").mkdir(parents=True)
    (folder / "webconfig" / "HR" / "web.config").write_text(
        '<?xml version="1.0"?>\n<configuration><system.web><identity impersonate="true" /></system.web>'
        "</configuration>\n",
        "utf-8",
    )
    manifest = folder / "capture.yaml"
    manifest.write_text(
        manifest.read_text("utf-8")
        + "files:\n"
        + f"  - {{path: acls/004-HR.txt, kind: icacls, acl_path: {json.dumps(SHARE)}}}\n"
        + "  - {path: webconfig/HR/web.config, kind: web_config, location: HR}\n"
        + "sections:\n"
        + "".join(f"  - {{name: {n}, status: ok}}\n" for n in ("ad", "spns", "acls", "web_configs")),
        "utf-8",
    )
    return folder


def _collect(capsys, tls, port, tmp_path, *extra) -> dict:
    out = tmp_path / "snap.json"
    code = main(["collect", f"127.0.0.1:{port}", "--ca-bundle", str(tls.ca_cert), "-o", str(out), *extra])
    _, err = capsys.readouterr()
    assert code in (0, 3), err
    return json.loads(out.read_text("utf-8"))


def _sections(snapshot: dict) -> dict[str, dict]:
    return {s["name"]: s for s in snapshot["collection"]["sections"]}


def _ad_facts(snapshot: dict) -> list:
    return [p for p in snapshot.get("principals", []) if p.get("user_account_control") is not None]


@pytest.mark.parametrize("transport", ["basic", "ntlm"])
def test_no_delegation_fails_ad_and_lists_unc_content(server, tls, farm, tmp_path, capsys, transport):
    """The collector tells the script (-NoDelegation); the server, seeing a Basic/NTLM logon, answers as
    the script does on such a host. Before, the server answered the delegated capture: AD `ok`."""
    port = server.add_host(HostConfig(name="FARM-WEB01", expect_script=capture_script(), capture=farm))
    snapshot = _collect(capsys, tls, port, tmp_path, "--transport", transport)
    sections = _sections(snapshot)
    for name in ("ad", "spns"):
        assert sections[name]["status"] == "failed"
        assert SECOND_HOP in sections[name]["message"]
        assert "-AdOnly -ForHost FARM-WEB01" in sections[name]["message"]
    assert sections["acls"]["status"] == "partial" and SHARE in sections["acls"]["message"]
    assert SECOND_HOP in sections["acls"]["message"]
    assert sections["web_configs"]["status"] == "partial" and SHARE in sections["web_configs"]["message"]
    assert not _ad_facts(snapshot)  # nothing from the directory
    assert not [a for a in snapshot.get("acls", []) if a["path"].startswith("\\\\")]
    assert snapshot["collection"]["delegation"] == {"delegated": False, "transport": transport}


def test_a_collector_that_believes_it_delegated_still_gets_the_reason(
    server, tls, farm, tmp_path, capsys, monkeypatch
):
    """Kerberos with --delegate whose ticket was not forwardable (kinit without -f), or a server not
    trusted for delegation: the script is not told, runs the AD part, and Windows answers with ADSI's
    "An operations error occurred." The snapshot gives the cause, not the bare error; the UNC content
    that Test-Path could not see is listed."""
    monkeypatch.setattr(winrm, "script_arguments", lambda target: "")
    port = server.add_host(HostConfig(name="FARM-WEB01", expect_script=capture_script(), capture=farm))
    snapshot = _collect(capsys, tls, port, tmp_path)
    sections = _sections(snapshot)
    for name in ("ad", "spns"):
        assert sections[name]["status"] == "failed"
        assert sections[name]["message"].startswith(f"not collected: {SECOND_HOP} (Windows said: ")
    assert "An operations error occurred." in sections["ad"]["message"]
    assert sections["acls"]["status"] == "partial" and SHARE in sections["acls"]["message"]
    assert "delegated credential" in sections["acls"]["message"]
    assert not _ad_facts(snapshot)


def test_the_script_says_the_same_sentence():
    match = re.search(r"^\$SecondHop = '([^']*)'", capture_script(), re.M)
    assert match is not None and match.group(1) == SECOND_HOP


def test_a_folder_captured_inside_enter_pssession_gets_the_reason_too(tmp_path, capsys):
    """The script run by hand in a remote session (no -NoDelegation) and its folder imported."""
    folder = tmp_path / "cap"
    shutil.copytree(FARM, folder)
    shutil.rmtree(folder / "ad")
    shutil.rmtree(folder / "spn")
    (folder / "capture.yaml").write_text(
        (folder / "capture.yaml").read_text("utf-8")
        + "sections:\n  - {name: ad, status: partial, message: 'domain name lookup: An operations error occurred.'}\n"
        + "  - {name: spns, status: partial, message: 'setspn -L exited with code 1 for FARM-WEB01$'}\n",
        "utf-8",
    )
    out = tmp_path / "snap.json"
    assert main(["import", str(folder), "-o", str(out)]) == 0
    capsys.readouterr()
    sections = _sections(json.loads(out.read_text("utf-8")))
    assert sections["ad"]["status"] == sections["spns"]["status"] == "failed"
    assert SECOND_HOP in sections["spns"]["message"]


@pytest.mark.parametrize("told", [True, False])
def test_shared_configuration_on_a_share_fails_iis_not_the_local_copy(
    server, tls, tmp_path, capsys, monkeypatch, told
):
    """Shared configuration (redirection.config) on \\\\fs01\\iisconfig: IIS ignores the local
    applicationHost.config; without a delegated credential the shared one cannot be read, and the
    snapshot must not hold the local copy's sites as if they were IIS's."""
    folder = tmp_path / "shared"
    shutil.copytree(ROOT / "fixtures" / "hosts" / "iis10-default" / "captures", folder)
    (folder / "iis" / "shared").mkdir()
    shutil.copy(
        folder / "iis" / "applicationHost.config", folder / "iis" / "shared" / "applicationHost.config"
    )
    (folder / "iis" / "redirection.config").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<configuration>\n  <configSections>\n'
        '    <section name="configurationRedirection" />\n  </configSections>\n'
        "  <configProtectedData />\n"
        '  <configurationRedirection enabled="true" path="\\\\fs01\\iisconfig" userName="CORP\\svc_iisconfig" '
        'password="[enc:IISCngProvider:removed-by-iisguard:enc]" />\n</configuration>\n',
        "utf-8",
    )
    manifest = folder / "capture.yaml"
    manifest.write_text(
        manifest.read_text("utf-8").replace(
            '  - {path: "iis/applicationHost.config", kind: applicationhost_config}',
            '  - {path: "iis/shared/applicationHost.config", kind: applicationhost_config}',
        ),
        "utf-8",
    )
    if not told:
        monkeypatch.setattr(winrm, "script_arguments", lambda target: "")
    port = server.add_host(HostConfig(name="IIS10-DEFAULT", expect_script=capture_script(), capture=folder))
    snapshot = _collect(capsys, tls, port, tmp_path)
    iis = _sections(snapshot)["iis"]
    assert iis["status"] == "failed" and "\\\\fs01\\iisconfig" in iis["message"]
    assert "the local applicationHost.config is not the one IIS uses" in iis["message"]
    assert (SECOND_HOP if told else "delegated credential") in iis["message"]
    assert not (snapshot.get("iis") or {}).get("sites")
    assert snapshot["iis"]["shared_configuration"]["enabled"] is True


def test_the_script_reads_shared_configuration_before_applicationhost():
    script = capture_script()
    begin = script.index("# ---- [i13] shared configuration (begin)")
    part = script[begin : script.index("# ---- [i13] shared configuration (end)")]
    assert part.index("(Test-Unc $sharedDir) -and $NoDelegation") < part.index("Save-ConfigFile $configFile")
    assert "Save-ConfigFile $apphost 'iis/applicationHost.config'" not in script  # only through $configFile


def test_credssp_delegates_and_the_capture_is_whole(server, tls, farm, tmp_path, capsys):
    """CredSSP sends the password to the server (MS-CSSP TSCredentials, pyspnego's acceptor here): the
    logon can reach AD and the share, so the script is not told -NoDelegation and nothing is missing."""
    port = server.add_host(
        HostConfig(
            name="FARM-WEB01", expect_script=capture_script(), capture=farm, auth=frozenset({"credssp"})
        )
    )
    snapshot = _collect(capsys, tls, port, tmp_path, "--transport", "credssp")
    assert server.stats(port).delegated_logons >= 1 and server.stats(port).users == {"scanner"}
    sections = _sections(snapshot)
    assert sections["ad"]["status"] != "failed" and SECOND_HOP not in str(sections["ad"].get("message"))
    assert sections["acls"]["status"] == "ok" and sections["web_configs"]["status"] == "ok"
    assert _ad_facts(snapshot)
    assert [a for a in snapshot["acls"] if a["path"].startswith(SHARE)]
    assert snapshot["collection"]["delegation"] == {"delegated": True, "transport": "credssp"}
    boot = server.stats(port).commands[0][1].split()[-1]
    from .winrm_server import powershell

    assert "-NoDelegation" not in (powershell.decode_encoded_command(boot) or "")

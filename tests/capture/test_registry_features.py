"""`reg query`, `Get-ItemProperty`, `.reg` exports and `Get-WindowsFeature` / `Get-WindowsOptionalFeature`
pastes -> `registry` and `windows_features`, and what the model (`snap.tls`, `snap.features`) answers.

The captures in fixtures/captures/registry and /features are shaped as the consoles print them:
cmd.exe prompts, a German console's error line and default-value name, PowerShell 5.1's UTF-16 LE
with a wrapped PSPath and an ItemNotFoundException record, reg export's UTF-16 file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from iisguard.capture import registry as parser_registry
from iisguard.capture.importer import import_paths
from iisguard.model import snapshot as snapmod

CAPTURES = Path(__file__).resolve().parents[2] / "fixtures" / "captures"
SCHANNEL = "HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL"
PARSERS = parser_registry.builtin_parsers()


def imported(tmp_path: Path, *files: Path, host: dict | None = None) -> snapmod.Snapshot:
    folder = tmp_path / "cap"
    folder.mkdir(parents=True)
    for f in files:
        (folder / f.name).write_bytes(f.read_bytes())
    data = import_paths([str(folder)], output=str(tmp_path / "s.json"), parsers=PARSERS, strict=True)
    assert not snapmod.problems(data)
    if host:
        data["host"].update(host)
    return snapmod.Snapshot(data)


def kinds(snap: snapmod.Snapshot) -> set[str]:
    return {a["kind"] for a in snap.data["collection"]["artifacts"]}


def test_reg_query_s_with_prompts_localized_default_and_not_found(tmp_path):
    snap = imported(
        tmp_path, CAPTURES / "registry" / "reg_query_schannel_s.txt", host={"os": {"build": "17763"}}
    )
    assert kinds(snap) == {"registry"}
    roots = {r["key"]: r["recursive"] for r in snap.data["registry"]["roots"]}
    assert roots[SCHANNEL] is True  # /s on the echoed command
    assert roots["HKLM\\SOFTWARE\\Microsoft\\WebManagement\\Server"] is False
    reg = snap.registry
    # the German "not found" line: read, and absent (so WMSvc is not installed)
    assert reg.read("HKLM\\SOFTWARE\\Microsoft\\WebManagement\\Server")
    assert reg.exists("HKLM\\SOFTWARE\\Microsoft\\WebManagement\\Server") is False
    assert reg.exists("HKLM\\SOFTWARE\\Microsoft\\InetStp") is None  # never queried: unknown
    # "(Standard)" is the default value of a German console
    assert reg.value(f"{SCHANNEL}\\Protocols\\TLS 1.2\\Server", "").type == "REG_SZ"
    value = reg.value(f"{SCHANNEL}\\Protocols\\TLS 1.0\\Server", "Enabled")
    assert (value.type, value.data) == ("REG_DWORD", 1)
    assert value.record["evidence"]["line"] == 21  # the value's own line of the pasted file
    tls = snap.tls
    assert tls.protocol_enabled("TLS 1.0") is True and tls.protocol("TLS 1.0").source == "registry"
    assert tls.protocol_enabled("SSL 3.0") is False and tls.explicitly_disabled("SSL 3.0") is True
    assert tls.protocol_enabled("TLS 1.1") is True and tls.protocol("TLS 1.1").source == "os_default"
    assert tls.protocol_enabled("TLS 1.3") is False  # not supported before Windows Server 2022
    assert tls.protocol_enabled("TLS 1.2") is True and tls.explicitly_enabled("TLS 1.2") is True
    assert tls.cipher_enabled("RC4 128/128") is False and tls.cipher_enabled("Triple DES 168") is True
    assert tls.cipher_enabled("NULL") is False  # no key: not in the default suites of Server 2019
    suites, source, _ = tls.suite_order()
    assert source == "policy" and suites == [
        "TLS_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    ]


def test_defaults_follow_the_os_build_and_unknown_stays_unknown(tmp_path):
    path = CAPTURES / "registry" / "reg_query_schannel_s.txt"
    assert (
        imported(tmp_path / "a", path, host={"os": {"build": "20348"}}).tls.protocol_enabled("TLS 1.3")
        is True
    )
    assert imported(tmp_path / "b", path, host={"os": {"build": "9600"}}).tls.cipher_enabled("NULL") is None
    later = imported(tmp_path / "c", path, host={"os": {"build": "26100"}})
    assert later.tls.protocol_enabled("TLS 1.1") is None  # Microsoft is turning it off: not guessed
    assert imported(tmp_path / "d", path).tls.protocol_enabled("TLS 1.1") is None  # no OS build captured


def test_get_itemproperty_utf16_wrapped_pspath_and_missing_key(tmp_path):
    snap = imported(
        tmp_path, CAPTURES / "registry" / "get_itemproperty_ps51.txt", host={"os": {"build": "20348"}}
    )
    assert kinds(snap) == {"registry"}
    key = f"{SCHANNEL}\\Protocols\\TLS 1.1\\Server"
    value = snap.registry.value(key, "Enabled")
    assert value is not None and value.as_int() == 0xFFFFFFFF and value.type == ""  # the list does not say
    assert snap.tls.protocol_enabled("TLS 1.1") is True
    assert snap.tls.protocol("TLS 1.0").value is None  # that key was not read
    dotnet = "HKLM\\SOFTWARE\\Microsoft\\.NETFramework\\v2.0.50727"
    assert snap.registry.read(dotnet) and snap.registry.exists(dotnet) is False
    assert snap.tls.dotnet_installed("v2.0.50727") is False
    assert not snap.data["collection"]["warnings"]


def test_reg_export_is_recursive_and_typed(tmp_path):
    snap = imported(tmp_path, CAPTURES / "registry" / "reg_export_dotnet.reg")
    assert snap.data["registry"]["roots"][0]["recursive"] is True
    assert snap.tls.dotnet("v4.0.30319", "SchUseStrongCrypto").value is True
    assert snap.tls.dotnet("v4.0.30319", "SystemDefaultTlsVersions").value is True
    assert snap.tls.dotnet("v4.0.30319", "SchUseStrongCrypto", wow64=True).value is None


def test_reg_query_without_s_does_not_read_subkeys(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    key = "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319"
    (folder / "no-echo.txt").write_text(
        f"\n{key}\n    SchUseStrongCrypto    REG_DWORD    0x1\n\n{key}\\SKUs\n{key}\\Policy\n"
    )
    snap = imported(tmp_path, folder / "no-echo.txt")
    assert snap.registry.read(key) and not snap.registry.read(key + "\\SKUs")
    assert snap.registry.exists(key + "\\SKUs") is True


def test_get_windowsfeature_table_and_optional_features(tmp_path):
    snap = imported(tmp_path, CAPTURES / "windows_features" / "get_windowsfeature_2022.txt")
    assert kinds(snap) == {"windows_features"}
    f = snap.features
    assert f.installed("Web-Server") is True and f.installed("Web-DAV-Publishing") is False
    assert f.installed("Web-Cert-Auth") is False and f.installed("No-Such-Feature") is None
    webdav = f.record("Web-DAV-Publishing")
    assert (webdav["depth"], webdav["display_name"], webdav["evidence"]["line"]) == (
        3,
        "WebDAV Publishing",
        26,
    )
    assert snap.data["host"]["roles"][:2] == ["FileAndStorage-Services", "Web-Server"]
    opt = imported(tmp_path / "o", CAPTURES / "windows_features" / "optional_features_list.txt")
    assert opt.features.installed("Web-DAV-Publishing") is True  # IIS-WebDAV: Enabled
    assert opt.features.installed("Web-CGI") is False
    assert opt.features.installed("Print-Internet") is False


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("registry/reg_query_schannel_s.txt", "registry"),
        ("registry/get_itemproperty_ps51.txt", "registry"),
        ("registry/reg_export_dotnet.reg", "registry"),
        ("windows_features/get_windowsfeature_2022.txt", "windows_features"),
        ("windows_features/optional_features_list.txt", "windows_features"),
    ],
)
def test_detected_from_content_whatever_the_name(tmp_path, name, kind):
    source = CAPTURES / name
    renamed = tmp_path / "in" / "capture-0001.txt"
    renamed.parent.mkdir()
    renamed.write_bytes(source.read_bytes())
    assert kinds(imported(tmp_path, renamed)) == {kind}


def test_a_transcript_with_reg_query_between_other_commands(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    text = (CAPTURES / "registry" / "reg_query_schannel_s.txt").read_text("utf-8")
    (folder / "session.txt").write_text(
        "C:\\Users\\admin>whoami /priv\n\nPRIVILEGES INFORMATION\n----------------------\n\n"
        "Privilege Name                Description                    State\n"
        "============================= ============================== ========\n"
        "SeChangeNotifyPrivilege       Bypass traverse checking       Enabled\n\n" + text
    )
    snap = imported(tmp_path, folder / "session.txt")
    assert "registry" in snap.data["collection"]["artifacts"][0]["kind"]
    assert snap.tls.explicitly_disabled("SSL 3.0") is True


def test_secret_values_never_reach_the_snapshot(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    key = "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon"
    (folder / "winlogon.txt").write_text(
        f'C:\\>reg query "{key}"\n\n{key}\n    AutoAdminLogon    REG_SZ    1\n'
        "    DefaultUserName    REG_SZ    svc_kiosk\n    DefaultPassword    REG_SZ    Hunter2-Winlogon!\n"
        "    AppConn    REG_SZ    Server=db;User Id=app;Password=Hunter3-Conn!\n"
    )
    data = import_paths([str(folder)], output=str(tmp_path / "s.json"), parsers=PARSERS)
    text = (tmp_path / "s.json").read_text()
    assert "Hunter2" not in text and "Hunter3" not in text
    values = {v["name"]: v["data"] for v in data["registry"]["values"]}
    assert values["DefaultPassword"] == "[iisguard:removed]" and values["DefaultUserName"] == "svc_kiosk"

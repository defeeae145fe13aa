"""applicationHost.config import: inheritance, effective authentication, secrets, fragments, real samples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iisguard.capture import registry
from iisguard.capture.base import Artifact
from iisguard.capture.importer import build_snapshot
from iisguard.model import sids

from .conftest import SAMPLES

PARSERS = registry.builtin_parsers()


def imported(text: str | bytes, name: str = "applicationHost.config", **hint: Any) -> dict[str, Any]:
    data = text.encode("utf-8") if isinstance(text, str) else text
    artifact = Artifact(source=Path(name), path=name, data=data, hint=dict(hint))
    return build_snapshot([artifact], parsers=PARSERS, host="TEST")


def pools(snap: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in snap["iis"]["app_pools"]}


def sites(snap: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in snap["iis"]["sites"]}


def auth(snap: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["location"]: a for a in snap["iis"]["authentication"]}


def apps(snap: dict[str, Any]) -> dict[str, str | None]:
    """configuration path -> effective pool, for every application."""
    out = {}
    for s in snap["iis"]["sites"]:
        for a in s["applications"]:
            out[(s["name"] + a["path"]).rstrip("/")] = a["app_pool"]
    return out


def messages(snap: dict[str, Any]) -> list[str]:
    return [w["message"] for w in snap["collection"]["warnings"]]


CONFIG = """<?xml version="1.0" encoding="UTF-8"?>
<configuration>
    <configSections>
        <sectionGroup name="system.webServer">
            <sectionGroup name="security">
                <sectionGroup name="authentication">
                    <section name="anonymousAuthentication" overrideModeDefault="Deny" />
                    <section name="windowsAuthentication" overrideModeDefault="Deny" />
                </sectionGroup>
            </sectionGroup>
        </sectionGroup>
    </configSections>
    <configProtectedData>
        <providers>
            <add name="IISWASOnlyCngProvider" type="Microsoft.ApplicationHost.CngProtectedConfigurationProvider" keyContainerName="iisCngWasKey" />
            <add name="AesProvider" type="Microsoft.ApplicationHost.AesProtectedConfigurationProvider" sessionKey="AQIAAA5mAAAApAAAsessionKEYblob==" />
        </providers>
    </configProtectedData>
    <system.applicationHost>
        <applicationPools>
            <add name="DefaultAppPool" />
            <add name="Payroll" managedPipelineMode="Classic" enable32BitAppOnWin64="true">
                <processModel identityType="SpecificUser" userName="CORP\\svc_payroll" password="[enc:IISWASOnlyCngProvider:cGF5cm9sbGJsb2I=:enc]" logonType="LogonService" />
            </add>
            <add name="Legacy">
                <processModel identityType="SpecificUser" userName="svc_legacy" password="Summer2024!" />
            </add>
            <add name="System" autoStart="false">
                <processModel identityType="LocalSystem" manualGroupMembership="true" />
            </add>
            <add name="Removed" />
            <remove name="Removed" />
            <applicationPoolDefaults managedRuntimeVersion="v4.0" startMode="AlwaysRunning">
                <processModel identityType="NetworkService" loadUserProfile="true" />
            </applicationPoolDefaults>
        </applicationPools>
        <sites>
            <site name="Default Web Site" id="1">
                <application path="/">
                    <virtualDirectory path="/" physicalPath="%SystemDrive%\\inetpub\\wwwroot" />
                </application>
                <application path="/payroll" applicationPool="Payroll">
                    <virtualDirectoryDefaults userName="CORP\\content" password="[enc:IISCngProvider:Y29udGVudGJsb2I=:enc]" />
                    <virtualDirectory path="/" physicalPath="\\\\files\\payroll" />
                    <virtualDirectory path="/docs" physicalPath="%DOCS%\\payroll" logonMethod="Network" />
                </application>
                <bindings>
                    <binding protocol="http" bindingInformation="*:80:" />
                    <binding protocol="https" bindingInformation="[::1]:443:intranet.corp.example" />
                    <binding protocol="net.tcp" bindingInformation="808:*" />
                </bindings>
            </site>
            <site name="Shop" id="2" serverAutoStart="false">
                <application path="/" />
                <application path="/api" applicationPool="Ghost" />
                <applicationDefaults applicationPool="System" />
                <bindings>
                    <binding protocol="http" bindingInformation="10.0.0.5:8080:shop.example" />
                </bindings>
                <logFile directory="D:\\logs\\shop" />
            </site>
            <siteDefaults serverAutoStart="true">
                <logFile directory="%SystemDrive%\\weblogs" />
            </siteDefaults>
            <applicationDefaults applicationPool="DefaultAppPool" />
            <virtualDirectoryDefaults allowSubDirConfig="true" />
        </sites>
    </system.applicationHost>
    <system.webServer>
        <security>
            <authentication>
                <anonymousAuthentication enabled="true" userName="IUSR" />
                <basicAuthentication />
                <windowsAuthentication>
                    <providers>
                        <add value="Negotiate" />
                        <add value="NTLM" />
                    </providers>
                </windowsAuthentication>
                <iisClientCertificateMappingAuthentication enabled="false" />
            </authentication>
        </security>
    </system.webServer>
    <location path="Default Web Site" overrideMode="Allow">
        <system.webServer>
            <security>
                <authentication>
                    <windowsAuthentication enabled="true" useAppPoolCredentials="true">
                        <providers>
                            <clear />
                            <add value="Negotiate:Kerberos" />
                        </providers>
                        <extendedProtection tokenChecking="Require" />
                    </windowsAuthentication>
                </authentication>
            </security>
        </system.webServer>
    </location>
    <location path="Default Web Site/payroll">
        <system.webServer>
            <security>
                <authentication>
                    <anonymousAuthentication userName="" />
                    <basicAuthentication enabled="true" />
                </authentication>
            </security>
        </system.webServer>
    </location>
    <location path="Shop" inheritInChildApplications="false">
        <system.webServer>
            <security>
                <authentication>
                    <anonymousAuthentication userName="SHOP\\anon" password="[enc:AesProvider:c2hvcGFub25ibG9i:enc]" />
                    <iisClientCertificateMappingAuthentication enabled="true">
                        <oneToOneMappings>
                            <add certificate="MIIBcert1" userName="SHOP\\a" password="[enc:AesProvider:b25lYmxvYg==:enc]" />
                            <add certificate="MIIBcert2" userName="SHOP\\b" />
                        </oneToOneMappings>
                        <manyToOneMappings>
                            <add name="partners" userName="SHOP\\partner" password="[enc:AesProvider:bWFueWJsb2I=:enc]" />
                        </manyToOneMappings>
                    </iisClientCertificateMappingAuthentication>
                </authentication>
            </security>
        </system.webServer>
    </location>
    <location path=".">
        <system.webServer>
            <security>
                <authentication>
                    <digestAuthentication enabled="true" />
                </authentication>
            </security>
        </system.webServer>
    </location>
    <location path="Shop/static/secure">
        <system.webServer>
            <security>
                <authentication>
                    <anonymousAuthentication enabled="false" />
                </authentication>
            </security>
        </system.webServer>
    </location>
</configuration>
"""
SECRETS = [
    "cGF5cm9sbGJsb2I=",
    "Summer2024!",
    "Y29udGVudGJsb2I=",
    "c2hvcGFub25ibG9i",
    "b25lYmxvYg==",
    "bWFueWJsb2I=",
    "sessionKEYblob",
]


def line_of(text: str, needle: str, nth: int = 1) -> int:
    count = 0
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            count += 1
            if count == nth:
                return i
    raise AssertionError(needle)


@pytest.fixture(scope="module")
def snap() -> dict[str, Any]:
    return imported(CONFIG, environment={"SystemDrive": "C:"})


def test_pools_inherit_defaults_wherever_they_stand(snap: dict[str, Any]) -> None:
    p = pools(snap)
    assert list(p) == ["DefaultAppPool", "Payroll", "Legacy", "System"]  # <remove> honoured
    default = p["DefaultAppPool"]
    assert default["identity"]["type"] == "NetworkService"  # from applicationPoolDefaults after the adds
    assert default["identity"]["sid"] == sids.NETWORK_SERVICE
    assert default["managed_runtime_version"] == "v4.0"
    assert default["pipeline_mode"] == "Integrated"  # schema default
    assert default["load_user_profile"] is True
    assert default["start_mode"] == "AlwaysRunning"
    assert default["auto_start"] is True and default["enable_32bit"] is False
    assert default["manual_group_membership"] is False
    assert default["evidence"] == {
        "artifact": "applicationHost.config",
        "line": line_of(CONFIG, '<add name="DefaultAppPool"'),
    }
    payroll = p["Payroll"]
    assert payroll["identity"] == {
        "type": "SpecificUser",
        "user": "CORP\\svc_payroll",
        "password": {"present": True, "encrypted": True, "provider": "IISWASOnlyCngProvider"},
        "logon_type": "LogonService",
    }
    assert payroll["pipeline_mode"] == "Classic" and payroll["enable_32bit"] is True
    assert payroll["load_user_profile"] is True  # processModel attribute inherited from the defaults
    assert p["Legacy"]["identity"]["password"] == {"present": True, "encrypted": False, "provider": None}
    system = p["System"]
    assert system["identity"]["type"] == "LocalSystem" and system["auto_start"] is False
    assert system["manual_group_membership"] is True


def test_sites_applications_and_virtual_directories(snap: dict[str, Any]) -> None:
    s = sites(snap)
    dws = s["Default Web Site"]
    assert dws["id"] == 1 and dws["server_auto_start"] is True
    assert dws["log_directory"] == "%SystemDrive%\\weblogs" and dws["log_directory_expanded"] == "C:\\weblogs"
    http, https, tcp = dws["bindings"]
    assert (http["ip"], http["port"], http["host"]) == ("*", 80, "")
    assert (https["ip"], https["port"], https["host"]) == ("[::1]", 443, "intranet.corp.example")
    assert tcp == {"protocol": "net.tcp", "binding_information": "808:*", "evidence": tcp["evidence"]}
    shop = s["Shop"]
    assert shop["server_auto_start"] is False and shop["log_directory"] == "D:\\logs\\shop"
    assert shop["bindings"][0]["ip"] == "10.0.0.5" and shop["bindings"][0]["port"] == 8080
    # application -> site applicationDefaults -> <sites> applicationDefaults
    assert apps(snap) == {
        "Default Web Site": "DefaultAppPool",
        "Default Web Site/payroll": "Payroll",
        "Shop": "System",
        "Shop/api": "Ghost",
    }
    assert any("'Shop/api' uses application pool 'Ghost'" in m for m in messages(snap))
    root, docs = dws["applications"][1]["virtual_directories"]
    assert root["user"] == "CORP\\content"  # from the application's virtualDirectoryDefaults
    assert root["password"] == {"present": True, "encrypted": True, "provider": "IISCngProvider"}
    assert root["logon_method"] == "ClearText" and docs["logon_method"] == "Network"
    assert "physical_path_expanded" not in docs  # %DOCS% is not known for this host
    assert (
        dws["applications"][0]["virtual_directories"][0]["physical_path_expanded"] == "C:\\inetpub\\wwwroot"
    )


def test_effective_authentication_per_path(snap: dict[str, Any]) -> None:
    a = auth(snap)
    assert list(a)[:5] == ["", "Default Web Site", "Default Web Site/payroll", "Shop", "Shop/api"]
    server = a[""]
    assert server["anonymous"]["user"] == "IUSR" and server["anonymous"]["user_state"] == "set"
    assert server["windows"] == {
        "enabled": False,
        "use_kernel_mode": True,
        "use_app_pool_credentials": False,
        "providers": ["Negotiate", "NTLM"],
        "extended_protection": "None",
        "evidence": server["windows"]["evidence"],
    }
    assert server["digest"]["enabled"] is True  # <location path=".">
    dws = a["Default Web Site"]["windows"]
    assert (dws["enabled"], dws["use_app_pool_credentials"], dws["use_kernel_mode"]) == (True, True, True)
    assert dws["providers"] == ["Negotiate:Kerberos"] and dws["extended_protection"] == "Require"
    payroll = a["Default Web Site/payroll"]
    assert payroll["anonymous"]["user"] == "" and payroll["anonymous"]["user_state"] == "empty"
    assert payroll["windows"]["enabled"] is True  # inherited from the site
    assert payroll["basic"]["enabled"] is True
    assert payroll["anonymous"]["evidence"]["line"] == line_of(
        CONFIG, '<anonymousAuthentication userName="" />'
    )
    shop = a["Shop"]
    assert shop["anonymous"]["user"] == "SHOP\\anon"
    assert shop["anonymous"]["password"] == {"present": True, "encrypted": True, "provider": "AesProvider"}
    assert shop["client_certificate"] == {
        "enabled": True,
        "one_to_one_mappings": 2,
        "one_to_one_with_password": 1,
        "many_to_one_mappings": 1,
        "evidence": shop["client_certificate"]["evidence"],
    }
    # inheritInChildApplications="false": the Shop location stops at the /api application
    assert a["Shop/api"]["anonymous"]["user"] == "IUSR"
    # a folder below Shop (not an application) still inherits it, then turns anonymous off
    secure = a["Shop/static/secure"]["anonymous"]
    assert secure["enabled"] is False and secure["user"] == "SHOP\\anon"


def test_schema_defaults_when_nothing_is_set() -> None:
    snap = imported(
        "<configuration><system.applicationHost><applicationPools><add name='p'/></applicationPools>"
        "<sites><site name='s' id='3'><application path='/' applicationPool='p'/></site></sites>"
        "</system.applicationHost><system.webServer/></configuration>"
    )
    pool = pools(snap)["p"]
    assert pool["identity"]["type"] == "ApplicationPoolIdentity"
    assert pool["identity"]["sid"] == sids.app_pool_sid("p")
    assert pool["identity"]["password"] == {"present": False}
    assert (pool["pipeline_mode"], pool["auto_start"], pool["load_user_profile"]) == (
        "Integrated",
        True,
        False,
    )
    assert pool["managed_runtime_version"] is None  # no default guessed
    site = sites(snap)["s"]
    assert site["log_directory"] == "%SystemDrive%\\inetpub\\logs\\LogFiles"
    assert "log_directory_expanded" not in site
    server = auth(snap)[""]
    assert server["anonymous"] == {
        "enabled": True,
        "user": "IUSR",
        "user_state": "absent",
        "password": {"present": False},
        "evidence": server["evidence"],
    }
    assert server["windows"]["enabled"] is False and server["windows"]["use_kernel_mode"] is True
    assert server["basic"]["enabled"] is False and server["digest"]["enabled"] is False
    names = {p["name"]: p for p in snap["principals"]}
    assert names["IIS APPPOOL\\p"]["kind"] == "virtual"


def test_application_without_a_pool_is_unknown_not_guessed() -> None:
    snap = imported(
        "<configuration><system.applicationHost><sites><site name='s' id='1'>"
        "<application path='/'/></site></sites></system.applicationHost></configuration>"
    )
    assert apps(snap) == {"s": None}
    assert any("has no application pool" in m for m in messages(snap))


def test_secrets_never_reach_the_snapshot(snap: dict[str, Any]) -> None:
    text = json.dumps(snap)
    for secret in SECRETS:
        assert secret not in text
    assert "[enc:" not in text


def test_principals_named_in_the_configuration(snap: dict[str, Any]) -> None:
    names = {p["name"] for p in snap["principals"]}
    assert {
        "CORP\\svc_payroll",
        "svc_legacy",
        "NT AUTHORITY\\SYSTEM",
        "NT AUTHORITY\\NETWORK SERVICE",
        "CORP\\content",
        "SHOP\\anon",
        "NT AUTHORITY\\IUSR",
    } <= names
    iusr = next(p for p in snap["principals"] if p["name"] == "NT AUTHORITY\\IUSR")
    assert iusr["sid"] == sids.IUSR


def test_config_protected_data_keeps_names_not_keys(snap: dict[str, Any]) -> None:
    assert snap["iis"]["config_protected_data"] == {
        "default_provider": None,
        "providers": [
            {
                "name": "IISWASOnlyCngProvider",
                "type": "Microsoft.ApplicationHost.CngProtectedConfigurationProvider",
            },
            {"name": "AesProvider", "type": "Microsoft.ApplicationHost.AesProtectedConfigurationProvider"},
        ],
    }


def test_duplicate_section_is_reported() -> None:
    snap = imported(
        "<configuration><location path='s'><system.webServer><security><authentication>"
        "<anonymousAuthentication enabled='false'/></authentication></security></system.webServer></location>"
        "<location path='s'><system.webServer><security><authentication>"
        "<anonymousAuthentication enabled='true'/></authentication></security></system.webServer></location>"
        "</configuration>"
    )
    assert any("defined a second time for 's'" in m for m in messages(snap))


def test_pasted_fragment_imports_what_it_holds_with_a_warning() -> None:
    text = (
        "PS C:\\Windows\\system32\\inetsrv\\config> Get-Content applicationHost.config\n"
        "<applicationPools>\n"
        '    <add name="Reports"><processModel identityType="LocalSystem" /></add>\n'
        "</applicationPools>\n"
        "<sites>\n"
        '    <site name="Reports" id="7"><application path="/" applicationPool="Reports" /></site>\n'
        "</sites>\n"
    )
    snap = imported(text, name="pasted.txt")
    assert snap["collection"]["artifacts"][0]["kind"] == "applicationhost_config"
    assert pools(snap)["Reports"]["identity"]["type"] == "LocalSystem"
    assert pools(snap)["Reports"]["evidence"]["line"] == 3
    assert apps(snap) == {"Reports": "Reports"}
    assert "authentication" not in snap["iis"]  # nothing about authentication was pasted: no guess
    assert any("fragment (<applicationPools>, <sites>)" in m for m in messages(snap))
    assert any("skipped 1 line(s) before the XML" in m for m in messages(snap))
    section = next(s for s in snap["collection"]["sections"] if s["name"] == "iis")
    assert section["status"] == "partial"


def test_utf16_with_bom_and_crlf() -> None:
    data = "\ufeff".encode("utf-16-le") + CONFIG.replace("\n", "\r\n").encode("utf-16-le")
    snap = imported(data)
    assert pools(snap)["Payroll"]["evidence"]["line"] == line_of(CONFIG, '<add name="Payroll"')


# -- the real applicationHost.config files in ../shared/samples ---------------------------------

# The `samples` fixture fails under CI=true when ../shared/samples is missing, and skips (saying why) elsewhere.
needs_samples = pytest.mark.usefixtures("samples")


def sample(name: str) -> dict[str, Any]:
    path = SAMPLES / name
    artifact = Artifact(source=path, path=name)
    return build_snapshot([artifact], parsers=PARSERS, host="SAMPLE")


@needs_samples
def test_sample_c1982_shared_config_pools_use_the_pool_identity_as_anonymous() -> None:
    snap = sample("iis10_applicationhost_c1982_sharedconfig_multipool_locations.config")
    p = pools(snap)
    assert list(p) == [
        "DefaultAppPool",
        ".NET v4.5 Classic",
        ".NET v4.5",
        "redisoncloud.com",
        "ikinci.com",
        "deneme.com",
    ]
    assert all(x["identity"]["type"] == "ApplicationPoolIdentity" for x in p.values())
    assert p[".NET v4.5 Classic"]["pipeline_mode"] == "Classic"
    assert all(x["enable_32bit"] is True and x["load_user_profile"] is False for x in p.values())  # defaults
    assert p["redisoncloud.com"]["evidence"]["line"] == 146
    assert apps(snap) == {
        "Default Web Site": "DefaultAppPool",
        "redisoncloud.com": "redisoncloud.com",
        "ikinci.com": "ikinci.com",
        "deneme.com": "deneme.com",
    }
    s = sites(snap)
    assert s["Default Web Site"]["server_auto_start"] is False
    assert s["redisoncloud.com"]["log_directory"] == "C:\\vhosts\\redisoncloud.com\\logs"
    assert [b["host"] for b in s["deneme.com"]["bindings"]] == ["deneme.com", "www.deneme.com"]
    a = auth(snap)
    assert set(a) == {"", "Default Web Site", "redisoncloud.com", "ikinci.com", "deneme.com"}
    for entry in a.values():  # userName="" at server level: every site's anonymous user is its pool
        assert entry["anonymous"]["enabled"] is True
        assert (entry["anonymous"]["user"], entry["anonymous"]["user_state"]) == ("", "empty")
        assert entry["anonymous"]["evidence"]["line"] == 413
        assert entry["windows"]["enabled"] is False and entry["basic"]["enabled"] is False
    assert not snap["collection"]["warnings"]


@needs_samples
def test_sample_dorik84_default_install_with_a_second_site() -> None:
    snap = sample("iis10_applicationhost_dorik84_iusr_default.config")
    p = pools(snap)
    assert list(p) == ["DefaultAppPool", "mysite.tbd", ".NET v4.5 Classic", ".NET v4.5"]
    assert all(x["managed_runtime_version"] == "v4.0" and x["load_user_profile"] is True for x in p.values())
    assert apps(snap) == {"Default Web Site": "DefaultAppPool", "mysite.tbd": "mysite.tbd"}
    bindings = sites(snap)["mysite.tbd"]["bindings"]
    assert [(b["protocol"], b["port"], b["host"]) for b in bindings] == [
        ("http", 80, "mysite.tbd"),
        ("https", 443, "mysite.tbd"),
    ]
    a = auth(snap)
    assert set(a) == {"", "Default Web Site", "mysite.tbd"}  # the <location> inside a comment is ignored
    for entry in a.values():
        assert (entry["anonymous"]["enabled"], entry["anonymous"]["user"]) == (True, "IUSR")
        assert entry["windows"]["enabled"] is False
    assert a[""]["anonymous"]["evidence"]["line"] == 320


@needs_samples
def test_sample_mattgillard_reverse_proxy() -> None:
    snap = sample("iis10_applicationhost_mattgillard_reverseproxy_location.config")
    assert list(pools(snap)) == ["DefaultAppPool"]
    assert apps(snap) == {"Default Web Site": "DefaultAppPool"}
    assert [b["port"] for b in sites(snap)["Default Web Site"]["bindings"]] == [80, 443]
    a = auth(snap)
    assert a["Default Web Site"]["anonymous"]["user"] == "IUSR"  # its <location> only sets rewrite variables
    assert a["Default Web Site"]["windows"]["enabled"] is False


@needs_samples
def test_sample_vjunish_nested_application() -> None:
    snap = sample("iis_applicationhost_vjunish_default.config")
    assert apps(snap) == {"Default Web Site": "DefaultAppPool", "Default Web Site/001": "DefaultAppPool"}
    vdir = sites(snap)["Default Web Site"]["applications"][1]["virtual_directories"][0]
    assert vdir["physical_path"] == "C:\\web\\001"
    a = auth(snap)
    assert a["Default Web Site/001"]["anonymous"]["user"] == "IUSR"
    assert a["Default Web Site/001"]["windows"]["enabled"] is False


@needs_samples
def test_sample_jexus_expected_windows_auth_per_site() -> None:
    snap = sample("iisexpress_applicationhost_jexus_expected_windowsauth_location.config")
    p = pools(snap)
    assert list(p) == [
        "Clr4IntegratedAppPool",
        "Clr4ClassicAppPool",
        "Clr2IntegratedAppPool",
        "Clr2ClassicAppPool",
    ]
    assert p["Clr2IntegratedAppPool"]["managed_runtime_version"] == "v2.0"
    assert p["Clr4IntegratedAppPool"]["load_user_profile"] is True
    assert set(apps(snap).values()) == {"Clr4IntegratedAppPool"}  # <sites> applicationDefaults
    a = auth(snap)
    server = a[""]
    assert server["anonymous"]["enabled"] is True  # no enabled attribute: the schema default
    assert server["anonymous"]["user_state"] == "empty"
    assert server["windows"]["enabled"] is True and server["windows"]["providers"] == ["Negotiate", "NTLM"]
    assert a["WebSite1"]["windows"]["enabled"] is False  # <location path="WebSite1">
    assert a["GuessMeWeb"]["windows"]["enabled"] is True
    site2 = a["WebSite2"]
    assert site2["anonymous"]["user"] == "test" and site2["anonymous"]["user_state"] == "set"
    assert site2["anonymous"]["password"] == {"present": True, "encrypted": True, "provider": "AesProvider"}
    assert site2["anonymous"]["evidence"]["line"] == 1142
    assert site2["windows"]["extended_protection"] == "Allow"
    assert a["Default Web Site"]["anonymous"]["user"] == "test"  # a location for a site not in <sites>
    assert (
        a["Default Web Site"]["anonymous"]["evidence"]["line"] == 1128
    )  # multi-line element: its first line
    assert "9mM2ovvK6I1KeNdmNtr4fftObncukaJ9aSnxtLV4ZJs=" not in json.dumps(snap)


@needs_samples
def test_sample_jexus_original2_anonymous_user_with_aes_password() -> None:
    snap = sample("iisexpress_applicationhost_jexus_original2_anon_aesprovider_location.config")
    p = pools(snap)
    assert p["UnmanagedClassicAppPool"]["pipeline_mode"] == "Classic"
    assert apps(snap)["Katana.Sandbox.WebServer-Site/Katana.Sandbox.WebServer"] == "Clr4IntegratedAppPool"
    vdirs = sites(snap)["WebSite2"]["applications"][0]["virtual_directories"]
    assert [v["path"] for v in vdirs] == ["/", "/help"]
    a = auth(snap)
    assert a[""]["windows"]["enabled"] is False and a[""]["windows"]["providers"] == ["Negotiate", "NTLM"]
    assert a["WebSite1"]["anonymous"]["user"] == ""
    assert a["WebSite2"]["anonymous"]["user"] == "test"
    assert a["WebSite2"]["anonymous"]["password"]["provider"] == "AesProvider"
    assert a["Default Web Site"]["anonymous"]["user"] == "test"
    text = json.dumps(snap)
    assert "9mM2ovvK6I1KeNdmNtr4fftObncukaJ9aSnxtLV4ZJs=" not in text
    assert "sessionKey" not in text and "AQIAAA5mAAAApAAA" not in text


@needs_samples
@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.glob("*.config")) or ["(no samples)"])
def test_every_sample_is_detected_and_valid(name: str) -> None:
    snap = sample(name)
    assert snap["collection"]["artifacts"][0]["kind"] == "applicationhost_config"
    assert snap["iis"]["app_pools"] and snap["iis"]["sites"] and snap["iis"]["authentication"]
    for pool in snap["iis"]["app_pools"]:
        assert pool["evidence"]["artifact"] == name and pool["evidence"]["line"] > 0

"""web.config import: ASP.NET settings per location, and authentication overrides where unlocked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from iisguard.capture import registry
from iisguard.capture.base import Artifact
from iisguard.capture.importer import build_snapshot

PARSERS = registry.builtin_parsers()

APPHOST = """<configuration>
  <configSections>
    <sectionGroup name="system.webServer"><sectionGroup name="security"><sectionGroup name="authentication">
      <section name="anonymousAuthentication" overrideModeDefault="Deny" />
      <section name="windowsAuthentication" overrideModeDefault="Deny" />
      <section name="basicAuthentication" overrideModeDefault="Deny" />
    </sectionGroup></sectionGroup></sectionGroup>
  </configSections>
  <system.applicationHost>
    <applicationPools><add name="DefaultAppPool" /><add name="Shop" /></applicationPools>
    <sites>
      <site name="Default Web Site" id="1">
        <application path="/"><virtualDirectory path="/" physicalPath="C:\\inetpub\\wwwroot" /></application>
        <application path="/app"><virtualDirectory path="/" physicalPath="C:\\apps\\app" /></application>
      </site>
      <site name="Shop" id="2">
        <application path="/" applicationPool="Shop"><virtualDirectory path="/" physicalPath="C:\\shop" /></application>
      </site>
      <applicationDefaults applicationPool="DefaultAppPool" />
    </sites>
  </system.applicationHost>
  <system.webServer><security><authentication>
    <anonymousAuthentication enabled="true" userName="IUSR" />
    <windowsAuthentication enabled="false" />
  </authentication></security></system.webServer>
  <location path="Shop" overrideMode="Allow">
    <system.webServer><security><authentication><anonymousAuthentication /></authentication></security></system.webServer>
  </location>
  <location path="Default Web Site/app">
    <system.webServer><security><authentication>
      <anonymousAuthentication userName="CORP\\appanon" password="[enc:IISCngProvider:YXBwYW5vbg==:enc]" />
    </authentication></security></system.webServer>
  </location>
</configuration>
"""

APP_WEB_CONFIG = """<?xml version="1.0" encoding="utf-8"?>
<configuration xmlns="http://schemas.microsoft.com/.NetConfiguration/v2.0">
  <connectionStrings>
    <add name="Main" connectionString="Server=db1;Database=shop;User Id=shop;Password=Tr0ub4dor&amp;3;" />
    <add name="Reports" connectionString="Data Source=db2;Initial Catalog=r;Integrated Security=SSPI" />
    <add name="Legacy" connectionString="Driver={SQL Server};Server=db3;Uid=sa;Pwd='Winter#99'" />
    <add name="Empty" connectionString="Server=db4;Password=;" />
  </connectionStrings>
  <system.web>
    <identity impersonate="true" userName="CORP\\impersonated" password="Autumn#2023" />
    <authentication mode="Forms">
      <forms loginUrl="login.aspx">
        <credentials passwordFormat="Clear">
          <user name="admin" password="Adm1nPass!" />
          <user name="guest" password="GuestPass!" />
        </credentials>
      </forms>
    </authentication>
    <authorization>
      <deny users="?" />
      <allow roles="Admins, Auditors" verbs="GET" />
    </authorization>
  </system.web>
  <system.webServer>
    <security>
      <authorization>
        <add accessType="Allow" users="*" />
        <clear />
        <add accessType="Deny" users="?" verbs="POST" />
      </authorization>
      <authentication>
        <anonymousAuthentication userName="" />
      </authentication>
    </security>
  </system.webServer>
  <location path="admin">
    <system.web>
      <identity impersonate="false" />
    </system.web>
  </location>
</configuration>
"""

SHOP_WEB_CONFIG = """<configuration>
  <connectionStrings configProtectionProvider="RsaProtectedConfigurationProvider">
    <EncryptedData><CipherData><CipherValue>c2hvcGNpcGhlcg==</CipherValue></CipherData></EncryptedData>
  </connectionStrings>
  <system.web>
    <identity configProtectionProvider="DataProtectionConfigurationProvider">
      <EncryptedData><CipherData><CipherValue>aWRlbnRpdHljaXBoZXI=</CipherValue></CipherData></EncryptedData>
    </identity>
  </system.web>
  <system.webServer><security><authentication>
    <anonymousAuthentication userName="" />
  </authentication></security></system.webServer>
</configuration>
"""

SITE_WEB_CONFIG = """<configuration>
  <system.webServer><security><authentication>
    <windowsAuthentication enabled="true" />
  </authentication></security></system.webServer>
</configuration>
"""


def art(path: str, text: str, **hint: Any) -> Artifact:
    a = Artifact(source=Path(path), path=path, data=text.encode("utf-8"), hint=dict(hint))
    a.hint.setdefault("relpath", path)
    return a


def build(*artifacts: Artifact) -> dict[str, Any]:
    return build_snapshot(list(artifacts), parsers=PARSERS, host="WEB01")


def aspnet(snap: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["location"]: a for a in snap.get("aspnet", [])}


def auth(snap: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["location"]: a for a in snap["iis"]["authentication"]}


def messages(snap: dict[str, Any]) -> list[str]:
    return [w["message"] for w in snap["collection"]["warnings"]]


def full() -> dict[str, Any]:
    return build(
        art("cap/webconfig/Default Web Site/app/web.config", APP_WEB_CONFIG),
        art("cap/iis/applicationHost.config", APPHOST),
        art("cap/webconfig/Shop/web.config", SHOP_WEB_CONFIG),
        art("cap/webconfig/Default Web Site/web.config", SITE_WEB_CONFIG),
    )


def test_location_comes_from_the_capture_folder_layout() -> None:
    snap = full()
    entries = aspnet(snap)
    assert set(entries) == {"Default Web Site/app", "Default Web Site/app/admin", "Shop"}
    assert entries["Default Web Site/app"]["artifact"] == "cap/webconfig/Default Web Site/app/web.config"
    assert [a["kind"] for a in snap["collection"]["artifacts"]] == [
        "web_config",
        "applicationhost_config",
        "web_config",
        "web_config",
    ]


def test_identity_forms_connection_strings_and_authorization() -> None:
    app = aspnet(full())["Default Web Site/app"]
    assert app["identity"] == {
        "impersonate": True,
        "user": "CORP\\impersonated",
        "password": {"present": True, "encrypted": False, "provider": None},
        "protected": False,
        "evidence": {"artifact": "cap/webconfig/Default Web Site/app/web.config", "line": 10},
    }
    assert app["forms_credentials"]["password_format"] == "Clear" and app["forms_credentials"]["users"] == 2
    strings = app["connection_strings"]
    assert (strings["total"], strings["with_password"], strings["protected"]) == (4, 2, False)
    assert strings["evidence"]["line"] == 4
    rules = [(r["section"], r["action"], r["users"], r["roles"], r["verbs"]) for r in app["authorization"]]
    assert rules == [
        ("system.web", "deny", ["?"], [], []),
        ("system.web", "allow", [], ["Admins", "Auditors"], ["GET"]),
        ("system.webServer", "deny", ["?"], [], ["POST"]),  # <clear/> dropped the Allow * before it
    ]
    admin = aspnet(full())["Default Web Site/app/admin"]
    assert admin["identity"]["impersonate"] is False and admin["evidence"]["line"] == 36


def test_protected_sections_are_reported_as_protected() -> None:
    shop = aspnet(full())["Shop"]
    assert shop["connection_strings"] == {
        "total": 0,
        "with_password": 0,
        "protected": True,
        "evidence": shop["connection_strings"]["evidence"],
    }
    assert shop["identity"]["protected"] is True and shop["identity"]["impersonate"] is None


def test_authentication_overrides_apply_only_where_unlocked() -> None:
    snap = full()
    a = auth(snap)
    # Shop unlocked anonymousAuthentication (overrideMode="Allow"): its web.config's userName="" applies
    assert a["Shop"]["anonymous"]["user_state"] == "empty"
    assert a["Shop"]["anonymous"]["evidence"]["artifact"] == "cap/webconfig/Shop/web.config"
    # Default Web Site keeps the shipped lock: its web.config's windowsAuthentication is refused
    assert a["Default Web Site"]["windows"]["enabled"] is False
    # the app's web.config tries userName="" under the same lock; applicationHost.config's location stands
    assert a["Default Web Site/app"]["anonymous"]["user"] == "CORP\\appanon"
    refused = [m for m in messages(snap) if "locks that section there" in m]
    assert len(refused) == 2
    assert any("windowsAuthentication for 'Default Web Site'" in m for m in refused)
    # ASP.NET impersonation joins the effective entry of its path and is inherited below it
    assert a["Default Web Site/app"]["impersonation"]["user"] == "CORP\\impersonated"
    assert a["Default Web Site/app/admin"]["impersonation"]["impersonate"] is False


def test_web_config_overrides_a_location_tag_for_its_own_path_when_unlocked() -> None:
    apphost = APPHOST.replace(
        '<location path="Default Web Site/app">',
        '<location path="Default Web Site/app" overrideMode="Allow">',
    )
    snap = build(
        art("cap/iis/applicationHost.config", apphost),
        art("cap/webconfig/Default Web Site/app/web.config", APP_WEB_CONFIG),
    )
    assert auth(snap)["Default Web Site/app"]["anonymous"]["user_state"] == "empty"
    assert not [m for m in messages(snap) if "locks" in m]


def test_a_deeper_location_tag_beats_a_site_web_config() -> None:
    apphost = APPHOST.replace(
        '<location path="Shop" overrideMode="Allow">',
        '<location path="Default Web Site" overrideMode="Allow">',
    )
    site = SITE_WEB_CONFIG.replace(
        '<windowsAuthentication enabled="true" />', '<anonymousAuthentication userName="" />'
    )
    snap = build(
        art("cap/iis/applicationHost.config", apphost),
        art("cap/webconfig/Default Web Site/web.config", site),
    )
    a = auth(snap)
    assert a["Default Web Site"]["anonymous"]["user_state"] == "empty"  # the site's web.config applies
    assert (
        a["Default Web Site/app"]["anonymous"]["user"] == "CORP\\appanon"
    )  # applicationHost.config's app location wins


def test_manifest_location_and_unknown_location() -> None:
    snap = build(art("web.config", APP_WEB_CONFIG, location="Intranet/hr"))
    assert set(aspnet(snap)) == {"Intranet/hr", "Intranet/hr/admin"}
    assert "authentication" not in snap.get("iis", {})  # without applicationHost.config nothing is guessed
    lost = build(art("somewhere/web.config", APP_WEB_CONFIG))
    assert set(aspnet(lost)) == {"", "admin"}
    assert any("cannot tell which site or application" in m for m in messages(lost))


def test_secrets_in_web_config_never_reach_the_snapshot() -> None:
    text = json.dumps(full())
    for secret in (
        "Tr0ub4dor",
        "Winter#99",
        "Autumn#2023",
        "Adm1nPass!",
        "GuestPass!",
        "YXBwYW5vbg==",
        "c2hvcGNpcGhlcg==",
        "aWRlbnRpdHljaXBoZXI=",
    ):
        assert secret not in text


def test_detected_from_content_under_any_name() -> None:
    snap = build(art("notes.txt", APP_WEB_CONFIG, location="Default Web Site"))
    assert snap["collection"]["artifacts"][0]["kind"] == "web_config"

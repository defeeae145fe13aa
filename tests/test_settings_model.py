"""Effective IIS settings: resolved through <location>, inheritInChildApplications, web.config overrides and
locks at import, read back through `snap.setting` with the IIS schema defaults (issue #19)."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import pytest

from iisguard.capture import registry
from iisguard.capture.base import Artifact
from iisguard.capture.importer import build_snapshot
from iisguard.model import settings as settings_model
from iisguard.model import snapshot as snapmod

PARSERS = registry.builtin_parsers()
RF = "system.webServer/security/requestFiltering"

APPHOST = """<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <configSections>
    <sectionGroup name="system.webServer">
      <section name="directoryBrowse" overrideModeDefault="Allow" />
      <section name="httpProtocol" overrideModeDefault="Allow" />
      <sectionGroup name="security">
        <section name="access" overrideModeDefault="Deny" />
        <section name="requestFiltering" overrideModeDefault="Allow" />
      </sectionGroup>
    </sectionGroup>
  </configSections>
  <system.applicationHost>
    <applicationPools>
      <add name="Shop" />
      <add name="Legacy"><processModel identityType="SpecificUser" userName="CORP\\svc" password="P@ssw0rd-in-clear" idleTimeout="00:00:00" /></add>
      <applicationPoolDefaults><recycling><periodicRestart requests="5000" /></recycling></applicationPoolDefaults>
    </applicationPools>
    <sites>
      <site name="Shop" id="1">
        <application path="/" applicationPool="Shop"><virtualDirectory path="/" physicalPath="D:\\shop" /></application>
        <application path="/api" applicationPool="Shop"><virtualDirectory path="/" physicalPath="D:\\shop\\api" /></application>
        <bindings><binding protocol="http" bindingInformation="*:80:shop" /></bindings>
        <logFile logTargetW3C="File,ETW" />
      </site>
      <site name="Blog" id="2">
        <application path="/" applicationPool="Shop"><virtualDirectory path="/" physicalPath="D:\\blog" /></application>
        <bindings><binding protocol="http" bindingInformation="*:80:blog" /></bindings>
      </site>
      <siteDefaults><logFile period="Hourly" /><limits maxConnections="100" /></siteDefaults>
    </sites>
  </system.applicationHost>
  <system.webServer>
    <directoryBrowse enabled="false" />
    <httpProtocol><customHeaders><clear /><add name="X-Powered-By" value="ASP.NET" /></customHeaders></httpProtocol>
    <security>
      <access sslFlags="None" />
      <requestFiltering allowDoubleEscaping="false" lockAttributes="allowDoubleEscaping">
        <requestLimits maxUrl="4096" />
      </requestFiltering>
    </security>
  </system.webServer>
  <location path="Shop" inheritInChildApplications="false">
    <system.webServer><security><requestFiltering><requestLimits maxUrl="8192" /></requestFiltering></security></system.webServer>
  </location>
  <location path="Blog" overrideMode="Allow">
    <system.webServer><security><access sslFlags="Ssl" /></security></system.webServer>
  </location>
</configuration>
"""

SHOP_WEB_CONFIG = """<configuration>
  <system.web>
    <compilation debug="true" />
    <machineKey validation="SHA1" validationKey="0123456789ABCDEF0123456789ABCDEF" decryptionKey="FEDCBA9876543210" />
    <sessionState mode="SQLServer" sqlConnectionString="Server=db;Password=hunter2" timeout="60" />
  </system.web>
  <system.webServer>
    <directoryBrowse enabled="true" />
    <httpProtocol><customHeaders><remove name="X-Powered-By" /></customHeaders></httpProtocol>
    <security>
      <access sslFlags="Ssl" />
      <requestFiltering allowDoubleEscaping="true" />
    </security>
  </system.webServer>
</configuration>
"""

BLOG_WEB_CONFIG = """<configuration>
  <system.webServer><security><access sslFlags="Ssl, SslRequireCert" /></security></system.webServer>
</configuration>
"""


def artifact(path: str, text: str, **hint: Any) -> Artifact:
    return Artifact(source=Path(path), path=path, data=text.encode("utf-8"), hint=dict(hint))


def build(*artifacts: Artifact, sections: str = "ok") -> snapmod.Snapshot:
    data = build_snapshot(list(artifacts), parsers=PARSERS, host="TEST")
    assert not snapmod.problems(data), snapmod.problems(data)[:3]
    data["collection"]["sections"] = [
        s for s in data["collection"].get("sections") or [] if s["name"] != "web_configs"
    ] + [{"name": "web_configs", "status": sections}]
    return snapmod.Snapshot(data)


def full() -> snapmod.Snapshot:
    return build(
        artifact("applicationHost.config", APPHOST),
        artifact("webconfig/Shop/web.config", SHOP_WEB_CONFIG, location="Shop"),
        artifact("webconfig/Blog/web.config", BLOG_WEB_CONFIG, location="Blog"),
    )


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def warnings(snap: snapmod.Snapshot) -> list[str]:
    return [w["message"] for w in snap.data["collection"]["warnings"]]


def test_location_tags_and_inherit_in_child_applications() -> None:
    snap = full()
    assert snap.setting(RF, "requestLimits/maxUrl", "Shop").number() == 8192
    # inheritInChildApplications="false": the Shop location stops at the /api application boundary
    assert snap.setting(RF, "requestLimits/maxUrl", "Shop/api").number() == 4096
    assert snap.setting(RF, "requestLimits/maxUrl", "Blog").number() == 4096
    s = snap.setting(RF, "requestLimits/maxUrl", "Shop")
    assert s.source == "configured" and s.evidence == {
        "artifact": "applicationHost.config",
        "line": line_of(APPHOST, 'maxUrl="8192"'),
    }
    # a folder nobody configures takes its application's value
    assert snap.setting(RF, "requestLimits/maxUrl", "Shop/api/v1/orders").number() == 4096


def test_schema_defaults_apply_when_absent_and_say_so() -> None:
    snap = full()
    s = snap.setting(RF, "requestLimits/maxQueryString", "Blog")
    assert (s.value, s.source, s.evidence) == ("2048", "default", None)
    assert snap.setting(RF, "allowHighBitCharacters").flag() is True  # IIS_schema.xml default
    assert (
        snap.setting("system.applicationHost/sites", "logFile/period", "Blog").value == "Hourly"
    )  # siteDefaults
    assert snap.setting("system.applicationHost/sites", "logFile/logTargetW3C", "Shop").flags() == {
        "file",
        "etw",
    }
    assert snap.setting("system.applicationHost/sites", "limits/maxConnections", "Shop").number() == 100
    pools = "system.applicationHost/applicationPools"
    assert snap.setting(pools, "recycling/periodicRestart/requests", "Shop").number() == 5000  # defaults
    assert snap.setting(pools, "processModel/idleTimeout", "Legacy").seconds() == 0
    assert snap.setting(pools, "processModel/idleTimeout", "Shop").seconds() == 20 * 60


def test_web_config_overrides_where_unlocked_and_is_refused_where_locked() -> None:
    snap = full()
    browse = snap.setting("system.webServer/directoryBrowse", "enabled", "Shop")
    assert browse.flag() is True
    assert browse.evidence == {
        "artifact": "webconfig/Shop/web.config",
        "line": line_of(SHOP_WEB_CONFIG, "directoryBrowse"),
    }
    assert snap.setting("system.webServer/directoryBrowse", "enabled", "Blog").flag() is False
    # access is shipped locked (Deny): Shop's web.config is refused; Blog's location unlocks it
    assert snap.setting("system.webServer/security/access", "sslFlags", "Shop").value == "None"
    assert snap.setting("system.webServer/security/access", "sslFlags", "Blog").flags() == {
        "ssl",
        "sslrequirecert",
    }
    # lockAttributes="allowDoubleEscaping" at the server: the web.config cannot turn it on
    assert snap.setting(RF, "allowDoubleEscaping", "Shop").flag() is False
    text = warnings(snap)
    assert any("security/access for 'Shop'" in m and "locks that section" in m for m in text)
    assert any("allowDoubleEscaping" in m and "lockAttributes" in m for m in text)


def test_collections_merge_add_remove_clear() -> None:
    snap = full()
    server = [
        i.get("name") for i in snap.settings.items("system.webServer/httpProtocol", "customHeaders", "")
    ]
    assert server == ["X-Powered-By"]
    assert list(snap.settings.items("system.webServer/httpProtocol", "customHeaders", "Shop")) == []
    assert [
        i.get("name") for i in snap.settings.items("system.webServer/httpProtocol", "customHeaders", "Blog")
    ] == ["X-Powered-By"]


def test_aspnet_settings_and_secrets() -> None:
    snap = full()
    assert snap.setting("system.web/compilation", "debug", "Shop").flag() is True
    assert snap.setting("system.web/compilation", "debug", "Blog").source == "default"
    assert snap.setting("system.web/sessionState", "timeout", "Shop").seconds(minutes=True) == 3600
    text = json.dumps(snap.data)
    for secret in ("P@ssw0rd-in-clear", "0123456789ABCDEF", "FEDCBA9876543210", "hunter2", "Server=db"):
        assert secret not in text
    key = snap.setting("system.web/machineKey", "validationKey", "Shop")
    assert key.value == "[iisguard:removed]"


def test_unknown_when_not_captured() -> None:
    # ASP.NET settings without the web_configs section: unknown, never the default
    snap = build(artifact("applicationHost.config", APPHOST), sections="absent")
    assert snap.setting("system.web/compilation", "debug", "Shop").source == "unknown"
    # a pasted fragment knows only the sections it holds
    fragment = build(
        artifact("frag.config", "<system.webServer><directoryBrowse enabled='true'/></system.webServer>")
    )
    assert fragment.setting("system.webServer/directoryBrowse", "enabled").flag() is True
    assert fragment.setting(RF, "requestLimits/maxUrl").source == "unknown"
    # a snapshot written before settings existed: nothing is known
    old = snapmod.Snapshot({"schema_version": "1.0", "host": {"name": "X"}, "iis": {"sites": []}})
    assert not old.setting(RF, "allowDoubleEscaping").known


def test_one_entry_per_section_for_thousands_of_identical_sites() -> None:
    sites = "\n".join(
        f'<site name="s{i}" id="{i + 1}">\n<application path="/" applicationPool="Shop">\n'
        f'<virtualDirectory path="/" physicalPath="D:\\\\s{i}"/>\n</application>\n</site>'
        for i in range(4000)
    )
    text = APPHOST.replace('<site name="Blog" id="2">', sites + '<site name="Blog" id="2">')
    started = time.perf_counter()
    snap = build(artifact("applicationHost.config", text))
    elapsed = time.perf_counter() - started
    path_entries = [e for e in snap.data["iis"]["settings"] if e["section"].startswith("system.webServer")]
    assert len(path_entries) <= 10  # the server's sections and the two locations, not one per site
    assert snap.setting(RF, "requestLimits/maxUrl", "s3999").number() == 4096
    assert elapsed < 30


def test_lookups_remembered_per_scope_answer_as_the_first_time() -> None:
    # Settings resolves each (section, scope) once and reuses it: the answers, in any order and spelling
    # of the scope, are those of a first lookup, and each Setting keeps the scope it was asked for.
    snap = full()
    scopes = ("Shop", "Shop/api", "shop/API/", "Blog", "Shop")
    first = [snap.setting(RF, "requestLimits/maxUrl", s) for s in scopes]
    assert [s.number() for s in first] == [8192, 4096, 4096, 4096, 8192]
    assert first[2].scope == "shop/API/" and first[2].pointer == first[1].pointer
    assert first[0] == first[4] and first[0] is not first[4]
    # another attribute of a scope already resolved: its own value or default, not the first one's
    assert snap.setting(RF, "requestLimits/maxQueryString", "Shop").source == "default"
    assert snap.setting(RF, "allowDoubleEscaping", "Shop").source == "configured"  # locked at the server
    # still a frozen record
    with pytest.raises(dataclasses.FrozenInstanceError):
        first[0].value = "1"  # type: ignore[misc]
    assert dataclasses.replace(first[0], value="1").number() == 1
    # the server's items are built once and shared by the scopes that inherit them
    blog = snap.settings.items("system.webServer/httpProtocol", "customHeaders", "Blog")
    server = snap.settings.items("system.webServer/httpProtocol", "customHeaders", "")
    assert blog.pointer == server.pointer and blog.items is server.items
    assert blog.scope == "Blog" and server.scope == ""
    # flag lists and time spans are read once per string, and stay immutable
    assert settings_model.as_flags("Ssl, SslRequireCert") is settings_model.as_flags("Ssl, SslRequireCert")
    assert settings_model.as_flags("") == frozenset() and settings_model.as_seconds("00:20:00") == 1200


def test_lookup_builds_the_same_setting_as_the_class() -> None:
    # Settings.get builds its Setting as a slotted draft: it must be a Setting in every way the class's own
    # constructor makes one (type, fields, equality, frozen, no __dict__), for each source.
    snap = full()
    asked = [
        snap.setting(RF, "allowDoubleEscaping", "Shop"),  # configured
        snap.setting(RF, "requestLimits/maxQueryString", "Shop"),  # default
        snap.setting("system.webServer/nothing", "x", "Shop"),  # unknown
    ]
    assert [s.source for s in asked] == ["configured", "default", "unknown"]
    for s in asked:
        assert type(s) is settings_model.Setting and not hasattr(s, "__dict__")
        fields = {f.name: getattr(s, f.name) for f in dataclasses.fields(s)}
        assert settings_model.Setting(**fields) == s and dataclasses.replace(s) == s
        with pytest.raises(dataclasses.FrozenInstanceError):
            s.source = "configured"  # type: ignore[misc]
    # the readers give what the schema types say, keyword or not, remembered per string
    assert settings_model.as_bool(" TRUE ") is True and settings_model.as_bool("off") is False
    assert settings_model.as_bool("maybe") is None and settings_model.as_bool(None) is None
    assert settings_model.as_int(" 42 ") == 42 and settings_model.as_int("-1") is None
    span = settings_model.Setting("s", "a", "", "20", "configured")
    assert span.seconds() == 20 and span.seconds(minutes=True) == 1200


def test_collection_answered_once_per_question_and_stays_frozen() -> None:
    # Several rules ask the same collection of every site: the second question gets the same (frozen)
    # Collection, and the fast constructor fills every field as the dataclass's own would.
    snap = full()
    headers = ("system.webServer/httpProtocol", "customHeaders")
    blog = snap.settings.items(*headers, "Blog")
    assert snap.settings.items(*headers, "Blog") is blog
    assert snap.settings.items(*headers, "Shop") is not blog
    fields = {f.name: getattr(blog, f.name) for f in dataclasses.fields(blog)}
    assert fields["section"] == headers[0] and fields["name"] == headers[1] and fields["scope"] == "Blog"
    assert fields["known"] is True and fields["pointer"] == blog.pointer and blog.items
    assert dataclasses.replace(blog) == blog and dataclasses.replace(blog, scope="x").scope == "x"
    with pytest.raises(dataclasses.FrozenInstanceError):
        blog.scope = "Shop"  # type: ignore[misc]
    # an uncaptured collection is one too, and says it is unknown
    bare = settings_model.Collection("s", "c", "", (), False)
    assert (bare.known, bare.entry, bare.pointer, bare.fallback, list(bare)) == (False, None, None, None, [])


def test_scopes_worked_out_once_per_section_and_handed_out_as_new_lists() -> None:
    snap = full()
    settings = snap.settings
    sites = settings.scopes(settings_model.SITES)
    assert sites == ["", "Shop", "Blog"]
    assert settings.scopes(settings_model.POOLS) == ["Shop", "Legacy"]
    assert settings.scopes(RF) == ["", "Shop", "Shop/api"]
    sites.append("mine")  # a caller's list is its own: the next caller gets the section's scopes
    again = settings.scopes(settings_model.SITES)
    assert again == ["", "Shop", "Blog"] and again is not sites


def test_fallback_is_the_scope_s_site_or_pool_and_none_is_remembered_as_none() -> None:
    # What a finding points at when nothing sets the attribute: the site (or pool) that defines the scope;
    # a scope no site defines has none, asked once or many times.
    snap = full()
    shop = next(s for s in snap.sites if s["name"] == "Shop")
    assert snap.setting(RF, "requestLimits/maxUrl", "Shop/api").fallback is shop
    assert snap.setting("system.webServer/directoryBrowse", "enabled", "shop").fallback is shop
    for _ in range(2):
        assert snap.setting(RF, "requestLimits/maxUrl", "Nowhere/app").fallback is None
        assert snap.setting(settings_model.POOLS, "queueLength", "NoPool").fallback is None
    legacy = snap.setting(settings_model.POOLS, "queueLength", "Legacy")
    assert legacy.fallback is snap.pool("Legacy") and legacy.fallback is not None


POOLS_APPHOST = """<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <system.applicationHost>
    <applicationPools>
      <add name="A"><processModel idleTimeout="soon" /></add>
      <add name="B"><processModel idleTimeout="soon" /></add>
      <add name="C" />
      <add name="D"><processModel idleTimeout="00:00:00" /></add>
      <add name="E" />
    </applicationPools>
  </system.applicationHost>
</configuration>
"""


def test_a_setting_rule_answers_each_value_and_line_once_and_each_pool_by_name() -> None:
    # The IIS-CFG-* rules share one verdict and message per (value, where it is set) among thousands of
    # pools: each pool still gets its own label, and the same value set on two lines names each line.
    from iisguard_builtin.hardening_pools import pool_idle_timeout

    snap = build(artifact("applicationHost.config", POOLS_APPHOST))
    by_pool = {r.resource: r for r in pool_idle_timeout.evaluate(snap, {})}
    a, b, c, d, e = (by_pool[f"app_pools/{n}"] for n in "ABCDE")
    line_a, line_b = line_of(POOLS_APPHOST, '"A"'), line_of(POOLS_APPHOST, '"B"')
    assert a.message == (
        "Application pool 'A': system.applicationHost/applicationPools processModel/idleTimeout='soon' "
        f"(set on line {line_a} of applicationHost.config) is not a value IIS accepts; fix the "
        "configuration (IIS refuses to serve with it)."
    )
    assert b.message == a.message.replace("'A'", "'B'").replace(f"line {line_a}", f"line {line_b}")
    assert (a.outcome.value, b.outcome.value, d.outcome.value) == ("fail", "fail", "fail")
    assert d.message.startswith("Application pool 'D': idleTimeout is 00:00:00 (set on line ")
    assert c.outcome.value == e.outcome.value == "pass"
    assert c.message == "Application pool 'C': idle workers stop after 00:20:00 (not set: the IIS default)."
    assert e.message == c.message.replace("'C'", "'E'")


def test_lookup_answers_what_get_answers_without_a_setting() -> None:
    # settings.lookup gives (value, source, evidence, at, pointer) of the Setting get builds, for a value
    # set on a line, one set without a line, a default, an unknown attribute and a scope no site defines.
    snap = full()
    settings = snap.settings
    asked = [
        (RF, "allowDoubleEscaping", "Shop"),  # configured, with its line
        (RF, "requestLimits/maxQueryString", "Shop"),  # default: points at the entry in force
        ("system.webServer/nothing", "x", "Shop"),  # unknown: points at the site
        (RF, "requestLimits/maxUrl", "Nowhere/app"),  # the server's entry
        (settings_model.POOLS, "queueLength", "Legacy"),
    ]
    for question in asked:
        s = settings.get(*question)
        assert settings.lookup(*question) == (s.value, s.source, s.evidence, s.at, s.pointer), question
    sources = [settings.lookup(*q)[1] for q in asked]
    assert sources == ["configured", "default", "unknown", "configured", "default"]
    # an attribute written without a line points at its entry, as Setting.at does
    entry = settings.entry(RF, "Shop")
    assert entry is not None
    entry[1]["attributes"]["requestLimits/maxUrl"] = {"value": "100"}
    s = settings.get(RF, "requestLimits/maxUrl", "Shop")
    assert s.evidence is None and s.at is entry[1]
    assert settings.lookup(RF, "requestLimits/maxUrl", "Shop") == (
        "100",
        "configured",
        None,
        entry[1],
        s.pointer,
    )


SHARED_APPHOST = """<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <system.applicationHost>
    <applicationPools>
      <add name="Never"><recycling><periodicRestart time="00:00:00" /></recycling></add>
      <add name="Quiet"><recycling logEventOnRecycle="Time"><periodicRestart requests="100" /></recycling></add>
      <add name="Quiet2"><recycling logEventOnRecycle="Time"><periodicRestart requests="100" /></recycling></add>
      <add name="Plain" />
    </applicationPools>
    <sites>
      <site name="Strict" id="1">
        <application path="/"><virtualDirectory path="/" physicalPath="D:\\strict" /></application>
        <hsts enabled="true" max-age="31536000" includeSubDomains="true" redirectHttpToHttps="true" />
        <logFile logExtFileFlags="Date, Time" />
      </site>
      <site name="Header" id="2">
        <application path="/"><virtualDirectory path="/" physicalPath="D:\\header" /></application>
        <logFile logFormat="IIS" />
      </site>
      <site name="Other" id="3">
        <application path="/"><virtualDirectory path="/" physicalPath="D:\\other" /></application>
        <logFile logExtFileFlags="Date, Time" />
      </site>
      <siteDefaults><hsts enabled="true" max-age="0" /></siteDefaults>
    </sites>
  </system.applicationHost>
  <location path="Header">
    <system.webServer><httpProtocol><customHeaders><add name="Strict-Transport-Security" value="max-age=600" /></customHeaders></httpProtocol></system.webServer>
  </location>
</configuration>
"""


def test_setting_rules_share_answers_but_name_each_scope_and_its_line() -> None:
    # IIS-CFG-039/042/050 work out each message once per distinct values and line (settings.lookup for the
    # rest): scopes sharing a value still get their own label and the line that sets their value.
    from iisguard_builtin.hardening_logging import REQUIRED_FIELDS, log_fields
    from iisguard_builtin.hardening_pools import pool_recycling
    from iisguard_builtin.hardening_transport import hsts

    snap = build(artifact("applicationHost.config", SHARED_APPHOST))

    def line(needle: str) -> int:
        return line_of(SHARED_APPHOST, needle)

    def where(needle: str) -> str:
        return f"(set on line {line(needle)} of applicationHost.config)"

    by = {r.resource: r for r in hsts.evaluate(snap, {})}
    server, strict, header, other = (
        by[f"locations/{k}"] for k in ("MACHINE/WEBROOT/APPHOST", "Strict", "Header", "Other")
    )
    defaults = where("<siteDefaults>")
    assert other.message == server.message.replace("The server level", "Site 'Other'")
    assert f"(max-age=0, includeSubDomains=false, redirectHttpToHttps=false {defaults})" in other.message
    assert other.outcome.value == "fail"
    assert other.at == {"evidence": {"artifact": "applicationHost.config", "line": line("<siteDefaults>")}}
    assert other.pointer != server.pointer  # each site's own settings entry
    assert strict.message == "Site 'Strict': HSTS is enabled " + where('max-age="31536000"') + "."
    assert header.message == "Site 'Header': a Strict-Transport-Security header is sent (max-age=600)."

    by = {r.resource: r for r in pool_recycling.evaluate(snap, {})}
    never = "Application pool 'Never': no recycling condition is set " + where('time="00:00:00"') + ", so"
    assert by["app_pools/Never"].message.startswith(never)
    quiet, quiet2 = by["app_pools/Quiet"], by["app_pools/Quiet2"]
    at_quiet, at_quiet2 = line('name="Quiet"'), line('name="Quiet2"')
    assert quiet.message == (
        "Application pool 'Quiet': recycling on Requests is not logged (logEventOnRecycle is 'Time' "
        f"(set on line {at_quiet} of applicationHost.config)); add those events."
    )
    assert quiet2.message == quiet.message.replace("'Quiet'", "'Quiet2'").replace(
        f"line {at_quiet}", f"line {at_quiet2}"
    )
    assert quiet2.at == {"evidence": {"artifact": "applicationHost.config", "line": at_quiet2}}
    assert by["app_pools/Plain"].message == "Application pool 'Plain': recycles on Time and logs it."
    assert by["app_pools/Plain"].at is snap.pool("Plain")

    by = {r.resource: r for r in log_fields.evaluate(snap, {"required_fields": REQUIRED_FIELDS})}
    lacks = "ClientIP, UserName, Method, UriQuery, HttpStatus, Referer, UserAgent"
    for site in ("Strict", "Other"):
        # logExtFileFlags: the line after the site's application (and Strict's hsts) line
        flags = line(f"D:\\{site.lower()}") + (2 if site == "Strict" else 1)
        assert by[f"locations/{site}"].message == (
            f"Site '{site}': the W3C log lacks {lacks} (set on line {flags} of applicationHost.config), so an "
            "incident cannot be traced; add them to logExtFileFlags."
        )
        assert by[f"locations/{site}"].properties == {"missing": lacks.split(", ")}
    log_format = where('logFormat="IIS"')
    assert by["locations/Header"].message == (
        f"Site 'Header': the log format is IIS {log_format}; the required fields need W3C."
    )
    assert by["locations/MACHINE/WEBROOT/APPHOST"].outcome.value == "pass"

"""Fuzzing the XML parsers: any text either imports or yields warnings / a clear error, never a crash."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iisguard.capture import appconfig, metabase, registry, webconfig
from iisguard.capture.base import Artifact
from iisguard.capture.importer import build_snapshot
from iisguard.capture.xmlsafe import parse_text
from iisguard.errors import CaptureError

PARSERS = registry.builtin_parsers()
XML_PARSERS = [*appconfig.PARSERS, *webconfig.PARSERS, *metabase.PARSERS]
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TAGS = [
    "configuration",
    "system.applicationHost",
    "applicationPools",
    "add",
    "remove",
    "clear",
    "processModel",
    "applicationPoolDefaults",
    "sites",
    "site",
    "application",
    "virtualDirectory",
    "bindings",
    "binding",
    "siteDefaults",
    "applicationDefaults",
    "virtualDirectoryDefaults",
    "logFile",
    "location",
    "system.webServer",
    "security",
    "authentication",
    "anonymousAuthentication",
    "windowsAuthentication",
    "providers",
    "extendedProtection",
    "iisClientCertificateMappingAuthentication",
    "oneToOneMappings",
    "manyToOneMappings",
    "system.web",
    "identity",
    "forms",
    "credentials",
    "user",
    "authorization",
    "allow",
    "deny",
    "connectionStrings",
    "configSections",
    "sectionGroup",
    "section",
    "configProtectedData",
    "configurationRedirection",
    "management",
    "MBProperty",
    "IIsWebService",
    "IIsApplicationPool",
    "IIsWebVirtualDir",
    "Custom",
]
ATTRS = [
    "name",
    "path",
    "id",
    "identityType",
    "userName",
    "password",
    "applicationPool",
    "physicalPath",
    "bindingInformation",
    "protocol",
    "enabled",
    "overrideMode",
    "overrideModeDefault",
    "inheritInChildApplications",
    "value",
    "accessType",
    "users",
    "certificate",
    "connectionString",
    "configProtectionProvider",
    "Location",
    "AppIsolated",
    "AppPoolIdentityType",
    "WAMUserName",
    "AnonymousUserPass",
    "impersonate",
    "passwordFormat",
    "serverAutoStart",
    "autoStart",
    "managedPipelineMode",
    "logonType",
    "directory",
    "tokenChecking",
]
VALUES = st.one_of(
    st.sampled_from(
        [
            "",
            "true",
            "false",
            "1",
            "3",
            "/",
            ".",
            "*:80:",
            "[::1]:x:",
            "Default Web Site",
            "a/b/../c",
            "[enc:AesProvider::enc]",
            "[enc:X:blob:enc]",
            "Allow",
            "Deny",
            "%SystemDrive%\\x",
            "LocalSystem",
        ]
    ),
    st.text(max_size=20),
)


def _element(tag: str, attrs: dict[str, str], children: list[str]) -> str:
    rendered = "".join(f" {k}={quoteattr(v)}" for k, v in attrs.items())
    return f"<{tag}{rendered}>" + "\n".join(children) + f"</{tag}>"


ATTR_MAPS = st.dictionaries(st.sampled_from(ATTRS), VALUES, max_size=4)
LEAVES = st.builds(_element, st.sampled_from(TAGS), ATTR_MAPS, st.just([]))
elements = st.recursive(
    LEAVES,
    lambda inner: st.builds(_element, st.sampled_from(TAGS), ATTR_MAPS, st.lists(inner, max_size=4)),
    max_leaves=25,
)


def run(text: str | bytes, name: str) -> dict:
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    for parser in XML_PARSERS:
        artifact = Artifact(source=Path(name), path=name, data=data)
        snap = build_snapshot([artifact], kind=parser.kind, parsers=PARSERS, host="FUZZ")
        crashes = [w for w in snap["collection"]["warnings"] if "parser failed on this file" in w["message"]]
        assert not crashes, crashes
    return snap


@FUZZ
@given(st.text(max_size=400))
def test_arbitrary_text_never_crashes(text: str) -> None:
    run(text.encode("utf-8", "replace"), "fuzz.config")


@FUZZ
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    run(data, "fuzz.bin")


@FUZZ
@given(elements)
def test_configuration_shaped_xml_never_crashes(xml: str) -> None:
    run(xml, "applicationHost.config")
    run("<configuration>" + xml + "</configuration>", "web.config")


@FUZZ
@given(st.text(max_size=200))
def test_loader_raises_only_capture_errors(text: str) -> None:
    try:
        parse_text(text, "x.xml", fragments=True)
    except CaptureError as exc:
        assert str(exc).startswith("x.xml")

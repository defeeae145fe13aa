"""Arbitrary text and bytes into every command-output parser: it parses or warns, never raises.

Besides free text, examples are built from lines of the real fixtures, shuffled, cut and mixed
with tricky fragments, so the fuzzer reaches the parsers' deeper states (wrapped rows, pending
paths, half records) instead of stopping at "not my format".
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iisguard.capture.base import Artifact, Builder
from iisguard.model import snapshot as snapmod

MODULES = [
    "whoami",
    "icacls",
    "sddl",
    "secedit",
    "setspn",
    "ad",
    "local_accounts",
    "services",
    "regquery",
    "features",
]
CAPTURES = Path(__file__).resolve().parents[2] / "fixtures" / "captures"
FIXTURE_LINES = sorted(
    {
        line
        for f in CAPTURES.glob("*/*")
        if f.suffix != ".inf"
        for line in f.read_text("utf-8", "replace").splitlines()
    }
)
TRICKY = [
    "",
    " ",
    "\t",
    "{",
    "[",
    "}",
    "]",
    '"',
    ":(",
    "(I)(",
    "*S-1-5-21-1-2-3",
    "S-1-16-",
    "O:",
    "D:(",
    "D:P(A;;",
    "(A;;FA;;;",
    "Sddl   : ",
    "        ",
    "CN=,DC=",
    "found 9 group of duplicate SPNs.",
    "Existing SPN found!",
    "-------------------------------------------------------------------------------",
    "----  ----",
    "=====",
    "Se" + "Privilege",
    "SeDebugPrivilege",
    "PS C:\\> ",
    "C:\\>",
    "[Privilege Rights]",
    "Se=",
    "*",
    "\\\\",
    "{a, b...}",
    "Description : p@ss",
    '"Name","StartName"',
    "\x00",
    "\ufeff",
    "\u2028",
    "é",
    "\u3002",
]
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

fragments = st.one_of(st.sampled_from(FIXTURE_LINES), st.sampled_from(TRICKY), st.text(max_size=40))
structured = st.tuples(
    st.lists(fragments, max_size=40),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.sampled_from(["utf-8", "utf-16-le", "utf-16-be", "utf-8-sig", "cp1252"]),
)


def parse_bytes(module: str, data: bytes) -> dict:
    parser = importlib.import_module(f"iisguard.capture.{module}").PARSERS[0]
    b = Builder(host="FUZZ")
    artifact = Artifact(source=Path("fuzz.txt"), path="fuzz.txt", data=data)
    parser.parse(artifact, b)
    snap = b.finish(source="import", tool_version="t", collected_at="2024-01-01T00:00:00Z")
    problems = snapmod.problems(snap)
    assert not problems, [f"{p.pointer}: {p.message}" for p in problems[:3]]
    for w in b.warnings:
        assert w["artifact"] == "fuzz.txt" and (w["line"] is None or w["line"] >= 1) and w["message"]
    return snap


def _encode(text: str, codec: str) -> bytes:
    bom = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}.get(codec, b"")
    return bom + text.encode(codec, "replace")


@pytest.mark.parametrize("module", MODULES)
@SETTINGS
@given(text=st.text(max_size=2000))
def test_arbitrary_text(module, text):
    parse_bytes(module, text.encode("utf-8", "surrogatepass"))


@pytest.mark.parametrize("module", MODULES)
@SETTINGS
@given(example=structured)
def test_shuffled_real_lines(module, example):
    lines, eol, codec = example
    parse_bytes(module, _encode(eol.join(lines), codec))


@pytest.mark.parametrize("module", MODULES)
@SETTINGS
@given(data=st.binary(max_size=2000))
def test_arbitrary_bytes(module, data):
    parse_bytes(module, data)


@pytest.mark.parametrize("module", MODULES)
@SETTINGS
@given(head=st.text(max_size=3000), name=st.text(max_size=40))
def test_detect_never_raises(module, head, name):
    parser = importlib.import_module(f"iisguard.capture.{module}").PARSERS[0]
    score = parser.detect(head, name)
    assert isinstance(score, float) and 0.0 <= score <= 1.0


KEYS = [
    "Name",
    "SamAccountName",
    "DistinguishedName",
    "ObjectClass",
    "SID",
    "objectSid",
    "Enabled",
    "userAccountControl",
    "servicePrincipalName",
    "MemberOf",
    "msDS-AllowedToDelegateTo",
    "PrincipalsAllowedToDelegateToAccount",
    "msDS-AllowedToActOnBehalfOfOtherIdentity",
    "PasswordLastSet",
    "pwdLastSet",
    "PasswordNeverExpires",
    "PasswordNotRequired",
    "adminCount",
    "HostName",
    "IsGlobalCatalog",
    "ComputerObjectDN",
    "NetBIOSName",
    "DNSRoot",
    "PrincipalSource",
    "Group",
    "Members",
    "PasswordExpires",
    "PasswordRequired",
    "StartName",
    "State",
    "StartMode",
    "Value",
    "Sddl",
    "Description",
    "primaryGroupID",
    "DNSHostName",
    "accountExpires",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64),
    st.floats(allow_nan=False),
    st.sampled_from(
        [
            "S-1-5-21-1-2-3-500",
            "CN=x,OU=y,DC=corp,DC=com",
            "/Date(1589987654321)/",
            "user",
            "computer",
            "O:BAD:(A;;GA;;;S-1-5-21-1-2-3-1110)",
            "WEB01\\svc",
            "True",
            "",
            "{a, b...}",
        ]
    ),
    st.text(max_size=20),
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), children, max_size=6)
    ),
    max_leaves=25,
)


@pytest.mark.parametrize("module", ["ad", "local_accounts", "services"])
@SETTINGS
@given(value=json_values)
def test_json_shaped_input(module, value):
    import json

    parse_bytes(module, json.dumps(value).encode())

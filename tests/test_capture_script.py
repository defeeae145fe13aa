"""The capture script, checked by reading it (there is no Windows here): it parses, runs under
StrictMode with every section guarded, names every file it writes in the manifest, asks the
directory for no free text, and replaces secrets in a way the importer still understands."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import tree_sitter_powershell
from tree_sitter import Language, Node, Parser

from iisguard.capture import importer, registry
from iisguard.capture.base import Artifact
from iisguard.cli import main
from iisguard.collect.script import capture_script

SCRIPT = capture_script()
SRC = SCRIPT.encode("utf-8")
TREE = Parser(Language(tree_sitter_powershell.language())).parse(SRC)
KINDS = {p.kind for p in registry.builtin_parsers()}
NATIVE = {"icacls", "secedit", "whoami", "net", "setspn", "nltest", "dsquery", "reg"}
SAVERS = {
    "Save-CaptureText": 1,
    "Save-CaptureBytes": 1,
    "Save-CommandOutput": 1,
    "Save-Json": 1,
    "Save-ConfigFile": 2,
}
HELPERS = {
    "Save-CaptureText",
    "Save-CaptureBytes",
    "Save-CommandOutput",
    "Save-Json",
    "Save-ConfigFile",
    "Add-CaptureFile",
    "Get-CapturePath",
    "Get-AccountFacts",
    "Protect-ConfigText",
    "Invoke-Section",
    "Set-Section",
    "Get-SafeName",
    "Get-Attr",
    "Expand-Path",
    "Add-Account",
    "ConvertTo-Sid",
    "Get-DomainMembership",  # -AdOnly, called in a try/catch before the sections
}


def text(node: Node) -> str:
    return SRC[node.start_byte : node.end_byte].decode("utf-8")


def walk(node: Node) -> list[Node]:
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(reversed(n.children))
    return out


NODES = walk(TREE.root_node)


def command_name(node: Node) -> str:
    name = next((c for c in walk(node) if c.type == "command_name"), None)
    return text(name) if name is not None else ""


def arguments(node: Node) -> list[Node]:
    elements = next((c for c in node.children if c.type == "command_elements"), None)
    if elements is None:
        return []
    return [c for c in elements.children if c.type not in ("command_argument_sep", "redirection")]


def enclosing_function(node: Node) -> str | None:
    n = node.parent
    while n is not None:
        if n.type == "function_statement":
            return text(next(c for c in n.children if c.type == "function_name"))
        n = n.parent
    return None


def enclosing_section(node: Node) -> str | None:
    n = node.parent
    while n is not None:
        if n.type == "script_block_expression" and n.parent is not None:
            cmd = n.parent
            while cmd is not None and cmd.type != "command":
                cmd = cmd.parent
            if cmd is not None and command_name(cmd) == "Invoke-Section":
                return arguments(cmd)[0].text.decode().strip("'")
        n = n.parent
    return None


COMMANDS = [n for n in NODES if n.type == "command"]


def calls(name: str) -> list[Node]:
    return [c for c in COMMANDS if command_name(c).casefold() == name.casefold()]


def test_the_script_parses() -> None:
    bad = [n for n in NODES if n.type == "ERROR" or n.is_missing]
    assert not TREE.root_node.has_error, [(n.start_point, text(n)[:80]) for n in bad]


def test_ascii_no_blank_lines_and_strict_mode_first() -> None:
    assert SCRIPT.isascii()
    # Kept free of blank lines so that even a `-Command -` feed (powershell.exe reading stdin as typed
    # lines, where a blank line runs what is collected) would not cut it; the collector uses a bootstrap.
    assert not [i for i, line in enumerate(SCRIPT.splitlines(), 1) if not line.strip()]
    body = SCRIPT.split("Set-StrictMode -Version Latest", 1)
    assert len(body) == 2 and "Invoke-Section" not in body[0]
    assert "$ErrorActionPreference = 'Stop'" in body[1].split("function ", 1)[0]


def test_every_section_is_guarded() -> None:
    sections = {arguments(c)[0].text.decode().strip("'") for c in calls("Invoke-Section")}
    assert {
        "iis",
        "web_configs",
        "acls",
        "user_rights",
        "tokens",
        "local_accounts",
        "services",
        "registry",
        "features",
        "ad",
        "spns",
    } <= sections
    for cmd in calls("Invoke-Section"):
        args = arguments(cmd)
        assert args[0].text.decode().startswith("'") and any(
            n.type == "script_block_expression" for n in walk(args[1])
        )
    body = text(next(n for n in NODES if n.type == "function_statement" and "Invoke-Section" in text(n)[:40]))
    assert "try" in body and "catch" in body and "Set-Section $Name 'failed'" in body
    # every command that touches the server runs inside a section (or a helper the sections call)
    for cmd in COMMANDS:
        name = command_name(cmd).casefold().removesuffix(".exe")
        if (
            name in NATIVE
            or name in {s.casefold() for s in SAVERS}
            or name in ("get-ciminstance", "get-accountfacts")
        ):
            assert enclosing_section(cmd) or enclosing_function(cmd) in HELPERS, (name, cmd.start_point)
    for cmd in calls("Save-CommandOutput"):
        tool = arguments(cmd)[2].text.decode().strip("'").removesuffix(".exe")
        assert tool in NATIVE


def test_every_written_file_is_in_the_manifest() -> None:
    writes = [
        n
        for n in NODES
        if n.type == "member_name"
        and text(n)
        in ("WriteAllText", "WriteAllBytes", "AppendAllText", "CreateFromDirectory", "Copy", "Move")
    ]
    places = sorted((enclosing_function(n) or "<script>", text(n)) for n in writes)
    assert places == [
        ("<script>", "CreateFromDirectory"),  # the zip of the folder, beside it
        ("<script>", "WriteAllText"),  # capture.yaml itself
        ("Save-CaptureBytes", "WriteAllBytes"),
        ("Save-CaptureText", "WriteAllText"),
    ]
    manifest_line = next(
        line
        for line in SCRIPT.splitlines()
        if "WriteAllText(" in line and "Save-CaptureText" not in line and "Get-CapturePath" not in line
    )
    assert "'capture.yaml'" in manifest_line
    for forbidden in (
        "Out-File",
        "Set-Content",
        "Add-Content",
        "Copy-Item",
        "Move-Item",
        "Export-Csv",
        "Export-Clixml",
        "Tee-Object",
    ):
        assert not calls(forbidden), forbidden
    assert not [n for n in NODES if n.type == "file_redirection_operator"]  # no `>` anywhere
    for saver in ("Save-CaptureText", "Save-CaptureBytes"):
        body = text(
            next(
                n for n in NODES if n.type == "function_statement" and text(n).startswith(f"function {saver}")
            )
        )
        assert "Add-CaptureFile $Name $Kind $Facts" in body


def test_every_kind_in_the_manifest_is_a_parser_kind() -> None:
    seen = set()
    for saver, index in SAVERS.items():
        for cmd in calls(saver):
            if enclosing_function(cmd) in HELPERS:
                continue
            kind = arguments(cmd)[index].text.decode()
            if kind == "$extra[1]":  # administration.config / redirection.config, listed beside their names
                pairs = re.findall(r"@\('(\w+\.config)', '(\w+)'\)", SCRIPT)
                assert [p[0] for p in pairs] == ["administration.config", "redirection.config"]
                seen.update(p[1] for p in pairs)
                continue
            assert kind.startswith("'"), (saver, kind)
            seen.add(kind.strip("'"))
    assert seen <= KINDS, seen - KINDS
    assert {
        "applicationhost_config",
        "web_config",
        "icacls",
        "secedit",
        "whoami",
        "local_accounts",
        "services",
        "ad",
        "setspn",
    } <= seen


def test_manifest_fields_are_what_the_importer_and_parsers_read() -> None:
    block = SCRIPT[SCRIPT.index("$manifest = [ordered]@{") :]
    for key in ("host", "collected_at", "host_facts", "environment", "files", "sections"):
        assert re.search(rf"^\s+{key}\s+=", block, re.M), key
    # facts attached to files become parser hints; each one is read by some parser
    facts = set(re.findall(r"@\{ (\w+) = ", SCRIPT)) - {
        "ok",
        "name",
        "path",
        "Name",
        "NetBIOSName",
        "version",
        "host_facts",  # the stream's HOST line, not a file's facts
    }
    sources = "".join(p.read_text() for p in Path(importer.__file__).parent.glob("*.py"))
    for fact in facts:
        hint = "token_identity" if fact == "token" else fact
        assert f'hint.get("{hint}")' in sources or f'.hint("{hint}")' in sources, fact  # ArtifactRun.hint


def test_no_free_text_from_the_directory_and_nothing_hidden() -> None:
    assert "description" not in SCRIPT.casefold()
    assert not re.search(r"-Properties\s+\*", SCRIPT)
    assert "PropertiesToLoad.Clear()" in SCRIPT  # an empty list would load every attribute
    loaded = re.search(r"\$AdAttributes = @\((.*?)\)", SCRIPT, re.S).group(1)
    assert {"info", "comment", "notes"}.isdisjoint(p.strip(" '\n").casefold() for p in loaded.split(","))
    for bad in (
        "-EncodedCommand",
        "-enc ",
        "Invoke-Expression",
        "iex ",
        "DownloadString",
        "http://",
        "https://",
        "Net.WebClient",
        "Invoke-WebRequest",
    ):
        assert bad.casefold() not in SCRIPT.casefold(), bad


def test_stream_format_matches_the_decoder() -> None:
    for header in (
        "'IISGUARD-CAPTURE 2 host='",
        "'IISGUARD-HOST facts='",
        "'IISGUARD-SECTION name={0} status={1} message={2}'",
        "'IISGUARD-FILE name={0} bytes={1} sha256={2} kind={3} facts={4}'",
        "'IISGUARD-END-FILE'",
        "'IISGUARD-DONE files='",
    ):
        assert header in SCRIPT
    assert "$i += 76" in SCRIPT and "[Uri]::EscapeDataString" in SCRIPT
    # 57 KB of raw bytes is a whole number of 76-character base64 lines, so chunks join cleanly.
    assert "New-Object byte[] (57 * 1024)" in SCRIPT and (57 * 1024) % 57 == 0


# -- the script's secret replacement, applied here with its own patterns -------------------------


def ps_string(name: str) -> str:
    raw = re.search(rf"\${name} = '((?:[^']|'')*)'", SCRIPT).group(1)
    return raw.replace("''", "'")


def redact(config: str) -> str:
    """What Protect-ConfigText writes (its patterns, read from the script; the .NET and Python dialects agree)."""

    def attr(m: re.Match[str]) -> str:
        raw = m.group(2)
        value = raw[1:-1]
        if value == "":
            return m.group(0)
        enc = re.match(r"^\[enc:([^:\]]*):", value)
        new = f"[enc:{enc.group(1)}:removed-by-iisguard:enc]" if enc else "[iisguard:removed]"
        return m.group(1) + raw[0] + new + raw[0]

    config = re.sub(ps_string("attr"), attr, config)
    inner = re.search(r"\[regex\]::Replace\(\$m\.Groups\[2\]\.Value, '([^']*)'", SCRIPT).group(1)

    def connection(m: re.Match[str]) -> str:
        def pw(n: re.Match[str]) -> str:
            return n.group(0) if not n.group(2).strip() else n.group(1) + "[iisguard:removed]"

        return m.group(1) + re.sub(inner, pw, m.group(2)) + m.group(3)

    outer = re.search(r"\[regex\]::Replace\(\$Text, '(\(\?i\)\(connectionString[^']*)'", SCRIPT).group(1)
    config = re.sub(outer, connection, config)
    cipher = re.search(r"\[regex\]::Replace\(\$Text, '(\(\?is\)\(<CipherValue>[^']*)'", SCRIPT).group(1)
    return re.sub(cipher, r"\1removed-by-iisguard\3", config)


APPHOST = """<configuration>
  <configProtectedData><providers>
    <add name="AesProvider" type="Microsoft.ApplicationHost.AesProtectedConfigurationProvider" sessionKey="AQIAAA5mAAAApAAAsessionSECRET==" />
  </providers></configProtectedData>
  <system.applicationHost>
    <applicationPools>
      <add name="Payroll"><processModel identityType="SpecificUser" userName="CORP\\svc" password="[enc:IISWASOnlyCngProvider:cGF5cm9sbA==:enc]" /></add>
      <add name="Legacy"><processModel identityType="SpecificUser" userName='svc2' password='Plain#Secret1' /></add>
      <add name="Empty"><processModel identityType="SpecificUser" userName="svc3" password="" /></add>
    </applicationPools>
    <sites><site name="S" id="1"><application path="/" applicationPool="Payroll">
      <virtualDirectory path="/" physicalPath="\\\\files\\s" userName="CORP\\content" password = "[enc:IISCngProvider:Y29udGVudA==:enc]" />
    </application></site></sites>
  </system.applicationHost>
  <system.webServer><security><authentication>
    <anonymousAuthentication userName="CORP\\anon" password="Anon#Secret2" />
  </authentication></security></system.webServer>
</configuration>
"""
WEB_CONFIG = """<configuration>
  <connectionStrings>
    <add name="a" connectionString="Server=db;User Id=u;Password=Conn#Secret3;" />
    <add name="b" connectionString="Driver={x};Uid=sa;PWD=Conn#Secret4" />
    <add name="c" connectionString="Server=db;Integrated Security=SSPI;Password=;" />
  </connectionStrings>
  <system.web>
    <identity impersonate="true" userName="CORP\\imp" password="Imp#Secret5" />
    <machineKey validationKey="ABCDEF0123456789VKEY" decryptionKey="0123456789DKEY" />
  </system.web>
  <appSettings configProtectionProvider="RsaProtectedConfigurationProvider">
    <EncryptedData><CipherData><CipherValue>Q2lwaGVyIzY=</CipherValue></CipherData></EncryptedData>
  </appSettings>
</configuration>
"""
SECRETS = [
    "sessionSECRET",
    "cGF5cm9sbA==",
    "Plain#Secret1",
    "Y29udGVudA==",
    "Anon#Secret2",
    "Conn#Secret3",
    "Conn#Secret4",
    "Imp#Secret5",
    "0123456789VKEY",
    "0123456789DKEY",
    "Q2lwaGVyIzY=",
]


def imported(files: dict[str, str]) -> dict[str, Any]:
    artifacts = [
        Artifact(source=Path(n), path=n, data=t.encode(), hint={"relpath": n}) for n, t in files.items()
    ]
    return importer.build_snapshot(artifacts, parsers=registry.builtin_parsers(), host="R")


def secret_facts(snap: dict[str, Any]) -> Any:
    iis = snap["iis"]
    return (
        [p["identity"]["password"] for p in iis["app_pools"]],
        iis["sites"][0]["applications"][0]["virtual_directories"][0]["password"],
        [a["anonymous"]["password"] for a in iis["authentication"]],
        snap["aspnet"][0]["identity"]["password"],
        snap["aspnet"][0]["connection_strings"],
    )


def test_replaced_secrets_leave_the_facts_the_rules_need() -> None:
    files = {"iis/applicationHost.config": APPHOST, "webconfig/S/web.config": WEB_CONFIG}
    redacted = {n: redact(t) for n, t in files.items()}
    for text_ in redacted.values():
        for secret in SECRETS:
            assert secret not in text_
    assert 'userName="CORP\\svc"' in redacted["iis/applicationHost.config"]  # names stay
    assert 'password=""' in redacted["iis/applicationHost.config"]  # empty stays empty
    assert secret_facts(imported(redacted)) == secret_facts(imported(files))
    pools = imported(redacted)["iis"]["app_pools"]
    assert pools[0]["identity"]["password"] == {
        "present": True,
        "encrypted": True,
        "provider": "IISWASOnlyCngProvider",
    }
    assert pools[1]["identity"]["password"] == {"present": True, "encrypted": False, "provider": None}
    assert pools[2]["identity"]["password"] == {"present": False}


def test_capture_script_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["capture-script"]) == 0
    assert capsys.readouterr().out == SCRIPT
    out = tmp_path / "capture.ps1"
    assert main(["capture-script", "--out", str(out)]) == 0
    assert out.read_text() == SCRIPT
    assert "iisguard import" in capsys.readouterr().err
    assert json.dumps(SCRIPT)  # plain text, nothing binary

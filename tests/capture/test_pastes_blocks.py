"""Pastes of several commands: each command block detected on its own, prompts of many shells,
echo markers, echoed commands, icacls' wrapped and relative paths; evidence points into the paste."""

from __future__ import annotations

from pathlib import Path

import pytest

from iisguard.capture import blocks, console, registry
from iisguard.capture.base import Artifact
from iisguard.capture.importer import build_snapshot

PASTES = Path(__file__).parent / "pastes"
PARSERS = registry.builtin_parsers()


def imported(name: str, data: bytes | None = None, host: str | None = "H") -> dict:
    raw = data if data is not None else (PASTES / name).read_bytes()
    return build_snapshot([Artifact(source=Path(name), path=name, data=raw)], host=host, parsers=PARSERS)


def lines(name: str) -> list[str]:
    return (PASTES / name).read_text("utf-8").splitlines()


def line_of(name: str, text: str) -> int:
    return next(i for i, line in enumerate(lines(name), 1) if text in line)


@pytest.mark.parametrize(
    ("line", "command", "cwd", "host"),
    [
        (
            "*Evil-WinRM* PS C:\\Program Files\\App> icacls App.exe",
            "icacls App.exe",
            "C:\\Program Files\\App",
            None,
        ),
        ("PS>", "", None, None),
        ("PS> whoami /priv", "whoami /priv", None, None),
        ("PS /home/ana> Enter-PSSession web02", "Enter-PSSession web02", "/home/ana", None),
        ("[web02.north.example]: PS C:\\> setspn -L svc", "setspn -L svc", "C:\\", "web02.north.example"),
        ("> setspn.exe -Q HTTP/portal", "setspn.exe -Q HTTP/portal", None, None),
        ("C:\\xampp>icacls htdocs", "icacls htdocs", "C:\\xampp", None),
        ("kali@kali:~$ evil-winrm -i 192.0.2.7 -u x", "evil-winrm -i 192.0.2.7 -u x", None, None),
    ],
)
def test_prompts_of_many_shells(line, command, cwd, host):
    p = console.prompt(line)
    assert p is not None and (p.command, p.cwd, p.host) == (command, cwd, host)


@pytest.mark.parametrize(
    "line",
    [
        "> rights.inf:3:SeDebugPrivilege = *S-1-5-32-544",
        "Type : Directory",
        "User name    svc",
        "More information",
    ],
)
def test_output_lines_are_not_prompts_or_commands(line):
    assert console.prompt(line) is None and not console.is_command(line)


@pytest.mark.parametrize(
    ("line", "label"),
    [
        ("===ACL===", "ACL"),
        ("----- whoami -----", "whoami"),
        ("### icacls C:\\inetpub ###", "icacls C:\\inetpub"),
        ("=== users", "users"),
    ],
)
def test_script_markers(line, label):
    assert console.marker(line) == label


@pytest.mark.parametrize("line", ["=====  =======", "------------------", "--- ---", "USER INFORMATION"])
def test_table_rules_are_not_markers(line):
    assert console.marker(line) is None


def test_evil_winrm_session_of_three_commands():
    name = "evilwinrm_priv_netuser_icacls.txt"
    snap = imported(name)
    c = snap["collection"]
    assert c["artifacts"][0]["kind"] == "whoami+local_accounts+icacls"
    assert c["warnings"] == [] and c["unrecognized"] == []
    token = snap["tokens"][0]
    assert [p["name"] for p in token["privileges"]] == [
        "SeMachineAccountPrivilege",
        "SeChangeNotifyPrivilege",
        "SeImpersonatePrivilege",
    ]
    user = next(p for p in snap["principals"] if p.get("name") == "svc_ledger")
    assert user["kind"] == "domain_user"  # `net user NAME /domain` is the domain's account
    assert user["evidence"]["line"] == line_of(name, "User name")
    (acl,) = snap["acls"]
    assert acl["path"] == "C:\\Program Files\\Ledger\\Ledger.exe"  # relative to the prompt's folder
    assert acl["evidence"]["line"] == line_of(name, "Ledger.exe NT AUTHORITY")
    assert [a["evidence"]["line"] for a in acl["aces"]][-1] == line_of(name, "LEDGER\\svc_ledger:(I)(M)")


def test_cmd_echo_relative_path_and_whoami_table():
    name = "cmd_echo_icacls_relative_whoami.txt"
    snap = imported(name)
    assert snap["collection"]["warnings"] == []
    (acl,) = snap["acls"]
    assert acl["path"] == "C:\\wamp64\\www"
    assert acl["evidence"]["line"] == line_of(name, "www BUILTIN")
    assert len(snap["tokens"][0]["privileges"]) == 5


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "crlf"])
def test_script_echo_markers(encoding):
    name = "script_markers_de.txt"
    text = (PASTES / name).read_text("utf-8")
    data = (
        text.encode("utf-16")
        if encoding == "utf-16"
        else text.replace("\n", "\r\n").encode()
        if encoding == "crlf"
        else text.encode()
    )
    snap = imported(name, data)
    c = snap["collection"]
    assert c["artifacts"][0]["kind"] == "icacls+secedit+setspn"
    assert c["warnings"] == [] and c["unrecognized"] == []
    assert snap["acls"][0]["path"] == "C:\\inetpub\\kasse"
    assert snap["user_rights"]["SeDebugPrivilege"] == ["S-1-5-32-544"]
    assert snap["user_rights_evidence"]["SeDebugPrivilege"][0]["line"] == line_of(name, "SeDebugPrivilege")
    svc = next(p for p in snap["principals"] if p.get("spns"))
    assert svc["spns"] == ["HTTP/kasse.handel.example", "HTTP/kasse"]


def test_remoting_from_linux_and_an_unrecognized_block_with_its_lines():
    name = "ps7_linux_remoting.txt"
    snap = imported(name, host=None)
    c = snap["collection"]
    assert snap["host"]["name"] == "WEB02"
    first, last = line_of(name, "> Get-Date"), line_of(name, "> icacls") - 1
    assert c["unrecognized"] == [
        {"path": name, "reason": f"lines {first}-{last} (Get-Date): no parser recognized the content"}
    ]
    assert snap["acls"][0]["path"] == "C:\\inetpub\\wwwroot\\uploads"
    assert any(p.get("spns") == ["HTTP/web02.north.example", "HTTP/web02"] for p in snap["principals"])


def test_bare_prompts_of_a_write_up():
    snap = imported("bare_prompts_writeup.txt")
    assert snap["collection"]["artifacts"][0]["kind"] == "whoami+setspn"
    assert [p["name"] for p in snap["tokens"][0]["privileges"]][1] == "SeImpersonatePrivilege"
    assert any(p.get("spns") == ["HTTP/portal.fabrikam.example"] for p in snap["principals"])


def test_a_file_of_one_kind_is_read_whole():
    art = Artifact(
        source=Path("x"), path="x", data=(PASTES / "cmd_echo_icacls_relative_whoami.txt").read_bytes()
    )
    assert blocks.plan(art, PARSERS) is not None
    one = "C:\\a>icacls b\nb BUILTIN\\Users:(RX)\n\nC:\\a>icacls c\nc BUILTIN\\Users:(F)\n"
    assert blocks.plan(Artifact(source=Path("y"), path="y", data=one.encode()), PARSERS) is None


def test_blocks_stream_once_per_pass_and_big_parts_spill_to_disk(monkeypatch):
    monkeypatch.setattr(blocks, "MEMORY_BYTES", 256)
    body = "".join(f"C:\\d\\f{i}.txt BUILTIN\\Users:(RX)\n" for i in range(200))
    text = (
        "PS C:\\d> whoami /priv\n\nPrivilege Name          Description State\n"
        + ("======================= =========== ========\nSeChangeNotifyPrivilege Bypass      Enabled\n\n")
        + "PS C:\\d> icacls C:\\d\\* \n"
        + body
    )
    art = Artifact(source=Path("big.txt"), path="big.txt", data=text.encode())
    parts = blocks.plan(art, PARSERS)
    assert parts is not None and [p.parser.kind for p in parts] == ["whoami", "icacls"]
    assert parts[1].spill and Path(parts[1].spill).is_file()
    blocks.cleanup(parts)
    assert not Path(parts[1].spill).exists()
    snap = imported("big.txt", text.encode())
    assert len(snap["acls"]) == 200 and snap["acls"][-1]["evidence"]["line"] == text.count("\n")


# -- icacls: wrapped paths ----------------------------------------------------------------------------


def icacls_snap(text: str) -> dict:
    return build_snapshot(
        [Artifact(source=Path("i.txt"), path="i.txt", data=text.encode())],
        host="H",
        kind="icacls",
        parsers=PARSERS,
    )


@pytest.mark.parametrize("width", [80, 120])
def test_a_path_wrapped_at_the_console_width_is_joined(width):
    path = "C:\\inetpub\\sites\\" + "a" * (width + 10) + "\\web.config"
    line = f"{path} BUILTIN\\Users:(I)(RX)"
    wrapped = "\n".join(line[i : i + width] for i in range(0, len(line), width))
    snap = icacls_snap(wrapped + "\n")
    assert [a["path"] for a in snap["acls"]] == [path]


def test_a_short_line_before_an_ace_line_is_warned_not_glued():
    snap = icacls_snap("Listing of the app folder\nC:\\App\\App.exe BUILTIN\\Users:(RX)\n")
    assert [a["path"] for a in snap["acls"]] == ["C:\\App\\App.exe"]
    assert [w["line"] for w in snap["collection"]["warnings"]] == [1]


def test_a_path_start_that_cannot_stand_alone_is_joined():
    snap = icacls_snap("C:\\inetpub\\wwwroot\\a\n\\b.txt BUILTIN\\Users:(RX)\n")
    assert [a["path"] for a in snap["acls"]] == ["C:\\inetpub\\wwwroot\\a\\b.txt"]

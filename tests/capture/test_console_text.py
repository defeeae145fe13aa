"""Shared console helpers: prompts, wrapped values, Format-List collections, dates, localized words."""

from __future__ import annotations

import pytest

from iisguard.capture import console, timefmt, words


@pytest.mark.parametrize(
    ("line", "command", "cwd", "host"),
    [
        ("C:\\inetpub>icacls wwwroot", "icacls wwwroot", "C:\\inetpub", None),
        ("PS C:\\> whoami /priv", "whoami /priv", "C:\\", None),
        (
            "[web01]: PS C:\\Users\\me\\Documents> setspn -L web01",
            "setspn -L web01",
            "C:\\Users\\me\\Documents",
            "web01",
        ),
        ("PS Microsoft.PowerShell.Core\\FileSystem::\\\\srv\\share> dir", "dir", "\\\\srv\\share", None),
        ("PS>", "", None, None),
    ],
)
def test_prompts(line, command, cwd, host):
    p = console.prompt(line)
    assert p is not None and (p.command, p.cwd, p.host) == (command, cwd, host)


@pytest.mark.parametrize(
    "line", ["C:\\inetpub\\wwwroot BUILTIN\\Users:(RX)", "SeShutdownPrivilege Disabled", "Path : x"]
)
def test_output_is_not_a_prompt(line):
    assert console.prompt(line) is None


def test_join_wrapped_breaks_at_words_and_inside_long_words():
    assert (
        console.join_wrapped(["{CN=Web Shop Service", "Accounts,DC=corp}"])
        == "{CN=Web Shop Service Accounts,DC=corp}"
    )
    assert console.join_wrapped(["O:S-1-5-80-9560", "08885G:SYD:PAI"]) == "O:S-1-5-80-956008885G:SYD:PAI"
    assert console.join_wrapped(["a b", "cccccccccc", "dd e"]) == "a b ccccccccccdd e"


def test_brace_lists():
    assert console.brace_list("{CN=a\\, b,DC=x, CN=c,DC=x}") == (["CN=a\\, b,DC=x", "CN=c,DC=x"], False)
    assert console.brace_list("{HTTP/a, HTTP/b, HTTP/c, HTTP/d...}") == (
        ["HTTP/a", "HTTP/b", "HTTP/c", "HTTP/d"],
        True,
    )
    assert console.brace_list("{}") == ([], False)
    assert console.brace_list("plain") is None


def test_dash_columns_and_cells():
    spans = console.dash_columns("----               ------- -----------")
    assert spans == [(0, 4), (19, 26), (27, 38)]
    assert console.cut_columns("svc web            True    a b c", spans) == ["svc web", "True", "a b c"]
    assert console.dash_columns("not a separator") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/Date(1589987654321)/", "2020-05-20T15:14:14Z"),
        ("\\/Date(1589987654321+0200)\\/", "2020-05-20T15:14:14Z"),
        (132344612543210000, "2020-05-20T15:14:14Z"),
        ("2020-05-20T17:14:14.3210000+02:00", "2020-05-20T15:14:14Z"),
        ("5/20/2020 3:14:14 PM", "2020-05-20T15:14:14Z"),
        ("20.05.2020 15:14:14", "2020-05-20T15:14:14Z"),
        ("20/05/2020 15:14:14", "2020-05-20T15:14:14Z"),
        (0, None),
        (9223372036854775807, None),
        ("Never", None),
        ("13/13/2020", None),
    ],
)
def test_dates(value, expected):
    assert timefmt.to_rfc3339(value) == expected


@pytest.mark.parametrize(
    ("text", "state"),
    [
        ("Enabled", True),
        ("Disabled", False),
        ("Aktiviert", True),
        ("Deaktiviert", False),
        ("Activé", True),
        ("Désactivé", False),
        ("D\u201asactiv\u201a", False),
        ("Habilitado", True),
        ("Deshabilitado", False),
        ("Abilitato", True),
        ("Disabilitato", False),
        ("Ingeschakeld", True),
        ("Uitgeschakeld", False),
        ("Replace a process level token Disabled", False),
        ("Devre dışı", False),
        ("Maybe", None),
    ],
)
def test_states(text, state):
    assert words.state_of(text) is state


def test_localized_builtin_names():
    assert words.sid_for("VORDEFINIERT\\Administratoren") == "S-1-5-32-544"
    assert words.sid_for("Administrateurs") == "S-1-5-32-544"
    assert words.sid_for("NT-AUTORITÄT\\SYSTEM") == "S-1-5-18"
    assert words.sid_for("Tout le monde") == "S-1-1-0"
    assert words.sid_for("CORP\\Benutzer") is None  # a domain account that happens to share the name
    assert words.sid_for("RED") is None  # only qualified names for NT AUTHORITY words
    assert words.sid_for("*S-1-5-32-545") == "S-1-5-32-545"


def test_json_documents_number_each_value_by_its_own_line():
    text = 'PS C:\\> Get-Service | % { $_ | ConvertTo-Json }\n{"Name": "a"}\n\n[\n  {"Name": "b"},\n  {"Name": "c"}\n]\n{"Name": "d"}\n'
    docs = list(console.json_documents(text))
    assert [line for line, _, _ in docs] == [2, 4, 8]
    assert [no for doc in docs for no, _ in console.json_items(*doc)] == [2, 5, 6, 8]
    with pytest.raises(ValueError, match="line 9: not valid JSON"):
        list(console.json_documents(text + '{"Name": x}\n'))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"a",
        b"a\n",
        b"a\r\n\r\nb",
        b"\xef\xbb\xbfx\ry\r",
        b"a\n\n",
        b"\r\n",
        b"x \n y\t\r\n",
        "\ufeffe\r\nz".encode("utf-16"),
    ],
)
def test_numbered_text_numbers_lines_as_the_streamed_reader_does(data):
    from pathlib import Path

    from iisguard.capture.base import Artifact

    artifact = Artifact(source=Path("x.txt"), path="x.txt", data=data)
    assert list(console.numbered_text(artifact.text())) == list(console.numbered(artifact))

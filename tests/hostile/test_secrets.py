"""Issue #18, cases 1-4: no secret from a capture, a server or a library reaches a snapshot, a warning,
an error line, a traceback or a log record; and a stray line does not hide the ACEs after it."""

from __future__ import annotations

import base64
import json
import logging

import pytest

from iisguard import redact as redaction
from iisguard.capture.importer import import_paths
from iisguard.collect import assemble
from iisguard.redact import REDACTED, redact

from .conftest import one_error_line, run

SECRET = "Hunter2-Sekr3t-x9"


@pytest.mark.parametrize(
    "text",
    [
        f"password for svc is {SECRET}",
        f'$p = ConvertTo-SecureString "{SECRET}" -AsPlainText -Force',
        f"$c = New-Object PSCredential('x', (ConvertTo-SecureString '{SECRET}'))",
        f"Server=db;User ID=sa;Password={SECRET} with spaces;Database=x",
        f"Data Source=db;Pwd={SECRET}",
        f"net use \\\\srv\\c$ /user:CORP\\x /password:{SECRET}",
        f"New-LocalUser -Name x -Password {SECRET}",
        f"Set-X -Password:'{SECRET}'",
        f'<add password="{SECRET}" />',
        f'{{"password": "{SECRET}"}}',
        f"Password          : {SECRET}",
        f"https://x/?user=a&pwd={SECRET}&z=1",
        f'userName="x" password="[enc:IISWASOnlyCngProvider:{SECRET}:enc]"',
        f"[enc:AesProvider:{SECRET}",  # a blob cut off by a line wrap
        "Authorization: Negotiate TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==",
        "{'WWW-Authenticate': 'NTLM TlRMTVNTUAACAAAADAAMADgAAAA1goni'}",
        "token TlRMTVNTUAADAAAAGAAYAEgAAAAYABgAYAAAAA0ADQB4AAAA",
        "machineKey validationKey 0A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F6071",
    ],
)
def test_the_one_redaction_function_masks_every_form(text):
    masked = redact(text)
    assert REDACTED in masked
    for piece in (SECRET, "TlRMTVNTUAAB", "TlRMTVNTUAAC", "TlRMTVNTUAAD", "0A1B2C3D4E5F607182"):
        assert piece not in masked


@pytest.mark.parametrize(
    "text",
    [
        "no password: set IISGUARD_PASSWORD; passwords are never accepted on the command line",
        "C:\\inetpub\\wwwroot BUILTIN\\IIS_IUSRS:(OI)(CI)(RX)",
        "/usr/lib/python3/site-packages/iisguard/capture/importer.py",
        "application pool 'Payroll' runs as LocalSystem",
    ],
)
def test_ordinary_text_is_left_alone(text):
    assert redact(text) == text


def test_a_registered_password_is_masked_everywhere():
    redaction.register_secret("plain-words-only")
    assert redact("the server said plain-words-only twice") == f"the server said {REDACTED} twice"


ICACLS = f"""\
C:\\inetpub\\wwwroot BUILTIN\\IIS_IUSRS:(OI)(CI)(RX)
password for svc is {SECRET}
                   NT AUTHORITY\\SYSTEM:(I)(F)
                   BUILTIN\\Users:(I)(RX)
$pw = ConvertTo-SecureString "{SECRET}" -AsPlainText -Force
                   Everyone:(F)

Successfully processed 1 files; Failed processing 0 files
"""


def test_a_stray_line_is_redacted_and_does_not_hide_the_next_aces(tmp_path):
    (tmp_path / "acl.txt").write_text(ICACLS)
    out = tmp_path / "snap.json"
    data = import_paths([str(tmp_path / "acl.txt")], output=str(out))
    text = out.read_text()
    assert SECRET not in text and SECRET not in json.dumps(data)
    aces = [a["principal"] for a in data["acls"][0]["aces"]]
    # The ACEs after each injected line are recovered, Everyone:(F) included: it is what a rule must see.
    assert aces == ["BUILTIN\\IIS_IUSRS", "NT AUTHORITY\\SYSTEM", "BUILTIN\\Users", "Everyone"]
    messages = [w["message"] for w in data["collection"]["warnings"]]
    assert len(messages) == 2 and all(REDACTED in m for m in messages)


def test_strict_output_quotes_only_redacted_lines(tmp_path, capsys):
    (tmp_path / "acl.txt").write_text(ICACLS)
    code, out, err = run(capsys, "import", tmp_path / "acl.txt", "-o", tmp_path / "s.json", "--strict")
    assert code == 2 and SECRET not in out + err and REDACTED in err


CAPTURE_YAML = f"""\
host: WEB01
environment:
  SystemDrive: "C:"
  DB_PASSWORD: "{SECRET}"
  windir: 'C:\\Windows'
sections:
  - {{name: ad, status: failed, message: "Get-ADUser failed: -Password {SECRET} was rejected"}}
"""


def test_capture_yaml_messages_are_redacted_and_environment_is_allow_listed(tmp_path):
    folder = tmp_path / "cap"
    folder.mkdir()
    (folder / "capture.yaml").write_text(CAPTURE_YAML)
    (folder / "acl.txt").write_text("C:\\inetpub BUILTIN\\Users:(RX)\n")
    data = import_paths([str(folder)], output=str(tmp_path / "s.json"))
    text = (tmp_path / "s.json").read_text()
    assert SECRET not in text
    assert data["host"]["environment"] == {"SystemDrive": "C:", "windir": "C:\\Windows"}
    ad = next(s for s in data["collection"]["sections"] if s["name"] == "ad")
    assert ad["status"] == "failed" and REDACTED in ad["message"]
    assert any("'DB_PASSWORD'" in w["message"] for w in data["collection"]["warnings"])


def test_clixml_errors_from_the_script_are_redacted(tmp_path):
    from iisguard.capture.stream import encode

    from ..winrm_server import clixml

    folder = tmp_path / "cap"
    folder.mkdir()
    (folder / "capture.yaml").write_text("host: WEB01\n")
    (folder / "acl.txt").write_text("C:\\inetpub BUILTIN\\Users:(RX)\n")
    stderr = clixml([f"New-Object : cannot bind -Password {SECRET}", f"connection Password={SECRET};"])
    snap = assemble.snapshot_from_output(encode(folder).encode(), stderr, 0, where="WEB01", source="winrm")
    text = json.dumps(snap)
    assert SECRET not in text and "the capture script reported" in text


def test_error_line_and_debug_traceback_are_redacted(tmp_path, capsys):
    """A saved capture stream whose bad header quotes a secret: the error line and the --debug
    traceback print the fault text, masked."""
    saved = tmp_path / "stream.txt"
    saved.write_text(f"IISGUARD-CAPTURE 1 host=W\nIISGUARD-SECTION name=ad status=bogus password={SECRET}\n")
    code, out, err = run(capsys, "import", saved, "-o", tmp_path / "s.json")
    assert code == 2 and SECRET not in out + err
    assert one_error_line(err).startswith("iisguard: error: stream.txt: capture stream: bad SECTION")
    code, out, err = run(capsys, "--debug", "import", saved, "-o", tmp_path / "s.json")
    assert code == 2 and "Traceback" in err and SECRET not in out + err and REDACTED in err


@pytest.mark.parametrize("logger", ["spnego._ntlm", "requests_ntlm", "spnego"])
@pytest.mark.parametrize("level", [logging.DEBUG, logging.INFO, logging.WARNING])
def test_authentication_tokens_are_never_logged(logger, level, caplog):
    """pyspnego logs "NTLM step input/output: <base64>" at DEBUG: the challenge and the NTLMv2 response
    are an offline-crackable hash. Whatever the level, the token never reaches a handler."""
    redaction.install_log_redaction()
    token = base64.b64encode(b"NTLMSSP\x00\x03\x00\x00\x00" + bytes(range(48))).decode()
    short = base64.b64encode(b"NTLMSSP\x00\x01").decode()  # shorter than the generic base64 rule
    caplog.set_level(logging.DEBUG)
    logging.getLogger(logger).log(level, "NTLM step input: %s", token)
    logging.getLogger(logger).log(level, "NTLM step output: %s", short)
    logging.getLogger("urllib3").log(level, "headers %r", {"Authorization": f"Negotiate {token}"})
    text = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert token not in text and short not in text and "NTLM step input" in text
    assert "Negotiate ********" in text


def test_log_records_cannot_forge_lines_or_drive_the_terminal(caplog):
    redaction.install_log_redaction()
    caplog.set_level(logging.DEBUG)
    logging.getLogger("iisguard.x").warning("host %s", "EVIL\n[ERROR] forged\x1b[2J\u202e")
    message = caplog.records[-1].getMessage()
    assert "\n" not in message and "\x1b" not in message and "\u202e" not in message
    assert "\\x0a" in message and "\\u202e" in message

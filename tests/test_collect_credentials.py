"""Credentials come from the environment, a prompt, or a ticket cache; passwords never reach a log line."""

from __future__ import annotations

import base64
import logging

import pytest

from iisguard.collect import credentials as creds
from iisguard.errors import UsageError


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in (creds.USERNAME_ENV, creds.PASSWORD_ENV, "DMZ_USER", "DMZ_PASS"):
        monkeypatch.delenv(name, raising=False)


def test_from_environment(monkeypatch):
    monkeypatch.setenv("IISGUARD_USERNAME", r"CORP\svc_scan")
    monkeypatch.setenv("IISGUARD_PASSWORD", "env-secret-1")
    got = creds.resolve("ntlm", interactive=False)
    assert (got.username, got.password) == (r"CORP\svc_scan", "env-secret-1")
    assert "env-secret-1" not in repr(got) and "env-secret-1" not in str(got)


def test_group_specific_variables(monkeypatch):
    monkeypatch.setenv("DMZ_USER", "dmzscan")
    monkeypatch.setenv("DMZ_PASS", "dmz-secret")
    got = creds.resolve("basic", username_env="DMZ_USER", password_env="DMZ_PASS", interactive=False)
    assert (got.username, got.password) == ("dmzscan", "dmz-secret")


def test_prompt_on_a_terminal(monkeypatch):
    asked = []
    monkeypatch.setattr(creds, "_ask", lambda prompt: asked.append(prompt) or "scanner")
    monkeypatch.setattr(creds.getpass, "getpass", lambda prompt: asked.append(prompt) or "typed-secret")
    got = creds.resolve("ntlm", interactive=True, prompt_for="web01:5986")
    assert (got.username, got.password) == ("scanner", "typed-secret")
    assert asked == [
        "User name for web01:5986 (DOMAIN\\user or user): ",
        "Password for scanner for web01:5986: ",
    ]


def test_no_terminal_no_environment_is_a_usage_error():
    with pytest.raises(UsageError, match="set IISGUARD_USERNAME .* never accepted on the command line"):
        creds.resolve("ntlm", interactive=False)


def test_kerberos_and_certificate_need_no_password(monkeypatch):
    assert creds.resolve("kerberos", interactive=False) == creds.Credentials(None, None)
    monkeypatch.setenv("IISGUARD_USERNAME", "scan@CORP.EXAMPLE")
    assert creds.resolve("kerberos", interactive=False).username == "scan@CORP.EXAMPLE"
    assert creds.resolve("certificate", interactive=False).password is None


def test_no_password_option_on_the_command_line():
    from iisguard.cli import build_parser

    help_text = build_parser()._subparsers._group_actions[0].choices["collect"].format_help()  # noqa: SLF001
    assert "--password" not in help_text and "IISGUARD_PASSWORD" in help_text


def test_log_records_are_redacted_whatever_the_logger(monkeypatch, caplog):
    monkeypatch.setenv("IISGUARD_USERNAME", "scanner")
    monkeypatch.setenv("IISGUARD_PASSWORD", "log-secret-42")
    creds.resolve("basic", interactive=False)
    header = base64.b64encode(b"scanner:log-secret-42").decode()
    caplog.set_level(logging.DEBUG)
    child = logging.getLogger("urllib3.connectionpool.fake")
    child.debug("sending Authorization: Basic %s", header)
    child.debug("password is %s", "log-secret-42")
    logging.getLogger("spnego").debug("dict %r", {"password": "log-secret-42"})
    try:
        raise RuntimeError("failed with log-secret-42")
    except RuntimeError:
        logging.getLogger("iisguard.x").exception("boom")
    text = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert "log-secret-42" not in text and header not in text
    assert text.count(creds.REDACTED) >= 4
    assert "RuntimeError: failed with ********" in caplog.text

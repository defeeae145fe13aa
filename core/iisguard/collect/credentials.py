"""Credentials for remote collection, and the logging filter that keeps passwords out of every log line.

Where a password may come from, in order: the environment (IISGUARD_PASSWORD, or the variable an
inventory group names), a prompt when standard input is a terminal, or nowhere at all for Kerberos
(the ticket cache) and certificate authentication. Never from the command line: argv is visible to
every user of the machine (`ps`, /proc) and lands in shell history and CI logs.
"""

from __future__ import annotations

import base64
import getpass
import logging
import os
import sys
import threading
from dataclasses import dataclass, field

from ..errors import UsageError

USERNAME_ENV = "IISGUARD_USERNAME"
PASSWORD_ENV = "IISGUARD_PASSWORD"
# Transports that authenticate with something other than a password.
NO_PASSWORD = frozenset({"kerberos", "certificate"})


@dataclass(frozen=True)
class Credentials:
    """A user name and password; the password never shows in repr() or str()."""

    username: str | None
    password: str | None = field(default=None, repr=False)

    def __str__(self) -> str:
        return f"Credentials(username={self.username!r}, password={'***' if self.password else None})"


def resolve(
    transport: str,
    *,
    username_env: str = USERNAME_ENV,
    password_env: str = PASSWORD_ENV,
    interactive: bool | None = None,
    prompt_for: str = "",
) -> Credentials:
    """The credentials a transport needs, from the environment or (on a terminal) a prompt.

    Raises UsageError naming the environment variables when nothing supplies them.
    """
    if interactive is None:
        interactive = sys.stdin.isatty() and sys.stderr.isatty()
    username = os.environ.get(username_env) or None
    password = os.environ.get(password_env)
    if transport in NO_PASSWORD:
        # Kerberos uses the ticket cache (kinit); a user name, if given, picks the principal.
        if transport == "kerberos" and password:
            logging.getLogger(__name__).info(
                "%s is ignored for Kerberos: the ticket cache is used", password_env
            )
        return Credentials(username, None)
    where = f" for {prompt_for}" if prompt_for else ""
    if not username:
        if not interactive:
            raise UsageError(
                f"no user name: set {username_env} (and {password_env}); "
                "passwords are never accepted on the command line"
            )
        username = _ask(f"User name{where} (DOMAIN\\user or user): ") or None
        if not username:
            raise UsageError("no user name given")
    if password is None:
        if not interactive:
            raise UsageError(
                f"no password: set {password_env}; passwords are never accepted on the command line"
            )
        password = getpass.getpass(f"Password for {username}{where}: ")
    register_secret(password)
    if transport == "basic":
        # Basic puts base64("user:password") in a header; redact that form too.
        register_secret(base64.b64encode(f"{username}:{password}".encode()).decode("ascii"))
    return Credentials(username, password)


def _ask(prompt: str) -> str:
    """A line from the terminal, prompting on stderr (stdout may be carrying the snapshot)."""
    sys.stderr.write(prompt)
    sys.stderr.flush()
    return sys.stdin.readline().strip()


# -- redaction ---------------------------------------------------------------------------------
_secrets: set[str] = set()
_lock = threading.Lock()
REDACTED = "********"


def register_secret(secret: str | None) -> None:
    """Mask `secret` in every log record created from now on, whichever logger or handler."""
    if not secret:
        return
    with _lock:
        _secrets.add(secret)
    install_redaction()


def redact(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def _redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Freeze the record's message (arguments and traceback included) with every known secret masked."""
    if not _secrets:
        return record
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a broken format string is not ours to fix; mask what we have
        message = str(record.msg)
    record.msg = redact(message)
    record.args = None
    if record.exc_info:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        record.exc_info = None  # the masked exc_text is what handlers print
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


class RedactingFilter(logging.Filter):
    """A handler filter doing the same, for handlers that build records by hand (makeLogRecord)."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


_installed = False


def install_redaction() -> None:
    """Wrap the log record factory once, so every record from every logger is masked at birth.

    A filter on the root logger would miss records propagated from child loggers (pywinrm,
    urllib3, spnego), and handler filters miss handlers added later; the factory sees them all.
    """
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        return _redact_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())

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


# -- redaction: one home, iisguard.redact; these names stay for callers of this module ----------
from ..redact import (  # noqa: E402
    REDACTED,
    RedactingFilter,
    _redact_record,
    install_log_redaction,
    redact,
    register_secret,
)

install_redaction = install_log_redaction

__all__ = [
    "REDACTED",
    "Credentials",
    "RedactingFilter",
    "_redact_record",
    "install_redaction",
    "redact",
    "register_secret",
    "resolve",
]

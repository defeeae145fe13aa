"""The one redaction function: what a server, a capture or a library says, with its secrets masked.

Everything iisguard quotes from text it did not write goes through `redact()` before it reaches a
snapshot, a report, a log record or an error line: skipped lines in `collection.warnings`,
`capture.yaml` section messages, the capture script's CLIXML errors, WS-Management faults, final
`iisguard: error:` lines and `--debug` tracebacks. It masks

- the collection password itself (and Basic's base64 of `user:password`), once registered;
- `password=` / `pwd=` / `secret=` ... values (connection strings, URLs, XML attributes, JSON);
- `-Password x`, `-Password:x`, `/password:x`, `/p:x`, `ConvertTo-SecureString "x"`, and every quoted
  string on a line that mentions `-AsPlainText` or `SecureString`;
- script variables named for a secret and assigned a value (`$svcPassword = 'x'`, `set ANON_PW=x`);
- `Password : x` (Format-List) and "the password for svc is x" (prose);
- `[enc:Provider:…:enc]` blobs;
- `Authorization` / `WWW-Authenticate` / `Proxy-Authorization` values (the scheme stays);
- long base64 runs (NTLM and Kerberos tokens, keys) and long hex runs (hashes, machine keys).

It over-masks on purpose: a warning that reads `password=********` loses nothing a reader needs.

`printable()` is the other half of quoting foreign text: control and bidi characters (terminal
escapes, a forged newline in a log line, U+202E) become visible `\\x1b` / `\\u202e` escapes.

`install_log_redaction()` wraps the log record factory so every record of every logger (pywinrm,
requests_ntlm, spnego, urllib3) is masked and escaped at birth, whatever the level.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback

REDACTED = "********"

_secrets: set[str] = set()
_lock = threading.Lock()

_KEYS = (
    r"password|passwd|pwd|pass|passphrase|secret|client_secret|api[_-]?key|access[_-]?key"
    r"|account[_-]?key|shared[_-]?access[_-]?key|private[_-]?key|token|auth[_-]?token|credentials?"
)
# key=value (connection strings, URLs, command lines, XML attributes, JSON "key": "value").
_ASSIGN = re.compile(
    rf"""(?ix)
    (?P<key>\b(?:{_KEYS})\b["']?\s*(?:=|:(?=\s*["'])|":)\s*)
    (?P<value>"[^"\r\n]*"?|'[^'\r\n]*'?|[^;&"'<>,}}\]\r\n]*)
    """
)
# PowerShell and Windows command lines: -Password x, -Password:x, /password:x, /p:x, /pass:x.
_SWITCH = re.compile(
    r"""(?ix)
    (?P<key>(?<![\w-])(?:-(?:password|passwd|pwd|secret|credential|accountpassword)(?:\s*:\s*|\s+)
      |/(?:password|passwd|pwd|pass|p)\s*:))
    (?P<value>"[^"\r\n]*"?|'[^'\r\n]*'?|\S+)
    """
)
# Build scripts: a variable named for a secret, assigned a value (`$svcPassword = 'x'`, `set ANON_PW=x`,
# `$adminPwd="x"`): the name holds the key word, with anything around it.
_SCRIPT_VAR = re.compile(
    r"""(?ix)
    (?P<key>(?:\$(?:script:|global:)?|\bset\s+"?)[\w]*(?:password|passwd|pwd|pw|secret)[\w]*"?\s*=\s*)
    (?P<value>"[^"\r\n]*"?|'[^'\r\n]*'?|[^\s;&|]*)
    """
)
# Format-List and YAML: `Password : x` at the start of a line.
_FIELD = re.compile(rf"(?im)^(?P<key>[ \t-]*(?:{_KEYS})[ \t]*:)(?P<value>[ \t]*\S.*)$")
# Prose: "the password for svc is hunter2", "password was: x".
_PROSE = re.compile(
    r"(?i)(?P<key>\b(?:password|passwd|pwd|passphrase|secret)\b(?:\s+(?:for|of)\s+\S+)?\s+(?:is|was|=)\s*:?)"
    r"(?P<value>\s*\S+)"
)
_SECURESTRING = re.compile(r"(?i)securestring|asplaintext|Get-Credential|PSCredential")
_QUOTED = re.compile(r""""[^"\r\n]*"|'[^'\r\n]*'""")
_CONVERT = re.compile(r"(?i)(ConvertTo-SecureString\s+(?:-String\s+)?)(\S+)")
_ENC = re.compile(r"\[enc:[^\]\s]*?:enc\]|\[enc:[^\]\s]*", re.IGNORECASE)
_AUTH = re.compile(
    r"""(?ix)
    (?P<key>\b(?:authorization|www-authenticate|proxy-authorization|proxy-authenticate)\b["']?\s*[:=]\s*["']?)
    (?P<value>[^"'\r\n,}]*)
    """
)
# A base64 run: long, mixed case with digits (a path of plain words does not qualify).
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{32,}={0,2}")
_HEX = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{32,}(?![0-9A-Fa-f])")


def register_secret(secret: str | None) -> None:
    """Mask `secret` wherever it appears from now on (the collection password, its Basic header form)."""
    if not secret:
        return
    with _lock:
        _secrets.add(secret)
    install_log_redaction()


def _mask_value(m: re.Match[str]) -> str:
    value = m.group("value")
    if not value.strip():
        return m.group(0)
    lead = value[: len(value) - len(value.lstrip())]
    quote = value.lstrip()[:1] if value.lstrip()[:1] in "\"'" else ""
    return f"{m.group('key')}{lead}{quote}{REDACTED}{quote}"


def _mask_auth(m: re.Match[str]) -> str:
    value = m.group("value").strip()
    if not value:
        return m.group(0)
    scheme, _, rest = value.partition(" ")
    # Keep the scheme (Basic, Negotiate, NTLM): it is what a reader needs to diagnose a failure.
    kept = f"{scheme} {REDACTED}" if rest.strip() else REDACTED
    return f"{m.group('key')}{kept}"


def _is_token(run: str) -> bool:
    body = run.rstrip("=")
    return (
        any(c.isdigit() for c in body)
        and any(c.isupper() for c in body)
        and any(c.islower() for c in body)
        and body.count("/") * 8 <= len(body)
    ) or run.endswith("=")


def redact(text: str) -> str:
    """`text` with every secret it may hold masked (see the module docstring for what counts)."""
    if not text:
        return text
    text = str(text)
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _ENC.sub(f"[enc:{REDACTED}:enc]", text)
    text = _AUTH.sub(_mask_auth, text)
    if _SECURESTRING.search(text):
        text = _CONVERT.sub(lambda m: m.group(1) + REDACTED, text)
        text = _QUOTED.sub(lambda m: m.group(0)[0] + REDACTED + m.group(0)[0], text)
    text = _SWITCH.sub(_mask_value, text)
    text = _SCRIPT_VAR.sub(_mask_value, text)
    text = _ASSIGN.sub(_mask_value, text)
    text = _FIELD.sub(_mask_value, text)
    text = _PROSE.sub(_mask_value, text)
    text = _BASE64.sub(lambda m: REDACTED if _is_token(m.group(0)) else m.group(0), text)
    text = _HEX.sub(REDACTED, text)
    return text


# -- control and bidi characters ------------------------------------------------------------------
# C0/C1 controls and DEL, plus the Unicode format characters that reorder or hide text (bidi
# embeddings, overrides and isolates, zero-width joiners, line/paragraph separators).
_BIDI = "\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff"
# Lone surrogates and the two non-characters would also corrupt an XML 1.0 report.
_ODD = "\ud800-\udfff\ufffe\uffff"
_UNPRINTABLE_KEEP_NL = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}{_ODD}]")
_UNPRINTABLE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}{_ODD}]")


def _escape(m: re.Match[str]) -> str:
    c = m.group(0)
    return f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with control and bidi characters shown as escapes, so it cannot drive a terminal or
    forge a line. With `keep_newlines`, newlines and tabs stay (a multi-line report)."""
    pattern = _UNPRINTABLE_KEEP_NL if keep_newlines else _UNPRINTABLE
    return pattern.sub(_escape, text) if pattern.search(text) else text


# What JSON and XML leave raw but a terminal obeys: DEL, C1 controls and the bidi/format characters.
_RAW_IN_MARKUP = re.compile(f"[\x7f-\x9f{_BIDI}]")


def escape_markup(text: str) -> str:
    """A JSON or XML/HTML document (a report on standard output) with DEL, C1 and bidi characters
    written as escapes that mean the same character (`\\u202e` in JSON, `&#x202e;` in XML), so
    `scan --format json` in a terminal cannot reorder or drive it. Other text is returned as is."""
    if not _RAW_IN_MARKUP.search(text):
        return text
    head = text.lstrip()[:1]
    if head in ("{", "["):  # the characters can only be inside JSON strings, where \\uXXXX is the same
        return _RAW_IN_MARKUP.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)
    if head == "<":
        return _RAW_IN_MARKUP.sub(lambda m: f"&#x{ord(m.group(0)):x};", text)
    return text


def quote(text: str, n: int = 100) -> str:
    """A line from a capture or a server, fit for a warning: redacted, escaped, at most `n` characters."""
    text = printable(redact(text))
    return text if len(text) <= n else text[: n - 3] + "..."


def redact_exception(exc: BaseException) -> str:
    """A formatted traceback (for --debug) with every secret masked."""
    return redact("".join(traceback.format_exception(exc)))


# -- logging ---------------------------------------------------------------------------------------
# Libraries that log authentication tokens at DEBUG ("NTLM step input: <base64>", SPNEGO blobs).
TOKEN_LOGGERS = (
    "spnego",
    "requests_ntlm",
    "ntlm_auth",
    "requests_kerberos",
    "requests_credssp",
    "krb5",
    "gssapi",
)
_TOKEN_WORDS = re.compile(r"(?i)\b(?:NTLM|SPNEGO|Negotiate|Kerberos|CredSSP|token|step (?:input|output))\b")


def _redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Freeze the record's message (arguments and traceback included) masked and escaped."""
    if getattr(record, "_iisguard_redacted", False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a broken format string is not ours to fix; mask what we have
        message = str(record.msg)
    if record.name.startswith(TOKEN_LOGGERS) and _TOKEN_WORDS.search(message):
        # An authentication library's step log: the token itself is the secret, whatever it looks like.
        head = message.split(":", 1)[0] if ":" in message else message[:40]
        message = f"{head}: {REDACTED}"
    record.msg = printable(redact(message), keep_newlines=False)
    record.args = None
    if record.exc_info:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        record.exc_info = None  # the masked exc_text is what handlers print
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    record._iisguard_redacted = True  # noqa: SLF001
    return record


class RedactingFilter(logging.Filter):
    """A handler filter doing the same, for handlers that build records by hand (makeLogRecord)."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


_installed = False


def install_log_redaction() -> None:
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

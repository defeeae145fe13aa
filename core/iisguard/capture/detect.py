"""Which parser reads a file: every parser scores the decoded head; the file name is only a hint."""

from __future__ import annotations

import inspect
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .base import Artifact

log = logging.getLogger(__name__)
# Control characters no text capture holds (tab, line ends, form feed and DOS end-of-file are text).
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x19\x1b-\x1f]")
THRESHOLD = 0.5  # below this no parser is confident enough to claim a file
# A parser chosen from the content claims a file only if it can read it: when it skipped at least
# MIN_SKIPPED lines and more than this share of the file's non-blank lines, the file is unrecognized.
MAX_SKIPPED_SHARE = 0.5
MIN_SKIPPED = 5
CONTENT = "detected from content"

# Files people hand to a scanner by mistake, named for what they are and never read as captures
# (a SARIF log mentions privileges and ACEs enough to pass for whoami or icacls output).
_JSON_KINDS = (
    (
        re.compile(r'^(?=.*"schema_version" ?:)(?=.*"(?:host|collection)" ?: ?\{)'),
        "an iisguard snapshot: scan it directly",
    ),
    (re.compile(r'"format"\s*:\s*"iisguard-findings"'), "an iisguard findings report (JSON), not a capture"),
    (
        re.compile(r'"\$schema"\s*:\s*"[^"]*sarif|"version"\s*:\s*"2\.1\.0"\s*,\s*"runs"'),
        "a SARIF log, not a capture",
    ),
)
_MARKUP_KINDS = (
    (re.compile(r"<testsuites?[\s>]"), "a JUnit report, not a capture"),
    (re.compile(r"<CHECKLIST[\s>]"), "a STIG checklist (CKL), not a capture"),
    (re.compile(r"(?i)<!DOCTYPE html|<html[\s>]"), "an HTML page, not a capture"),
)
_POLICY = re.compile(r"(?m)^apiVersion:\s*iisguard/")
# `appcmd list apppool` / `list site` without /config: one summary line per object, no identity or path.
_APPCMD_SUMMARY = re.compile(r'(?m)^\s*(?:APPPOOL|SITE|APP|VDIR|WP) "[^"\n]+" \([^()\n]*\)\s*$')
APPCMD_SUMMARY = (
    "appcmd list summary lines (names and states only: no identities, paths or authentication); capture "
    "`appcmd list apppool /config:* /xml` and `appcmd list site /config:* /xml`, or applicationHost.config"
)


def foreign(head: str) -> str | None:
    """What a file that is no capture looks like ("a SARIF log, not a capture"), or None."""
    text = head.lstrip("\ufeff \t\r\n")[:8192]
    if text.startswith("{"):
        squeezed = re.sub(r"\s+", " ", text)
        return next((what for pattern, what in _JSON_KINDS if pattern.search(squeezed)), None)
    if text.startswith("<"):
        return next((what for pattern, what in _MARKUP_KINDS if pattern.search(text[:4096])), None)
    if _POLICY.search(text):
        return "an iisguard policy or profile: give it to `iisguard scan --policy`"
    return None


@dataclass(frozen=True)
class Detection:
    parser: Any | None
    score: float
    reason: str


@lru_cache(maxsize=256)
def _takes_name(function: Any, bound: bool) -> bool:
    """Whether a detect() takes the file name too (older plugins take only the head). Asked once per
    function: inspect.signature on every call was most of the time a paste of 3,000 commands took."""
    params = list(inspect.signature(function).parameters.values())[1 if bound else 0 :]
    return len(params) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)


def _score(parser: Any, head: str, name: str) -> float:
    """A parser's confidence; a crashing or odd detect() counts as 0 (detect must never raise)."""
    try:
        method = parser.detect
        function = getattr(method, "__func__", None)
        target, bound = (function, True) if function is not None else (method, False)
        try:
            takes_name = _takes_name(target, bound)
        except TypeError:  # an unhashable callable: not cached
            takes_name = _takes_name.__wrapped__(target, bound)
        value = parser.detect(head, name) if takes_name else parser.detect(head)
        return max(0.0, min(1.0, float(value)))
    except Exception as exc:  # noqa: BLE001 - a plugin's detect() must not stop the import
        log.debug("detect() of %s raised %s", getattr(parser, "kind", parser), exc)
        return 0.0


def is_binary(head: str) -> bool:
    if "\x00" in head:
        return True
    sample = head[:4096]
    controls = len(_CONTROL.findall(sample))
    return bool(sample) and controls / len(sample) > 0.1


def detect(artifact: Artifact, parsers: list[Any], *, kind: str | None = None) -> Detection:
    """Pick the parser for an artifact: --kind, else the manifest's kind, else the content."""
    if kind is not None:
        forced = next((p for p in parsers if p.kind == kind), None)
        return (
            Detection(forced, 1.0, "forced with --kind")
            if forced
            else Detection(None, 0.0, f"unknown kind {kind!r}")
        )
    hinted = artifact.hint.get("kind")
    if hinted:
        named = next((p for p in parsers if p.kind == hinted), None)
        if named is not None:
            return Detection(named, 1.0, "kind named in capture.yaml")
    if artifact.size == 0:
        return Detection(None, 0.0, "empty file")
    if artifact.head_bytes.startswith(b"PK\x03\x04"):
        return Detection(None, 0.0, "a zip archive: import it as a PATH of its own to read the files in it")
    head = artifact.head
    if not head.strip():
        return Detection(None, 0.0, "holds only blank space")
    if is_binary(head):
        return Detection(None, 0.0, "binary data, not text any parser reads")
    looks = foreign(head)
    if looks:
        return Detection(None, 0.0, looks)
    name = artifact.path.replace("\\", "/").rsplit("/", 1)[-1]
    best: Any = None
    best_score = 0.0
    for parser in parsers:
        score = _score(parser, head, name)
        if score > best_score:
            best, best_score = parser, score
    if (best is None or best_score < THRESHOLD) and _APPCMD_SUMMARY.search(head):
        return Detection(None, best_score, APPCMD_SUMMARY)
    if best is None:
        return Detection(None, 0.0, "no parser recognized the content")
    if best_score < THRESHOLD:
        return Detection(
            None, best_score, f"no parser recognized the content (closest: {best.kind}, {best_score:.2f})"
        )
    return Detection(best, best_score, CONTENT)


def unreadable(artifact: Artifact, warned_lines: int) -> str | None:
    """Why a file its content-detected parser mostly could not read is not that format, or None.

    Counted after the parse (the lines are streamed again only when many were skipped), so a file
    that reads well costs nothing more.
    """
    if warned_lines < MIN_SKIPPED:
        return None
    total = sum(1 for line in artifact.lines() if line.strip())
    if warned_lines <= total * MAX_SKIPPED_SHARE:
        return None
    return f"{warned_lines:,} of its {total:,} lines could not be read"

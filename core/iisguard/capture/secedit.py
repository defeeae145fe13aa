"""`secedit /export /areas USER_RIGHTS` INF files and GPO `GptTmpl.inf` -> `user_rights`.

`[Privilege Rights]` lines read `SeImpersonatePrivilege = *S-1-5-19,*S-1-5-20,svc_web`: `*`-prefixed
SIDs become `S-1-...`, names stay as written. Other sections ([System Access], [Event Audit],
[Registry Values], ...) are read past without warnings: they are not this parser's business.
The usual encoding is UTF-16 LE with a BOM; Artifact decodes it.
"""

from __future__ import annotations

import re
from typing import Any

from ..model import sids
from . import console
from .base import Artifact, Builder

_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")
_ENTRY = re.compile(r"^\s*([A-Za-z][A-Za-z0-9]*)\s*=\s*(.*)$")


class SeceditParser:
    kind = "secedit"
    sections = ("user_rights",)

    def detect(self, head: str, name: str) -> float:
        score = 0.0
        if re.search(r"(?im)^\s*\[Privilege Rights\]\s*$", head):
            score = 0.95
        elif re.search(r"(?im)^\s*Se[A-Za-z]+(?:Right|Privilege)\s*=\s*(?:\*S-1-|\S)", head):
            score = 0.7
        elif re.search(r'(?im)^\s*signature\s*=\s*"\$CHICAGO\$"', head):
            score = 0.6
        if score and name.casefold().endswith((".inf", "gpttmpl.inf")):
            score = min(1.0, score + 0.04)
        return score

    def parse(self, artifact: Artifact, builder: Builder) -> None:
        rights: dict[str, list[str]] = builder.data.setdefault("user_rights", {})
        # Where each holder was read, parallel to its right's list, so a finding names the INF line.
        where: dict[str, list[dict[str, Any]]] = builder.data.setdefault("user_rights_evidence", {})
        section: str | None = None
        saw_rights = False
        read = 0
        problems = 0
        for no, line in console.numbered(artifact):
            text = line.strip()
            if not text or text.startswith(";"):
                continue
            m = _SECTION.match(text)
            if m:
                section = m.group(1).strip().casefold()
                saw_rights = saw_rights or section == "privilege rights"
                continue
            if section is None:
                p = console.prompt(line)
                if p is not None:
                    console.note_prompt(p, builder)
                elif not console.is_banner(line):
                    builder.warn(artifact, no, f"secedit: skipped a line before any [section]: {_clip(text)}")
                continue
            if section != "privilege rights":
                continue  # [Unicode], [Version], [System Access], [Registry Values], ...
            e = _ENTRY.match(text)
            if not e:
                problems += 1
                builder.warn(
                    artifact,
                    no,
                    f"secedit: skipped a [Privilege Rights] line that is not 'Right = holders': {_clip(text)}",
                )
                continue
            right = e.group(1)
            holders = [_holder(h) for h in e.group(2).split(",")]
            holders = [h for h in holders if h]
            merged = rights.setdefault(right, [])
            lines = where.setdefault(right, [])
            for h in holders:
                if h not in merged:
                    merged.append(h)
                    lines.append(builder.evidence(artifact, no))
            read += 1
            for h in holders:
                _principal(builder, h, artifact, no)
        if not saw_rights:
            builder.warn(artifact, None, "secedit: no [Privilege Rights] section in this file")
            builder.section("user_rights", "partial", f"no [Privilege Rights] in {artifact.path}")
            return
        builder.section("user_rights", "partial" if problems else "ok")
        if not read:
            builder.warn(artifact, None, "secedit: the [Privilege Rights] section is empty")


def _holder(text: str) -> str:
    h = text.strip().strip('"').strip()
    if sids.is_sid(h):
        return sids.normalize_sid(h)
    return h


def _principal(builder: Builder, holder: str, artifact: Artifact, line: int) -> None:
    facts: dict[str, Any] = {"evidence": builder.evidence(artifact, line)}
    if sids.is_sid(holder):
        builder.principal(sids.name_of(holder), holder, **facts)
    else:
        builder.principal(holder, None, **facts)


def _clip(text: str, n: int = 100) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


PARSERS = [SeceditParser()]

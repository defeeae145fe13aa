"""`Get-CimInstance Win32_Service | Select Name,StartName,State,StartMode` as JSON, CSV (ConvertTo-Csv /
Export-Csv, with or without the `#TYPE` line) or a Format-Table listing -> `services[]`.

Only Name, StartName, State and StartMode are read (DisplayName and PathName are not needed, and
command lines can carry secrets). A pool account that also runs a service is then visible to rules.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from ..hookspecs import hookimpl
from . import console
from .base import MAX_DOCUMENT_BYTES, Artifact, Builder

_KEYS = {"name": "name", "startname": "start_name", "state": "state", "startmode": "start_mode"}


class ServicesParser:
    kind = "services"
    sections = ("services",)

    def detect(self, head: str, name: str) -> float:
        score = 0.0
        as_json = re.search(r'(?i)"StartName"\s*:', head) and re.search(r'(?i)"Name"\s*:', head)
        as_csv = re.search(r'(?im)^\s*"?Name"?\s*,.*"?StartName"?', head) or re.search(
            r'(?im)^\s*"?StartName"?\s*,.*"?Name"?', head
        )
        if as_json or as_csv:
            score = 0.9
        elif re.search(r"(?im)^\s*Name\s+.*\bStartName\b", head) and re.search(
            r"(?m)^\s*-{3,}\s+-{3,}", head
        ):
            score = 0.85
        return console.name_bonus(score, name, ("service",))

    def parse(self, artifact: Artifact, builder: Builder) -> None:
        out: list[dict[str, Any]] = builder.data.setdefault("services", [])
        lines = [(no, t) for no, t in console.numbered(artifact)]
        body = [
            (no, t) for no, t in lines if t.strip() and console.prompt(t) is None and not console.is_banner(t)
        ]
        problems = 0
        before = len(out)
        if body and body[0][1].lstrip().startswith(("{", "[")):
            problems = _json(artifact, builder, out, lines)
        elif body and (body[0][1].lstrip().startswith(("#TYPE", '"')) or "," in body[0][1]):
            problems = _csv(artifact, builder, out, body)
        else:
            problems = _table(artifact, builder, out, body)
        if len(out) == before:
            builder.warn(artifact, None, "services: no service found in this file")
            builder.section("services", "partial", f"nothing readable in {artifact.path}")
            return
        builder.section("services", "partial" if problems else "ok")


def _entry(builder: Builder, artifact: Artifact, no: int, obj: dict[str, Any]) -> dict[str, Any] | None:
    values = {_KEYS[k]: v for k, v in ((console.keynorm(str(k)), v) for k, v in obj.items()) if k in _KEYS}
    name = values.get("name")
    if not isinstance(name, str) or not name.strip():
        return None
    entry: dict[str, Any] = {"name": name.strip()}
    for key in ("start_name", "state", "start_mode"):
        v = values.get(key)
        entry[key] = v.strip() if isinstance(v, str) and v.strip() else None
    entry["evidence"] = builder.evidence(artifact, no)
    return entry


def _json(
    artifact: Artifact, builder: Builder, out: list[dict[str, Any]], lines: list[tuple[int, str]]
) -> int:
    problems = 0
    artifact.check_size(MAX_DOCUMENT_BYTES)
    try:
        # The lines already read, not a second read and decode of the file (their numbers match too).
        cuts: list[tuple[int, str]] = []
        docs = list(console.json_documents("\n".join(t for _, t in lines), lines[0][0] if lines else 1, cuts))
    except ValueError as exc:
        builder.warn(artifact, None, f"services: {exc}")
        return 1
    for no, message in cuts:
        problems += 1
        builder.warn(artifact, no, f"services: {message}")
    for doc in docs:
        for no, item in console.json_items(*doc):
            entry = _entry(builder, artifact, no, item) if isinstance(item, dict) else None
            if entry is None:
                problems += 1
                builder.warn(artifact, no, "services: skipped a JSON value without a service Name")
                continue
            out.append(entry)
    return problems


def _csv(artifact: Artifact, builder: Builder, out: list[dict[str, Any]], body: list[tuple[int, str]]) -> int:
    problems = 0
    rows = [(no, t) for no, t in body if not t.lstrip().startswith("#")]
    if not rows:
        return 0
    try:
        parsed = list(csv.reader(io.StringIO("\n".join(t for _, t in rows))))
    except csv.Error as exc:
        builder.warn(artifact, rows[0][0], f"services: not readable CSV ({exc})")
        return 1
    if len(parsed) != len(rows):  # a quoted value spanning lines: fall back to one row per line
        parsed = [console.csv_fields(t) or t.split(",") for _, t in rows]
    header = [console.keynorm(h) for h in parsed[0]]
    if "name" not in header:
        builder.warn(artifact, rows[0][0], "services: the CSV header has no Name column")
        return 1
    for (no, _t), fields in zip(rows[1:], parsed[1:], strict=False):
        entry = _entry(builder, artifact, no, dict(zip(header, fields, strict=False)))
        if entry is None:
            problems += 1
            builder.warn(artifact, no, "services: skipped a CSV row without a service Name")
            continue
        out.append(entry)
    return problems


def _table(
    artifact: Artifact, builder: Builder, out: list[dict[str, Any]], body: list[tuple[int, str]]
) -> int:
    found = console.table_rows(body)
    if found is None:
        for no, _text in body:  # never quoted: a stray line may hold anything
            builder.warn(artifact, no, "services: skipped a line that is not part of a service listing")
        return 1 if body else 0
    headers, rows = found
    keys = [console.keynorm(h) for h in headers]
    problems = 0
    for no, cells in rows:
        if any(c.endswith("...") for c in cells):
            problems += 1
            builder.warn(
                artifact, no, "services: a value in this row is cut off ('...'); capture with ConvertTo-Json"
            )
        entry = _entry(builder, artifact, no, dict(zip(keys, cells, strict=False)))
        if entry is None:
            problems += 1
            builder.warn(artifact, no, "services: skipped a row without a service Name")
            continue
        out.append(entry)
    return problems


PARSERS = [ServicesParser()]


@hookimpl
def iisguard_register_parsers() -> list[Any]:
    return PARSERS

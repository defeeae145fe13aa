"""Helpers for the command-output parser tests: run one parser on a fixture, text or bytes."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from iisguard.capture.base import Artifact, Builder
from iisguard.model import snapshot as snapmod

CAPTURES = Path(__file__).resolve().parents[2] / "fixtures" / "captures"


@dataclass
class Parsed:
    builder: Builder
    snapshot: dict[str, Any]

    @property
    def data(self) -> dict[str, Any]:
        return self.builder.data

    @property
    def warnings(self) -> list[dict[str, Any]]:
        return self.builder.warnings

    @property
    def messages(self) -> list[str]:
        return [w["message"] for w in self.builder.warnings]

    def status(self, section: str) -> str | None:
        entry = self.builder.sections.get(section)
        return entry["status"] if entry else None

    def principal(self, ref: str) -> dict[str, Any]:
        """The principal with this SID or (case-insensitive) name; fails the test when absent."""
        for p in self.builder.principals:
            if p.get("sid") == ref or (p.get("name") or "").casefold() == ref.casefold():
                return p
        raise AssertionError(
            f"no principal {ref!r} in {[p.get('name') or p.get('sid') for p in self.builder.principals]}"
        )

    def acl(self, path: str) -> dict[str, Any]:
        for acl in self.data.get("acls", []):
            if acl["path"] == path:
                return acl
        raise AssertionError(f"no ACL for {path!r} in {[a['path'] for a in self.data.get('acls', [])]}")


def run(
    module: str,
    source: str | bytes | Path,
    *,
    name: str | None = None,
    hint: dict[str, Any] | None = None,
    builder: Builder | None = None,
    encoding: str = "utf-8",
) -> Parsed:
    """Parse `source` (a fixture path relative to fixtures/captures, a Path, text or bytes) with one module's parser."""
    parser = importlib.import_module(f"iisguard.capture.{module}").PARSERS[0]
    if isinstance(source, Path):
        data = source.read_bytes()
        name = name or source.name
    elif (
        isinstance(source, str) and "\n" not in source and len(source) < 200 and (CAPTURES / source).is_file()
    ):
        data = (CAPTURES / source).read_bytes()
        name = name or Path(source).name
    elif isinstance(source, str):
        data = source.encode(encoding)
    else:
        data = source
    name = name or "capture.txt"
    artifact = Artifact(source=Path(name), path=name, hint=dict(hint or {}), data=data)
    b = builder or Builder(host="TESTHOST")
    parser.parse(artifact, b)
    snap = b.finish(source="import", tool_version="test", collected_at="2024-01-01T00:00:00Z")
    problems = snapmod.problems(snap)
    assert not problems, [f"{p.pointer}: {p.message}" for p in problems[:5]]
    return Parsed(b, snap)


def fixture_bytes(relative: str) -> bytes:
    return (CAPTURES / relative).read_bytes()


def utf16(text: str, *, big_endian: bool = False, bom: bool = True) -> bytes:
    """What Windows PowerShell 5.1's `>` writes (UTF-16 LE with a BOM), or its relatives."""
    codec = "utf-16-be" if big_endian else "utf-16-le"
    prefix = (b"\xfe\xff" if big_endian else b"\xff\xfe") if bom else b""
    return prefix + text.encode(codec)


@pytest.fixture
def parse():
    """run(module, source, *, name=None, hint=None, builder=None, encoding='utf-8') -> Parsed."""
    return run


@pytest.fixture
def captures() -> Path:
    return CAPTURES


@pytest.fixture
def to_utf16():
    return utf16

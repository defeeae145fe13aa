"""Every captured command output is claimed by its own parser among all built-in parsers."""

from __future__ import annotations

from pathlib import Path

import pytest

from iisguard.capture.base import Artifact
from iisguard.capture.detect import detect
from iisguard.capture.registry import builtin_parsers

CAPTURES = Path(__file__).resolve().parents[2] / "fixtures" / "captures"
CASES = sorted((f.parent.name, f) for f in CAPTURES.glob("*/*") if f.is_file())


@pytest.fixture(scope="module")
def parsers():
    return builtin_parsers()


@pytest.mark.parametrize(("kind", "path"), CASES, ids=[f"{k}/{p.name}" for k, p in CASES])
def test_fixture_is_detected_as_its_format(parsers, kind, path):
    found = detect(Artifact(source=path, path=path.name), parsers)
    assert found.parser is not None, found.reason
    assert found.parser.kind == kind, (found.parser.kind, found.score)


@pytest.mark.parametrize(("kind", "path"), CASES, ids=[f"{k}/{p.name}" for k, p in CASES])
def test_file_names_are_only_a_hint(parsers, kind, path):
    found = detect(Artifact(source=path, path="output.txt"), parsers)
    assert found.parser is not None and found.parser.kind == kind

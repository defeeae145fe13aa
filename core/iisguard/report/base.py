"""What reporters share: the Reporter protocol and helpers to locate findings in files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from ..engine.evaluate import Report
from ..engine.findings import Finding


class Reporter(Protocol):
    """An output format. `render` returns the whole document; the CLI writes it atomically."""

    name: str
    extension: str
    description: str

    def render(self, report: Report) -> str: ...


def artifact_uri(finding: Finding, base: str | os.PathLike[str] | None = None) -> tuple[str, int | None]:
    """(relative URI, line) of the file that shows a finding: the captured artifact, else the snapshot.

    Artifact paths in a snapshot are relative to the snapshot's folder; URIs are made relative to
    `base` (the working directory by default), with forward slashes, as GitHub code scanning expects.
    """
    root = Path(base or os.getcwd()).resolve()
    snap_dir = Path(finding.snapshot_path).resolve().parent if finding.snapshot_path else root
    if finding.evidence is not None:
        target = (snap_dir / finding.evidence.artifact).resolve()
        line = finding.evidence.line
    elif finding.snapshot_path:
        target = Path(finding.snapshot_path).resolve()
        line = None
    else:
        return "snapshot.json", None
    try:
        rel = target.relative_to(root)
    except ValueError:
        rel = Path(os.path.relpath(target, root))
    return rel.as_posix(), line

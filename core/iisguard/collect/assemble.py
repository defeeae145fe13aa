"""From what the capture script printed to a snapshot: decode the stream, then import it like a folder.

Remote and local collection end here, so they go through the same parsers as `iisguard import`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ..atomic import write_bytes
from ..errors import CollectionError
from ..redact import printable, redact
from . import clixml

log = logging.getLogger(__name__)
MANIFEST = "capture.yaml"


@dataclass
class Collected:
    """A snapshot and what making it cost."""

    snapshot: dict[str, Any]
    requests: dict[str, int]
    seconds: float

    @property
    def sections(self) -> list[dict[str, Any]]:
        return list(self.snapshot.get("collection", {}).get("sections", []))

    @property
    def failed_sections(self) -> list[str]:
        return [s["name"] for s in self.sections if s.get("status") == "failed"]

    def section_summary(self) -> str:
        """`8 ok, 1 absent, 1 failed (acls)`: what a person reads in a summary."""
        by_status: dict[str, list[str]] = {}
        for s in self.sections:
            by_status.setdefault(str(s.get("status")), []).append(str(s.get("name")))
        parts = [f"{len(by_status[k])} {k}" for k in ("ok", "partial", "absent") if k in by_status]
        if "failed" in by_status:
            parts.append(f"{len(by_status['failed'])} failed ({', '.join(by_status['failed'])})")
        return ", ".join(parts) or "no sections"


def safe_name(name: str, where: str) -> PurePosixPath:
    """A file name from the stream as a relative path that stays inside the capture folder."""
    rel = PurePosixPath(name.replace("\\", "/"))
    if not name or rel.is_absolute() or ".." in rel.parts or ":" in name or rel.parts[:1] == ("",):
        raise CollectionError(f"the capture stream names an unsafe file path: {name!r}", where=where)
    return rel


def snapshot_from_output(
    stdout: bytes,
    stderr: bytes,
    exit_code: int,
    *,
    where: str,
    source: str,
    keep_artifacts: str | os.PathLike[str] | None = None,
    snapshot_path: str | os.PathLike[str] | None = None,
    parsers: list[Any] | None = None,
) -> dict[str, Any]:
    """Decode the script's output and build the snapshot; the script's own errors become one line."""
    from ..capture import stream as capture_stream

    errors = clixml.decode(stderr)
    try:
        decoded = capture_stream.decode(stdout.decode("utf-8", "replace"))
    except CollectionError as exc:
        if errors:
            raise CollectionError(
                f"the capture script failed (exit code {exit_code}): {clixml.summary(errors)}", where=where
            ) from None
        raise CollectionError(f"the capture script's output is unusable: {exc}", where=where) from None
    for line in errors:
        log.warning("%s: the capture script reported: %s", where, line)
    return build(
        decoded,
        where=where,
        source=source,
        keep_artifacts=keep_artifacts,
        snapshot_path=snapshot_path,
        script_errors=errors,
        parsers=parsers,
    )


def _manifest(files: list[tuple[str, bytes]], where: str) -> dict[str, Any] | None:
    """capture.yaml from the stream, parsed (with the guards against alias bombs and deep nesting)."""
    import yaml

    from ..engine import yamlsource

    for name, data in files:
        if name.replace("\\", "/").casefold() == MANIFEST:
            try:
                # The guarded loader: a compromised server may send an alias bomb or absurd nesting.
                loaded = yamlsource.safe_load(data.decode("utf-8-sig", "replace"))
            except yaml.YAMLError as exc:
                raise CollectionError(
                    f"the capture manifest {MANIFEST} is not valid YAML: {exc}", where=where
                ) from None
            return loaded if isinstance(loaded, dict) else None
    return None


def build(
    decoded: Any,
    *,
    where: str,
    source: str,
    keep_artifacts: str | os.PathLike[str] | None = None,
    snapshot_path: str | os.PathLike[str] | None = None,
    script_errors: list[str] | None = None,
    parsers: list[Any] | None = None,
) -> dict[str, Any]:
    """Artifacts in memory (and on disk with keep_artifacts), then the importer's build_snapshot.

    `parsers` (from plugins.import_parsers) lets a fleet load the parser plugins once.
    """
    from ..capture.base import Artifact
    from ..capture.importer import build_snapshot

    keep = Path(keep_artifacts) if keep_artifacts is not None else None
    # Artifact paths are recorded relative to the folder the snapshot is written to.
    base = Path(snapshot_path).resolve().parent if snapshot_path not in (None, "-") else Path.cwd()
    manifest = _manifest(decoded.files, where)
    artifacts = []
    for name, data in decoded.files:
        rel = safe_name(name, where)
        if keep is not None:
            write_bytes(keep / rel, data)
        if rel.as_posix().casefold() == MANIFEST:
            continue
        if keep is not None:
            on_disk = (keep / rel).resolve()
            artifact = Artifact(
                source=on_disk, path=Path(os.path.relpath(on_disk, base)).as_posix(), data=data
            )
        else:
            artifact = Artifact(source=Path(rel), path=rel.as_posix(), data=data)
        artifact.hint["relpath"] = rel.as_posix()  # what the manifest's file facts are keyed by
        artifacts.append(artifact)
    snapshot = build_snapshot(
        artifacts,
        # As `iisguard import` does: the manifest names the host, the stream's CAPTURE line is the fallback.
        fallback_host=decoded.host or None,
        manifest=manifest,
        source=source,
        sections=decoded.sections,
        parsers=parsers,
    )
    warnings = snapshot.setdefault("collection", {}).setdefault("warnings", [])
    for line in script_errors or []:
        warnings.append(
            {
                "artifact": None,
                "line": None,
                "message": f"the capture script reported: {printable(redact(line))}",
            }
        )
    return snapshot

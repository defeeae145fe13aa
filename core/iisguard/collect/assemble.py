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


# Sections a capture reports on by itself (`principals` is derived from local_accounts and ad).
SCRIPT_SECTIONS = (
    "iis",
    "web_configs",
    "acls",
    "user_rights",
    "tokens",
    "local_accounts",
    "services",
    "registry",
    "features",
    "ad",
    "spns",
)
BOOT = "IISGUARD-BOOT"
QUOTA_HINT = (
    "WinRM ends a shell whose processes use more than MaxMemoryPerShellMB (1024 MB by default, child "
    "processes included; Microsoft's WinRM 'Quotas' page): check with `winrm get winrm/config/winrs`, "
    'raise it with `winrm set winrm/config/winrs @{MaxMemoryPerShellMB="2048"}`'
)


def _before_stream(text: str) -> list[str]:
    """What PowerShell printed before the capture began (WARNING lines of modules, a profile's noise)."""
    head = text.split("IISGUARD-CAPTURE", 1)[0]
    return [line.strip() for line in head.splitlines() if line.strip() and not line.strip().startswith(BOOT)]


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
    stopped: str | None = None,
    delegation: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Decode the script's output and build the snapshot; the script's own errors become one line.

    `stopped` says why the collector stopped reading early (the deadline, a lost connection): the
    complete sections are kept and the others are `failed` with that reason. A stream that ends
    short by itself (WinRM's memory quota killed the shell) is treated the same way.
    """
    from ..capture import stream as capture_stream

    errors = clixml.decode(stderr)
    text = stdout.decode("utf-8", "replace")
    if "IISGUARD-CAPTURE" not in text:
        raise CollectionError(_did_not_run(text, errors, exit_code, stopped), where=where) from None
    try:
        decoded = capture_stream.decode(text, partial=True)
    except CollectionError as exc:
        if errors:
            raise CollectionError(
                f"the capture script failed (exit code {exit_code}): {clixml.summary(errors)}", where=where
            ) from None
        raise CollectionError(f"the capture script's output is unusable: {exc}", where=where) from None
    notes = [f"PowerShell printed before the capture began: {line}" for line in _before_stream(text)]
    for line in notes:
        log.warning("%s: %s", where, line)
    for line in errors:
        log.warning("%s: the capture script reported: %s", where, line)
    reason = None
    if decoded.stopped is not None or stopped is not None:
        reason = _stop_reason(decoded, stopped, exit_code, errors)
        log.warning("%s: %s", where, reason)
    return build(
        decoded,
        where=where,
        source=source,
        keep_artifacts=keep_artifacts,
        snapshot_path=snapshot_path,
        script_errors=errors,
        parsers=parsers,
        notes=notes,
        stopped=reason,
        delegation=delegation,
    )


def _did_not_run(text: str, errors: list[str], exit_code: int, stopped: str | None) -> str:
    """The one line for output without a capture stream: the script never started, or never got far."""
    if stopped is not None:
        return f"{stopped}, before the capture script printed anything"
    printed = _before_stream(text)
    if BOOT in text:
        what = "PowerShell started but did not run the capture script"
    else:
        what = "the capture script did not run"
    if errors:
        return f"{what} (exit code {exit_code}): {clixml.summary(errors)}"
    if printed:
        return f"{what} (exit code {exit_code}); PowerShell printed: {printable(redact(printed[0][:200]))}"
    return (
        f"{what}: PowerShell exited with code {exit_code} and printed nothing (no IISGUARD-CAPTURE line: "
        "this is not capture-script output)"
    )


def _stop_reason(decoded: Any, stopped: str | None, exit_code: int, errors: list[str]) -> str:
    done = len(decoded.sections)
    if stopped is not None:
        return f"collection stopped after {done} complete section(s): {stopped}"
    text = (
        f"the capture script's output stopped after {done} complete section(s) and PowerShell exited "
        f"with code {exit_code} ({decoded.stopped})"
    )
    if errors:
        return f"{text}; PowerShell reported: {clixml.summary(errors)}"
    return f"{text}; {QUOTA_HINT}"


def _manifest(files: list[tuple[str, bytes]], where: str) -> dict[str, Any] | None:
    """capture.yaml from the stream, parsed (with the guards against alias bombs and deep nesting)."""
    import yaml

    from .. import yamlsource

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
    notes: list[str] | None = None,
    stopped: str | None = None,
    delegation: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Artifacts in memory (and on disk with keep_artifacts), then the importer's build_snapshot.

    `parsers` (from plugins.import_parsers) lets a fleet load the parser plugins once.
    """
    from ..capture.base import Artifact
    from ..capture.importer import build_snapshot, session_facts

    keep = Path(keep_artifacts) if keep_artifacts is not None else None
    # Artifact paths are recorded relative to the folder the snapshot is written to.
    base = Path(snapshot_path).resolve().parent if snapshot_path not in (None, "-") else Path.cwd()
    manifest = _manifest(decoded.files, where)
    head = getattr(decoded, "host_facts", None) or {}
    if manifest is None and getattr(decoded, "version", "1") != "1":
        # A stream cut before capture.yaml: the FILE and HOST lines carry what the importer needs.
        manifest = {
            "host": decoded.host,
            **{k: v for k, v in head.items() if k in ("host_facts", "environment")},
            "files": [{"path": name, **facts} for name, facts in decoded.file_facts.items()],
        }
        if keep is not None:
            import json

            write_bytes(keep / MANIFEST, json.dumps(manifest, indent=1).encode("utf-8"))
    sections = list(decoded.sections)
    if stopped is not None:
        reported = {s["name"] for s in sections}
        sections += [
            {"name": name, "status": "failed", "message": f"not collected: {stopped}"}
            for name in SCRIPT_SECTIONS
            if name not in reported
        ]
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
    if keep is not None and sections:
        _keep_sections(keep, manifest, sections)
    snapshot = build_snapshot(
        artifacts,
        # As `iisguard import` does: the manifest names the host, the stream's CAPTURE line is the fallback.
        fallback_host=decoded.host or None,
        manifest=manifest,
        source=source,
        sections=sections,
        parsers=parsers,
    )
    collection = snapshot.setdefault("collection", {})
    warnings = collection.setdefault("warnings", [])
    for line in notes or []:
        warnings.append({"artifact": None, "line": None, "message": printable(redact(line))})
    for line in script_errors or []:
        warnings.append(
            {
                "artifact": None,
                "line": None,
                "message": f"the capture script reported: {printable(redact(line))}",
            }
        )
    if stopped is not None:
        warnings.append({"artifact": None, "line": None, "message": printable(redact(stopped))})
    if "session" not in collection:  # a stream cut before capture.yaml: its HOST line has the session
        session = session_facts(head.get("session"))
        if session:
            collection["session"] = session
    if delegation is not None:
        collection["delegation"] = delegation
    return snapshot


def _keep_sections(keep: Path, manifest: dict[str, Any] | None, sections: list[dict[str, Any]]) -> None:
    """Write the sections as collected (the stream's statuses, and `failed` for those a deadline or a lost
    connection cut off) into the kept folder's capture.yaml, so `iisguard import` of that folder gates as
    the collected snapshot does instead of reading a missing section's absence as nothing to report."""
    import json

    if (manifest or {}).get("sections") == sections:
        return
    kept = dict(manifest or {})
    kept["sections"] = [
        {**s, "message": printable(redact(str(s["message"])))} if s.get("message") else dict(s)
        for s in sections
    ]
    write_bytes(keep / MANIFEST, json.dumps(kept, indent=1, default=str).encode("utf-8"))

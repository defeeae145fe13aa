"""`iisguard collect --local`: the capture script through this machine's powershell.exe.

Same script, same invocation (the -EncodedCommand bootstrap reads the script whole from standard
input, so no execution policy applies and no temporary .ps1 is left behind), same import path as
WinRM collection. Run here, credentials are the logged-on user's own: nothing needs delegating.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from typing import Any

from ..errors import CollectionError, UsageError
from .assemble import Collected, snapshot_from_output
from .winrm import DEFAULT_DEADLINE, bootstrap_args, stdin_payload

NEEDS_WINDOWS = (
    "--local runs the capture script through powershell.exe and needs Windows; from here, collect "
    "over WinRM (iisguard collect HOST), or run `iisguard capture-script` on the server and "
    "`iisguard import` the folder it writes"
)


def is_windows() -> bool:
    return sys.platform == "win32"


def find_powershell() -> str:
    # Windows PowerShell 5.1 ships with every supported Windows Server; pwsh is the fallback.
    for name in ("powershell.exe", "pwsh.exe"):
        found = shutil.which(name)
        if found:
            return found
    raise CollectionError("neither powershell.exe nor pwsh.exe is on PATH", where="local")


def collect(
    *,
    keep_artifacts: str | os.PathLike[str] | None = None,
    snapshot_path: str | os.PathLike[str] | None = None,
    deadline: float = DEFAULT_DEADLINE,
    script: str | None = None,
    parsers: list[Any] | None = None,
) -> Collected:
    """Run the capture script here and import what it printed (with `parsers`, default the built-in ones)."""
    if not is_windows():
        raise UsageError(NEEDS_WINDOWS)
    if script is None:
        from .script import capture_script

        script = capture_script()
    exe = find_powershell()
    started = time.monotonic()
    try:
        proc = subprocess.run(
            [exe, *bootstrap_args()],
            input=stdin_payload(script),
            capture_output=True,
            timeout=deadline,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise CollectionError(
            f"timed out: the capture script was still running after {deadline:g} s; raise --deadline",
            where="local",
        ) from None
    except OSError as exc:
        raise CollectionError(f"cannot start {exe}: {exc.strerror or exc}", where="local") from None
    snapshot = snapshot_from_output(
        proc.stdout,
        proc.stderr,
        proc.returncode,
        where="local",
        source="local",
        keep_artifacts=keep_artifacts,
        snapshot_path=snapshot_path,
        parsers=parsers,
        delegation={"delegated": True, "transport": "local"},
    )
    return Collected(snapshot, {"processes": 1}, time.monotonic() - started)

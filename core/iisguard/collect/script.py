"""The capture script that runs on the server (locally, over WinRM, or by hand on an air-gapped host)."""

from __future__ import annotations

from functools import cache
from importlib import resources

SCRIPT = "capture.ps1"


@cache
def capture_script() -> str:
    """The PowerShell capture script (package data), as text.

    Run by hand it writes a capture folder (and a zip of it) for `iisguard import`; with -Stream it
    prints the capture stream (iisguard.capture.stream) that remote and local collection decode.
    """
    return resources.files(__package__).joinpath(SCRIPT).read_text("utf-8")

"""A one-line progress display for scans that take more than a second, on a terminal only."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from typing import TextIO

from ..engine.evaluate import Step
from ..report.base import escape_controls

DELAY = 1.0  # seconds before anything is shown: a quick scan prints no progress at all
INTERVAL = 0.1  # at most ten redraws a second


class TerminalProgress:
    """Draws `host 2/5 WEB02 · rules acl (3/7) · 4s` on one line of stderr, then erases it.

    Silent when the stream is not a terminal (CI logs, pipes, files) and for the first second.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        delay: float = DELAY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.delay = delay
        self.clock = clock
        self.start = clock()
        self.shown = False
        self._last = 0.0

    def __call__(self, step: Step) -> None:
        if not self.enabled:
            return
        now = self.clock()
        if now - self.start < self.delay or (self.shown and now - self._last < INTERVAL):
            return
        text = f"iisguard: host {step.index}/{step.total} {step.host}"
        if step.pack:
            text += f" · rules {step.pack} ({step.pack_index}/{step.packs})"
        elif step.done:
            text += " done"
        text += f" · {now - self.start:.0f}s"
        width = max(20, shutil.get_terminal_size().columns - 1)
        self.stream.write("\r\033[K" + escape_controls(" ".join(text.split()))[:width])
        self.stream.flush()
        self.shown = True
        self._last = now

    def close(self) -> None:
        """Erase the line (before the report is printed)."""
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False

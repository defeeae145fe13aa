"""Installed roles and features -> ``windows_features[]`` (and ``host.roles`` when not given otherwise).

Reads ``Get-WindowsFeature`` (Server Manager's table: ``[X]`` marks an installed entry, the indentation
its depth in the role tree; ``Install State`` Installed / Available / Removed) and
``Get-WindowsOptionalFeature -Online`` (client SKUs and DISM: ``FeatureName : IIS-WebDAV`` /
``State : Enabled`` records, or the same as a two-column table). The display names are localized,
the feature names and states are not.
"""

from __future__ import annotations

import re
from typing import Any

from ..hookspecs import hookimpl
from . import console
from .base import ArtifactRun, RunParser

_ROW = re.compile(
    r"^(?P<indent>\s*)\[(?P<mark>[Xx ])\]\s+(?P<display>.*?)\s+(?P<name>[A-Za-z0-9][\w.-]*)\s+"
    r"(?P<state>Installed|Available|Removed|InstallPending|UninstallPending)\s*$"
)
_HEADER = re.compile(r"^\s*Display Name\s+Name\s+Install State\s*$", re.IGNORECASE)
_OPT_TABLE = re.compile(
    r"^(?P<name>[A-Za-z0-9][\w.-]*)\s+(?P<state>Enabled|Disabled|DisabledWithPayloadRemoved|EnablePending|DisablePending|Staged|PartiallyInstalled)\s*$"
)
_INSTALLED = {
    "installed": True,
    "installpending": True,
    "available": False,
    "removed": False,
    "uninstallpending": False,
}
_OPT_INSTALLED = {"enabled": True, "enablepending": True}


class _Run(ArtifactRun):
    def __init__(self, artifact: Any, builder: Any) -> None:
        super().__init__(artifact, builder)
        self.out: list[dict[str, Any]] = builder.data.setdefault("windows_features", [])
        self.record: dict[str, tuple[int, str]] = {}

    def add(self, name: str, installed: bool | None, state: str | None, line: int, **extra: Any) -> None:
        self.out.append(
            {
                "name": name,
                "installed": installed,
                "state": state,
                **extra,
                "evidence": self.b.evidence(self.a, line),
            }
        )

    def run(self) -> None:
        before = len(self.out)
        for no, line in console.numbered(self.a):
            self.line(no, line)
        self.flush()
        found = self.out[before:]
        if not found:
            self.warn(None, "features: no feature found in this file")
            self.b.section("features", "partial", f"nothing readable in {self.a.path}")
            return
        roles = [f["name"] for f in found if f.get("installed") and f.get("depth") == 0]
        if roles and self.b.host.get("roles") is None:
            self.b.host["roles"] = roles  # the top of the tree: the roles (and top-level features) installed
        self.b.section("features", "partial" if self.problems else "ok")

    def line(self, no: int, line: str) -> None:
        text = line.strip()
        p = console.prompt(line)
        if p is not None:
            console.note_prompt(p, self.b)
            self.flush()
            return
        if not text:
            self.flush()
            return
        if (
            _HEADER.match(line)
            or console.DASH_LINE.match(line)
            or console.is_banner(line)
            or console.is_command(line)
        ):
            return
        row = _ROW.match(line)
        if row:
            state = row.group("state")
            installed = row.group("mark").upper() == "X"
            if _INSTALLED.get(state.casefold(), installed) != installed:
                self.warn(no, f"features: the [X] mark and the state {state!r} disagree; the mark is kept")
            depth = len(row.group("indent").expandtabs(4)) // 4
            self.add(
                row.group("name"),
                installed,
                state,
                no,
                display_name=row.group("display").strip(),
                depth=depth,
            )
            return
        m = re.match(r"^(?P<key>[A-Za-z][\w ]*?)\s*: ?(?P<value>.*)$", line)
        if m and not line[:1].isspace():
            key = m.group("key").strip().casefold()
            if key == "featurename" and "featurename" in self.record:
                self.flush()
            self.record[key] = (no, m.group("value").strip())
            return
        opt = _OPT_TABLE.match(text)
        if opt:
            state = opt.group("state")
            self.add(opt.group("name"), _OPT_INSTALLED.get(state.casefold(), False), state, no, depth=None)
            return
        if line[:1].isspace() and self.record:
            return  # a wrapped Description
        self.warn(
            no, f"features: skipped a line that is not feature output: {console.clip(text)}", problem=True
        )

    def flush(self) -> None:
        record, self.record = self.record, {}
        if "featurename" not in record:
            if record:
                first = min(n for n, _ in record.values())
                self.warn(first, "features: a list record without FeatureName", problem=True)
            return
        no, name = record["featurename"]
        state = record.get("state", (no, ""))[1] or None
        installed = _OPT_INSTALLED.get(state.casefold(), False) if state else None
        display = record.get("displayname", (no, ""))[1] or None
        self.add(name, installed, state, no, display_name=display, depth=None)


class FeaturesParser(RunParser):
    kind = "windows_features"
    sections = ("features",)

    def detect(self, head: str, name: str) -> float:
        score = 0.0
        if (
            (
                _HEADER.search(head)
                or len(
                    re.findall(
                        r"(?m)^\s*\[[Xx ]\]\s+\S.*\s{2,}[\w.-]+\s+(?:Installed|Available|Removed)\s*$", head
                    )
                )
                >= 3
            )
            or re.search(r"(?im)^FeatureName\s*:\s*\S", head)
            and re.search(r"(?im)^State\s*:\s*(?:Enabled|Disabled)", head)
        ):
            score = 0.9
        elif re.search(r"(?im)^(?:[^\n>]{0,200}>\s*)?Get-Windows(?:Optional)?Feature\b", head):
            score = 0.8
        return console.name_bonus(score, name, ("feature", "role"))


PARSERS = [FeaturesParser(reader=_Run)]


@hookimpl
def iisguard_register_parsers() -> list[Any]:
    return PARSERS

"""Where the shipped policies live, and framework mappings (benchmark item -> rule ids).

Profiles, framework mappings and the example policy are package data (`iisguard/policies/`), found
with importlib.resources, so an installed wheel has them exactly as a checkout does.
`IISGUARD_POLICIES` replaces that folder (a folder with `profiles/` and `frameworks/`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..errors import PolicyError


def shipped_policies_dir() -> Path:
    """The `policies/` folder installed with the package (profiles, frameworks, examples)."""
    folder = resources.files("iisguard") / "policies"
    if not isinstance(folder, Path) or not folder.is_dir():
        # A zipped or otherwise virtual install: the policy loader reads files and names their lines.
        raise PolicyError(f"iisguard's shipped policies are missing from the installed package ({folder})")
    return folder


def policies_dir() -> Path:
    """IISGUARD_POLICIES when set, else the policies shipped in the package."""
    env = os.environ.get("IISGUARD_POLICIES")
    if env:
        return Path(env)
    return shipped_policies_dir()


@dataclass(frozen=True)
class Item:
    """A benchmark item (a CIS recommendation, a STIG V-ID) and the rules that cover it.

    STIG items also carry DISA's identifiers, which checklists and HDF need: the benchmark they
    belong to, the severity category, the STIG id (IIST-SV-000131), the rule id with its revision,
    the SRG group, the CCIs and their NIST SP 800-53 controls. Empty for other frameworks.

    An item no rule maps to says why: `procedural` (no capture can decide it: documentation, backups,
    a person's review; the reason is the text) or `gap` (a capture could decide it, iisguard does not
    yet: the open gap, said). An item with rules has neither.
    """

    id: str
    title: str
    rules: tuple[str, ...]
    note: str = ""
    benchmark: str = ""
    severity: str = ""
    stig_id: str = ""
    rule_id: str = ""
    group: str = ""
    cci: tuple[str, ...] = ()
    nist: tuple[str, ...] = ()
    procedural: str = ""
    gap: str = ""

    @property
    def coverage(self) -> str:
        """``automated`` (rules map to it), ``procedural`` (a person decides) or ``uncovered``."""
        if self.rules:
            return AUTOMATED
        return PROCEDURAL if self.procedural else UNCOVERED


AUTOMATED = "automated"
PROCEDURAL = "procedural"
UNCOVERED = "uncovered"
COVERAGE = (AUTOMATED, PROCEDURAL, UNCOVERED)


@dataclass(frozen=True)
class Benchmark:
    """One published benchmark a framework's items come from (a DISA STIG release)."""

    id: str
    title: str
    version: str = ""
    release: str = ""
    filename: str = ""


@dataclass(frozen=True)
class Framework:
    name: str
    title: str
    version: str
    items: tuple[Item, ...]
    path: str
    benchmarks: tuple[Benchmark, ...] = ()

    def rule_ids(self) -> set[str]:
        return {r for item in self.items for r in item.rules}

    def coverage(self, known: set[str] | None = None) -> dict[str, int]:
        """Items per coverage class (automated / procedural / uncovered), in that order.

        With `known` (the rule ids loaded), an item counts as automated only if one of its rules is
        among them: a mapping to a rule that is not there automates nothing.
        """
        out = dict.fromkeys(COVERAGE, 0)
        for item in self.items:
            kind = item.coverage
            if kind == AUTOMATED and known is not None and not any(r in known for r in item.rules):
                kind = PROCEDURAL if item.procedural else UNCOVERED
            out[kind] += 1
        return out


def available() -> list[str]:
    folder = policies_dir() / "frameworks"
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


@cache
def load(name: str) -> Framework:
    path = policies_dir() / "frameworks" / f"{name}.yaml"
    if not path.is_file():
        raise PolicyError(f"unknown framework {name!r} (available: {', '.join(available()) or 'none'})")
    try:
        doc: Any = yaml.safe_load(path.read_text("utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise PolicyError(
            f"not valid YAML: {getattr(exc, 'problem', exc)}", where=f"{path}:{mark.line + 1 if mark else 1}"
        ) from None
    if not isinstance(doc, dict) or doc.get("kind") != "Framework":
        raise PolicyError("not a framework mapping (expected kind: Framework)", where=str(path))
    items = []
    for raw in doc.get("items") or []:
        if not isinstance(raw, dict) or "id" not in raw:
            raise PolicyError(f"framework item without an id: {raw!r}", where=str(path))
        for key in ("procedural", "gap"):
            if key in raw and (not isinstance(raw[key], str) or not raw[key].strip()):
                raise PolicyError(f"item {raw['id']}: {key} must be a reason (text)", where=str(path))
        if raw.get("rules") and (raw.get("procedural") or raw.get("gap")):
            raise PolicyError(
                f"item {raw['id']}: an item with rules is automated; procedural/gap are for items without",
                where=str(path),
            )
        if raw.get("procedural") and raw.get("gap"):
            raise PolicyError(f"item {raw['id']}: procedural or gap, not both", where=str(path))
        items.append(
            Item(
                str(raw["id"]),
                str(raw.get("title", "")),
                tuple(raw.get("rules") or ()),
                str(raw.get("note", "")),
                benchmark=str(raw.get("benchmark", "")),
                severity=str(raw.get("severity", "")),
                stig_id=str(raw.get("stig_id", "")),
                rule_id=str(raw.get("rule_id", "")),
                group=str(raw.get("group", "")),
                cci=tuple(str(c) for c in raw.get("cci") or ()),
                nist=tuple(str(c) for c in raw.get("nist") or ()),
                procedural=str(raw.get("procedural") or "").strip(),
                gap=str(raw.get("gap") or "").strip(),
            )
        )
    benchmarks = []
    for raw in doc.get("benchmarks") or []:
        if not isinstance(raw, dict) or "id" not in raw:
            raise PolicyError(f"framework benchmark without an id: {raw!r}", where=str(path))
        benchmarks.append(
            Benchmark(
                str(raw["id"]),
                str(raw.get("title", "")),
                str(raw.get("version", "")),
                str(raw.get("release", "")),
                str(raw.get("filename", "")),
            )
        )
    return Framework(
        str(doc.get("name", name)),
        str(doc.get("title", "")),
        str(doc.get("version", "")),
        tuple(items),
        str(path),
        tuple(benchmarks),
    )

"""Built-in rules cite their sources from one module, one constant and one id spelling per source."""

from __future__ import annotations

import re

from iisguard import Reference
from iisguard import references as _references
from iisguard.engine.rule import BUILTIN_ID

# CIS-IIS10-x.y and STIG-V-n become framework tags; the others name documentation and tools.
ID_SPELLING = re.compile(
    r"^(CIS-IIS10-\d+\.\d+|STIG-V-\d+|MS-[A-Za-z0-9-]+|PingCastle-[A-Za-z0-9-]+|BloodHound-\w+)$"
)
# Sources outside those families, kept as they are named (RULES.md §3D, §3E).
OTHER_IDS = {
    "PowerSTIG-452",
    "IIS7-8-CIS-encryption-providers",
    "Windows-CIS-2.2.x-Impersonate",
    "Windows-STIG-WN25-UR-000130",
}
CATALOG = {name: ref for name, ref in vars(_references).items() if isinstance(ref, Reference)}


def test_one_constant_per_source():
    by_id: dict[str, list[str]] = {}
    by_url: dict[str, list[str]] = {}
    for name, ref in CATALOG.items():
        by_id.setdefault(ref.id, []).append(name)
        if ref.id.startswith("MS-"):  # one Microsoft page is one source, whatever it was called
            by_url.setdefault(ref.url, []).append(name)
    assert not {i: n for i, n in by_id.items() if len(n) > 1}
    assert not {u: n for u, n in by_url.items() if len(n) > 1}


def test_ids_follow_one_spelling():
    wrong = [ref.id for ref in CATALOG.values() if not ID_SPELLING.match(ref.id) and ref.id not in OTHER_IDS]
    assert not wrong


def test_builtin_rules_cite_only_catalogued_references(builtin_rules):
    catalogued = {id(ref) for ref in CATALOG.values()}
    stray = [
        f"{r.id}: {ref.id}"
        for r in builtin_rules.values()
        if BUILTIN_ID.match(r.id)
        for ref in r.references
        if id(ref) not in catalogued
    ]
    assert not stray, "define these in core/iisguard/references.py: " + ", ".join(stray)

"""ACME's rules against their fixtures, with the same harness iisguard's own packs use."""

from __future__ import annotations

from pathlib import Path

import acme_iisguard
import pytest

from iisguard.plugins import load_plugins
from iisguard.testing import assert_case, discover

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "rules"
CASES = discover(FIXTURES)


@pytest.fixture(scope="module")
def rules():
    # A fresh plugin manager with this pack registered directly, so the test does not depend on
    # what else is installed.
    return load_plugins(plugins=[acme_iisguard], entry_points=False).rules


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rule_case(case, rules):
    assert case.rule_id in rules, f"{case.path}: no rule {case.rule_id}"
    assert_case(rules[case.rule_id], case)


def test_every_rule_has_good_and_bad_cases(rules):
    acme = sorted(r for r in rules if r.startswith("ACME-"))
    assert acme == ["ACME-ACCT-001", "ACME-SITE-001"]
    for rule_id in acme:
        names = {c.path.stem for c in CASES if c.rule_id == rule_id}
        assert {"good", "bad"} <= names, rule_id


def test_pack_is_validated_with_its_prefix(rules):
    assert all(rules[r].pack == "acme_iisguard" for r in rules if r.startswith("ACME-"))

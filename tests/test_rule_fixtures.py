"""Every rule's good and bad cases under fixtures/rules/<RULE-ID>/, run by one parametrised test."""

from __future__ import annotations

import pytest

from iisguard.testing import assert_case, discover

from .conftest import FIXTURES

CASES = discover(FIXTURES / "rules") if (FIXTURES / "rules").is_dir() else []


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rule_case(case, builtin_rules):
    assert case.rule_id in builtin_rules, f"{case.path}: no rule {case.rule_id} is registered"
    assert_case(builtin_rules[case.rule_id], case)

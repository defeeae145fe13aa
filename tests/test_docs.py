"""docs/: the rule catalog is the code's (`rules list --format markdown`), the snapshot contract
names what the schema has, and the README points there."""

from __future__ import annotations

import re

from iisguard.cli import main
from iisguard.model import snapshot

from .conftest import ROOT

DOCS = ROOT / "docs"


def test_the_rule_catalog_is_current(capsys, monkeypatch):
    monkeypatch.setenv("IISGUARD_DISABLE_PLUGIN_AUTOLOAD", "1")  # iisguard's own packs only
    capsys.readouterr()
    assert main(["rules", "list", "--format", "markdown"]) == 0
    catalog = capsys.readouterr().out
    text = (DOCS / "RULES.md").read_text("utf-8")
    assert text.startswith("# Rule catalog\n")
    assert text.endswith(catalog), "docs/RULES.md is out of date: run `python3 dev.py docs`"


def test_the_snapshot_contract_names_what_the_schema_has():
    text = (DOCS / "SNAPSHOT.md").read_text("utf-8")
    schema = snapshot.schema()
    for key in schema["properties"]:
        assert f"`{key}`" in text, f"docs/SNAPSHOT.md does not describe the top-level key {key!r}"
    for key in schema["properties"]["collection"]["properties"]:
        assert f"`collection.{key}" in text, f"docs/SNAPSHOT.md does not describe collection.{key}"
    for key in schema["properties"]["host"]["properties"]:
        assert f"host.{key}" in text, f"docs/SNAPSHOT.md does not describe host.{key}"
    for name in snapshot.SECTIONS:
        assert f"`{name}`" in text
    assert "`1.0`" in text or '"1.0"' in text


def test_the_readme_points_into_docs():
    readme = (ROOT / "README.md").read_text("utf-8")
    for name in ("RULES.md", "SNAPSHOT.md"):
        assert f"docs/{name}" in readme
        assert (DOCS / name).is_file()
    # No mention of the design notes' files as if they were in the repository.
    assert not re.search(r"(?<!docs/)\b(RULES|SNAPSHOT)\.md", readme)

"""The sharded CI recipes (examples/ci/*-sharded.yml): linted by the same checkers as the other
recipes (tests/test_ci_examples.py), and their iisguard commands parse as a matrix shard and a merge."""

from __future__ import annotations

import os
import subprocess

import pytest
import yaml

from iisguard.cli import build_parser

from .test_ci_examples import RECIPES, actionlint, iisguard_commands, tool

GITHUB = RECIPES / "github-actions-sharded.yml"
GITLAB = RECIPES / "gitlab-ci-sharded.yml"


def test_github_matrix_passes_actionlint():
    proc = subprocess.run([*actionlint(), str(GITHUB)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("recipe", "schema"),
    [(GITHUB, "vendor.github-workflows"), (GITLAB, "vendor.gitlab-ci")],
    ids=["github", "gitlab"],
)
def test_valid_against_the_published_schema(recipe, schema):
    command = [
        tool("check-jsonschema"),
        "--regex-variant",
        "nonunicode",
        "--builtin-schema",
        schema,
        str(recipe),
    ]
    proc = subprocess.run(
        command, capture_output=True, text=True, timeout=120, env={**os.environ, "NO_COLOR": "1"}
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def scripts(recipe) -> list[str]:
    """The recipe's shell scripts, with the runner's values for shard 2 of 4 put in."""
    text = recipe.read_text(encoding="utf-8")
    for var, value in (("${{ matrix.shard }}", "2"), ("${CI_NODE_INDEX}", "2"), ("${CI_NODE_TOTAL}", "4")):
        text = text.replace(var, value)
    data = yaml.safe_load(text)
    if recipe is GITHUB:
        return [s["run"] for job in data["jobs"].values() for s in job["steps"] if "run" in s]
    return [line for job in data.values() if isinstance(job, dict) for line in job.get("script", [])]


@pytest.mark.parametrize("recipe", [GITHUB, GITLAB], ids=lambda p: p.name)
def test_scan_shards_then_merge(recipe):
    commands = [c for s in scripts(recipe) for c in iisguard_commands(s)]
    assert [c[0] for c in commands] == ["scan", "merge"], commands
    parser = build_parser()
    scan, merge = (parser.parse_args(c) for c in commands)
    assert scan.shard is not None and {o.format for o in scan.formats} == {"json"}
    assert {"sarif", "junit"} <= {o.format for o in merge.formats}


def test_matrix_and_parallel_cover_every_shard():
    gh = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))
    shards = gh["jobs"]["scan"]["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, len(shards) + 1))
    assert f"/{len(shards)}" in gh["jobs"]["scan"]["steps"][-2]["run"]
    assert gh["jobs"]["merge"]["needs"] == "scan"
    assert gh["jobs"]["merge"]["permissions"]["security-events"] == "write"
    gl = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))
    assert gl["iisguard-scan"]["parallel"] >= 2
    assert "${CI_NODE_INDEX}/${CI_NODE_TOTAL}" in gl["iisguard-scan"]["script"][0]
    assert gl["iisguard-merge"]["artifacts"]["reports"]["junit"] == "iisguard-junit.xml"

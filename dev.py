#!/usr/bin/env python3
"""Set up a virtual environment and run the demo or the tests. Needs nothing but Python 3.11+ and pip.

python3 dev.py demo    # install, then scan the bundled misconfigured demo host
python3 dev.py test    # install with test extras, then run the whole test suite
python3 dev.py lint    # ruff, mypy and the import layering contracts
python3 dev.py docs    # regenerate docs/RULES.md from the code (tests/test_docs.py checks it is current)
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("IISGUARD_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")


def run(*cmd: str | Path, check: bool = True) -> int:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], cwd=ROOT, check=check).returncode


def ensure_env(extras: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be started by an older python3
        sys.exit(f"iisguard needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PY.exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    # Reinstall only when the project metadata changed since the last install.
    stamp = VENV / f".iisguard-installed-{extras or 'base'}"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    target = f".[{extras}]" if extras else "."
    run(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", target)
    stamp.write_text(digest)


def demo() -> int:
    ensure_env("")
    host = ROOT / "fixtures" / "hosts" / "demo-misconfigured"
    code = run(BIN / "iisguard", "scan", host, check=False)
    print(
        f"\n(iisguard exited {code}: 1 means failures at or above --fail-on were found, as this demo host intends.)"
    )
    return 0 if code in (0, 1) else code


def test(args: list[str]) -> int:
    ensure_env("test")
    workers = ["-n", "auto"] if (os.cpu_count() or 1) > 1 else []
    return run(PY, "-m", "pytest", *workers, *args, check=False)


def lint() -> int:
    ensure_env("test")
    paths = ("core", "plugins", "tests", "benchmarks", "examples", "dev.py")
    rc = run(PY, "-m", "ruff", "check", *paths, check=False)
    rc = run(PY, "-m", "ruff", "format", "--check", *paths, check=False) or rc
    rc = run(PY, "-m", "mypy", check=False) or rc
    # The layering contracts of pyproject.toml [tool.importlinter] (no cache file left in the checkout).
    return run(BIN / "lint-imports", "--no-cache", "--no-logo", check=False) or rc


RULES_HEADER = """\
# Rule catalog

The built-in rules, generated from the code by `python3 dev.py docs` (the output of
`iisguard rules list --format markdown` with only iisguard's own packs loaded); a test fails when
this file is out of date. `iisguard rules show ID` prints a rule's description, rationale,
remediation commands, parameters and references; `iisguard rules list --framework cis-iis10`
(or `stig-iis10`) shows which rules cover each benchmark item. The fields every rule reads are in
[SNAPSHOT.md](SNAPSHOT.md).

"""


def docs() -> int:
    ensure_env("")
    env = {**os.environ, "IISGUARD_DISABLE_PLUGIN_AUTOLOAD": "1"}
    catalog = subprocess.run(
        [str(BIN / "iisguard"), "rules", "list", "--format", "markdown"],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    (ROOT / "docs" / "RULES.md").write_text(RULES_HEADER + catalog, encoding="utf-8", newline="\n")
    print("wrote docs/RULES.md")
    return 0


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "help"
    if command == "demo":
        return demo()
    if command == "test":
        return test(argv[1:])
    if command == "lint":
        return lint()
    if command == "docs":
        return docs()
    print(__doc__)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

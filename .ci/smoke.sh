#!/usr/bin/env bash
# The user-facing commands, run the way users run them: the wheel installed into a fresh virtual
# environment, from a working folder outside the checkout, with the network closed.
#
#   .ci/smoke.sh WHEEL [EXTRAS]          # e.g. .ci/smoke.sh dist/iisguard-0.1.0-py3-none-any.whl fast
#
# Dependencies are installed from the registries first; then the commands run under `unshare -n`
# (a network namespace with nothing in it, as root; `unshare -rn` otherwise), so anything that
# reaches for a socket fails here as it would on an air-gapped server. Only `collect` needs the
# network, and it is not run. Each command's exit code is checked, and a few outputs are read.
set -euo pipefail

wheel=$(realpath "$1")
extras=${2:-}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/iisguard-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT
label="wheel${extras:+ [$extras]}"
echo "== smoke: $label, in $work (outside the checkout), network closed"

# 1. A fresh environment with the wheel and, with EXTRAS, its extras (network open for pip).
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "$wheel${extras:+[$extras]}"
if [[ -z "$extras" ]]; then
  # No extras means no extras: the fallbacks (json, fastjsonschema) are what runs.
  if "$work/venv/bin/python" -c "import orjson" 2>/dev/null || "$work/venv/bin/python" -c "import jsonschema_rs" 2>/dev/null; then
    echo "smoke: the plain install has orjson or jsonschema-rs; it must not" >&2
    exit 1
  fi
fi

# 2. Inputs, copied out of the checkout: demo hosts, their captures, rule test cases, and a capture
#    with more than 10,000 ACLs from the benchmark generator (the spilled-ACL import path).
mkdir -p "$work/in" "$work/run"
cp -r "$repo/fixtures/hosts/demo-misconfigured" "$repo/fixtures/hosts/demo-golden" "$work/in/"
cp -r "$repo/fixtures/hosts/farm-web01/captures" "$work/in/farm-web01"
cp -r "$repo/fixtures/hosts/farm-web02/captures" "$work/in/farm-web02"
mkdir -p "$work/in/rules"
cp -r "$repo/fixtures/rules/IIS-ACL-003" "$repo/fixtures/rules/IIS-POOL-001" "$work/in/rules/"
cp "$repo/README.md" "$work/in/README.md"
# A golden image's build scripts (PowerShell and batch), as a repository holds them.
mkdir -p "$work/repo/build"
cp "$repo"/fixtures/scripts/golden-image/* "$work/repo/build/"
# An `icacls /T` listing of 12,000 folders: past the 10,000 ACLs an import keeps in memory.
mkdir -p "$work/in/large"
python3 - "$work/in/large/icacls-sites.txt" <<'PY'
import sys
with open(sys.argv[1], "w", encoding="utf-8", newline="\r\n") as out:
    for i in range(12000):
        path = f"C:\\inetpub\\sites\\site{i:05d}"
        pad = " " * (len(path) + 1)
        out.write(f"{path} BUILTIN\\Administrators:(OI)(CI)(F)\n{pad}NT AUTHORITY\\SYSTEM:(OI)(CI)(F)\n")
        out.write(f"{pad}BUILTIN\\Users:(OI)(CI)(RX)\n\n")
    out.write("Successfully processed 12000 files; Failed processing 0 files\n")
PY
large="$work/in/large"

# 3. The commands, in a network namespace with no interface up.
if [[ "$(id -u)" == 0 ]]; then
  isolate=(unshare -n)
else
  isolate=(unshare -rn)
fi
if ! "${isolate[@]}" true 2>/dev/null; then
  if [[ "${CI:-}" == "true" ]]; then
    echo "smoke: cannot close the network (${isolate[*]} failed); CI=true requires it" >&2
    exit 1
  fi
  echo "smoke: warning: ${isolate[*]} is not available here; running with the network open" >&2
  isolate=()
fi
cd "$work/run"
${isolate[@]+"${isolate[@]}"} env PATH="$work/venv/bin:$PATH" IN="$work/in" LARGE="$large" REPO="$work/repo" EXTRAS="$extras" bash -euo pipefail -c '
py=python
expect() {  # expect CODE COMMAND...: run it, and fail unless it exits CODE
  local want=$1 got=0
  shift
  "$@" >out.log 2>err.log || got=$?
  if [[ "$got" != "$want" ]]; then
    echo "FAILED (exit $got, expected $want): $*" >&2
    tail -n 20 out.log err.log >&2
    exit 1
  fi
  echo "  ok (exit $got): $*"
}
json() { $py -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

# Nothing may reach the network: prove the namespace is closed.
if $py -c "import socket; socket.create_connection((\"pypi.org\", 443), timeout=3)" 2>/dev/null; then
  echo "the network is open inside the smoke namespace" >&2; exit 1
fi

umask 022
expect 0 iisguard --version
expect 0 iisguard plugins
grep -q "import formats" out.log

# The demo host in every format the installed reporters offer (exit 1: it has failures).
formats=$($py -c "
from iisguard.plugins import load_plugins
print(\" \".join(sorted(load_plugins().reporters)))")
for fmt in $formats; do
  expect 1 iisguard scan "$IN/demo-misconfigured/snapshot.json" --format "$fmt:demo.$fmt"
  test -s "demo.$fmt"
  [[ "$(stat -c %a "demo.$fmt")" == 644 ]]  # reports follow the umask
done
expect 1 iisguard scan "$IN/demo-misconfigured" --format text
[[ $(json demo.sarif "d[\"runs\"][0][\"invocations\"][0][\"executionSuccessful\"]") == True ]]

# Import: the demo captures, then a capture with more than 10,000 ACLs (streamed to the file).
expect 0 iisguard import "$IN/demo-misconfigured/captures" -o demo-import.json
expect 0 iisguard validate demo-import.json
expect 1 iisguard scan demo-import.json --format json:demo-import.out.json
expect 0 iisguard import "$IN/demo-misconfigured/captures" "$LARGE" -o large.json
expect 0 iisguard validate large.json
[[ $(json large.json "len(d[\"acls\"]) > 12000") == True ]]
expect 1 iisguard scan large.json --format sarif:large.sarif --format junit:large.xml
# The listing alone: every rule also needs the IIS configuration, so nothing can be judged: exit 3.
expect 0 iisguard import "$LARGE" -o acls-only.json
expect 3 iisguard scan acls-only.json --format sarif:acls-only.sarif
grep -q "no rule could judge anything" err.log
[[ $(json acls-only.sarif "d[\"runs\"][0][\"invocations\"][0][\"executionSuccessful\"]") == False ]]
expect 0 env IISGUARD_SPILL_ACLS=5 iisguard import "$IN/demo-misconfigured/captures" -o spilled.json
expect 0 iisguard validate spilled.json
expect 0 iisguard import "$IN/demo-misconfigured/captures" -o -
$py -c "import json; json.load(open(\"out.log\"))"
expect 0 iisguard import "$IN/farm-web01" "$IN/farm-web02" -o farm/
[[ -f farm/FARM-WEB01.json && -f farm/FARM-WEB02.json ]]
expect 2 iisguard import "$IN/farm-web01" "$IN/farm-web02" -o farm.json
expect 2 iisguard import "$IN/README.md" -o readme.json
grep -q "nothing imported" err.log
expect 2 iisguard import demo.sarif -o sarif.json
grep -q "a SARIF log, not a capture" err.log

# Profiles and frameworks shipped in the package; a plain scan uses the baseline profile.
for profile in baseline cis-iis10 stig-iis10; do
  expect 1 iisguard scan "$IN/demo-misconfigured/snapshot.json" --profile "$profile" --format json:p.json
  [[ $(json p.json "d[\"summary\"][\"profile\"]") == "$profile" ]]
done
expect 0 iisguard scan "$IN/demo-golden/snapshot.json" --format json:golden.json
[[ $(json golden.json "d[\"summary\"][\"profile\"]") == baseline ]]
for fw in cis-iis10 stig-iis10; do
  expect 0 iisguard rules list --framework "$fw"
  expect 1 iisguard scan "$IN/demo-misconfigured/snapshot.json" --framework "$fw" --format json:fw.json
done
expect 0 iisguard rules list --format markdown
expect 0 iisguard rules show IIS-ACL-003

# A gate that read nothing, or lacks a required section, does not pass.
expect 3 iisguard scan "$IN/demo-golden/snapshot.json" --require ad
expect 0 iisguard scan "$IN/demo-golden/snapshot.json" --require acls,iis

# A policy with `extends: baseline`, autodiscovered as ./iisguard.yaml, with waivers.
expect 0 iisguard policy example
cp out.log iisguard.yaml
expect 0 iisguard policy check iisguard.yaml
expect 1 iisguard scan "$IN/demo-misconfigured/snapshot.json" --format json:policy.json
[[ $(json policy.json "d[\"notices\"][0][\"message\"]") == *iisguard.yaml* ]]
cat > waive.yaml <<EOF
apiVersion: iisguard/v1
kind: Policy
extends: baseline
waivers:
  - rule: IIS-POOL-001
    resource: "*"
    reason: smoke test
    owner: ci
    expires: $($py -c "import datetime; print(datetime.date.today() + datetime.timedelta(days=30))")
EOF
rm iisguard.yaml
expect 0 iisguard policy check waive.yaml
expect 1 iisguard scan "$IN/demo-misconfigured/snapshot.json" --policy waive.yaml --format json:waived.json
[[ $(json waived.json "d[\"summary\"][\"failures\"][\"waived\"] > 0") == True ]]
expect 1 iisguard scan "$IN/demo-misconfigured/snapshot.json" --policy waive.yaml --no-waivers

# Baseline: the same failures again are unchanged and do not gate.
expect 0 iisguard scan "$IN/demo-misconfigured/snapshot.json" --baseline demo.sarif --format json:base.json
[[ $(json base.json "d[\"summary\"][\"baseline\"][\"unchanged\"] > 0") == True ]]

# Drift between two images; rule tests; schema validation.
expect 1 iisguard diff "$IN/demo-golden/snapshot.json" "$IN/demo-misconfigured/snapshot.json"
expect 0 iisguard diff "$IN/demo-golden/snapshot.json" "$IN/demo-golden/snapshot.json"
expect 0 iisguard rules test "$IN/rules"
expect 0 iisguard validate "$IN/demo-misconfigured/snapshot.json" "$IN/demo-golden/snapshot.json"
expect 2 iisguard validate demo.sarif

# Build scripts: a declared snapshot, findings at the script lines (SARIF relative to the repository).
# Batch files need no extra; PowerShell needs [scripts], and says so without it.
expect 0 iisguard import "$REPO/build/intranet.cmd" -o batch.json
[[ $(json batch.json "d[\"collection\"][\"source\"]") == declared ]]
if [[ ",$EXTRAS," == *,scripts,* ]]; then
  expect 0 iisguard import "$REPO/build" -o declared.json
  expect 0 iisguard validate declared.json
  expect 1 iisguard scan --scripts "$REPO/build" --sarif-root "$REPO" --format sarif:scripts.sarif
  [[ $(json scripts.sarif "\" \".join(sorted({r[\"locations\"][0][\"physicalLocation\"][\"artifactLocation\"][\"uri\"] for r in d[\"runs\"][0][\"results\"]}))") == "build/accounts.ps1 build/iis-pools.ps1 build/intranet.cmd" ]]
  if grep -q "Summer2026" scripts.sarif declared.json out.log err.log; then echo "a script password leaked" >&2; exit 1; fi
else
  expect 2 iisguard import "$REPO/build" -o declared.json
  grep -q "iisguard\[scripts\]" err.log
  [[ ! -e declared.json ]]
fi

# The capture script for air-gapped servers, readable as any file the user writes.
expect 0 iisguard capture-script --out capture.ps1
[[ "$(stat -c %a capture.ps1)" == 644 ]]
'
echo "== smoke: $label passed"

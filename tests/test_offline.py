"""Nothing but `collect` opens a socket: import, validate, scan, policy, diff and rules under a guard.

The repro of the defect: without the `fast` extra (no jsonschema-rs), importing a capture with more
than IISGUARD_SPILL_ACLS ACLs validated each spilled ACL with a fastjsonschema validator of the ACL
item schema; fastjsonschema's reference store is shared between compilations, so after the whole
snapshot schema had been compiled, `#/$defs/evidence` resolved to https://iisguard.dev/... and was
downloaded (a URLError traceback offline, exit 1). Every command runs here with the compiled
validator that `fast` installs and with the fallback, in one process (the order that triggered it).
"""

from __future__ import annotations

import shutil
import socket
import sys

import pytest

from iisguard import schemas
from iisguard.capture import base
from iisguard.cli import main
from iisguard.model import snapshot

from .conftest import FIXTURES, NetworkAttempt

DEMO = FIXTURES / "hosts" / "demo-misconfigured"


def test_the_guard_refuses_connections(no_network):
    with pytest.raises(NetworkAttempt):
        socket.create_connection(("192.0.2.1", 443), timeout=1)
    with pytest.raises(NetworkAttempt):
        socket.socket().connect(("127.0.0.1", 9))
    with pytest.raises(NetworkAttempt):
        socket.getaddrinfo("iisguard.dev", 443)
    assert len(no_network) == 3


@pytest.fixture(params=["jsonschema-rs", "fastjsonschema"])
def validator_kind(request, monkeypatch):
    """The compiled validator in use: jsonschema-rs (the `fast` extra) or the fastjsonschema fallback."""
    if request.param == "fastjsonschema":
        monkeypatch.setitem(sys.modules, "jsonschema_rs", None)  # import fails as when not installed
    else:
        pytest.importorskip("jsonschema_rs", reason="jsonschema-rs (the fast extra) is not installed")
    for cached in (snapshot._fast_validator, snapshot._item_validator):
        cached.cache_clear()
    yield request.param
    for cached in (snapshot._fast_validator, snapshot._item_validator):
        cached.cache_clear()


def run(capsys, *argv) -> tuple[int, str]:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_every_offline_command_runs_without_the_network(
    validator_kind, no_network, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(base, "SPILL_ACLS", 5)  # the >10,000-ACL path with the demo's 21 ACLs
    captures = shutil.copytree(DEMO / "captures", tmp_path / "captures")

    # The whole-snapshot validator first: that is what filled fastjsonschema's shared store.
    code, out = run(capsys, "validate", DEMO / "snapshot.json")
    assert code == 0, out
    code, out = run(capsys, "import", captures, "-o", "web.json")
    assert code == 0, out
    assert "-> web.json" in out
    code, out = run(capsys, "validate", "web.json")
    assert code == 0, out
    code, out = run(
        capsys, "scan", "web.json", "-f", "sarif:web.sarif", "-f", "json:web.json.out", "--fail-on", "never"
    )
    assert code == 0, out
    code, out = run(
        capsys, "scan", "web.json", "--profile", "stig-iis10", "--baseline", "web.sarif", "--fail-on", "never"
    )
    assert code == 0, out
    code, out = run(capsys, "policy", "example")
    (tmp_path / "policy.yaml").write_text(out, "utf-8")
    code, out = run(capsys, "policy", "check", "policy.yaml")
    assert code == 0, out
    code, out = run(capsys, "diff", DEMO / "snapshot.json", "web.json")
    assert code in (0, 1), out
    code, out = run(capsys, "rules", "list", "--framework", "cis-iis10")
    assert code == 0, out
    code, out = run(capsys, "rules", "show", "IIS-ACL-003")
    assert code == 0, out
    cases = tmp_path / "cases"
    shutil.copytree(FIXTURES / "rules" / "IIS-ACL-003", cases / "IIS-ACL-003")
    code, out = run(capsys, "rules", "test", cases)
    assert code == 0, out
    assert no_network == []


def test_a_reference_to_a_schema_not_shipped_is_refused_not_fetched(validator_kind, no_network):
    remote = {"$ref": "https://schemas.example/elsewhere.json"}
    with pytest.raises(Exception, match="not shipped with iisguard"):
        schemas.compiled(remote)({})
    with pytest.raises(Exception, match="elsewhere.json"):
        list(schemas.validator(remote).iter_errors({}))
    assert no_network == []

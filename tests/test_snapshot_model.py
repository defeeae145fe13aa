"""Loading and validating snapshots: clear errors, never tracebacks; indexes by SID, name and path."""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from iisguard.cli import main
from iisguard.errors import SnapshotError
from iisguard.model import sids
from iisguard.model import snapshot as snapmod

from .conftest import FIXTURES

GOLDEN = FIXTURES / "hosts" / "demo-golden" / "snapshot.json"


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_app_pool_sid_matches_windows():
    assert (
        sids.app_pool_sid("DefaultAppPool") == "S-1-5-82-3006700770-424185619-1745488364-794895919-4004696415"
    )
    # Pool names are case-insensitive: IIS lower-cases them before hashing.
    assert sids.app_pool_sid("DEFAULTAPPPOOL") == sids.app_pool_sid("DefaultAppPool")
    assert sids.well_known_sid("NT SERVICE\\TrustedInstaller") == sids.TRUSTED_INSTALLER


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "a snapshot is a JSON object"),
        ('{"host": {"name": "X"}}', "no schema_version"),
        (
            '{"schema_version": "9.9", "host": {"name": "X"}, "collection": {"source": "import"}}',
            "'9.9' is not supported",
        ),
    ],
)
def test_bad_files_are_clear_errors(tmp_path, content, expected):
    path = write(tmp_path, "s.json", content)
    with pytest.raises(SnapshotError) as err:
        snapmod.load(path)
    assert expected in str(err.value)
    assert str(path) in str(err.value)


def test_invalid_snapshot_names_pointer_and_line(tmp_path):
    data = json.loads(GOLDEN.read_text())
    data["iis"]["app_pools"][1]["identity"]["type"] = "Root"
    path = write(tmp_path, "bad.json", json.dumps(data, indent=2))
    with pytest.raises(SnapshotError) as err:
        snapmod.load(path)
    text = path.read_text().splitlines()
    line = int(str(err.value).split(":")[1])
    assert "/iis/app_pools/1/identity/type" in str(err.value)
    assert '"Root"' in text[line - 1]


def test_size_limit(tmp_path):
    path = write(tmp_path, "big.json", '{"schema_version": "1.0"}' + " " * 2000)
    with pytest.raises(SnapshotError, match="over the 1,000-byte limit"):
        snapmod.read_json(path, limit=1000)


def test_validate_command_reports_every_problem(tmp_path, capsys):
    data = json.loads(GOLDEN.read_text())
    data["iis"]["app_pools"][0]["identity"]["type"] = "Root"
    data["acls"][0]["aces"][0]["type"] = "maybe"
    data["iis"]["app_pools"][2]["identity"]["password"] = {"present": True, "value": "hunter2"}
    bad = write(tmp_path, "bad.json", json.dumps(data, indent=2))
    assert main(["validate", str(GOLDEN), str(bad)]) == 2
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith(str(bad))]
    assert len(lines) == 3, err
    assert any("/iis/app_pools/0/identity/type" in ln for ln in lines)
    assert any("/acls/0/aces/0/type" in ln for ln in lines)
    # The schema refuses a password value, and the message does not repeat it.
    assert any("/iis/app_pools/2/identity/password" in ln and "unknown field" in ln for ln in lines)
    assert "hunter2" not in err


def test_validate_ok(capsys):
    assert main(["validate", str(GOLDEN.parent)]) == 0
    assert "valid" in capsys.readouterr().out


def test_indexes_resolve_principals_by_sid_and_name():
    snap = snapmod.load(GOLDEN)
    idx = snap.principals
    assert idx.sid_of("IIS APPPOOL\\Shop") == sids.app_pool_sid("Shop")
    assert idx.sid_of("*S-1-5-32-568") == sids.IIS_IUSRS
    assert idx.key("WEB-GOLDEN\\Administrator") == idx.key(".\\Administrator")
    assert sids.ADMINISTRATORS in idx.groups_of("WEB-GOLDEN\\Administrator")
    assert snap.acl("d:/sites/shop/") is snap.acl("D:\\Sites\\Shop")
    assert snap.pool("shop")["name"] == "Shop"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=" \t\\/?%.:aBcß\u00a0\u0130Σ", max_size=12), max_size=8))
@example(
    [
        "\\\\?\\C:\\Sites\\",
        " C:/Inetpub/wwwroot/ ",
        "c:\\INETPUB\\wwwroot",
        "%SystemDrive%\\x",
        "STRAßE\u0130",
    ]
)
def test_acls_by_path_keys_are_path_keys(paths):
    """acls_by_path normalizes each ACL's path inline (100,000 on a large host): the keys must be what
    canon_path gives, the last ACL of a path captured twice winning."""
    data = {"host": {"name": "H", "environment": {"SystemDrive": "D:"}}, "acls": [{"path": p} for p in paths]}
    snap = snapmod.Snapshot(data)
    expected = {}
    for acl in data["acls"]:
        expected[snapmod.canon_path(acl["path"], snap.environment)] = acl
    by_path = snap.acls_by_path
    assert list(by_path) == list(expected)
    assert all(by_path[k] is v for k, v in expected.items())
    assert all(snap.path_key(p) == snapmod.canon_path(p, snap.environment) for p in paths)

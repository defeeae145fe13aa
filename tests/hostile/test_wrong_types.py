"""Issue #18, case 18: wrongly typed capture.yaml entries are refused with file:line (a section named
`['x']` was imported as "['x']", entries that were not mappings were dropped without a word);
`validate` warns about what the schema allows but cannot be right (an application whose pool is not
in the snapshot, a SID like S-1-BOGUS); `schema_version: 1.0` as a number says it must be the string."""

from __future__ import annotations

import json

import pytest

from ..conftest import FIXTURES
from .conftest import one_error_line, run

SNAPSHOT = FIXTURES / "hosts" / "iis10-default" / "snapshot.json"
MANIFESTS = {
    "name-is-a-list": ("sections: [{name: ['x'], status: ok}]", 2, "sections[0]: 'name' must be a section name (text), not a list"),
    "entry-not-a-mapping": ("sections:\n  - ok\n  - failed", 3, "sections[0] must be a mapping {name:, status:, message:}, not str"),
    "unknown-status": ("sections:\n  - {name: acls, status: ok}\n  - {name: iis, status: bogus}", 4,
                       "section 'iis': 'status' must be one of ok, partial, failed, absent, not 'bogus'"),
    "status-missing": ("sections:\n  - name: acls\n    message: x", 3, "section 'acls': 'status' must be one of ok, partial, failed, absent, not none given"),
    "message-a-mapping": ("sections:\n  - name: acls\n    status: ok\n    message: {a: 1}", 5, "section 'acls': 'message' must be text, not a mapping"),
    "sections-a-mapping": ("sections: {acls: ok}", 2, "'sections' must be a list of {name:, status:, message:} entries, not dict"),
    "file-path-a-list": ("files:\n  - {path: [a.txt], kind: icacls}", 3, "files[0]: 'path' must be a file path (text), not a list"),
    "file-entry-a-number": ("files: [1]", 2, "files[0] must be a path or a mapping {path:, kind:}, not int"),
}  # fmt: skip


@pytest.mark.parametrize("case", MANIFESTS)
def test_wrongly_typed_capture_yaml_entries_are_refused_with_file_and_line(tmp_path, capsys, case):
    text, line, message = MANIFESTS[case]
    folder = tmp_path / "cap"
    folder.mkdir()
    (folder / "capture.yaml").write_text(f"host: WEB01\n{text}\n")
    (folder / "acl.txt").write_text("C:\\inetpub BUILTIN\\Users:(RX)\n")
    code, _, err = run(capsys, "import", folder, "-o", tmp_path / "s.json")
    assert code == 2, err
    assert one_error_line(err) == f"iisguard: error: {folder / 'capture.yaml'}:{line}: {message}"
    assert not (tmp_path / "s.json").exists()


def test_validate_warns_about_a_missing_pool_and_malformed_sids(tmp_path, capsys):
    data = json.loads(SNAPSHOT.read_text())
    data["iis"]["sites"][0]["applications"][0]["app_pool"] = "NoSuchPool"
    data["iis"]["app_pools"][0]["identity"]["sid"] = "S-1-BOGUS"
    data["acls"][0]["aces"][0]["sid"] = "S-1-5-21-x"
    snap = tmp_path / "s.json"
    snap.write_text(json.dumps(data, indent=2))
    code, out, err = run(capsys, "validate", snap)
    assert code == 0 and f"{snap}: valid" in out  # the schema allows them: warnings, not errors
    warnings = [line for line in err.splitlines() if ": warning: " in line]
    text = snap.read_text().splitlines()
    assert len(warnings) == 3, err
    for warning, wanted in zip(
        warnings,
        ["/acls/0/aces/0/sid: 'S-1-5-21-x' is not a SID",
         "/iis/app_pools/0/identity/sid: 'S-1-BOGUS' is not a SID",
         "/iis/sites/0/applications/0/app_pool: application 'Default Web Site/' uses application pool "
         "'NoSuchPool', which is not in iis.app_pools"],
        strict=True,
    ):  # fmt: skip
        assert wanted in warning, warning
        line = int(warning.split(":")[1])  # file:line, and the line holds the value
        assert any(v in text[line - 1] for v in ("S-1-5-21-x", "S-1-BOGUS", "NoSuchPool")), (
            warning,
            text[line - 1],
        )


def test_a_schema_version_written_as_a_number_says_it_must_be_the_string(tmp_path, capsys):
    data = json.loads(SNAPSHOT.read_text())
    data["schema_version"] = 1.0
    snap = tmp_path / "s.json"
    snap.write_text(json.dumps(data))
    for command in ("validate", "scan"):
        code, _, err = run(capsys, command, snap)
        assert code == 2
        assert f'{snap}: schema_version must be the string "1.0", not the number 1.0' in err, err
        assert "is not supported" not in err

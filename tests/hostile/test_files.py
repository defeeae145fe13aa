"""Issue #18, cases 12 (import side), 14 (unreadable capture file) and 16: what the walk cannot read or
must not follow is said, never silently skipped or followed; NUL characters are not glued into paths."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from ..conftest import FIXTURES
from .conftest import one_error_line, run

CAPTURES = FIXTURES / "hosts" / "iis10-default" / "captures"


def unprivileged(args: list, cwd: Path) -> subprocess.CompletedProcess:
    """`python -m iisguard ARGS` so that file modes apply (root reads a chmod 000 folder).

    Root keeps its uid but loses the capabilities that override file modes (setpriv, util-linux):
    dropping to another user instead fails where the interpreter lives under a private /root.
    """
    command = [sys.executable, "-m", "iisguard", *map(str, args)]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to test unreadable files as root"
        command = [setpriv, "--bounding-set=-dac_override,-dac_read_search", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=cwd, check=False)


@pytest.fixture
def shared_tmp():
    """A folder an unprivileged user can write to (pytest's tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="iisguard-hostile-"))
    folder.chmod(0o777)
    yield folder
    for path in folder.rglob("*"):
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    shutil.rmtree(folder)


def test_an_unreadable_subfolder_makes_its_section_partial_with_a_warning(shared_tmp):
    folder = shared_tmp / "cap"
    shutil.copytree(CAPTURES, folder)
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o777 if path.is_dir() else 0o666)
    (folder / "acls").chmod(0o000)
    proc = unprivileged(["import", folder, "-o", shared_tmp / "s.json"], shared_tmp)
    assert proc.returncode == 0, proc.stderr
    data = json.loads((shared_tmp / "s.json").read_text())
    acls = next(s for s in data["collection"]["sections"] if s["name"] == "acls")
    assert acls["status"] == "partial" and "cannot read this folder" in acls["message"]
    assert any("cap/acls" in (w["artifact"] or "") for w in data["collection"]["warnings"])


def test_an_unreadable_capture_file_is_named_not_a_traceback(shared_tmp):
    folder = shared_tmp / "cap"
    folder.mkdir()
    folder.chmod(0o777)
    secret = folder / "acl.txt"
    secret.write_text("C:\\x BUILTIN\\Users:(RX)\n")
    secret.chmod(0o000)
    proc = unprivileged(["import", secret, "-o", shared_tmp / "s.json"], shared_tmp)
    assert "Traceback" not in proc.stderr
    if proc.returncode == 0:  # (exit 2 once an import that recognized nothing fails: issue #11)
        data = json.loads((shared_tmp / "s.json").read_text())
        assert data["collection"]["unrecognized"] == [
            {"path": "cap/acl.txt", "reason": "cannot read: Permission denied"}
        ]
    else:
        assert proc.returncode == 2 and "acl.txt" in proc.stderr, proc.stderr


def test_links_leaving_the_capture_folder_are_not_followed(tmp_path, capsys):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "web.config").write_text(
        '<configuration><system.web><identity impersonate="true" /></system.web></configuration>'
    )
    (outside / "shadow").write_text("root:$6$salt$hash:19000:0:99999:7:::\n")
    folder = tmp_path / "cap"
    shutil.copytree(CAPTURES, folder)
    (folder / "iis" / "web.config").symlink_to(outside / "web.config")
    (folder / "shadow.txt").symlink_to(outside / "shadow")
    (folder / "elsewhere").symlink_to(outside, target_is_directory=True)
    (folder / "iis" / "same.config").symlink_to(folder / "iis" / "applicationHost.config")  # inside: fine
    code, _, err = run(capsys, "import", folder, "-o", tmp_path / "s.json")
    assert code == 0, err
    data = json.loads((tmp_path / "s.json").read_text())
    paths = [a["path"] for a in data["collection"]["artifacts"]]
    assert not any(p.endswith(("web.config", "shadow.txt")) or "elsewhere" in p for p in paths)
    assert any(p.endswith("same.config") for p in paths)
    warned = {w["artifact"]: w["message"] for w in data["collection"]["warnings"]}
    assert "outside the capture folder; not followed" in warned["cap/iis/web.config"]
    assert "outside the capture folder; not followed" in warned["cap/shadow.txt"]
    assert "a link to a folder outside the capture folder" in warned["cap/elsewhere"]


def test_zip_members_with_dot_dot_are_reported(tmp_path, capsys):
    archive = tmp_path / "cap.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("acls/a.txt", "C:\\x BUILTIN\\Users:(RX)\n")
        zf.writestr("../../evil.txt", "C:\\y Everyone:(F)\n")
        zf.writestr("/abs.txt", "C:\\z Everyone:(F)\n")
    code, _, err = run(capsys, "import", archive, "-o", tmp_path / "s.json")
    assert code == 0, err
    data = json.loads((tmp_path / "s.json").read_text())
    assert [a["path"] for a in data["acls"]] == ["C:\\x"]
    warned = [w for w in data["collection"]["warnings"] if "outside the archive" in w["message"]]
    assert {w["artifact"] for w in warned} == {"cap.zip!/../../evil.txt", "cap.zip!//abs.txt"}


def test_nul_characters_are_not_glued_into_paths(tmp_path, capsys):
    listing = tmp_path / "acl.txt"
    listing.write_bytes(b"C:\\inetpub\\ww\x00C:\\evil BUILTIN\\Users:(RX)\nC:\\ok BUILTIN\\Users:(RX)\n")
    code, _, err = run(capsys, "import", listing, "--kind", "icacls", "-o", tmp_path / "s.json")
    data = json.loads((tmp_path / "s.json").read_text())
    assert all("\x00" not in a["path"] and "evil" not in a["path"] for a in data["acls"])
    assert any(w["line"] == 1 and "NUL" in w["message"] for w in data["collection"]["warnings"])


def test_import_refuses_to_overwrite_a_captured_file(tmp_path, capsys):
    folder = tmp_path / "capcopy"
    shutil.copytree(CAPTURES, folder)
    target = folder / "iis" / "applicationHost.config"
    before = target.read_bytes()
    code, _, err = run(capsys, "import", folder, "-o", target)
    assert code == 2 and "is one of the files being imported" in one_error_line(err)
    assert target.read_bytes() == before
    # A previous snapshot inside the folder may be replaced: the walk skips it.
    assert run(capsys, "import", folder, "-o", folder / "snap.json")[0] == 0
    assert run(capsys, "import", folder, "-o", folder / "snap.json")[0] == 0

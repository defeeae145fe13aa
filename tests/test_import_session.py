"""A folder import carries the capture script's `session` block into the snapshot, as collect does (#13)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from iisguard.capture import stream
from iisguard.cli import main
from iisguard.collect.assemble import snapshot_from_output

ROOT = Path(__file__).resolve().parents[1]
PRIMARY = ROOT / "fixtures" / "hosts" / "iis10-default" / "captures"
SESSION = {
    "user": "CORP\\scanner",
    "elevated": True,
    "administrators": True,
    "ps_edition": "Desktop",
    "ps_version": "5.1.20348.2849",
    "language_mode": "FullLanguage",
    "os_build": "20348",
    "code_page": 65001,
    "oem_code_page": 850,
    "delegated": False,
}


def _folder(tmp: Path, session: dict) -> Path:
    folder = tmp / "cap"
    shutil.copytree(PRIMARY, folder)
    manifest = folder / "capture.yaml"
    manifest.write_text(manifest.read_text("utf-8") + "session: " + json.dumps(session) + "\n", "utf-8")
    return folder


def test_folder_import_carries_the_session_like_collect(tmp_path, capsys):
    folder = _folder(tmp_path, SESSION)
    out = tmp_path / "snap.json"
    assert main(["import", str(folder), "-o", str(out)]) == 0
    capsys.readouterr()
    imported = json.loads(out.read_text("utf-8"))["collection"]["session"]
    assert imported == SESSION
    # the same folder as the script's -Stream output, through collect's path
    collected = snapshot_from_output(
        stream.encode_v2(folder).encode("utf-8"), b"", 0, where="h", source="winrm"
    )
    assert collected["collection"]["session"] == imported


def test_session_values_of_the_wrong_type_are_left_out(tmp_path, capsys):
    bad = {**SESSION, "elevated": "yes", "code_page": True, "secret": "x", "ps_version": 5.1}
    folder = _folder(tmp_path, bad)
    out = tmp_path / "snap.json"
    assert main(["import", str(folder), "-o", str(out)]) == 0
    capsys.readouterr()
    session = json.loads(out.read_text("utf-8"))["collection"]["session"]
    assert "elevated" not in session and "code_page" not in session and "secret" not in session
    assert "ps_version" not in session and session["user"] == "CORP\\scanner"


def test_a_session_that_is_not_a_mapping_is_a_clear_error(tmp_path, capsys):
    folder = tmp_path / "cap"
    shutil.copytree(PRIMARY, folder)
    manifest = folder / "capture.yaml"
    manifest.write_text(manifest.read_text("utf-8") + "session: elevated\n", "utf-8")
    assert main(["import", str(folder), "-o", str(tmp_path / "s.json")]) == 2
    err = capsys.readouterr().err
    assert "'session' must be a mapping" in err and "capture.yaml:" in err

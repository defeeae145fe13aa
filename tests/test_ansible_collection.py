"""The Ansible collection (integrations/ansible): its playbook collects every host of an Ansible
inventory through `iisguard collect`, one task per host in parallel by forks, against the suite's
WS-Management test servers on loopback, then scans the snapshots and fails the play on the gate.
The snapshots it writes are the ones `iisguard collect --inventory` writes from the same inventory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from iisguard.cli import main

from .test_collect_fleet import PASSWORD, host, tls  # noqa: F401 - pytest fixtures
from .winrm_server import WinRMTestServer, closed_port

ROOT = Path(__file__).resolve().parents[1]
COLLECTIONS = ROOT / "integrations" / "ansible"
COLLECTION = COLLECTIONS / "ansible_collections" / "iisguard" / "scanner"
BIN = Path(sys.executable).parent


def _tool(name: str) -> str | None:
    return str(BIN / name) if (BIN / name).exists() else shutil.which(name)


PLAYBOOK = _tool("ansible-playbook")
IISGUARD = _tool("iisguard")
pytestmark = pytest.mark.skipif(
    (PLAYBOOK is None or IISGUARD is None) and os.environ.get("CI") != "true",
    reason="ansible-playbook (ansible-core, in the test extras) or the iisguard command is not installed",
)


def inventory_ini(tmp_path: Path, tls, hosts: dict[str, int]) -> Path:  # noqa: F811 - the fixture's value
    lines = ["[iis]"]
    lines += [f"{name} ansible_host=127.0.0.1 ansible_port={port}" for name, port in hosts.items()]
    lines += [
        "",
        "[iis:vars]",
        "ansible_connection=winrm",
        "ansible_user=scanner",
        "ansible_password=\"{{ lookup('env', 'TEST_WINRM_PASSWORD') }}\"",
        "ansible_winrm_transport=basic",
        "ansible_winrm_scheme=https",
        f"ansible_winrm_ca_trust_path={tls.ca_cert}",
        "ansible_winrm_read_timeout_sec=3",
        "ansible_winrm_operation_timeout_sec=1",
    ]
    path = tmp_path / "inventory.ini"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def comparable(path: Path) -> dict:
    """A snapshot without what differs between two collections of the same host (times)."""
    snap = json.loads(path.read_text("utf-8"))
    coll = snap.get("collection", {})
    for key in ("collected_at", "seconds", "duration_seconds", "requests"):
        coll.pop(key, None)
    return snap


def run_playbook(tmp_path: Path, inv: Path, out_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
        "ANSIBLE_HOME": str(tmp_path / ".ansible"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / ".ansible-tmp"),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_NOCOLOR": "1",
        "TEST_WINRM_PASSWORD": PASSWORD,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.pop("IISGUARD_PASSWORD", None)
    env.pop("IISGUARD_USERNAME", None)
    return subprocess.run(
        [
            str(PLAYBOOK),
            "-i",
            str(inv),
            str(COLLECTION / "playbooks" / "collect_and_scan.yml"),
            "--forks",
            "4",
            "-e",
            f"iisguard_command={IISGUARD}",
            "-e",
            f"iisguard_out_dir={out_dir}",
            "-e",
            json.dumps(
                {
                    "iisguard_reports": [
                        f"json:{tmp_path / 'fleet.json'}",
                        f"junit:{tmp_path / 'fleet.xml'}",
                        f"html:{tmp_path / 'fleet.html'}",
                    ]
                }
            ),
            *extra,
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )


def test_playbook_collects_like_iisguard_collect_and_gates(tmp_path, tls, host, monkeypatch, capsys):  # noqa: F811
    with WinRMTestServer(tmp_path / "srv", users={"scanner": PASSWORD}, tls=tls) as srv:
        ports = {f"web{i}": srv.add_host(host(f"WEB{i}")) for i in range(3)}
        ports["down"] = closed_port()
        inv = inventory_ini(tmp_path, tls, ports)

        done = run_playbook(tmp_path, inv, tmp_path / "by-ansible")
        log = done.stdout + done.stderr
        (tmp_path / "ansible.log").write_text(log, "utf-8")  # kept for a reader when this fails
        assert PASSWORD not in log
        # The gate fails the play: one host could not be collected (and the demo data has findings).
        assert done.returncode != 0, log
        assert "Gate on the findings" in log and "iisguard:" in log

        monkeypatch.setenv("TEST_WINRM_PASSWORD", PASSWORD)
        monkeypatch.delenv("IISGUARD_PASSWORD", raising=False)
        monkeypatch.setenv("IISGUARD_USERNAME", "unused-ansible_user-wins")
        code = main(["collect", "--inventory", str(inv), "--out-dir", str(tmp_path / "direct")])
        capsys.readouterr()
        assert code == 3  # the down host

    by_ansible = sorted(p.name for p in (tmp_path / "by-ansible").glob("*.json"))
    assert by_ansible == sorted(p.name for p in (tmp_path / "direct").glob("*.json"))
    assert by_ansible == ["down.json", "web0.json", "web1.json", "web2.json"]
    for name in by_ansible:
        assert comparable(tmp_path / "by-ansible" / name) == comparable(tmp_path / "direct" / name), name
    down = comparable(tmp_path / "by-ansible" / "down.json")
    assert {s["status"] for s in down["collection"]["sections"]} == {"failed"}

    report = json.loads((tmp_path / "fleet.json").read_text("utf-8"))
    assert sorted(h["name"] for h in report["hosts"]) == ["WEB0", "WEB1", "WEB2", "down"]
    assert (tmp_path / "fleet.xml").is_file() and (tmp_path / "fleet.html").is_file()


def test_a_host_with_a_capture_folder_is_imported(tmp_path, tls, host):  # noqa: F811
    capture = ROOT / "fixtures" / "hosts" / "iis10-default" / "captures"
    inv = tmp_path / "inventory.ini"
    inv.write_text(
        f"[iis]\nairgapped ansible_connection=winrm iisguard_capture_dir={capture}\n", encoding="utf-8"
    )
    done = run_playbook(tmp_path, inv, tmp_path / "snaps", "-e", "iisguard_fail_on=never")
    assert done.returncode == 0, done.stdout + done.stderr
    snap = json.loads((tmp_path / "snaps" / "airgapped.json").read_text("utf-8"))
    assert snap["host"]["name"] == "airgapped" and snap["collection"]["source"] != "winrm"

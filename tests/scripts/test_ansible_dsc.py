"""Ansible tasks and DSC configurations as build scripts: findings at the script lines, no secret out,
the same rule ids as a captured server, bad YAML a warning with file:line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from iisguard.cli import main

from ..conftest import FIXTURES

SCRIPTS = FIXTURES / "scripts"
SECRET = "Rep0rts-2019!"  # the literal password both fixtures write (and nothing may repeat)


def run(capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A repository checkout holding the fixtures' build scripts; the tests run from its root."""
    shutil.copytree(SCRIPTS / "ansible", tmp_path / "ansible")
    shutil.copytree(SCRIPTS / "dsc", tmp_path / "dsc")
    shutil.copytree(SCRIPTS / "mof", tmp_path / "mof")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def imported(capsys, folder: str) -> dict:
    code, _, err = run(capsys, "import", folder, "-o", f"{folder}.json")
    assert code == 0, err
    return json.loads(Path(f"{folder}.json").read_text("utf-8"))


def failures(capsys, snapshot: str) -> dict[tuple[str, str], tuple[str, int]]:
    _, out, _ = run(capsys, "scan", snapshot, "--format", "json", "--fail-on", "never")
    doc = json.loads(out)
    return {
        (f["rule_id"], f["resource"]): (f["location"]["uri"], f["location"]["line"])
        for f in doc["findings"]
        if f["outcome"] == "fail"
    }


TASKS = "ansible/roles/iis_web/tasks/main.yml"


def test_ansible_findings_at_the_task_lines(capsys, repo):
    snap = imported(capsys, "ansible")
    assert snap["collection"]["source"] == "declared"
    got = failures(capsys, "ansible.json")
    assert got[("IIS-POOL-001", "app_pools/Batch")] == (TASKS, 32)  # processModel.identityType: LocalSystem
    assert got[("IIS-ACL-003", "acls/D:\\Sites\\Payroll")] == (TASKS, 53)  # Everyone Modify
    assert got[("IIS-PRIV-002", "user_rights/SeDebugPrivilege/S-1-5-32-568")] == (TASKS, 74)  # - IIS_IUSRS
    assert got[("IIS-HOST-001", "principals/reports")] == (TASKS, 61)
    # Scripts state the accounts they create, not every account of the image: `.\reports` is not
    # "no such local account" (IIS-POOL-012 failed it when the declared local_accounts read as enumerated).
    assert not any(rule == "IIS-POOL-012" for rule, _ in got), got
    # The pool removed with state: absent declares nothing.
    assert "Old" not in {p["name"] for p in snap["iis"]["app_pools"]}
    declared = snap["declared"]
    # Literal passwords: where, never what; Jinja lookups are unknown, never literal secrets.
    assert sorted(s["evidence"]["line"] for s in declared["secrets"]) == [25, 63]
    unknown = {u["what"] for u in declared["unresolved"]}
    assert (
        "application pool 'Payroll' password" in unknown and "domain user 'svc_payroll' password" in unknown
    )
    payroll = next(p for p in snap["iis"]["app_pools"] if p["name"] == "Payroll")
    assert payroll["identity"] == {"type": "SpecificUser", "password": {"present": True}}
    svc = next(p for p in snap["principals"] if p["name"] == "svc_payroll")
    assert svc["spns"] == ["HTTP/payroll.corp.example"] and svc["password_never_expires"] is True
    ace = next(a for a in snap["acls"][0]["aces"] if a["principal"] == "IIS AppPool\\Payroll")
    assert ace["rights"] == ["RX"] and ace["inheritance"] == ["OI", "CI"]


def test_dsc_findings_at_the_resource_lines(capsys, repo):
    snap = imported(capsys, "dsc")
    got = failures(capsys, "dsc.json")
    assert got[("IIS-POOL-001", "app_pools/Batch")] == (
        "dsc/PayrollWeb.ps1",
        44,
    )  # identityType = 'LocalSystem'
    assert got[("IIS-PRIV-002", "user_rights/SeDebugPrivilege/S-1-5-32-568")] == ("dsc/PayrollWeb.ps1", 76)
    pools = {p["name"]: p for p in snap["iis"]["app_pools"]}
    assert set(pools) == {"Payroll", "Reports", "Batch"}  # Ensure = 'Absent' declares nothing
    assert pools["Reports"]["identity"] == {
        "type": "SpecificUser",
        "user": ".\\reports",
        "password": {"present": True},
    }
    # The credential's password is the -AsPlainText string on line 12; $PoolCredential is a parameter.
    assert [s["evidence"]["line"] for s in snap["declared"]["secrets"]] == [12]
    assert {u["reason"] for u in snap["declared"]["unresolved"]} == {
        "$PoolCredential, supplied when the configuration is compiled"
    }
    auth = snap["iis"]["authentication"]
    assert [(a["location"], a["anonymous"]["enabled"], a["evidence"]["line"]) for a in auth] == [
        ("Payroll", False, 52)
    ]
    svc = next(p for p in snap["principals"] if p["name"] == "svc_payroll")
    assert svc["delegation"] == {"unconstrained": True} and svc["spns"] == ["HTTP/payroll.corp.example"]
    reports = next(p for p in snap["principals"] if p["name"] == "reports")
    assert reports["member_of"] == ["S-1-5-32-544"] and reports["password_never_expires"] is True


def test_secrets_absent_from_every_output(capsys, repo):
    for folder in ("ansible", "dsc", "mof"):
        imported(capsys, folder)
        outputs = [Path(f"{folder}.json").read_text("utf-8")]
        for fmt in ("json", "sarif", "junit", "text", "html"):
            _, out, err = run(capsys, "scan", f"{folder}.json", "--format", fmt, "--fail-on", "never")
            outputs += [out, err]
        _, out, err = run(capsys, "import", folder, "-o", "-")
        outputs += [out, err]
        for text in outputs:
            assert SECRET not in text


def test_same_rule_ids_as_a_captured_server(capsys, repo):
    # The demo host was captured with a LocalSystem pool, Everyone:(M) on a content folder, SeDebugPrivilege
    # for IIS_IUSRS and a person's account in IIS_IUSRS: the scripts that build the same server fail the
    # same rules.
    captured = {
        rule for rule, _ in failures(capsys, str(FIXTURES / "hosts" / "demo-misconfigured" / "snapshot.json"))
    }
    imported(capsys, "ansible")
    scripted = {rule for rule, _ in failures(capsys, "ansible.json")}
    for rule in ("IIS-POOL-001", "IIS-ACL-003", "IIS-PRIV-002", "IIS-HOST-001"):
        assert rule in captured and rule in scripted, rule


def test_bad_yaml_is_a_warning_with_file_and_line(capsys, repo):
    bad = repo / "ansible" / "roles" / "iis_web" / "tasks" / "broken.yml"
    bad.write_text(
        "---\n- name: pool\n  win_iis_webapppool:\n    name: A\n    attributes: {processModel.identityType: LocalSystem\n"
        "- name: next\n  win_acl: {path: 'C:\\x', user: Everyone, rights: Modify}\n",
        "utf-8",
    )
    bomb = repo / "ansible" / "bomb.yml"
    bomb.write_text(
        "---\n- name: x\n  win_user_right:\n    name: SeDebugPrivilege\n    users: &a ["
        + ", ".join(["x"] * 10)
        + "]\n"
        + "".join(
            f"    l{i}: &a{i} [*{'a' if i == 0 else f'a{i - 1}'}, *{'a' if i == 0 else f'a{i - 1}'}]\n"
            for i in range(40)
        ),
        "utf-8",
    )
    code, _, err = run(capsys, "import", "ansible", "-o", "ansible.json")
    assert code == 0 and "Traceback" not in err
    warnings = json.loads(Path("ansible.json").read_text("utf-8"))["collection"]["warnings"]
    where = {(Path(w["artifact"]).name, w["line"]) for w in warnings}
    assert ("broken.yml", 6) in where or ("broken.yml", 5) in where, warnings
    assert any(Path(w["artifact"]).name == "bomb.yml" and "alias" in w["message"] for w in warnings), warnings


def test_playbook_keys_that_are_not_modules_are_not_tasks(capsys, repo):
    # `user:` is win_acl's option and a connection setting; ansible.builtin.user is a Unix account.
    (repo / "ansible" / "unix.yml").write_text(
        "---\n- hosts: linux\n  remote_user: deploy\n  tasks:\n    - ansible.builtin.user:\n        name: bob\n"
        "        password: NotAWindowsSecret1\n",
        "utf-8",
    )
    snap = imported(capsys, "ansible")
    assert "bob" not in {p.get("name") for p in snap["principals"]}
    assert "NotAWindowsSecret1" not in json.dumps(snap)


def test_compiled_mof_plain_text_credential_is_a_secret_at_its_line(capsys, repo):
    snap = imported(capsys, "mof")
    assert [s["evidence"] for s in snap["declared"]["secrets"]] == [
        {"artifact": "mof/localhost.mof", "line": 10}
    ]
    pools = {p["name"]: p for p in snap["iis"]["app_pools"]}
    assert pools["Reports"]["identity"] == {
        "type": "SpecificUser",
        "user": ".\\reports",
        "password": {"present": True},
    }
    assert snap["iis"]["authentication"][0]["anonymous"]["enabled"] is False
    got = failures(capsys, "mof.json")
    assert got[("IIS-POOL-001", "app_pools/Batch")] == ("mof/localhost.mof", 30)
    assert SECRET not in Path("mof.json").read_text("utf-8")
    # A password encrypted for the node's certificate is not a literal secret.
    mof = repo / "mof" / "localhost.mof"
    mof.write_text(
        mof.read_text("utf-8").replace(
            f'"{SECRET}"', '"-----BEGIN CMS-----\\nMIIBvgYJKoZIhvcNAQcDoIIBrzCCAasCAQAx\\n-----END CMS-----"'
        ),
        "utf-8",
    )
    snap = imported(capsys, "mof")
    assert "secrets" not in snap.get("declared", {})
    assert [u["reason"] for u in snap["declared"]["unresolved"]] == ["encrypted for the node's certificate"]


def test_win_shell_lines_are_read_like_a_batch_file(capsys, repo):
    snap = imported(capsys, "ansible")
    legacy = next(p for p in snap["iis"]["app_pools"] if p["name"] == "Legacy")
    assert legacy["identity"]["type"] == "NetworkService" and legacy["evidence"]["line"] == 103
    acl = next(a for a in snap["acls"] if a["path"] == "D:\\Sites\\Payroll\\App_Data")
    assert [(a["principal"], a["rights"], a["inheritance"], a["evidence"]["line"]) for a in acl["aces"]] == [
        ("IIS_IUSRS", ["M"], ["OI", "CI"], 104)
    ]
    svc = next(p for p in snap["principals"] if p["name"] == "CORP\\svc_legacy")
    assert svc["spns"] == ["HTTP/legacy.corp.example"] and svc["evidence"]["line"] == 105


def test_script_only_findings_at_the_secret_and_delegation_lines(capsys, repo):
    """IIS-SCRIPT-001 (a clear-text password) where each file holds one; IIS-SCRIPT-003 for the DSC
    ADUser trusted for unconstrained delegation; never the password itself."""
    where = {}
    for folder in ("ansible", "dsc", "mof"):
        imported(capsys, folder)
        for (rule, _resource), location in failures(capsys, f"{folder}.json").items():
            if rule.startswith("IIS-SCRIPT-"):
                where.setdefault(rule, set()).add(location)
    assert where["IIS-SCRIPT-001"] == {
        (TASKS, 25),  # processModel password of pool Reports
        (TASKS, 63),  # win_user password
        ("dsc/PayrollWeb.ps1", 12),  # ConvertTo-SecureString 'x' -AsPlainText
        ("mof/localhost.mof", 10),  # MSFT_Credential Password in clear
    }
    assert where["IIS-SCRIPT-003"] == {("dsc/PayrollWeb.ps1", 85)}  # TrustedForDelegation = $true

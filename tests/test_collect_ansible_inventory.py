"""Ansible inventories drive `iisguard collect --inventory`: hosts, groups, variables and --limit are
resolved as ansible-core resolves them, checked against `ansible-inventory --list` itself."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from iisguard.collect import ansible_inventory as ansible
from iisguard.collect import fleet
from iisguard.errors import UsageError


def _ansible_inventory() -> str | None:
    beside = Path(sys.executable).parent / "ansible-inventory"
    return str(beside) if beside.exists() else shutil.which("ansible-inventory")


ANSIBLE = _ansible_inventory()
needs_ansible = pytest.mark.skipif(
    ANSIBLE is None and os.environ.get("CI") != "true",
    reason="ansible-inventory (ansible-core, in the test extras) is not installed",
)

INI = r"""
# hosts before any section are 'ungrouped'
bastion ansible_connection=ssh
mgmt01.corp.example ansible_connection=winrm ansible_winrm_transport=basic

[web]
web[01:03].corp.example ansible_winrm_transport=kerberos
web10.corp.example:5987 iisguard_deadline=300

[db]
db-[a:b].corp.example

[legacy]
iis6-[1:5:2].corp.example ansible_connection=psrp ansible_psrp_protocol=http ansible_psrp_auth=ntlm

[prod:children]
web
db

[prod:vars]
ansible_connection=winrm
ansible_winrm_scheme=https
ansible_winrm_server_cert_validation=ignore
ansible_password="{{ lookup('env', 'PROD_PW') }}"
ansible_become_method=runas

[web:vars]
ansible_port=5986
ansible_user=CORP\scanner
ansible_group_priority=5

[db:vars]
ansible_winrm_transport=basic
"""

YAML = """
all:
  vars:
    ansible_connection: winrm
  hosts:
    lone01.corp.example:
      ansible_password: hunter2-literal
  children:
    web:
      hosts:
        web[01:02].corp.example:
          ansible_winrm_transport: kerberos
        web10.corp.example:
          ansible_port: 5987
      vars:
        ansible_winrm_ca_trust_path: certs/corp-ca.pem
        ansible_winrm_read_timeout_sec: 120
    dmz:
      children:
        dmzweb:
          hosts:
            dmz01.example:
              ansible_host: 198.51.100.7
              ansible_winrm_transport: [basic, ntlm]
      vars:
        ansible_winrm_server_cert_validation: validate
        ansible_winrm_unknown_thing: 1
"""

VARS_FILES = {
    "group_vars/all.yml": "ansible_winrm_read_timeout_sec: 70\nansible_winrm_transport: ntlm\n",
    "group_vars/web/main.yml": "ansible_winrm_operation_timeout_sec: 50\nansible_winrm_kerberos_delegation: true\n",
    # group_vars/all beats every group's inventory vars, group_vars/<group> beats group_vars/all
    "group_vars/db.yaml": "ansible_winrm_operation_timeout_sec: 40\nansible_winrm_transport: credssp\n",
    "host_vars/web02.corp.example.yml": "ansible_host: 192.0.2.12\n",
}


def layout(tmp_path: Path, name: str, text: str, files: dict[str, str] = VARS_FILES) -> Path:
    for rel, body in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    inv = tmp_path / name
    inv.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return inv


def oracle(inv: Path, *extra: str) -> dict:
    assert ANSIBLE, "ansible-inventory is required here (CI=true)"
    env = {
        **os.environ,
        "ANSIBLE_HOME": str(inv.parent / ".ansible"),
        "ANSIBLE_LOCAL_TEMP": str(inv.parent / ".ansible-tmp"),
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
    }
    done = subprocess.run(
        [ANSIBLE, "-i", str(inv), "--list", *extra], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def normal(value):
    """ansible-inventory prints INI strings as they were typed; compare values as text."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return [normal(v) for v in value]
    return str(value)


@needs_ansible
@pytest.mark.parametrize("name,text", [("inv.ini", INI), ("inv.yml", YAML)])
def test_hosts_and_variables_agree_with_ansible_inventory(tmp_path, name, text):
    path = layout(tmp_path, name, text)
    expected = oracle(path)["_meta"]["hostvars"]
    data = None if name.endswith(".ini") else fleet._load_yaml(path)
    inv = ansible.read(path, data)
    assert sorted(inv.hosts) == sorted(expected)
    for host, want in expected.items():
        got = ansible.host_vars(inv, host)
        assert {k: normal(v) for k, v in got.items()} == {k: normal(v) for k, v in want.items()}, host


LIMITS = [
    "web",
    "prod:!db",
    "web:&prod",
    "prod,!web02.corp.example",
    "web0*",
    "~db-[ab]\\..*",
    "all:!ungrouped",
    "legacy:mgmt01.corp.example",
    "*",
]


@needs_ansible
@pytest.mark.parametrize("pattern", LIMITS)
def test_limit_patterns_select_what_ansible_selects(tmp_path, pattern):
    path = layout(tmp_path, "inv.ini", INI)
    listed = oracle(path, "--limit", pattern)
    expected = set(listed["_meta"]["hostvars"])
    inv = ansible.read(path, None)
    assert set(ansible.select(inv, pattern)) == expected


def test_connection_variables_map_to_iisguard_settings(tmp_path):
    path = layout(tmp_path, "inv.ini", INI)
    notes: list[str] = []
    hosts = {h.name: h for h in fleet.load_inventory(path, notes=notes)}
    web02 = hosts["web02.corp.example"]
    assert web02.address == "192.0.2.12"  # host_vars/ beats the inventory name
    assert web02.group == "web"
    assert web02.settings == {
        "transport": "kerberos",  # inline host variable beats group_vars/all
        "scheme": "https",
        "insecure_skip_verify": True,  # server_cert_validation=ignore
        "port": 5986,
        "username": "CORP\\scanner",
        "password_env": "PROD_PW",  # from the env lookup, never a value
        "read_timeout": 70,
        "operation_timeout": 50,
        "kerberos_delegation": True,
    }
    assert hosts["web10.corp.example"].settings["port"] == 5987
    assert hosts["web10.corp.example"].settings["deadline"] == 300
    assert hosts["db-a.corp.example"].settings["transport"] == "credssp"
    assert hosts["db-a.corp.example"].settings["operation_timeout"] == 40
    legacy = hosts["iis6-3.corp.example"]
    assert legacy.settings["scheme"] == "http" and legacy.settings["transport"] == "ntlm"
    assert sorted(h for h in hosts if h.startswith("iis6")) == [
        "iis6-1.corp.example",
        "iis6-3.corp.example",
        "iis6-5.corp.example",
    ]
    assert "bastion" not in hosts  # ssh: not a WinRM host
    joined = "\n".join(notes)
    assert "1 host(s) skipped, not reached over WinRM" in joined and "bastion" in joined
    assert "ansible_become_method (6 hosts)" in joined  # listed once, with a count


def test_a_password_in_the_inventory_is_never_read(tmp_path):
    path = layout(tmp_path, "inv.yml", YAML, files={})
    notes: list[str] = []
    hosts = {h.name: h for h in fleet.load_inventory(path, notes=notes)}
    lone = hosts["lone01.corp.example"]
    assert "password" not in json.dumps(lone.settings)
    assert "hunter2" not in "\n".join(notes)
    assert any("ansible_password is set for 1 host(s)" in n and "never reads a password" in n for n in notes)
    assert any("ansible_winrm_unknown_thing (1 host)" in n for n in notes)
    dmz = hosts["dmz01.example"]
    assert dmz.address == "198.51.100.7" and dmz.group == "dmzweb"
    assert dmz.settings["transport"] == "basic" and dmz.settings["insecure_skip_verify"] is False
    assert hosts["web10.corp.example"].settings["ca_bundle"] == str(
        (tmp_path / "certs/corp-ca.pem").resolve()
    )


def test_vaulted_vars_files_are_named_not_read(tmp_path):
    files = dict(VARS_FILES)
    files["group_vars/web/vault.yml"] = "$ANSIBLE_VAULT;1.1;AES256\n6162636465\n"
    path = layout(tmp_path, "inv.ini", INI, files=files)
    notes: list[str] = []
    fleet.load_inventory(path, notes=notes)
    assert any("vault.yml: vault-encrypted, not read" in n for n in notes)


def test_limit_applies_to_iisguards_own_inventory(tmp_path):
    path = tmp_path / "hosts.yaml"
    path.write_text(
        "groups:\n  web:\n    hosts: [web01, web02]\n  db:\n    hosts: [db01]\n", encoding="utf-8"
    )
    assert [h.name for h in fleet.load_inventory(path, limit="web:!web02")] == ["web01"]
    assert [h.name for h in fleet.load_inventory(path, limit="db*")] == ["db01"]
    with pytest.raises(UsageError, match="no host matches --limit 'nothing'"):
        fleet.load_inventory(path, limit="nothing")


@pytest.mark.parametrize(
    "text,message",
    [
        ("[web]\nweb01 ansible_port\n", "expected key=value after the host name"),
        ("[web:stuff]\nweb01\n", "unknown section kind ':stuff'"),
        ("[web:vars]\nnot a pair\n", "expected key=value under a :vars section"),
        (
            "[web]\nweb01 ansible_connection=winrm ansible_port=fivefivefive\n",
            "ansible_port: invalid literal",
        ),
    ],
)
def test_broken_ini_inventories_name_the_line(tmp_path, text, message):
    path = tmp_path / "inv.ini"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match=message) as got:
        fleet.load_inventory(path)
    assert str(path) in str(got.value)


def test_ranges_expand_like_ansible():
    assert ansible.expand_range("web[01:03].x") == ["web01.x", "web02.x", "web03.x"]
    assert ansible.expand_range("db-[a:c]") == ["db-a", "db-b", "db-c"]
    assert ansible.expand_range("n[1:2]-[a:b]") == ["n1-a", "n1-b", "n2-a", "n2-b"]
    assert ansible.expand_range("plain") == ["plain"]

"""The fleet inventory: host groups with their own settings, and errors that name the file and line."""

from __future__ import annotations

import textwrap

import pytest

from iisguard.collect import fleet
from iisguard.errors import UsageError

INVENTORY = """\
defaults:
  transport: ntlm
  read_timeout: 90
groups:
  dmz:
    transport: basic
    ca_bundle: certs/dmz-ca.pem
    username_env: DMZ_USERNAME
    password_env: DMZ_PASSWORD
    hosts:
      - web01.dmz.example.com
      - web02.dmz.example.com:5986
      - {host: 10.0.5.7, name: web03, read_timeout: 120}
  intranet:
    scheme: http
    hosts: [intra01.corp.example.com]
hosts:
  - standalone01
"""


def write(tmp_path, text: str):
    path = tmp_path / "hosts.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_groups_defaults_and_host_overrides(tmp_path):
    hosts = fleet.load_inventory(write(tmp_path, INVENTORY))
    by_name = {h.name: h for h in hosts}
    assert [h.name for h in hosts] == [
        "web01.dmz.example.com",
        "web02.dmz.example.com_5986",
        "web03",
        "intra01.corp.example.com",
        "standalone01",
    ]
    web03 = by_name["web03"]
    assert web03.address == "10.0.5.7" and web03.group == "dmz" and web03.line == 13
    assert web03.settings["transport"] == "basic"  # group over defaults
    assert web03.settings["read_timeout"] == 120  # host over group
    assert web03.settings["ca_bundle"] == str(
        (tmp_path / "certs" / "dmz-ca.pem").resolve()
    )  # relative to the file
    assert by_name["intra01.corp.example.com"].settings == {
        "transport": "ntlm",
        "read_timeout": 90,
        "scheme": "http",
    }
    assert by_name["standalone01"].group == ""


def test_targets_take_inventory_over_command_line(tmp_path):
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "dmz-ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    hosts = {h.name: h for h in fleet.load_inventory(write(tmp_path, INVENTORY))}
    cli = {"transport": "kerberos", "operation_timeout": 30, "read_timeout": None}
    intra = fleet.target_for(hosts["intra01.corp.example.com"], cli)
    assert (intra.transport, intra.scheme, intra.port, intra.read_timeout, intra.operation_timeout) == (
        "ntlm",
        "http",
        5985,
        90,
        30,
    )
    web02 = fleet.target_for(hosts["web02.dmz.example.com_5986"], {})
    assert (web02.host, web02.port, web02.transport) == ("web02.dmz.example.com", 5986, "basic")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "groups:\n  g:\n    password: hunter2\n    hosts: [a]\n",
            r"hosts.yaml:3: 'password': secrets never go in",
        ),
        (
            "groups:\n  g:\n    transprot: ntlm\n    hosts: [a]\n",
            r"hosts.yaml:3: unknown setting 'transprot'",
        ),
        ("groups:\n  g:\n    port: '5986'\n    hosts: [a]\n", r"'port' has the wrong type \(str\)"),
        (
            "groups:\n  g:\n    insecure_skip_verify: 1\n    hosts: [a]\n",
            r"'insecure_skip_verify' has the wrong type",
        ),
        ("groups:\n  g:\n    scheme: ftp\n    hosts: [a]\n", "scheme must be https or http"),
        ("groups:\n  g:\n    hosts: []\n", r"hosts.yaml:3: group 'g' needs a non-empty list of hosts"),
        ("groups:\n  g:\n    hosts: [a, {name: b}]\n", "a host is a string"),
        ("groups:\n  g:\n    hosts: [web01, 'web01']\n", "would write web01.json"),
        ("servers: [a]\n", "group 'servers' must be a mapping with hosts, vars or children"),
        ("groups: {}\nservers: [a]\n", "unknown top-level key"),
        ("- a\n- b\n", "an inventory is a mapping"),
        ("groups:\n  g: [\n", r"hosts.yaml:\d+: not valid YAML"),
        ("groups: {}\n", "the inventory lists no hosts"),
    ],
)
def test_inventory_errors_name_file_and_line(tmp_path, text, message):
    with pytest.raises(UsageError, match=message):
        fleet.load_inventory(write(tmp_path, text))


def test_missing_inventory(tmp_path):
    with pytest.raises(UsageError, match="cannot read the inventory"):
        fleet.load_inventory(tmp_path / "nope.yaml")


def test_unsafe_names_become_safe_file_names():
    assert fleet.safe_file_name("web01.corp.example.com:5986") == "web01.corp.example.com_5986"
    assert fleet.safe_file_name("../../etc/passwd") == "etc_passwd"
    assert fleet.safe_file_name("[::1]:5986") == "1_5986"

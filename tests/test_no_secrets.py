"""No secret survives the pipeline: import, scan in every format, diff, validate, all with --debug.

The captures below hold every kind of secret a real server gives away: a clear-text pool password,
`[enc:IISWASOnlyCngProvider:…:enc]` and `[enc:IISCngProvider:…:enc]` blobs, a connect-as password,
a web.config `<identity>` password, connection-string and forms passwords, a machine key, AD
Description/info fields and local account comments holding passwords, and a broken web.config whose
unreadable line holds a password. None of those strings may appear in a snapshot, a report, stdout,
stderr or the log, whatever the command and whether it succeeds or fails.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from iisguard.cli import main

from .conftest import ROOT

SECRETS = {
    "pool_clear": "Pool-Clear-7f3Kq9",
    "was_blob": "V0FTT25seUNuZ0Jsb2ItU2VjcmV0LTRmOQ==",
    "cng_blob": "SUlTQ25nQmxvYi1TZWNyZXQtOGgy",
    "vdir_clear": "Vdir-Clear-2mPx4",
    "identity": "Ident-Pw-9zR5t",
    "connection": "Conn-Pw-3bN8w",
    "connection_pwd": "Conn-Pwd-6hJ2r",
    "forms": "Forms-Pw-6cV1y",
    "machine_key": "0A1B2C3D4E5F60718293A4B5C6D7E8F9MachineKey",
    "ad_description": "AdDesc-Pw-5kL0u",
    "ad_fl_description": "AdFlDesc-Pw-8iO3p",
    "ad_info": "AdInfo-Pw-1qW2e",
    "net_comment": "NetComment-Pw-4tY7",
    "local_description": "LocalDesc-Pw-0aS9",
    "broken_xml": "Broken-Xml-Pw-2dF6",
    # the second capture (for diff) changes passwords: the new values must not leak either
    "pool_clear_2": "Pool-Clear-Second-1xC5",
    "was_blob_2": "V0FTLVNlY29uZC1CbG9iLTlnVA==",
}
S = SECRETS

APPHOST = """<?xml version="1.0" encoding="UTF-8"?>
<configuration>
    <system.applicationHost>
        <applicationPools>
            <add name="Shop">
                <processModel identityType="SpecificUser" userName="CORP\\svc_shop" password="{pool_clear}" />
            </add>
            <add name="Api">
                <processModel identityType="SpecificUser" userName="CORP\\svc_api" password="[enc:IISWASOnlyCngProvider:{was_blob}:enc]" />
            </add>
            <applicationPoolDefaults>
                <processModel identityType="ApplicationPoolIdentity" />
            </applicationPoolDefaults>
        </applicationPools>
        <sites>
            <site name="Shop" id="1">
                <application path="/" applicationPool="Shop">
                    <virtualDirectory path="/" physicalPath="D:\\Sites\\Shop" />
                    <virtualDirectory path="/media" physicalPath="\\\\files01\\media" userName="CORP\\content" password="{vdir_clear}" />
                </application>
                <application path="/api" applicationPool="Api">
                    <virtualDirectory path="/" physicalPath="D:\\Sites\\Api" />
                </application>
                <bindings><binding protocol="http" bindingInformation="*:80:shop.corp.example" /></bindings>
            </site>
        </sites>
    </system.applicationHost>
    <system.webServer>
        <security>
            <authentication>
                <anonymousAuthentication enabled="true" userName="IUSR" />
            </authentication>
        </security>
    </system.webServer>
    <location path="Shop">
        <system.webServer>
            <security>
                <authentication>
                    <anonymousAuthentication userName="CORP\\anon_shop" password="[enc:IISCngProvider:{cng_blob}:enc]" />
                </authentication>
            </security>
        </system.webServer>
    </location>
</configuration>
"""

WEB_CONFIG = """<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <connectionStrings>
    <add name="Shop" connectionString="Server=sql01;Database=Shop;User ID=shop;Password={connection};" />
    <add name="Legacy" connectionString="Driver={{SQL Server}};Server=sql02;Uid=legacy;Pwd={connection_pwd}" />
  </connectionStrings>
  <system.web>
    <machineKey validationKey="{machine_key}" decryptionKey="{machine_key}" validation="HMACSHA256" />
    <identity impersonate="true" userName="CORP\\svc_shop" password="{identity}" />
    <authentication mode="Forms">
      <forms>
        <credentials passwordFormat="Clear">
          <user name="admin" password="{forms}" />
        </credentials>
      </forms>
    </authentication>
  </system.web>
</configuration>
"""

BROKEN_WEB_CONFIG = """<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <system.web>
    <identity impersonate="true" userName="CORP\\svc_api" password="{broken_xml}" <oops>
  </system.web>
</configuration>
"""

AD_JSON = """PS C:\\> Get-ADUser svc_shop -Properties * | ConvertTo-Json
{{
    "Description": "IIS pool account. Password={ad_description}",
    "DistinguishedName": "CN=svc_shop,OU=Service Accounts,DC=corp,DC=example",
    "Enabled": true,
    "info": "rotate {ad_description} after go-live",
    "Name": "svc_shop",
    "ObjectClass": "user",
    "PasswordLastSet": "\\/Date(1589987654321)\\/",
    "PasswordNeverExpires": true,
    "SamAccountName": "svc_shop",
    "servicePrincipalName": ["HTTP/shop.corp.example"],
    "SID": {{"Value": "S-1-5-21-1004336348-1177238915-682003330-1105"}},
    "TrustedForDelegation": false,
    "userAccountControl": 66048
}}
"""

AD_LIST = """PS C:\\> Get-ADUser svc_api -Properties * | Format-List


AccountNotDelegated                  : False
Description                          : API pool account, the password is {ad_fl_description} until the next
                                       rotation, ask the web team before changing it
DistinguishedName                    : CN=svc_api,OU=Service Accounts,DC=corp,DC=example
Enabled                              : True
info                                 : temp password {ad_info}
Name                                 : svc_api
ObjectClass                          : user
objectSid                            : S-1-5-21-1004336348-1177238915-682003330-1106
PasswordNeverExpires                 : True
SamAccountName                       : svc_api
servicePrincipalName                 : {{HTTP/api.corp.example}}
TrustedForDelegation                 : False
userAccountControl                   : 66048

"""

NET_USER = """C:\\>net user webadmin
User name                    webadmin
Full Name                    Web admin
Comment                      local admin, pw={net_comment}
User's comment
Country/region code          000 (System Default)
Account active               Yes
Account expires              Never

Password last set            5/20/2020 3:14:14 PM
Password expires             Never
Password changeable          5/21/2020 3:14:14 PM
Password required            Yes
User may change password     No

Workstations allowed         All
Logon script
User profile
Home directory
Last logon                   11/2/2023 8:01:44 AM

Logon hours allowed          All

Local Group Memberships      *Administrators
Global Group memberships     *None
The command completed successfully.
"""

LOCAL_USERS = """PS C:\\> Get-LocalUser | ConvertTo-Json
[
    {{
        "Name": "deploy",
        "Enabled": true,
        "Description": "deployment account - password {local_description}",
        "SID": {{"Value": "S-1-5-21-3623811015-3361044348-30300820-1013"}},
        "PasswordLastSet": "\\/Date(1589987654321)\\/",
        "PasswordExpires": null,
        "PrincipalSource": 1,
        "ObjectClass": "User"
    }}
]
"""


def write_captures(folder: Path, secrets: dict[str, str]) -> Path:
    files = {
        "iis/applicationHost.config": APPHOST,
        "webconfig/Shop/web.config": WEB_CONFIG,
        "webconfig/Shop/api/web.config": BROKEN_WEB_CONFIG,
        "ad/Get-ADUser_svc_shop.json": AD_JSON,
        "ad/Get-ADUser_svc_api.txt": AD_LIST,
        "local_accounts/net-user-webadmin.txt": NET_USER,
        "local_accounts/local-users.json": LOCAL_USERS,
    }
    for rel, template in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(**secrets), encoding="utf-8")
    (folder / "capture.yaml").write_text("host: WEB01\n", encoding="utf-8")
    return folder


def _leaks(text: str) -> list[str]:
    return [name for name, value in SECRETS.items() if value in text]


@pytest.fixture()
def workspace(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_captures(tmp_path / "before", SECRETS)
    second = dict(SECRETS, pool_clear=SECRETS["pool_clear_2"], was_blob=SECRETS["was_blob_2"])
    write_captures(tmp_path / "after", second)
    return tmp_path


def test_no_secret_in_snapshots_reports_output_or_logs(workspace, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    codes = {}

    def run(*argv: str) -> None:
        codes[argv[0]] = main(["--debug", *argv])

    run("import", "before", "-o", "before.json")
    run("import", "after", "-o", "after.json")
    assert codes["import"] == 0
    run(
        "scan",
        "before.json",
        "after.json",
        "--format",
        "text:report.txt",
        "--format",
        "json:report.json",
        "--format",
        "sarif:report.sarif",
        "--format",
        "junit:report.xml",
        "--format",
        "text",
    )
    assert codes["scan"] == 1
    run("diff", "before.json", "after.json")
    run("diff", "before.json", "after.json", "--format", "json")
    run("validate", "before.json", "after.json")
    assert codes["validate"] == 0
    out = capsys.readouterr()

    snapshot = json.loads((workspace / "before.json").read_text(encoding="utf-8"))
    # the secrets were there to find: the import recorded that they exist, and how they are protected
    pools = {p["name"]: p["identity"]["password"] for p in snapshot["iis"]["app_pools"]}
    assert pools["Shop"] == {"present": True, "encrypted": False, "provider": None}
    assert pools["Api"] == {"present": True, "encrypted": True, "provider": "IISWASOnlyCngProvider"}
    assert any(w["artifact"].endswith("api/web.config") for w in snapshot["collection"]["warnings"])
    assert snapshot["aspnet"][0]["connection_strings"]["with_password"] == 2
    names = {p.get("name") for p in snapshot["principals"]}
    assert {"CORP\\svc_shop", "CORP\\svc_api", "WEB01\\webadmin", "WEB01\\deploy"} <= names

    written = {p.name: p.read_text(encoding="utf-8") for p in workspace.glob("*.*") if p.is_file()}
    assert set(written) >= {
        "before.json",
        "after.json",
        "report.txt",
        "report.json",
        "report.sarif",
        "report.xml",
    }
    for name, text in [*written.items(), ("stdout", out.out), ("stderr", out.err), ("log", caplog.text)]:
        assert not _leaks(text), f"{name} holds {_leaks(text)}"


def test_invalid_snapshot_with_a_pasted_password_is_reported_without_it(workspace, capsys, caplog):
    """A person pastes a password where the schema expects {present, encrypted, provider}."""
    caplog.set_level(logging.DEBUG)
    assert main(["import", "before", "-o", "before.json"]) == 0
    data = json.loads((workspace / "before.json").read_text(encoding="utf-8"))
    data["iis"]["app_pools"][0]["identity"]["password"] = "Validate-Pw-3eR4"
    data["iis"]["app_pools"][1]["identity"]["password"] = {"present": True, "value": "Validate-Pw-3eR4"}
    data["iis"]["app_pools"][1]["identity"]["user"] = {"name": "svc", "secret": "Validate-Pw-3eR4"}
    (workspace / "bad.json").write_text(json.dumps(data, indent=2), encoding="utf-8")
    assert main(["--debug", "validate", "bad.json"]) == 2
    assert main(["--debug", "scan", "bad.json", "--format", "sarif:bad.sarif"]) == 2
    out = capsys.readouterr()
    assert "bad.json" in out.err and "/iis/app_pools/0/identity/password" in out.err
    for name, text in (("stdout", out.out), ("stderr", out.err), ("log", caplog.text)):
        assert "Validate-Pw-3eR4" not in text, name


def test_import_in_a_fresh_process_with_debug_logging(workspace):
    """The real entry point (logging configured by main, tracebacks on) prints no secret either."""
    proc = subprocess.run(
        [sys.executable, "-m", "iisguard", "--debug", "import", "before", "-o", "fresh.json"],
        capture_output=True,
        text=True,
        cwd=workspace,
        env={"PYTHONPATH": str(ROOT / "core"), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "warning(s)" in proc.stderr
    for name, text in (("stdout", proc.stdout), ("stderr", proc.stderr)):
        assert not _leaks(text), f"{name} holds {_leaks(text)}"

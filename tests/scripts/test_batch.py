"""Batch build scripts (.cmd/.bat): appcmd, icacls, ntrights, setspn, net lines as cmd.exe reads them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from iisguard.capture import registry
from iisguard.capture.base import Artifact
from iisguard.capture.importer import build_snapshot
from iisguard.capture.scripts import batch

PARSERS = registry.builtin_parsers()


def _import(tmp_path: Path, text: str, name: str = "setup.cmd", encoding: str = "utf-8") -> dict[str, Any]:
    f = tmp_path / name
    f.write_bytes(text.replace("\n", "\r\n").encode(encoding))
    return build_snapshot([Artifact(source=f, path=name)], host="IMAGE", parsers=PARSERS)


SCRIPT = r"""@echo off
setlocal EnableDelayedExpansion
rem pools
set "POOL=Orders"
%windir%\system32\inetsrv\appcmd add apppool /name:%POOL% ^
    /managedRuntimeVersion:v4.0
call %windir%\system32\inetsrv\appcmd.exe set apppool "%POOL%" /processModel.identityType:LocalSystem && echo done
if not exist D:\sites\orders mkdir D:\sites\orders & icacls "D:\sites\orders" /grant "Authenticated Users:(OI)(CI)(M)" /T
appcmd add site /name:Orders /bindings:http/*:8080: /physicalPath:"D:\sites\orders"
appcmd set app "Orders/" /applicationPool:!POOL!
:: rights and accounts
ntrights -u CORP\svc_orders +r SeBatchLogonRight
ntrights -r SeDebugPrivilege -u CORP\svc_orders
net user svc_local * /add
net localgroup IIS_IUSRS svc_local /add
setspn -U -S HTTP/orders.corp.example CORP\svc_orders
secedit /configure /db secedit.sdb /cfg rights.inf
"""


def test_batch_lines(tmp_path: Path) -> None:
    data = _import(tmp_path, SCRIPT)
    assert data["collection"]["source"] == "declared"
    assert data["collection"]["artifacts"][0]["kind"] == "batch_script"
    pool = data["iis"]["app_pools"][0]
    assert pool["name"] == "Orders" and pool["identity"] == {"type": "LocalSystem"}
    assert pool["evidence"]["line"] == 7 and pool["managed_runtime_version"] == "v4.0"
    site = data["iis"]["sites"][0]
    root = site["applications"][0]
    assert (
        root["app_pool"] == "Orders"
        and root["virtual_directories"][0]["physical_path"] == "D:\\sites\\orders"
    )
    assert site["bindings"][0]["port"] == 8080
    ace = data["acls"][0]["aces"][0]
    assert (ace["principal"], ace["rights"], ace["evidence"]["line"]) == ("Authenticated Users", ["M"], 8)
    assert data["user_rights"] == {"SeBatchLogonRight": ["CORP\\svc_orders"]}  # -r revokes: not held
    by_name = {p["name"]: p for p in data["principals"]}
    assert by_name["svc_local"]["member_of"] == ["S-1-5-32-568"]
    assert by_name["CORP\\svc_orders"]["spns"] == ["HTTP/orders.corp.example"]
    assert "declared" not in data or not data["declared"].get("secrets")  # `*` prompts: nothing written
    unresolved = {u["what"] for u in data["declared"]["unresolved"]}
    assert unresolved == {"user rights applied by secedit /configure"}


def test_passwords_in_batch(tmp_path: Path) -> None:
    script = (
        "set SVC_PWD=Batch-Secret-1\n"
        "appcmd set apppool Web /processModel.identityType:SpecificUser /processModel.userName:CORP\\svc "
        "/processModel.password:%SVC_PWD%\n"
        'appcmd set config "Default Web Site" -section:anonymousAuthentication /userName:CORP\\anon /password:"Batch Secret 2"\n'
        "net user svc_local Batch-Secret-3 /add /expires:never\n"
        "appcmd set apppool Api /processModel.identityType:SpecificUser /processModel.userName:%1 /processModel.password:%2\n"
    )
    data = _import(tmp_path, script)
    assert "Batch-Secret" not in str(data) and "Batch Secret" not in str(data)
    secrets = sorted((s["evidence"]["line"], s["context"]) for s in data["declared"]["secrets"])
    assert secrets == [
        (1, "password of application pool 'Web'"),
        (3, "password of the anonymous user at 'Default Web Site'"),
        (4, "password of local user 'svc_local'"),
    ]
    api = next(p for p in data["iis"]["app_pools"] if p["name"] == "Api")
    assert api["unresolved"] == ["identity.user"] and api["identity"]["password"] == {"present": True}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "cp1252"])
def test_encodings(tmp_path: Path, encoding: str) -> None:
    data = _import(tmp_path, "@echo off\nappcmd add apppool /name:Zürich\n", encoding=encoding)
    assert data["iis"]["app_pools"][0]["name"] == "Zürich"


def test_a_grant_that_cannot_be_read_is_a_warning(tmp_path: Path) -> None:
    data = _import(tmp_path, "@echo off\nicacls D:\\x /grant nonsense\n")
    assert [(w["artifact"], w["line"]) for w in data["collection"]["warnings"]] == [("setup.cmd", 2)]


def test_detection() -> None:
    p = batch.BatchScriptParser()
    assert p.detect("@echo off\nappcmd list apppool\n", "x.txt") >= 0.97
    assert p.detect('appcmd set apppool X /a:b\nAPPPOOL object "X" changed\n', "out.txt") == 0.0
    assert p.detect("C:\\>icacls x /grant a:F\nprocessed file: x\n", "x.cmd") == 0.0

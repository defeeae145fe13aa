"""net user / net localgroup in several languages, Get-LocalUser / Get-LocalGroupMember tables and JSON."""

from __future__ import annotations

from iisguard.capture.base import Builder
from iisguard.capture.local_accounts import PARSERS
from iisguard.model import sids

MACHINE = "S-1-5-21-3623811015-3361044348-30300820"


def members(p):
    return [(m.get("name"), m.get("sid"), m.get("kind")) for m in p["members"]]


def test_net_user_and_localgroup_in_english(parse):
    r = parse("local_accounts", "local_accounts/net_user_localgroup_en.txt", builder=Builder())
    assert r.builder.host_candidates == ["WEB01"]  # "User accounts for \\WEB01"
    users = [p["name"] for p in r.builder.principals if p.get("kind") == "local_user"]
    assert users == [
        "WEB01\\Administrator",
        "WEB01\\DefaultAccount",
        "WEB01\\Guest",
        "WEB01\\svc_web",
        "WEB01\\Web Deploy User",  # a name with spaces in the 25-column layout
        "WEB01\\WDAGUtilityAccount",
    ]
    svc = r.principal("WEB01\\svc_web")
    assert svc["enabled"] is True
    assert svc["password_required"] is True
    assert svc["password_never_expires"] is True
    assert svc["password_last_set"] == "2020-05-20T15:14:14Z"
    assert svc["member_of"] == ["BUILTIN\\IIS_IUSRS", "BUILTIN\\Remote Desktop Users", "BUILTIN\\Users"]
    admins = r.principal(sids.ADMINISTRATORS)
    assert admins["name"] == "BUILTIN\\Administrators" and admins["kind"] == "builtin"
    assert members(admins) == [
        ("Administrator", None, None),
        ("CORP\\Domain Admins", None, None),
        ("CORP\\svc_web", None, None),
        ("svc_web", None, None),
    ]
    assert members(r.principal(sids.IIS_IUSRS)) == [("NT AUTHORITY\\IUSR", sids.IUSR, None)]
    assert r.warnings == [] and r.status("local_accounts") == "ok"


def test_german_without_prompts(parse):
    r = parse("local_accounts", "local_accounts/net_user_localgroup_de_noprompt.txt")
    shop = r.principal("TESTHOST\\svc_shop")  # the host is known to the builder
    assert shop["enabled"] is False  # Konto aktiv: Nein
    assert shop["password_required"] is False
    assert shop["password_never_expires"] is False  # it expires on 01.07.2020
    assert shop["password_last_set"] == "2020-05-20T15:14:14Z"
    assert shop["member_of"] == [sids.ADMINISTRATORS, sids.USERS]  # localized built-ins by SID
    admins = r.principal(sids.ADMINISTRATORS)
    assert admins["name"] == "Administratoren"
    assert [m["name"] for m in admins["members"]] == ["Administrator", "svc_shop", "CORP\\Domänen-Admins"]
    assert r.warnings == []


def test_french_localgroup(parse):
    r = parse("local_accounts", "local_accounts/net_localgroup_fr.txt")
    admins = r.principal(sids.ADMINISTRATORS)
    assert [m["name"] for m in admins["members"]] == [
        "Administrateur",
        "CORP\\Admins du domaine",
        "WEB02\\svc_intranet",
    ]
    assert r.warnings == []


def test_powershell_tables(parse):
    r = parse("local_accounts", "local_accounts/get_localuser_groupmember_tables.txt", builder=Builder())
    enabled = {p["name"]: p.get("enabled") for p in r.builder.principals if p.get("kind") == "local_user"}
    assert enabled["WEB01\\svc_web"] is True and enabled["WEB01\\Guest"] is False
    assert members(r.principal(sids.IIS_IUSRS)) == [
        ("NT AUTHORITY\\IUSR", sids.IUSR, "builtin"),
        ("CORP\\svc_app", None, "domain_user"),
        ("WEB01\\svc_web", None, "local_user"),
    ]
    assert members(r.principal(sids.ADMINISTRATORS)) == [
        ("WEB01\\Administrator", None, "local_user"),
        ("CORP\\Domain Admins", None, "domain_group"),
        ("CORP\\svc_app", None, "domain_user"),
    ]
    assert r.principal("CORP\\Domain Admins")["kind"] == "domain_group"
    assert r.warnings == []


def test_json_group_members_with_sids(parse):
    r = parse("local_accounts", "local_accounts/get_localgroupmember_ps51.json")
    assert members(r.principal(sids.ADMINISTRATORS)) == [
        ("WEB01\\Administrator", f"{MACHINE}-500", "local_user"),
        ("CORP\\svc_app", "S-1-5-21-1004336348-1177238915-682003330-1106", "domain_user"),
    ]
    pool = sids.app_pool_sid("Shop")
    assert ("IIS APPPOOL\\Shop", pool, None) in members(r.principal(sids.IIS_IUSRS))
    assert r.principal(pool)["kind"] == "virtual"
    assert r.principal(f"{MACHINE}-500")["evidence"]["line"] == 3  # the object, after the prompt and "["


def test_json_users(parse):
    r = parse("local_accounts", "local_accounts/get_localuser_ps51.json")
    svc = r.principal(f"{MACHINE}-1013")
    assert (svc["name"], svc["enabled"], svc["password_required"]) == ("TESTHOST\\svc_web", True, True)
    assert svc["password_never_expires"] is True  # PasswordExpires: null
    assert svc["password_last_set"] == "2020-05-20T15:14:14Z"
    assert r.principal(f"{MACHINE}-501")["enabled"] is False


def test_members_without_a_group_name_are_warned(parse):
    text = (
        "ObjectClass Name             PrincipalSource\n"
        "----------- ----             ---------------\n"
        "User        CORP\\svc_app     ActiveDirectory\n"
    )
    r = parse("local_accounts", text)
    assert "group is not shown" in r.messages[0]
    assert r.status("local_accounts") == "partial"
    r = parse("local_accounts", text, hint={"group": "IIS_IUSRS"})
    assert members(r.principal(sids.IIS_IUSRS)) == [("CORP\\svc_app", None, "domain_user")]


def test_unknown_language_by_position(parse, captures):
    """A layout we have no labels for (here: labels replaced) is read by line position."""
    text = (captures / "local_accounts/net_user_localgroup_en.txt").read_text()
    start = text.index("User name")
    end = text.index("The command completed successfully.", start)
    block = text[start:end].splitlines()
    relabelled = ["Xyz" + line[3:] if line.strip() and not line.startswith(" ") else line for line in block]
    r = parse("local_accounts", "\n".join(relabelled) + "\nKomento onnistui.\n")
    svc = r.principal("TESTHOST\\svc_web")
    assert svc["enabled"] is True and svc["password_never_expires"] is True


def test_detect(captures):
    p = PARSERS[0]
    for f in sorted((captures / "local_accounts").iterdir()):
        assert p.detect(f.read_text("utf-8"), "x.txt") >= 0.85, f.name
    assert p.detect("C:\\x NT AUTHORITY\\SYSTEM:(F)\n", "users.txt") == 0.0

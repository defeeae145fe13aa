"""setspn -L / -Q / -X output with LDAP error preambles, realms, ports and duplicates."""

from __future__ import annotations

from iisguard.capture.base import Builder
from iisguard.capture.setspn import PARSERS, split_dn, strip_realm


def test_list_accounts_and_a_failed_lookup(parse):
    r = parse("setspn", "setspn/setspn_L_web_accounts.txt")
    web01 = r.principal("CORP\\WEB01$")  # HOST/ SPNs: a computer account
    assert web01["kind"] == "computer"
    assert web01["distinguished_name"] == "CN=WEB01,OU=Web Servers,OU=Servers,DC=corp,DC=contoso,DC=com"
    assert len(web01["spns"]) == 8 and "HOST/web01.corp.contoso.com" in web01["spns"]
    svc = r.principal("CORP\\svc_web")
    assert svc["spns"] == [
        "HTTP/web01.corp.contoso.com",
        "HTTP/web01",
        "HTTP/intranet.contoso.com:8443",
        "HTTP/intranet.contoso.com@CORP.CONTOSO.COM",  # verbatim: AD stores the suffix (IIS-KRB-017)
    ]
    assert svc["evidence"]["line"] == 13
    assert [w["line"] for w in r.warnings] == [20, 21]
    assert "Could not find account svc_missing" in r.messages[1]
    assert r.status("spns") == "partial"


def test_queries_with_ldap_errors_found_and_not_found(parse):
    r = parse("setspn", "setspn/setspn_Q_ldap_errors.txt")
    queries = [(q["spn"], q["accounts"]) for q in r.data["spns"]["queries"]]
    assert queries == [
        ("HTTP/intranet.contoso.com", ["CORP\\svc_web", "CORP\\Smith, John"]),
        ("HTTP/web02.corp.contoso.com", []),
        ("MSSQLSvc/sql01.corp.contoso.com:1433", ["CORP\\svc_sql$"]),  # an MSA carries a $
    ]
    assert (
        r.principal("CORP\\Smith, John")["distinguished_name"]
        == "CN=Smith\\, John,OU=Users,OU=Corp,DC=corp,DC=contoso,DC=com"
    )
    assert r.data["spns"]["queries"][0]["evidence"]["line"] == 5
    assert [w["line"] for w in r.warnings] == [2, 3, 4]
    assert r.status("spns") == "partial"  # the LDAP errors make the answer less certain


def test_duplicates(parse):
    r = parse("setspn", "setspn/setspn_X_duplicates.txt")
    dups = [(d["spn"], d["accounts"], d["evidence"]["line"]) for d in r.data["spns"]["duplicates"]]
    assert dups == [
        ("HTTP/web01.corp.contoso.com", ["CORP\\WEB01$", "CORP\\svc_web"], 5),
        ("MSSQLSvc/sql01.corp.contoso.com:1433", ["CORP\\SQL01$", "CORP\\svc_sql$"], 9),
    ]
    assert r.principal("CORP\\SQL01$")["kind"] == "computer"  # in CN=Computers
    assert r.warnings == [] and r.status("spns") == "ok"


def test_names_agree_across_files(parse):
    b = Builder(host="T")
    parse("setspn", "setspn/setspn_L_web_accounts.txt", builder=b)
    parse("setspn", "setspn/setspn_Q_ldap_errors.txt", builder=b)
    r = parse("setspn", "setspn/setspn_X_duplicates.txt", builder=b)
    names = [p["name"] for p in b.principals]
    assert names.count("CORP\\svc_web") == 1 and names.count("CORP\\WEB01$") == 1
    # -X shows the bare HTTP/intranet.contoso.com on it too: a value other than the suffixed one of -L
    assert len(r.principal("CORP\\svc_web")["spns"]) == 5


def test_duplicate_count_that_does_not_match_is_a_warning(parse):
    text = "Checking domain DC=corp,DC=contoso,DC=com\nProcessing entry 0\nfound 1 group of duplicate SPNs.\n"
    r = parse("setspn", text)
    assert "reports 1 duplicate group(s) but shows 0" in r.messages[0]
    assert r.status("spns") == "partial"


def test_query_without_echoed_command(parse):
    text = "Checking domain DC=corp,DC=contoso,DC=com\nCN=svc_web,OU=Svc,DC=corp,DC=contoso,DC=com\n\tHTTP/web01\n\nExisting SPN found!\n"
    r = parse("setspn", text)
    assert r.principal("CORP\\svc_web")["spns"] == ["HTTP/web01"]
    assert "queries" not in r.data.get("spns", {})
    assert "queried SPN is not shown" in r.messages[0]
    r = parse("setspn", text, hint={"spn_query": "HTTP/web01"})
    assert r.data["spns"]["queries"] == [
        {
            "spn": "HTTP/web01",
            "accounts": ["CORP\\svc_web"],
            "evidence": {"artifact": "capture.txt", "line": 1},
        }
    ]


def test_helpers():
    assert split_dn("CN=Smith\\, John,OU=Users,DC=corp,DC=com") == [
        ("CN", "Smith, John"),
        ("OU", "Users"),
        ("DC", "corp"),
        ("DC", "com"),
    ]
    assert strip_realm("HTTP/web01@CORP.CONTOSO.COM") == "HTTP/web01"
    assert strip_realm("MSSQLSvc/sql01:1433") == "MSSQLSvc/sql01:1433"


def test_detect(captures):
    p = PARSERS[0]
    for name in ("setspn_L_web_accounts.txt", "setspn_Q_ldap_errors.txt", "setspn_X_duplicates.txt"):
        assert p.detect((captures / "setspn" / name).read_text(), "x.txt") >= 0.85
    assert p.detect("DistinguishedName : CN=x,DC=corp\nSamAccountName : x\n", "x.txt") == 0.0

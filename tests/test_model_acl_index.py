"""The per-snapshot ACL indexes rules share (model/acls.py, model/iis.py) answer what the plain
definitions answer: write grants, allow-listed folders, folders below content roots, the principals
anonymous requests carry, whether authentication is configured below a path, and the account globs
(names.matches_any)."""

from __future__ import annotations

import itertools

from iisguard import acls, iis, rights, sids
from iisguard.engine.evaluate import Selected, evaluate
from iisguard.model.snapshot import Snapshot
from iisguard.testing import DEFAULT_BASE, deep_merge


def ace(who, codes, *, kind="allow", inherited=False, inheritance=(), sid=None):
    out = {"principal": who, "type": kind, "rights": list(codes), "inherited": inherited}
    out["inheritance"] = list(inheritance)
    if sid is not None:
        out["sid"] = sid
    return out


def site(name, phys, pool, *apps):
    vdirs = [{"path": "/", "physical_path": phys}]
    return {
        "name": name,
        "applications": [{"path": "/", "app_pool": pool, "virtual_directories": vdirs}, *apps],
    }


def snapshot(**extra):
    base = {
        "iis": {
            "app_pools": [
                {"name": "Web", "identity": {"type": "ApplicationPoolIdentity"}},
                {
                    "name": "Api",
                    "identity": {"type": "ApplicationPoolIdentity"},
                    "manual_group_membership": True,
                },
            ],
            "sites": [site("Web", "D:\\Sites\\Web", "Web"), site("Api", "D:\\Sites\\Web\\api", "Api")],
            "authentication": [
                {"location": "", "anonymous": {"enabled": True, "user": "IUSR", "user_state": "set"}}
            ],
        },
        "acls": [],
    }
    return Snapshot(deep_merge(deep_merge(DEFAULT_BASE, base), extra))


def test_write_grants_are_the_allow_aces_granting_write_with_their_keys():
    aces = [
        ace("Everyone", ["M"]),
        ace("BUILTIN\\Users", ["RX"]),
        ace("BUILTIN\\Users", ["RX", "WD"]),  # a list of codes, one of them write-class
        ace("NT AUTHORITY\\IUSR", ["W"], kind="deny"),
        ace("whoever", ["0x40000000"], sid="s-1-5-32-545"),  # generic write, by SID (lower case)
        ace("CORP\\deploy", ["F"], inherited=True),
        ace("IIS APPPOOL\\Web", ["R"]),
    ]
    typeless = {"principal": "Everyone", "rights": ["D"]}  # no type: allow
    nameless = {
        "sid": "S-1-5-11",
        "type": "allow",
        "rights": ["GW"],
    }  # not what the schema says: still judged
    snap = snapshot(acls=[{"path": "D:\\Sites\\Web", "aces": [*aces, typeless, nameless]}])
    acl = snap.acl("D:\\Sites\\Web")
    expected = tuple(
        (a, acls.ace_key(snap, a))
        for a in acl["aces"]
        if a.get("type", "allow") == "allow" and rights.is_write_class(a["rights"])
    )
    got = acls.write_grants(snap, acl)
    assert [(a.get("principal"), k) for a, k in got] == [
        ("Everyone", sids.EVERYONE),
        ("BUILTIN\\Users", sids.USERS),
        ("whoever", sids.USERS),
        ("CORP\\deploy", snap.accounts.key("CORP\\deploy")),
        ("Everyone", sids.EVERYONE),
        (None, sids.AUTHENTICATED_USERS),
    ]
    assert got == expected and all(x is y for (x, _), (y, _) in zip(got, expected, strict=True))
    assert acls.write_grants(snap, acl) is got  # remembered per snapshot
    assert acls.write_grants(snap, None) == ()
    # The same principal named with and without a SID keys by the SID when there is one.
    assert acls.ace_key(snap, ace("Jeder", ["R"])) == sids.EVERYONE
    assert acls.ace_key(snap, ace("Jeder", ["R"], sid="S-1-5-32-545")) == sids.USERS


def test_write_grants_by_path_holds_write_grants_of_every_acl_by_path_key():
    snap = snapshot(
        acls=[
            {"path": "D:\\Sites\\Web", "aces": [ace("Everyone", ["M"]), ace("BUILTIN\\Users", ["RX"])]},
            {"path": "%SystemDrive%\\inetpub", "aces": [ace("BUILTIN\\Users", ["RX", "WD"])]},
            {"path": "d:/sites/web/app_data/", "aces": [ace("IIS APPPOOL\\Web", ["R"])]},
        ]
    )
    first = snap.acl("D:\\Sites\\Web")
    early = acls.write_grants(snap, first)  # asked before the index: the same answer
    by_path = acls.write_grants_by_path(snap)
    assert (
        list(by_path)
        == list(snap.acls_by_path)
        == ["d:\\sites\\web", "c:\\inetpub", "d:\\sites\\web\\app_data"]
    )
    assert by_path["d:\\sites\\web"] == early
    assert [(a["principal"], k) for a, k in by_path["c:\\inetpub"]] == [("BUILTIN\\Users", sids.USERS)]
    assert by_path["d:\\sites\\web\\app_data"] == ()
    for key, acl in snap.acls_by_path.items():  # and write_grants answers from the same memo
        assert acls.write_grants(snap, acl) is by_path[key]
    assert acls.write_grants_by_path(snap) is by_path
    outside = {"path": "D:\\Sites\\Web", "aces": [ace("Everyone", ["W"])]}  # not the ACL held for its path
    assert [k for _, k in acls.write_grants(snap, outside)] == [sids.EVERYONE]


def test_explicit_write_grants_by_path_are_the_grants_not_inherited():
    own = ace("IIS APPPOOL\\Web", ["M"])
    snap = snapshot(
        acls=[
            {"path": "D:\\Sites\\Web", "aces": [ace("SYSTEM", ["F"], inherited=True), own]},
            {"path": "D:\\Sites\\Web\\bin", "aces": [ace("SYSTEM", ["F"], inherited=True)]},
            {"path": "D:\\Sites\\Web\\img", "aces": [ace("Everyone", ["RX"])]},  # no write
            {
                "path": "D:\\Sites\\Web\\up",
                "aces": [{"principal": "Everyone", "type": "allow", "rights": ["W"]}],
            },
        ]
    )
    explicit = acls.explicit_write_grants_by_path(snap)
    by_path = acls.write_grants_by_path(snap)
    expected = {  # the definition: write_grants_by_path without the inherited ACEs, paths with none left out
        key: tuple(g for g in grants if not g[0].get("inherited"))
        for key, grants in by_path.items()
        if any(not a.get("inherited") for a, _ in grants)
    }
    assert explicit == expected
    assert list(explicit) == ["d:\\sites\\web", "d:\\sites\\web\\up"]  # no `inherited`: not inherited
    assert explicit["d:\\sites\\web"] == ((own, snap.accounts.key("IIS APPPOOL\\Web")),)
    assert acls.explicit_write_grants_by_path(snap) is explicit


def test_keys_ending_and_below_answer_as_a_test_of_each_key():
    snap = snapshot(
        acls=[
            {
                "path": "C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\Temporary ASP.NET Files",
                "aces": [],
            },
            {"path": "%SystemDrive%\\inetpub\\temp\\appPools\\Web\\Web.config", "aces": []},
            {"path": "C:\\inetpub\\temp\\appPools", "aces": []},  # the folder itself: not below it
            {"path": "C:\\inetpub\\temp\\appPoolsOld\\Api.config", "aces": []},  # same prefix, another folder
            {"path": "D:\\Temporary ASP.NET Files", "aces": []},
            {"path": "c:/inetpub/temp/apppools/Api.config", "aces": []},
        ]
    )
    keys = list(snap.acls_by_path)
    assert acls.keys_ending(snap, "\\temporary asp.net files") == [keys[0], keys[4]]
    assert acls.keys_below(snap, "c:\\inetpub\\temp\\apppools") == [keys[1], keys[5]]
    for suffix in (".config", "\\temporary asp.net files", "s", "c:\\inetpub\\temp\\apppools"):
        assert acls.keys_ending(snap, suffix) == [k for k in keys if k.endswith(suffix)]
    for folder in ("c:", "c:\\inetpub", "d:", "e:"):
        assert acls.keys_below(snap, folder) == [k for k in keys if k.startswith(folder + "\\")]
    # A path holding a newline (no Windows path does, JSON allows it): every key tested on its own.
    odd = snapshot(acls=[{"path": "C:\\a\nb.config", "aces": []}, {"path": "C:\\a\\b.config", "aces": []}])
    assert acls.keys_ending(odd, ".config") == ["c:\\a\nb.config", "c:\\a\\b.config"]
    assert acls.keys_below(odd, "c:\\a") == ["c:\\a\\b.config"]
    assert acls.keys_ending(snapshot(), ".config") == [] and acls.keys_below(snapshot(), "c:") == []


def test_folder_matcher_answers_as_under_patterns_and_survives_deep_paths():
    def plain(rel, patterns):  # the definition: rel or one of its parent folders matches a glob
        import fnmatch

        pats = [p.replace("/", "\\").strip("\\").casefold() for p in patterns]
        parts = rel.split("\\")
        prefixes = ("\\".join(parts[:i]) for i in range(1, len(parts) + 1))
        return bool(rel) and any(fnmatch.fnmatchcase(p, g) for p in prefixes for g in pats)

    names = ["app_data", "uploads", "bin", "a", "b", ""]
    rels = ["\\".join(c) for n in range(4) for c in itertools.product(names, repeat=n)]
    for patterns in (["App_Data", "uploads"], ["*"], ["a\\b"], ["*\\b"], [], ["b/*"], ["?"]):
        match = acls.folder_matcher(patterns)
        for rel in [*rels, *reversed(rels)]:  # asked again once its parents are known
            assert match(rel) == plain(rel, patterns) == acls.under_patterns(rel, patterns), (rel, patterns)
    deep = "\\".join(["x"] * 5000)
    assert acls.folder_matcher(["x\\x"])(deep) is True
    assert acls.folder_matcher(["y"])(deep) is False


def test_content_folders_map_each_captured_folder_to_its_nearest_content_root():
    paths = [
        "D:\\Sites",  # above every root
        "D:\\Sites\\Web",
        "D:\\Sites\\Web\\bin",
        "D:\\Sites\\Web\\bin\\Site.dll",
        "D:\\Sites\\Web\\api",  # a nested content root: judged as a root
        "D:\\Sites\\Web\\api\\web.config",
        "D:\\Sites\\Web\\missing\\deep\\file.aspx",  # parent folders not captured
        "E:\\Other\\file.aspx",
    ]
    snap = snapshot(acls=[{"path": p, "aces": [ace("Everyone", ["R"])]} for p in paths])
    web, api = snap.path_key("D:\\Sites\\Web"), snap.path_key("D:\\Sites\\Web\\api")
    assert set(snap.content_roots) == {web, api}
    folders = iis.content_folders(snap)
    assert folders == {
        snap.path_key("D:\\Sites\\Web\\bin"): web,
        snap.path_key("D:\\Sites\\Web\\bin\\Site.dll"): web,
        snap.path_key("D:\\Sites\\Web\\api\\web.config"): api,
        snap.path_key("D:\\Sites\\Web\\missing\\deep\\file.aspx"): web,
    }
    for key, root in folders.items():  # the definition, asked folder by folder
        assert iis.content_root_of(snap, iis.parent_key(key)) == root
    assert iis.content_folders_of(snap, web) == tuple(k for k, r in folders.items() if r == web)
    assert iis.content_folders_of(snap, api) == (snap.path_key("D:\\Sites\\Web\\api\\web.config"),)
    assert iis.content_folders_of(snap, "x:\\nowhere") == ()

    fresh = snapshot(acls=[{"path": p, "aces": [ace("Everyone", ["R"])]} for p in paths])
    config = fresh.path_key("D:\\Sites\\Web\\api\\web.config")
    assert iis.content_folders_of(fresh, api) == (config,)  # asked before content_folders
    assert iis.content_folders(fresh) == folders


def test_content_folder_grants_are_content_folders_with_their_acls_and_write_grants():
    paths = [
        "D:\\Sites",
        "D:\\Sites\\Web",
        "D:\\Sites\\Web\\bin",
        "E:\\Other\\file.aspx",
        "D:\\Sites\\Web\\api",
        "D:\\Sites\\Web\\bin\\Site.dll",
        "D:\\Sites\\Web\\api\\web.config",
    ]
    acl_list = [{"path": p, "aces": [ace("Everyone", ["M"]), ace("BUILTIN\\Users", ["RX"])]} for p in paths]
    for fresh in (
        snapshot(acls=acl_list),
        snapshot(acls=[*acl_list, {"path": "d:\\sites\\web\\bin", "aces": []}]),
    ):
        by_path, grants = fresh.acls_by_path, acls.write_grants_by_path(fresh)
        expected = [
            (key, root, by_path[key], grants[key], by_path[key]["path"])
            for key, root in iis.content_folders(fresh).items()
        ]
        assert list(acls.content_folder_grants(fresh)) == expected
        assert len(expected) == 3
        assert acls.content_folder_grants(fresh) is acls.content_folder_grants(fresh)


def test_pool_identity_is_remembered_per_pool_object():
    snap = snapshot()
    web, api = snap.app_pools
    first = iis.pool_identity(snap, web)
    assert first == iis.Identity(sids.app_pool_sid("Web"), "IIS APPPOOL\\Web", "ApplicationPoolIdentity")
    assert iis.pool_identity(snap, web) is first
    assert snap.pools.get("Web").identity is first  # the pools index shares it
    # Another pool object (here a copy with another identity) is another question, never the cached answer.
    custom = {**web, "identity": {"type": "SpecificUser", "user": "CORP\\svc_web"}}
    assert iis.pool_identity(snap, custom) == iis.Identity(
        snap.accounts.key("CORP\\svc_web"), "CORP\\svc_web", "SpecificUser"
    )
    assert iis.pool_identity(snap, api).key == sids.app_pool_sid("Api")


def test_configured_below_is_whether_an_authentication_entry_lies_deeper():
    snap = snapshot(
        iis={
            "authentication": [
                {"location": "", "anonymous": {"enabled": True, "user": "IUSR", "user_state": "set"}},
                {"location": "Web/admin/secret", "anonymous": {"enabled": False}},
            ]
        }
    )
    loc = snap.locations
    assert loc.configured_below("Web") and loc.configured_below("web/ADMIN") and loc.configured_below("")
    assert not loc.configured_below("Web/admin/secret")
    assert not loc.configured_below("Api") and not loc.configured_below("Web/adm")
    for path in ("Web", "Api", "Web/admin", "Web/admin/secret"):  # what the shortcut relies on
        if not loc.configured_below(path):
            at = iis.effective_auth(loc.index, path, "anonymous")
            assert iis.effective_auth(loc.index, f"{path}/bin/x", "anonymous") is at


def test_anonymous_principals_are_the_identity_its_groups_everyone_and_anonymous_logon():
    snap = snapshot(
        iis={
            "authentication": [
                {"location": "", "anonymous": {"enabled": True, "user": "IUSR", "user_state": "set"}},
                {"location": "Web", "anonymous": {"enabled": True, "user": "", "user_state": "empty"}},
                {"location": "Api", "anonymous": {"enabled": True, "user": "", "user_state": "empty"}},
                {"location": "Web/off", "anonymous": {"enabled": False}},
            ]
        }
    )
    web = snap.locations.get("Web")
    assert iis.anonymous_principals(snap, web) == {
        sids.app_pool_sid("Web"): "IIS APPPOOL\\Web",
        sids.IIS_IUSRS: "IIS APPPOOL\\Web",
        sids.EVERYONE: "Everyone",
        sids.ANONYMOUS_LOGON: "ANONYMOUS LOGON",
    }
    assert iis.anonymous_principals(snap, web) is iis.anonymous_principals(snap, web)
    api = snap.locations.get("Api")  # manualGroupMembership: no IIS_IUSRS in the worker
    assert sids.IIS_IUSRS not in iis.anonymous_principals(snap, api)
    assert iis.anonymous_principals(snap, snap.locations.at("Web/off", "Web", "Web")) is None
    iusr = snap.locations.at("Other", "Web", "Web")
    assert list(iis.anonymous_principals(snap, iusr)) == [sids.IUSR, sids.EVERYONE, sids.ANONYMOUS_LOGON]


def test_anon_005_judges_a_folder_by_the_authentication_configured_below_its_root(builtin_rules):
    """Most folders share their root's judgement; a deeper authentication entry still counts."""
    writable = [ace("Everyone", ["M"], inherited=True)]
    snap = snapshot(
        iis={
            "sites": [site("Web", "D:\\Sites\\Web", "Web")],
            "authentication": [
                {"location": "", "anonymous": {"enabled": True, "user": "IUSR", "user_state": "set"}},
                {"location": "Web/private", "anonymous": {"enabled": False}},
            ],
        },
        acls=[
            {"path": "D:\\Sites\\Web", "aces": [ace("BUILTIN\\Users", ["RX"])]},
            {"path": "D:\\Sites\\Web\\private", "aces": writable},
            {"path": "D:\\Sites\\Web\\public", "aces": writable},
        ],
    )
    rule = builtin_rules["IIS-ANON-005"]
    found = evaluate(snap, [Selected(rule, rule.severity, rule.default_parameters())]).findings
    outcomes = {f.resource: f.outcome.value for f in found}
    assert outcomes == {
        "acls/D:\\Sites\\Web": "pass",
        "acls/D:\\Sites\\Web\\private": "not_applicable",
        "acls/D:\\Sites\\Web\\public": "fail",
    }


def test_cfg_055_counts_a_nested_content_root_as_a_file_of_the_outer_one(builtin_rules):
    """The rule walks `acls.content_folder_grants`, unless a content root lies inside another one or a
    path was captured twice: the same findings either way."""
    listing = [
        "D:\\Sites\\Web",
        "D:\\Sites\\Web\\web.config.bak",
        "D:\\Sites\\Web\\api.old",  # the nested content root: a backup name in the outer listing
        "D:\\Sites\\Web\\api.old\\Copy of default.aspx",
        "D:\\Sites\\Web\\index.html",
    ]
    rule = builtin_rules["IIS-CFG-055"]

    def messages(sites, paths):
        acl_list = [{"path": p, "aces": [ace("Everyone", ["R"])]} for p in paths]
        snap = snapshot(iis={"sites": sites}, acls=acl_list)
        found = evaluate(snap, [Selected(rule, rule.severity, rule.default_parameters())]).findings
        return {f.resource: (f.outcome.value, f.message) for f in found}

    one = [site("Web", "D:\\Sites\\Web", "Web")]
    nested = [*one, site("Api", "D:\\Sites\\Web\\api.old", "Api")]
    plain = messages(one, listing)
    assert plain["acls/D:\\Sites\\Web"][0] == "fail"
    assert "4 captured" not in plain["acls/D:\\Sites\\Web"][1]
    assert messages(one, [*listing, listing[-1]]) == plain  # a path captured twice: looked up by key
    both = messages(nested, listing)
    assert "api.old;" in both["acls/D:\\Sites\\Web"][1]  # the nested root is still a file of Web
    assert both["acls/D:\\Sites\\Web\\api.old"][0] == "fail"
    assert "Copy of default.aspx" in both["acls/D:\\Sites\\Web\\api.old"][1]
    assert "Copy of default.aspx" not in both["acls/D:\\Sites\\Web"][1]


def test_matches_any_returns_the_first_glob_matching_case_insensitively():
    import fnmatch

    from iisguard import names

    def plain(name, patterns):  # the definition: fnmatch of the case-folded name and glob, first wins
        found = (str(p) for p in patterns if fnmatch.fnmatchcase(name.casefold(), str(p).casefold()))
        return next(found, None)

    globs = [["IUSR_*", "IWAM_*", "ASPNET", "IIS_WPG"], [], ["*"], ["Shop/admin*", "x?y", "[ab]*"], ["ÄB*"]]
    globs.append(["*a*b*", "*b*a*", "q*z"])  # several globs with several stars: matched as one expression too
    for patterns in globs:
        for name in ["iusr_web01", "IWAM_X", "aspnet", "shop/ADMIN/x", "xzy", "b", "äbc", "", "Qz", "xbxa"]:
            assert names.matches_any(name, patterns) == plain(name, patterns), (name, patterns)
    assert names.matches_any("IUSR_WEB01", ("iwam_*", "IUSR_*")) == "IUSR_*"  # as written, not folded
    assert names.matches_any("x", iter(["X"])) == "X"  # any iterable


def test_iis_principals_are_remembered_with_and_without_local_system():
    snap = snapshot()
    snap.data["iis"]["app_pools"].append({"name": "Legacy", "identity": {"type": "LocalSystem"}})
    without = iis.iis_principals(snap)
    with_system = iis.iis_principals(snap, include_local_system=True)
    assert list(without) == [sids.IIS_IUSRS, sids.IUSR, sids.app_pool_sid("Web"), sids.app_pool_sid("Api")]
    assert list(with_system) == [*without, sids.LOCAL_SYSTEM]
    assert with_system[sids.LOCAL_SYSTEM].role == "identity of application pool 'Legacy'"
    assert iis.iis_principals(snap) is without is snap.iis_principals  # worked out once per snapshot
    assert iis.iis_principals(snap, include_local_system=1) is with_system
    fresh = snapshot()  # another snapshot: its own answer
    assert sids.LOCAL_SYSTEM not in iis.iis_principals(fresh, include_local_system=True)


def test_iis_principals_worked_out_together_are_each_as_if_alone():
    """Both answers come from one walk: LocalSystem named later (an anonymous user) keeps its first
    role in each answer, as two separate walks would give."""
    snap = snapshot()
    snap.data["iis"]["app_pools"].append({"name": "Legacy", "identity": {"type": "LocalSystem"}})
    snap.data["iis"]["authentication"].append(
        {
            "location": "Web",
            "anonymous": {"enabled": True, "user": "NT AUTHORITY\\SYSTEM", "user_state": "set"},
        }
    )
    without = iis.iis_principals(snap)
    with_system = iis.iis_principals(snap, include_local_system=True)
    assert without[sids.LOCAL_SYSTEM].role == "anonymous user at 'Web'"
    assert with_system[sids.LOCAL_SYSTEM].role == "identity of application pool 'Legacy'"
    assert list(without) == [
        sids.IIS_IUSRS,
        sids.IUSR,
        sids.app_pool_sid("Web"),
        sids.app_pool_sid("Api"),
        sids.LOCAL_SYSTEM,
    ]
    assert list(with_system) == list(without)
    assert all(with_system[k] is without[k] for k in without if k != sids.LOCAL_SYSTEM)

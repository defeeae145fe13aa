"""Built-in rule pack: IIS-ACL-* rules, NTFS permissions on what IIS serves and runs (RULES.md §3E).

Every rule here judges "nothing broader than the baseline": it fails on an allow ACE that grants
more than the baseline allows, to a principal the baseline does not name, compared by SID
(`ace.sid`, else the SID the principal's name resolves to). A more restrictive ACL (a missing
ALL APPLICATION PACKAGES ACE, an extra deny) passes. Paths go through `Snapshot.path_key`.
"""

from __future__ import annotations

from iisguard import (
    Parameter,
    accounts,
    acls,
    fail,
    hookimpl,
    iis,
    not_applicable,
    not_reviewed,
    passed,
    rights,
    rule,
    sids,
)
from iisguard import references as refs


@rule(
    id="IIS-ACL-003",
    name="acl.content_writable_by_broad",
    title="Content roots writable by broad principals",
    severity="high",
    category="acl",
    description=(
        "Fails when the NTFS ACL of a folder IIS serves content from (the physical path of any site, "
        "application or virtual directory) grants write, modify, delete, change-permissions or "
        "take-ownership to Everyone, Users, Authenticated Users, Guests, Anonymous Logon, or "
        "Domain Users / Computers / Guests."
    ),
    rationale=(
        "Anyone who can log on to the server, or reach the share, can then drop a web shell into the "
        "site or deface it; IIS serves and executes whatever lands in the content folder."
    ),
    remediation=(
        "Remove the write grant and keep read for the pool identity only, for example:\n"
        'icacls "C:\\inetpub\\wwwroot" /remove:g "Everyone" "BUILTIN\\Users" "NT AUTHORITY\\Authenticated Users"\n'
        'icacls "C:\\inetpub\\wwwroot" /grant "IIS APPPOOL\\DefaultAppPool:(OI)(CI)(RX)"\n'
        "Folders created under a drive root inherit Users:(CI)(AD) and (CI)(IO)(WD); break that inheritance "
        "on the content root (icacls <root> /inheritance:d) and remove the Users grants."
    ),
    references=[refs.STIG_218780, refs.STIG_218802, refs.CIS_4_8, refs.KB981949],
    parameters=[
        Parameter(
            "extra_broad_principals",
            [],
            "More principals (SIDs or names) to treat as broad, e.g. a large AD group",
        ),
    ],
    needs=("iis", "acls"),
)
def content_writable_by_broad(snap, params):
    """Checks: for every physical path of every site, application and virtual directory (deduplicated
    by normalised path), the allow ACEs of its captured ACL; fails when one grants a write-class
    right (F, M, W, D, DE, WD, AD, DC, WDAC, WO, GA, GW) to Everyone, Users, Authenticated Users,
    Guests, Anonymous Logon or Domain Users/Computers/Guests (by SID), including inherit-only ACEs,
    which reach every file below. A content root with no captured ACL is not_reviewed.
    Why: any local or domain user (or anyone, for Everyone/Anonymous) can plant a web shell that IIS
    then executes as the pool identity (STIG V-218780).
    Bad: `C:\\sites\\shop Everyone:(OI)(CI)(M)`, or `BUILTIN\\Users:(I)(CI)(AD)` inherited from `C:\\`.
    Good: `C:\\inetpub\\wwwroot` with SYSTEM/Administrators/TrustedInstaller F, Users RX, IIS_IUSRS RX.
    """
    extra = snap.accounts.keys(params["extra_broad_principals"])
    broad: dict[str, bool] = {}  # principal key -> broad or extra; a few keys over thousands of roots

    def is_broad(key: str) -> bool:
        found = broad.get(key)
        if found is None:
            found = broad[key] = accounts.is_broad(key) or key in extra
        return found

    # The shared index of every ACL's grants (built here, for ACL-004, ACL-005 and ANON-005 too): one
    # call of write_grants per root cost more than the index's share of these roots' ACLs.
    by_path, grants_by_path = snap.acls_by_path, acls.write_grants_by_path(snap)
    for root in snap.content_roots.values():
        if root.acl is None:
            yield not_reviewed(
                root.resource,
                f"No ACL was captured for content folder '{root.path}' (used by {', '.join(root.uses[:3])}); "
                f'capture it with: icacls "{root.path}"',
            )
            continue
        grants = grants_by_path.get(root.key) if by_path.get(root.key) is root.acl else None
        if grants is None:  # the root's ACL found under another spelling of its path
            grants = acls.write_grants(snap, root.acl)
        bad = [ace for ace, key in grants if is_broad(key)]
        if bad:
            aces = ", ".join(acls.ace_text(a) for a in bad)
            yield fail(
                root.resource,
                f"Content folder '{root.acl['path']}' (served by {', '.join(root.uses[:3])}) is writable by broad "
                f"principals: {aces}. Any user in those groups can drop a web shell that IIS executes; remove "
                "these grants (icacls /remove:g) and grant the pool identity read only.",
                at=bad[0],
            )
        else:
            yield passed(root.resource, f"No broad principal can write to '{root.acl['path']}'", at=root.acl)


def _icacls_hint(path: str) -> str:
    return f'capture it with: icacls "{path}"'


def _admin_keys(snap, extra=()) -> set[str]:
    return set(acls.ADMIN_SIDS) | snap.accounts.keys(extra)


@rule(
    id="IIS-ACL-001",
    name="acl.inetpub_less_restrictive",
    title="\\inetpub less restrictive than baseline",
    severity="medium",
    category="acl",
    description=(
        "Fails when the ACL of %SystemDrive%\\inetpub grants write, modify, delete, change-permissions or "
        "take-ownership to anyone other than SYSTEM, Administrators, TrustedInstaller or CREATOR OWNER "
        "(subfolders and files only). Judged as 'less restrictive than the baseline', never as an exact match: a "
        "missing ALL APPLICATION PACKAGES ACE, a missing Users ACE or an extra deny passes."
    ),
    rationale=(
        "Everything IIS ships (wwwroot, logs, temp, custerr, history) inherits from \\inetpub; a write grant there "
        "reaches every site's content, the logs and IIS's own temporary and configuration-history folders."
    ),
    remediation=(
        "Remove the extra write grants, keeping inheritance (removing inheritance on \\inetpub cuts off wwwroot, "
        "PowerSTIG #974):\n"
        'icacls "%SystemDrive%\\inetpub" /remove:g "BUILTIN\\Users" "Everyone"\n'
        'icacls "%SystemDrive%\\inetpub" /grant "BUILTIN\\Users:(OI)(CI)(RX)"'
    ),
    references=[refs.STIG_218814, refs.STIG_214429, refs.KB981949, refs.POWERSTIG_452],
    parameters=[
        Parameter("path", "%SystemDrive%\\inetpub", "Where inetpub lives", "str"),
        Parameter(
            "allowed_writers",
            [],
            "More principals (SIDs or names) that may write to \\inetpub, e.g. a deployment account",
        ),
    ],
    needs=("acls",),
)
def inetpub_less_restrictive(snap, params):
    """Checks: the ACL of `path` (%SystemDrive%\\inetpub, matched whatever the capture's spelling);
    fails on any allow ACE with a write-class right for a principal other than SYSTEM,
    Administrators, TrustedInstaller, CREATOR OWNER or `allowed_writers` (by SID). A missing ACE
    (e.g. ALL APPLICATION PACKAGES), an extra deny or a narrower grant never fails. Not reviewed
    when the ACL was not captured.
    Why: everything IIS ships inherits from \\inetpub (STIG V-218814, KB981949). PowerSTIG's exact
    match failed good hosts (issue #452); this rule only looks for grants broader than baseline.
    Bad: `C:\\inetpub BUILTIN\\Users:(OI)(CI)(M)`.
    Good: `SYSTEM:(OI)(CI)(F) Administrators:(OI)(CI)(F) TrustedInstaller:(CI)(F) Users:(OI)(CI)(RX)
    CREATOR OWNER:(OI)(CI)(IO)(F)`, with or without ALL APPLICATION PACKAGES.
    """
    path = params["path"]
    acl = snap.acl(path)
    if acl is None:
        yield not_reviewed(f"acls/{path}", f"The ACL of {path} was not captured; {_icacls_hint(path)}")
        return
    bad = acls.write_aces(snap, acl, _admin_keys(snap, params["allowed_writers"]))
    resource = f"acls/{acl['path']}"
    if bad:
        yield fail(
            resource,
            f"{acl['path']} is less restrictive than the IIS baseline: {', '.join(acls.ace_text(a) for a in bad)}. Every "
            "site, log and IIS temp folder inherits these grants; remove them (icacls /remove:g), keeping inheritance.",
            at=bad[0],
        )
    else:
        yield passed(resource, f"No grant on {acl['path']} is broader than the baseline", at=acl)


DEFAULT_LOG_DIR = "%SystemDrive%\\inetpub\\logs\\LogFiles"


@rule(
    id="IIS-ACL-002",
    name="acl.log_directory",
    title="Log directories writable by non-admins or kept at the default",
    severity="medium",
    category="acl",
    description=(
        "Fails when a site log directory grants write, modify or delete to anyone other than SYSTEM, "
        "Administrators, TrustedInstaller, CREATOR OWNER or a declared log shipper. Strict profiles also fail "
        "non-admin read access (the default Users read, STIG V-218790) and log directories left under "
        "%SystemDrive%\\inetpub\\logs (CIS 5.1), through parameters that are off by default."
    ),
    rationale=(
        "Logs are the evidence of an intrusion; whoever can write or delete them can hide it. They also hold URLs, "
        "query strings and client addresses that non-admins should not read, and on the system drive they can fill "
        "it."
    ),
    remediation=(
        'icacls "C:\\inetpub\\logs\\LogFiles" /remove:g "BUILTIN\\Users"\n'
        "Move logs off the system drive: Set-WebConfigurationProperty -pspath 'MACHINE/WEBROOT/APPHOST' "
        "-filter 'system.applicationHost/sites/siteDefaults/logFile' -name directory -value 'D:\\Logs\\IIS'\n"
        "appcmd set config /section:sites /siteDefaults.logFile.directory:D:\\Logs\\IIS"
    ),
    references=[refs.STIG_218790, refs.CIS_5_1, refs.KB981949],
    parameters=[
        Parameter(
            "log_shippers",
            [],
            "Principals (SIDs or names) that may write/delete logs, e.g. a log-shipping agent",
        ),
        Parameter(
            "flag_non_admin_read",
            False,
            "Also fail read access by non-admins (strict: STIG V-218790)",
            "bool",
        ),
        Parameter(
            "flag_default_location",
            False,
            "Also fail logs kept under %SystemDrive%\\inetpub\\logs (CIS 5.1)",
            "bool",
        ),
    ],
    needs=("iis", "acls"),
)
def log_directory(snap, params):
    """Checks: every distinct log directory (each site's `log_directory`, `site_defaults.log_directory`,
    else the IIS default %SystemDrive%\\inetpub\\logs\\LogFiles); (a) fails on a write-class allow ACE
    for anyone other than SYSTEM, Administrators, TrustedInstaller, CREATOR OWNER or `log_shippers`;
    (b) with `flag_non_admin_read`, fails on any allow ACE for other principals (the default
    `Users:(RX)` inherited from \\inetpub included; service accounts such as NT SERVICE\\WMSvc are
    exempt, as the STIG says); (c) with `flag_default_location`, fails a
    directory under %SystemDrive%\\inetpub\\logs. Not reviewed when the ACL was not captured.
    Why: whoever can write the logs can erase an intrusion (STIG V-218790); CIS 5.1 moves logs off
    the system drive. (b) and (c) fail every default host, so they are on only in strict profiles.
    Bad: `C:\\inetpub\\logs\\LogFiles IIS_IUSRS:(OI)(CI)(M)`.
    Good: SYSTEM and Administrators full control, a log shipper with modify, Users read (baseline).
    """
    admins = _admin_keys(snap)
    shippers = snap.accounts.keys(params["log_shippers"])
    default_root = snap.path_key("%SystemDrive%\\inetpub\\logs")
    dirs: dict[str, tuple[str, list[str]]] = {}
    fallback = (snap.iis.get("site_defaults") or {}).get("log_directory") or DEFAULT_LOG_DIR
    for site in snap.sites or [{"name": "(site defaults)"}]:
        path = site.get("log_directory") or fallback
        dirs.setdefault(snap.path_key(path), (path, []))[1].append(site["name"])
    for key, (path, users) in dirs.items():
        acl = snap.acl(path)
        resource = f"acls/{acl['path'] if acl else path}"
        problems = []
        if params["flag_default_location"] and (key == default_root or key.startswith(default_root + "\\")):
            problems.append(
                "it is the default location under %SystemDrive%\\inetpub\\logs (CIS 5.1: move it off the system drive)"
            )
        if acl is None:
            if problems:
                yield fail(resource, f"Log directory {path} ({', '.join(users[:3])}): {problems[0]}.")
            else:
                yield not_reviewed(
                    resource, f"The ACL of log directory {path} was not captured; {_icacls_hint(path)}"
                )
            continue
        writers = acls.write_aces(snap, acl, admins | shippers)
        if writers:
            problems.append(
                f"it is writable by {', '.join(acls.ace_text(a) for a in writers)}, who can erase evidence"
            )
        if params["flag_non_admin_read"]:
            # STIG V-218790 exempts service accounts that process logs (NT SERVICE\WMSvc lists them by default)
            readers = [
                a
                for a in acls.allow_aces(acl)
                if a not in writers
                and acls.ace_key(snap, a) not in admins | shippers | {sids.CREATOR_OWNER}
                and not acls.ace_key(snap, a).startswith(sids.NT_SERVICE_PREFIX)
            ]
            if readers:
                problems.append(
                    f"non-admins can read it: {', '.join(acls.ace_text(a) for a in readers)} (STIG V-218790)"
                )
        if problems:
            yield fail(
                resource,
                f"Log directory {acl['path']} (used by {', '.join(users[:3])}): {'; '.join(problems)}. Leave write to "
                "SYSTEM, Administrators and declared log shippers (icacls /remove:g).",
                at=writers[0] if writers else acl,
            )
        else:
            yield passed(
                resource, f"Only administrators and declared log shippers can change {acl['path']}", at=acl
            )


@rule(
    id="IIS-ACL-004",
    name="acl.content_writable_by_pool",
    title="App pool identity or IIS_IUSRS can write the content root",
    severity="medium",
    category="acl",
    description=(
        "Fails when the identity of a pool serving a content folder (its IIS APPPOOL account, built-in or custom "
        "user), or IIS_IUSRS (in every worker unless manualGroupMembership), holds a write-class right on the "
        "content root, on bin, or on any captured subfolder outside the allow-listed writable folders "
        "(App_Data and uploads by default)."
    ),
    rationale=(
        "A web application that can write its own code folder turns any file-write bug (an upload handler, a path "
        "traversal) into code execution: it drops an .aspx or replaces a DLL in bin. Content should be read-only "
        "to the worker except for data folders IIS never executes from."
    ),
    remediation=(
        'icacls "C:\\inetpub\\shop" /remove:g "IIS APPPOOL\\Shop" "BUILTIN\\IIS_IUSRS"\n'
        'icacls "C:\\inetpub\\shop" /grant "IIS APPPOOL\\Shop:(OI)(CI)(RX)"\n'
        'icacls "C:\\inetpub\\shop\\App_Data" /grant "IIS APPPOOL\\Shop:(OI)(CI)(M)"   # only where the app must write'
    ),
    references=[refs.STIG_218780, refs.STIG_218779, refs.MS_APID],
    parameters=[
        Parameter(
            "writable_folders",
            ["App_Data", "uploads"],
            "Subfolders (relative to the content root, globs) the pool may write",
        ),
    ],
    needs=("iis", "acls"),
)
def content_writable_by_pool(snap, params):
    """Checks: for each content root (physical path of a site, application or virtual directory), the
    principals reaching its pools' workers (each pool identity by SID; IIS_IUSRS unless
    manualGroupMembership); fails when one holds a write-class right in the root's ACL (inherited
    ACEs included), or in a non-inherited ACE of any captured folder below it (bin included) that is
    not inside `writable_folders`. Not reviewed when the root's ACL was not captured.
    Why: a worker that can write its own code folder turns a file-write bug into code execution
    (STIG V-218780: the ApplicationPoolId gets read only). Data folders (App_Data, uploads) are the
    documented exception.
    Bad: `C:\\inetpub\\shop IIS APPPOOL\\Shop:(OI)(CI)(M)` or `...\\bin BUILTIN\\IIS_IUSRS:(OI)(CI)(W)`.
    Good: `IIS APPPOOL\\Shop:(OI)(CI)(RX)` on the root, `(OI)(CI)(M)` on `App_Data` only.
    """
    roots = snap.content_roots
    by_path = snap.acls_by_path
    explicit_by_path = acls.explicit_write_grants_by_path(snap)  # folders with a grant of their own
    writable = acls.folder_matcher(params["writable_folders"])
    for key, root in roots.items():
        workers = acls.worker_keys_of(snap, root.pools)
        if root.acl is None:
            yield not_reviewed(
                root.resource,
                f"No ACL was captured for content folder '{root.path}'; {_icacls_hint(root.path)}",
            )
            continue
        if not workers:
            yield not_applicable(root.resource, f"No application pool serves '{root.path}'", at=root.acl)
            continue
        bad = [a for a, k in acls.write_grants(snap, root.acl) if k in workers]
        if bad:
            who = "; ".join(f"{acls.ace_text(a)} ({workers[acls.ace_key(snap, a)]})" for a in bad)
            yield fail(
                root.resource,
                f"The worker serving '{root.acl['path']}' ({', '.join(root.uses[:3])}) can write its own content: {who}. "
                "A file-write bug then becomes code execution; grant the pool read only, and modify only on data "
                f"folders ({', '.join(params['writable_folders'])}).",
                at=bad[0],
            )
        else:
            yield passed(root.resource, f"The worker can only read '{root.acl['path']}'", at=root.acl)
        for sub_key in iis.content_folders_of(snap, key):  # a nested content root is judged as a root
            grants = explicit_by_path.get(sub_key)  # 90,000 folders, nearly all without a grant of their own
            if grants is None:
                continue
            explicit = [a for a, k in grants if k in workers]
            if not explicit or writable(iis.relative(sub_key, key)):
                continue
            acl = by_path[sub_key]
            who = "; ".join(f"{acls.ace_text(a)} ({workers[acls.ace_key(snap, a)]})" for a in explicit)
            yield fail(
                f"acls/{acl['path']}",
                f"'{acl['path']}' under content root '{root.acl['path']}' is writable by the worker: {who}. It is not "
                "an allow-listed data folder; remove the grant or add the folder to writable_folders if the "
                "application must write there and IIS never executes from it.",
                at=explicit[0],
            )


SCRIPT_EXTENSIONS = [
    ".asp",
    ".aspx",
    ".ashx",
    ".asmx",
    ".asax",
    ".ascx",
    ".svc",
    ".cshtml",
    ".vbhtml",
    ".php",
    ".pl",
    ".cgi",
    ".exe",
    ".dll",
    ".config",
]


@rule(
    id="IIS-ACL-005",
    name="acl.scripts_writable",
    title="Script/executable files writable by non-admins",
    severity="high",
    category="acl",
    description=(
        "Fails when a script or executable file under a content root (.asp, .aspx, .ashx, .asmx, .php, .pl, .cgi, "
        ".exe, .dll, .config, …) grants a write-class right, directly, by inheritance or through its folder, to "
        "anyone other than SYSTEM, Administrators, TrustedInstaller or designated deployment principals."
    ),
    rationale=(
        "Whoever can change a page, a handler, a DLL in bin or a web.config changes what the site executes: that is "
        "code execution as the pool identity and, through web.config, control of the handlers and authentication."
    ),
    remediation=(
        'icacls "C:\\inetpub\\shop\\default.aspx" /remove:g "BUILTIN\\Users" "IIS APPPOOL\\Shop"\n'
        'icacls "C:\\inetpub\\shop\\bin" /remove:g "BUILTIN\\IIS_IUSRS" /T\n'
        "Deploy with a dedicated account listed in allowed_writers instead of granting the pool write access."
    ),
    references=[refs.STIG_218780, refs.STIG_214494, refs.CIS_4_8],
    parameters=[
        Parameter("extensions", SCRIPT_EXTENSIONS, "File extensions treated as scripts or executables"),
        Parameter(
            "allowed_writers",
            [],
            "Principals (SIDs or names) allowed to write code, e.g. a deployment account",
        ),
    ],
    needs=("iis", "acls"),
)
def scripts_writable(snap, params):
    """Checks: every captured file ACL below a content root whose extension is in `extensions`; fails
    when the file's ACL, or the ACL of its folder (when captured; ACEs that apply to the folder
    itself), grants a write-class right to anyone other than SYSTEM, Administrators,
    TrustedInstaller, CREATOR OWNER or `allowed_writers`. A content root below which no file ACL
    was captured is not_reviewed (capture with `icacls <root> /T`).
    Why: changing a page, a bin DLL or a web.config changes what IIS executes (STIG V-218780).
    Bad: `C:\\inetpub\\shop\\default.aspx BUILTIN\\Users:(I)(M)`, `...\\bin IIS APPPOOL\\Shop:(OI)(CI)(W)`.
    Good: `default.aspx` with SYSTEM/Administrators (I)(F), Users and IIS_IUSRS (I)(RX).
    """
    allowed = _admin_keys(snap, params["allowed_writers"]) | {sids.CREATOR_OWNER}  # as acls.write_aces
    exts = tuple(str(e).casefold() for e in params["extensions"])
    roots = snap.content_roots
    by_path = snap.acls_by_path
    grants_by_path = acls.write_grants_by_path(snap)
    scripts: dict[str, int] = {}
    folders: dict[
        str | None, tuple[dict | None, list]
    ] = {}  # parent key -> (its ACL, its bad ACEs): judged once

    def folder_of(parent: str | None) -> tuple[dict | None, list]:
        if parent in folders:
            return folders[parent]
        folder = by_path.get(parent) if parent else None
        judged = folders[parent] = (
            folder,
            [a for a, k in grants_by_path[parent] if k not in allowed and not acls.inherit_only(a)]
            if folder and parent
            else [],
        )
        return judged

    for key, root, acl, grants, path in acls.content_folder_grants(snap):  # no lookups by key: 90,000 paths
        if not key.endswith(exts):
            continue
        scripts[root] = scripts.get(root, 0) + 1
        bad = []  # a loop, not a comprehension: 30,000 files on a large host
        for a, k in grants:
            if k not in allowed:
                bad.append(a)
        parent = key.rpartition("\\")[0] or None  # iis.parent_key, inlined
        judged = folders.get(parent)
        folder, folder_bad = folder_of(parent) if judged is None else judged
        resource = f"acls/{path}"
        if not bad and not folder_bad:
            yield passed(resource, f"Only administrators can change {path}", at=acl)
        else:
            parts = []
            if bad:
                parts.append(f"the file grants {', '.join(acls.ace_text(a) for a in bad)}")
            if folder_bad and folder is not None:
                parts.append(
                    f"its folder {folder['path']} grants {', '.join(acls.ace_text(a) for a in folder_bad)}"
                )
            yield fail(
                resource,
                f"{acl['path']} is code IIS executes, and {'; '.join(parts)}. Whoever holds these rights changes what "
                "the site runs; leave write to SYSTEM, Administrators and deployment accounts (icacls /remove:g).",
                at=(bad or folder_bad)[0],
            )
    for key, root in roots.items():
        if root.acl is None:
            yield not_reviewed(
                root.resource,
                f"No ACL was captured for content folder '{root.path}'; {_icacls_hint(root.path)} /T",
            )
        elif not iis.content_folders_of(snap, key):
            yield not_reviewed(
                root.resource,
                f"No file ACLs were captured below '{root.path}', so its scripts cannot be judged; capture them with: "
                f'icacls "{root.path}" /T',
            )
        elif not scripts.get(key):
            yield not_applicable(
                root.resource,
                f"None of the {len(iis.content_folders_of(snap, key))} files and folders captured below "
                f"'{root.path}' is a script or executable",
                at=root.acl,
            )


@rule(
    id="IIS-ACL-006",
    name="acl.content_grants_shared_groups",
    title="Content ACL grants IIS_IUSRS or Users instead of the pool SID",
    severity="low",
    category="acl",
    default_enabled=False,
    description=(
        "Notes content roots whose ACL grants access to IIS_IUSRS, Users, Authenticated Users or Everyone, which "
        "every application pool worker carries, on a host where two or more pools serve content; the pool's own "
        "IIS APPPOOL account should be the grantee. Off in the baseline profile (the default wwwroot grants Users "
        "and IIS_IUSRS read)."
    ),
    rationale=(
        "With grants to shared groups, a compromised site reads every other site's files (connection strings, "
        "keys), because every worker carries IIS_IUSRS and Users: pool isolation only holds when ACLs name pools."
    ),
    remediation=(
        'icacls "D:\\sites\\shop" /grant "IIS APPPOOL\\Shop:(OI)(CI)(RX)"\n'
        'icacls "D:\\sites\\shop" /remove:g "BUILTIN\\IIS_IUSRS" "BUILTIN\\Users"\n'
        'icacls "D:\\sites\\shop" /inheritance:d   # first, if Users comes from the parent folder'
    ),
    references=[refs.MS_APID, refs.MS_IDENT, refs.CIS_1_5],
    parameters=[
        Parameter(
            "shared_principals",
            [sids.IIS_IUSRS, sids.USERS, sids.AUTHENTICATED_USERS, sids.EVERYONE],
            "Grantees that reach every pool",
        ),
    ],
    needs=("iis", "acls"),
)
def content_grants_shared_groups(snap, params):
    """Checks: when two or more distinct pools serve content, every content root's allow ACEs; fails
    (low) when one is granted to a principal in `shared_principals` (IIS_IUSRS, Users,
    Authenticated Users, Everyone by default). With a single pool, not applicable.
    Why: every worker carries IIS_IUSRS (unless manualGroupMembership) and Users, so such grants let
    one site read another's files; MS Application Pool Identities recommends ACLs by pool SID.
    Bad: `D:\\sites\\shop BUILTIN\\IIS_IUSRS:(OI)(CI)(RX)` next to `D:\\sites\\blog` on another pool.
    Good: `D:\\sites\\shop IIS APPPOOL\\Shop:(OI)(CI)(RX)` with inheritance from D:\\ removed.
    """
    roots = snap.content_roots
    pools = {id(p) for root in roots.values() for p in root.pools}
    shared = snap.accounts.keys(params["shared_principals"])
    for root in roots.values():
        if len(pools) < 2:
            yield not_applicable(root.resource, "Only one application pool serves content on this host")
            continue
        if root.acl is None:
            yield not_reviewed(
                root.resource,
                f"No ACL was captured for content folder '{root.path}'; {_icacls_hint(root.path)}",
            )
            continue
        bad = [a for a in acls.allow_aces(root.acl) if acls.ace_key(snap, a) in shared]
        if bad:
            yield fail(
                root.resource,
                f"'{root.acl['path']}' ({', '.join(root.uses[:3])}) grants {', '.join(acls.ace_text(a) for a in bad)}, which "
                f"every one of the host's {len(pools)} pools carries, so other sites can read it. Grant its pool's "
                "IIS APPPOOL account instead and remove these grants.",
                at=bad[0],
            )
        else:
            yield passed(root.resource, f"'{root.acl['path']}' is granted to its own pool only", at=root.acl)


CONFIG_FILES = [
    "%windir%\\system32\\inetsrv\\config\\applicationHost.config",
    "%windir%\\system32\\inetsrv\\config\\administration.config",
    "%windir%\\system32\\inetsrv\\config\\redirection.config",
]
CONFIG_FOLDERS = ["%windir%\\system32\\inetsrv\\config\\schema"]


@rule(
    id="IIS-ACL-007",
    name="acl.config_files",
    title="IIS configuration files writable by non-admins",
    severity="high",
    category="acl",
    description=(
        "Fails when applicationHost.config, administration.config, redirection.config or the schema folder grant "
        "a write-class right to anyone other than SYSTEM, Administrators or TrustedInstaller, or when one of the "
        "three .config files can be read by an IIS identity (pool account, IIS_IUSRS, IUSR) or a broad group that "
        "workers carry (Users, Authenticated Users, Everyone)."
    ),
    rationale=(
        "Writing applicationHost.config is running code as SYSTEM (set a pool to LocalSystem, add a module). "
        "Reading it from a worker defeats configuration isolation: every pool's settings and encrypted passwords, "
        "which workers are not meant to see."
    ),
    remediation=(
        'icacls "%windir%\\system32\\inetsrv\\config\\applicationHost.config" /remove:g "BUILTIN\\Users" "BUILTIN\\IIS_IUSRS"\n'
        'icacls "%windir%\\system32\\inetsrv\\config" /reset /T   # restores the inherited SYSTEM/Administrators/TrustedInstaller ACL'
    ),
    references=[refs.MS_IDENT, refs.KB981949, refs.STIG_218814],
    parameters=[
        Parameter("files", CONFIG_FILES, "Configuration files judged for write and for worker read"),
        Parameter("folders", CONFIG_FOLDERS, "Folders judged for write only (schema files are not secret)"),
        Parameter("allowed_writers", [], "More principals (SIDs or names) that may change IIS configuration"),
    ],
    needs=("acls",),
)
def config_files(snap, params):
    """Checks: the ACL of each of `files` (applicationHost, administration and redirection.config) and
    `folders` (the schema folder); fails on a write-class allow ACE for anyone other than SYSTEM,
    Administrators, TrustedInstaller, CREATOR OWNER or `allowed_writers`, and, for the files, on any
    allow ACE for an IIS identity (pool accounts, IIS_IUSRS, IUSR, any S-1-5-82-*) or for Users,
    Authenticated Users or Everyone. Other readers (NT SERVICE\\WMSvc) pass. Not reviewed per path
    when its ACL was not captured.
    Why: write access to IIS configuration is SYSTEM code execution; workers must not read
    applicationHost.config (configuration isolation, KB4466942).
    Bad: `applicationHost.config BUILTIN\\IIS_IUSRS:(R)`; `schema BUILTIN\\Users:(OI)(CI)(M)`.
    Good: SYSTEM, Administrators, TrustedInstaller full control; Users read on the schema folder only.
    """
    writers_ok = _admin_keys(snap, params["allowed_writers"])
    workers = set(snap.iis_principals) | {  # iis.iis_principals without LocalSystem, once per snapshot
        sids.USERS,
        sids.AUTHENTICATED_USERS,
        sids.EVERYONE,
        sids.ANONYMOUS_LOGON,
    }
    for path, judge_read in [(f, True) for f in params["files"]] + [(f, False) for f in params["folders"]]:
        acl = snap.acl(path)
        if acl is None:
            yield not_reviewed(f"acls/{path}", f"The ACL of {path} was not captured; {_icacls_hint(path)}")
            continue
        problems = []
        bad = acls.write_aces(snap, acl, writers_ok)
        if bad:
            problems.append(
                f"writable by {', '.join(acls.ace_text(a) for a in bad)} (that is SYSTEM code execution)"
            )
        readers = []
        if judge_read:
            readers = [
                a
                for a in acls.allow_aces(acl)
                if a not in bad
                and (acls.ace_key(snap, a) in workers or sids.is_app_pool_sid(acls.ace_key(snap, a)))
            ]
            if readers:
                problems.append(
                    f"readable by worker identities {', '.join(acls.ace_text(a) for a in readers)} (defeats configuration isolation)"
                )
        resource = f"acls/{acl['path']}"
        if problems:
            yield fail(
                resource,
                f"{acl['path']} is {'; and '.join(problems)}. Leave it to SYSTEM, Administrators and TrustedInstaller.",
                at=(bad or readers)[0],
            )
        else:
            yield passed(resource, f"{acl['path']} is limited to administrators", at=acl)


@rule(
    id="IIS-ACL-008",
    name="acl.pool_isolation_configs",
    title="Pool isolation copies readable by other principals",
    severity="high",
    category="acl",
    description=(
        "Fails when a pool's isolated configuration file (%SystemDrive%\\inetpub\\temp\\appPools\\<pool>\\<pool>.config) "
        "grants any access to a principal other than SYSTEM, Administrators, TrustedInstaller and that pool's own "
        "identity."
    ),
    rationale=(
        "WAS writes each pool a filtered copy of the configuration and restricts it to that pool's SID, so one "
        "pool cannot read another's settings and credentials; any wider grant undoes that isolation."
    ),
    remediation=(
        'icacls "C:\\inetpub\\temp\\appPools\\Shop\\Shop.config" /remove:g "BUILTIN\\IIS_IUSRS" "BUILTIN\\Users"\n'
        "appcmd recycle apppool /apppool.name:Shop   # WAS rewrites the file with its restricted ACL"
    ),
    references=[refs.MS_IDENT, refs.KB981949],
    parameters=[
        Parameter(
            "app_pools_folder",
            "%SystemDrive%\\inetpub\\temp\\appPools",
            "Where WAS writes the per-pool configuration",
            "str",
        ),
    ],
    needs=("iis", "acls"),
)
def pool_isolation_configs(snap, params):
    """Checks: every captured ACL of a `.config` file in `app_pools_folder` (directly, or in the per-pool
    subfolder IIS 8.5+ uses); the pool is the file name; fails on any allow ACE for a principal
    other than SYSTEM, Administrators, TrustedInstaller, the pool's IIS APPPOOL SID and the pool's
    configured identity. Pools whose file ACL was not captured are not_reviewed.
    Why: the per-pool copy carries that pool's configuration; it is readable only by the pool so
    that pools stay isolated (KB4466942 "configuration isolation").
    Bad: `...\\appPools\\Shop\\Shop.config BUILTIN\\IIS_IUSRS:(I)(RX)`.
    Good: `SYSTEM:(F) Administrators:(F) IIS APPPOOL\\Shop:(R)`.
    """
    folder = snap.path_key(params["app_pools_folder"])
    by_path = snap.acls_by_path
    by_pool: dict[str, list] = {}
    for key in acls.keys_below(snap, folder):
        if not key.endswith(".config"):
            continue
        rel = key[len(folder) + 1 :].split("\\")
        if len(rel) > 2:
            continue
        acl = by_path[key]
        pool_name = iis.leaf(acl["path"])[: -len(".config")]
        by_pool.setdefault(pool_name.casefold(), []).append((pool_name, acl))
    for pool in snap.app_pools:
        if pool["name"].casefold() not in by_pool:
            path = f"{params['app_pools_folder']}\\{pool['name']}\\{pool['name']}.config"
            yield not_reviewed(f"acls/{path}", f"The ACL of {path} was not captured; {_icacls_hint(path)}")
    for entries in by_pool.values():
        for pool_name, acl in entries:
            allowed = set(acls.ADMIN_SIDS) | {sids.app_pool_sid(pool_name), sids.CREATOR_OWNER}
            pool = snap.pool(pool_name)
            if pool is not None:
                allowed.add(iis.pool_identity(snap, pool).key)
            bad = [a for a in acls.allow_aces(acl) if acls.ace_key(snap, a) not in allowed]
            resource = f"acls/{acl['path']}"
            if bad:
                yield fail(
                    resource,
                    f"The isolated configuration of pool '{pool_name}' ({acl['path']}) is also granted to "
                    f"{', '.join(acls.ace_text(a) for a in bad)}, so other pools can read its settings and credentials. "
                    "Remove these grants and recycle the pool.",
                    at=bad[0],
                )
            else:
                yield passed(
                    resource, f"Only pool '{pool_name}' and administrators can read {acl['path']}", at=acl
                )


WAS_KEYS = ["iisWasKey", "IISCngWasKey"]
SHARED_KEYS = ["iisConfigurationKey", "IISCngConfigurationKey"]


@rule(
    id="IIS-ACL-009",
    name="acl.config_encryption_keys",
    title="IIS config-encryption keys not locked down",
    severity="high",
    category="acl",
    description=(
        "Fails when the machine key file of a WAS-only encryption key (iisWasKey, IISCngWasKey: the keys that "
        "protect application pool passwords) can be read by anyone other than SYSTEM and Administrators, when "
        "the shared configuration key (iisConfigurationKey, IISCngConfigurationKey) can be read by Users, "
        "Authenticated Users, Everyone or Anonymous, or when anyone else can change either."
    ),
    rationale=(
        "applicationHost.config keeps pool, anonymous and connect-as passwords encrypted with these keys; whoever "
        "reads the key file decrypts every one of them. The WAS-only key is meant for WAS (SYSTEM) alone; the "
        "shared key must be usable by workers (IIS_IUSRS) but not by every user."
    ),
    remediation=(
        "Restore the key file ACL (the file name is the container hash, then _<MachineGuid>):\n"
        'icacls "%ProgramData%\\Microsoft\\Crypto\\Keys\\597367cc37b886d7ee6c493e3befb421_*" /remove:g "BUILTIN\\IIS_IUSRS" "BUILTIN\\Users"\n'
        'icacls "%ProgramData%\\Microsoft\\Crypto\\RSA\\MachineKeys\\76944fb33636aeddb9590521c2e8815a_*" /remove:g "BUILTIN\\Users"'
    ),
    references=[refs.MS_CNG, refs.CIS_IIS78_ENCRYPTION_PROVIDERS, refs.KB981949],
    parameters=[
        Parameter("was_only_keys", WAS_KEYS, "Key containers readable by SYSTEM and Administrators only"),
        Parameter(
            "shared_keys", SHARED_KEYS, "Key containers workers may use (IIS_IUSRS) but broad groups may not"
        ),
        Parameter(
            "allowed_readers",
            [],
            "Principals (SIDs or names) documented as needing the WAS-only keys, e.g. WMSvc's LOCAL SERVICE",
        ),
    ],
    needs=("acls",),
)
def config_encryption_keys(snap, params):
    """Checks: captured ACLs of machine key files, recognised by file name: the container name's hash
    (CryptoAPI `Crypto\\RSA\\MachineKeys\\76944fb3…_<guid>` for iisWasKey, CNG `Crypto\\Keys\\597367cc…`
    for IISCngWasKey, and so on; names from `was_only_keys`, `shared_keys` and the providers'
    key_container_name). WAS-only keys fail on any allow ACE for other than SYSTEM, Administrators
    or `allowed_readers`; shared keys fail on an allow ACE for a broad principal; both fail on write
    by others. Not reviewed when no key file ACL was captured.
    Why: these keys decrypt every password in applicationHost.config (MS "CNG Data Encryption
    Providers in IIS 10": the WAS-only key is restricted to SYSTEM and Administrators).
    Bad: `...\\Crypto\\Keys\\597367cc37b886d7ee6c493e3befb421_<guid> BUILTIN\\IIS_IUSRS:(R)`.
    Good: `SYSTEM:(F) BUILTIN\\Administrators:(F)` on the WAS key; IIS_IUSRS read on the shared key.
    """
    was_names = {str(n) for n in params["was_only_keys"]}
    shared_names = {str(n) for n in params["shared_keys"]}
    for provider in (snap.iis.get("config_protected_data") or {}).get("providers") or []:
        container = provider.get("key_container_name")
        if container:
            (
                was_names
                if str(provider.get("name", "")).casefold().startswith("iiswasonly")
                else shared_names
            ).add(container)
    prefixes: dict[str, tuple[str, bool]] = {}
    for names, was in ((shared_names, False), (was_names, True)):
        for name in names:
            for prefix in acls.key_file_prefixes(name):
                prefixes[prefix] = (name, was)
    admins = {sids.LOCAL_SYSTEM, sids.ADMINISTRATORS}
    readers_ok = admins | snap.accounts.keys(params["allowed_readers"])
    found = False
    for acl in snap.acls:
        if "_" not in acl["path"]:  # nor, then, in its file name: not a key file (the check of most paths)
            continue
        leaf = iis.leaf(acl["path"]).casefold()
        match = prefixes.get(leaf.split("_", 1)[0]) if "_" in leaf else None
        if match is None:
            continue
        found = True
        name, was = match
        writers = acls.write_aces(snap, acl, admins, creator_owner_ok=False)
        if was:
            readers = [
                a
                for a in acls.allow_aces(acl)
                if a not in writers and acls.ace_key(snap, a) not in readers_ok
            ]
        else:
            readers = [
                a
                for a in acls.allow_aces(acl)
                if a not in writers and accounts.is_broad(acls.ace_key(snap, a))
            ]
        resource = f"acls/{acl['path']}"
        bad = writers + readers
        if bad:
            scope = "only SYSTEM and Administrators may read it" if was else "broad groups must not read it"
            yield fail(
                resource,
                f"Key file of {name} ({acl['path']}) grants {', '.join(acls.ace_text(a) for a in bad)}; {scope}. Whoever "
                "reads it decrypts the passwords stored in applicationHost.config; remove these grants (icacls /remove:g).",
                at=bad[0],
            )
        else:
            yield passed(resource, f"The key file of {name} is locked down", at=acl)
    if not found:
        yield not_reviewed(
            "host",
            "No ACL of an IIS configuration key file was captured; capture them with: icacls "
            '"%ProgramData%\\Microsoft\\Crypto\\Keys\\*" and icacls "%ProgramData%\\Microsoft\\Crypto\\RSA\\MachineKeys\\*"',
        )


TEMP_FOLDERS = [
    "%windir%\\Microsoft.NET\\Framework\\v4.0.30319\\Temporary ASP.NET Files",
    "%windir%\\Microsoft.NET\\Framework64\\v4.0.30319\\Temporary ASP.NET Files",
    "%windir%\\Microsoft.NET\\Framework\\v2.0.50727\\Temporary ASP.NET Files",
    "%windir%\\Microsoft.NET\\Framework64\\v2.0.50727\\Temporary ASP.NET Files",
    "%SystemDrive%\\inetpub\\temp\\IIS Temporary Compressed Files",
]
TRACE_FOLDERS = ["%SystemDrive%\\inetpub\\logs\\FailedReqLogFiles"]


@rule(
    id="IIS-ACL-010",
    name="acl.temp_and_trace_folders",
    title="Temp/compilation/trace folders exposed to broad groups",
    severity="medium",
    category="acl",
    description=(
        "Fails when Temporary ASP.NET Files, IIS Temporary Compressed Files or the failed-request trace folder grant "
        "write to Everyone, Users, Authenticated Users, Guests or Anonymous, or when broad groups can read the "
        "failed-request traces. IIS_IUSRS write access there is the IIS default and passes."
    ),
    rationale=(
        "ASP.NET runs the assemblies it compiled into Temporary ASP.NET Files and IIS serves the compressed copies: "
        "a user who can write there changes what a site executes or serves. Failed-request traces hold full "
        "requests, headers and cookies included."
    ),
    remediation=(
        'icacls "%windir%\\Microsoft.NET\\Framework64\\v4.0.30319\\Temporary ASP.NET Files" /remove:g "BUILTIN\\Users" "Everyone"\n'
        'icacls "%SystemDrive%\\inetpub\\logs\\FailedReqLogFiles" /remove:g "BUILTIN\\Users"'
    ),
    references=[refs.KB981949, refs.MS_ASPNET_ACLS],
    parameters=[
        Parameter(
            "folders", TEMP_FOLDERS, "Compilation and compression folders judged for write by broad groups"
        ),
        Parameter("trace_folders", TRACE_FOLDERS, "Trace folders judged for read and write by broad groups"),
    ],
    needs=("acls",),
)
def temp_and_trace_folders(snap, params):
    """Checks: the ACLs captured for `folders` (Temporary ASP.NET Files of each framework, IIS Temporary
    Compressed Files) and any other captured folder named "Temporary ASP.NET Files": fails on a
    write-class allow ACE for a broad principal (Everyone, Users, Authenticated Users, Guests,
    Anonymous, Domain Users); for `trace_folders` (FailedReqLogFiles) any allow ACE for a broad
    principal fails. IIS_IUSRS grants (default) pass. Not reviewed when none of them was captured.
    Why: ASP.NET executes what it compiled there and IIS serves the compressed copies; traces hold
    whole requests (KB981949 lists the default: IIS_IUSRS, SYSTEM, Administrators only).
    Bad: `Temporary ASP.NET Files Everyone:(OI)(CI)(M)`; `FailedReqLogFiles BUILTIN\\Users:(OI)(CI)(RX)`.
    Good: `IIS Temporary Compressed Files SYSTEM:(F) Administrators:(F) IIS_IUSRS:(F)` (the default).
    """
    judged: dict[str, tuple[dict, bool]] = {}
    for path in params["folders"]:
        acl = snap.acl(path)
        if acl is not None:
            judged[snap.path_key(acl["path"])] = (acl, False)
    for path in params["trace_folders"]:
        acl = snap.acl(path)
        if acl is not None:
            judged[snap.path_key(acl["path"])] = (acl, True)
    by_path = snap.acls_by_path
    for key in acls.keys_ending(snap, "\\temporary asp.net files"):
        if key not in judged:
            judged[key] = (by_path[key], False)
    if not judged:
        yield not_reviewed(
            "host",
            "None of the ASP.NET/IIS temporary or trace folders was captured; capture them with icacls "
            '("%windir%\\Microsoft.NET\\Framework64\\v4.0.30319\\Temporary ASP.NET Files", '
            '"%SystemDrive%\\inetpub\\logs\\FailedReqLogFiles")',
        )
        return
    for acl, trace in judged.values():
        bad = [
            a
            for a in acls.allow_aces(acl)
            if accounts.is_broad(acls.ace_key(snap, a))
            and (trace or rights.is_write_class(a.get("rights") or []))
        ]
        resource = f"acls/{acl['path']}"
        if bad:
            what = (
                "read or write the request traces"
                if trace
                else "write what ASP.NET compiles or IIS serves from it"
            )
            yield fail(
                resource,
                f"{acl['path']} grants {', '.join(acls.ace_text(a) for a in bad)}, so any user can {what}. Remove the "
                "broad grants; IIS_IUSRS access is all IIS needs.",
                at=bad[0],
            )
        else:
            yield passed(resource, f"No broad group can change {acl['path']}", at=acl)


RULES = [
    inetpub_less_restrictive,
    log_directory,
    content_writable_by_broad,
    content_writable_by_pool,
    scripts_writable,
    content_grants_shared_groups,
    config_files,
    pool_isolation_configs,
    config_encryption_keys,
    temp_and_trace_folders,
]


@hookimpl
def iisguard_pack_info():
    return {"prefixes": ["IIS-ACL-"], "description": "Built-in IIS-ACL-* rules: NTFS permissions"}


@hookimpl
def iisguard_register_rules():
    return RULES

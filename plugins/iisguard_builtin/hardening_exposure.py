"""Built-in rule pack: IIS-CFG-054..055, what a server exposes beyond its configuration settings (issue
#19): bindings on ports and protocols nobody approved, backup copies of scripts left in the content."""

from __future__ import annotations

from iisguard import Parameter, acls, fail, hookimpl, iis, names, not_applicable, not_reviewed, passed, rule
from iisguard import references as refs


@rule(
    id="IIS-CFG-054",
    name="cfg.unapproved_ports",
    title="Site bound to a port or protocol outside the approved list",
    severity="low",
    category="hardening",
    description="A site binding uses a protocol or port that is not on the approved list (by default http "
    "on 80 and https on 443, as the STIG's example names).",
    rationale="Ports and protocols outside those registered for the system (DoD PPSM) are exposures nobody "
    "reviewed: an admin site on 8080, a forgotten test binding, plain FTP. Low in the default profile (the "
    "list is the organization's); the stig-iis10 profile raises it to medium.",
    remediation="Remove-WebBinding -Name '<site>' -Protocol http -Port 8080\n"
    "appcmd set site /site.name:'<site>' /-\"bindings.[protocol='http',bindingInformation='*:8080:']\"",
    references=[refs.STIG_218766, refs.MS_BINDINGS],
    parameters=[
        Parameter(
            "approved",
            ["http:80", "https:443"],
            '"protocol:port" pairs registered for the server ("net.tcp:*" approves every port of a protocol)',
        )
    ],
    needs=("iis",),
)
def unapproved_ports(snap, params):
    """Checks: every binding of every site (web, FTP and the WAS protocols) against `approved`
    ("protocol:port"; a `*` port approves the protocol on any port). A non-web binding without a port
    (net.pipe, msmq) is compared by protocol.
    Why: STIG V-218766: sites use ports, protocols and services as registered with the DoD PPSM.
    Bad: `<binding protocol="http" bindingInformation="*:8080:"/>` with only 80 and 443 approved.
    Good: http on 80 and https on 443.
    """
    approved = set()
    for entry in params["approved"]:
        proto, _, port = str(entry).partition(":")
        approved.add((proto.strip().casefold(), port.strip() or "*"))
    for site in snap.sites:
        res = iis.site_key(site["name"])
        bindings = site.get("bindings") or []
        if not bindings:
            yield not_applicable(res, f"Site '{site['name']}' has no binding.", at=site)
            continue
        odd = []
        for b in bindings:
            proto = str(b.get("protocol") or "").casefold()
            port = str(b["port"]) if b.get("port") is not None else ""
            if (proto, "*") not in approved and (proto, port) not in approved:
                odd.append(b)
        if odd:
            shown = ", ".join(f"{b.get('protocol')} {b.get('binding_information')!r}" for b in odd)
            yield fail(
                res,
                f"Site '{site['name']}' is bound to {shown}, outside the approved ports and protocols; remove the "
                "binding or register it (parameter approved).",
                at=odd[0],
            )
        else:
            yield passed(
                res, f"Every binding of '{site['name']}' uses an approved port and protocol.", at=bindings[0]
            )


BACKUP_PATTERNS = ["*.bak", "*.old", "*.temp", "*.tmp", "*.backup", "copy of *", "* - copy.*", "*~"]


@rule(
    id="IIS-CFG-055",
    name="cfg.backup_files_in_content",
    title="Backup copies of scripts in the web content",
    severity="medium",
    category="hardening",
    description='A file named like a backup copy (*.bak, *.old, *.temp, *.tmp, *.backup, "Copy of ...") '
    "is in a content folder, as the recursive ACL listing of the content root shows.",
    rationale="Backup copies are served as plain files: a web.config.bak or default.aspx.old hands out "
    "source code and connection strings that the original's handler would have protected.",
    remediation="Get-ChildItem D:\\Sites -Recurse -Include *.bak,*.old,*.tmp,*.backup | Remove-Item\n"
    "icacls D:\\Sites\\<site> /T  # capture again to confirm",
    references=[refs.STIG_218781],
    parameters=[Parameter("patterns", BACKUP_PATTERNS, "File name globs that mark a backup copy")],
    needs=("iis", "acls"),
)
def backup_files_in_content(snap, params):
    """Checks: every file the captured ACL listings show below a content root (the capture script runs
    `icacls /T` on each root, which names every file) against `patterns`, case-insensitively. A root whose
    listing shows nothing below it (no /T listing captured) is not reviewed: the files are unknown.
    Why: STIG V-218781 requires backup interactive scripts removed from the content directories.
    Bad: `D:\\Sites\\Shop\\web.config.bak` in the listing.
    Good: a recursive listing of the root with no backup names.
    """
    roots = snap.content_roots
    patterns = params["patterns"]
    files: dict[str, int] = dict.fromkeys(roots, 0)  # root key -> files captured below it
    found: dict[str, list[dict]] = {}  # root key -> the ACL entries of backup copies, in listing order
    backup: dict[str, bool] = {}  # file name -> whether it names a backup copy (names repeat per site)
    folders = iis.content_folders(snap)  # every captured path below a root but the roots themselves
    by_path = snap.acls_by_path
    # A content root inside another one is a file of the outer one (rare: then each listed path is
    # looked up by key; else the content folders' walk, shared with the ACL rules, holds every file).
    nested = {}  # nested content root key -> the outer root's key
    for key in roots:
        parent = iis.parent_key(key)
        outer = iis.content_root_of(snap, parent) if parent else None
        if outer is not None and key in by_path:
            nested[key] = outer
    if len(by_path) == len(snap.acls) and not nested:  # the common case: no lookup by key per path
        listing = acls.content_folder_grants(snap)  # (key, root, ACL, grants, path) of each file
    else:
        if len(by_path) == len(snap.acls):  # each path listed once: the keyed listing, in listing order
            keyed = by_path.items()
        else:
            path_key = snap.path_key
            keyed = [(path_key(a["path"]), a) for a in snap.acls]  # type: ignore[assignment]
        listing = [(key, folders.get(key) or nested.get(key), acl, (), acl["path"]) for key, acl in keyed]
    for _, root, acl, _, path in listing:
        if root is None:
            continue
        files[root] += 1
        # iis.leaf, inlined for the common path (backslashes, no trailing one): 100,000 files.
        name = path[path.rfind("\\") + 1 :] if "/" not in path and path[-1:] != "\\" else iis.leaf(path)
        hit = backup.get(name)
        if hit is None:
            hit = backup[name] = names.matches_any(name, patterns) is not None
        if hit:
            found.setdefault(root, []).append(acl)
    for key, root in roots.items():
        res = root.resource
        if not files[key]:
            yield not_reviewed(
                res,
                f"No file below {root.path} was captured (no recursive ACL listing of the content root), so "
                "backup copies cannot be looked for.",
                at=root.acl,
            )
            continue
        hits = [a["path"] for a in found.get(key, ())]
        if hits:
            yield fail(
                res,
                f"{root.path} holds backup copies that IIS would serve as plain files: "
                f"{', '.join(hits[:5])}{' and more' if len(hits) > 5 else ''}; remove them from the content.",
                at=found[key][0],
                files=hits[:20],
            )
        else:
            yield passed(
                res, f"No backup copy among the {files[key]} captured file(s) below {root.path}.", at=root.acl
            )


RULES = [unapproved_ports, backup_files_in_content]


@hookimpl
def iisguard_pack_info():
    return {
        "prefixes": ["IIS-CFG-"],
        "description": "Built-in IIS-CFG-* rules: bindings and files in the content",
    }


@hookimpl
def iisguard_register_rules():
    return RULES

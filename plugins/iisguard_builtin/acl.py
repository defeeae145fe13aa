"""Built-in rule pack: IIS-ACL-* rules, NTFS permissions on what IIS serves and runs (RULES.md §3E).

Every rule here judges "nothing broader than the baseline": it fails on an allow ACE that grants
more than the baseline allows, to a principal the baseline does not name, compared by SID
(`ace.sid`, else the SID the principal's name resolves to). A more restrictive ACL (a missing
ALL APPLICATION PACKAGES ACE, an extra deny) passes. Paths go through `Snapshot.path_key`.
"""

from __future__ import annotations

from iisguard import Parameter, Reference, fail, hookimpl, not_reviewed, passed, rule

from . import _acl_helpers as ah
from . import _principal_helpers as ph

STIG_SITE = "https://github.com/mitre/microsoft-iis-10.0-site-stig-baseline/blob/HEAD/controls"
STIG_SERVER = "https://github.com/mitre/microsoft-iis-10.0-server-stig-baseline/blob/HEAD/controls"
KB981949 = Reference(
    "MS-KB981949",
    "https://learn.microsoft.com/en-us/troubleshoot/developer/webapps/iis/www-authentication-authorization/default-permissions-user-rights",
    "Default permissions and user rights for IIS",
)
MS_APID = Reference(
    "MS-APPPOOL-IDENTITIES",
    "https://learn.microsoft.com/en-us/iis/manage/configuring-security/application-pool-identities",
    "Application Pool Identities",
)
MS_IDENT = Reference(
    "MS-KB4466942",
    "https://learn.microsoft.com/en-us/troubleshoot/developer/webapps/iis/www-authentication-authorization/understanding-identities",
    "Understanding identities in IIS",
)
CIS_48 = Reference(
    "CIS-IIS10-4.8",
    "https://www.tenable.com/audits/CIS_Microsoft_IIS_10_v1.2.1_Level_1",
    "Ensure 'handler' is not granted 'Write' and 'Script/Execute'",
)


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
    references=[
        Reference(
            "STIG-V-218780", f"{STIG_SITE}/SV-218780.rb", "IIS 10.0 site: script/executable files and folders"
        ),
        Reference("STIG-V-218802", f"{STIG_SERVER}/SV-218802.rb", "IIS 10.0 server: non-privileged accounts"),
        CIS_48,
        KB981949,
    ],
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
    """Content roots writable by broad principals.

    Checks: for every physical path of every site, application and virtual directory (deduplicated
    by normalised path), the allow ACEs of its captured ACL; fails when one grants a write-class
    right (F, M, W, D, DE, WD, AD, DC, WDAC, WO, GA, GW) to Everyone, Users, Authenticated Users,
    Guests, Anonymous Logon or Domain Users/Computers/Guests (by SID), including inherit-only ACEs,
    which reach every file below. A content root with no captured ACL is not_reviewed.
    Why: any local or domain user (or anyone, for Everyone/Anonymous) can plant a web shell that IIS
    then executes as the pool identity (STIG V-218780).
    Bad: `C:\\sites\\shop Everyone:(OI)(CI)(M)`, or `BUILTIN\\Users:(I)(CI)(AD)` inherited from `C:\\`.
    Good: `C:\\inetpub\\wwwroot` with SYSTEM/Administrators/TrustedInstaller F, Users RX, IIS_IUSRS RX.
    Remediation: `icacls <root> /remove:g Everyone BUILTIN\\Users`, grant read to the pool identity.
    References: STIG V-218780, V-218802; CIS IIS 10 4.8; KB981949.
    """
    extra = ah.keys_of(snap, params["extra_broad_principals"])
    for root in ah.content_roots(snap).values():
        if root.acl is None:
            yield not_reviewed(
                root.resource,
                f"No ACL was captured for content folder '{root.path}' (used by {', '.join(root.uses[:3])}); "
                f'capture it with: icacls "{root.path}"',
            )
            continue
        bad = [
            ace
            for ace in ah.allow_aces(root.acl)
            if ah.is_write_class(ace.get("rights") or [])
            and (ph.is_broad(snap, ah.ace_key(snap, ace)) or ah.ace_key(snap, ace) in extra)
        ]
        if bad:
            aces = ", ".join(ah.ace_text(a) for a in bad)
            yield fail(
                root.resource,
                f"Content folder '{root.acl['path']}' (served by {', '.join(root.uses[:3])}) is writable by broad "
                f"principals: {aces}. Any user in those groups can drop a web shell that IIS executes; remove "
                "these grants (icacls /remove:g) and grant the pool identity read only.",
                at=bad[0],
            )
        else:
            yield passed(root.resource, f"No broad principal can write to '{root.acl['path']}'", at=root.acl)


RULES = [content_writable_by_broad]


@hookimpl
def iisguard_pack_info():
    return {"prefixes": ["IIS-ACL-"], "description": "Built-in IIS-ACL-* rules: NTFS permissions"}


@hookimpl
def iisguard_register_rules():
    return RULES

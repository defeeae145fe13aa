"""Built-in rule pack: IIS-SCRIPT-* rules, what only a build script shows (declared snapshots, #16).

A declared snapshot (``collection.source: declared``, read from PowerShell, batch, DSC or Ansible) is
judged by every pack: a pool set to LocalSystem fails IIS-POOL-001, an Everyone:(M) grant on a site's
folder IIS-ACL-003, as on a captured server. These rules cover what no server snapshot shows: a
password written in the script itself, and grants and delegation the server rules do not judge
because the scripts do not tie them to IIS. On a captured server they have nothing to check.
"""

from __future__ import annotations

from iisguard import accounts, acls, fail, hookimpl, passed, rights, rule, sids
from iisguard import references as refs

_VAULT = (
    "Read it at run time instead: a gMSA needs no password at all (identityType SpecificUser with "
    "userName 'CORP\\gmsa_web$' and an empty password), ApplicationPoolIdentity needs none, and any other "
    "secret comes from a vault (Get-Secret from Microsoft.PowerShell.SecretManagement, Azure Key Vault, "
    "an Ansible Vault variable, a DSC credential from a protected MOF)."
)


def _where(entry) -> str:
    ev = entry.get("evidence") or {}
    line = ev.get("line")
    return f"{ev.get('artifact')}:{line}" if line else str(ev.get("artifact"))


@rule(
    id="IIS-SCRIPT-001",
    name="script.cleartext_password",
    title="Build script holds a password in clear text",
    severity="high",
    category="script",
    description="A build script writes a password literally: ConvertTo-SecureString 'x' -AsPlainText, "
    "-Password / -AccountPassword with a literal, a processModel hashtable with password=..., "
    "appcmd /processModel.password:... or anonymousAuthentication /password:..., net user NAME PASSWORD.",
    rationale="Everyone who can read the repository, its history, its forks, build logs and the image "
    "itself has the password, and it cannot be rotated without a commit; the account it opens usually "
    "runs a web application.",
    remediation="Use a group managed service account (no password):\n"
    "Set-ItemProperty IIS:\\AppPools\\<name> -Name processModel -Value @{identityType=3; userName='CORP\\gmsa_web$'}\n"
    "or ApplicationPoolIdentity:\n"
    "Set-ItemProperty IIS:\\AppPools\\<name> -Name processModel.identityType -Value ApplicationPoolIdentity\n"
    "or read the secret at run time: $cred = Get-Secret -Name iis-svc-web (Microsoft.PowerShell.SecretManagement); "
    "then rotate the password that was committed.",
    references=[refs.MS_CONVERTTO_SECURESTRING, refs.MS_SECRET_MANAGEMENT, refs.MS_GMSA],
)
def cleartext_password(snap, params):
    """Checks: every secret a build script writes in clear (`declared.secrets` of a declared snapshot),
    one finding at the script line that holds it. The finding names the file, the line and what the
    password is for; the password itself is never read into the snapshot.
    Why: a password in a repository is disclosed to everyone who can read it, forever (history, forks,
    CI logs), and the image built from the script carries it too.
    Bad: `$pw = ConvertTo-SecureString 'Summer2026!' -AsPlainText -Force`;
    `appcmd set apppool Web /processModel.password:Summer2026!`.
    Good: a gMSA (`userName='CORP\\gmsa_web$'`, no password), ApplicationPoolIdentity, or
    `$cred = Get-Secret -Name iis-svc-web` at run time.
    """
    if not snap.declared:
        return
    secrets = (snap.data.get("declared") or {}).get("secrets") or []
    for entry in secrets:
        yield fail(
            f"scripts/{_where(entry)}",
            f"{_where(entry)} holds the {entry.get('context')} in clear text: anyone who can read the "
            f"repository, its history or the image has it. {_VAULT} Then rotate the committed password.",
            at=entry,
            evidence_holds_secret=True,  # reports must not quote the line (it is the secret)
        )
    if not secrets:
        yield passed("host", "No build script writes a password in clear text.")


def _under(key: str, roots: set[str]) -> bool:
    return any(key == r or key.startswith(r.rstrip("\\") + "\\") for r in roots)


@rule(
    id="IIS-SCRIPT-002",
    name="script.broad_write_grant",
    title="Build script grants broad write access outside the content roots it declares",
    severity="high",
    category="script",
    description="A build script grants a write-class right (F, M, W, D, WD, AD, ...) to Everyone, Users, "
    "Authenticated Users, Guests, Anonymous Logon, Domain Users or IIS_IUSRS on a folder the scripts do "
    "not declare as a site's content (the IIS-ACL-* rules judge the content roots they declare).",
    rationale="A folder every user (or every application pool, through IIS_IUSRS) can write is where a "
    "web shell, a replaced DLL or a planted script lands; on a web server such folders are usually "
    "content, tools or logs that a site reaches.",
    remediation="Grant the one identity that needs to write, for example the pool's virtual account:\n"
    'icacls "D:\\sites\\shop\\App_Data" /grant "IIS APPPOOL\\Shop:(OI)(CI)M"\n'
    'and read-only to the others: icacls <path> /grant "IIS_IUSRS:(OI)(CI)RX"',
    references=[refs.KB981949, refs.MS_APID],
)
def broad_write_grant(snap, params):
    """Checks: every ACE a build script grants (the ACLs of a declared snapshot hold only those) on a path
    that is neither a content root the scripts declare (a site's, application's or virtual directory's
    physical path) nor below one; fails when it gives a write-class right to a broad principal or to
    IIS_IUSRS. Grants on declared content roots are IIS-ACL-003, IIS-ACL-004 and IIS-ACL-006's.
    Why: Everyone/Users/IIS_IUSRS write access lets any user or any site's code plant files that a site
    or an administrator later runs.
    Bad: `icacls D:\\uploads /grant "Everyone:(OI)(CI)M"`; `icacls D:\\tools /grant IIS_IUSRS:(OI)(CI)F`.
    Good: `icacls D:\\uploads /grant "IIS APPPOOL\\Shop:(OI)(CI)M"`.
    """
    if not snap.declared:
        return
    roots = {root.key for root in snap.content_roots.values()}
    for acl in snap.acls:
        key = snap.path_key(acl.get("path") or "")
        if _under(key, roots):
            continue
        bad = [
            ace
            for ace in acls.allow_aces(acl)
            if rights.is_write_class(ace.get("rights") or [])
            and (accounts.is_broad(acls.ace_key(snap, ace)) or acls.ace_key(snap, ace) == sids.IIS_IUSRS)
        ]
        resource = f"acls/{acl.get('path')}"
        if bad:
            yield fail(
                resource,
                f"{_where(bad[0])} grants {', '.join(acls.ace_text(a) for a in bad)} on '{acl.get('path')}': "
                "every user (or every application pool, for IIS_IUSRS) can write there; grant the one "
                "identity that needs to write (IIS APPPOOL\\<pool>) and read-only to the rest.",
                at=bad[0],
            )
        else:
            yield passed(resource, f"The scripts grant no broad write access on '{acl.get('path')}'.", at=acl)


@rule(
    id="IIS-SCRIPT-003",
    name="script.unconstrained_delegation",
    title="Build script trusts an account for unconstrained delegation",
    severity="high",
    category="script",
    description="A build script sets TRUSTED_FOR_DELEGATION (Set-ADAccountControl -TrustedForDelegation "
    "$true, Set-ADComputer/Set-ADUser -TrustedForDelegation $true) on an account the scripts do not run "
    "IIS as (IIS-KRB-007 judges the IIS identities).",
    rationale="Every user who authenticates to a service of that account leaves a reusable TGT on it; "
    "coercing a domain controller to authenticate there gives its TGT, and with it the domain.",
    remediation="Set-ADAccountControl -Identity <account> -TrustedForDelegation $false\n"
    "and, if the application needs to reach a back end as the user, constrained delegation to that one "
    "service: Set-ADUser <account> -Add @{'msDS-AllowedToDelegateTo'='HTTP/backend.corp.example'}",
    references=[refs.MS_SET_AD_ACCOUNT_CONTROL, refs.MS_KCD],
)
def unconstrained_delegation(snap, params):
    """Checks: every account a declared snapshot's scripts mark trusted for unconstrained delegation that is
    not an identity IIS runs as (pool, anonymous, connect-as accounts: those are IIS-KRB-007's).
    Why: unconstrained delegation caches the TGT of every user (and every coerced domain controller)
    that authenticates to the account's services.
    Bad: `Set-ADAccountControl -Identity svc_batch -TrustedForDelegation $true`.
    Good: no TrustedForDelegation; `msDS-AllowedToDelegateTo` naming one back-end service if needed.
    """
    if not snap.declared:
        return
    iis_keys = set(snap.iis_principals)
    for p in snap.data.get("principals") or []:
        delegation = p.get("delegation") or {}
        if delegation.get("unconstrained") is None:
            continue
        if snap.accounts.key(p.get("sid") or p.get("name")) in iis_keys:
            continue
        resource = f"principals/{p.get('name')}"
        if delegation.get("unconstrained"):
            yield fail(
                resource,
                f"{_where(p)} trusts {p.get('name')} for unconstrained delegation: every user authenticating "
                "to its services leaves a reusable TGT there; clear it (-TrustedForDelegation $false) and use "
                "constrained delegation to the one service that needs it.",
                at=p,
            )
        else:
            yield passed(
                resource, f"The scripts do not trust {p.get('name')} for unconstrained delegation.", at=p
            )


RULES: list = [cleartext_password, broad_write_grant, unconstrained_delegation]


@hookimpl
def iisguard_pack_info():
    return {"prefixes": ["IIS-SCRIPT-"], "description": "Built-in IIS-SCRIPT-* rules (build scripts, #16)"}


@hookimpl
def iisguard_register_rules():
    return RULES

"""Built-in rule pack: IIS-PRIV-* rules, user rights and worker-token privileges (RULES.md §3D and §4).

User rights come from `user_rights` (right -> holders as SIDs or names, e.g. a secedit export);
holders are compared by principal key, so `*S-1-5-32-568`, `BUILTIN\\IIS_IUSRS` and `IIS_IUSRS`
are the same holder. Runtime tokens come from `tokens[]` (what `whoami /all` showed in a worker).
"""

from __future__ import annotations

from iisguard import Parameter, Reference, fail, hookimpl, passed, rule

from . import _principal_helpers as ph

KB981949 = Reference(
    "MS-KB981949",
    "https://learn.microsoft.com/en-us/troubleshoot/developer/webapps/iis/www-authentication-authorization/default-permissions-user-rights",
    "Default permissions and user rights for IIS",
)
PC_RULES = "https://github.com/netwrix/pingcastle/tree/master/PingCastleCommon/Healthcheck/Rules"
PC_PRIVILEGE_EVERYONE = Reference(
    "PingCastle-P-PrivilegeEveryone", PC_RULES, "Dangerous privileges granted to everyone"
)
MS_BPA = Reference(
    "MS-BPA-dd378907",
    "https://technet.microsoft.com/en-us/library/dd378907.aspx",
    "IIS: Application pools should be set to run as application pool identities",
)
MS_USER_RIGHTS = Reference(
    "MS-USER-RIGHTS",
    "https://learn.microsoft.com/en-us/windows/security/threat-protection/security-policy-settings/user-rights-assignment",
    "User Rights Assignment",
)
REMOVE_RIGHT = (
    "Remove the right from the principal in the Group Policy or local policy that grants it "
    "(secpol.msc > Local Policies > User Rights Assignment), for example:\n"
    "secedit /export /cfg C:\\temp\\rights.inf /areas USER_RIGHTS   # delete the SID from the right's line\n"
    "secedit /configure /db C:\\temp\\rights.sdb /cfg C:\\temp\\rights.inf /areas USER_RIGHTS\n"
    'ntrights -u "BUILTIN\\IIS_IUSRS" -r SeDebugPrivilege           # Windows Resource Kit alternative\n'
    "gpresult /h gp.html                                            # find the GPO if it comes back"
)


@rule(
    id="IIS-PRIV-002",
    name="priv.dangerous_to_iis_principal",
    title="Dangerous privilege granted to an IIS principal",
    severity="critical",
    category="privileges",
    description=(
        "Fails when a privilege an attacker turns into SYSTEM (SeDebug, SeTcb, SeBackup, SeRestore, "
        "SeTakeOwnership, SeLoadDriver, SeCreateToken, SeManageVolume, SeSecurity, SeEnableDelegation, "
        "SeRelabel, SeTrustedCredManAccess) is granted to a principal IIS code runs as: a pool identity, "
        "IIS_IUSRS, IUSR, a custom anonymous, connect-as or impersonation user, or any IIS APPPOOL account, "
        "directly or through a group it belongs to."
    ),
    rationale=(
        "Code running in a worker process holds every privilege its identity is granted. None of these "
        "privileges is held by IIS workers on a default install; any one of them turns a web shell or an "
        "application bug into control of the whole server."
    ),
    remediation=REMOVE_RIGHT,
    references=[PC_PRIVILEGE_EVERYONE, MS_BPA, KB981949, MS_USER_RIGHTS],
    parameters=[
        Parameter("privileges", list(ph.DANGEROUS_PRIVILEGES), "Privileges no IIS principal may hold"),
        Parameter(
            "ignore_principals",
            [],
            "IIS principals (SIDs or names) exempt from this rule, e.g. a documented vendor pool",
        ),
    ],
    needs=("user_rights",),
)
def dangerous_to_iis_principal(snap, params):
    """Dangerous privilege granted to an IIS principal.

    Checks: every holder of each privilege in `privileges` (user_rights, by SID or name); fails when
    the holder is an IIS principal (pool identities except LocalSystem, IIS_IUSRS, IUSR, custom
    anonymous / connect-as / impersonation users, any S-1-5-82-* account) or a group one of them is
    a member of (transitively). Passes each IIS principal that holds none of them.
    Why: a worker holds every privilege of its identity, and IIS_IUSRS is in every worker's token.
    SeDebugPrivilege opens LSASS, SeBackup/SeRestore bypass every ACL, SeTcb and SeCreateToken forge
    SYSTEM tokens (RULES.md §4). None of these is an IIS default.
    Bad: `SeDebugPrivilege = *S-1-5-32-544,*S-1-5-32-568` (IIS_IUSRS can debug any process).
    Good: `SeDebugPrivilege = *S-1-5-32-544` (Administrators only).
    Remediation: remove the SID from the right in the GPO or local policy that grants it
    (secpol.msc, `secedit /configure ... /areas USER_RIGHTS`, or `ntrights -u <principal> -r <right>`).
    References: PingCastle P-PrivilegeEveryone; MS BPA dd378907; KB981949 (default IIS user rights).
    """
    people = ph.iis_principals(snap)
    ignored = ph.keys_of(snap, params["ignore_principals"])
    reach = ph.reach_index(snap, [p for k, p in people.items() if k not in ignored])
    hit: set[str] = set()
    for right, shown, key in ph.iter_rights(snap, params["privileges"]):
        reached = reach.get(key)
        if not reached:
            extra = ph.apppool_principal(key, shown)
            reached = [(extra, None)] if extra and key not in ignored else []
        if not reached:
            continue
        holder = ph.display(snap, shown)
        why = ph.DANGEROUS_PRIVILEGES.get(right, "is an administrator-equivalent privilege")
        direct = [p for p, via in reached if via is None]
        through = [p for p, via in reached if via is not None]
        who = "; ".join(p.role for p in (direct or through)[:3])
        how = "is granted" if direct else "is granted to a group that contains it"
        hit.update(p.key for p, _ in reached)
        yield fail(
            f"user_rights/{right}/{shown}",
            f"{right} {how}: {holder} ({who}). A process with this privilege {why}, so a compromised web "
            f"application takes over the server. Remove {holder} from {right} in the policy that grants it.",
        )
    for key, person in people.items():
        if key not in hit and key not in ignored:
            yield passed(f"principals/{person.name}", f"{person.name} holds none of the dangerous privileges")


RULES = [dangerous_to_iis_principal]


@hookimpl
def iisguard_pack_info():
    return {
        "prefixes": ["IIS-PRIV-"],
        "description": "Built-in IIS-PRIV-* rules: user rights and worker tokens",
    }


@hookimpl
def iisguard_register_rules():
    return RULES

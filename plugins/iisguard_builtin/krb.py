"""Built-in rule pack: IIS-KRB-* rules, Kerberos, SPNs and delegation (RULES.md §3G).

Every rule that needs Active Directory data says `not_reviewed` when the snapshot has none for an
account (`ad.collected` false, or `principals[].ad_collected` not true); none passes by default.
IIS-KRB-011, -012 and -013 are not implemented yet; IIS-KRB-017 is the next id after them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from iisguard import (
    Account,
    Directory,
    Parameter,
    Result,
    accounts,
    fail,
    hookimpl,
    iis,
    kerberos,
    names,
    not_applicable,
    not_reviewed,
    passed,
    rule,
    uac,
)
from iisguard import references as refs

SPN_PARAMS = [
    Parameter(
        "ignore_hosts",
        [],
        "Host names (globs) whose sites deliberately use NTLM only, so no HTTP SPN is expected",
    )
]


def _no_ad(snap: Any) -> str | None:
    """Why AD facts cannot be judged on this host at all, or None."""
    if not kerberos.ad_collected(snap):
        return "Active Directory data was not collected for this host (ad.collected is not true)"
    return None


def _ad_identities(
    snap: Any, *, computer: bool, users: bool = True
) -> Iterator[tuple[kerberos.IisIdentity, str | None]]:
    """IIS identities with the reason their AD facts are missing (None when they are there).

    Nothing on a host that is not joined to a domain (the engine then reports it not applicable).
    """
    if kerberos.domain_joined(snap) is False:
        return
    whole = _no_ad(snap)
    for ident in snap.kerberos.identities(computer=computer, users=users):
        if whole:
            yield ident, whole
        elif ident.account is None or not ident.account.ad:
            yield ident, f"no AD attributes were collected for {ident.name}"
        else:
            yield ident, None


def _admin_groups(params: Mapping[str, Any]) -> tuple[accounts.PrivilegedGroup, ...]:
    """The administrator groups of the one privileged-group table, plus `extra_privileged_groups`."""
    extra = params.get("extra_privileged_groups") or []
    return accounts.privileged_groups(admin=True) + accounts.privileged_groups(extra)


def _nr(ident: kerberos.IisIdentity, why: str, rule_id: str) -> Result:
    return not_reviewed(
        ident.resource, f"{rule_id} cannot judge {ident.name} ({ident.uses()}): {why}", at=ident.at
    )


def _not_in_capture(attributes: list[str]) -> str:
    """The not_reviewed reason for AD attributes a pasted record did not carry (absent is not empty)."""
    return (
        f"{' and '.join(attributes)} {'is' if len(attributes) == 1 else 'are'} not in the captured AD output"
    )


def _spn_resource(name: str) -> str:
    return f"spns/HTTP/{name}"


def _names_in_scope(snap: Any, params: Mapping[str, Any]) -> Iterator[kerberos.NameUse]:
    for use in snap.kerberos.negotiate_names:
        if not names.matches_any(use.name, params.get("ignore_hosts") or []):
            yield use


def _kerberos_host(snap: Any) -> str | None:
    """Why SPN rules do not apply to this host (not in a domain), or None."""
    if kerberos.domain_joined(snap) is False:
        return "the host is not joined to a domain, so Kerberos is not used"
    return None


# --- IIS-KRB-001 --------------------------------------------------------------------------------------


@rule(
    id="IIS-KRB-001",
    name="krb.http_spn_missing",
    title="Negotiate enabled but no HTTP SPN for a bound host name",
    severity="medium",
    category="krb",
    description=(
        "For every host name a site with Windows authentication (Negotiate) is reached by, an HTTP/<name> "
        "SPN (or HOST/<name>, which the KDC's sPNMappings accept for HTTP) must exist on some account."
    ),
    rationale=(
        "Without an SPN the client cannot get a Kerberos ticket and Negotiate silently falls back to NTLM, "
        "which can be relayed and gives no delegation."
    ),
    remediation=(
        "setspn -S HTTP/<host name> <DOMAIN\\decrypting account>   (the computer account HOST$ with kernel-mode "
        "defaults, the pool account with useAppPoolCredentials=true)\n"
        "setspn -Q HTTP/<host name>   (verify)"
    ),
    references=[refs.MS_SPN6, refs.MS_IDENT, refs.STIG_218748],
    parameters=SPN_PARAMS,
    needs=("iis",),
)
def http_spn_missing(snap, params):
    """Checks: every host name of a site where some location enables Windows authentication with the
    Negotiate provider (host headers of HTTP/HTTPS bindings; the host's FQDN and short name for
    bindings without one) resolves to an account: HTTP/<name>, or HOST/<name> when no HTTP SPN exists
    (the default sPNMappings alias). Absence is judged only from a `setspn -Q HTTP/<name>` answer;
    without one the name is not_reviewed.
    Why: with no SPN the browser gets no ticket, Negotiate falls back to NTLM (relayable, no
    delegation), and nobody notices because the site still works.
    Bad: site Intranet bound to hr.corp.example.com with Windows auth; `setspn -Q HTTP/hr.corp.example.com`
    answers "No such SPN found."
    Good: `setspn -Q HTTP/hr.corp.example.com` lists CORP\\svc_web (the pool account, with
    useAppPoolCredentials=true); or the site is bound to the host's own name, covered by HOST/<name>.
    """
    why_not = _kerberos_host(snap)
    if why_not:
        yield not_applicable("host", why_not)
        return
    index = snap.kerberos.spn_index
    for use in _names_in_scope(snap, params):
        res = _spn_resource(use.name)
        found = index.lookup(use.name)
        sites = ", ".join(f"'{s}'" for s in use.sites)
        if not found.known:
            yield not_reviewed(
                res, f"Cannot tell whether HTTP/{use.name} (site {sites}) has an SPN: {found.why}", at=use.at
            )
        elif found.spn:
            holders = ", ".join(sorted(index.display(r) for r in found.holders.values()))
            yield passed(res, f"{found.spn} is registered (on {holders}) for site {sites}", at=use.at)
        else:
            yield fail(
                res,
                f"Site {sites} accepts Kerberos (Negotiate) for {use.name}, but no account holds HTTP/{use.name} "
                f"(or HOST/{use.name}), so browsers fall back to NTLM; register it on the decrypting identity "
                f"with setspn -S HTTP/{use.name} <account>",
                at=use.at,
            )


# --- IIS-KRB-002 --------------------------------------------------------------------------------------


@rule(
    id="IIS-KRB-002",
    name="krb.http_spn_wrong_account",
    title="HTTP SPN registered on the wrong account",
    severity="medium",
    category="krb",
    description=(
        "The account that holds HTTP/<name> must be the one that decrypts tickets: the computer account under "
        "kernel-mode authentication without useAppPoolCredentials (the defaults), else the pool identity."
    ),
    rationale=(
        "A ticket encrypted for another account's key cannot be decrypted: Kerberos fails "
        "(KRB_AP_ERR_MODIFIED) and clients fall back to NTLM or see authentication prompts."
    ),
    remediation=(
        "setspn -D HTTP/<host name> <DOMAIN\\wrong account>\n"
        "setspn -S HTTP/<host name> <DOMAIN\\decrypting account>\n"
        "or, for a farm name shared by several servers, set useAppPoolCredentials=true and run the pool as the "
        "shared account (gMSA): Set-WebConfigurationProperty -PSPath IIS:\\ -Location '<site>' "
        "-Filter system.webServer/security/authentication/windowsAuthentication -Name useAppPoolCredentials "
        "-Value $true"
    ),
    references=[refs.MS_WINAUTH, refs.MS_SPN6, refs.MS_APID],
    parameters=SPN_PARAMS,
    needs=("iis",),
)
def http_spn_wrong_account(snap, params):
    """Checks: for every Negotiate host name (as in IIS-KRB-001), the account the KDC picks for HTTP/<name>
    (the HTTP SPN's holder, else HOST/<name>'s) is the decrypting identity of every location serving it:
    HOST$ when useKernelMode is true (default) and useAppPoolCredentials false (default); otherwise the
    pool identity (which is HOST$ again for ApplicationPoolIdentity / NetworkService / LocalSystem).
    A missing SPN is IIS-KRB-001's finding, a duplicate IIS-KRB-003's.
    Why: the KDC encrypts the ticket with the SPN holder's key; if another account decrypts, Kerberos
    fails and clients fall back to NTLM.
    Bad: HTTP/reports.corp.example.com is on CORP\\svc_webfarm, but the site uses kernel-mode defaults
    with pool ReportsPool (ApplicationPoolIdentity), so FARM-WEB01$ decrypts.
    Good: the SPN is on CORP\\svc_webfarm and the site sets useAppPoolCredentials=true with the pool
    running as CORP\\svc_webfarm.
    """
    why_not = _kerberos_host(snap)
    if why_not:
        yield not_applicable("host", why_not)
        return
    index = snap.kerberos.spn_index
    for use in _names_in_scope(snap, params):
        res = _spn_resource(use.name)
        found = index.lookup(use.name)
        if not found.known:
            yield not_reviewed(res, f"Cannot tell who holds HTTP/{use.name}: {found.why}", at=use.at)
            continue
        if not found.spn:
            yield not_applicable(res, f"no SPN for {use.name} exists (IIS-KRB-001)", at=use.at)
            continue
        holders = list(found.holders.values())
        shown = ", ".join(sorted(index.display(r) for r in holders))
        problems: list[str] = []
        unknown: list[str] = []
        for wl, dec in use.uses:
            where = wl.loc.path
            if dec is None:
                unknown.append(f"'{where}' (its application pool is not in the snapshot)")
                continue
            if not dec.usable:
                problems.append(f"'{where}': {dec.why}")
                continue
            verdicts = [snap.kerberos.same(r, dec) for r in holders]
            if any(v is True for v in verdicts):
                continue
            if any(v is None for v in verdicts):
                unknown.append(f"'{where}' (cannot tell whether {shown} is {dec.name})")
                continue
            problems.append(f"'{where}' needs it on {dec.name} ({dec.why})")
        if problems:
            yield fail(
                res,
                f"{found.spn} is registered on {shown}, but "
                + "; ".join(dict.fromkeys(problems))
                + f". Tickets for {use.name} cannot be decrypted and Kerberos falls back to NTLM; move the SPN "
                f"(setspn -D {found.spn} <wrong account>, setspn -S HTTP/{use.name} <decrypting account>) or "
                "change useAppPoolCredentials / the pool identity",
                at=use.at,
            )
        elif unknown:
            yield not_reviewed(
                res, f"{found.spn} is on {shown}; cannot judge " + "; ".join(unknown), at=use.at
            )
        else:
            yield passed(
                res, f"{found.spn} is on {shown}, the account that decrypts tickets for it", at=use.at
            )


# --- IIS-KRB-003 --------------------------------------------------------------------------------------


@rule(
    id="IIS-KRB-003",
    name="krb.http_spn_duplicate",
    title="Duplicate HTTP SPN",
    severity="high",
    category="krb",
    description=(
        "An HTTP SPN for a host name this server serves, or held by one of its IIS identities, is registered "
        "on two or more accounts (what `setspn -X` reports)."
    ),
    rationale=(
        "With a duplicate SPN the KDC cannot pick one key: ticket requests fail (KDC_ERR_S_PRINCIPAL_UNKNOWN "
        "or KRB_AP_ERR_MODIFIED) and Kerberos authentication to the site breaks or falls back to NTLM."
    ),
    remediation=(
        "setspn -Q HTTP/<host name>   (list every holder)\n"
        "setspn -D HTTP/<host name> <DOMAIN\\account that must not hold it>\n"
        "setspn -X   (verify no duplicates remain)"
    ),
    references=[refs.MS_DUPSPN, refs.MS_SPN6],
    parameters=SPN_PARAMS,
    needs=("iis",),
)
def http_spn_duplicate(snap, params):
    """Checks: HTTP/<name> for every Negotiate host name of this server (as in IIS-KRB-001), and every
    HTTP/* SPN that `setspn -X` lists with one of this server's IIS identities among its holders, is held
    by at most one account, counting every source: collected accounts' SPN lists, `setspn -Q` answers and
    `setspn -X` duplicate groups. A single holder passes only when a `setspn -Q` answer (which lists every
    holder) or a completed `setspn -X` run says so; otherwise not_reviewed.
    Why: the KDC refuses or mis-encrypts tickets for a duplicated SPN; Kerberos breaks for the site.
    Bad: HTTP/www.corp.example.com on both CORP\\svc_webfarm and FARM-WEB02$.
    Good: HTTP/www.corp.example.com only on CORP\\svc_webfarm, and `setspn -X` reports 0 groups.
    """
    why_not = _kerberos_host(snap)
    if why_not:
        yield not_applicable("host", why_not)
        return
    index = snap.kerberos.spn_index
    names = {use.name: use for use in _names_in_scope(snap, params)}
    spns: dict[str, Mapping[str, Any] | None] = {f"http/{n}": use.at for n, use in names.items()}
    ours = {id(i.account) for i in snap.kerberos.identities(computer=True) if i.account is not None}
    for spn, entry in index.duplicate_entries.items():
        if spn.startswith("http/") and any(
            id(index.d.find(str(r))) in ours for r in entry.get("accounts") or []
        ):
            spns.setdefault(spn, entry)
    for spn, at in spns.items():
        name = spn.split("/", 1)[1]
        res = _spn_resource(name)
        holders = index.holders.get(spn) or {}
        shown = ", ".join(sorted(index.display(r) for r in holders.values()))
        if len(holders) >= 2:
            yield fail(
                res,
                f"HTTP/{name} is registered on {len(holders)} accounts ({shown}); the KDC cannot issue a usable "
                f"ticket, so Kerberos to {name} fails or falls back to NTLM. Keep it only on the decrypting "
                f"identity: setspn -D HTTP/{name} <other account>",
                at=at,
            )
        elif spn in index.queried or index.duplicates_checked:
            how = "setspn -Q lists" if spn in index.queried else "setspn -X found no duplicate;"
            yield passed(res, f"{how} {'only ' + shown if shown else 'no holder'} for HTTP/{name}", at=at)
        else:
            yield not_reviewed(
                res,
                f"neither `setspn -Q HTTP/{name}` nor `setspn -X` was captured, so other holders are unknown",
                at=at,
            )


# --- IIS-KRB-004 --------------------------------------------------------------------------------------


@rule(
    id="IIS-KRB-004",
    name="krb.kernel_mode_inconsistent",
    title="Inconsistent kernel-mode authentication settings",
    severity="low",
    category="krb",
    description=(
        "useAppPoolCredentials=true on a location whose pool does not run as a custom account (no effect), "
        "or useKernelMode=false with a custom pool identity (Microsoft recommends kernel mode)."
    ),
    rationale=(
        "These combinations do not do what the administrator meant: the SPN ends up on the wrong account, or "
        "authentication leaves the kernel-mode path Microsoft recommends for custom identities."
    ),
    remediation=(
        "Set-WebConfigurationProperty -PSPath IIS:\\ -Location '<site>' "
        "-Filter system.webServer/security/authentication/windowsAuthentication -Name useKernelMode -Value $true\n"
        "appcmd set config '<site>' -section:system.webServer/security/authentication/windowsAuthentication "
        "/useAppPoolCredentials:true /commit:apphost   (with a custom pool identity)"
    ),
    references=[refs.MS_WINAUTH, refs.MS_APID],
    needs=("iis",),
)
def kernel_mode_inconsistent(snap, params):
    """Checks: at every site and application with Windows authentication enabled, (a) useAppPoolCredentials
    is true while the pool runs as ApplicationPoolIdentity, NetworkService, LocalSystem or LocalService
    (they already act as the computer account, so the setting changes nothing), or (b) useKernelMode is
    false while the pool runs as a custom account (SpecificUser).
    Why: (a) usually means someone expected tickets to be decrypted by another account, and put the SPN
    there; (b) leaves kernel mode, which Microsoft recommends keeping (with useAppPoolCredentials=true) for
    custom identities.
    Bad: useAppPoolCredentials="true" with pool Reports running as ApplicationPoolIdentity.
    Good: useKernelMode="true" useAppPoolCredentials="true" with pool WebFarm running as CORP\\gmsa_web$.
    """
    for wl in kerberos.windows_locations(snap):
        res = f"locations/{wl.loc.path}"
        view = snap.pools.get(wl.loc.pool_name)
        if view is not None and view.legacy:
            yield not_applicable(
                res,
                f"'{wl.loc.path}' is an IIS 6 site: kernel-mode authentication came with IIS 7",
                at=wl.windows,
            )
            continue
        pool = snap.pool(wl.loc.pool_name)
        if pool is None:
            yield not_reviewed(
                res, f"'{wl.loc.path}' uses pool '{wl.loc.pool_name}', which is not in the snapshot"
            )
            continue
        kind = (pool.get("identity") or {}).get("type") or "ApplicationPoolIdentity"
        if kerberos.app_pool_credentials(wl.windows) and kind != "SpecificUser":
            yield fail(
                res,
                f"'{wl.loc.path}' sets useAppPoolCredentials=true, but pool '{pool['name']}' runs as {kind}, which is "
                "the computer account on the network: the setting has no effect and an SPN placed on another "
                "account will not work; remove it, or run the pool as the account that holds the SPN",
                at=wl.windows,
            )
        elif not kerberos.kernel_mode(wl.windows) and kind == "SpecificUser":
            yield fail(
                res,
                f"'{wl.loc.path}' sets useKernelMode=false with pool '{pool['name']}' running as "
                f"{(pool.get('identity') or {}).get('user')}; Microsoft recommends kernel-mode authentication with "
                "useAppPoolCredentials=true for custom identities",
                at=wl.windows,
            )
        else:
            yield passed(
                res,
                f"'{wl.loc.path}': kernel-mode settings match pool '{pool['name']}' ({kind})",
                at=wl.windows,
            )


# --- IIS-KRB-005 --------------------------------------------------------------------------------------


@rule(
    id="IIS-KRB-005",
    name="krb.identity_privileged_in_ad",
    title="IIS identity is privileged in Active Directory",
    severity="critical",
    category="krb",
    description=(
        "A domain account IIS runs as (pool, anonymous or connect-as identity) has adminCount=1 or is, directly "
        "or through nested groups, in Domain/Enterprise/Schema Admins, Administrators, Account/Server/Backup/"
        "Print Operators or DnsAdmins."
    ),
    rationale=(
        "Code running in the web application acts with that account's rights on the network: owning the site "
        "means owning the domain. Its password also sits (encrypted) in applicationHost.config."
    ),
    remediation=(
        "Remove-ADGroupMember -Identity 'Domain Admins' -Members <account>\n"
        "Better: run the pool as a dedicated gMSA with no group memberships: New-ADServiceAccount, "
        "Install-ADServiceAccount, then appcmd set apppool <pool> /processModel.identityType:SpecificUser "
        "/processModel.userName:<DOMAIN>\\<gmsa>$"
    ),
    references=[refs.PC_SERVICE_DOMAIN_ADMIN, refs.PC_KERBEROASTING, refs.BH_ADMIN_COUNT, refs.MS_GMSA],
    parameters=[Parameter("extra_privileged_groups", [], "More group names (bare or CN) to treat as Tier 0")],
    needs=("iis",),
)
def identity_privileged_in_ad(snap, params):
    """Checks: every domain account the IIS configuration uses (pool SpecificUser, custom anonymous user,
    connect-as user) with AD data: adminCount=1, or membership (direct, or through nested groups the
    snapshot describes) in Domain Admins, Enterprise Admins, Schema Admins, Administrators, Account,
    Server, Backup or Print Operators, DnsAdmins, or a group named in `extra_privileged_groups`. Groups
    are matched by SID (well-known and domain RIDs 512/518/519) or by name / DN.
    Why: any code execution in the site runs with domain-admin-equivalent rights on the network.
    Bad: pool WebFarm runs as CORP\\svc_web, a member of Domain Admins.
    Good: pool WebFarm runs as CORP\\gmsa_web$, adminCount 0, member of "Web Farm Servers" only.
    """
    groups = _admin_groups(params)
    for ident, missing in _ad_identities(snap, computer=False):
        if missing:
            yield _nr(ident, missing, "IIS-KRB-005")
            continue
        acct = ident.account
        assert acct is not None
        reasons = []
        if acct.get("admin_count") == 1:
            reasons.append("adminCount=1 (protected by AdminSDHolder: it is or was in a privileged group)")
        m = snap.accounts.membership(ident.name, groups, judge_ad=False)
        if m.hits:
            reasons.append("member of " + ", ".join(m.hits))
        unknown = acct.uncaptured("admin_count", "groups")
        if not reasons and unknown:
            yield _nr(ident, _not_in_capture(unknown), "IIS-KRB-005")
        elif reasons:
            yield fail(
                ident.resource,
                f"{ident.name} ({ident.uses()}) is privileged in Active Directory: "
                + "; ".join(reasons)
                + ". Code in the web application acts as this account on the network; use a dedicated "
                "unprivileged account or gMSA",
                at=acct.at,
            )
        else:
            yield passed(
                ident.resource,
                f"{ident.name} is not adminCount-protected and in no privileged group",
                at=acct.at,
            )


# --- IIS-KRB-006 --------------------------------------------------------------------------------------


def _kerberoast_reasons(acct: Account, now: Any, params: Mapping[str, Any], privileged: bool) -> list[str]:
    reasons = []
    last = iis.parse_time(acct.get("password_last_set"))
    age = (now - last).days if (now and last) else None
    recent = age is not None and age < params["recent_change_days"]
    limit = params["recent_change_days"] if privileged else params["max_password_age_days"]
    if age is not None and age > limit:
        years = f" (about {age // 365} years)" if age >= 730 else ""
        reasons.append(f"password last set {age} days ago{years}, over {limit}")
    never = acct.flag(uac.DONT_EXPIRE_PASSWORD) or acct.get("password_never_expires") is True
    if never and not recent:
        reasons.append("password never expires (DONT_EXPIRE_PASSWORD)")
    enc = acct.get("supported_encryption_types")
    if acct.captured("encryption_types") is False:
        pass  # not in the paste: unknown, not "not set" (the caller says so when nothing else fails)
    elif not isinstance(enc, int) or not enc & uac.ENC_AES:
        shown = "not set" if not isinstance(enc, int) else f"0x{enc:x}"
        reasons.append(f"no AES in msDS-SupportedEncryptionTypes ({shown}), so service tickets are RC4")
    return reasons


@rule(
    id="IIS-KRB-006",
    name="krb.kerberoastable_identity",
    title="Kerberoastable IIS service account",
    severity="medium",
    category="krb",
    description=(
        "A user-class IIS account (not a computer, gMSA or MSA) has an SPN, so any domain user can request a "
        "ticket encrypted with its password and crack it offline; judged by password age, DONT_EXPIRE_PASSWORD "
        "and the absence of AES."
    ),
    rationale=(
        "Service tickets for a user account are encrypted with a key derived from a human-chosen password. "
        "Old, never-expiring passwords and RC4 tickets make offline cracking practical."
    ),
    remediation=(
        "Move the pool to a gMSA (120-character rotating password): New-ADServiceAccount -Name gmsa_web "
        "-DNSHostName gmsa_web.<domain> -PrincipalsAllowedToRetrieveManagedPassword '<web servers group>'; "
        "Install-ADServiceAccount gmsa_web; setspn -D HTTP/<name> <DOMAIN\\user>; setspn -S HTTP/<name> "
        "<DOMAIN\\gmsa_web$>\n"
        "Or at least: Set-ADUser <user> -KerberosEncryptionType AES128,AES256; "
        "Set-ADAccountControl <user> -PasswordNeverExpires $false; reset the password to 25+ random characters"
    ),
    references=[
        refs.PC_KERBEROASTING,
        refs.PC_AES_NOT_ENABLED,
        refs.PC_NO_SERVICE_POLICY,
        refs.PC_PWD_NEVER_EXPIRES,
        refs.BH_SERVICE_PRINCIPAL_NAMES,
        refs.MS_GMSA,
    ],
    parameters=[
        Parameter("max_password_age_days", 365, "A password older than this is a finding", type="int"),
        Parameter(
            "recent_change_days",
            40,
            "A password changed within this many days waives DONT_EXPIRE_PASSWORD; for a privileged account "
            "(IIS-KRB-005) it is also the age limit, as in PingCastle P-Kerberoasting",
            type="int",
        ),
        Parameter("extra_privileged_groups", [], "As in IIS-KRB-005, for the escalation"),
    ],
    needs=("iis",),
)
def kerberoastable_identity(snap, params):
    """Checks: every user-class domain account IIS uses (pool, anonymous, connect-as; computer accounts,
    gMSAs and MSAs are not applicable: their passwords are 120 random characters) that has at least one
    SPN fails when any of: password older than `max_password_age_days` (365); DONT_EXPIRE_PASSWORD
    (0x10000), unless the password changed within `recent_change_days` (40, PingCastle's grace); no
    AES bit (0x8|0x10) in msDS-SupportedEncryptionTypes (RC4 tickets). When the account is also
    privileged (IIS-KRB-005), the age limit drops to `recent_change_days`, as PingCastle P-Kerberoasting
    does, and that finding is raised to high. Ages count to collection.collected_at.
    Why: any domain user can request a ticket for an SPN and crack the account's password offline.
    Bad: CORP\\svc_webfarm with HTTP/www.corp.example.com, password set in 2016, never expires, no AES.
    Good: the pool runs as the gMSA CORP\\gmsa_webfarm$ (not applicable), or the user account has AES
    only and a password rotated this year.
    """
    now = snap.collected_at
    for ident, missing in _ad_identities(snap, computer=False):
        if missing:
            yield _nr(ident, missing, "IIS-KRB-006")
            continue
        acct = ident.account
        assert acct is not None
        kind = acct.kind
        if kind in ("computer", "gmsa", "msa") or (kind == "unknown" and ident.name.endswith("$")):
            yield not_applicable(
                ident.resource, f"{ident.name} is a {kind} account with a random managed password", at=acct.at
            )
            continue
        spns = acct.spns
        if not spns and acct.captured("spns") is False:
            yield _nr(ident, _not_in_capture(acct.uncaptured("spns")), "IIS-KRB-006")
            continue
        if not spns:
            yield passed(
                ident.resource,
                f"{ident.name} has no SPN, so no service ticket can be requested for it",
                at=acct.at,
            )
            continue
        if now is None and acct.get("password_last_set"):
            yield _nr(ident, "the snapshot has no collection time to judge the password's age", "IIS-KRB-006")
            continue
        privileged = (
            acct.get("admin_count") == 1
            or snap.accounts.membership(ident.name, _admin_groups(params), judge_ad=False).answer == "yes"
        )
        reasons = _kerberoast_reasons(acct, now, params, privileged)
        if not reasons and iis.parse_time(acct.get("password_last_set")) is None:
            yield _nr(ident, "pwdLastSet was not collected, so the password's age is unknown", "IIS-KRB-006")
            continue
        unknown = acct.uncaptured("password_never_expires", "encryption_types")
        if not reasons and unknown:
            yield _nr(ident, _not_in_capture(unknown), "IIS-KRB-006")
            continue
        shown = ", ".join(spns[:3]) + (f" and {len(spns) - 3} more" if len(spns) > 3 else "")
        if reasons:
            extra = {"severity": "high"} if privileged else {}
            yield fail(
                ident.resource,
                f"{ident.name} ({ident.uses()}) has SPNs ({shown}), so any domain user can request a ticket and "
                "crack its password offline: "
                + "; ".join(reasons)
                + (". It is also privileged (IIS-KRB-005): treat as high" if privileged else "")
                + ". Move it to a gMSA, or set AES-only encryption and a long random, rotated password",
                at=acct.at,
                **extra,
            )
        else:
            yield passed(
                ident.resource, f"{ident.name} has SPNs but a recent password and AES enabled", at=acct.at
            )


# --- IIS-KRB-007 --------------------------------------------------------------------------------------


@rule(
    id="IIS-KRB-007",
    name="krb.unconstrained_delegation",
    title="Unconstrained delegation on the IIS host or identity",
    severity="critical",
    category="krb",
    description=(
        "The IIS computer account or an IIS domain identity has TRUSTED_FOR_DELEGATION (0x80000): every user "
        "who authenticates to it leaves a forwardable TGT behind."
    ),
    rationale=(
        "Whoever controls the web server (or its pool account) can replay the TGTs of everyone who connects, "
        "and can coerce a domain controller to authenticate (printer bug, PetitPotam) to steal its TGT: a "
        "direct path to domain compromise."
    ),
    remediation=(
        "Set-ADComputer <HOST> -TrustedForDelegation $false\n"
        "Set-ADUser <account> -TrustedForDelegation $false\n"
        "Set-ADAccountControl <account> -TrustedForDelegation $false\n"
        "If the application really needs to delegate, use constrained delegation to the specific back-end "
        "service (msDS-AllowedToDelegateTo, Kerberos only) or resource-based constrained delegation on the back end"
    ),
    references=[
        refs.PC_UNCONSTRAINED_DELEGATION,
        refs.BH_COERCE_TO_TGT,
        refs.MS_EDGEDELEG,
        refs.MS_SET_AD_ACCOUNT_CONTROL,
    ],
    needs=("iis",),
)
def unconstrained_delegation(snap, params):
    """Checks: the computer account HOST$ (NetworkService, ApplicationPoolIdentity and kernel-mode Kerberos
    use it) and every domain pool / anonymous / connect-as account: userAccountControl has
    TRUSTED_FOR_DELEGATION (0x80000), or delegation.unconstrained is true. Domain controllers
    (SERVER_TRUST_ACCOUNT 0x2000) are trusted by design and not applicable (IIS on a DC is IIS-HOST-005).
    Why: every visitor's TGT is cached on the host; an attacker with code execution in the site harvests
    them, and coercing a DC to authenticate gives its TGT (DCSync).
    Bad: FARM-WEB01$ has userAccountControl 0x81000 (WORKSTATION_TRUST_ACCOUNT | TRUSTED_FOR_DELEGATION).
    Good: FARM-WEB01$ has 0x1000; any delegation is constrained to one back-end service.
    """
    for ident, missing in _ad_identities(snap, computer=True):
        if missing:
            yield _nr(ident, missing, "IIS-KRB-007")
            continue
        acct = ident.account
        assert acct is not None
        if acct.is_dc:
            yield not_applicable(
                ident.resource,
                f"{ident.name} is a domain controller, trusted for delegation by design",
                at=acct.at,
            )
        elif acct.unconstrained:
            yield fail(
                ident.resource,
                f"{ident.name} ({ident.uses()}) is trusted for unconstrained delegation (TRUSTED_FOR_DELEGATION): "
                "every user authenticating to this web server leaves a reusable TGT, and a coerced domain "
                "controller's TGT means domain compromise; clear it with Set-ADAccountControl "
                "-TrustedForDelegation $false and use constrained delegation if needed",
                at=acct.at,
            )
        elif unknown := acct.uncaptured("unconstrained"):
            yield _nr(ident, _not_in_capture(unknown), "IIS-KRB-007")
        else:
            yield passed(
                ident.resource, f"{ident.name} is not trusted for unconstrained delegation", at=acct.at
            )


# --- IIS-KRB-008 --------------------------------------------------------------------------------------


@rule(
    id="IIS-KRB-008",
    name="krb.protocol_transition",
    title="Constrained delegation with protocol transition",
    severity="medium",
    category="krb",
    description=(
        "The IIS computer account or an IIS domain identity has TRUSTED_TO_AUTH_FOR_DELEGATION (0x1000000): "
        "it can obtain a ticket to its delegation targets as any user, without that user authenticating."
    ),
    rationale=(
        "With protocol transition (S4U2Self on any protocol), whoever controls the account impersonates any "
        "user, including domain admins, to every service on the target hosts (the service name in the ticket "
        "can be swapped)."
    ),
    remediation=(
        "Set-ADAccountControl <account> -TrustedToAuthForDelegation $false   (Kerberos-only constrained delegation)\n"
        "Set-ADUser <account> -Clear msDS-AllowedToDelegateTo   (if no delegation is needed)"
    ),
    references=[
        refs.BH_ALLOWED_TO_DELEGATE,
        refs.PC_DELEGATION_DC_T2A4D,
        refs.MS_KCD,
        refs.MS_SET_AD_ACCOUNT_CONTROL,
    ],
    parameters=[
        Parameter(
            "allowed_accounts",
            [],
            "Accounts (globs on DOMAIN\\name) whose protocol transition is documented and accepted "
            "(e.g. a forms-to-Kerberos gateway)",
        )
    ],
    needs=("iis",),
)
def protocol_transition(snap, params):
    """Checks: HOST$ and every domain pool / anonymous / connect-as account: userAccountControl has
    TRUSTED_TO_AUTH_FOR_DELEGATION (0x1000000) or delegation.protocol_transition is true. Accounts in
    `allowed_accounts` are not applicable. Targets (msDS-AllowedToDelegateTo) are named in the message;
    whether they are domain controllers is IIS-KRB-009.
    Why: the account can mint tickets for any user (S4U2Self + S4U2Proxy) to its targets without that
    user ever logging on; owning the web application means impersonating anyone there.
    Bad: CORP\\svc_webfarm with 0x1000000 and msDS-AllowedToDelegateTo cifs/dc01.corp.example.com.
    Good: constrained delegation with "Use Kerberos only" (no 0x1000000), or none.
    """
    allowed = params.get("allowed_accounts") or []
    for ident, missing in _ad_identities(snap, computer=True):
        if missing:
            yield _nr(ident, missing, "IIS-KRB-008")
            continue
        acct = ident.account
        assert acct is not None
        if acct.is_dc:
            yield not_applicable(ident.resource, f"{ident.name} is a domain controller", at=acct.at)
        elif not acct.protocol_transition and (unknown := acct.uncaptured("protocol_transition")):
            yield _nr(ident, _not_in_capture(unknown), "IIS-KRB-008")
        elif not acct.protocol_transition:
            yield passed(
                ident.resource, f"{ident.name} is not trusted to authenticate for delegation", at=acct.at
            )
        elif names.matches_any(ident.name, allowed) or names.matches_any(acct.name, allowed):
            yield not_applicable(
                ident.resource, f"{ident.name}: protocol transition is allow-listed", at=acct.at
            )
        else:
            targets = acct.delegation("constrained_to")
            to = f" to {', '.join(targets)}" if targets else ""
            yield fail(
                ident.resource,
                f"{ident.name} ({ident.uses()}) has protocol transition (TRUSTED_TO_AUTH_FOR_DELEGATION){to}: "
                "whoever controls it can impersonate any user, admins included, to those services without their "
                "logon; use Kerberos-only constrained delegation (Set-ADAccountControl "
                "-TrustedToAuthForDelegation $false)",
                at=acct.at,
            )


# --- IIS-KRB-009 --------------------------------------------------------------------------------------


@rule(
    id="IIS-KRB-009",
    name="krb.delegation_to_tier0",
    title="Delegation targets a domain controller or Tier-0 host",
    severity="high",
    category="krb",
    description=(
        "An SPN in msDS-AllowedToDelegateTo of the IIS computer account or an IIS domain identity names a "
        "domain controller or another Tier-0 host, whatever the service class."
    ),
    rationale=(
        "The service name in a delegated ticket is not protected, so delegation to cifs/dc01 is delegation to "
        "ldap/dc01 too: the web server can impersonate users (with protocol transition, any user) to a DC."
    ),
    remediation=(
        "Set-ADUser <account> -Remove @{'msDS-AllowedToDelegateTo'='cifs/dc01.corp.example.com','cifs/DC01'}\n"
        "Set-ADComputer <HOST> -Remove @{'msDS-AllowedToDelegateTo'='<spn on a DC>'}"
    ),
    references=[
        refs.PC_DELEGATION_DC_A2D2,
        refs.PC_DELEGATION_DC_T2A4D,
        refs.BH_ALLOWED_TO_DELEGATE,
        refs.MS_KCD,
    ],
    parameters=[
        Parameter("tier0_hosts", [], "More Tier-0 host names (FQDN or short) besides ad.tier0_hosts")
    ],
    needs=("iis",),
)
def delegation_to_tier0(snap, params):
    """Checks: for HOST$ and every domain pool / anonymous / connect-as account, each msDS-AllowedToDelegateTo
    SPN's host (`class/host[:port][/name]`) against the domain controllers (ad.domain_controllers, and
    accounts with SERVER_TRUST_ACCOUNT) and Tier-0 hosts (ad.tier0_hosts plus the `tier0_hosts`
    parameter). Any service class counts. An FQDN matches a listed FQDN (or a host listed by short name
    only); a short name matches by first label. Without a DC list the account is not_reviewed.
    Why: the service class of a delegated ticket can be swapped (cifs -> ldap/host), so delegation to any
    service on a DC is delegation to the DC; with protocol transition it is DCSync for the web server.
    Bad: CORP\\svc_webfarm may delegate to cifs/dc01.corp.example.com (DC01 is a domain controller).
    Good: delegation only to MSSQLSvc/sql01.corp.example.com:1433.
    """
    tier0 = kerberos.Tier0(snap, params.get("tier0_hosts") or [])
    for ident, missing in _ad_identities(snap, computer=True):
        if missing:
            yield _nr(ident, missing, "IIS-KRB-009")
            continue
        acct = ident.account
        assert acct is not None
        targets = acct.delegation("constrained_to")
        if not targets and (unknown := acct.uncaptured("constrained_to")):
            yield _nr(ident, _not_in_capture(unknown), "IIS-KRB-009")
            continue
        if not targets:
            yield passed(ident.resource, f"{ident.name} has no constrained delegation targets", at=acct.at)
            continue
        hits = [(t, what) for t in targets if (what := tier0.classify(kerberos.spn_host(t)))]
        if hits:
            shown = ", ".join(f"{t} ({what} {kerberos.spn_host(t)})" for t, what in hits)
            pt = " with protocol transition (any user)" if acct.protocol_transition else ""
            yield fail(
                ident.resource,
                f"{ident.name} ({ident.uses()}) may delegate{pt} to {shown}; the service class can be swapped, so "
                "this lets the web server impersonate users to any service on that host; remove these targets",
                at=acct.at,
            )
        elif not tier0.dc_known:
            yield _nr(
                ident, "the domain controller list was not collected (ad.domain_controllers)", "IIS-KRB-009"
            )
        else:
            yield passed(
                ident.resource,
                f"{ident.name} delegates only to non-Tier-0 hosts ({', '.join(targets)})",
                at=acct.at,
            )


# --- IIS-KRB-010 --------------------------------------------------------------------------------------


@rule(
    id="IIS-KRB-010",
    name="krb.resource_based_delegation",
    title="Resource-based constrained delegation involving the IIS host",
    severity="high",
    category="krb",
    description=(
        "(a) The IIS computer account or an IIS identity lists principals in "
        "msDS-AllowedToActOnBehalfOfOtherIdentity; (b) the IIS host or an IIS identity is allowed to act on "
        "behalf of users to a domain controller."
    ),
    rationale=(
        "(a) The listed principals can impersonate any user to the web server (admin on it via HOST/CIFS); "
        "(b) the web server can impersonate any user to a DC."
    ),
    remediation=(
        "Set-ADComputer <HOST> -PrincipalsAllowedToDelegateToAccount $null\n"
        "Set-ADComputer <DC> -PrincipalsAllowedToDelegateToAccount $null   (for (b); review first)"
    ),
    references=[refs.BH_ALLOWED_TO_ACT, refs.PC_DELEGATION_DC_SOURCEDELEG, refs.MS_KCD],
    needs=("iis",),
)
def resource_based_delegation(snap, params):
    """Checks: (a) delegation.rbcd_from (msDS-AllowedToActOnBehalfOfOtherIdentity, as SIDs or names) of HOST$
    and of every domain pool / anonymous / connect-as account is empty; (b) no domain controller account
    in the snapshot (SERVER_TRUST_ACCOUNT) lists HOST$ or an IIS identity in its rbcd_from. (b) is judged
    only for DC accounts the snapshot carries; the pass message says when none was collected.
    Why: (a) a principal listed there (often a machine account an ordinary user created through
    MachineAccountQuota) gets S4U tickets as any user to the web server, i.e. local admin; (b) the web
    server's identity can impersonate anyone to a DC.
    Bad: FARM-WEB01$ has PrincipalsAllowedToDelegateToAccount = CORP\\EVIL01$.
    Good: empty on the web server; no DC lists the web server.
    """
    d = snap.accounts.directory
    tier0 = kerberos.Tier0(snap)
    allowed_to_dc: dict[int, list[str]] = {}
    for dc in tier0.dc_accounts:
        for ref in dc.delegation("rbcd_from"):
            acct = d.find(str(ref))
            if acct is not None:
                allowed_to_dc.setdefault(id(acct), []).append(dc.name)
    dc_rbcd_known = any(dc.ad for dc in tier0.dc_accounts)
    for ident, missing in _ad_identities(snap, computer=True):
        if missing:
            yield _nr(ident, missing, "IIS-KRB-010")
            continue
        acct = ident.account
        assert acct is not None
        problems = []
        rbcd = acct.delegation("rbcd_from")
        if rbcd:
            who = ", ".join(_shown(d, r) for r in rbcd)
            problems.append(
                f"{who} may act on behalf of any user to {ident.name} (resource-based delegation), "
                + (
                    "which makes them administrators of this web server"
                    if ident.computer
                    else "so they can reach its services as anyone"
                )
            )
        dcs = allowed_to_dc.get(id(acct))
        if dcs:
            problems.append(
                f"{ident.name} may act on behalf of any user to domain controller(s) {', '.join(dcs)}"
            )
        if problems:
            yield fail(
                ident.resource,
                f"{ident.name} ({ident.uses()}): "
                + "; ".join(problems)
                + "; clear it with Set-ADComputer -PrincipalsAllowedToDelegateToAccount $null",
                at=acct.at,
            )
        elif unknown := acct.uncaptured("rbcd_from"):
            # Pasted Get-ADComputer output without the attribute says nothing about RBCD: not "none".
            yield _nr(ident, _not_in_capture(unknown), "IIS-KRB-010")
        else:
            note = "" if dc_rbcd_known else " (no domain controller's RBCD list was collected)"
            yield passed(
                ident.resource, f"no resource-based delegation involves {ident.name}{note}", at=acct.at
            )


def _shown(d: Directory, ref: str) -> str:
    acct = d.find(ref)
    return acct.name if acct is not None else ref


# --- IIS-KRB-014 --------------------------------------------------------------------------------------

WEAK_FLAGS = (
    (
        uac.DONT_REQ_PREAUTH,
        "DONT_REQ_PREAUTH (AS-REP roastable: anyone gets crackable material without a password)",
    ),
    (uac.PASSWD_NOTREQD, "PASSWD_NOTREQD (the password may be empty)"),
    (uac.USE_DES_KEY_ONLY, "USE_DES_KEY_ONLY (DES keys, broken)"),
    (uac.ENCRYPTED_TEXT_PWD_ALLOWED, "ENCRYPTED_TEXT_PWD_ALLOWED (password stored reversibly)"),
)


@rule(
    id="IIS-KRB-014",
    name="krb.weak_account_flags",
    title="Weak Kerberos account flags on IIS identities",
    severity="high",
    category="krb",
    description=(
        "A domain pool, anonymous or connect-as account has DONT_REQ_PREAUTH, PASSWD_NOTREQD, USE_DES_KEY_ONLY "
        "or ENCRYPTED_TEXT_PWD_ALLOWED in userAccountControl, or DES in msDS-SupportedEncryptionTypes."
    ),
    rationale=(
        "Each flag weakens the account's secret: AS-REP roasting without credentials, an empty password, DES "
        "keys, or a reversibly stored password. IIS identities are high-value targets."
    ),
    remediation=(
        "Set-ADAccountControl <account> -DoesNotRequirePreAuth $false -PasswordNotRequired $false "
        "-UseDESKeyOnly $false -AllowReversiblePasswordEncryption $false\n"
        "Set-ADUser <account> -KerberosEncryptionType AES128,AES256; then reset the password"
    ),
    references=[
        refs.PC_NO_PREAUTH,
        refs.PC_PWD_NOT_REQUIRED,
        refs.PC_DES_ENABLED,
        refs.PC_REVERSIBLE,
        refs.BH_DONT_REQ_PREAUTH,
        refs.MS_SET_AD_ACCOUNT_CONTROL,
    ],
    needs=("iis",),
)
def weak_account_flags(snap, params):
    """Checks: every domain account IIS uses (pool, anonymous, connect-as): userAccountControl bits
    DONT_REQ_PREAUTH 0x400000, PASSWD_NOTREQD 0x20, USE_DES_KEY_ONLY 0x200000,
    ENCRYPTED_TEXT_PWD_ALLOWED 0x80, and DES bits (0x1|0x2) in msDS-SupportedEncryptionTypes.
    Why: AS-REP roasting needs no credentials at all; an account may carry an empty password; DES is
    broken; a reversible password can be read back by domain admins and DCSync.
    Bad: CORP\\svc_web with userAccountControl 0x400200 (DONT_REQ_PREAUTH).
    Good: 0x200 (NORMAL_ACCOUNT), msDS-SupportedEncryptionTypes 0x18 (AES only).
    """
    for ident, missing in _ad_identities(snap, computer=False):
        if missing:
            yield _nr(ident, missing, "IIS-KRB-014")
            continue
        acct = ident.account
        assert acct is not None
        found = [text for bit, text in WEAK_FLAGS if acct.flag(bit)]
        if acct.get("password_required") is False and not acct.flag(uac.PASSWD_NOTREQD):
            found.append("PASSWD_NOTREQD (the password may be empty)")
        enc = acct.get("supported_encryption_types")
        if isinstance(enc, int) and enc & uac.ENC_DES:
            found.append(f"DES enabled in msDS-SupportedEncryptionTypes (0x{enc:x})")
        unknown = acct.uncaptured("user_account_control", "encryption_types")
        if not found and unknown:
            yield _nr(ident, _not_in_capture(unknown), "IIS-KRB-014")
        elif found:
            yield fail(
                ident.resource,
                f"{ident.name} ({ident.uses()}) has weak Kerberos settings: "
                + "; ".join(found)
                + ". Clear them with Set-ADAccountControl and reset the password",
                at=acct.at,
            )
        else:
            yield passed(ident.resource, f"{ident.name} has no weak Kerberos flags", at=acct.at)


# --- IIS-KRB-015 --------------------------------------------------------------------------------------


@rule(
    id="IIS-KRB-015",
    name="krb.computer_password_stale",
    title="IIS computer account password stale",
    severity="medium",
    category="krb",
    description=(
        "The web server's computer account password (pwdLastSet of HOST$) is older than max_age_days while the "
        "computer was in use: machine password rotation is broken or disabled."
    ),
    rationale=(
        "NetworkService, ApplicationPoolIdentity and kernel-mode Kerberos all use this secret. A key that never "
        "rotates gives anyone who once extracted it (silver tickets for HTTP/HOST) lasting access."
    ),
    remediation=(
        "Reset-ComputerMachinePassword   (on the server)\n"
        "Set-ItemProperty HKLM:\\SYSTEM\\CurrentControlSet\\Services\\Netlogon\\Parameters -Name "
        "DisablePasswordChange -Value 0   (re-enable rotation; check the 'Domain member: Disable machine account "
        "password changes' policy)"
    ),
    references=[refs.PC_PWD_LAST_SET_90, refs.PC_PWD_LAST_SET_45, refs.MS_APID],
    parameters=[
        Parameter(
            "max_age_days",
            90,
            "Older than this fails (PingCastle S-PwdLastSet-90; 45 in strict profiles)",
            type="int",
        )
    ],
    needs=("iis",),
)
def computer_password_stale(snap, params):
    """Checks: the age of HOST$'s pwdLastSet. Like PingCastle S-PwdLastSet-90, the age counts up to the
    computer's last logon (lastLogonTimestamp) when known, capped at collection.collected_at, so a
    machine that was switched off is not blamed. Fails above
    `max_age_days` (90; PingCastle's S-PwdLastSet-45 is the stricter 45).
    Why: the machine secret decrypts every kernel-mode Kerberos ticket to the site and is the network
    identity of the built-in pool identities; Windows rotates it every 30 days unless rotation is broken.
    Bad: FARM-WEB01$ pwdLastSet 2025-01-10, last logon 2026-02-15.
    Good: pwdLastSet within the last 30 days.
    """
    if kerberos.domain_joined(snap) is False:
        yield not_applicable("host", "the host is not joined to a domain")
        return
    now = snap.collected_at
    for ident, missing in _ad_identities(snap, computer=True, users=False):
        if missing:
            yield _nr(ident, missing, "IIS-KRB-015")
            continue
        acct = ident.account
        assert acct is not None
        last_set = iis.parse_time(acct.get("password_last_set"))
        if last_set is None:
            yield _nr(ident, "pwdLastSet was not collected", "IIS-KRB-015")
            continue
        if now is None:
            yield _nr(ident, "the snapshot has no collection time to judge the password's age", "IIS-KRB-015")
            continue
        until = now
        logon = iis.parse_time(acct.get("last_logon"))
        if logon is not None and logon < now:
            until = logon
        age = (until - last_set).days
        if age > params["max_age_days"]:
            yield fail(
                ident.resource,
                f"The computer account {ident.name} last changed its password {age} days before "
                f"{'its last logon' if until is not now else 'collection'} (over {params['max_age_days']}): machine "
                "password rotation is not working, and this key decrypts the site's kernel-mode Kerberos tickets; "
                "run Reset-ComputerMachinePassword and re-enable rotation",
                at=acct.at,
            )
        else:
            yield passed(
                ident.resource,
                f"{ident.name} changed its password {age} days before "
                f"{'its last logon' if until is not now else 'collection'}",
                at=acct.at,
            )


# --- IIS-KRB-016 --------------------------------------------------------------------------------------


@rule(
    id="IIS-KRB-016",
    name="krb.extended_protection_off",
    title="Extended Protection off for Windows authentication over HTTPS",
    severity="low",
    category="krb",
    description=(
        "A site with an HTTPS binding accepts NTLM (the NTLM provider, or Negotiate falling back to it) while "
        "extendedProtection tokenChecking is None (the default)."
    ),
    rationale=(
        "Without channel binding, NTLM authentication captured or coerced elsewhere can be relayed to the site "
        "over TLS (the pattern behind relay attacks on AD CS web enrollment)."
    ),
    remediation=(
        "Set-WebConfigurationProperty -PSPath IIS:\\ -Location '<site>' "
        "-Filter system.webServer/security/authentication/windowsAuthentication/extendedProtection "
        "-Name tokenChecking -Value Require\n"
        "appcmd set config '<site>' -section:system.webServer/security/authentication/windowsAuthentication "
        "/extendedProtection.tokenChecking:Require /commit:apphost"
    ),
    references=[refs.MS_WINAUTH_EP, refs.MS_WINAUTH, refs.BH_COERCE_AND_RELAY_NTLM_TO_ADCS],
    parameters=[
        Parameter(
            "required_level",
            "Allow",
            "Lowest tokenChecking that passes",
            type="str",
            choices=("Allow", "Require"),
        )
    ],
    needs=("iis",),
    default_enabled=False,
)
def extended_protection_off(snap, params):
    """Checks: every site or application with Windows authentication enabled, on a site that has an https
    binding, whose providers accept NTLM (NTLM, or plain Negotiate which falls back to it; no list means
    the default Negotiate + NTLM): extendedProtection tokenChecking must be at least `required_level`
    (Allow by default; Require in strict profiles). Absent means None, the IIS default. Off in the
    baseline profile: the default is None everywhere (FP = H).
    Why: without channel binding tokens, a relayed NTLM exchange is accepted over TLS.
    Bad: Intranet with an https binding, providers Negotiate + NTLM, tokenChecking None.
    Good: tokenChecking="Require" (or "Allow" when not every client sends channel binding).
    """
    order = {"none": 0, "allow": 1, "require": 2}
    need = order[params["required_level"].casefold()]
    for wl in kerberos.windows_locations(snap):
        if not kerberos.https_site(wl.loc.site_config or {}):
            continue
        res = f"locations/{wl.loc.path}"
        if not kerberos.ntlm_possible(wl.windows):
            yield passed(res, f"'{wl.loc.path}' does not accept NTLM", at=wl.windows)
            continue
        level = str(wl.windows.get("extended_protection") or "None")
        if order.get(level.casefold(), 0) < need:
            yield fail(
                res,
                f"'{wl.loc.path}' accepts NTLM over HTTPS with extendedProtection tokenChecking={level}, so relayed "
                "NTLM authentication is accepted; set tokenChecking to Require (or Allow where some clients send no "
                "channel binding)",
                at=wl.windows,
            )
        else:
            how = "requires" if level.casefold() == "require" else "checks, when the client sends it,"
            yield passed(res, f"'{wl.loc.path}' {how} channel binding (tokenChecking={level})", at=wl.windows)


# --- IIS-KRB-017 --------------------------------------------------------------------------------------


def _realm_suffixed(spn: str) -> tuple[str, str] | None:
    """(bare SPN, realm) of `HTTP/web01@CORP.EXAMPLE`, or None when the SPN has no realm suffix."""
    head, sep, realm = spn.rpartition("@")
    if sep and "/" in head and realm and "/" not in realm:
        return head, realm
    return None


@rule(
    id="IIS-KRB-017",
    name="krb.spn_realm_suffix",
    title="SPN registered with a realm suffix",
    severity="medium",
    category="krb",
    description=(
        "An account holds a servicePrincipalName with an @REALM suffix (`HTTP/web01@CORP.EXAMPLE`). "
        "AD stores the value as written and clients ask for `HTTP/web01`, so the suffixed value never matches."
    ),
    rationale=(
        "A Kerberos request for the service finds no account for the SPN the administrator meant to register, "
        "and Negotiate silently falls back to NTLM (relayable, no delegation) while the registration looks right."
    ),
    remediation=(
        "setspn -D <SPN@REALM> <account>   (remove the suffixed value)\n"
        "setspn -S <SPN> <account>          (register the bare one; -S refuses a duplicate)\n"
        "setspn -L <account>                (verify)"
    ),
    references=[refs.MS_SETSPN, refs.MS_SPN6],
    needs=("spns",),
)
def spn_realm_suffix(snap, params):
    """Checks: every SPN of every account in the snapshot (setspn -L, AD exports) as captured; fails each
    account holding a value of the form `service/host[:port]@REALM`. Passes accounts whose SPNs have no
    suffix. A host with no SPN captured at all is not applicable.
    Why: `setspn -S HTTP/web01@CORP.EXAMPLE svc` stores exactly that string; the client's ticket request
    names `HTTP/web01`, which no account holds, so Kerberos fails over to NTLM without an error.
    Bad: CORP\\svc_web holds `HTTP/web01.corp.example.com@CORP.EXAMPLE.COM`.
    Good: CORP\\svc_web holds `HTTP/web01.corp.example.com` and `HTTP/web01`.
    """
    seen = False
    for acct in snap.accounts.directory.accounts:
        spns = acct.spns  # a property that merges the account's records: asked once per account
        if not spns:
            continue
        seen = True
        bad = [(spn, cut) for spn in spns if "@" in spn and (cut := _realm_suffixed(spn))]
        name = acct.name
        if not bad:
            yield passed(f"principals/{name}", f"{name} holds no SPN with a realm suffix", at=acct.at)
            continue
        for spn, (bare, realm) in bad:
            yield fail(
                f"spns/{spn}",
                f"{name} holds the SPN '{spn}' with the realm suffix '@{realm}'. Clients request '{bare}', "
                f"which this value never matches, so Kerberos falls back to NTLM. Remove it with "
                f"setspn -D {spn} {name} and register setspn -S {bare} {name}",
                at=acct.at,
            )
    if not seen:
        yield not_applicable("host", "no account in the snapshot has an SPN")


RULES = [
    http_spn_missing,
    http_spn_wrong_account,
    http_spn_duplicate,
    kernel_mode_inconsistent,
    identity_privileged_in_ad,
    kerberoastable_identity,
    unconstrained_delegation,
    protocol_transition,
    delegation_to_tier0,
    resource_based_delegation,
    weak_account_flags,
    computer_password_stale,
    extended_protection_off,
    spn_realm_suffix,
]


@hookimpl
def iisguard_pack_info():
    return {
        "prefixes": ["IIS-KRB-"],
        "description": "Built-in IIS-KRB-* rules: Kerberos, SPNs and delegation",
    }


@hookimpl
def iisguard_register_rules():
    return RULES

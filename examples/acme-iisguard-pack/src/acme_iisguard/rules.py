"""ACME's two rules. Each is a pure function of the snapshot and its parameters.

They ask the model iisguard exports, as the built-in packs do (`snap.pools` is every pool, IIS 7+
and IIS 6 metabase pools alike, with its effective identity; `snap.accounts` resolves an account
however it is written: DOMAIN\\name, UPN, SID), and write nothing the decorator already says.
"""

from __future__ import annotations

from iisguard import Parameter, Reference, Severity, fail, iis, names, not_applicable, passed, rule


def _allowed(name: str, patterns: list[str]) -> bool:
    return names.matches_any(name, patterns) is not None


@rule(
    id="ACME-SITE-001",
    name="acme.site.https_only",
    title="Sites serve HTTPS only",
    severity=Severity.MEDIUM,
    category="transport",
    description="Every site binding uses https; plain http bindings are allowed only on listed sites.",
    rationale="ACME policy TLS-3: credentials and session cookies never cross the network in clear text.",
    remediation="Remove-WebBinding -Name '<site>' -Protocol http  # after adding an https binding",
    references=[
        Reference(
            "ACME-TLS-3",
            "https://learn.microsoft.com/en-us/iis/manage/configuring-security/how-to-set-up-ssl-on-iis",
        )
    ],
    parameters=[
        Parameter(
            "allow_http_sites", [], "site names (globs) that may keep an http binding, such as a redirector"
        )
    ],
    needs=["iis"],
)
def https_only(snapshot, params):
    """Checks: every binding of every site uses https.

    Why: ACME policy TLS-3 forbids clear-text HTTP for anything but redirectors.

    Bad: a site with a binding ``http *:80:``.

    Good: a site whose only binding is ``https *:443:``.
    """
    for site in snapshot.sites:
        name = site["name"]
        key = iis.site_key(name)
        if _allowed(name, params["allow_http_sites"]):
            yield not_applicable(key, f"Site '{name}' is allowed to serve http.", at=site)
            continue
        plain = [b for b in site.get("bindings") or [] if str(b.get("protocol", "")).lower() == "http"]
        if plain:
            where = ", ".join(str(b.get("binding_information", "?")) for b in plain)
            yield fail(
                key,
                f"Site '{name}' serves plain http ({where}), which ACME policy TLS-3 forbids; "
                "add an https binding and remove the http one.",
                at=site,
            )
        else:
            yield passed(key, f"Site '{name}' serves https only.", at=site)


@rule(
    id="ACME-ACCT-001",
    name="acme.pool.managed_account",
    title="Pools with a custom identity use a group managed service account",
    severity=Severity.LOW,
    category="identity",
    description="An application pool that runs as a specific user runs as a gMSA (a name ending in $).",
    rationale="gMSA passwords rotate automatically and are never stored in applicationHost.config.",
    remediation="Set-ItemProperty IIS:\\AppPools\\<pool> -Name processModel -Value @{userName='CORP\\gmsa-web$';identityType=3}",
    references=[
        Reference(
            "MS-GMSA",
            "https://learn.microsoft.com/en-us/windows-server/security/group-managed-service-accounts/group-managed-service-accounts-overview",
        )
    ],
    parameters=[
        Parameter("allowed_accounts", [], "accounts (globs) that may run pools without being a gMSA")
    ],
    needs=["iis"],
)
def managed_account(snapshot, params):
    """Checks: pools running as a SpecificUser use a gMSA.

    Why: a stored password in applicationHost.config can be decrypted by anyone who is administrator on
    the server, and nobody rotates it.

    Bad: ``identityType=SpecificUser userName=CORP\\svc_web``.

    Good: ``identityType=SpecificUser userName=CORP\\gmsa-web$``, or ApplicationPoolIdentity; on IIS 6,
    ``AppPoolIdentityType=3`` with a gMSA as ``WAMUserName``.
    """
    for pool in snapshot.pools:  # applicationHost.config and IIS 6 metabase pools
        if pool.type != "SpecificUser":
            yield not_applicable(pool.key, f"Pool '{pool.name}' does not run as a specific user.", at=pool.at)
            continue
        user = pool.user
        # The account as AD describes it, however the pool names it (CORP\\x, x@corp.example, a SID).
        account = snapshot.accounts.account(user)
        managed = names.is_managed_account_name(user) or (
            account is not None and account.kind in ("gmsa", "msa")
        )
        if managed or _allowed(user, params["allowed_accounts"]):
            yield passed(pool.key, f"Pool '{pool.name}' runs as {user}.", at=pool.at)
        else:
            yield fail(
                pool.key,
                f"Pool '{pool.name}' runs as {user}, an account with a stored password; "
                "use a group managed service account.",
                at=pool.at,
            )


RULES = [https_only, managed_account]

"""Built-in rule pack: IIS-POOL-* rules, the identities application pools run as (RULES.md §3A, §3H)."""

from __future__ import annotations

from iisguard import Parameter, fail, hookimpl, not_applicable, passed, rule

from . import _common as c

# Microsoft documents that Exchange's pools run as LocalSystem (MS-BPA).
EXCHANGE_POOLS = ["MSExchange*"]


@rule(
    id="IIS-POOL-001",
    name="pool.localsystem",
    title="App pool runs as LocalSystem",
    severity="critical",
    category="pool",
    description="An application pool's worker process runs as LocalSystem (or, on IIS 6, the metabase "
    "AppPoolIdentityType is 0 or the server runs in IIS 5.0 isolation mode).",
    rationale="LocalSystem is the most powerful account on Windows: any code the site runs, and anyone who "
    "exploits it, owns the whole server and acts as the computer account on the network.",
    remediation="Set-ItemProperty IIS:\\AppPools\\<name> -Name processModel.identityType -Value ApplicationPoolIdentity\n"
    "appcmd set apppool <name> /processModel.identityType:ApplicationPoolIdentity\n"
    "IIS 6: cscript adsutil.vbs SET W3SVC/AppPools/<name>/AppPoolIdentityType 2 "
    "(then move to a dedicated account) and set IIs5IsolationModeEnabled to False",
    references=[c.CIS_1_4, c.STIG_218802, c.STIG_13713, c.MS_BPA, c.MS_PROCMODEL],
    parameters=[
        Parameter(
            "allowed_pools", EXCHANGE_POOLS, "Pools allowed to run as LocalSystem (globs, case-insensitive)"
        ),
        Parameter(
            "include_idle_pools",
            False,
            "Also fail pools that are stopped and do not start automatically",
            type="bool",
        ),
    ],
    needs=("iis",),
)
def pool_localsystem(snap, params):
    """App pool runs as LocalSystem.

    Checks: every application pool's effective identityType; on IIS 6, the metabase AppPoolIdentityType
    (0 = LocalSystem) of each pool and IIs5IsolationModeEnabled. Pools matching `allowed_pools`
    (Exchange by default) are not applicable; stopped pools that do not auto-start are not applicable
    unless `include_idle_pools`.
    Why: the worker process holds every privilege on the machine; a web shell or a deserialization bug
    in the site is then a full server compromise, and the machine account's network identity with it.
    In IIS 5.0 isolation mode in-process applications run inside inetinfo.exe as LocalSystem.
    Bad: `<add name="Payroll"><processModel identityType="LocalSystem"/></add>`; IIS 6
    `AppPoolIdentityType="0"`; `IIs5IsolationModeEnabled="TRUE"`.
    Good: `identityType="ApplicationPoolIdentity"` (the IIS 7.5+ default), or a dedicated gMSA.
    Remediation: `appcmd set apppool Payroll /processModel.identityType:ApplicationPoolIdentity`, then
    grant the pool's own SID (`IIS APPPOOL\\Payroll`) only the file rights it needs.
    References: CIS IIS 10 1.4; STIG V-218802; IIS 6 STIG V-13713; IIS BPA dd378907; processModel reference.
    """
    allowed = params["allowed_pools"]
    for view in c.pool_views(snap):
        if view.type != "LocalSystem":
            yield passed(
                view.key,
                f"Application pool '{view.name}' runs as {view.type or 'its pool identity'}.",
                at=view.at,
            )
            continue
        match = c.matches_any(view.name, allowed)
        if match:
            yield not_applicable(
                view.key,
                f"Application pool '{view.name}' runs as LocalSystem but is allow-listed "
                f"('{match}'), e.g. a product that documents it needs LocalSystem.",
                at=view.at,
            )
        elif not view.legacy and c.is_idle(view.at) and not params["include_idle_pools"]:
            yield not_applicable(
                view.key,
                f"Application pool '{view.name}' is set to LocalSystem but is stopped and "
                "does not start automatically.",
                at=view.at,
            )
        else:
            yield fail(
                view.key,
                f"Application pool '{view.name}' runs as LocalSystem ({view.source}), so code in its sites runs "
                "with full control of the server; set its identity to ApplicationPoolIdentity or a dedicated "
                "low-privilege account (gMSA).",
                at=view.at,
                identity_type=view.type,
            )
    legacy = snap.iis.get("legacy") or {}
    version = c.iis_version(snap)
    if legacy.get("iis5_isolation_mode") or (legacy and version.startswith("5.")):
        why = "IIS 5.0 isolation mode is enabled" if legacy.get("iis5_isolation_mode") else f"IIS {version}"
        yield fail(
            "host",
            f"{why}: in-process applications run inside inetinfo.exe as LocalSystem and out-of-process ones as "
            "IWAM_<machine>; switch to worker process isolation mode with application pools that run as "
            "low-privilege identities.",
            at=legacy,
        )
    elif legacy.get("iis5_isolation_mode") is False:
        yield passed("host", "IIS runs in worker process isolation mode.", at=legacy)


@rule(
    id="IIS-POOL-004",
    name="pool.shared_builtin_identity",
    title="App pool uses a shared built-in identity (NetworkService/LocalService)",
    severity="medium",
    category="pool",
    description="An application pool runs as NetworkService or LocalService (IIS 6: AppPoolIdentityType 1 or 2).",
    rationale="These accounts are shared with Windows services and with every other pool using them: files, "
    "registry keys and rights granted to one are granted to all, so sites are not isolated. NetworkService "
    "also acts as the computer account on the network.",
    remediation="Set-ItemProperty IIS:\\AppPools\\<name> -Name processModel.identityType -Value ApplicationPoolIdentity\n"
    "appcmd set apppool <name> /processModel.identityType:ApplicationPoolIdentity",
    references=[c.CIS_1_4, c.MS_APID, c.STIG_218802],
    parameters=[
        Parameter(
            "allowed_pools",
            ["WsusPool", "SharePoint Web Services Root"],
            "Pools allowed to run as NetworkService/LocalService (globs): vendor pools that ship that way",
        ),
    ],
    needs=("iis",),
)
def pool_shared_builtin(snap, params):
    """App pool uses a shared built-in identity.

    Checks: each pool's effective identityType (and the IIS 6 metabase AppPoolIdentityType, where 1 is
    LocalService and 2, the IIS 6 default, is NetworkService). Pools matching `allowed_pools` (WSUS's
    `WsusPool`, SharePoint's `SharePoint Web Services Root` by default) are not applicable.
    Why: NetworkService and LocalService are shared by OS services and all pools that use them, so an ACL
    or user right meant for one site reaches every other site and service running as that account, and a
    compromise of one site is a compromise of all of them (no isolation). IIS 7.0 defaulted to
    NetworkService; IIS 7.5+ uses a per-pool virtual account instead.
    Bad: `<processModel identityType="NetworkService"/>`; IIS 6 `AppPoolIdentityType="2"`.
    Good: `identityType="ApplicationPoolIdentity"`, with content ACLs granted to `IIS APPPOOL\\<pool>`.
    Remediation: `appcmd set apppool <name> /processModel.identityType:ApplicationPoolIdentity` and
    re-grant file rights to the pool's SID (`icacls D:\\Sites\\X /grant "IIS APPPOOL\\X:(OI)(CI)RX"`).
    References: CIS IIS 10 1.4; Application Pool Identities (Microsoft); STIG V-218802.
    """
    allowed = params["allowed_pools"]
    for view in c.pool_views(snap):
        if view.type not in ("NetworkService", "LocalService"):
            yield passed(view.key, f"Application pool '{view.name}' runs as {view.type}.", at=view.at)
            continue
        match = c.matches_any(view.name, allowed)
        if match:
            yield not_applicable(
                view.key,
                f"Application pool '{view.name}' runs as {view.type} and is allow-listed ('{match}').",
                at=view.at,
            )
            continue
        network = " and acts as the computer account on the network" if view.type == "NetworkService" else ""
        yield fail(
            view.key,
            f"Application pool '{view.name}' runs as {view.type} ({view.source}), an account shared with Windows "
            f"services and other pools{network}, so its sites are not isolated; set its identity to "
            "ApplicationPoolIdentity and grant file rights to IIS APPPOOL\\" + view.name + ".",
            at=view.at,
            identity_type=view.type,
        )


RULES: list = [pool_localsystem, pool_shared_builtin]


@hookimpl
def iisguard_pack_info():
    return {"prefixes": ["IIS-POOL-"], "description": "Built-in IIS-POOL-* rules"}


@hookimpl
def iisguard_register_rules():
    return RULES

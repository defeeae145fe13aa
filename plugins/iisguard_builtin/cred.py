"""Built-in rule pack: IIS-CRED-* rules, credentials stored in configuration (RULES.md §3F, §3H)."""

from __future__ import annotations

from iisguard import fail, hookimpl, not_reviewed, passed, rule

from . import _common as c


def secret_state(secret) -> str:
    """`none`, `clear`, `encrypted` or `unknown` for a `{present, encrypted, provider}` record."""
    if not isinstance(secret, dict) or not secret.get("present"):
        return "none"
    if secret.get("encrypted") is True:
        return "encrypted"
    if secret.get("encrypted") is False:
        return "clear"
    return "unknown"


@rule(
    id="IIS-CRED-001",
    name="cred.pool_password_clear",
    title="App pool password stored unencrypted",
    severity="critical",
    category="cred",
    description="An application pool's processModel password is stored in applicationHost.config in clear "
    "text instead of wrapped as [enc:<provider>:…:enc].",
    rationale="Anyone who can read the configuration file, a backup of it, or a shared-configuration copy "
    "learns the pool account's password and can log on as it wherever that account is valid.",
    remediation="appcmd set apppool <name> /processModel.userName:<DOMAIN\\user> /processModel.password:<password>\n"
    "Set-ItemProperty IIS:\\AppPools\\<name> -Name processModel -Value @{userName='DOMAIN\\user';password='...';"
    "identityType=3}\n(both write the password encrypted with the WAS-only provider; better: use a gMSA, which "
    "stores no password)",
    references=[c.MS_PROCMODEL, c.CIS_2_8, c.MS_CNG],
    needs=("iis",),
)
def cred_pool_password_clear(snap, params):
    """App pool password stored unencrypted.

    Checks: for every application pool whose processModel carries a password attribute, whether the
    capture saw it encrypted (`[enc:IISWASOnlyCngProvider:…:enc]`) or in clear. A pool with no stored
    password (built-in identities, gMSAs) passes; a password whose protection the capture could not tell
    is not_reviewed.
    Why: a clear-text password in applicationHost.config is readable by every administrator, backup
    operator and configuration backup, and is copied with shared configuration; it is a credential for
    the pool account everywhere that account can log on.
    Bad: `<processModel identityType="SpecificUser" userName="CORP\\svc_web" password="Summer2024!"/>`
    (typically hand-edited or written by a deployment script).
    Good: `password="[enc:IISWASOnlyCngProvider:…:enc]"` as written by IIS Manager or appcmd, or a gMSA
    (`userName="CORP\\svc_web$"`, no password at all).
    Remediation: re-set the password with `appcmd set apppool Shop /processModel.password:<password>` (appcmd
    and IIS Manager encrypt it), and rotate the password, which has been exposed.
    References: processModel reference (Microsoft); CIS IIS 10 2.8; CNG data encryption in IIS 10.
    """
    for pool in snap.app_pools:
        key = c.pool_key(pool["name"])
        user = (pool.get("identity") or {}).get("user") or "the pool account"
        state = secret_state((pool.get("identity") or {}).get("password"))
        if state == "clear":
            yield fail(
                key,
                f"Application pool '{pool['name']}' stores the password of {user} in clear text in "
                "applicationHost.config, so anyone who reads the file or a backup of it can log on as that "
                "account; re-enter it with appcmd or IIS Manager (which encrypt it) and rotate it.",
                at=pool,
                account=user,
            )
        elif state == "unknown":
            yield not_reviewed(
                key,
                f"Application pool '{pool['name']}' stores a password, but the capture does not "
                "say whether it is encrypted.",
                at=pool,
            )
        elif state == "encrypted":
            yield passed(key, f"Application pool '{pool['name']}' stores its password encrypted.", at=pool)
        else:
            yield passed(key, f"Application pool '{pool['name']}' stores no password.", at=pool)


RULES: list = [cred_pool_password_clear]


@hookimpl
def iisguard_pack_info():
    return {"prefixes": ["IIS-CRED-"], "description": "Built-in IIS-CRED-* rules"}


@hookimpl
def iisguard_register_rules():
    return RULES

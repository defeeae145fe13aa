"""Built-in rule pack: IIS-CRED-* rules, credentials stored in configuration (RULES.md §3F, §3H)."""

from __future__ import annotations

from iisguard import (
    Parameter,
    accounts,
    fail,
    hookimpl,
    iis,
    not_applicable,
    not_reviewed,
    passed,
    rule,
    sids,
)
from iisguard import references as refs


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
    references=[refs.MS_PROCMODEL, refs.CIS_2_8, refs.MS_CNG],
    needs=("iis",),
)
def cred_pool_password_clear(snap, params):
    """Checks: for every application pool whose processModel carries a password attribute, whether the
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
    """
    for pool in snap.app_pools:
        key = iis.pool_key(pool["name"])
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


WAS_ONLY_PROVIDERS = ["IISWASOnlyCngProvider", "IISWASOnlyAesProvider", "IISWASOnlyRsaProvider"]


@rule(
    id="IIS-CRED-002",
    name="cred.pool_password_worker_key",
    title="App pool password encrypted with a provider a worker can use",
    severity="high",
    category="cred",
    description="An application pool's password is encrypted with a provider other than the WAS-only ones "
    "(e.g. IISCngProvider or AesProvider), whose key IIS_IUSRS, and so every worker process, can use.",
    rationale="Code running in any pool can then decrypt the pool account's password from applicationHost.config "
    "(or its isolated copy) and log on as that account elsewhere.",
    remediation="appcmd set config -section:system.applicationHost/applicationPools "
    "\"/[name='<name>'].processModel.password:<password>\" /commit:apphost  "
    "(IIS re-encrypts it with the section's WAS-only provider)\n"
    "Set-ItemProperty IIS:\\AppPools\\<name> -Name processModel.password -Value <password>",
    references=[refs.MS_CNG, refs.MS_PROCMODEL],
    parameters=[
        Parameter(
            "was_only_providers",
            WAS_ONLY_PROVIDERS,
            "Providers whose key only SYSTEM and Administrators can use",
        ),
    ],
    needs=("iis",),
)
def cred_pool_password_worker_key(snap, params):
    """Checks: every pool password captured as encrypted: its provider (from `[enc:<provider>:…:enc]`) must be
    one of `was_only_providers` (IISWASOnlyCngProvider on IIS 10, IISWASOnlyAesProvider or
    IISWASOnlyRsaProvider on older IIS). An unknown provider is not_reviewed; pools without a password, or
    with a clear one (IIS-CRED-001), are not applicable.
    Why: MS-CNG: the WAS-only key is readable only by SYSTEM and Administrators, while IIS_IUSRS can use
    the IISCngProvider/AesProvider key; a password encrypted with the latter is effectively readable by any
    compromised worker.
    Bad: `password="[enc:IISCngProvider:…:enc]"` on a processModel (copied from a web.config-style section
    or written by a script with the wrong provider).
    Good: `password="[enc:IISWASOnlyCngProvider:…:enc]"`, as appcmd and IIS Manager write it, or a gMSA.
    """
    allowed = {p.casefold() for p in params["was_only_providers"]}
    for pool in snap.app_pools:
        key = iis.pool_key(pool["name"])
        secret = (pool.get("identity") or {}).get("password")
        state = secret_state(secret)
        if state != "encrypted":
            yield not_applicable(
                key, f"Application pool '{pool['name']}' stores no encrypted password.", at=pool
            )
            continue
        provider = secret.get("provider")
        if not provider:
            yield not_reviewed(
                key, f"The encryption provider of pool '{pool['name']}''s password was not captured.", at=pool
            )
        elif provider.casefold() in allowed:
            yield passed(key, f"Pool '{pool['name']}''s password is encrypted with {provider}.", at=pool)
        else:
            yield fail(
                key,
                f"Application pool '{pool['name']}' has its password encrypted with {provider}, a key IIS_IUSRS (every "
                "worker process) can use, so a compromised site can recover it; re-enter it with appcmd or IIS "
                "Manager so it is encrypted with the WAS-only provider, and rotate it.",
                at=pool,
                provider=provider,
            )


@rule(
    id="IIS-CRED-003",
    name="cred.anonymous_password",
    title="Custom anonymous-user password stored in config",
    severity="medium",
    category="cred",
    description="An anonymousAuthentication section (applicationHost.config or a web.config) stores a password "
    "for a custom anonymous account.",
    rationale="The password of an account every visitor's requests run as sits in configuration, encrypted at "
    "best with a key the worker processes can use, and in clear at worst.",
    remediation='appcmd set config "<location>" -section:system.webServer/security/authentication/'
    'anonymousAuthentication /userName:"" /password:"" /commit:apphost\n'
    "Clear-WebConfiguration -PSPath IIS:\\ -Location '<location>' -Filter "
    "system.webServer/security/authentication/anonymousAuthentication/@password",
    references=[refs.CIS_1_6, refs.CIS_2_8, refs.MS_CNG, refs.MS_ANON],
    needs=("iis",),
)
def cred_anonymous_password(snap, params):
    """Checks: every captured authentication entry (server level as MACHINE/WEBROOT/APPHOST, sites,
    applications, web.config locations) whose anonymous section carries a password. An encrypted
    password fails as a warning; a clear one fails as high (the worse case).
    Why: CIS 1.6 and 2.8: use IUSR or the pool identity, which need no stored password; the
    anonymous-user password is encrypted with the IISCngProvider/AES key that IIS_IUSRS can use, so a
    compromised worker can likely recover it (MS-CNG; RULES.md marks this per-attribute detail as
    inference).
    Bad: `<anonymousAuthentication userName="CORP\\webanon" password="[enc:IISCngProvider:…:enc]"/>`.
    Good: `<anonymousAuthentication userName=""/>` or `userName="IUSR"` with no password.
    """
    for entry in snap.iis.get("authentication") or []:
        anon = entry.get("anonymous")
        if not isinstance(anon, dict):
            continue
        key = iis.location_key(str(entry.get("location") or ""))
        state = secret_state(anon.get("password"))
        user = anon.get("user") or "the anonymous account"
        where = str(entry.get("location") or "") or "server level"
        if state == "none":
            yield passed(key, f"No anonymous-user password is stored at {where}.", at=anon)
            continue
        how = {
            "clear": "in clear text",
            "encrypted": "encrypted with a key worker processes can use",
            "unknown": "(protection not captured)",
        }[state]
        yield fail(
            key,
            f"At {where}, the anonymous account {user} has its password stored {how}, so it can be recovered from "
            'configuration; use IUSR or the pool identity (userName="") and remove the password.',
            at=anon,
            account=user,
            protection=state,
            # RULES.md: warning, error if unencrypted.
            **({"severity": "high"} if state == "clear" else {}),
        )


@rule(
    id="IIS-CRED-004",
    name="cred.connect_as",
    title="Connect-as credentials on a virtual directory or application",
    severity="medium",
    category="cred",
    description="A virtual directory stores fixed connect-as credentials (userName and password), typically "
    "for UNC content.",
    rationale="The account's password lives in applicationHost.config and is used for every request to that "
    "content; if the account is privileged, the web server holds a privileged password.",
    remediation='appcmd set vdir "<site>/<app>/<vdir>" /userName:"" /password:""\n'
    "Set-ItemProperty 'IIS:\\Sites\\<site>\\<vdir>' -Name userName -Value ''  "
    "(then grant the pool's computer account or gMSA access to the share)",
    references=[refs.MS_IDENT, refs.CIS_2_8],
    parameters=[
        Parameter(
            "privileged_groups",
            list(sids.PRIVILEGED_LOCAL_GROUPS),
            "Groups that make a connect-as account privileged (named in the message)",
        ),
    ],
    needs=("iis",),
)
def cred_connect_as(snap, params):
    """Checks: every virtual directory (including application roots) whose connect-as password is present.
    The message says when the password is in clear and when the account is in a privileged group (by
    SID, transitively); either raises the finding to high.
    Why: MS-IDENT ("IUSR versus Connect as"): fixed credentials in applicationHost.config are a stored
    secret; passthrough authentication with the pool identity (acting as the computer account or a gMSA
    on the network) needs none. CIS 2.8 asks that credentials not be stored in configuration.
    Bad: `<virtualDirectory path="/" physicalPath="\\\\files\\web" userName="CORP\\svc_files"
    password="[enc:…:enc]"/>`.
    Good: `<virtualDirectory path="/" physicalPath="\\\\files\\web"/>` with the share granting
    `CORP\\WEB01$` (or the pool's gMSA) read.
    """
    for site in snap.sites:
        for app in site.get("applications") or []:
            for vdir in app.get("virtual_directories") or []:
                key = iis.vdir_key(site["name"], str(app.get("path") or "/"), str(vdir.get("path") or "/"))
                state = secret_state(vdir.get("password"))
                if state == "none":
                    yield passed(key, "No connect-as password is stored.", at=vdir)
                    continue
                user = vdir.get("user") or "an account"
                extra = []
                if state == "clear":
                    extra.append("in clear text")
                if vdir.get("user"):
                    m = snap.accounts.membership(
                        user, accounts.privileged_groups(params["privileged_groups"])
                    )
                    if m.hits:
                        extra.append(f"and {user} is a member of {', '.join(m.hits)}")
                yield fail(
                    key,
                    f"Virtual directory {key.split('/', 1)[1]} ({vdir.get('physical_path') or 'no path'}) stores the "
                    f"connect-as password of {user}{(' ' + ' '.join(extra)) if extra else ''}; use pass-through "
                    "authentication with the pool identity and grant it access to the content instead.",
                    at=vdir,
                    account=user,
                    protection=state,
                    # RULES.md: escalate to error when unencrypted or the account is privileged.
                    **({"severity": "high"} if extra else {}),
                )


@rule(
    id="IIS-CRED-005",
    name="cred.aspnet_identity_password",
    title="ASP.NET <identity impersonate userName password> in web.config",
    severity="critical",
    category="cred",
    description='A web.config\'s <system.web><identity impersonate="true" userName=… password=…/> stores an '
    "account's password and the section is not protected.",
    rationale="The password is in clear text in a file that sits with the site's content, readable by the "
    "worker and often by deployment tooling and source control.",
    remediation="aspnet_regiis -pef system.web/identity <physical path of the application>\n"
    "or remove userName/password and run the pool as that identity: "
    "appcmd set apppool <name> /processModel.identityType:SpecificUser /processModel.userName:<gMSA$>",
    references=[refs.CIS_2_8, refs.MS_IDENT],
    needs=("web_configs",),
)
def cred_aspnet_identity_password(snap, params):
    """Checks: each captured web.config (`aspnet[].identity`) and each authentication entry's
    `impersonation`: a password present and neither the password nor the section protected
    (configProtectedData / aspnet_regiis -pe) fails. An identity with no stored password passes.
    Why: CIS 2.8: credentials must not be stored in configuration files; an unprotected
    `<identity password=…>` is a clear-text password next to the content.
    Bad: `<identity impersonate="true" userName="CORP\\svc_app" password="P@ssw0rd"/>`.
    Good: `<identity impersonate="false"/>` with the pool running as the needed account (a gMSA), or the
    section encrypted with `aspnet_regiis -pef system.web/identity D:\\Sites\\App`.
    """
    entries = [(a.get("location") or "", a.get("identity"), a) for a in snap.data.get("aspnet") or []]
    entries += [
        (a.get("location") or "", a.get("impersonation"), a)
        for a in snap.iis.get("authentication") or []
        if isinstance(a.get("impersonation"), dict)
    ]
    for location, ident, at in entries:
        key = iis.aspnet_key(str(location))
        if not isinstance(ident, dict):
            yield passed(key, "No <identity> credentials are configured.", at=at)
            continue
        state = secret_state(ident.get("password"))
        if state == "none":
            yield passed(key, "The <identity> element stores no password.", at=ident)
        elif state == "encrypted" or ident.get("protected") is True:
            yield passed(key, "The <identity> password is protected.", at=ident)
        else:
            user = ident.get("user") or "an account"
            yield fail(
                key,
                f"The web.config at {location or 'server level'} stores the password of {user} in its <identity> "
                "element without protection, so anyone who reads the file can log on as that account; run the pool "
                "as that identity instead or encrypt the section with aspnet_regiis -pef, and rotate the password.",
                at=ident,
                account=user,
            )


@rule(
    id="IIS-CRED-006",
    name="cred.forms_credentials",
    title="Forms <credentials> users stored in config",
    severity="high",
    category="cred",
    description="A web.config's forms authentication <credentials> element stores users, in clear "
    '(passwordFormat="Clear") or as unsalted hashes.',
    rationale="Clear passwords in configuration are readable by anyone with the file; SHA1/MD5 hashes without "
    "salt fall to offline cracking.",
    remediation="Set-WebConfigurationProperty -PSPath 'IIS:\\Sites\\<site>' -Filter "
    "system.web/authentication/forms/credentials -Name passwordFormat -Value SHA1  (interim)\n"
    "Remove-WebConfigurationProperty -PSPath 'IIS:\\Sites\\<site>' -Filter "
    "system.web/authentication/forms/credentials -Name . -AtElement @{}  (move users to a membership store)",
    references=[refs.CIS_2_7, refs.CIS_2_8],
    parameters=[
        Parameter(
            "allow_hashed", False, "Accept hashed credentials (only passwordFormat=Clear fails)", type="bool"
        ),
    ],
    needs=("web_configs",),
)
def cred_forms_credentials(snap, params):
    """Checks: each captured web.config's forms credentials: users with passwordFormat Clear fail (CIS 2.7);
    users with a hash format (SHA1 is the .NET default) fail too (CIS 2.8) unless `allow_hashed`. No users
    passes.
    Why: CIS 2.7 forbids clear passwords in `<credentials>`; CIS 2.8 (level 2) forbids storing credentials in
    configuration at all, because unsalted SHA1/MD5 hashes are cracked offline.
    Bad: `<credentials passwordFormat="Clear"><user name="admin" password="admin"/></credentials>`.
    Good: no `<credentials>` users; forms authentication backed by a membership/identity store.
    """
    for entry in snap.data.get("aspnet") or []:
        key = iis.aspnet_key(str(entry.get("location") or ""))
        forms = entry.get("forms_credentials")
        users = (forms or {}).get("users") or 0
        if not users:
            yield passed(key, "No forms <credentials> users are stored.", at=forms or entry)
            continue
        fmt = str(forms.get("password_format") or "SHA1")
        where = entry.get("location") or "server level"
        if fmt.casefold() == "clear":
            yield fail(
                key,
                f'The web.config at {where} stores {users} forms user(s) with passwordFormat="Clear", so their '
                "passwords are readable by anyone with the file; move them to a membership store.",
                at=forms,
                password_format=fmt,
                users=users,
            )
        elif params["allow_hashed"]:
            yield passed(key, f"Forms users at {where} are stored hashed ({fmt}).", at=forms)
        else:
            yield fail(
                key,
                f"The web.config at {where} stores {users} forms user(s) as unsalted {fmt} hashes, which can be "
                "cracked offline; move them to a membership store.",
                at=forms,
                password_format=fmt,
                users=users,
            )


@rule(
    id="IIS-CRED-009",
    name="cred.certificate_mapping_passwords",
    title="Client-certificate one-to-one mappings store Windows passwords",
    severity="medium",
    category="cred",
    description="iisClientCertificateMappingAuthentication one-to-one mappings store the user name and "
    "password of the Windows account each certificate maps to.",
    rationale="Each mapping is a stored Windows password in configuration; many-to-one mappings or Active "
    "Directory client certificate mapping need none.",
    remediation='appcmd set config "<site>" -section:system.webServer/security/authentication/'
    "iisClientCertificateMappingAuthentication /-oneToOneMappings /commit:apphost\n"
    "(use clientCertificateMappingAuthentication (AD mapping) instead)",
    references=[refs.CIS_2_8, refs.MS_CERTMAP],
    needs=("iis",),
)
def cred_certificate_mapping_passwords(snap, params):
    """Checks: each authentication entry's client-certificate mapping facts: one_to_one_with_password > 0
    fails; 0 passes; mappings counted but the password count missing is not_reviewed.
    Why: CIS 2.8: credentials must not be stored in configuration; every one-to-one mapping with a
    password is one more Windows password in applicationHost.config.
    Bad: `<oneToOneMappings><add userName="CORP\\partner" password="[enc:…:enc]" certificate="…"/>`.
    Good: Active Directory client certificate mapping, or many-to-one rules without stored passwords.
    """
    for entry in snap.iis.get("authentication") or []:
        cert = entry.get("client_certificate")
        if not isinstance(cert, dict):
            continue
        key = iis.location_key(str(entry.get("location") or ""))
        where = str(entry.get("location") or "") or "server level"
        with_password = cert.get("one_to_one_with_password")
        if with_password:
            yield fail(
                key,
                f"{with_password} client-certificate one-to-one mapping(s) at {where} store a Windows password in "
                "configuration; use Active Directory certificate mapping or many-to-one rules instead.",
                at=cert,
                mappings=with_password,
            )
        elif with_password is None and cert.get("one_to_one_mappings"):
            yield not_reviewed(
                key,
                f"One-to-one mappings exist at {where}, but whether they store passwords was not captured.",
                at=cert,
            )
        else:
            yield passed(key, f"No certificate mapping at {where} stores a password.", at=cert)


@rule(
    id="IIS-CRED-010",
    name="cred.connection_string_passwords",
    title="Connection strings with inline passwords, unprotected",
    severity="medium",
    category="cred",
    description="A web.config's <connectionStrings> holds connection strings with a Password=/Pwd= and the "
    "section is not encrypted.",
    rationale="Database passwords in clear text next to the content are read by anyone who can read the file: "
    "a path-traversal bug, a backup, a deployment share or source control.",
    remediation="aspnet_regiis -pef connectionStrings <physical path of the application>\n"
    "or drop the password and use the pool identity (a gMSA): Set-WebConfigurationProperty -PSPath "
    "'IIS:\\Sites\\<site>' -Filter \"connectionStrings/add[@name='<name>']\" -Name connectionString "
    "-Value 'Server=<sql>;Database=<db>;Integrated Security=SSPI'",
    references=[refs.CIS_2_8, refs.MS_CONNSTR],
    needs=("web_configs",),
)
def cred_connection_string_passwords(snap, params):
    """Checks: each captured web.config's connection-string facts: with_password > 0 while the section is
    not protected (configProtectedData) fails; protected sections and strings without passwords pass.
    Why: CIS 2.8: credentials must not be stored in configuration files; a clear-text SQL password in
    web.config is one of the most common secrets found on web servers.
    Bad: `<add name="Db" connectionString="Server=sql;User ID=app;Password=Secret1"/>` in clear.
    Good: `Integrated Security=SSPI` with the pool identity, or the section encrypted
    (`<connectionStrings configProtectionProvider="RsaProtectedConfigurationProvider">`).
    """
    for entry in snap.data.get("aspnet") or []:
        key = iis.aspnet_key(str(entry.get("location") or ""))
        conn = entry.get("connection_strings")
        where = entry.get("location") or "server level"
        if not isinstance(conn, dict) or not conn.get("with_password"):
            yield passed(key, f"No connection string at {where} carries a password.", at=conn or entry)
        elif conn.get("protected") is True:
            yield passed(key, f"The connectionStrings section at {where} is encrypted.", at=conn)
        else:
            yield fail(
                key,
                f"The web.config at {where} has {conn['with_password']} connection string(s) with an inline password "
                "in an unencrypted section; use integrated security with the pool identity or encrypt the "
                "section with aspnet_regiis -pef connectionStrings.",
                at=conn,
                with_password=conn["with_password"],
            )


LEGACY_SECRETS = (
    ("anonymous_password", "AnonymousUserPass", "anonymous_user"),
    ("wam_password", "WAMUserPass", "wam_user"),
    ("unc_password", "UNCPassword", None),
)


@rule(
    id="IIS-CRED-011",
    name="cred.legacy_metabase_secrets",
    title="Legacy metabase secrets present",
    severity="medium",
    category="cred",
    description="The IIS 6 metabase (or the IIS 7+ Metabase Compatibility feature) stores AnonymousUserPass, "
    "WAMUserPass or UNCPassword.",
    rationale="Administrative scripts can read these passwords back from the metabase in clear "
    "(IIsWebService / adsutil), exposing the IUSR_/IWAM_ accounts and UNC credentials.",
    remediation="cscript adsutil.vbs DELETE W3SVC/UNCPassword\n"
    "cscript adsutil.vbs SET W3SVC/AnonymousUserName IUSR  (IIS 7+: Remove-WindowsFeature Web-Metabase)\n"
    "net user IUSR_<host> <new password> (rotate)",
    references=[refs.MS_IIS6ACCT, refs.MS_WAMUSERPASS],
    needs=("iis",),
)
def cred_legacy_metabase_secrets(snap, params):
    """Checks: the IIS 6 metabase facts (`iis.legacy`): AnonymousUserPass, WAMUserPass (IWAM_<host>, used by
    out-of-process applications in IIS 5.0 isolation mode) and UNCPassword. Any present fails; a captured
    metabase without them passes; hosts without a metabase are not applicable.
    Why: the metabase keeps these passwords so IIS can log the accounts on, and its admin interfaces
    return them to administrative scripts; every one is a standing credential for an account that
    often has never been rotated.
    Bad: metabase.xml `<IIsWebService AnonymousUserName="IUSR_WEB01" AnonymousUserPass="…" WAMUserPass="…">`.
    Good: IIS 7+ with the built-in IUSR (no password) and the Metabase Compatibility feature removed.
    """
    legacy = snap.iis.get("legacy")
    if not legacy:
        return
    found = []
    for field, prop, user_field in LEGACY_SECRETS:
        if secret_state(legacy.get(field)) != "none":
            owner = legacy.get(user_field) if user_field else None
            found.append(f"{prop}" + (f" ({owner})" if owner else ""))
    if found:
        yield fail(
            "host",
            f"The IIS metabase stores {', '.join(found)}, passwords that administrative scripts can read back; "
            "remove them (and the Metabase Compatibility feature on IIS 7+) and rotate the accounts' passwords.",
            at=legacy,
            secrets=found,
        )
    else:
        yield passed("host", "The IIS metabase stores no anonymous, WAM or UNC passwords.", at=legacy)


RULES: list = [
    cred_pool_password_clear,
    cred_pool_password_worker_key,
    cred_anonymous_password,
    cred_connect_as,
    cred_aspnet_identity_password,
    cred_forms_credentials,
    cred_certificate_mapping_passwords,
    cred_connection_string_passwords,
    cred_legacy_metabase_secrets,
]


@hookimpl
def iisguard_pack_info():
    return {"prefixes": ["IIS-CRED-"], "description": "Built-in IIS-CRED-* rules"}


@hookimpl
def iisguard_register_rules():
    return RULES

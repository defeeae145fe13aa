"""Built-in rule pack: IIS-CFG-036..041, TLS requirements set in the IIS configuration (issue #19):
sslFlags for authenticated and private sites, client certificates, HSTS, FTP over TLS and FTP logon
restrictions. Protocol and cipher settings (SCHANNEL) are the IIS-TLS-* rules."""

from __future__ import annotations

from functools import lru_cache

from iisguard import Parameter, fail, hookimpl, iis, names, not_applicable, not_reviewed, passed, rule
from iisguard import references as refs
from iisguard import settings as st

from .hardening_common import bad, good, scoped, unknown

ACCESS = "system.webServer/security/access"
AUTH = "system.web/authentication"
HEADERS = "system.webServer/httpProtocol"
FTP_AUTH = "system.ftpServer/security/authentication"
SITES = st.SITES


@rule(
    id="IIS-CFG-036",
    name="cfg.credentials_without_ssl",
    title="Basic or forms authentication without Require SSL",
    severity="medium",
    category="hardening",
    description="Basic authentication or ASP.NET forms authentication is in force at a site, application "
    "or folder whose sslFlags do not require SSL, so credentials can be sent over plain HTTP.",
    rationale="Basic authentication sends the password base64-encoded with every request and forms "
    "authentication posts it in the login form: without TLS anyone on the path reads it.",
    remediation="appcmd set config '<site>' /section:system.webServer/security/access /sslFlags:Ssl "
    "/commit:apphost\n"
    "Set-WebConfigurationProperty -PSPath IIS:\\ -Location '<site>' -Filter system.webServer/security/access "
    "-Name sslFlags -Value Ssl",
    references=[refs.CIS_2_6, refs.STIG_218738, refs.MS_ACCESS],
    needs=("iis",),
)
def credentials_without_ssl(snap, params):
    """Checks: every site, application and configured folder where basic authentication is enabled (the
    effective authentication, as IIS-ANON rules read it) or ASP.NET forms authentication is the mode,
    that the effective `access/@sslFlags` include Ssl. Where neither is in force the location is not
    applicable.
    Why: CIS 2.6 requires TLS for basic authentication; STIG V-218738 requires a public site that needs
    authentication to accept only TLS connections.
    Bad: `<basicAuthentication enabled="true"/>` with `<access sslFlags="None"/>`.
    Good: `<access sslFlags="Ssl, Ssl128"/>` wherever basic or forms authentication is on.
    """
    get, lookup = snap.settings.get, snap.settings.lookup
    for loc in snap.locations:
        basic = loc.auth("basic")
        mode, source, *_ = lookup(AUTH, "mode", loc.path)
        uses = []
        if basic is not None and basic.get("enabled"):
            uses.append("basic authentication")
        if source != "unknown" and (mode or "").strip().casefold() == "forms":
            uses.append("forms authentication")
        if not uses:
            if basic is None:
                yield not_reviewed_auth(loc)
            else:
                yield not_applicable(
                    loc.key, f"'{loc.path}' uses neither basic nor forms authentication.", at=basic
                )
            continue
        s = get(ACCESS, "sslFlags", loc.path)
        if s.source == "unknown":
            yield unknown(loc.key, f"'{loc.path}'", s)
        elif "ssl" in s.flags():
            yield good(loc.key, f"'{loc.path}' uses {' and '.join(uses)} and requires SSL {s.where}.", s)
        else:
            yield bad(
                loc.key,
                f"'{loc.path}' uses {' and '.join(uses)} but sslFlags is {s.value!r} {s.where}, so passwords can "
                "cross the network in clear text; require SSL (sslFlags Ssl) there.",
                s,
            )


def not_reviewed_auth(loc):
    return not_reviewed(loc.key, f"No authentication settings were captured for '{loc.path}'.")


def _private(snap, params):
    for site in snap.sites:
        name = site["name"]
        if names.matches_any(name, params["public_sites"]):
            yield site, None
        else:
            yield site, snap.setting(ACCESS, "sslFlags", name)


@rule(
    id="IIS-CFG-037",
    name="cfg.private_site_ssl",
    title="Private site accepts connections without TLS",
    severity="medium",
    category="hardening",
    description="A site not listed as public does not require SSL (sslFlags without Ssl).",
    rationale="A private (internal, DoD) site carries controlled information: every connection must be "
    "encrypted. Off in the default profile (the scanner cannot tell private from public sites); the "
    "stig-iis10 profile enables it, reading every site not in `public_sites` as private.",
    remediation="Set-WebConfigurationProperty -PSPath IIS:\\ -Location '<site>' -Filter "
    "system.webServer/security/access -Name sslFlags -Value 'Ssl,Ssl128'\n"
    "appcmd set config '<site>' /section:access /sslFlags:Ssl,Ssl128 /commit:apphost",
    references=[refs.STIG_218737, refs.MS_ACCESS],
    parameters=[Parameter("public_sites", [], "Site names or globs that are public (not applicable)")],
    needs=("iis",),
    default_enabled=False,
)
def private_site_ssl(snap, params):
    """Checks: for every site not matched by `public_sites`, that the effective `access/@sslFlags` at the
    site include Ssl. Public sites are not applicable (STIG: the requirement is for private sites).
    Why: STIG V-218737 requires a private website to accept only TLS connections.
    Bad: an intranet site with `sslFlags="None"`.
    Good: `sslFlags="Ssl, Ssl128"`.
    """
    for site, s in _private(snap, params):
        res = iis.location_key(site["name"])
        if s is None:
            yield not_applicable(res, f"Site '{site['name']}' is listed as public.", at=site)
        elif not s.known:
            yield unknown(res, f"Site '{site['name']}'", s)
        elif "ssl" in s.flags():
            yield good(res, f"Site '{site['name']}' requires SSL {s.where}.", s)
        else:
            yield bad(
                res,
                f"Site '{site['name']}' is private but sslFlags is {s.value!r} {s.where}, so it accepts "
                "unencrypted connections; require SSL (or list it in public_sites).",
                s,
            )


@rule(
    id="IIS-CFG-038",
    name="cfg.private_site_client_certificates",
    title="Private site does not require client certificates",
    severity="medium",
    category="hardening",
    description="A site not listed as public does not require SSL with 128-bit keys and client "
    "certificates (sslFlags Ssl, Ssl128 and SslRequireCert).",
    rationale="Private DoD sites authenticate users with their PKI certificate, which also binds the "
    "session identifier to the client. Off in the default profile; the stig-iis10 profile enables it.",
    remediation="Set-WebConfigurationProperty -PSPath IIS:\\ -Location '<site>' -Filter "
    "system.webServer/security/access -Name sslFlags -Value 'Ssl,SslRequireCert,Ssl128'\n"
    "appcmd set config '<site>' /section:access /sslFlags:Ssl,SslRequireCert,Ssl128 /commit:apphost",
    references=[refs.STIG_218768, refs.STIG_218749, refs.MS_ACCESS],
    parameters=[Parameter("public_sites", [], "Site names or globs that are public (not applicable)")],
    needs=("iis",),
    default_enabled=False,
)
def private_site_client_certificates(snap, params):
    """Checks: for every site not matched by `public_sites`, that the effective `access/@sslFlags` include
    Ssl, Ssl128 and SslRequireCert.
    Why: STIG V-218768 (TLS and client certificates, ssl128) and V-218749 (client certificates for the
    session identifier) on private websites.
    Bad: `sslFlags="Ssl"` on a private site.
    Good: `sslFlags="Ssl, SslRequireCert, Ssl128"`.
    """
    need = {"ssl", "ssl128", "sslrequirecert"}
    for site, s in _private(snap, params):
        res = iis.location_key(site["name"])
        if s is None:
            yield not_applicable(res, f"Site '{site['name']}' is listed as public.", at=site)
        elif not s.known:
            yield unknown(res, f"Site '{site['name']}'", s)
        elif need <= s.flags():
            yield good(res, f"Site '{site['name']}' requires TLS and client certificates {s.where}.", s)
        else:
            missing = ", ".join(
                sorted(n for n in ("Ssl", "Ssl128", "SslRequireCert") if n.casefold() not in s.flags())
            )
            yield bad(
                res,
                f"Site '{site['name']}' is private but its sslFlags {s.value!r} {s.where} lack {missing}; "
                "require TLS and client certificates.",
                s,
            )


@rule(
    id="IIS-CFG-039",
    name="cfg.hsts",
    title="HTTP Strict Transport Security not enabled",
    severity="low",
    category="hardening",
    description="Neither the IIS 10 `<hsts>` element (enabled, max-age > 0, includeSubDomains, "
    "redirectHttpToHttps) nor a Strict-Transport-Security custom header is configured for siteDefaults "
    "or a site.",
    rationale="Without HSTS a browser's first request, and every link typed as http://, can be downgraded "
    "and intercepted (SSL stripping). Low: the STIG's own category (CAT III) and not an install default.",
    remediation="Set-IISConfigAttributeValue -ConfigElement (Get-IISConfigSection -SectionPath "
    "system.applicationHost/sites | Get-IISConfigElement -ChildElementName siteDefaults | "
    "Get-IISConfigElement -ChildElementName hsts) -AttributeName enabled -AttributeValue $true\n"
    "appcmd set config -section:system.applicationHost/sites /siteDefaults.hsts.enabled:true "
    "/siteDefaults.hsts.max-age:31536000 /siteDefaults.hsts.includeSubDomains:true "
    "/siteDefaults.hsts.redirectHttpToHttps:true /commit:apphost",
    references=[refs.STIG_218827, refs.CIS_7_1, refs.MS_HSTS],
    needs=("iis",),
)
def hsts(snap, params):
    """Checks: siteDefaults and every site: the effective `hsts` attributes (enabled true, max-age above 0,
    includeSubDomains true, redirectHttpToHttps true; IIS 10 version 1709 and later), or, for older
    servers, a `Strict-Transport-Security` custom header with a max-age above 0 at that level.
    Why: STIG V-218827 and CIS 7.1 require HSTS.
    Bad: no hsts element (the default: disabled).
    Good: `<hsts enabled="true" max-age="31536000" includeSubDomains="true" redirectHttpToHttps="true"/>`.
    """
    settings = snap.settings
    lookup, get = settings.lookup, settings.get
    headers: dict[int | None, st.Item | None] = {}  # entry in force for customHeaders -> the HSTS header
    # Per distinct (the four values, where the first short one is set): which fall short and the message
    # after the label; thousands of sites share a few. A Setting is built only for a new answer.
    answers: dict[tuple, tuple[list[int], str]] = {}
    for scope, res, who in scoped(snap, SITES):
        values = [lookup(SITES, attribute, scope) for _, attribute in _HSTS]
        if "unknown" in (values[0][1], values[1][1], values[2][1], values[3][1]):
            yield unknown(res, who, get(SITES, _HSTS[0][1], scope))
            continue
        key = (values[0][0], values[1][0], values[2][0], values[3][0])
        short = _hsts_short(key)
        first = values[short[0] if short else 0]  # where the message says the value is set
        answer_key = (key, first[1], id(first[2]))
        answer = answers.get(answer_key)
        if answer is None:
            answer = answers[answer_key] = _hsts_answer(
                key, short, get(SITES, _HSTS[short[0] if short else 0][1], scope)
            )
        short, tail = answer
        if not short:
            yield passed(res, who + tail, at=first[3], pointer=first[4])
            continue
        header = _hsts_header(settings, scope, headers)
        if header is not None:
            yield passed(
                res,
                f"{who}: a Strict-Transport-Security header is sent ({header.get('value')}).",
                at={"evidence": header.evidence} if header.evidence else None,
            )
        else:
            yield fail(res, who + tail, at=first[3], pointer=first[4])


@lru_cache(maxsize=256)
def _hsts_short(values: tuple) -> list[int]:
    """Which of the four hsts values (enabled, max-age, includeSubDomains, redirectHttpToHttps) fall short."""
    return [
        i
        for i, (v, flag) in enumerate(zip(values, (True, False, True, True), strict=True))
        if (st.as_bool(v) is not True if flag else not (st.as_int(v) or 0) > 0)
    ]


def _hsts_answer(values: tuple, short: list[int], s: st.Setting) -> tuple[list[int], str]:
    """(short, the message after the label): a pass when nothing falls short, else the failure naming
    the values that do; `s` is the first of those (or enabled)."""
    if not short:
        return short, f": HSTS is enabled {s.where}."
    wrong = ", ".join([f"{_HSTS[i][0]}={values[i]}" for i in short])
    return short, (
        f": HSTS is not fully enabled ({wrong} {s.where}), so browsers can be downgraded to HTTP; "
        "enable hsts with max-age, includeSubDomains and redirectHttpToHttps."
    )


_HSTS = [(a, f"hsts/{a}") for a in ("enabled", "max-age", "includeSubDomains", "redirectHttpToHttps")]


def _hsts_header(settings, scope, found):
    """The custom Strict-Transport-Security header with a max-age above 0 in force at `scope`, if any;
    `found` remembers the answer per settings entry (the server's customHeaders are every inheriting
    site's)."""
    entry = settings.entry(HEADERS, scope)
    key = None if entry is None else entry[0]
    if key not in found:
        found[key] = next(
            (h for h in settings.items(HEADERS, "customHeaders", scope)
             if (h.get("name") or "").casefold() == "strict-transport-security"
             and "max-age=0" not in (h.get("value") or "").replace(" ", "").casefold()),
            None,
        )  # fmt: skip
    return found[key]


def _ftp_sites(snap):
    return [
        s
        for s in snap.sites
        if any(str(b.get("protocol") or "").casefold() == "ftp" for b in s.get("bindings") or [])
    ]


@rule(
    id="IIS-CFG-040",
    name="cfg.ftp_ssl",
    title="FTP site does not require TLS",
    severity="medium",
    category="hardening",
    description="An FTP site's ftpServer/security/ssl controlChannelPolicy or dataChannelPolicy is not "
    "SslRequire, so logins or files may cross the network in clear text.",
    rationale="FTP sends the user name, password and files in clear text unless TLS is required on both "
    "channels.",
    remediation="Set-ItemProperty 'IIS:\\Sites\\<ftp site>' -Name ftpServer.security.ssl.controlChannelPolicy "
    "-Value 1\n"
    "Set-ItemProperty 'IIS:\\Sites\\<ftp site>' -Name ftpServer.security.ssl.dataChannelPolicy -Value 1",
    references=[refs.CIS_6_1, refs.MS_FTP_SSL],
    needs=("iis",),
)
def ftp_ssl(snap, params):
    """Checks: every site with an ftp binding: the effective `ftpServer/security/ssl/@controlChannelPolicy`
    and `@dataChannelPolicy` (site, else siteDefaults, else the schema default SslRequire) must both be
    SslRequire. Servers without an FTP site are not applicable.
    Why: CIS 6.1 requires FTP requests to be encrypted.
    Bad: `<ssl controlChannelPolicy="SslAllow" dataChannelPolicy="SslAllow"/>`.
    Good: `<ssl serverCertHash="..." controlChannelPolicy="SslRequire" dataChannelPolicy="SslRequire"/>`.
    """
    sites = _ftp_sites(snap)
    if not sites:
        yield not_applicable(iis.location_key(""), "No site has an FTP binding.")
        return
    for site in sites:
        res, who = iis.location_key(site["name"]), f"FTP site '{site['name']}'"
        control = snap.setting(SITES, "ftpServer/security/ssl/controlChannelPolicy", site["name"])
        data = snap.setting(SITES, "ftpServer/security/ssl/dataChannelPolicy", site["name"])
        if not control.known or not data.known:
            yield unknown(res, who, control)
            continue
        weak = [s for s in (control, data) if (s.value or "").strip().casefold() not in ("sslrequire", "1")]
        if weak:
            yield bad(
                res,
                f"{who}: {', '.join(f'{s.attribute.rsplit(chr(47), 1)[-1]}={s.value}' for s in weak)} "
                f"{weak[0].where}, so credentials or files may travel unencrypted; set both to SslRequire.",
                weak[0],
            )
        else:
            yield good(res, f"{who}: TLS is required on the control and data channels.", control)


@rule(
    id="IIS-CFG-041",
    name="cfg.ftp_logon_restrictions",
    title="FTP logon attempt restrictions off",
    severity="medium",
    category="hardening",
    description="The server has an FTP site and system.ftpServer/security/authentication denyByFailure is "
    "not enabled.",
    rationale="Without logon attempt restrictions an FTP site allows unlimited password guessing.",
    remediation="appcmd set config -section:system.ftpServer/security/authentication "
    "/denyByFailure.enabled:true /denyByFailure.maxFailure:5 /commit:apphost\n"
    "Set-WebConfigurationProperty -PSPath IIS:\\ -Filter system.ftpServer/security/authentication/"
    "denyByFailure -Name enabled -Value True",
    references=[refs.CIS_6_2, refs.MS_FTP_DENY_BY_FAILURE],
    needs=("iis",),
)
def ftp_logon_restrictions(snap, params):
    """Checks: when a site has an ftp binding, the effective
    `system.ftpServer/security/authentication/denyByFailure/@enabled` at the server (default false).
    Why: CIS 6.2 requires FTP logon attempt restrictions.
    Bad: an FTP site with no denyByFailure.
    Good: `<denyByFailure enabled="true" maxFailure="5" entryExpiration="00:00:30"/>`.
    """
    res = iis.location_key("")
    if not _ftp_sites(snap):
        yield not_applicable(res, "No site has an FTP binding.")
        return
    s = snap.setting(FTP_AUTH, "denyByFailure/enabled", "")
    if not s.known:
        yield unknown(res, "The server level", s)
    elif s.flag():
        yield good(res, f"FTP logon attempt restrictions are enabled {s.where}.", s)
    else:
        yield bad(
            res,
            f"FTP logon attempt restrictions are off {s.where}, so FTP accounts can be brute-forced; "
            "enable denyByFailure.",
            s,
        )


RULES = [
    credentials_without_ssl,
    private_site_ssl,
    private_site_client_certificates,
    hsts,
    ftp_ssl,
    ftp_logon_restrictions,
]


@hookimpl
def iisguard_pack_info():
    return {
        "prefixes": ["IIS-CFG-"],
        "description": "Built-in IIS-CFG-* rules: TLS requirements in the IIS configuration",
    }


@hookimpl
def iisguard_register_rules():
    return RULES

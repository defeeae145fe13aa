"""Built-in rule pack: IIS-CFG-021..035, ASP.NET and ASP settings in web.config files (issue #19):
debug compilation, custom errors, tracing, retail deployment, session state, cookies, forms
authentication, machine key, trust level.

ASP.NET settings live in web.config files; where the capture has no web.config for an application (the
capture script saves every application root's), the .NET Framework 4.x defaults apply. The ASP.NET root
web.config and machine.config are not captured: a value changed there is not seen.
"""

from __future__ import annotations

from iisguard import Parameter, hookimpl, not_applicable, rule
from iisguard import references as refs

from .hardening_common import bad, good, judge, label, resource, unknown

COMPILATION = "system.web/compilation"
CUSTOM_ERRORS = "system.web/customErrors"
TRACE = "system.web/trace"
DEPLOYMENT = "system.web/deployment"
SESSION = "system.web/sessionState"
COOKIES = "system.web/httpCookies"
AUTH = "system.web/authentication"
MACHINE_KEY = "system.web/machineKey"
TRUST = "system.web/trust"
ASP = "system.webServer/asp"
NEEDS = ("iis", "web_configs")


def _not(s):
    return None if s.flag() is None else not s.flag()


@rule(
    id="IIS-CFG-021",
    name="cfg.debug_compilation",
    title="ASP.NET debug compilation enabled",
    severity="medium",
    category="hardening",
    description='`<compilation debug="true">` is in force at the server, a site or an application.',
    rationale="Debug builds disable batch compilation and time-outs, keep debug symbols and send stack "
    "traces with source lines to clients, which exposes code and slows the server.",
    remediation="appcmd set config '<site>' /section:system.web/compilation /debug:false\n"
    "Set-WebConfigurationProperty -PSPath 'IIS:\\Sites\\<site>' -Filter system.web/compilation -Name debug "
    "-Value False",
    references=[refs.STIG_218761, refs.CIS_3_2, refs.MS_COMPILATION],
    needs=NEEDS,
)
def debug_compilation(snap, params):
    """Checks: the effective `compilation/@debug` at the server and every site, application or folder
    whose web.config sets it; absent, the default (false) passes.
    Why: STIG V-218761 and CIS 3.2 require debugging disabled in production.
    Bad: `<compilation debug="true" targetFramework="4.8"/>`.
    Good: `<compilation debug="false"/>`, or no debug attribute.
    """
    yield from judge(
        snap, COMPILATION, "debug", _not,
        lambda s: f"ASP.NET compiles with debug=\"true\" {s.where}, which sends stack traces with "
        "source lines to clients and disables time-outs; set debug to false.",
        lambda s: f"debug compilation is off {s.where}.",
    )  # fmt: skip


@rule(
    id="IIS-CFG-022",
    name="cfg.custom_errors_off",
    title="ASP.NET custom errors off",
    severity="medium",
    category="hardening",
    description='`<customErrors mode="Off">` is in force: ASP.NET shows its detailed error pages (yellow '
    "screen of death) to remote clients.",
    rationale="ASP.NET's detailed errors show exception messages, stack traces and source excerpts.",
    remediation="appcmd set config '<site>' /section:system.web/customErrors /mode:RemoteOnly\n"
    "Set-WebConfigurationProperty -PSPath 'IIS:\\Sites\\<site>' -Filter system.web/customErrors -Name mode "
    "-Value RemoteOnly",
    references=[refs.CIS_3_3, refs.MS_CUSTOM_ERRORS],
    needs=NEEDS,
)
def custom_errors_off(snap, params):
    """Checks: the effective `customErrors/@mode` at the server and every site, application or folder that
    sets it: On and RemoteOnly (the default) pass, Off fails.
    Why: CIS 3.3 requires custom error messages not to be off.
    Bad: `<customErrors mode="Off"/>`.
    Good: `<customErrors mode="RemoteOnly" defaultRedirect="error.html"/>`.
    """
    yield from judge(
        snap, CUSTOM_ERRORS, "mode",
        lambda s: {"on": True, "remoteonly": True, "off": False}.get((s.value or "").strip().casefold()),
        lambda s: f"customErrors mode is Off {s.where}, so remote clients see ASP.NET exception "
        "details; set it to RemoteOnly or On.",
        lambda s: f"customErrors mode is {s.value} {s.where}.",
    )  # fmt: skip


@rule(
    id="IIS-CFG-023",
    name="cfg.aspnet_trace",
    title="ASP.NET tracing enabled",
    severity="medium",
    category="hardening",
    description='`<trace enabled="true">` is in force: ASP.NET records requests and serves them at trace.axd.',
    rationale="Trace output holds request headers, cookies, session and form values; with localOnly=false "
    "anyone can read it at /trace.axd.",
    remediation="appcmd set config '<site>' /section:system.web/trace /enabled:false\n"
    "Set-WebConfigurationProperty -PSPath 'IIS:\\Sites\\<site>' -Filter system.web/trace -Name enabled "
    "-Value False",
    references=[refs.CIS_3_5, refs.STIG_218761, refs.MS_TRACE],
    needs=NEEDS,
)
def aspnet_trace(snap, params):
    """Checks: the effective `trace/@enabled` at the server and every site, application or folder that sets
    it; the default (false) passes. A trace enabled with localOnly="false" is worse and says so.
    Why: CIS 3.5 forbids ASP.NET stack tracing; STIG V-218761 requires debugging and trace information off.
    Bad: `<trace enabled="true" localOnly="false"/>`.
    Good: `<trace enabled="false"/>`, or nothing.
    """
    for scope in snap.settings.scopes(TRACE):
        res, who = resource(TRACE, scope), label(TRACE, scope, snap)
        s = snap.setting(TRACE, "enabled", scope)
        if not s.known:
            yield unknown(res, who, s)
        elif s.flag():
            remote = snap.setting(TRACE, "localOnly", scope).flag() is False
            yield bad(
                res,
                f"{who}: ASP.NET tracing is enabled {s.where}"
                + (" with localOnly=false, so anyone can read /trace.axd" if remote else "")
                + "; trace output holds headers, cookies and form values. Set enabled to false.",
                s,
            )
        else:
            yield good(res, f"{who}: ASP.NET tracing is off {s.where}.", s)


@rule(
    id="IIS-CFG-024",
    name="cfg.deployment_retail",
    title="ASP.NET deployment retail not set",
    severity="low",
    category="hardening",
    description='`<deployment retail="true">` is not set in machine.config, so each application\'s debug, '
    "trace and customErrors settings are honoured as written.",
    rationale="retail=true forces debug and trace off and custom errors on for every application of the "
    "server, whatever their web.config files say. Low: not a default; the cis-iis10 profile raises it.",
    remediation="Set-WebConfigurationProperty -PSPath 'MACHINE' -Filter system.web/deployment -Name retail "
    "-Value True -Clr 4.0\n"
    'Edit %windir%\\Microsoft.NET\\Framework64\\v4.0.30319\\Config\\machine.config: <deployment retail="true"/>',
    references=[refs.CIS_3_1, refs.MS_DEPLOYMENT],
    needs=NEEDS,
)
def deployment_retail(snap, params):
    """Checks: `deployment/@retail` at the server level, read from a captured machine.config (it may be set
    nowhere else). Without a captured machine-level file it is not reviewed, since the default (false)
    cannot be told from a change the capture did not see.
    Why: CIS 3.1 requires the retail deployment method.
    Bad: machine.config without `<deployment retail="true"/>`.
    Good: `<system.web><deployment retail="true"/></system.web>` in machine.config.
    """
    s = snap.setting(DEPLOYMENT, "retail", "")
    res = resource(DEPLOYMENT, "")
    if not s.configured and "" not in {p.casefold() for p in snap.settings.sources.get("aspnet_paths") or ()}:
        yield unknown(res, "The server level (machine.config)", s)
    elif s.flag():
        yield good(res, f"deployment retail is true {s.where}.", s)
    else:
        yield bad(
            res,
            f"deployment retail is {s.value} {s.where}, so applications may run with debug, trace "
            'and detailed errors; set <deployment retail="true"/> in machine.config.',
            s,
        )


@rule(
    id="IIS-CFG-025",
    name="cfg.session_cookieless",
    title="Session state not in Use Cookies mode",
    severity="medium",
    category="hardening",
    description="sessionState cookieless is not UseCookies at the server, a site or an application: the "
    "session id may travel in URLs.",
    rationale="A session id in the URL leaks through Referer headers, logs, bookmarks and shared links, and "
    "makes session fixation trivial.",
    remediation="appcmd set config '<site>' /section:system.web/sessionState /cookieless:UseCookies\n"
    "Set-WebConfigurationProperty -PSPath 'IIS:\\Sites\\<site>' -Filter system.web/sessionState -Name "
    "cookieless -Value UseCookies",
    references=[refs.STIG_218804, refs.STIG_218736, refs.STIG_218805, refs.CIS_3_6, refs.MS_SESSION_STATE],
    needs=NEEDS,
)
def session_cookieless(snap, params):
    """Checks: the effective `sessionState/@cookieless` at the server and every site, application or folder
    that sets it: UseCookies (or "false", its old spelling; the default) passes; UseUri, AutoDetect,
    UseDeviceProfile and "true" fail.
    Why: STIG V-218804 (server), V-218736 and V-218805 (site) and CIS 3.6 require cookie mode.
    Bad: `<sessionState cookieless="UseUri"/>`.
    Good: `<sessionState cookieless="UseCookies"/>`.
    """
    yield from judge(
        snap, SESSION, "cookieless",
        lambda s: (s.value or "").strip().casefold() in ("usecookies", "false"),
        lambda s: f"sessionState cookieless is {s.value} {s.where}, so session ids can travel in "
        "URLs (Referer, logs, shared links); set it to UseCookies.",
        lambda s: f"session ids travel in cookies {s.where}.",
    )  # fmt: skip


@rule(
    id="IIS-CFG-026",
    name="cfg.session_mode",
    title="Session state mode not In Process",
    severity="medium",
    category="hardening",
    description="sessionState mode is not one of the allowed modes (InProc by default) at the server, a "
    "site or an application.",
    rationale="The STIG relies on the in-process session store to generate and keep session ids; Off "
    "disables session tracking, and an out-of-process store must be a documented farm design.",
    remediation="appcmd set config '<site>' /section:system.web/sessionState /mode:InProc\n"
    "Set-WebConfigurationProperty -PSPath 'IIS:\\Sites\\<site>' -Filter system.web/sessionState -Name mode "
    "-Value InProc",
    references=[refs.STIG_218735, refs.STIG_218751, refs.MS_SESSION_STATE],
    parameters=[
        Parameter(
            "allowed_modes",
            ["InProc"],
            "Session state modes allowed (a web farm with SQL session state: add SQLServer)",
        )
    ],
    needs=NEEDS,
)
def session_mode(snap, params):
    """Checks: the effective `sessionState/@mode` at the server and every site, application or folder that
    sets it, against `allowed_modes` (the STIG accepts a farm's SQL or state server when documented: add
    it to the parameter). The default (InProc) passes.
    Why: STIG V-218735 (session state enabled) and V-218751 (unique system-generated session ids).
    Bad: `<sessionState mode="Off"/>`.
    Good: `<sessionState mode="InProc"/>`.
    """
    allowed = {m.casefold() for m in params["allowed_modes"]}
    yield from judge(
        snap, SESSION, "mode",
        lambda s: (s.value or "").strip().casefold() in allowed,
        lambda s: f"sessionState mode is {s.value} {s.where}, not one of "
        f"{', '.join(params['allowed_modes'])}; use InProc (or document the farm's store in allowed_modes).",
        lambda s: f"sessionState mode is {s.value} {s.where}.",
    )  # fmt: skip


@rule(
    id="IIS-CFG-027",
    name="cfg.session_timeout",
    title="Session time-out longer than allowed",
    severity="medium",
    category="hardening",
    description="sessionState timeout exceeds the limit (20 minutes; the stig-iis10 profile uses the Site "
    "STIG's 15) at the server, a site or an application.",
    rationale="A long idle session gives whoever finds an unattended browser or a stolen cookie more time "
    "to use it.",
    remediation="appcmd set config '<site>' /section:system.web/sessionState /timeout:00:15:00\n"
    "Set-WebConfigurationProperty -PSPath 'IIS:\\Sites\\<site>' -Filter system.web/sessionState -Name "
    "timeout -Value 00:15:00",
    references=[refs.STIG_218805, refs.STIG_218763, refs.MS_SESSION_STATE],
    parameters=[Parameter("max_minutes", 20, "Longest session time-out allowed, in minutes", type="int")],
    needs=NEEDS,
)
def session_timeout(snap, params):
    """Checks: the effective `sessionState/@timeout` (minutes, or a TimeSpan as IIS Manager writes it) at
    the server and every site, application or folder that sets it; the default is 20 minutes.
    Why: STIG V-218805 (server: 20 minutes or less) and V-218763 (site: 15 minutes or less).
    Bad: `<sessionState timeout="60"/>`.
    Good: `<sessionState timeout="15"/>`.
    """
    limit = params["max_minutes"]
    yield from judge(
        snap, SESSION, "timeout",
        lambda s: None if s.seconds(minutes=True) is None else s.seconds(minutes=True) <= limit * 60,
        lambda s: f"sessions time out after {(s.seconds(minutes=True) or 0) / 60:g} minutes "
        f"{s.where}, longer than {limit}; lower sessionState timeout.",
        lambda s: f"sessions time out after {(s.seconds(minutes=True) or 0) / 60:g} minutes {s.where}.",
    )  # fmt: skip


@rule(
    id="IIS-CFG-028",
    name="cfg.cookies_require_ssl",
    title="Cookies sent without the Secure flag",
    severity="low",
    category="hardening",
    description="httpCookies requireSSL is not true (the default), or sessionState compressionEnabled is "
    "true, at the server, a site or an application.",
    rationale="Without Secure, session and authentication cookies are sent over plain HTTP to anyone on the "
    "path. Low in the default profile (Microsoft's default; a site without HTTPS cannot set it); the "
    "stig-iis10 profile raises it to medium.",
    remediation="appcmd set config '<site>' /section:system.web/httpCookies /requireSSL:true\n"
    "Set-WebConfigurationProperty -PSPath 'IIS:\\Sites\\<site>' -Filter system.web/httpCookies -Name "
    "requireSSL -Value True",
    references=[refs.STIG_218770, refs.MS_HTTP_COOKIES],
    needs=NEEDS,
)
def cookies_require_ssl(snap, params):
    """Checks: the effective `httpCookies/@requireSSL` (must be true) and `sessionState/@compressionEnabled`
    (must be false) at the server and every site, application or folder that sets either.
    Why: STIG V-218770 requires both, so cookies travel only over TLS.
    Bad: `<httpCookies requireSSL="false"/>`.
    Good: `<httpCookies requireSSL="true" httpOnlyCookies="true"/>`.
    """
    scopes = list(dict.fromkeys(snap.settings.scopes(COOKIES) + snap.settings.scopes(SESSION)))
    for scope in scopes:
        res, who = resource(COOKIES, scope), label(COOKIES, scope, snap)
        ssl = snap.setting(COOKIES, "requireSSL", scope)
        comp = snap.setting(SESSION, "compressionEnabled", scope)
        if not ssl.known or not comp.known:
            yield unknown(res, who, ssl if not ssl.known else comp)
        elif ssl.flag() is not True:
            yield bad(
                res,
                f"{who}: httpCookies requireSSL is {ssl.value} {ssl.where}, so cookies are also sent "
                "over plain HTTP; set requireSSL to true.",
                ssl,
            )
        elif comp.flag():
            yield bad(
                res, f"{who}: sessionState compressionEnabled is true {comp.where}; set it to false.", comp
            )
        else:
            yield good(res, f"{who}: cookies require SSL {ssl.where}.", ssl)


@rule(
    id="IIS-CFG-029",
    name="cfg.cookies_http_only",
    title="Cookies readable by client-side script",
    severity="low",
    category="hardening",
    description="httpCookies httpOnlyCookies is not true (the default) at the server, a site or an "
    "application.",
    rationale="Without HttpOnly, any injected script can read the session cookie and hand it to an "
    "attacker. Low in the default profile (Microsoft's default; ASP.NET's own session and forms cookies "
    "are HttpOnly anyway); the strict profiles raise it to medium.",
    remediation="appcmd set config '<site>' /section:system.web/httpCookies /httpOnlyCookies:true\n"
    "Set-WebConfigurationProperty -PSPath 'IIS:\\Sites\\<site>' -Filter system.web/httpCookies -Name "
    "httpOnlyCookies -Value True",
    references=[refs.CIS_3_7, refs.STIG_218770, refs.MS_HTTP_COOKIES],
    needs=NEEDS,
)
def cookies_http_only(snap, params):
    """Checks: the effective `httpCookies/@httpOnlyCookies` at the server and every site, application or
    folder that sets it; the default (false) fails.
    Why: CIS 3.7 requires the HttpOnly attribute; STIG V-218770 forbids client-side scripts reading cookies.
    Bad: `<httpCookies httpOnlyCookies="false"/>`, or nothing.
    Good: `<httpCookies httpOnlyCookies="true"/>`.
    """
    yield from judge(
        snap, COOKIES, "httpOnlyCookies", lambda s: s.flag(),
        lambda s: f"httpOnlyCookies is {s.value} {s.where}, so script injected into a page can "
        "read cookies; set it to true.",
        lambda s: f"cookies are HttpOnly {s.where}.",
    )  # fmt: skip


@rule(
    id="IIS-CFG-030",
    name="cfg.asp_session_id_secure",
    title="Classic ASP session id not kept secure",
    severity="medium",
    category="hardening",
    description="asp session keepSessionIdSecure is false at the server, a site or an application: classic "
    "ASP sends its session cookie over HTTP too.",
    rationale="The ASP session id then leaves HTTPS sites over plain HTTP, where it can be captured.",
    remediation="appcmd set config /section:system.webServer/asp /session.keepSessionIdSecure:true "
    "/commit:apphost\n"
    "Set-WebConfigurationProperty -PSPath IIS:\\ -Filter system.webServer/asp/session -Name "
    "keepSessionIdSecure -Value True",
    references=[refs.STIG_218820, refs.STIG_218769, refs.MS_ASP_SESSION],
    needs=("iis",),
)
def asp_session_id_secure(snap, params):
    """Checks: the effective `asp/session/@keepSessionIdSecure` at the server and every site, application or
    folder that sets it; absent, the IIS default (true) passes.
    Why: STIG V-218820 (server) and V-218769 (site) require session ids sent over TLS.
    Bad: `<asp><session keepSessionIdSecure="false"/></asp>`.
    Good: the default, or `keepSessionIdSecure="true"`.
    """
    yield from judge(
        snap, ASP, "session/keepSessionIdSecure", lambda s: s.flag(),
        lambda s: f"ASP keepSessionIdSecure is false {s.where}, so the ASP session cookie is also "
        "sent over HTTP; set it to true.",
        lambda s: f"the ASP session id is kept secure {s.where}.",
    )  # fmt: skip


def _forms(snap, attribute, check, message, ok):
    """Judge a forms-authentication attribute where forms authentication is the mode in force."""
    for scope in snap.settings.scopes(AUTH):
        res, who = resource(AUTH, scope), label(AUTH, scope, snap)
        mode = snap.setting(AUTH, "mode", scope)
        s = snap.setting(AUTH, attribute, scope)
        if not mode.known or not s.known:
            yield unknown(res, who, mode if not mode.known else s)
        elif (mode.value or "").strip().casefold() != "forms":
            yield not_applicable(
                res,
                f"{who}: authentication mode is {mode.value}, not Forms.",
                at=mode.at,
                pointer=mode.pointer,
            )
        elif check(s):
            yield good(res, ok(who, s), s)
        else:
            yield bad(res, message(who, s), s)


@rule(
    id="IIS-CFG-031",
    name="cfg.forms_require_ssl",
    title="Forms authentication cookie does not require SSL",
    severity="medium",
    category="hardening",
    description='Where `<authentication mode="Forms">` is in force, forms requireSSL is not true.',
    rationale="The forms authentication ticket is the user's login: sent over HTTP it can be captured and "
    "replayed.",
    remediation="appcmd set config '<site>' /section:system.web/authentication /forms.requireSSL:true\n"
    "Set-WebConfigurationProperty -PSPath 'IIS:\\Sites\\<site>' -Filter system.web/authentication/forms "
    "-Name requireSSL -Value True",
    references=[refs.CIS_2_3, refs.MS_FORMS],
    needs=NEEDS,
)
def forms_require_ssl(snap, params):
    """Checks: at the server and every site, application or folder whose web.config sets authentication,
    where the effective mode is Forms, that `forms/@requireSSL` is true (the default is false). Other
    modes are not applicable.
    Why: CIS 2.3 requires forms authentication to require SSL.
    Bad: `<authentication mode="Forms"><forms loginUrl="login.aspx"/></authentication>`.
    Good: `<forms loginUrl="login.aspx" requireSSL="true"/>`.
    """
    yield from _forms(
        snap, "forms/requireSSL", lambda s: s.flag() is True,
        lambda who, s: f"{who}: forms authentication does not require SSL {s.where}, so the login ticket "
        "can travel over HTTP; set requireSSL to true.",
        lambda who, s: f"{who}: the forms ticket requires SSL {s.where}.",
    )  # fmt: skip


@rule(
    id="IIS-CFG-032",
    name="cfg.forms_cookieless",
    title="Forms authentication not set to use cookies",
    severity="medium",
    category="hardening",
    description="Where forms authentication is in force, forms cookieless is not UseCookies (the default, "
    "UseDeviceProfile, can put the ticket in the URL).",
    rationale="A forms ticket in the URL leaks through Referer headers, logs and shared links.",
    remediation="appcmd set config '<site>' /section:system.web/authentication /forms.cookieless:UseCookies\n"
    "Set-WebConfigurationProperty -PSPath 'IIS:\\Sites\\<site>' -Filter system.web/authentication/forms "
    "-Name cookieless -Value UseCookies",
    references=[refs.CIS_2_4, refs.MS_FORMS],
    needs=NEEDS,
)
def forms_cookieless(snap, params):
    """Checks: where the effective authentication mode is Forms, that `forms/@cookieless` is UseCookies.
    Why: CIS 2.4 requires forms authentication to use cookies.
    Bad: `<forms cookieless="UseUri"/>`, or no cookieless (UseDeviceProfile).
    Good: `<forms cookieless="UseCookies"/>`.
    """
    yield from _forms(
        snap, "forms/cookieless", lambda s: (s.value or "").strip().casefold() == "usecookies",
        lambda who, s: f"{who}: forms cookieless is {s.value} {s.where}, so the login ticket can travel in "
        "URLs; set it to UseCookies.",
        lambda who, s: f"{who}: the forms ticket travels in a cookie {s.where}.",
    )  # fmt: skip


@rule(
    id="IIS-CFG-033",
    name="cfg.forms_protection",
    title="Forms authentication cookie not encrypted and validated",
    severity="medium",
    category="hardening",
    description="Where forms authentication is in force, forms protection is not All (encryption and "
    "validation of the ticket).",
    rationale="A ticket that is not encrypted can be read; one that is not validated can be forged.",
    remediation="appcmd set config '<site>' /section:system.web/authentication /forms.protection:All\n"
    "Set-WebConfigurationProperty -PSPath 'IIS:\\Sites\\<site>' -Filter system.web/authentication/forms "
    "-Name protection -Value All",
    references=[refs.CIS_2_5, refs.MS_FORMS],
    needs=NEEDS,
)
def forms_protection(snap, params):
    """Checks: where the effective authentication mode is Forms, that `forms/@protection` is All (the
    default).
    Why: CIS 2.5 requires cookie protection mode All.
    Bad: `<forms protection="None"/>`.
    Good: `<forms protection="All"/>`, or no protection attribute.
    """
    yield from _forms(
        snap, "forms/protection", lambda s: (s.value or "").strip().casefold() == "all",
        lambda who, s: f"{who}: forms protection is {s.value} {s.where}, so the login ticket can be read or "
        "forged; set it to All.",
        lambda who, s: f"{who}: the forms ticket is encrypted and validated {s.where}.",
    )  # fmt: skip


@rule(
    id="IIS-CFG-034",
    name="cfg.machine_key",
    title="Machine key validation weaker than HMACSHA256",
    severity="medium",
    category="hardening",
    description="machineKey validation is not HMACSHA256 or stronger, or decryption is not Auto, at the "
    "server, a site or an application.",
    rationale="The machine key signs view state, forms tickets and other tokens; MD5, SHA1 or 3DES make "
    "forging or tampering with them practical.",
    remediation="appcmd set config '<site>' /section:system.web/machineKey /validation:HMACSHA256 "
    "/decryption:Auto\n"
    "Set-WebConfigurationProperty -PSPath 'IIS:\\Sites\\<site>' -Filter system.web/machineKey -Name "
    "validation -Value HMACSHA256",
    references=[refs.STIG_218807, refs.CIS_3_8, refs.CIS_3_9, refs.MS_MACHINE_KEY],
    parameters=[
        Parameter(
            "allowed_validation",
            ["HMACSHA256", "HMACSHA384", "HMACSHA512"],
            "Accepted validation algorithms (CIS 3.8 accepts SHA1 for .NET 3.5 applications: add it)",
        )
    ],
    needs=NEEDS,
)
def machine_key(snap, params):
    """Checks: the effective `machineKey/@validation` (one of `allowed_validation`; the .NET 4.5 default
    HMACSHA256 passes) and `@decryption` (Auto, the default) at the server and every site, application or
    folder that sets them. Key values are never read into the snapshot.
    Why: STIG V-218807 requires HMACSHA256 or stronger with Auto encryption; CIS 3.8 and 3.9.
    Bad: `<machineKey validation="SHA1" decryption="3DES"/>`.
    Good: `<machineKey validation="HMACSHA256" decryption="Auto"/>`.
    """
    allowed = {a.casefold() for a in params["allowed_validation"]}
    for scope in snap.settings.scopes(MACHINE_KEY):
        res, who = resource(MACHINE_KEY, scope), label(MACHINE_KEY, scope, snap)
        val = snap.setting(MACHINE_KEY, "validation", scope)
        dec = snap.setting(MACHINE_KEY, "decryption", scope)
        if not val.known or not dec.known:
            yield unknown(res, who, val)
        elif (val.value or "").strip().casefold() not in allowed:
            yield bad(
                res,
                f"{who}: machineKey validation is {val.value} {val.where}; use HMACSHA256 or stronger.",
                val,
            )
        elif (dec.value or "").strip().casefold() != "auto":
            yield bad(res, f"{who}: machineKey decryption is {dec.value} {dec.where}; set it to Auto.", dec)
        else:
            yield good(res, f"{who}: machineKey validation {val.value}, decryption {dec.value}.", val)


@rule(
    id="IIS-CFG-035",
    name="cfg.trust_level",
    title=".NET trust level Full",
    severity="low",
    category="hardening",
    description="The ASP.NET trust level is above the allowed levels (Medium or lower) at the server, a "
    "site or an application; Full is the default.",
    rationale="Full trust lets application code call any .NET API (native code, the registry, the file "
    "system beyond the site). Low: Microsoft's default, and partial trust is deprecated for many "
    "frameworks; the cis-iis10 profile raises it to medium.",
    remediation="appcmd set config '<site>' /section:system.web/trust /level:Medium\n"
    "Set-WebConfigurationProperty -PSPath 'IIS:\\Sites\\<site>' -Filter system.web/trust -Name level "
    "-Value Medium",
    references=[refs.CIS_3_10, refs.MS_TRUST],
    parameters=[Parameter("allowed_levels", ["Medium", "Low", "Minimal"], "Trust levels allowed")],
    needs=NEEDS,
)
def trust_level(snap, params):
    """Checks: the effective `trust/@level` at the server and every site, application or folder that sets
    it, against `allowed_levels`.
    Why: CIS 3.10 requires the global .NET trust level to be Medium or lower.
    Bad: no trust element (Full).
    Good: `<trust level="Medium"/>`.
    """
    allowed = {a.casefold() for a in params["allowed_levels"]}
    yield from judge(
        snap, TRUST, "level", lambda s: (s.value or "").strip().casefold() in allowed,
        lambda s: f"the .NET trust level is {s.value} {s.where}, so application code may call any "
        "API; set it to Medium or lower where the application allows.",
        lambda s: f"the .NET trust level is {s.value} {s.where}.",
    )  # fmt: skip


RULES = [
    debug_compilation,
    custom_errors_off,
    aspnet_trace,
    deployment_retail,
    session_cookieless,
    session_mode,
    session_timeout,
    cookies_require_ssl,
    cookies_http_only,
    asp_session_id_secure,
    forms_require_ssl,
    forms_cookieless,
    forms_protection,
    machine_key,
    trust_level,
]


@hookimpl
def iisguard_pack_info():
    return {"prefixes": ["IIS-CFG-"], "description": "Built-in IIS-CFG-* rules: ASP.NET and ASP settings"}


@hookimpl
def iisguard_register_rules():
    return RULES

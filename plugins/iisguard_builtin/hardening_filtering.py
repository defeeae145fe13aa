"""Built-in rule pack: IIS-CFG-001..010, request filtering and response headers (issue #19).

What each control checks was read from the DISA IIS 10.0 Site/Server STIG check text (via MITRE's
InSpec baselines) and the CIS IIS 10 benchmark item titles; the rules are ours, on the settings model.
"""

from __future__ import annotations

from iisguard import Parameter, hookimpl, rule
from iisguard import references as refs
from iisguard import settings as st

from .hardening_common import (
    bad,
    bad_item,
    good,
    good_items,
    item_where,
    judge,
    label,
    per_site_limit,
    resource,
    site_of,
    unknown,
)

RF = st.REQUEST_FILTERING
RF_FIX = "appcmd set config /section:system.webServer/security/requestFiltering"


def _limit(snap, params, attribute, name, unit, param, stig, overrides=()):
    for scope in snap.settings.scopes(RF):
        s = snap.setting(RF, attribute, scope)
        res, who = resource(RF, scope), label(RF, scope, snap)
        if not s.known:
            yield unknown(res, who, s)
            continue
        limit = per_site_limit(list(overrides), params[param], site_of(scope)) if scope else params[param]
        value = s.number()
        if value is None:
            yield bad(res, f"{who}: {name}={s.value!r} {s.where} is not a number IIS accepts.", s)
        elif value > limit:
            yield bad(
                res,
                f"{who}: {name} is {value:,} {unit} {s.where}, above the {limit:,} {stig} allows; long "
                f"requests are how buffer-overflow and resource-exhaustion attacks arrive. Lower it to "
                f"{limit:,} or less (or document the need in the rule's parameters).",
                s,
                limit=limit,
                value=value,
            )
        else:
            yield good(res, f"{who}: {name} is {value:,} {unit} {s.where} (limit {limit:,}).", s)


@rule(
    id="IIS-CFG-001",
    name="cfg.max_url",
    title="Request filtering maxUrl above 4096",
    severity="medium",
    category="hardening",
    description="The effective requestFiltering/requestLimits maxUrl of the server, a site or an application "
    "is larger than the limit (4096 bytes).",
    rationale="An unbounded URL length lets an attacker send oversized paths that reach handlers and "
    "modules never tested with them (buffer overflows, path-parsing bugs, log flooding).",
    remediation=f"{RF_FIX} /requestLimits.maxUrl:4096 /commit:apphost\n"
    "Set-WebConfigurationProperty -PSPath IIS:\\ -Filter system.webServer/security/requestFiltering/"
    "requestLimits -Name maxUrl -Value 4096",
    references=[refs.STIG_218753, refs.CIS_4_2, refs.MS_REQUEST_FILTERING],
    parameters=[Parameter("max_url", 4096, "Largest maxUrl (bytes) allowed", type="int")],
    needs=("iis",),
)
def max_url(snap, params):
    """Checks: the effective `requestLimits/@maxUrl` at the server, every site and every application or
    folder that overrides it (applicationHost.config `<location>` tags and web.config files, as IIS
    merges them); absent, the IIS default 4096 applies and passes.
    Why: STIG V-218753 and CIS 4.2 cap the URL length so that oversized URLs are refused by request
    filtering before any module parses them.
    Bad: `<requestLimits maxUrl="65536"/>`.
    Good: no maxUrl (4096), or `<requestLimits maxUrl="2048"/>`.
    """
    yield from _limit(snap, params, "requestLimits/maxUrl", "maxUrl", "bytes", "max_url", "STIG V-218753")


@rule(
    id="IIS-CFG-002",
    name="cfg.max_content_length",
    title="Request filtering maxAllowedContentLength above 30000000",
    severity="medium",
    category="hardening",
    description="The effective requestFiltering/requestLimits maxAllowedContentLength (the largest request "
    "body) is larger than the limit, 30,000,000 bytes unless a site's documented limit says otherwise.",
    rationale="Large request bodies exhaust memory and disk (uploads spooled to temp folders) and carry "
    "payloads past size-based inspection; the limit should be as small as the site allows.",
    remediation=f"{RF_FIX} /requestLimits.maxAllowedContentLength:30000000 /commit:apphost\n"
    "Set-WebConfigurationProperty -PSPath 'IIS:\\Sites\\<site>' -Filter system.webServer/security/"
    "requestFiltering/requestLimits -Name maxAllowedContentLength -Value 30000000",
    references=[refs.STIG_218754, refs.CIS_4_1, refs.MS_REQUEST_FILTERING],
    parameters=[
        Parameter("max_content_length", 30000000, "Largest maxAllowedContentLength (bytes)", type="int"),
        Parameter(
            "site_limits",
            [],
            'Documented per-site limits, "site glob=bytes" (an upload site: "Uploads*=524288000")',
        ),
    ],
    needs=("iis",),
)
def max_content_length(snap, params):
    """Checks: the effective `requestLimits/@maxAllowedContentLength` at the server, each site and each
    overriding application or folder, against `max_content_length`, or the first `site_limits` entry
    whose glob matches the site (an upload site's approved limit, STIG: "or a length documented and
    approved by the ISSO"). Absent, the IIS default 30,000,000 applies and passes.
    Why: STIG V-218754 and CIS 4.1 bound request bodies to limit denial of service and oversized uploads.
    Bad: `<requestLimits maxAllowedContentLength="2147483647"/>` on a site with no documented need.
    Good: the default, or `site_limits: ["Uploads=524288000"]` for the upload site only.
    """
    yield from _limit(
        snap,
        params,
        "requestLimits/maxAllowedContentLength",
        "maxAllowedContentLength",
        "bytes",
        "max_content_length",
        "STIG V-218754",
        params["site_limits"],
    )


@rule(
    id="IIS-CFG-003",
    name="cfg.max_query_string",
    title="Request filtering maxQueryString above 2048",
    severity="medium",
    category="hardening",
    description="The effective requestFiltering/requestLimits maxQueryString is larger than the limit (2048).",
    rationale="Long query strings carry injection payloads and overflow attempts into application code and "
    "logs; IIS can refuse them before any handler runs.",
    remediation=f"{RF_FIX} /requestLimits.maxQueryString:2048 /commit:apphost\n"
    "Set-WebConfigurationProperty -PSPath IIS:\\ -Filter system.webServer/security/requestFiltering/"
    "requestLimits -Name maxQueryString -Value 2048",
    references=[refs.STIG_218755, refs.CIS_4_3, refs.MS_REQUEST_FILTERING],
    parameters=[Parameter("max_query_string", 2048, "Largest maxQueryString (bytes) allowed", type="int")],
    needs=("iis",),
)
def max_query_string(snap, params):
    """Checks: the effective `requestLimits/@maxQueryString` at the server, each site and each overriding
    application or folder; absent, the IIS default 2048 applies and passes.
    Why: STIG V-218755 and CIS 4.3 limit the query string so that oversized ones are refused early.
    Bad: `<requestLimits maxQueryString="32768"/>`.
    Good: no maxQueryString (2048).
    """
    yield from _limit(
        snap,
        params,
        "requestLimits/maxQueryString",
        "maxQueryString",
        "bytes",
        "max_query_string",
        "STIG V-218755",
    )


@rule(
    id="IIS-CFG-004",
    name="cfg.high_bit_characters",
    title="Request filtering allows high-bit (non-ASCII) characters",
    severity="low",
    category="hardening",
    description="requestFiltering allowHighBitCharacters is true (the IIS default) at the server, a site or "
    "an application: URLs with non-ASCII bytes are accepted.",
    rationale="Non-ASCII bytes in URLs are used to smuggle paths past filters that compare ASCII names "
    "(overlong UTF-8, mixed encodings). Low in the default profile because it is Microsoft's default and "
    "internationalized URLs need it; the stig-iis10 and cis-iis10 profiles raise it to medium.",
    remediation=f"{RF_FIX} /allowHighBitCharacters:false /commit:apphost\n"
    "Set-WebConfigurationProperty -PSPath IIS:\\ -Filter system.webServer/security/requestFiltering "
    "-Name allowHighBitCharacters -Value False",
    references=[refs.STIG_218756, refs.CIS_4_4, refs.MS_REQUEST_FILTERING],
    needs=("iis",),
)
def high_bit_characters(snap, params):
    """Checks: the effective `requestFiltering/@allowHighBitCharacters` at the server, each site and each
    overriding application or folder. Absent, the IIS default (true) applies and fails: the STIG and CIS
    ask for a value Microsoft does not ship.
    Why: STIG V-218756 and CIS 4.4 prohibit non-ASCII characters in URLs.
    Bad: no attribute (true), or `allowHighBitCharacters="true"`.
    Good: `<requestFiltering allowHighBitCharacters="false">`.
    """
    yield from judge(
        snap,
        RF,
        "allowHighBitCharacters",
        lambda s: None if s.flag() is None else not s.flag(),
        lambda s: (
            f"allowHighBitCharacters is true {s.where}, so URLs with non-ASCII bytes reach "
            "the content and modules; set it to false unless the site serves internationalized URLs."
        ),
        lambda s: f"high-bit characters are refused {s.where}.",
    )


@rule(
    id="IIS-CFG-005",
    name="cfg.double_escaping",
    title="Request filtering allows double-escaped URLs",
    severity="medium",
    category="hardening",
    description="requestFiltering allowDoubleEscaping is true at the server, a site or an application.",
    rationale="Double-encoded URLs (%252e%252e) decode to different paths at different layers; allowing "
    "them defeats path-based rules and has led to directory traversal and authorization bypass.",
    remediation=f"{RF_FIX} /allowDoubleEscaping:false /commit:apphost\n"
    "Set-WebConfigurationProperty -PSPath 'IIS:\\Sites\\<site>' -Filter system.webServer/security/"
    "requestFiltering -Name allowDoubleEscaping -Value False",
    references=[refs.STIG_218757, refs.CIS_4_5, refs.MS_REQUEST_FILTERING],
    needs=("iis",),
)
def double_escaping(snap, params):
    """Checks: the effective `requestFiltering/@allowDoubleEscaping` at the server, each site and each
    overriding application or folder; absent, the IIS default (false) passes.
    Why: STIG V-218757 and CIS 4.5 require double-encoded requests to be rejected.
    Bad: `<requestFiltering allowDoubleEscaping="true">` (often added for "+" in paths).
    Good: no attribute, or `allowDoubleEscaping="false"`.
    """
    yield from judge(
        snap,
        RF,
        "allowDoubleEscaping",
        lambda s: None if s.flag() is None else not s.flag(),
        lambda s: (
            f"allowDoubleEscaping is true {s.where}, so double-encoded URLs reach the "
            "application and can bypass path and authorization rules; set it to false."
        ),
        lambda s: f"double-escaped URLs are rejected {s.where}.",
    )


@rule(
    id="IIS-CFG-006",
    name="cfg.unlisted_extensions",
    title="Request filtering allows unlisted file extensions",
    severity="low",
    category="hardening",
    description="requestFiltering fileExtensions allowUnlisted is true (the IIS default): any file "
    "extension not explicitly denied is served.",
    rationale="An allow-list of extensions keeps backup copies, source files and uploads with unexpected "
    "extensions from being served. Low in the default profile (Microsoft's default; an allow-list needs "
    "per-site work); the stig-iis10 and cis-iis10 profiles raise it to medium.",
    remediation=f"{RF_FIX} /fileExtensions.allowUnlisted:false /commit:apphost\n"
    f"{RF_FIX} /+\"fileExtensions.[fileExtension='.aspx',allowed='true']\"",
    references=[refs.STIG_218758, refs.CIS_4_7, refs.MS_REQUEST_FILTERING],
    needs=("iis",),
)
def unlisted_extensions(snap, params):
    """Checks: the effective `requestFiltering/fileExtensions/@allowUnlisted` at the server, each site and
    each overriding application or folder. Absent, the IIS default (true) applies and fails.
    Why: STIG V-218758 and CIS 4.7 require unlisted extensions to be filtered (an allow-list).
    Bad: `<fileExtensions allowUnlisted="true">`.
    Good: `<fileExtensions allowUnlisted="false">` with `<add fileExtension=".aspx" allowed="true"/>`...
    """
    yield from judge(
        snap,
        RF,
        "fileExtensions/allowUnlisted",
        lambda s: None if s.flag() is None else not s.flag(),
        lambda s: (
            f"fileExtensions allowUnlisted is true {s.where}, so files with any extension "
            "not explicitly denied are served; set it to false and allow the extensions the site needs."
        ),
        lambda s: f"only listed file extensions are served {s.where}.",
    )


@rule(
    id="IIS-CFG-007",
    name="cfg.trace_verb",
    title="HTTP TRACE method not denied",
    severity="low",
    category="hardening",
    description='Request filtering does not deny the TRACE verb (an `<add verb="TRACE" allowed="false"/>`, '
    "or verbs allowUnlisted=false without TRACE allowed) at the server, a site or an application.",
    rationale="TRACE echoes the request back, cookies and authorization headers included, which cross-site "
    "tracing abuses. IIS answers TRACE with 501 unless a handler serves it, hence low in the default "
    "profile; the cis-iis10 profile raises it to medium.",
    remediation=f"{RF_FIX} /+\"verbs.[verb='TRACE',allowed='false']\" /commit:apphost\n"
    "Add-WebConfigurationProperty -PSPath IIS:\\ -Filter system.webServer/security/requestFiltering/verbs "
    "-Name . -Value @{verb='TRACE';allowed='false'}",
    references=[refs.CIS_4_6, refs.MS_REQUEST_FILTERING],
    parameters=[Parameter("denied_verbs", ["TRACE"], "Verbs request filtering must refuse")],
    needs=("iis",),
)
def trace_verb(snap, params):
    """Checks: at the server, each site and each overriding application or folder, that every verb in
    `denied_verbs` is refused by request filtering: listed with allowed="false", or not listed while
    verbs allowUnlisted is false.
    Why: CIS 4.6 requires the TRACE method to be disabled.
    Bad: `<verbs allowUnlisted="true"/>` with no TRACE entry (the default).
    Good: `<verbs allowUnlisted="true"><add verb="TRACE" allowed="false"/></verbs>`.
    """
    wanted = [v.upper() for v in params["denied_verbs"]]
    for scope in snap.settings.scopes(RF):
        res, who = resource(RF, scope), label(RF, scope, snap)
        unlisted = snap.setting(RF, "verbs/allowUnlisted", scope)
        verbs = snap.settings.items(RF, "verbs", scope)
        if not unlisted.known or not verbs.known:
            yield unknown(res, who, unlisted)
            continue
        listed = {(i.get("verb") or "").upper(): i for i in verbs}
        open_ = []
        for verb in wanted:
            item = listed.get(verb)
            allowed = st.as_bool(item.get("allowed", "true")) if item else unlisted.flag()
            if allowed is not False:
                open_.append(verb)
        if open_:
            yield bad(
                res,
                f"{who}: request filtering does not deny {', '.join(open_)} (verbs allowUnlisted is "
                f'{unlisted.value} {unlisted.where}); add <add verb="{open_[0]}" allowed="false"/>.',
                unlisted,
            )
        else:
            yield good(res, f"{who}: {', '.join(wanted)} refused by request filtering.", unlisted)


SHELL_EXTENSIONS = [".exe", ".dll", ".com", ".bat", ".csh"]


@rule(
    id="IIS-CFG-008",
    name="cfg.denied_extensions",
    title="Request filtering does not deny script and executable extensions",
    severity="low",
    category="hardening",
    description="An extension on the deny list (by default the OS shell program extensions .exe, .dll, "
    ".com, .bat, .csh) is not refused by request filtering at the server, a site or an application.",
    rationale="Request filtering is where the STIG has a site's black list of script and program files "
    "enforced, so a stray executable or script in the content cannot be downloaded or invoked. Low in "
    "the default profile (no extension is denied by default); stig-iis10 raises it to medium.",
    remediation=f"{RF_FIX} /+\"fileExtensions.[fileExtension='.exe',allowed='false']\" /commit:apphost\n"
    "Add-WebConfigurationProperty -PSPath IIS:\\ -Filter system.webServer/security/requestFiltering/"
    "fileExtensions -Name . -Value @{fileExtension='.bat';allowed='false'}",
    references=[refs.STIG_218745, refs.MS_REQUEST_FILTERING],
    parameters=[Parameter("denied_extensions", SHELL_EXTENSIONS, "The black list: extensions to refuse")],
    needs=("iis",),
)
def denied_extensions(snap, params):
    """Checks: at the server, each site and each overriding application or folder, that every extension
    of `denied_extensions` (the ISSO's black list; by default the OS shell program extensions the STIG
    names for MIME types) is refused: listed with allowed="false", or not listed while fileExtensions
    allowUnlisted is false.
    Why: STIG V-218745 requires the black list's file types to be denied in Request Filtering.
    Bad: `.bat` neither listed nor blocked by an allow-list.
    Good: `<add fileExtension=".bat" allowed="false"/>`, or allowUnlisted="false" with .bat unlisted.
    """
    wanted = [e.casefold() if e.startswith(".") else "." + e.casefold() for e in params["denied_extensions"]]
    for scope in snap.settings.scopes(RF):
        res, who = resource(RF, scope), label(RF, scope, snap)
        unlisted = snap.setting(RF, "fileExtensions/allowUnlisted", scope)
        items = snap.settings.items(RF, "fileExtensions", scope)
        if not unlisted.known or not items.known:
            yield unknown(res, who, unlisted)
            continue
        listed = {(i.get("fileExtension") or "").casefold(): i for i in items}
        served = [
            ext
            for ext in wanted
            if (st.as_bool(listed[ext].get("allowed", "true")) if ext in listed else unlisted.flag())
            is not False
        ]
        if served:
            yield bad(
                res,
                f"{who}: request filtering does not deny {', '.join(served)}, so such files in the content "
                'would be served; add them with allowed="false" (or allow only the site\'s extensions).',
                unlisted,
            )
        else:
            yield good(res, f"{who}: {', '.join(wanted)} are refused by request filtering.", unlisted)


@rule(
    id="IIS-CFG-009",
    name="cfg.server_header",
    title="Server header not removed",
    severity="low",
    category="hardening",
    description="Request filtering removeServerHeader is not true at the server or a site, so responses "
    "carry `Server: Microsoft-IIS/10.0`.",
    rationale="The header tells an attacker the exact server product and version to pick exploits for. Low: "
    "information exposure, Microsoft's default; the strict profiles raise it to medium. (The HTTP.sys "
    "registry value DisableServerHeader, which V-241788 checks, is judged by the registry rules.)",
    remediation=f"{RF_FIX} /removeServerHeader:true /commit:apphost\n"
    "Set-WebConfigurationProperty -PSPath IIS:\\ -Filter system.webServer/security/requestFiltering "
    "-Name removeServerHeader -Value True",
    references=[refs.CIS_3_12, refs.STIG_241788, refs.MS_REQUEST_FILTERING],
    needs=("iis",),
)
def server_header(snap, params):
    """Checks: the effective `requestFiltering/@removeServerHeader` (IIS 10 version 1709 and later) at the
    server, each site and each overriding application or folder; absent, the default (false) fails.
    Why: CIS 3.12 removes the Server header; STIG V-241788 removes the server version from responses.
    Bad: no removeServerHeader.
    Good: `<requestFiltering removeServerHeader="true">`.
    """
    yield from judge(
        snap,
        RF,
        "removeServerHeader",
        lambda s: s.flag(),
        lambda s: (
            f"removeServerHeader is {s.value} {s.where}, so every response names the "
            "server and its version; set removeServerHeader to true."
        ),
        lambda s: f"the Server header is removed {s.where}.",
    )


HEADERS = "system.webServer/httpProtocol"


@rule(
    id="IIS-CFG-010",
    name="cfg.x_powered_by",
    title="X-Powered-By header sent",
    severity="low",
    category="hardening",
    description="The effective httpProtocol customHeaders include X-Powered-By (IIS adds `X-Powered-By: "
    "ASP.NET` at the server level by default).",
    rationale="The header advertises the framework and invites version-specific attacks. Low: information "
    "exposure and Microsoft's default; the stig-iis10 and cis-iis10 profiles raise it to medium.",
    remediation="appcmd set config /section:system.webServer/httpProtocol "
    "/-\"customHeaders.[name='X-Powered-By']\" /commit:apphost\n"
    "Remove-WebConfigurationProperty -PSPath IIS:\\ -Filter system.webServer/httpProtocol/customHeaders "
    "-Name . -AtElement @{name='X-Powered-By'}",
    references=[refs.STIG_241789, refs.CIS_3_11, refs.MS_CUSTOM_HEADERS],
    parameters=[Parameter("headers", ["X-Powered-By"], "Response headers that must not be configured")],
    needs=("iis",),
)
def x_powered_by(snap, params):
    """Checks: the merged `httpProtocol/customHeaders` collection (add, remove, clear through every level)
    at the server, each site and each overriding application or folder for the `headers` listed.
    Why: STIG V-241789 and CIS 3.11 require X-Powered-By to be removed.
    Bad: `<customHeaders><add name="X-Powered-By" value="ASP.NET"/></customHeaders>` (the default).
    Good: `<customHeaders><remove name="X-Powered-By"/></customHeaders>` or the entry deleted.
    """
    wanted = {h.casefold() for h in params["headers"]}
    for scope in snap.settings.scopes(HEADERS):
        res, who = resource(HEADERS, scope), label(HEADERS, scope, snap)
        headers = snap.settings.items(HEADERS, "customHeaders", scope)
        if not headers.known:
            yield unknown(res, who, snap.setting(HEADERS, "customHeaders", scope))
            continue
        sent = [i for i in headers if (i.get("name") or "").casefold() in wanted]
        if sent:
            item = sent[0]
            yield bad_item(
                res,
                f"{who}: responses carry {item.get('name')}: {item.get('value')} {item_where(item)}, which "
                "tells attackers the framework in use; remove the custom header.",
                item,
                headers,
            )
        else:
            yield good_items(res, f"{who}: no {', '.join(params['headers'])} header is configured.", headers)


RULES = [
    max_url,
    max_content_length,
    max_query_string,
    high_bit_characters,
    double_escaping,
    unlisted_extensions,
    trace_verb,
    denied_extensions,
    server_header,
    x_powered_by,
]


@hookimpl
def iisguard_pack_info():
    return {
        "prefixes": ["IIS-CFG-"],
        "description": "Built-in IIS-CFG-* rules: request filtering and headers",
    }


@hookimpl
def iisguard_register_rules():
    return RULES

"""Built-in rule pack: IIS-CFG-042..047, what the web logs record and where (issue #19): W3C fields,
custom fields, log file and ETW, rollover, the client address behind a proxy."""

from __future__ import annotations

from iisguard import Parameter, fail, hookimpl, not_applicable, not_reviewed, passed, rule
from iisguard import references as refs
from iisguard import settings as st

from .hardening_common import bad, good, judge, named, scoped, unknown

SITES = st.SITES
HTTP_LOGGING = "system.webServer/httpLogging"
REQUIRED_FIELDS = [
    "Date",
    "Time",
    "ClientIP",
    "UserName",
    "Method",
    "UriQuery",
    "HttpStatus",
    "Referer",
    "UserAgent",
]


def _central(snap):
    """The central W3C log settings when the server logs to one central file, else None."""
    mode = snap.setting(st.LOG, "centralLogFileMode", "")
    if mode.known and (mode.value or "").strip().casefold() == "centralw3c":
        return mode
    return None


def _log(snap, attribute, scope, central):
    """A logFile attribute for a site (or siteDefaults), or the central W3C file's when that is in use
    (`central`: what `_central` says, asked once per rule)."""
    return snap.settings.get(*_log_place(attribute, scope, central))


def _log_place(attribute, scope, central):
    """The (section, attribute, scope) `_log` reads."""
    if central and attribute in _CENTRAL:
        return st.LOG, _CENTRAL[attribute], ""
    return SITES, _LOG_FILE[attribute], scope


_CENTRAL = {a: f"centralW3CLogFile/{a}" for a in ("logExtFileFlags", "period", "enabled")}
_LOG_FILE = {a: f"logFile/{a}" for a in ("logExtFileFlags", "period", "enabled", "logFormat", "logTargetW3C")}


# Rules here work out a verdict and the message after the scope's label once per (value, source, the
# evidence line by identity): thousands of sites share a few values, and "where" depends only on those.
# (The evidence is the snapshot's own object, alive while the rule runs.)


def _custom_fields(snap, scope, seen):
    """The merged logFile/customFields at a scope and its items by (sourceType, sourceName), casefolded;
    `seen` remembers the index per item list (every site without its own fields shares the server's)."""
    coll = snap.settings.items(SITES, "logFile/customFields", scope)
    fields = seen.get(id(coll.items))
    if fields is None:
        fields = seen[id(coll.items)] = {
            ((i.get("sourceType") or "").casefold(), (i.get("sourceName") or "").casefold()): i for i in coll
        }
    return coll, fields


@rule(
    id="IIS-CFG-042",
    name="cfg.log_fields",
    title="W3C logging disabled or missing required fields",
    severity="medium",
    category="hardening",
    description="Logging is disabled (logFile enabled=false or httpLogging dontLog=true), the format is not "
    "W3C, or the W3C fields lack one of the required standard fields, for siteDefaults or a site.",
    rationale="Without the date, time, client address, user, method, query, status, referrer and user "
    "agent, an incident cannot be reconstructed from the logs.",
    remediation="appcmd set config -section:system.applicationHost/sites "
    '/siteDefaults.logFile.logExtFileFlags:"Date,Time,ClientIP,UserName,Method,UriStem,UriQuery,HttpStatus,'
    'Win32Status,ServerPort,UserAgent,Referer,HttpSubStatus" /commit:apphost\n'
    "Set-WebConfigurationProperty -PSPath IIS:\\ -Filter system.applicationHost/sites/siteDefaults/logFile "
    "-Name logFormat -Value W3C",
    references=[refs.STIG_218785, refs.STIG_218789, refs.STIG_218742, refs.CIS_5_2, refs.MS_LOGFILE],
    parameters=[Parameter("required_fields", REQUIRED_FIELDS, "W3C standard fields that must be logged")],
    needs=("iis",),
)
def log_fields(snap, params):
    """Checks: siteDefaults and every site (or the central W3C log file when centralLogFileMode is
    CentralW3C): logFile enabled, logFormat W3C, `logExtFileFlags` holding every `required_fields` entry
    (the IIS 10 default holds them all), and `httpLogging/@dontLog` not true at that level.
    Why: STIG V-218785 (server: date, time, client IP, user name, method, URI query, protocol status,
    referrer), V-218789 and V-218742 (user agent, user name, referrer) and CIS 5.2.
    Bad: `<logFile logExtFileFlags="Date, Time, UriStem"/>`.
    Good: the IIS 10 default fields, or any superset of the required ones.
    """
    required = [f for f in params["required_fields"]]
    folded = [(f, f.casefold()) for f in required]
    central = _central(snap) is not None
    settings = snap.settings
    lookup, get = settings.lookup, settings.get
    # The four settings' (value, source) -> (outcome, which one a result shows, the fields missing), and
    # with where the one shown is set -> the message after the label: thousands of sites share a few.
    verdicts: dict[tuple, tuple[str, int, list[str] | None]] = {}
    tails: dict[tuple, str] = {}
    for scope, res, who in scoped(snap, SITES):
        places = (
            _log_place("enabled", scope, central),
            (SITES, "logFile/logFormat", scope),
            _log_place("logExtFileFlags", scope, central),
            (HTTP_LOGGING, "dontLog", scope),
        )
        found = [lookup(*place) for place in places]
        key = (found[0][:2], found[1][:2], found[2][:2], found[3][:2])
        verdict = verdicts.get(key)
        if verdict is None:
            verdict = verdicts[key] = _log_verdict(key, central, folded)
        outcome, shown, missing = verdict
        if outcome == "unknown":
            yield unknown(res, who, get(*places[shown]))
            continue
        _, _, evidence, at, pointer = found[shown]
        tail = tails.get((key, id(evidence)))
        if tail is None:
            tail = tails[(key, id(evidence))] = _log_tail(verdict, get(*places[shown]), required)
        if outcome == "pass":
            yield passed(res, who + tail, at=at, pointer=pointer)
        elif missing is None:
            yield fail(res, who + tail, at=at, pointer=pointer)
        else:
            yield fail(res, who + tail, at=at, pointer=pointer, missing=list(missing))


def _log_verdict(found, central, folded):
    """log_fields' (outcome, index of the setting a result shows, the fields missing or None) from the
    (value, source) of enabled, logFormat, logExtFileFlags and dontLog at one scope."""
    (enabled, _), (fmt, _), (flags, _), (dont, _) = found
    sources = [source for _, source in found]
    if "unknown" in sources:
        return "unknown", sources.index("unknown"), None
    if st.as_bool(enabled) is False or st.as_bool(dont):
        return "fail", 0 if st.as_bool(enabled) is False else 3, None
    if (fmt or "").strip().casefold() != "w3c" and not central:
        return "fail", 1, None
    have = st.as_flags(flags)
    missing = [f for f, key in folded if key not in have]
    return ("fail", 2, missing) if missing else ("pass", 2, None)


def _log_tail(verdict, s, required):
    """The message after the label for a verdict of `_log_verdict`; `s` is the setting it shows."""
    outcome, shown, missing = verdict
    if outcome == "pass":
        return f": W3C logging records {', '.join(required)}."
    if shown in (0, 3):
        return f": logging is disabled {s.where}, so requests leave no trace; enable the W3C log."
    if shown == 1:
        return f": the log format is {s.value} {s.where}; the required fields need W3C."
    return (
        f": the W3C log lacks {', '.join(missing)} {s.where}, so an incident cannot be traced; add them "
        "to logExtFileFlags."
    )


def _custom_rule(snap, wanted, why):
    folded = [(f"{kind} {name}", (kind.casefold(), name.casefold())) for kind, name in wanted]
    recorded = ", ".join(f"{k} {n}" for k, n in wanted)
    seen: dict[int, dict] = {}
    # Per item list (every site without fields of its own shares the server's): the fields missing and
    # the message after the scope's label.
    answers: dict[int, tuple[list[str], str]] = {}
    settings = snap.settings
    lookup = settings.lookup
    for scope, res, who in scoped(snap, SITES):
        coll, fields = _custom_fields(snap, scope, seen)
        if not coll.known:
            yield unknown(res, who, settings.get(SITES, "logFile/logFormat", scope))
            continue
        _, _, _, at, pointer = lookup(SITES, "logFile/logFormat", scope)  # what a result points at
        answer = answers.get(id(coll.items))
        if answer is None:
            missing = [shown for shown, key in folded if key not in fields]
            tail = (
                f": the W3C log has no custom field for {', '.join(missing)}, {why}; add them under "
                "logFile/customFields."
                if missing
                else f": the log records {recorded}."
            )
            answer = answers[id(coll.items)] = (missing, tail)
        missing, tail = answer
        if missing:
            yield fail(res, who + tail, at=at, pointer=pointer, missing=list(missing))
        else:
            yield passed(res, who + tail, at=at, pointer=pointer)


def _pairs(entries):
    out = []
    for e in entries:
        kind, _, name = str(e).partition(":")
        out.append((kind.strip(), name.strip()))
    return out


@rule(
    id="IIS-CFG-043",
    name="cfg.log_outcome_fields",
    title="Log lacks the Connection and Warning request headers",
    severity="low",
    category="hardening",
    description="The W3C custom fields of siteDefaults or a site do not log the Connection and Warning "
    "request headers.",
    rationale="The STIG uses these headers to establish the outcome of events. Low in the default profile: "
    "no install logs them and the status fields already tell success from failure; the stig-iis10 "
    "profile raises it to medium.",
    remediation="appcmd set config -section:system.applicationHost/sites "
    "/+\"siteDefaults.logFile.customFields.[logFieldName='Connection',sourceName='Connection',"
    "sourceType='RequestHeader']\" /commit:apphost\n"
    "New-ItemProperty 'IIS:\\Sites\\<site>' -Name logFile.customFields.collection -Value "
    "@{logFieldName='Warning';sourceType='RequestHeader';sourceName='Warning'}",
    references=[refs.STIG_218788, refs.STIG_218741, refs.MS_CUSTOM_FIELDS],
    parameters=[
        Parameter(
            "fields", ["RequestHeader:Connection", "RequestHeader:Warning"], '"sourceType:sourceName" pairs'
        )
    ],
    needs=("iis",),
)
def log_outcome_fields(snap, params):
    """Checks: siteDefaults and every site: the merged `logFile/customFields` collection holds an entry for
    each `fields` pair (sourceType and sourceName, case-insensitive).
    Why: STIG V-218788 (server) and V-218741 (site) require the Connection and Warning request headers.
    Bad: no customFields.
    Good: `<customFields><add logFieldName="Connection" sourceName="Connection" sourceType="RequestHeader"/>`
    and the same for Warning.
    """
    yield from _custom_rule(
        snap, _pairs(params["fields"]), "which the STIG uses to establish an event's outcome"
    )


@rule(
    id="IIS-CFG-044",
    name="cfg.log_identity_fields",
    title="Log lacks the Authorization and Content-Type headers",
    severity="low",
    category="hardening",
    description="The W3C custom fields of siteDefaults or a site do not log the Authorization request "
    "header and the Content-Type response header.",
    rationale="The STIG asks for them to establish who and what took part in an event. Note that logging "
    "Authorization writes Basic credentials (base64) and bearer tokens into the log files, which must then "
    "be protected like secrets: low in the default profile; the stig-iis10 profile raises it to medium.",
    remediation="appcmd set config -section:system.applicationHost/sites "
    "/+\"siteDefaults.logFile.customFields.[logFieldName='Authorization',sourceName='Authorization',"
    "sourceType='RequestHeader']\" /commit:apphost\n"
    "New-ItemProperty 'IIS:\\Sites\\<site>' -Name logFile.customFields.collection -Value "
    "@{logFieldName='Content-Type';sourceType='ResponseHeader';sourceName='Content-Type'}",
    references=[refs.STIG_218789, refs.STIG_218742, refs.MS_CUSTOM_FIELDS],
    parameters=[
        Parameter(
            "fields",
            ["RequestHeader:Authorization", "ResponseHeader:Content-Type"],
            '"sourceType:sourceName" pairs',
        )
    ],
    needs=("iis",),
)
def log_identity_fields(snap, params):
    """Checks: siteDefaults and every site: the merged `logFile/customFields` collection holds an entry for
    each `fields` pair.
    Why: STIG V-218789 (server) and V-218742 (site) require the Authorization request header and the
    Content-Type response header.
    Bad: no customFields.
    Good: `<add logFieldName="Authorization" sourceName="Authorization" sourceType="RequestHeader"/>` and
    `<add logFieldName="Content-Type" sourceName="Content-Type" sourceType="ResponseHeader"/>`.
    """
    yield from _custom_rule(snap, _pairs(params["fields"]), "which the STIG uses to establish who took part")


@rule(
    id="IIS-CFG-045",
    name="cfg.log_file_and_etw",
    title="Log not written to both file and ETW",
    severity="low",
    category="hardening",
    description='logFile logTargetW3C of siteDefaults or a site is not "File, ETW": events go only to the '
    "log file (the default) or only to Event Tracing for Windows.",
    rationale="ETW feeds the events to a collector as they happen, so an attacker who deletes the log files "
    "does not erase the record. Low in the default profile (the default is File only); the stig-iis10 and "
    "cis-iis10 profiles raise it to medium.",
    remediation="appcmd set config -section:system.applicationHost/sites "
    '/siteDefaults.logFile.logTargetW3C:"File,ETW" /commit:apphost\n'
    "Set-WebConfigurationProperty -PSPath IIS:\\ -Filter system.applicationHost/sites/siteDefaults/logFile "
    "-Name logTargetW3C -Value 'File,ETW'",
    references=[refs.STIG_218786, refs.STIG_218739, refs.CIS_5_3, refs.MS_LOGFILE],
    needs=("iis",),
)
def log_file_and_etw(snap, params):
    """Checks: the effective `logFile/@logTargetW3C` of siteDefaults and every site holds both File and ETW
    (IIS 8.5 and later).
    Why: STIG V-218786 (server), V-218739 (site) and CIS 5.3 require both the log file and ETW.
    Bad: no logTargetW3C (File).
    Good: `<logFile logTargetW3C="File, ETW"/>`.
    """
    yield from judge(
        snap,
        SITES,
        "logFile/logTargetW3C",
        lambda s: {"file", "etw"} <= s.flags(),
        lambda s: (
            f"logTargetW3C is {s.value!r} {s.where}; log to both File and ETW so the record "
            "survives the deletion of log files."
        ),
        lambda s: f"events go to the log file and ETW {s.where}.",
        inherited_label=False,
    )


@rule(
    id="IIS-CFG-046",
    name="cfg.log_rollover",
    title="Log files not rolled over on a schedule",
    severity="medium",
    category="hardening",
    description='logFile period of siteDefaults or a site is MaxSize with no size limit ("Do not create new '
    'log files"), or not a schedule.',
    rationale="One ever-growing log fills the volume and cannot be moved off the server or archived while "
    "IIS writes to it.",
    remediation="appcmd set config -section:system.applicationHost/sites /siteDefaults.logFile.period:Daily "
    "/commit:apphost\n"
    "Set-WebConfigurationProperty -PSPath IIS:\\ -Filter system.applicationHost/sites/siteDefaults/logFile "
    "-Name period -Value Daily",
    references=[refs.STIG_218815, refs.STIG_218765, refs.MS_LOGFILE],
    needs=("iis",),
)
def log_rollover(snap, params):
    """Checks: the effective `logFile/@period` of siteDefaults and every site (or the central file's): Hourly,
    Daily (the default), Weekly or Monthly pass; MaxSize fails (the STIG asks for a schedule, and MaxSize
    with the largest truncateSize is IIS Manager's "Do not create new log files").
    Why: STIG V-218815 (server) and V-218765 (site): log storage capacity with scheduled rollover.
    Bad: `<logFile period="MaxSize" truncateSize="4294967295"/>`.
    Good: `<logFile period="Daily"/>`.
    """
    central = _central(snap) is not None
    yield from judge(
        snap,
        SITES,
        "logFile/period",
        lambda s: (s.value or "").strip().casefold() in ("hourly", "daily", "weekly", "monthly"),
        lambda s: (
            f"the log period is {s.value} {s.where}, not a schedule; roll the logs over "
            "daily (or hourly, weekly, monthly) so they can be archived."
        ),
        lambda s: f"log files roll over {s.value.lower()} {s.where}.",
        lookup=lambda scope: _log(snap, "period", scope, central),
        inherited_label=False,
    )


@rule(
    id="IIS-CFG-047",
    name="cfg.log_forwarded_client",
    title="Client address behind a proxy not logged",
    severity="medium",
    category="hardening",
    description="The server sits behind a load balancer or proxy (parameter behind_proxy) and the W3C log "
    "of siteDefaults or a site has no X-Forwarded-For custom field.",
    rationale="Behind a proxy, c-ip is the proxy's address: without X-Forwarded-For the logs cannot tell "
    "which client did what. Off in the default profile (whether a proxy fronts the server is not in any "
    "capture); the stig-iis10 profile enables it and reports not_reviewed until behind_proxy is set.",
    remediation="appcmd set config -section:system.applicationHost/sites "
    "/+\"siteDefaults.logFile.customFields.[logFieldName='X-Forwarded-For',sourceName='X-Forwarded-For',"
    "sourceType='RequestHeader']\" /commit:apphost\n"
    "New-ItemProperty IIS:\\ -Name logFile.customFields.collection -Value "
    "@{logFieldName='X-Forwarded-For';sourceType='RequestHeader';sourceName='X-Forwarded-For'}",
    references=[refs.STIG_218787, refs.STIG_218740, refs.MS_CUSTOM_FIELDS],
    parameters=[
        Parameter(
            "behind_proxy",
            "unknown",
            "Is the server behind a proxy?",
            type="str",
            choices=("unknown", "yes", "no"),
        )
    ],
    needs=("iis",),
    default_enabled=False,
)
def log_forwarded_client(snap, params):
    """Checks: with `behind_proxy: yes`, that siteDefaults and every site log the X-Forwarded-For request
    header as a custom field; with `no`, not applicable; left `unknown`, a logged X-Forwarded-For passes
    and anything else is not reviewed.
    Why: STIG V-218787 (server) and V-218740 (site): source client and destination behind a proxy.
    Bad: behind a load balancer, no X-Forwarded-For field.
    Good: `<add logFieldName="X-Forwarded-For" sourceName="X-Forwarded-For" sourceType="RequestHeader"/>`.
    """
    mode = params["behind_proxy"]
    seen: dict[int, dict] = {}
    for scope in snap.settings.scopes(SITES):
        res, who = named(SITES, scope)
        coll, fields = _custom_fields(snap, scope, seen)
        s = snap.setting(SITES, "logFile/logFormat", scope)
        if mode == "no":
            yield not_applicable(res, f"{who}: the server is not behind a proxy (behind_proxy: no).")
        elif not coll.known:
            yield unknown(res, who, s)
        elif ("requestheader", "x-forwarded-for") in fields:
            yield good(res, f"{who}: the log records X-Forwarded-For.", s)
        elif mode == "yes":
            yield bad(
                res,
                f"{who}: the server is behind a proxy but the log has no X-Forwarded-For field, so c-ip "
                "is the proxy's address; add the custom field.",
                s,
            )
        else:
            yield not_reviewed(
                res,
                f"{who}: whether a proxy fronts the server is not captured; set behind_proxy "
                "(yes/no) for this rule.",
                at=s.at,
                pointer=s.pointer,
            )


RULES = [
    log_fields,
    log_outcome_fields,
    log_identity_fields,
    log_file_and_etw,
    log_rollover,
    log_forwarded_client,
]


@hookimpl
def iisguard_pack_info():
    return {"prefixes": ["IIS-CFG-"], "description": "Built-in IIS-CFG-* rules: web logging"}


@hookimpl
def iisguard_register_rules():
    return RULES

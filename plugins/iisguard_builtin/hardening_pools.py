"""Built-in rule pack: IIS-CFG-048..053, application pool and site limits (issue #19): idle time-out,
recycling, rapid-fail protection, site connection limits."""

from __future__ import annotations

from iisguard import Parameter, fail, hookimpl, passed, rule
from iisguard import references as refs
from iisguard import settings as st

from .hardening_common import judge, scoped, unknown

POOLS = st.POOLS
SITES = st.SITES


@rule(
    id="IIS-CFG-048",
    name="cfg.pool_idle_timeout",
    title="Application pool idle time-out disabled",
    severity="medium",
    category="hardening",
    description="An application pool's processModel idleTimeout is 0: its worker never shuts down when idle.",
    rationale="An idle worker that never stops keeps its memory, handles and any foothold an attacker has "
    "in it, and keeps resources from other sites.",
    remediation="appcmd set apppool <pool> /processModel.idleTimeout:00:20:00\n"
    "Set-ItemProperty IIS:\\AppPools\\<pool> -Name processModel.idleTimeout -Value 00:20:00",
    references=[refs.STIG_218762, refs.MS_PROCMODEL],
    needs=("iis",),
)
def pool_idle_timeout(snap, params):
    """Checks: every application pool's effective `processModel/@idleTimeout` (the pool, else
    applicationPoolDefaults, else the IIS default 20 minutes); zero fails.
    Why: STIG V-218762 requires the idle time-out monitor enabled (not 0).
    Bad: `<processModel idleTimeout="00:00:00"/>`.
    Good: the default, or `idleTimeout="00:20:00"`.
    """
    yield from judge(
        snap, POOLS, "processModel/idleTimeout",
        lambda s: None if s.seconds() is None else s.seconds() > 0,
        lambda s: f"idleTimeout is {s.value} {s.where}, so the worker never stops when idle; set "
        "a time-out such as 00:20:00.",
        lambda s: f"idle workers stop after {s.value} {s.where}.",
    )  # fmt: skip


@rule(
    id="IIS-CFG-049",
    name="cfg.pool_request_limit",
    title="Application pool request limit not set",
    severity="low",
    category="hardening",
    description="An application pool's recycling periodicRestart requests is 0 (the default): the worker "
    "is never recycled after a number of requests.",
    rationale="Recycling after a set number of requests bounds the life of leaks and of anything planted "
    "in a worker. Low in the default profile (0 is Microsoft's default and the right number is the "
    "application's); the stig-iis10 profile raises it to medium. An approved exception is a waiver.",
    remediation="appcmd set apppool <pool> /recycling.periodicRestart.requests:100000\n"
    "Set-ItemProperty IIS:\\AppPools\\<pool> -Name recycling.periodicRestart.requests -Value 100000",
    references=[refs.STIG_218772, refs.MS_RECYCLING],
    needs=("iis",),
)
def pool_request_limit(snap, params):
    """Checks: every pool's effective `recycling/periodicRestart/@requests`; 0 fails.
    Why: STIG V-218772 requires the maximum number of requests explicitly set.
    Bad: no requests attribute (0).
    Good: `<periodicRestart requests="100000"/>`.
    """
    yield from judge(
        snap, POOLS, "recycling/periodicRestart/requests",
        lambda s: None if s.number() is None else s.number() > 0,
        lambda s: f"the request limit is {s.value} {s.where}, so the worker is never recycled by "
        "request count; set recycling.periodicRestart.requests.",
        lambda s: f"the worker recycles after {s.value} requests {s.where}.",
    )  # fmt: skip


_CONDITIONS = {"time": "Time", "requests": "Requests", "memory": "Memory", "privateMemory": "PrivateMemory"}


@rule(
    id="IIS-CFG-050",
    name="cfg.pool_recycling",
    title="Application pool has no recycling condition or does not log it",
    severity="medium",
    category="hardening",
    description="An application pool recycles on no condition (time, requests, memory, private memory or a "
    "schedule), or the recycling events of its conditions are not logged (logEventOnRecycle).",
    rationale="Without a recycling condition a worker's leaks and state live forever; without the event "
    "log entries nobody can tell when and why workers restarted.",
    remediation="appcmd set apppool <pool> /recycling.periodicRestart.time:1.05:00:00\n"
    "Set-ItemProperty IIS:\\AppPools\\<pool> -Name recycling.logEventOnRecycle -Value "
    "'Time,Requests,Schedule,Memory,PrivateMemory'",
    references=[refs.STIG_218775, refs.MS_RECYCLING],
    needs=("iis",),
)
def pool_recycling(snap, params):
    """Checks: every pool: at least one of `recycling/periodicRestart` time, requests, memory,
    privateMemory is above zero or a schedule entry exists, and `recycling/@logEventOnRecycle` holds the
    event of each condition in use (the IIS 10 defaults, 29 hours and every event, pass).
    Why: STIG V-218775 requires a recycle condition and the matching recycling events logged.
    Bad: `<periodicRestart time="00:00:00"/>` and no other condition.
    Good: `<periodicRestart time="1.05:00:00"/>` with logEventOnRecycle including Time.
    """
    settings = snap.settings
    lookup, get = settings.lookup, settings.get
    scheduled_at: dict[str | None, bool] = {}  # settings entry in force (its pointer) -> a schedule is set
    # The condition values, whether a schedule is set, logEventOnRecycle and where the values a message
    # quotes are set -> (the outcome, the message after the label): thousands of pools share a few. A
    # Setting is built only for a new answer.
    answers: dict[tuple, tuple[bool, str, bool]] = {}
    for pool, res, who in scoped(snap, POOLS):
        values = [lookup(POOLS, attribute, pool) for _, attribute in _RECYCLING]
        log = lookup(POOLS, "recycling/logEventOnRecycle", pool)
        if "unknown" in (log[1], values[0][1], values[1][1], values[2][1], values[3][1]):
            yield unknown(res, who, get(POOLS, "recycling/logEventOnRecycle", pool))
            continue
        pointer = log[4]
        scheduled = scheduled_at.get(pointer)
        if scheduled is None:
            scheduled = scheduled_at[pointer] = bool(
                settings.items(POOLS, "recycling/periodicRestart/schedule", pool).items
            )
        time = values[0]
        key = (
            *[v[0] for v in values], scheduled, log[0], time[1], id(time[2]), log[1], id(log[2]),
        )  # fmt: skip
        answer = answers.get(key)
        if answer is None:
            answer = answers[key] = _recycling_answer(
                [v[0] for v in values], scheduled, get(POOLS, _RECYCLING[0][1], pool),
                get(POOLS, "recycling/logEventOnRecycle", pool),
            )  # fmt: skip
        ok, tail, shown = answer
        s = log if shown else time  # the setting the message quotes
        if ok:
            yield passed(res, who + tail, at=s[3], pointer=s[4])
        else:
            yield fail(res, who + tail, at=s[3], pointer=s[4])


def _recycling_answer(values, scheduled, time, log):
    """(passes, the message after the label, whether it is about logEventOnRecycle rather than time)
    for the periodicRestart values (time, requests, memory, privateMemory), whether a schedule is set,
    and the time and logEventOnRecycle Settings."""
    used = [
        condition
        for (condition, _), v in zip(_RECYCLING, values, strict=True)
        if ((st.as_seconds(v) or 0) if condition == "Time" else (st.as_int(v) or 0)) > 0
    ]
    if scheduled:
        used.append("Schedule")
    if not used:
        return (
            False,
            f": no recycling condition is set {time.where}, so the worker runs until it "
            "fails; set a regular time interval, request limit, memory limit or schedule.",
            False,
        )
    logged = log.flags()
    unlogged = [c for c in used if c.casefold() not in logged]
    if unlogged:
        return (
            False,
            f": recycling on {', '.join(unlogged)} is not logged (logEventOnRecycle is "
            f"{log.value!r} {log.where}); add those events.",
            True,
        )
    return True, f": recycles on {', '.join(used)} and logs it.", True


# (condition as logEventOnRecycle names it, its periodicRestart attribute), "time" first.
_RECYCLING = [(c, f"recycling/periodicRestart/{k}") for k, c in _CONDITIONS.items()]


@rule(
    id="IIS-CFG-051",
    name="cfg.rapid_fail_protection",
    title="Rapid-fail protection disabled",
    severity="medium",
    category="hardening",
    description="An application pool's failure rapidFailProtection is false: a crashing worker is "
    "restarted forever.",
    rationale="Rapid-fail protection stops a pool whose workers keep crashing, which is what an exploit "
    "attempt or a denial-of-service loop looks like, instead of restarting it without end.",
    remediation="appcmd set apppool <pool> /failure.rapidFailProtection:true\n"
    "Set-ItemProperty IIS:\\AppPools\\<pool> -Name failure.rapidFailProtection -Value True",
    references=[refs.STIG_218777, refs.MS_FAILURE],
    needs=("iis",),
)
def rapid_fail_protection(snap, params):
    """Checks: every pool's effective `failure/@rapidFailProtection`; the default (true) passes.
    Why: STIG V-218777 requires rapid-fail protection enabled.
    Bad: `<failure rapidFailProtection="false"/>`.
    Good: the default, or `rapidFailProtection="true"`.
    """
    yield from judge(
        snap, POOLS, "failure/rapidFailProtection", lambda s: s.flag(),
        lambda s: f"rapid-fail protection is off {s.where}, so crashing workers restart without "
        "end; enable it.",
        lambda s: f"rapid-fail protection is on {s.where}.",
    )  # fmt: skip


@rule(
    id="IIS-CFG-052",
    name="cfg.rapid_fail_interval",
    title="Rapid-fail protection interval longer than 5 minutes",
    severity="medium",
    category="hardening",
    description="An application pool's failure rapidFailProtectionInterval is longer than the limit (5 "
    "minutes, the default).",
    rationale="A longer interval lets a crash loop run longer before the pool is stopped.",
    remediation="appcmd set apppool <pool> /failure.rapidFailProtectionInterval:00:05:00\n"
    "Set-ItemProperty IIS:\\AppPools\\<pool> -Name failure.rapidFailProtectionInterval -Value 00:05:00",
    references=[refs.STIG_218778, refs.MS_FAILURE],
    parameters=[Parameter("max_minutes", 5, "Longest failure interval allowed, in minutes", type="int")],
    needs=("iis",),
)
def rapid_fail_interval(snap, params):
    """Checks: every pool's effective `failure/@rapidFailProtectionInterval` against `max_minutes`.
    Why: STIG V-218778 requires the failure interval set to 5 minutes or less.
    Bad: `<failure rapidFailProtectionInterval="00:30:00"/>`.
    Good: the default (00:05:00).
    """
    limit = params["max_minutes"] * 60
    yield from judge(
        snap, POOLS, "failure/rapidFailProtectionInterval",
        lambda s: None if s.seconds() is None else s.seconds() <= limit,
        lambda s: f"the rapid-fail interval is {s.value} {s.where}, longer than "
        f"{params['max_minutes']} minutes; shorten it.",
        lambda s: f"the rapid-fail interval is {s.value} {s.where}.",
    )  # fmt: skip


@rule(
    id="IIS-CFG-053",
    name="cfg.max_connections",
    title="Site maxConnections set to zero",
    severity="medium",
    category="hardening",
    description="siteDefaults or a site has limits maxConnections 0.",
    rationale="The STIG asks for the simultaneous-connection limit to be configured; a zero limit is "
    "the finding its check names.",
    remediation="appcmd set config -section:system.applicationHost/sites "
    "/siteDefaults.limits.maxConnections:4294967295 /commit:apphost\n"
    "Set-WebConfigurationProperty -PSPath IIS:\\ -Filter system.applicationHost/sites/siteDefaults/limits "
    "-Name maxConnections -Value 4294967295",
    references=[refs.STIG_218826, refs.MS_LIMITS],
    needs=("iis",),
)
def max_connections(snap, params):
    """Checks: the effective `limits/@maxConnections` of siteDefaults and every site; the STIG check fails
    only a value of zero (the IIS default, 4294967295, passes).
    Why: STIG V-218826: "verify the value is greater than zero for the maxconnections parameter".
    Bad: `<limits maxConnections="0"/>`.
    Good: the default, or a limit sized for the site.
    """
    yield from judge(
        snap, SITES, "limits/maxConnections",
        lambda s: None if s.number() is None else s.number() > 0,
        lambda s: f"maxConnections is {s.value} {s.where}; set a limit greater than zero.",
        lambda s: f"maxConnections is {s.value} {s.where}.",
    )  # fmt: skip


RULES = [
    pool_idle_timeout,
    pool_request_limit,
    pool_recycling,
    rapid_fail_protection,
    rapid_fail_interval,
    max_connections,
]


@hookimpl
def iisguard_pack_info():
    return {
        "prefixes": ["IIS-CFG-"],
        "description": "Built-in IIS-CFG-* rules: application pools and site limits",
    }


@hookimpl
def iisguard_register_rules():
    return RULES

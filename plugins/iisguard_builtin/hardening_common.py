"""What the IIS-CFG-* rule modules share: naming a scope, and turning settings into results.

Every rule asks the public model (`snap.setting`, `snap.settings.items`, `snap.settings.scopes`); this
module only spells the messages and the resource keys the same way everywhere.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from typing import Any

from iisguard import Result, Setting, fail, iis, names, not_reviewed, passed
from iisguard import settings as st

POOLS = st.POOLS
SITES = st.SITES


def resource(section: str, scope: str) -> str:
    """The resource key of a scope: a pool for pool settings, else the location (server, site, path)."""
    if section == POOLS:
        return iis.pool_key(scope)
    return iis.location_key(scope)


def label(section: str, scope: str, snap: Any = None) -> str:
    if section == POOLS:
        return f"Application pool '{scope}'"
    if not scope:
        if snap is not None:
            sites = snap.settings.inheriting(section)
            if sites:
                shown = ", ".join(f"'{s}'" for s in sites[:3]) + (
                    f" and {len(sites) - 3} more" if len(sites) > 3 else ""
                )
                return (
                    f"The server level (inherited by site {shown})"
                    if len(sites) == 1
                    else f"The server level (inherited by sites {shown})"
                )
        return "The server level"
    if "/" in scope.strip("/"):
        return f"'{scope}'"
    return f"Site '{scope}'"


def named(section: str, scope: str, snap: Any = None) -> tuple[str, str]:
    """`resource` and `label` of a scope at once (the label as `label(section, scope, snap)` spells it)."""
    if scope or section == POOLS:
        return _named(section, scope)
    return resource(section, scope), label(section, scope, snap)


@lru_cache(maxsize=32768)
def _named(section: str, scope: str) -> tuple[str, str]:
    # Remembered: some thirty rules name each of a large host's thousands of sites and pools.
    return resource(section, scope), label(section, scope)


def bad(res: str, message: str, s: Setting, **properties: Any) -> Result:
    """A failure pointing at the line that sets the value (or the section or scope that lacks it)."""
    return fail(res, message, at=s.at, pointer=s.pointer, **properties)


def good(res: str, message: str, s: Setting) -> Result:
    return passed(res, message, at=s.at, pointer=s.pointer)


def unknown(res: str, who: str, s: Setting) -> Result:
    return not_reviewed(
        res,
        f"{who}: {s.section} {s.attribute} was not captured (no applicationHost.config, or no web.config "
        "files for ASP.NET settings), so it cannot be judged.",
        at=s.at,
        pointer=s.pointer,
    )


def judge(
    snap: Any,
    section: str,
    attribute: str,
    check: Callable[[Setting], bool | None],
    message: Callable[[Setting], str],
    ok: Callable[[Setting], str],
    *,
    scopes: Iterable[str] | None = None,
    lookup: Callable[[str], Setting] | None = None,
    inherited_label: bool = True,
) -> Iterator[Result]:
    """One result per scope: fail where `check` is False, pass where True, not_reviewed when unknown.

    `message` (a failure) and `ok` (a pass) say what follows "<scope's label>: ". They and `check` read
    the setting's value and `where` only: each is asked once per distinct value and place it is set
    (thousands of pools and sites share a few). `lookup(scope)` replaces the plain settings lookup (the
    logging rules read a site's log file or the central one); without `inherited_label` the server
    level is labelled without the sites that inherit it."""
    settings = snap.settings
    # (value, source, evidence) -> (verdict, ": " and the message after the label); the evidence by
    # identity: the snapshot's own line object, alive while the rule runs. A Setting is built only to
    # judge a value not seen yet (settings.lookup answers the rest).
    answers: dict[tuple[str | None, str, int], tuple[bool | None, str]] = {}
    listed = (
        scoped(snap, section, inherited_label)
        if scopes is None
        else [(scope, *named(section, scope, snap if inherited_label else None)) for scope in scopes]
    )
    for scope, res, who in listed:
        if lookup is None:
            value, source, evidence, at, pointer = settings.lookup(section, attribute, scope)
        else:
            s = lookup(scope)
            value, source, evidence, at, pointer = s.value, s.source, s.evidence, s.at, s.pointer
        if source == "unknown":
            yield unknown(res, who, settings.get(section, attribute, scope) if lookup is None else s)
            continue
        key = (value, source, id(evidence))
        answer = answers.get(key)
        if answer is None:
            if lookup is None:
                s = settings.get(section, attribute, scope)
            verdict = check(s)
            if verdict is None:
                tail = (
                    f"{section} {attribute}={s.value!r} {s.where} is not a value IIS accepts; "
                    "fix the configuration (IIS refuses to serve with it)."
                )
            else:
                tail = ok(s) if verdict else message(s)
            answer = answers[key] = (verdict, f": {tail}")
        if answer[0]:
            yield passed(res, who + answer[1], at=at, pointer=pointer)
        else:
            yield fail(res, who + answer[1], at=at, pointer=pointer)


def scoped(snap: Any, section: str, labelled: bool = False) -> list[tuple[str, str, str]]:
    """(scope, resource, label) of each of `snap.settings.scopes(section)`, named as `named` does (the
    server level with the sites that inherit it when `labelled`). Worked out once per snapshot: some
    thirty rules name the same thousands of scopes. Shared: do not change the list."""
    memo = _SCOPED.get(snap.settings)
    if memo is None:
        memo = _SCOPED[snap.settings] = {}
    key = (section, labelled)
    found = memo.get(key)
    if found is None:
        shown = snap if labelled else None
        found = memo[key] = [
            (scope, *named(section, scope, shown)) for scope in snap.settings.scopes(section)
        ]
    return found


# Settings (one per snapshot) -> (section, labelled) -> scoped()'s list; forgotten with the snapshot's model.
_SCOPED: weakref.WeakKeyDictionary[Any, dict[tuple[str, bool], list[tuple[str, str, str]]]] = (
    weakref.WeakKeyDictionary()
)


def per_site_limit(entries: list[str], default: int, site: str) -> int:
    """ "glob=value" parameter entries: the first whose glob matches the site, else the default."""
    for entry in entries:
        pattern, sep, value = str(entry).rpartition("=")
        if sep and value.strip().isdigit() and names.matches_any(site, [pattern]):
            return int(value.strip())
    return default


def site_of(scope: str) -> str:
    return scope.strip("/").split("/", 1)[0]


def item_where(item: st.Item) -> str:
    ev = item.evidence
    if not ev:
        return ""
    return f"(line {ev.get('line')} of {str(ev.get('artifact') or '?').replace(chr(92), '/').rsplit('/', 1)[-1]})"


def bad_item(res: str, message: str, item: st.Item, coll: st.Collection, **properties: Any) -> Result:
    """A failure pointing at the collection item's line."""
    at = {"evidence": item.evidence} if item.evidence else coll.at
    return fail(res, message, at=at, pointer=coll.pointer, **properties)


def good_items(res: str, message: str, coll: st.Collection) -> Result:
    return passed(res, message, at=coll.at, pointer=coll.pointer)

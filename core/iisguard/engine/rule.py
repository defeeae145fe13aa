"""Rule metadata and the `@rule` decorator rule packs use."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..model.snapshot import SECTIONS
from .findings import Result, Severity

if TYPE_CHECKING:
    from ..model.snapshot import Snapshot

RULE_ID = re.compile(r"^[A-Z][A-Z0-9]*-[A-Z][A-Z0-9]*-\d{3}$")
BUILTIN_ID = re.compile(r"^IIS-(POOL|ANON|HOST|PRIV|ACL|CRED|KRB|CFG|TLS|FEAT|SCRIPT)-\d{3}$")

RuleFunc = Callable[["Snapshot", Mapping[str, Any]], Iterable[Result]]


@dataclass(frozen=True)
class Reference:
    """A citation: `id` is a tag such as CIS-IIS10-1.4 or STIG-V-218750 (or a short name), `url` where to read it."""

    id: str
    url: str = ""
    title: str = ""

    @property
    def is_framework(self) -> bool:
        return self.id.startswith(("CIS-", "STIG-"))


@dataclass(frozen=True)
class Parameter:
    """A tunable input of a rule, with its default. `type` is one of str, int, bool, list."""

    name: str
    default: Any
    description: str
    type: str = "list"
    choices: Sequence[Any] = ()

    def check(self, value: Any) -> Any:
        expected = {"str": str, "int": int, "bool": bool, "list": list}[self.type]
        if self.type == "int" and isinstance(value, bool) or not isinstance(value, expected):
            raise ValueError(f"parameter {self.name!r} expects a {self.type}, got {value!r}")
        if self.choices and value not in self.choices:
            raise ValueError(f"parameter {self.name!r} must be one of {list(self.choices)}, got {value!r}")
        return value


@dataclass(frozen=True)
class Rule:
    """A rule: explicit metadata plus a pure function of the snapshot and its parameters."""

    id: str
    name: str
    title: str
    severity: Severity
    description: str
    rationale: str
    remediation: str
    func: RuleFunc = field(repr=False, compare=False)
    category: str = ""
    references: tuple[Reference, ...] = ()
    tags: tuple[str, ...] = ()
    parameters: tuple[Parameter, ...] = ()
    needs: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    default_enabled: bool = True
    doc: str = ""
    pack: str = ""

    @property
    def help_uri(self) -> str:
        for ref in self.references:
            if ref.url:
                return ref.url
        return ""

    @property
    def all_tags(self) -> tuple[str, ...]:
        framework = tuple(r.id for r in self.references if r.is_framework)
        return tuple(dict.fromkeys(("security", *self.tags, *framework)))

    def default_parameters(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.parameters}

    def resolve_parameters(self, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
        values = self.default_parameters()
        known = {p.name: p for p in self.parameters}
        for key, value in (overrides or {}).items():
            if key not in known:
                raise ValueError(f"{self.id} has no parameter {key!r} (known: {', '.join(known) or 'none'})")
            values[key] = known[key].check(value)
        return values

    def evaluate(self, snapshot: Snapshot, parameters: Mapping[str, Any]) -> Iterable[Result]:
        return self.func(snapshot, parameters)


def rule(
    *,
    id: str,
    name: str,
    title: str,
    severity: Severity | str,
    description: str,
    rationale: str,
    remediation: str,
    category: str = "",
    references: Iterable[Reference | tuple[str, str]] = (),
    tags: Iterable[str] = (),
    parameters: Iterable[Parameter] = (),
    needs: Iterable[str] = (),
    aliases: Iterable[str] = (),
    default_enabled: bool = True,
) -> Callable[[RuleFunc], Rule]:
    """Declare a rule. The decorated function receives `(snapshot, params)` and yields Results.

    `needs` names snapshot sections (see SECTIONS) without which the rule cannot judge anything:
    when one of them is `failed` or `absent`, the engine reports `not_reviewed` without calling it.
    """

    def wrap(func: RuleFunc) -> Rule:
        refs = tuple(r if isinstance(r, Reference) else Reference(*r) for r in references)
        return Rule(
            id=id,
            name=name,
            title=title,
            severity=Severity.parse(severity),
            description=description,
            rationale=rationale,
            remediation=remediation,
            func=func,
            category=category,
            references=refs,
            tags=tuple(tags),
            parameters=tuple(parameters),
            needs=tuple(needs),
            aliases=tuple(aliases),
            default_enabled=default_enabled,
            doc=inspect.cleandoc(func.__doc__ or ""),  # Python < 3.13 keeps the indentation
        )

    return wrap


def validate_rule(rule_obj: Any, pack: str, prefixes: Sequence[str] = ()) -> list[str]:
    """Problems with a rule a pack returned, as sentences (empty when it is acceptable)."""
    if not isinstance(rule_obj, Rule):
        return [f"returned {type(rule_obj).__name__}, not a Rule made with @iisguard.rule"]
    problems = []
    r = rule_obj
    if not RULE_ID.match(r.id):
        problems.append(f"rule id {r.id!r} is not of the form PREFIX-AREA-NNN")
    elif r.id.startswith("IIS-") and not BUILTIN_ID.match(r.id):
        problems.append(f"rule id {r.id!r} uses the IIS- prefix with an unknown area")
    elif prefixes and not r.id.startswith(tuple(prefixes)):
        problems.append(f"rule id {r.id!r} is outside the pack's prefixes {list(prefixes)}")
    for attr in ("title", "remediation", "description", "name"):
        if not str(getattr(r, attr) or "").strip():
            problems.append(f"rule {r.id} has no {attr}")
    unknown = [s for s in r.needs if s not in SECTIONS]
    if unknown:
        problems.append(f"rule {r.id} needs unknown sections {unknown}")
    return problems

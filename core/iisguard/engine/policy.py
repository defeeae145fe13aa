"""Profiles and organization policies: one YAML format, validated, layered into what a scan runs.

A document (``kind: Profile`` or ``kind: Policy``) may ``extends`` another (a profile name or a path
relative to it), enable or disable rules (ids, globs, ``framework:<name>``), override a rule's
severity, parameters or enablement, define ``custom_rules`` in CEL and record ``waivers``. Documents
apply in order, each on top of what came before: the profile chain, then each ``--policy`` file
(after its own ``extends`` chain). A document reached twice is applied once.

Every problem is reported with file and line; nothing is applied unless the whole set is valid.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from .. import schemas, yamlsource
from ..errors import PolicyError
from ..model.jsonpos import escape, pointer
from . import cel_rules, frameworks
from .rule import Rule

DEFAULT_PROFILE = "baseline"
AUTO_POLICY = "iisguard.yaml"
DEFAULT_WAIVER_MAX_DAYS = 365


@dataclass(frozen=True)
class Problem:
    where: str  # file:line
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"

    def order(self) -> tuple[str, int]:
        path, _, line = self.where.rpartition(":")
        return (path, int(line)) if line.isdigit() else (self.where, 0)


@dataclass(frozen=True)
class WaiverSpec:
    """A waiver as written: which failures it covers, why, who owns it, until when (inclusive, UTC)."""

    rule: str
    resource: str
    hosts: tuple[str, ...]
    reason: str
    owner: str
    expires: date
    source: str  # file:line of the waiver

    def covers(self, rule_id: str, host: str, resource: str) -> bool:
        """Globs are case-insensitive; `resource` matches the whole key or the name after its collection
        (`Legacy*` and `app_pools/Legacy*` both cover `app_pools/LegacyCRM`)."""
        if rule_id != self.rule:
            return False
        pattern = self.resource.casefold()
        key = resource.casefold()
        name = key.split("/", 1)[1] if "/" in key else key
        if not (fnmatch.fnmatchcase(key, pattern) or fnmatch.fnmatchcase(name, pattern)):
            return False
        return any(fnmatch.fnmatchcase(host.casefold(), h.casefold()) for h in self.hosts)

    def label(self) -> str:
        hosts = "" if self.hosts == ("*",) else f" on {', '.join(self.hosts)}"
        return f"waiver {self.rule} {self.resource!r}{hosts} ({self.source})"


@dataclass
class Document:
    """One parsed and schema-valid policy or profile file."""

    path: str
    source: yamlsource.Source
    parent: Document | None = None  # what `extends` names, resolved

    @property
    def data(self) -> dict[str, Any]:
        return self.source.data

    @property
    def label(self) -> str:
        return str(self.data.get("name") or Path(self.path).stem)

    def where(self, ptr: str) -> str:
        return self.source.where(ptr)

    def waiver_max_days(self) -> int:
        doc: Document | None = self
        while doc is not None:
            if "waiver_max_days" in doc.data:
                return int(doc.data["waiver_max_days"])
            doc = doc.parent
        return DEFAULT_WAIVER_MAX_DAYS


@dataclass
class Effective:
    """What the layered documents decide: enablement, overrides, custom rules, waivers."""

    documents: list[Document] = field(default_factory=list)
    profile: str | None = None
    enabled: dict[str, bool] = field(default_factory=dict)
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    custom_rules: dict[str, Rule] = field(default_factory=dict)
    waivers: list[WaiverSpec] = field(default_factory=list)
    require: list[str] = field(default_factory=list)  # sections every host must have (`require:`)

    def catalog(self, rules: Mapping[str, Rule]) -> dict[str, Rule]:
        return dict(sorted({**rules, **self.custom_rules}.items()))


# -- schema -------------------------------------------------------------------------------------


def schema() -> dict[str, Any]:
    """The policy JSON Schema shipped in the package."""
    return schemas.bundled("https://iisguard.dev/schema/policy-v1.json")


@cache
def _valid() -> Callable[[Any], bool]:
    return schemas.compiled(schema())


def schema_problems(source: yamlsource.Source) -> list[Problem]:
    """Schema violations with line numbers and plain messages."""
    if _valid()(source.data):
        # The compiled check (it also checks formats, so never more lenient): every scan reads the
        # built-in profile, and jsonschema's import alone took a tenth of a second.
        return []
    validator = schemas.validator(schema())
    out = []
    for err in sorted(validator.iter_errors(source.data), key=lambda e: [str(p) for p in e.absolute_path]):
        ptr = pointer(*err.absolute_path)
        at = ptr
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
            at = f"{ptr}/{escape(extra[0])}" if extra else ptr  # the line of the unknown key itself
        elif "propertyNames" in err.schema_path and isinstance(err.instance, str):
            at = f"{ptr}/{escape(err.instance)}"
        out.append(Problem(source.where(at), _plain(err, ptr)))
    return out


def _plain(err: Any, ptr: str) -> str:
    at = ptr.lstrip("/").replace("/", ".") or "the document"
    if err.validator == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        allowed = ", ".join(err.schema.get("properties", {}))
        return f"unknown key {extra[0]!r} in {at} (allowed: {allowed})" if extra else err.message
    if err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        return f"{at}: {missing!r} is required"
    if err.validator == "enum":
        return f"{at}: {err.instance!r} is not one of {', '.join(map(str, err.validator_value))}"
    if err.validator == "const":
        return f"{at}: expected {err.validator_value!r}, got {err.instance!r}"
    if "propertyNames" in err.schema_path:
        return f"{at}: {err.instance!r} is not a rule id (PREFIX-AREA-NNN, such as IIS-POOL-004)"
    if err.validator == "pattern" and ptr.endswith("/expires"):
        return f"{at}: bad date {err.instance!r} (expected YYYY-MM-DD)"
    if err.validator == "pattern":
        return f"{at}: {err.instance!r} does not have the expected form ({err.validator_value})"
    if err.validator == "type":
        return f"{at}: expected {err.validator_value}, got {type(err.instance).__name__} {err.instance!r}"
    return f"{at}: {err.message}"


# -- finding and reading documents --------------------------------------------------------------


def profiles_dir() -> Path:
    return frameworks.policies_dir() / "profiles"


def available_profiles() -> list[str]:
    folder = profiles_dir()
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def locate(ref: str, base: Path) -> Path | None:
    """A profile name (`<policies>/profiles/<name>.yaml`, see frameworks.policies_dir) or a path (relative to `base`)."""
    if "/" in ref or "\\" in ref or ref.endswith((".yaml", ".yml")):
        p = Path(ref)
        p = p if p.is_absolute() else base / p
        return p if p.is_file() else None
    p = profiles_dir() / f"{ref}.yaml"
    return p if p.is_file() else None


def _key(path: Path) -> str:
    return os.path.normcase(str(path.resolve()))


class Loader:
    """Reads documents and their `extends` chains once each, collecting problems instead of stopping."""

    def __init__(self) -> None:
        self.cache: dict[str, Document | None] = {}
        self.problems: list[Problem] = []

    def chain(self, path: Path, *, stack: tuple[str, ...] = ()) -> list[Document]:
        """The documents to apply for `path`, base first. Empty when the file itself is broken."""
        k = _key(path)
        doc = self._read(path)
        if doc is None:
            return []
        ext = doc.data.get("extends")
        if not isinstance(ext, str):
            return [doc]
        target = locate(ext, Path(doc.path).parent)
        if target is None:
            names = ", ".join(available_profiles()) or "none"
            self._add(doc.where("/extends"), f"extends {ext!r}: no such profile or file (profiles: {names})")
            return [doc]
        tk = _key(target)
        if tk == k or tk in stack:
            cycle = [*stack, k, tk]
            start = cycle.index(tk)
            shown = " -> ".join(Path(c).name for c in cycle[start:])
            self._add(doc.where("/extends"), f"cycle in extends: {shown}")
            return [doc]
        base = self.chain(target, stack=(*stack, k))
        if base:
            doc.parent = base[-1]
        return [*base, doc]

    def _read(self, path: Path) -> Document | None:
        k = _key(path)
        if k in self.cache:
            return self.cache[k]
        doc = None
        try:
            source = yamlsource.load(path)
        except PolicyError as exc:
            self._add(exc.where or str(path), str(exc).split(": ", 1)[-1] if exc.where else str(exc))
        else:
            if not isinstance(source.data, dict):
                self._add(
                    source.where(""), "a policy is a YAML mapping (apiVersion: iisguard/v1, kind: Policy)"
                )
            else:
                # Kept even when invalid, so that `extends` is still followed and a cycle still reported;
                # nothing is applied while any problem stands.
                self.problems.extend(schema_problems(source))
                doc = Document(str(path), source)
        self.cache[k] = doc
        return doc

    def _add(self, where: str, message: str) -> None:
        p = Problem(where, message)
        if p not in self.problems:
            self.problems.append(p)


# -- applying documents -------------------------------------------------------------------------


def _canonical(rules: Mapping[str, Rule]) -> dict[str, str]:
    """Upper-cased id or alias -> rule id."""
    out = {}
    for r in rules.values():
        out[r.id.upper()] = r.id
        for a in r.aliases:
            out.setdefault(a.upper(), r.id)
    return out


def expand(selector: str, rules: Mapping[str, Rule]) -> list[str]:
    """Rule ids a selector names: an id or alias, a glob, or framework:<name>. PolicyError when it names none."""
    if selector.startswith("framework:"):
        fw = frameworks.load(selector.split(":", 1)[1].strip())
        return sorted(fw.rule_ids() & set(rules))
    names = _canonical(rules)
    s = selector.upper()
    if any(c in s for c in "*?["):
        hits = [rid for rid in rules if fnmatch.fnmatchcase(rid, s)]
        if not hits:
            raise PolicyError(f"{selector!r} matches no rule (see `iisguard rules list`)")
        return hits
    if s not in names:
        raise PolicyError(f"unknown rule id {selector!r} (see `iisguard rules list`)")
    return [names[s]]


def apply(docs: Sequence[Document], rules: Mapping[str, Rule], today: date, into: Effective) -> list[Problem]:
    """Layer documents onto `into` (whose catalog is `rules` plus custom rules met so far)."""
    problems: list[Problem] = []
    catalog = dict(rules)
    catalog.update(into.custom_rules)
    for r in catalog.values():
        into.enabled.setdefault(r.id, r.default_enabled)
    broken: set[str] = set()  # custom rules that failed to build: their other mentions are not errors again
    for doc in docs:
        problems.extend(_custom_rules(doc, catalog, into, broken))
        for verb, value in (("enable", True), ("disable", False)):
            for i, sel in enumerate(doc.data.get(verb) or ()):
                try:
                    for rid in expand(sel, catalog):
                        into.enabled[rid] = value
                except PolicyError as exc:
                    problems.append(Problem(doc.where(f"/{verb}/{i}"), str(exc)))
        problems.extend(_overrides(doc, catalog, into, broken))
        problems.extend(_waivers(doc, catalog, today, into, broken))
        into.require.extend(s for s in doc.data.get("require") or () if s not in into.require)
    return problems


def _custom_rules(
    doc: Document, catalog: dict[str, Rule], into: Effective, broken: set[str]
) -> list[Problem]:
    problems = []
    raw_rules = doc.data.get("custom_rules") or []
    prefix = doc.data.get("prefix")
    if not prefix and raw_rules:
        first = str(raw_rules[0].get("id", ""))
        prefix = first.split("-", 1)[0] + "-" if "-" in first else None
    for i, raw in enumerate(raw_rules):
        base = f"/custom_rules/{i}"
        try:
            r = cel_rules.build_rule(raw, pack=f"policy:{Path(doc.path).name}", prefix=prefix)
        except cel_rules.RuleProblem as exc:
            broken.add(str(raw.get("id", "")).upper())
            problems.append(
                Problem(doc.where(f"{base}/{exc.field}"), f"custom rule {raw.get('id')}: {exc.message}")
            )
            continue
        if r.id in catalog:
            owner = catalog[r.id].pack or "a rule pack"
            problems.append(Problem(doc.where(f"{base}/id"), f"rule id {r.id} is already defined by {owner}"))
            continue
        catalog[r.id] = r
        into.custom_rules[r.id] = r
        into.enabled[r.id] = r.default_enabled
    return problems


def _overrides(
    doc: Document, catalog: Mapping[str, Rule], into: Effective, broken: set[str]
) -> list[Problem]:
    problems = []
    names = _canonical(catalog)
    for written, ov in (doc.data.get("rules") or {}).items():
        base = f"/rules/{escape(written)}"
        rid = names.get(written.upper())
        if rid is None:
            if written.upper() not in broken:
                problems.append(
                    Problem(doc.where(base), f"unknown rule id {written!r} (see `iisguard rules list`)")
                )
            continue
        rule = catalog[rid]
        if "enabled" in ov:
            into.enabled[rid] = bool(ov["enabled"])
        target = into.overrides.setdefault(rid, {})
        if "severity" in ov:
            target["severity"] = ov["severity"]
        known = {p.name: p for p in rule.parameters}
        for name, value in (ov.get("parameters") or {}).items():
            where = doc.where(f"{base}/parameters/{escape(name)}")
            if name not in known:
                problems.append(
                    Problem(where, f"{rid} has no parameter {name!r} (known: {', '.join(known) or 'none'})")
                )
                continue
            try:
                target.setdefault("parameters", {})[name] = known[name].check(value)
            except ValueError as exc:
                problems.append(Problem(where, f"{rid}: {exc}"))
    return problems


def _waivers(
    doc: Document, catalog: Mapping[str, Rule], today: date, into: Effective, broken: set[str]
) -> list[Problem]:
    problems = []
    names = _canonical(catalog)
    max_days = doc.waiver_max_days()
    for i, raw in enumerate(doc.data.get("waivers") or ()):
        base = f"/waivers/{i}"
        try:
            expires = date.fromisoformat(str(raw["expires"]))
        except ValueError:
            problems.append(
                Problem(doc.where(f"{base}/expires"), f"bad date {raw['expires']!r} (expected YYYY-MM-DD)")
            )
            continue
        horizon = (expires - today).days
        if horizon > max_days:
            problems.append(
                Problem(
                    doc.where(f"{base}/expires"),
                    f"waiver expires {expires} ({horizon} days from today), beyond the {max_days}-day maximum "
                    "(waiver_max_days)",
                )
            )
            continue
        blank = [k for k in ("reason", "owner") if not str(raw[k]).strip()]
        if blank:
            problems.append(Problem(doc.where(f"{base}/{blank[0]}"), f"waiver {blank[0]} is empty"))
            continue
        rid = names.get(str(raw["rule"]).upper())
        if rid is None:
            if str(raw["rule"]).upper() not in broken:
                problems.append(
                    Problem(doc.where(f"{base}/rule"), f"waiver for unknown rule id {raw['rule']!r}")
                )
            continue
        into.waivers.append(
            WaiverSpec(
                rule=rid,
                resource=str(raw["resource"]),
                hosts=tuple(raw.get("hosts") or ("*",)),
                reason=str(raw["reason"]).strip(),
                owner=str(raw["owner"]).strip(),
                expires=expires,
                source=doc.where(base),
            )
        )
    return problems


# -- entry points -------------------------------------------------------------------------------


def resolve(
    rules: Mapping[str, Rule],
    *,
    profile: str | None = None,
    policies: Iterable[str | os.PathLike[str]] = (),
    today: date,
    cwd: str | os.PathLike[str] | None = None,
) -> Effective:
    """Layer the profile (default `baseline`, which must exist) and the policy files; PolicyError lists every problem."""
    base = Path(cwd or os.getcwd())
    loader = Loader()
    docs: list[Document] = []
    # The default profile is part of what a scan means: when it cannot be found the scan stops,
    # rather than silently running another selection of rules.
    name = DEFAULT_PROFILE if profile is None else profile
    target = locate(name, base)
    if target is None:
        names = ", ".join(available_profiles()) or "none"
        if profile is None:
            raise PolicyError(
                f"the default profile {name!r} is missing from {profiles_dir()} (available: {names}); "
                "IISGUARD_POLICIES, when set, must name a folder with profiles/ and frameworks/"
            )
        raise PolicyError(f"unknown profile {name!r} (available: {names})")
    docs.extend(loader.chain(target))
    for p in policies:
        docs.extend(loader.chain(Path(p)))
    effective = Effective(profile=name)
    seen: set[str] = set()
    for doc in docs:
        k = _key(Path(doc.path))
        if k not in seen:
            seen.add(k)
            effective.documents.append(doc)
    problems = list(loader.problems)
    if not problems:
        problems = apply(effective.documents, rules, today, effective)
    if problems:
        raise PolicyError(format_problems(problems))
    return effective


def check(
    path: str | os.PathLike[str], rules: Mapping[str, Rule], *, today: date
) -> tuple[Effective, list[Problem]]:
    """Validate one file with its `extends` chain, without raising: (what it decides, every problem)."""
    loader = Loader()
    docs = loader.chain(Path(path))
    effective = Effective()
    effective.documents = docs
    problems = list(loader.problems)
    if docs and not problems:
        problems = apply(docs, rules, today, effective)
    return effective, sorted(problems, key=Problem.order)


def format_problems(problems: Sequence[Problem]) -> str:
    problems = sorted(problems, key=Problem.order)
    head = str(problems[0])
    if len(problems) == 1:
        return head
    return head + "".join(f"\n  {p}" for p in problems[1:]) + f"\n  ({len(problems)} problems)"


def auto_policy(cwd: str | os.PathLike[str] | None = None) -> Path | None:
    """`iisguard.yaml` in the working directory, when there is one."""
    p = Path(cwd or os.getcwd()) / AUTO_POLICY
    return p if p.is_file() else None

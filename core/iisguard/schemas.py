"""JSON Schema validation that never leaves the machine: every `$ref` resolves to a schema in the package.

iisguard runs on air-gapped servers, and a scanner that fetches URLs at run time is a security
problem in itself. Each validator library has its own way of reaching for the network when a
reference is not in the document at hand, and each is closed here:

- fastjsonschema (the fallback without the `fast` extra) calls `urlopen` for any URI it has not
  seen; its reference store is shared between compilations, so a subschema compiled after the full
  snapshot schema resolved `#/$defs/...` against the full schema's `https://iisguard.dev/...` `$id`
  and downloaded it. It now gets `handlers` for every scheme, which serve only bundled schemas.
- jsonschema-rs fetches over HTTP by default; it gets the same `retriever`.
- jsonschema (precise messages) still retrieves remote references when given no registry (a
  deprecated behaviour); it gets a `referencing` registry whose retrieval is the same lookup.

A reference to anything not shipped with iisguard is an error, never a download.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any, cast

# $id -> (package, resource) of every schema shipped with iisguard.
BUNDLED: dict[str, tuple[str, str]] = {
    "https://iisguard.dev/schema/snapshot-1.0.json": ("iisguard.model", "schema/snapshot-1.0.json"),
    "https://iisguard.dev/schema/policy-v1.json": ("iisguard.engine", "schema/policy.schema.json"),
}
# Every scheme fastjsonschema might pass to urlopen ("" is a relative reference with no base).
_SCHEMES = ("http", "https", "file", "ftp", "data", "urn", "")


class SchemaReferenceError(ValueError):
    """A schema refers to a document that is not shipped with iisguard (and will not be fetched)."""


@cache
def bundled(uri: str) -> dict[str, Any]:
    """The schema shipped under `uri` (its `$id`), parsed once."""
    package, name = BUNDLED[uri]
    return cast(dict[str, Any], json.loads(resources.files(package).joinpath(name).read_text("utf-8")))


def retrieve(uri: str) -> dict[str, Any]:
    """Resolve a schema URI locally; anything not shipped with iisguard is refused."""
    base = uri.split("#", 1)[0]
    if base in BUNDLED:
        return bundled(base)
    raise SchemaReferenceError(f"schema reference {uri!r} is not shipped with iisguard (never fetched)")


def validator(schema: dict[str, Any], *, formats: bool = False) -> Any:
    """A jsonschema Draft 2020-12 validator (precise messages) that resolves references locally."""
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    def local(uri: str) -> Resource[Any]:
        return Resource.from_contents(retrieve(uri), default_specification=DRAFT202012)

    registry: Registry[Any] = Registry(retrieve=local)  # type: ignore[call-arg]
    checker = jsonschema.FormatChecker() if formats else None
    return jsonschema.Draft202012Validator(schema, registry=registry, format_checker=checker)


def compiled(schema: dict[str, Any]) -> Callable[[Any], bool]:
    """`is_valid(data)` at compiled speed: jsonschema-rs (Rust) when installed, else fastjsonschema.

    Either one only answers valid/invalid; ask `validator()` for the messages. jsonschema-rs
    checks `format` (date-time), so it is never more lenient than jsonschema.
    """
    try:
        import jsonschema_rs
    except ImportError:
        pass
    else:
        rs = jsonschema_rs.validator_for(schema, validate_formats=True, retriever=retrieve)
        return cast(Callable[[Any], bool], rs.is_valid)
    import fastjsonschema

    check = fastjsonschema.compile(schema, handlers=dict.fromkeys(_SCHEMES, retrieve))

    def is_valid(data: Any) -> bool:
        try:
            check(data)
        except Exception:  # noqa: BLE001 - any failure: the precise validator says what is wrong
            return False
        return True

    return is_valid

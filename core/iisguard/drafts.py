"""Building many frozen slotted dataclass instances fast: fill a mutable "draft", then give it the class.

A frozen dataclass's generated __init__ sets each field through object.__setattr__, a lookup by name
per field; a large host builds hundreds of thousands of results, findings and settings. A draft is a
subclass that adds no slot and takes back object's __setattr__ and __delattr__ (both: they share one
type slot): fill it with plain attribute stores, then assign `__class__`. CPython allows that between
heap classes of the same layout (typeobject.c, compatible_for_assignment); for a subclass that adds
nothing it sees the same base at once, where a separate class with the same __slots__ had its slot
names compared on every assignment (about 1,050 instructions an object on 3.11, now about 160).
The instances stay frozen; tests/test_findings_builder.py and tests/test_settings_model.py check they
equal what the class itself builds.
"""

from __future__ import annotations

from typing import Any


def draft_of(cls: type) -> type | None:
    """A class with `cls`'s slots whose instances may become `cls`; None where the interpreter refuses
    the `__class__` assignment (callers then call `cls`)."""
    draft = editable(cls)
    probe: Any = object.__new__(draft)
    try:
        probe.__class__ = cls
    except TypeError:  # pragma: no cover - another interpreter's rules
        return None
    return draft


def editable(cls: type) -> type:
    """The draft class of `cls`, whether or not its instances may become `cls` (see draft_of)."""
    return type(
        f"_{cls.__name__}Draft",
        (cls,),
        {"__slots__": (), "__setattr__": object.__setattr__, "__delattr__": object.__delattr__},
    )

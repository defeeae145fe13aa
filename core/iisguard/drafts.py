"""Building many frozen slotted dataclass instances fast: fill a mutable "draft", then give it the class.

A frozen dataclass's generated __init__ sets each field through object.__setattr__, a lookup by name
per field; a large host builds hundreds of thousands of results, findings and settings. A draft has
the same slots without the frozen __setattr__: fill it with plain attribute stores, then assign
`__class__` (CPython allows it between heap classes of the same slots and base: typeobject.c,
compatible_for_assignment). The instances stay frozen; tests/test_findings_builder.py and
tests/test_settings_model.py check they equal what the class itself builds.
"""

from __future__ import annotations

from typing import Any


def draft_of(cls: type) -> type | None:
    """A class with `cls`'s slots whose instances may become `cls`; None where the interpreter refuses
    the `__class__` assignment (callers then call `cls`)."""
    draft = type(f"_{cls.__name__}Draft", (), {"__slots__": cls.__dict__["__slots__"]})
    probe: Any = object.__new__(draft)
    try:
        probe.__class__ = cls
    except TypeError:  # pragma: no cover - another interpreter's rules
        return None
    return draft

"""Snapshot.pointer_of (built lazily, skipping flat arrays) must answer what a full walk answers."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from iisguard.model import jsonpos
from iisguard.model.snapshot import Snapshot

KEYS = st.sampled_from(["acls", "aces", "rights", "a/b", "t~x", "n"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.text(alphabet="ab{}[", max_size=4))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=60,
)


def full_walk(data):
    """The reference: every dict inside a list, depth first, the last visit winning."""
    index = {}

    def walk(value, prefix):
        if isinstance(value, dict):
            for k, v in value.items():
                if isinstance(v, (dict, list)):
                    walk(v, prefix + "/" + jsonpos.escape(k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                if isinstance(v, dict):
                    index[id(v)] = f"{prefix}/{i}"
                    walk(v, f"{prefix}/{i}")

    walk(data, "")
    return index


def every_dict(value, out):
    if isinstance(value, dict):
        out.append(value)
        for v in value.values():
            every_dict(v, out)
    elif isinstance(value, list):
        for v in value:
            every_dict(v, out)
    return out


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=5), st.randoms(use_true_random=False))
def test_pointer_of_matches_a_full_walk(data, rnd):
    expected = full_walk(data)
    objects = every_dict(data, []) + [{"not": "in the snapshot"}]
    rnd.shuffle(objects)  # the lazy index must not depend on the order of the questions
    snap = Snapshot(data)
    for obj in objects:
        want = "" if obj is data else expected.get(id(obj))
        assert snap.pointer_of(obj) == want


def test_aces_are_found_without_walking_into_them():
    acl = {"path": "D:\\Sites\\a", "aces": [{"principal": f"U{i}", "rights": ["RX"]} for i in range(5)]}
    data = {"acls": [dict(acl, path=f"D:\\Sites\\{n}") for n in range(40)], "iis": {"x": {"y": 1}}}
    snap = Snapshot(data)
    assert snap.pointer_of(data["acls"][39]["aces"][4]) == "/acls/39/aces/4"
    assert snap.pointer_of(data["iis"]["x"]) is None  # an object that is in no array
    assert snap.pointer_of(data["acls"][7]) == "/acls/7"
    # the ACE objects were indexed without being walked: their rights arrays never were
    walked = {prefix for arr, prefix in snap._pointers.arrays}
    assert "/acls/39/aces" in walked and "/acls/39/aces/4/rights" not in walked


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=5), st.randoms(use_true_random=False))
def test_pointers_of_answers_what_pointer_of_answers(data, rnd):
    """The engine's batch lookup (one walk for all of a host's findings) against the single lookup."""
    objects = every_dict(data, []) + [{"not": "in the snapshot"}, None]
    rnd.shuffle(objects)
    asked = objects[: rnd.randint(0, len(objects))]
    found = Snapshot(data).pointers_of(asked)
    single = Snapshot(data)
    for obj in asked:
        if obj is not None:
            assert found.get(id(obj)) == single.pointer_of(obj)
    assert set(found) <= {id(o) for o in asked if o is not None}

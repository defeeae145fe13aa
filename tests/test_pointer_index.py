"""Snapshot.pointer_of (built lazily, skipping flat arrays) must answer what a full walk answers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iisguard.model import jsonpos
from iisguard.model.snapshot import Snapshot

# Some keys name OBJECT_ARRAYS (searched before any walk): random shapes under them must answer the same.
KEYS = st.sampled_from(
    ["acls", "aces", "rights", "a/b", "t~x", "n", "iis", "sites", "authentication", "principals"]
)
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


def _host() -> dict:
    """A small host as a tree (each object in one place, as in a parsed snapshot)."""
    return {
        "host": {"name": "WEB01"},
        "iis": {
            "sites": [{"name": "s", "applications": [{"path": "/", "virtual_directories": [{"path": "/"}]}]}],
            "authentication": [{"location": "", "anonymous": {"enabled": True}}],
            "custom": [{"deep": [{"x": 1}]}],
        },
        "acls": [
            {"path": f"D:\\Sites\\{n}", "aces": [{"principal": f"U{i}", "rights": ["RX"]} for i in range(3)]}
            for n in range(4)
        ],
        "plugin_section": {"items": [{"name": "a"}]},
    }


def test_locate_finds_the_known_arrays_objects_and_members_without_a_walk(monkeypatch):
    """The arrays a snapshot holds (OBJECT_ARRAYS) answer without walking the document."""
    data = _host()
    snap = Snapshot(data)
    monkeypatch.setattr(Snapshot, "_walk", lambda self, wanted: pytest.fail(f"walked for {len(wanted)}"))
    vdir = data["iis"]["sites"][0]["applications"][0]["virtual_directories"][0]
    ace = data["acls"][3]["aces"][2]
    anonymous = data["iis"]["authentication"][0]["anonymous"]  # a member: no pointer
    app, site = data["iis"]["sites"][0]["applications"][0], data["iis"]["sites"][0]
    # an ACL and an application are searched in one loop with their ACEs and virtual directories
    objects = [vdir, ace, data["acls"][1], anonymous, data["host"], data, app, site]
    found = snap.locate({id(o) for o in objects})
    assert {k: p for k, (p, _) in found.items()} == {
        id(app): "/iis/sites/0/applications/0",
        id(site): "/iis/sites/0",
        id(vdir): "/iis/sites/0/applications/0/virtual_directories/0",
        id(ace): "/acls/3/aces/2",
        id(data["acls"][1]): "/acls/1",
        id(data): "",
    }


def test_locate_walks_for_objects_outside_the_known_arrays():
    data = _host()
    snap = Snapshot(data)
    deep, item, ace = (
        data["iis"]["custom"][0]["deep"][0],
        data["plugin_section"]["items"][0],
        data["acls"][0]["aces"][0],
    )
    found = snap.locate({id(deep), id(item), id(ace), id({"not": "here"})})
    assert {p for p, _ in found.values()} == {
        "/iis/custom/0/deep/0",
        "/plugin_section/items/0",
        "/acls/0/aces/0",
    }
    assert snap.pointers_of([deep, item, ace]) == {
        id(deep): "/iis/custom/0/deep/0",
        id(item): "/plugin_section/items/0",
        id(ace): "/acls/0/aces/0",
    }

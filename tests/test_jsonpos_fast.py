"""jsonpos.lines_of skips values it does not need; it must give the lines the token-by-token walk gives."""

from __future__ import annotations

import json

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from iisguard.model import jsonpos

KEYS = st.sampled_from(["a", "b", "acls", "aces", "x/y", "t~1", "é", "{", "]", 'q"', ""])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=st.sampled_from(list('ab{}[]",:\\/ é\t')), max_size=8),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=40,
)
LAYOUTS = [
    lambda v: json.dumps(v, indent=2, ensure_ascii=False),
    lambda v: json.dumps(v, indent=4),
    lambda v: json.dumps(v),
    lambda v: json.dumps(v, separators=(",", ":")),
    lambda v: json.dumps(v, indent=4).replace('": ', '":  '),  # PowerShell ConvertTo-Json
    lambda v: json.dumps(v, indent=2).replace("\n", "\r\n"),
    lambda v: "\n".join(
        " " * (i % 3) + line.strip() for i, line in enumerate(json.dumps(v, indent=2).split("\n"))
    ),
    lambda v: json.dumps(v, indent="\t").replace("\n", "\r\n"),  # tabs and CRLF
    lambda v: "\n" + json.dumps(v) + "\n",  # one line, but not the first
    lambda v: json.dumps(v, separators=(",\n", ":")),  # a break after every comma
]


def pointers(value, prefix=""):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from pointers(v, f"{prefix}/{jsonpos.escape(k)}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from pointers(v, f"{prefix}/{i}")


@settings(max_examples=300, deadline=None)
@given(VALUES, st.sampled_from(range(len(LAYOUTS))), st.data())
def test_same_lines_as_the_token_walk(value, layout, data):
    text = LAYOUTS[layout](value)
    every = sorted(set(pointers(value)))
    wanted = data.draw(st.lists(st.sampled_from(every), max_size=12)) + ["/missing", every[-1] + "/0/zz"]
    expected = by_tokens(text, wanted)
    assert jsonpos.lines_of(text, wanted) == expected
    # A second call that reuses where the first found array elements gives the same lines.
    layout: dict = {}
    first = wanted[: data.draw(st.integers(0, len(wanted)))]
    assert jsonpos.lines_of(text, first, layout=layout) == by_tokens(text, first)
    assert jsonpos.lines_of(text, wanted, layout=layout) == expected


def by_tokens(text, wanted):
    """The reference: every token in order; a pointer that is no token gets its nearest ancestor's line."""
    every = {p[:i] for p in wanted for i in range(len(p) + 1) if i == len(p) or p[i] == "/"}
    found = jsonpos._lines_by_tokens(text, every)
    out = {}
    for p in wanted:
        q = p
        while q not in found and q:
            q = q.rsplit("/", 1)[0]
        out[p] = found.get(q, 1)
    return out


def test_snapshot_sized_layout_uses_the_shortcut_and_agrees(monkeypatch):
    doc = {
        "host": {"name": "WEB"},
        "acls": [
            {"path": f"D:\\Sites\\s{i}", "aces": [{"principal": "BUILTIN\\Users", "rights": ["RX"]}] * 3}
            for i in range(300)
        ],
        "principals": [{"name": f"CORP\\u{i}", "spns": [f"HTTP/h{i}"]} for i in range(50)],
    }
    text = orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode()
    wanted = {f"/acls/{i}" for i in range(0, 300, 7)} | {"/acls/5/aces/2", "/principals/49", "/host"}
    expected = by_tokens(text, wanted)
    slow = []
    monkeypatch.setattr(jsonpos._Walk, "skip_tokens", lambda self, pos: slow.append(pos))
    assert jsonpos.lines_of(text, wanted) == expected
    assert not slow  # every skipped value ended where the indentation said
    assert jsonpos.lines_of(text.encode(), wanted) == jsonpos.lines_of(text, wanted)


def test_text_around_the_json_falls_back_to_the_tolerant_walk():
    text = 'PS C:\\> Get-ADUser x | ConvertTo-Json\n[\n    {\n        "Name":  "x"\n    }\n]\n'
    assert jsonpos.lines_of(text, ["/0", "/0/Name"]) == {"/0": 3, "/0/Name": 4}


def test_a_closing_bracket_at_the_same_indentation_inside_the_value_is_not_taken_for_its_end():
    text = '{\n  "a": {"n": {\n  },\n  "m": [1,\n  2]},\n  "b": [\n  {"c": 1\n  }\n  ],\n  "d": 4\n}'
    wanted = ["/a", "/b", "/b/0", "/d", "/b/0/c"]
    assert json.loads(text)["d"] == 4
    assert (
        jsonpos.lines_of(text, wanted)
        == by_tokens(text, wanted)
        == {"/a": 2, "/b": 6, "/b/0": 7, "/b/0/c": 7, "/d": 10}
    )


def test_an_element_that_is_no_token_gets_its_array_line_whatever_else_is_asked():
    text = '{\n  "n": [\n    1,\n    true\n  ]\n}\n'
    assert jsonpos.lines_of(text, ["/n/1"]) == {"/n/1": 2}
    assert jsonpos.lines_of(text, ["/n/1", "/n"]) == {"/n/1": 2, "/n": 2}
    assert jsonpos.lines_of(text, ["/zz/0"]) == {"/zz/0": 1}


def test_a_second_call_goes_straight_to_the_elements_it_wants(monkeypatch):
    doc = {"acls": [{"path": f"p{i}", "aces": [{"rights": ["F"]}, {"rights": ["RX"]}]} for i in range(200)]}
    text = orjson.dumps(doc, option=orjson.OPT_INDENT_2)
    layout: dict = {}
    jsonpos.lines_of(text, ["/acls/3"], layout=layout)
    assert len(layout["/acls"][0]) == 200
    skipped = []
    real_skip = jsonpos._Walk.skip
    monkeypatch.setattr(jsonpos._Walk, "skip", lambda self, pos: skipped.append(pos) or real_skip(self, pos))
    lines = jsonpos.lines_of(text, ["/acls/150/aces/1", "/acls/199"], layout=layout)
    assert lines == by_tokens(text.decode(), ["/acls/150/aces/1", "/acls/199"])
    assert len(skipped) < 10  # not the 150 elements before the first one wanted

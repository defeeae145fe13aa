"""`report.base.json_chunks`: a document written in pieces, its arrays made a batch at a time, byte for
byte what `json_bytes` writes of the whole document (SARIF results and JSON findings use it)."""

from __future__ import annotations

import json

import pytest

from iisguard.report import base
from iisguard.report.base import json_bytes, json_chunks, placeholder

ITEMS = [
    {
        "rule": "IIS-ACL-004",
        "nested": {"list": [1, 2, {"deep": []}], "empty": {}},
        "text": "caf\u00e9 \u202e\n",
    },
    [],
    {},
    None,
    3.5,
    "plain",
]


def spliced(document, arrays, **kw) -> bytes:
    pieces = json_chunks(document, arrays, **kw)
    assert pieces is not None
    return b"".join(pieces)


@pytest.mark.parametrize("batch", [1, 2, 5, 1024])
@pytest.mark.parametrize("count", [0, 1, 7])
def test_arrays_at_any_depth_join_to_the_whole_document(batch, count):
    items = (ITEMS * 2)[:count]
    top, run, deep, item = placeholder(), placeholder(), placeholder(), placeholder()
    skeleton = {
        "findings": top,
        "runs": [{"tool": "x", "results": run}, {"results": []}],
        "a": {"b": {"c": deep}},
        "list": [1, item, "z"],
    }
    whole = {
        "findings": items,
        "runs": [{"tool": "x", "results": items[:3]}, {"results": []}],
        "a": {"b": {"c": items[::-1]}},
        "list": [1, items, "z"],
    }
    arrays = {top: iter(items), run: iter(items[:3]), deep: iter(items[::-1]), item: iter(items)}
    assert spliced(skeleton, arrays, batch=batch) == json_bytes(whole)
    assert json.loads(json_bytes(whole)) == whole


def test_items_are_made_only_as_the_pieces_are_taken():
    made: list[int] = []

    def items():
        for i in range(10):
            made.append(i)
            yield {"i": i}

    mark = placeholder()
    pieces = json_chunks({"head": 1, "items": mark}, {mark: items()}, batch=3)
    assert pieces is not None
    head = next(pieces)
    assert bytes(head) == b'{\n  "head": 1,\n  "items": ' and made == []
    next(pieces)  # the list's opening bracket: the first batch was made for it
    assert made == [0, 1, 2]
    rest = b"".join(pieces)
    assert made == list(range(10)) and rest.endswith(b"\n  ]\n}\n")


def test_a_batch_orjson_refuses_is_written_by_json_in_the_same_layout():
    """A key that is not a string (a pack's property): json_bytes falls back to json for the whole
    document; here only that batch is written by json, and the text parses to the same data."""
    mark = placeholder()
    items = [{"a": 1}, {"properties": {1: "one"}}, {"b": [2]}]
    text = spliced({"items": mark}, {mark: iter(items)}, batch=1)
    assert json.loads(text) == {"items": [{"a": 1}, {"properties": {"1": "one"}}, {"b": [2]}]}
    assert text == json.dumps({"items": items}, indent=2, ensure_ascii=False).encode() + b"\n"


def test_a_placeholder_missing_or_twice_or_an_unencodable_head_is_left_to_the_caller():
    mark = placeholder()
    assert json_chunks({"items": "other"}, {mark: iter([])}) is None
    assert json_chunks({"a": mark, "b": mark}, {mark: iter([])}) is None
    assert json_chunks({"a": mark, 1: "non-string key"}, {mark: iter([])}) is None


def test_without_orjson_the_caller_builds_the_document_whole(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_orjson(name, *args, **kw):
        if name == "orjson":
            raise ImportError(name)
        return real(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", no_orjson)
    mark = placeholder()
    assert base.json_chunks({"a": mark}, {mark: iter([])}) is None

"""The JSON reporter encodes findings a batch at a time; the text must be what one encoding gives."""

from __future__ import annotations

import dataclasses

from iisguard.report import json as json_report
from iisguard.report.base import Locator, json_bytes, json_chunks, json_text, placeholder

from .report_helpers import build_report, record_made


def test_render_is_byte_for_byte_the_document_encoded_at_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = build_report(tmp_path)
    reporter = json_report.JsonReporter()
    assert reporter.render(report) == json_text(reporter.build(report))


def test_batches_join_like_one_list(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = build_report(tmp_path)
    reporter = json_report.JsonReporter(include_passes=True)
    locator = Locator(report.findings())
    whole = json_bytes(reporter.build(report))
    count = sum(len(h.findings) for h in report.hosts)
    assert count > 3
    tallies = [json_report._Tally(host, True) for host in report.hosts]
    for batch in (1, 2, count - 1, count, count + 5):
        mark = placeholder()
        doc = reporter._document(report, locator, tallies, mark)
        pieces = json_chunks(doc, {mark: json_report._finding_dicts(report, locator, tallies)}, batch=batch)
        assert pieces is not None and b"".join(pieces) == whole


def test_no_findings_is_an_empty_list(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = build_report(tmp_path)
    for host in report.hosts:
        host.findings = []
    reporter = json_report.JsonReporter()
    text = reporter.render(report)
    assert '"findings": []' in text and text == json_text(reporter.build(report))


def test_render_bytes_are_the_text_as_utf8(tmp_path, monkeypatch):
    """The CLI writes `render_bytes` (orjson's own UTF-8); `render` is the same document as text."""
    monkeypatch.chdir(tmp_path)
    report = build_report(tmp_path)
    first = report.hosts[0]
    first.findings = [dataclasses.replace(f, message=f.message + " caf\u00e9 \u202e") for f in first.findings]
    for passes in (False, True):
        reporter = json_report.JsonReporter(include_passes=passes)
        data = reporter.render_bytes(report)
        assert data.decode("utf-8") == reporter.render(report) == json_text(reporter.build(report))
        assert "caf\u00e9".encode() in data


def test_findings_are_made_as_the_chunks_are_taken(tmp_path, monkeypatch):
    """`render_chunks` (what the CLI writes) joins to `render_bytes`; a finding's dict is made only
    when the batch holding it is taken, so a large report is never held whole."""
    monkeypatch.chdir(tmp_path)
    report = build_report(tmp_path)
    made = record_made(monkeypatch, json_report, "_finding")
    reporter = json_report.JsonReporter(include_passes=True)
    chunks = reporter.render_chunks(report)
    head = next(chunks)
    assert bytes(head).startswith(b'{\n  "format": "iisguard-findings"') and made == []
    rest = list(chunks)
    assert len(made) == sum(len(h.findings) for h in report.hosts)
    made.clear()
    assert b"".join([head, *rest]) == reporter.render_bytes(report) == json_bytes(reporter.build(report))

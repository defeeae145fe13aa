"""The JSON reporter encodes findings a batch at a time; the text must be what one encoding gives."""

from __future__ import annotations

from iisguard.report import json as json_report
from iisguard.report.base import Locator, json_text

from .report_helpers import build_report


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
    whole = json_text(reporter.build(report))
    count = sum(len(h.findings) for h in report.hosts)
    assert count > 3
    tallies = [json_report._Tally(host, True) for host in report.hosts]
    for batch in (1, 2, count - 1, count, count + 5):
        doc = reporter._document(report, locator, tallies, [])
        assert (
            json_report._streamed(doc, json_report._finding_dicts(report, locator, tallies), batch) == whole
        )


def test_no_findings_is_an_empty_list(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = build_report(tmp_path)
    for host in report.hosts:
        host.findings = []
    reporter = json_report.JsonReporter()
    text = reporter.render(report)
    assert '"findings": []' in text and text == json_text(reporter.build(report))

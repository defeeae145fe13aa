"""What the reporters share (iisguard.report.base): escaping text from servers."""

from __future__ import annotations

import sys

import pytest

from iisguard.redact import printable
from iisguard.report.base import escape_controls


def test_text_the_fast_path_keeps_holds_nothing_printable_would_escape():
    """escape_controls returns text that str.isprintable() accepts (newlines and tabs aside) as it
    is, without printable()'s regular expression: no such character may be one printable() escapes."""
    kept = "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isprintable() or c in "\n\t")
    assert "\r" not in kept
    assert printable(kept, keep_newlines=True) == kept


@pytest.mark.parametrize(
    "text",
    [
        "plain text",
        "two\nlines\twith a tab",
        "a CRLF\r\nline end",
        "a lone \r carriage return",
        "bidi \u202e override",
        "a zero-width\u200bspace and a BOM \ufeff",
        "line\u2028separator",
        "bell \x07 and DEL \x7f and C1 \x85",
        "surrogate \ud800 and non-character \uffff",
        "no-break\u00a0space",
    ],
)
def test_escape_controls_is_printable_with_line_ends_kept(text):
    assert escape_controls(text) == printable(text.replace("\r\n", "\n"), keep_newlines=True)

"""PowerShell's standard error as plain text.

Run without a console (under WinRM, or with redirected streams), powershell.exe writes its error
stream as CLIXML: a `#< CLIXML` line, then `<Objs>` holding `<S S="Error">` strings with
`_x000D__x000A_` escapes, and `<Obj S="progress">` records that are noise. This keeps errors and
warnings as lines a person can read, and drops the rest.
"""

from __future__ import annotations

import re

from defusedxml import ElementTree as SafeET

MARKER = "#< CLIXML"
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_S_FALLBACK = re.compile(r'<S S="(Error|Warning)">(.*?)</S>', re.S)
_KEEP = {"Error": "", "Warning": "WARNING: "}
# The position and category lines PowerShell adds under an error message.
_DETAIL = re.compile(r"^(\+ |At line:\d+|At .+:\d+ char:\d+|~+$)")


def _unescape(text: str) -> str:
    """Undo XmlConvert-style `_xHHHH_` escapes (surrogate pairs included)."""
    if "_x" not in text:
        return text
    raw = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return raw.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _block_pieces(xml: str) -> list[tuple[str, str]]:
    """(stream, text) for each kept string of one CLIXML document; a truncated document is read by pattern."""
    try:
        root = SafeET.fromstring(xml)
    except Exception:  # noqa: BLE001 - defusedxml raises several types; fall back to a pattern
        from xml.sax.saxutils import unescape

        return [(m.group(1), unescape(m.group(2))) for m in _S_FALLBACK.finditer(xml)]
    pieces = []
    for element in root:
        # Only direct <S> children carry stream text; <Obj> children are progress or other records.
        if element.tag.rpartition("}")[2] == "S" and element.get("S") in _KEEP:
            pieces.append((element.get("S", ""), element.text or ""))
    return pieces


def decode(data: bytes | str) -> list[str]:
    """Plain-text lines from a PowerShell error stream, CLIXML or not; blank lines dropped."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    if MARKER not in text:
        return [line.rstrip() for line in text.splitlines() if line.strip()]
    lines: list[str] = []
    head, *blocks = text.split(MARKER)
    lines.extend(line.rstrip() for line in head.splitlines() if line.strip())
    for block in blocks:
        buffer: dict[str, str] = {}
        for stream, piece in _block_pieces(block.strip()):
            buffer[stream] = buffer.get(stream, "") + _unescape(piece)
            # A record ends with CRLF; flush whole lines as they complete.
            if "\n" in buffer[stream]:
                done, _, rest = buffer[stream].rpartition("\n")
                buffer[stream] = rest
                lines.extend(_KEEP[stream] + line.rstrip() for line in done.splitlines() if line.strip())
        for stream, rest in buffer.items():
            if rest.strip():
                lines.append(_KEEP[stream] + rest.rstrip())
    return lines


def summary(lines: list[str], limit: int = 300) -> str:
    """The first meaningful line, for a one-line error message."""
    for line in lines:
        text = line.strip()
        if text and not _DETAIL.match(text):
            return text if len(text) <= limit else text[: limit - 1] + "…"
    return lines[0].strip()[:limit] if lines else ""

"""Dates as Windows tools print them, turned into RFC 3339 UTC strings.

FILETIME integers (pwdLastSet), `/Date(ms)/` (ConvertTo-Json in Windows PowerShell 5.1) and ISO 8601
(PowerShell 7) carry their zone. Culture-formatted text (`5/20/2020 3:14:14 PM`, `20.05.2020 15:14:14`)
is local time of a zone the capture does not name; it is read as UTC (a day-level fact either way).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

_EPOCH_1601 = datetime(1601, 1, 1, tzinfo=UTC)
_NEVER_FILETIME = (0, 0x7FFFFFFFFFFFFFFF, -1)
_MSDATE = re.compile(r"^\\?/Date\((-?\d+)(?:[+-]\d{4})?\)\\?/$")
_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?\s*(Z|[+-]\d{2}:?\d{2})?$"
)
_LOCAL = re.compile(
    r"^(\d{1,4})[./-](\d{1,2})[./-](\d{1,4})\.?(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp]\.?\s?[Mm]\.?)?)?$"
)


def rfc3339(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_filetime(value: int) -> str | None:
    """100-ns ticks since 1601 (UTC); 0 and the 'never' maximum give None."""
    if value in _NEVER_FILETIME or value < 0:
        return None
    try:
        return rfc3339(_EPOCH_1601 + timedelta(microseconds=value // 10))
    except OverflowError:
        return None


def to_rfc3339(value: Any) -> str | None:
    """Any date form seen in captures as an RFC 3339 UTC string; None when it is not a date."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return from_filetime(int(value)) if value > 10**15 else None
    if isinstance(value, dict):  # PowerShell 7 sometimes nests {"value": "...", "DateTime": "..."}
        for key in ("value", "Value", "DateTime"):
            if key in value:
                return to_rfc3339(value[key])
        return None
    text = str(value).strip()
    if not text:
        return None
    if text.isdigit() and len(text) > 15:
        return from_filetime(int(text))
    try:
        m = _MSDATE.match(text)
        if m:
            return rfc3339(datetime.fromtimestamp(int(m.group(1)) / 1000, UTC))
        m = _ISO.match(text)
        if m:
            return _from_iso(m)
        m = _LOCAL.match(text)
        if m:
            return _from_local(m)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def _from_iso(m: re.Match[str]) -> str:
    y, mo, d, h, mi = (int(m.group(i)) for i in range(1, 6))
    s = int(m.group(6) or 0)
    frac = (m.group(7) or "0")[:6].ljust(6, "0")
    tz = UTC
    zone = m.group(8)
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        tz_offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        tz = timezone(sign * tz_offset)
    return rfc3339(datetime(y, mo, d, h, mi, s, int(frac), tzinfo=tz))


def _from_local(m: re.Match[str]) -> str | None:
    a, b, c = (int(m.group(i)) for i in range(1, 4))
    hour = int(m.group(4) or 0)
    minute = int(m.group(5) or 0)
    second = int(m.group(6) or 0)
    ampm = (m.group(7) or "").replace(".", "").replace(" ", "").lower()
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm.startswith("p") else 0)
    if len(m.group(1)) == 4:  # 2020/05/20, 2020-05-20
        year, month, day = a, b, c
    else:
        year = c if c >= 100 else 2000 + c
        if a > 12:
            day, month = a, b
        elif b > 12:
            month, day = a, b
        elif ampm or ("/" in m.group(0) and m.group(4) is None):
            month, day = a, b  # en-US: M/d/yyyy h:mm:ss tt
        else:
            day, month = a, b  # dots (de, ru, pl), dashes (nl), 24-hour slashes (fr, es, it, en-GB)
    return rfc3339(datetime(year, month, day, hour, minute, second, tzinfo=UTC))

"""An iCalendar file (RFC 5545) of deadlines: data in, bytes out.

Written by hand (no package): text values escape backslash, semicolon, comma and line breaks (3.3.11), lines
end with CRLF and are folded at 75 octets without splitting a UTF-8 character (3.1), every event has a stable
UID and a DTSTAMP (3.6.1). A deadline with a time is a UTC DATE-TIME event; a deadline on a day is an all-day
event (DTSTART;VALUE=DATE, DTEND the next day)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

PRODID = "-//dpa_tracker//Deadlines//EN"


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    start: date | datetime  # a datetime must be timezone-aware
    summary: str
    description: str
    url: str
    category: str


def escape(text: str) -> str:
    """A TEXT value (RFC 5545 3.3.11)."""
    text = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return text.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold(line: str) -> bytes:
    """One content line, folded so that no line is longer than 75 octets, CRLF-terminated."""
    out, chunk, limit = [], b"", 75
    for char in line:
        encoded = char.encode()
        if len(chunk) + len(encoded) > limit:
            out.append(chunk)
            chunk, limit = b" ", 75  # a continuation line starts with one space, counted in its 75 octets
        chunk += encoded
    out.append(chunk)
    return b"\r\n".join(out) + b"\r\n"


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar(name: str, events: Sequence[CalendarEvent], stamp: datetime) -> bytes:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape(name)}",
    ]
    for event in events:
        lines += ["BEGIN:VEVENT", f"UID:{escape(event.uid)}", f"DTSTAMP:{_utc(stamp)}"]
        if isinstance(event.start, datetime):
            lines += [f"DTSTART:{_utc(event.start)}", f"DTEND:{_utc(event.start + timedelta(minutes=30))}"]
        else:
            end = event.start + timedelta(days=1)
            lines += [f"DTSTART;VALUE=DATE:{event.start:%Y%m%d}", f"DTEND;VALUE=DATE:{end:%Y%m%d}"]
        lines += [
            f"SUMMARY:{escape(event.summary)}",
            f"DESCRIPTION:{escape(event.description)}",
            f"CATEGORIES:{escape(event.category)}",
            f"URL:{event.url}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return b"".join(fold(line) for line in lines)

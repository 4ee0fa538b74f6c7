"""Query strings without their values, for the access log and any log line that quotes a URL.

QIDO-RS searches put the patient in the query (``?PatientName=DOE^JOHN&PatientID=123``) and
the case queue its search words (``?q=...``); an access log keeps them for years, readable
by whoever runs the servers. So a URL is logged as its path plus its query with every value
replaced by ``[redacted]``, except for the few parameters listed in ``KEPT``, whose values
say how much was asked for and never who (paging, frame numbers, rendering).

An allow-list, not a block-list: a parameter nobody thought of (a new DICOM attribute, a
tag written as ``00100010``) is redacted by default.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, quote

REDACTED = "[redacted]"
# Parameters whose values never identify anyone (lower case; compared case-insensitively).
KEPT = frozenset(
    {
        "limit",
        "offset",
        "includefield",
        "fuzzymatching",
        "page",
        "status",  # the queue's status filter
        "first",  # the frame stream's first slice
        "n",  # a thumbnail's instance count
        "size",
        "format",
        "wc",
        "ww",
        "window",
        "viewport",
        "quality",
    }
)
# A parameter name is logged only if it looks like one; anything else is data too.
_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
# A path with a query inside a log line: from a slash to the next space or quote.
_URL_WITH_QUERY = re.compile(r"(/[^\s\"'?]*)\?([^\s\"']*)")


def redact_query(query: str) -> str:
    parts = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        if not _NAME.match(name):
            parts.append(REDACTED)
        elif name.lower() in KEPT:
            parts.append(f"{name}={quote(value, safe=',.-_')}")
        else:
            parts.append(f"{name}={REDACTED}" if value else name)
    return "&".join(parts)


def redact_uri(uri: str) -> str:
    """``/path?query`` with the query's values redacted (see the module)."""
    path, mark, query = uri.partition("?")
    return f"{path}?{redact_query(query)}" if mark else path


def redact_text(text: str) -> str:
    """Every ``/path?query`` in a line of text, redacted."""
    return _URL_WITH_QUERY.sub(lambda m: f"{m.group(1)}?{redact_query(m.group(2))}", text)


class RedactQueryFilter(logging.Filter):
    """A logging filter that redacts query strings in any record's message (Django's
    ``django.server`` request lines, a library quoting a URL it fetched)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "?" in str(record.msg) or any("?" in str(arg) for arg in _args(record)):
            record.msg = redact_text(record.getMessage())
            record.args = None
        return True


def _args(record: logging.LogRecord) -> tuple:
    if isinstance(record.args, tuple):
        return record.args
    if isinstance(record.args, dict):
        return tuple(record.args.values())
    return ()

"""The one date format of the pages (board/dates.py says why):
``{{ born|day }}`` → "3 Dec 2026"; ``{{ moment|when }}`` → "3 Dec 2026, 14:30 CET" in the
reader's zone, or ``{{ moment|when:meeting.time_zone }}`` in a zone named;
``{{ moment|clock }}`` → "14:30 CET"; ``{{ started|month }}`` → "Dec 2026";
``{{ moment|iso }}`` → ISO 8601 in UTC, for ``<time datetime>``."""

from django import template

from board import dates

register = template.Library()


@register.filter
def day(value, zone=None):
    return dates.format_day(value, zone or None)


@register.filter
def when(value, zone=None):
    return dates.format_when(value, zone or None)


@register.filter
def clock(value, zone=None):
    return dates.format_clock(value, zone or None)


@register.filter
def month(value, zone=None):
    return dates.format_month(value, zone or None)


@register.filter
def iso(value):
    return dates.format_iso(value)


@register.simple_tag
def span(start, end, zone=None):
    """``{% span meeting.starts_at meeting.ends_at %}`` → "14 Mar 2031, 08:30-10:00 CET"."""
    return dates.format_span(start, end, zone or None)

"""Dates and times in the report, in the format of every page (board/dates.py), but in the
board's zone rather than the reader's: ``{{ day|report_day }}`` → "3 Dec 2026",
``{{ moment|report_when:zone }}`` → "3 Dec 2026, 14:30 CET", ``{{ moment|report_clock:zone }}``
→ "14:30 CET". The zone defaults to UTC (named), never to whoever happens to render it."""

from django import template

from board.dates import format_clock, format_day, format_when

register = template.Library()


@register.filter
def report_day(value, zone="UTC"):
    return format_day(value, zone)


@register.filter
def report_when(value, zone="UTC"):
    return format_when(value, zone)


@register.filter
def report_clock(value, zone="UTC"):
    return format_clock(value, zone)

"""Dates and times in the report, one format everywhere (decisions.render says which):
``{{ day|report_day }}`` → "3 Dec 2026", ``{{ moment|report_when:zone }}`` → "3 Dec 2026,
14:30 CET", ``{{ moment|report_clock:zone }}`` → "14:30 CET"."""

from django import template

from decisions.render import format_clock, format_day, format_when

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

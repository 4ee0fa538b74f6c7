"""`{% clinical_record case as rec %}`: the case's clinical record for display
(cases/record_display.py)."""

from django import template

from cases.record_display import RecordDisplay

register = template.Library()


@register.simple_tag
def clinical_record(case) -> RecordDisplay:
    return RecordDisplay(case)

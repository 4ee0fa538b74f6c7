"""{{ case|plain_status }}: a case's status in a patient's words (cases.patient_view)."""

from django import template

from cases.patient_view import STATUS_WORDS

register = template.Library()


@register.filter
def plain_status(case) -> str:
    return str(STATUS_WORDS[case.status])

"""{% shown_study_dates studies access as dates %} and {{ dates|for_study:study }}: imaging
dates as `imaging.dates` shows them to this reader."""

from django import template

from imaging.dates import shown_dates

register = template.Library()


@register.simple_tag
def shown_study_dates(studies, access):
    return shown_dates(access, studies)


@register.filter
def for_study(dates, study):
    return dates.get(study.pk) if dates else None

"""{% decision_panel case %}: the decisions panel of a case, for any page that shows the case
(the case page, the live meeting page). It works out the viewer's rights itself."""

from django import template

from cases.access import case_access
from decisions import report_data
from decisions.expert_views import expert_context
from decisions.followup import followup_access
from decisions.models import FollowUp, FollowUpAddendum
from decisions.views import panel_context

register = template.Library()


@register.inclusion_tag("decisions/_panel_body.html", takes_context=True)
def decision_panel(context, case):
    request = context["request"]
    access = context.get("access")
    if access is None or getattr(access, "case", None) != case:
        access = case_access(request.user, case)
    if not access.can_view:
        return {"hidden": True}
    panel = panel_context(request, access)
    panel["csrf_token"] = context.get("csrf_token")
    return panel


@register.inclusion_tag("decisions/_patient_answer.html", takes_context=True)
def patient_answer(context, case):
    """The board's signed answer as the patient who asked reads it: its text and their copy of
    the report, without the panel's working (proposals, votes, evidence levels)."""
    access = context["access"]
    if not access.can_read_report:
        return {"hidden": True}
    panel = panel_context(context["request"], access)
    return {"hidden": panel["consensus"] is None, **panel}


@register.inclusion_tag("decisions/followup/_case_followups.html", takes_context=True)
def case_followups(context, case):
    """The follow-up of the case's recommendations, for those who may read it (its board's
    members, its data managers, the referring doctor; not patients, not invited experts)."""
    access = followup_access(context["request"].user, case)
    if not access.can_view:
        return {"history": []}
    return {
        "access": access,
        "record_links": access.can_record,
        "history": list(
            FollowUp.objects.filter(case=case)
            .select_related("consensus", "recorded_by")
            .order_by("consensus__version", "months")
        ),
        "addenda": list(
            FollowUpAddendum.objects.filter(consensus__case=case)
            .select_related("consensus")
            .order_by("consensus__version", "number")
        ),
    }


@register.inclusion_tag("decisions/_expert.html", takes_context=True)
def expert_panel(context, case):
    """The case's expert reviews (issue #16): who holds each, the opinion, the forms the
    reader may use; and, for a board's managers, asking an expert service for a review."""
    access = context.get("access")
    if access is None or getattr(access, "case", None) != case:
        access = case_access(context["request"].user, case)
    if not access.can_view:
        return {"hidden": True}
    panel = expert_context(access)
    panel["hidden"] = not (panel["expert_rows"] or panel["request_form"])
    panel["csrf_token"] = context.get("csrf_token")
    return panel


@register.simple_tag
def diagnosis_label(entity: str, other: str = "") -> str:
    """A WHO 2020 entity key as its name and ICD-O code, else the described diagnosis."""
    return report_data.diagnosis_label(entity, other)


@register.filter
def grade_label(grade: str) -> str:
    return report_data.grade_label(grade)

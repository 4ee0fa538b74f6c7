"""The clinical record's edit history: every save, who made it, when, and each change.

Part of the record, so it is read under the same rule as the record itself (whoever may
view the case, CaseAccess.can_view: its panel, and its submitter, a patient included), and
each read is audited like any other read of the case."""

from __future__ import annotations

from uuid import UUID

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from cases.access import get_case_for_user
from cases.audit import audit

ACTION = "clinical.history"
PER_PAGE = 50


@require_GET
def clinical_history(request: HttpRequest, case_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id, action=ACTION)
    case = access.case
    audit(actor=request.user, action=ACTION, case=case, target=case)
    revisions = case.clinical_revisions.select_related("edited_by")
    page = Paginator(revisions, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "cases/clinical_history.html",
        {"case": case, "access": access, "page": page},
    )

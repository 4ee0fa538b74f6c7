"""Removing a wrong study (issue #16): a reason, an audit event, and the images hidden."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases.access import get_case_for_user
from cases.audit import audit
from imaging import services
from imaging.models import Study


@require_POST
def study_remove(request: HttpRequest, case_id: UUID, study_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id, action="study.remove")
    access.require(access.can_remove_uploads, "study.remove")
    study = Study.objects.filter(case=access.case, uuid=study_id).first()
    if study is None:
        audit(actor=request.user, action="study.remove", case=access.case, allowed=False)
        raise Http404
    try:
        services.study_remove(access=access, study=study, reason=request.POST.get("reason", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The study was removed."))
    return redirect("case-detail", case_id=access.case.uuid)

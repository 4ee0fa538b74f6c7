"""Removing a wrong attachment (issue #16): a reason, an audit event, and the file hidden."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases import services
from cases.access import get_case_for_user
from cases.audit import audit
from cases.models import Attachment


@require_POST
def attachment_remove(request: HttpRequest, case_id: UUID, attachment_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id, action="attachment.remove")
    access.require(access.can_remove_uploads, "attachment.remove")
    attachment = Attachment.objects.filter(case=access.case, uuid=attachment_id).first()
    if attachment is None:
        audit(actor=request.user, action="attachment.remove", case=access.case, allowed=False)
        raise Http404
    try:
        services.attachment_remove(
            access=access, attachment=attachment, reason=request.POST.get("reason", "")
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("%(name)s was removed.") % {"name": attachment.original_name})
    return redirect("case-detail", case_id=access.case.uuid)

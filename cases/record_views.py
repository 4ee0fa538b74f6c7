"""The clinical record's own edit page, for the board and the referring doctor.

Members of the board keep the record (diagnosis, stage, grade, treatments, molecular
results) up to date while the case is open, but must never see who the patient is: this
page shows and saves the clinical fields and rows only, never the identity or the request's
free text, and its audit events name no identifying field. Every save that changes
something writes one ClinicalRevision (cases/history.py).
"""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from cases import services
from cases.access import get_case_for_user
from cases.audit import audit
from cases.models import Case
from cases.record_forms import (
    MOLECULAR_TARGETS,
    ClinicalRecordForm,
    row_formsets,
    rows_to_save,
    rows_valid,
)


@require_http_methods(["GET", "POST"])
def case_clinical_edit(request: HttpRequest, case_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id)
    access.require(access.can_edit_clinical, "case.clinical_update")
    case = access.case
    if request.method == "POST":
        form = ClinicalRecordForm(request.POST, instance=Case.objects.get(pk=case.pk))
        rows = row_formsets(case, request.POST)
        if form.is_valid() and rows_valid(rows):
            revision = services.case_clinical_update(
                access=access, data=form.case_data(), rows=rows_to_save(rows)
            )
            if revision is None:
                messages.info(request, _("Nothing changed in the clinical record."))
            else:
                messages.success(request, _("Clinical record saved."))
            return redirect("case-detail", case_id=case.uuid)
    else:
        # The page shows the clinical record: a read, like the case page.
        audit(actor=request.user, action="clinical.view", case=case, target=case)
        form = ClinicalRecordForm(instance=case)
        rows = row_formsets(case)
    return render(
        request,
        "cases/clinical_form.html",
        {
            "form": form,
            "rows": rows,
            "case": case,
            "access": access,
            "molecular_targets": MOLECULAR_TARGETS,
        },
    )

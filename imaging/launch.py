"""Opening the viewer from another system (IHE Invoke Image Display, ITI/RAD-106 style).

    /viewer/launch?studyUID=1.2.3...        or        /viewer/launch?accessionNumber=A123

A PACS, an EHR or a worklist links here with what it knows of a study; the reader lands in
the case's viewer at that study's first series, if they may see the case. Everything else
is 404 (no study, a removed study, a case the reader may not open), so the answer never
says whether a study exists elsewhere. Every launch is audited, the refused ones too, with
the parameter's name but never its value (an accession number identifies a patient).

A Study Instance UID matches the UID as stored or, where the board de-identifies imaging,
the hospital's own UID (its de-identified replacement is computed per case, as STOW-RS
does). An accession number matches only studies stored with one: de-identification empties
it (PS3.15 Annex E, action Z).
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from cases.access import case_access, cases_visible_to
from cases.audit import audit
from imaging.deid import DeidContext, deid_uid
from imaging.models import Series, Study

MAX_PARAMETER = 64  # the longest UID (PS3.5 9.1); accession numbers are 16 at most


def studies_for_launch(user, *, study_uid: str = "", accession_number: str = "") -> list[Study]:
    """The studies the user may see that the launch parameters name, newest first."""
    cases = cases_visible_to(user)
    studies = Study.objects.filter(case__in=cases)
    if study_uid:
        # The hospital's UID becomes a per-case UID on de-identification (imaging.deid).
        # Only the secret and the case key make a UID (deid_uid): no query per case.
        secret = settings.DEID_SECRET.encode()
        candidates = {study_uid} | {
            deid_uid(study_uid, DeidContext(secret, case.uuid.hex, case.pseudonym))
            # Cases holding a de-identified study (the board's setting may have changed since).
            for case in cases.filter(studies__deidentified=True)
            .distinct()
            .only("uuid", "pseudonym")
        }
        studies = studies.filter(study_instance_uid__in=candidates)
    if accession_number:
        studies = studies.filter(accession_number=accession_number)
    found = studies.select_related("case__board", "case__submitted_by").order_by("-created_at")
    # The access object has the last word on each case (cases_visible_to is its list form).
    return [s for s in found if case_access(user, s.case).can_view]


def viewer_url(study: Study) -> str:
    url = reverse("case-viewer", kwargs={"case_id": study.case.uuid})
    first = Series.objects.filter(study=study).order_by("series_number", "created_at").first()
    return f"{url}?series={first.uuid}" if first is not None else url


@require_GET
def viewer_launch(request: HttpRequest) -> HttpResponse:
    study_uid = request.GET.get("studyUID", "").strip()
    accession_number = request.GET.get("accessionNumber", "").strip()
    given = sorted(
        k for k, v in (("studyUID", study_uid), ("accessionNumber", accession_number)) if v
    )
    if not given or any(len(v) > MAX_PARAMETER for v in (study_uid, accession_number)):
        audit(actor=request.user, action="imaging.launch", allowed=False, detail={"by": given})
        raise Http404
    studies = studies_for_launch(
        request.user, study_uid=study_uid, accession_number=accession_number
    )
    if not studies:
        audit(actor=request.user, action="imaging.launch", allowed=False, detail={"by": given})
        raise Http404
    for study in studies:
        audit(
            actor=request.user,
            action="imaging.launch",
            case=study.case,
            target=study,
            detail={"by": given},
        )
    if len(studies) == 1:
        return redirect(viewer_url(studies[0]))
    # The same study in several cases (a second referral): the reader chooses.
    choices = [(study, viewer_url(study)) for study in studies]
    return render(request, "imaging/launch_choose.html", {"choices": choices})

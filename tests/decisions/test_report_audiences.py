"""Each audience gets its own copy of a signed report, holding exactly what it may read.

The matrix: who reads (chair, member, invited expert, the submitting referrer or patient) by
the board's settings (opinions shared with referrers on/off, reports sent to patients on/off)
by the copy. Each PDF is rendered for real, read back as text, and searched for marked strings
planted in the opinions, the dissent, the names, the patient's identity and the key images.
"""

from __future__ import annotations

import io
import itertools
import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pypdf import PdfReader

from cases import services as case_services
from cases.models import AuditEvent, Case
from decisions import reports
from decisions.models import Report
from decisions.report_data import REPORT_KEY_IMAGE_SIZE, report_data
from imaging import phantom
from imaging.ingest import ingest_many
from imaging.keyimages import released_annotations, render_key_image
from imaging.models import Instance, KeyImage
from tests.cases.factories import HOSPITAL_NUMBER, PATIENT_DOB, PATIENT_NAME, invite, make_case
from tests.decisions.factories import access, close, draft, open_round, pdf_text, propose, sign
from tests.decisions.factories import vote as cast_vote
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db

OPINION = "CANARYOPINION prognosis poor, do not tell patient yet"
DISSENT = "CANARYDISSENT margins unlikely"
DISSENTER = "Canarydissenter"  # the radiologist's surname: named only where opinions are shared
KEY_AUTHOR = "Canarykeyauthor"  # the oncologist's surname: drew the key images, wrote nothing
RELEASED = "CANARYRELEASED caption"
WITHHELD = "CANARYWITHHELD caption"
ANNOTATION_LABEL = "CANARYLABEL"
RECOMMENDATION = "Wide en bloc resection"
REFERRING_DOCTOR = "Dr Canaryaddressee"
REFERRING_INSTITUTION = "Riverside General"
DOB = f"{PATIENT_DOB.day} {PATIENT_DOB:%b %Y}"  # one unambiguous format: "14 Mar 1961"

EVERY_MARK = [
    OPINION,
    DISSENT,
    DISSENTER,
    KEY_AUTHOR,
    RELEASED,
    WITHHELD,
    PATIENT_NAME,
    HOSPITAL_NUMBER,
    DOB,
    REFERRING_DOCTOR,
    "A dissent was recorded",
    "Proposals and votes",
]


def expected_marks(audience: str, shared: bool) -> set[str]:
    """What each copy must show (every other mark must never appear in it)."""
    if audience == "panel":
        return {OPINION, DISSENT, DISSENTER, KEY_AUTHOR, RELEASED, WITHHELD, "Proposals and votes"}
    if audience == "patient":
        return {RELEASED, PATIENT_NAME, DOB}
    identity = {PATIENT_NAME, HOSPITAL_NUMBER, DOB, REFERRING_DOCTOR, RELEASED}
    if shared:
        return identity | {OPINION, DISSENT, DISSENTER, "Proposals and votes"}
    return identity | {"A dissent was recorded", "Proposals and votes"}


def key_images(cast, case) -> None:
    """Two key images drawn by the oncologist, each with a labelled annotation; the first
    released with the report."""
    files = []
    for index, dataset in enumerate(phantom.phantom_series(slices=2, size=64)):
        buffer = io.BytesIO()
        dataset.save_as(buffer, enforce_file_format=True)
        buffer.seek(0)
        files.append((f"IM{index}", buffer))
    assert ingest_many(case=case, by=cast.radiologist, files=files).stored == 2
    label = {"kind": "arrow", "points": [[5, 5], [30, 30]], "text": ANNOTATION_LABEL}
    for instance, caption, released in zip(
        Instance.objects.filter(series__study__case=case).order_by("pk"),
        (RELEASED, WITHHELD),
        (True, False),
        strict=True,
    ):
        KeyImage.objects.create(
            case=case,
            instance=instance,
            author=cast.oncologist,
            caption=caption,
            state={"center": 40, "width": 400},
            annotations=[{**label, "author": cast.oncologist.display_name}],
            released_with_report=released,
        )


def signed_case(cast, capture, *, submitter, shared: bool, to_patient: bool) -> Case:
    """A decided case with the marked strings everywhere, signed, its copies rendered."""
    cast.board.share_opinions_with_referrers = shared
    cast.board.send_report_to_patient = to_patient
    cast.board.save()
    cast.radiologist.last_name = DISSENTER
    cast.radiologist.save()
    cast.oncologist.last_name = KEY_AUTHOR
    cast.oncologist.save()
    case = make_case(
        cast,
        status=Case.Status.SCHEDULED,
        submitted_by=submitter,
        referring_physician=REFERRING_DOCTOR,
        referring_institution=REFERRING_INSTITUTION,
    )
    invite(cast, case)
    key_images(cast, case)
    case_services.opinion_post(access=access(cast.pathologist, case), body=OPINION)
    p1 = propose(cast, case, {"category": "surgery", "text": f"{RECOMMENDATION}."})
    round_ = open_round(cast, case)
    for user in (cast.chair, cast.pathologist, cast.oncologist, cast.surgeon):
        cast_vote(user, case, round_, agree=[p1])
    cast_vote(cast.radiologist, case, round_, disagree=[p1], comment=DISSENT)
    close(cast, case, round_)
    consensus = draft(cast, case, text=f"{RECOMMENDATION} at the reference centre.")
    with capture(execute=True):
        sign(cast, case, consensus)
    return case


def download(user, case, report: Report):
    return signed_in(user).get(
        reverse("report-download", kwargs={"case_id": case.uuid, "report_id": report.uuid})
    )


MATRIX = list(itertools.product(["referrer", "patient"], [True, False], [True, False]))


@pytest.mark.parametrize(
    ("submitter", "shared", "to_patient"),
    MATRIX,
    ids=[f"{s}-share_{sh}-patient_{p}" for s, sh, p in MATRIX],
)
def test_each_reader_gets_their_own_copy_holding_only_what_they_may_read(
    cast, django_capture_on_commit_callbacks, submitter, shared, to_patient
):
    submitting = getattr(cast, submitter)
    case = signed_case(
        cast,
        django_capture_on_commit_callbacks,
        submitter=submitting,
        shared=shared,
        to_patient=to_patient,
    )
    copies = {r.audience: r for r in Report.objects.filter(consensus__case=case)}
    # A copy exists only for the audiences this case has.
    if submitter == "referrer":
        assert set(copies) == {"panel", "referrer"}
    else:
        assert set(copies) == ({"panel", "patient"} if to_patient else {"panel"})
    assert all(r.status == Report.Status.READY for r in copies.values())

    readers = {"chair": "panel", "pathologist": "panel", "expert": "panel"}
    if submitter == "referrer":
        readers["referrer"] = "referrer"
    elif to_patient:
        readers["patient"] = "patient"
    for who, audience in readers.items():
        response = download(getattr(cast, who), case, copies[audience])
        assert response.status_code == 200, (who, audience)
        text = pdf_text(b"".join(response.streaming_content))
        assert RECOMMENDATION in text and case.pseudonym in text
        label = {"panel": "Panel copy", "referrer": "Referrer copy", "patient": "Patient copy"}
        assert label[audience] in text
        wanted = expected_marks(audience, shared)
        for mark in EVERY_MARK:
            assert (mark in text) == (mark in wanted), (who, audience, mark)
        assert ANNOTATION_LABEL not in text  # drawn into the picture, never as text
        # No reader downloads another audience's copy.
        for other, report in copies.items():
            if other != audience:
                assert download(getattr(cast, who), case, report).status_code == 404, (who, other)

    if submitter == "patient" and not to_patient:
        # The patient may see the case but gets no copy at all.
        assert download(cast.patient, case, copies["panel"]).status_code == 403


def test_the_referrer_copy_is_addressed_to_the_referring_doctor(
    cast, django_capture_on_commit_callbacks
):
    case = signed_case(
        cast,
        django_capture_on_commit_callbacks,
        submitter=cast.referrer,
        shared=False,
        to_patient=False,
    )
    referrer = Report.objects.get(consensus__case=case, audience="referrer")
    pdf = referrer.file.read()
    text = pdf_text(pdf)
    assert f"To {REFERRING_DOCTOR}, {REFERRING_INSTITUTION}" in text
    assert f"Patient {PATIENT_NAME} Date of birth {DOB}" in text
    assert f"Hospital number {HOSPITAL_NUMBER}" in text
    # Every copy is PDF/A-3b like the panel's: it goes through the same renderer.
    reader = PdfReader(io.BytesIO(pdf))
    metadata = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert re.search(r"pdfaid:part(?:=\"|>)\s*3", metadata)
    assert re.search(r"pdfaid:conformance(?:=\"|>)\s*B", metadata)


def test_submitter_copies_draw_released_key_images_without_annotation_labels(cast):
    case = make_case(cast, status=Case.Status.SCHEDULED)
    key_images(cast, case)
    p1 = propose(cast, case)
    round_ = open_round(cast, case)
    cast_vote(cast.chair, case, round_, agree=[p1])
    close(cast, case, round_)
    consensus = sign(cast, case, draft(cast, case, category="surgery", text=RECOMMENDATION))
    released, withheld = KeyImage.objects.filter(case=case).order_by("created_at", "pk")
    size = min(REPORT_KEY_IMAGE_SIZE, max(released.instance.rows, released.instance.columns))

    panel = report_data(consensus, "panel").key_images
    referrer = report_data(consensus, "referrer").key_images
    assert [i.png for i in panel] == [render_key_image(k, size) for k in (released, withheld)]
    [shown] = referrer
    assert shown.png == render_key_image(released, size, labels=False)
    # The label is drawn on the panel's picture: the two pictures differ by it alone.
    assert shown.png != render_key_image(released, size)
    unlabelled = KeyImage(
        instance=released.instance,
        state=released.state,
        annotations=released_annotations(released.annotations),
    )
    assert shown.png == render_key_image(unlabelled, size)
    assert KEY_AUTHOR not in shown.caption and RELEASED in shown.caption


def test_emails_about_each_copy_stay_pseudonymous(cast, django_capture_on_commit_callbacks):
    cast.referrer.email = "referrer@example.org"
    cast.referrer.save()
    case = signed_case(
        cast,
        django_capture_on_commit_callbacks,
        submitter=cast.referrer,
        shared=True,
        to_patient=True,
    )
    [message] = [m for m in mail.outbox if "report" in m.subject]
    assert message.to == ["referrer@example.org"] and case.pseudonym in message.subject
    for mark in (PATIENT_NAME, HOSPITAL_NUMBER, DOB, REFERRING_DOCTOR, OPINION, RECOMMENDATION):
        assert mark not in message.subject + message.body


def test_the_verification_page_names_the_copy_without_identifying_data(
    cast, django_capture_on_commit_callbacks
):
    case = signed_case(
        cast,
        django_capture_on_commit_callbacks,
        submitter=cast.referrer,
        shared=False,
        to_patient=False,
    )
    url = reverse("report-verify", kwargs={"case_id": case.uuid})
    for audience, label in (("referrer", "Referrer copy"), ("panel", "Panel copy")):
        report = Report.objects.get(consensus__case=case, audience=audience)
        upload = SimpleUploadedFile("copy.pdf", report.file.read(), "application/pdf")
        response = signed_in(cast.referrer).post(url, {"file": upload})
        html = " ".join(response.content.decode().split())
        assert "This file matches." in html and f"Audience: {label}." in html
        for mark in (PATIENT_NAME, HOSPITAL_NUMBER, DOB, REFERRING_DOCTOR):
            assert mark not in html
        event = AuditEvent.objects.filter(action="report.verify").latest("id")
        assert event.object_id == str(report.uuid)


def test_the_chair_makes_a_missing_copy_once_the_board_sends_reports_to_patients(
    cast, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(reports, "render_report_pdf", lambda data: f"%PDF {data.audience}".encode())
    cast.board.send_report_to_patient = False
    cast.board.save()
    case = make_case(cast, status=Case.Status.SCHEDULED, submitted_by=cast.patient)
    p1 = propose(cast, case)
    round_ = open_round(cast, case)
    cast_vote(cast.chair, case, round_, agree=[p1])
    close(cast, case, round_)
    consensus = draft(cast, case, category="surgery", text=RECOMMENDATION)
    with django_capture_on_commit_callbacks(execute=True):
        sign(cast, case, consensus)
    assert list(Report.objects.values_list("audience", flat=True)) == ["panel"]
    cast.board.send_report_to_patient = True
    cast.board.save()
    url = reverse(
        "report-regenerate", kwargs={"case_id": case.uuid, "consensus_id": consensus.uuid}
    )
    assert signed_in(cast.surgeon).post(url, {"audience": "patient"}).status_code == 403
    panel = signed_in(cast.chair).get(
        reverse("decision-panel", kwargs={"case_id": case.uuid}), HTTP_X_REQUESTED_WITH="fetch"
    )
    assert 'data-report-copy="patient" data-report-status="failed"' in panel.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(cast.chair).post(url, {"audience": "patient"})
    assert response.status_code == 302
    patient_copy = Report.objects.get(audience="patient")
    assert patient_copy.file.read() == b"%PDF patient"
    assert download(cast.patient, case, patient_copy).status_code == 200
    # A referrer copy is not a copy this case has.
    assert signed_in(cast.chair).post(url, {"audience": "referrer"}).status_code == 409
    assert not Report.objects.filter(audience="referrer").exists()


def test_each_copy_fails_and_is_made_again_on_its_own(
    cast, monkeypatch, django_capture_on_commit_callbacks
):
    def render(data):
        if data.audience == "referrer":
            raise RuntimeError("the referrer's copy breaks")
        return f"%PDF {data.audience}".encode()

    monkeypatch.setattr(reports, "render_report_pdf", render)
    case = make_case(cast, status=Case.Status.SCHEDULED)
    p1 = propose(cast, case)
    round_ = open_round(cast, case)
    cast_vote(cast.chair, case, round_, agree=[p1])
    close(cast, case, round_)
    consensus = draft(cast, case, category="surgery", text=RECOMMENDATION)
    with django_capture_on_commit_callbacks(execute=True):
        sign(cast, case, consensus)
    statuses = dict(Report.objects.values_list("audience", "status"))
    assert statuses == {"panel": "ready", "referrer": "failed"}
    panel_copy = Report.objects.get(audience="panel")
    # The referrer sees that their copy could not be made; the panel's copy is not theirs.
    page = signed_in(cast.referrer).get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    assert "could not be generated" in page.content.decode()
    assert str(panel_copy.uuid) not in page.content.decode()

    monkeypatch.setattr(reports, "render_report_pdf", lambda data: b"%PDF fixed")
    url = reverse(
        "report-regenerate", kwargs={"case_id": case.uuid, "consensus_id": consensus.uuid}
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert signed_in(cast.chair).post(url, {"audience": "referrer"}).status_code == 302
    referrer_copy = Report.objects.get(audience="referrer")
    assert referrer_copy.is_ready and referrer_copy.file.read() == b"%PDF fixed"
    # The panel copy was left as it was.
    assert Report.objects.get(audience="panel").file.read() == b"%PDF panel"
    assert download(cast.referrer, case, referrer_copy).status_code == 200

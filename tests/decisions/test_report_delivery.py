"""The signed report through the real flow: what the PDF holds, who is told it is ready, who
downloads it, checking a copy against its fingerprint, and a failure the chair sees and
repairs. A report, once stored, never changes."""

from __future__ import annotations

import datetime
import hashlib
import io
import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pypdf import PdfReader

from board.models import User
from cases import services
from cases.models import AuditEvent, Case, Opinion
from decisions import render as report
from decisions import reports
from decisions import views as decision_views
from decisions.models import Report
from decisions.report_data import report_data
from imaging import phantom
from imaging.ingest import ingest_many
from imaging.models import Instance
from imaging.services import annotation_create, key_image_create
from meetings.models import Attendance
from realtime import publish
from tests.cases.factories import HOSPITAL_NUMBER, PATIENT_NAME, invite, make_case, opinion
from tests.decisions.factories import (
    access,
    close,
    decided_case,
    draft,
    hostile_texts,
    image_xobjects,
    make_meeting,
    open_round,
    pdf_text,
    propose,
    sign,
    vote,
)
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db

RECOMMENDATION = "Wide en bloc resection at the reference centre, then review of the margins"
KEY_IMAGES = 3
FETCH = {"HTTP_X_REQUESTED_WITH": "fetch"}


@pytest.fixture
def sent(monkeypatch):
    events = []
    monkeypatch.setattr(publish, "publish_now", lambda group, event: events.append((group, event)))
    return events


@pytest.fixture
def fake_pdf(monkeypatch):
    """A stand-in renderer for the tests about delivery: the bytes name the case."""

    def render(data):
        return f"%PDF-1.7 report of {data.case_pseudonym} v{data.version}".encode()

    monkeypatch.setattr(reports, "render_report_pdf", render)


def url(name, case, **kwargs) -> str:
    return reverse(name, kwargs={"case_id": case.uuid, **kwargs})


def signed(cast, case, consensus, capture, audience="panel") -> Report | None:
    """Sign as the chair and run what waits for the commit (the reports, their emails); the
    ready copy for `audience`."""
    with capture(execute=True):
        sign(cast, case, consensus)
    return Report.objects.filter(
        consensus=consensus, audience=audience, status=Report.Status.READY
    ).first()


def reported_case(cast, capture, audience="panel", **fields) -> tuple[Case, Report]:
    """A case like test_decisions' decided_case (P1 adopted, the radiologist dissenting),
    signed, and its copy for `audience`; `fields` go to make_case."""
    case = make_case(cast, status=Case.Status.SCHEDULED, **fields)
    p1 = propose(cast, case)
    round_ = open_round(cast, case)
    for user in (cast.chair, cast.pathologist, cast.oncologist, cast.surgeon):
        vote(user, case, round_, agree=[p1])
    vote(cast.radiologist, case, round_, disagree=[p1], comment="Margins unlikely without RT.")
    close(cast, case, round_)
    return case, signed(cast, case, draft(cast, case), capture, audience)


# --- the whole case, through the services --------------------------------------------------


def add_key_images(cast, case, count: int, caption: str = "Solid component") -> None:
    files = []
    for index, dataset in enumerate(phantom.phantom_series(slices=count, size=64)):
        buffer = io.BytesIO()
        dataset.save_as(buffer, enforce_file_format=True)
        buffer.seek(0)
        files.append((f"IM{index}", buffer))
    assert ingest_many(case=case, by=cast.radiologist, files=files).stored == count
    radiologist = access(cast.radiologist, case)
    for number, instance in enumerate(Instance.objects.filter(series__study__case=case), 1):
        annotation_create(
            access=radiologist,
            instance=instance,
            frame=0,
            kind="length",
            points=[[10, 10], [40, 30]],
            text="tumour",
        )
        key_image_create(
            access=radiologist,
            instance=instance,
            frame=0,
            state={"center": 40, "width": 400},
            caption=f"{caption} {number}",
        )


def whole_case(cast, *, opinions=None, key_images=KEY_IMAGES, recommendation=RECOMMENDATION):
    """A scheduled case with imaging, key images, opinions (one withdrawn), two proposals
    voted on live in a meeting with attendance, and a draft recommendation."""
    case = make_case(cast, status=Case.Status.SCHEDULED)
    add_key_images(cast, case, key_images)
    opinions = opinions or {
        cast.pathologist: "**MDM2** not amplified; FNCLCC grade 3 confirmed.",
        cast.radiologist: "Deep thigh mass abutting the femoral vessels, no metastases.",
        cast.surgeon: "Resectable with a margin; vessels can be preserved.",
    }
    for author, body in opinions.items():
        services.opinion_post(access=access(author, case), body=body)
    gone = opinion(case, cast.oncologist, "A thought withdrawn before the vote.")
    services.opinion_withdraw(access=access(cast.oncologist, case), opinion=gone)
    p1 = propose(cast, case, {"category": "surgery", "text": "Wide **en bloc** resection."})
    p2 = propose(
        cast, case, {"category": "radiotherapy", "text": "Preoperative RT 50 Gy."}, cast.oncologist
    )
    meeting = make_meeting(cast, case)
    start = meeting.starts_at - datetime.timedelta(minutes=30)
    for minute, user in enumerate([cast.chair, *cast.members]):
        Attendance.objects.create(
            meeting=meeting,
            user=user,
            joined_at=start + datetime.timedelta(minutes=minute),
            left_at=start + datetime.timedelta(minutes=20),
        )
    # A second tab, still open when the vote is signed: no "left" time for the surgeon.
    Attendance.objects.create(
        meeting=meeting, user=cast.surgeon, joined_at=start - datetime.timedelta(minutes=1)
    )
    # The attendance above is what the report shows; it is over before the vote, so the board
    # lets absent members vote (who may vote live: tests/decisions/test_live_votes_present.py).
    cast.board.absentees_vote_live = True
    cast.board.save(update_fields=["absentees_vote_live"])
    round_ = open_round(cast, case, deadline=None, meeting=meeting)
    for user in (cast.chair, cast.pathologist, cast.oncologist, cast.surgeon):
        vote(user, case, round_, agree=[p1], disagree=[p2])
    vote(cast.radiologist, case, round_, agree=[p2], disagree=[p1], comment="RT first.")
    close(cast, case, round_)
    return case, draft(cast, case, text=recommendation)


def test_signing_stores_a_pdf_of_the_whole_case(cast, django_capture_on_commit_callbacks):
    case, consensus = whole_case(cast)
    stored = signed(cast, case, consensus, django_capture_on_commit_callbacks)

    pdf = stored.file.read()
    assert pdf.startswith(b"%PDF-")
    assert stored.sha256 == hashlib.sha256(pdf).hexdigest() == report.report_sha256(pdf)
    assert stored.size == len(pdf)
    reader = PdfReader(io.BytesIO(pdf))
    text = pdf_text(pdf)
    assert RECOMMENDATION in text
    # The tally: P1 adopted 4 agree, 1 disagree; P2 1 agree, 4 disagree.
    assert re.search(r"P1 Surgery Wide en bloc resection\. adopted 4 1 0\b", text, re.I), text
    assert re.search(r"P2 Radiotherapy Preoperative RT 50 Gy\. 1 4 0\b", text, re.I), text
    assert "Proposal adopted: P1" in text
    assert "RT first." in text  # the dissent
    assert "Vote: quorum met (5 ballots cast). Meeting: quorum met (5 attendees)." in text
    for user in (cast.chair, *cast.members):
        assert user.display_name in text  # attendance
    assert "Surgical oncology" in text and "Pathology" in text
    # The case: structured data with grade and stage as the case page shows them.
    assert case.pseudonym in text
    assert "Undifferentiated pleomorphic sarcoma" in text
    assert "G3 (FNCLCC: differentiation 3 + mitoses 3 + necrosis 1 = 7)" in text
    assert "Stage IIIB (T3 N0 M0 G3)" in text
    assert "Neoadjuvant radiotherapy or upfront surgery?" in text
    assert "MDM2" in text and "femoral vessels" in text
    assert "withdrawn before the vote" not in text
    assert "Sarcoma board" in text  # the meeting
    assert "Solid component 1" in text  # a key image's caption
    assert PATIENT_NAME not in text and HOSPITAL_NUMBER not in text
    # Every key image, drawn, and nothing else; no attachment.
    assert len(image_xobjects(reader)) == KEY_IMAGES
    assert reader.attachments == {}
    assert "/EmbeddedFiles" not in str(reader.trailer["/Root"].get("/Names", {}))
    assert AuditEvent.objects.filter(
        action="report.generate", outcome="allowed", object_id=str(stored.uuid)
    ).exists()


def test_the_report_shows_each_attendee_once_with_first_join_and_last_leave(cast):
    case, consensus = whole_case(cast, key_images=1)
    consensus = sign(cast, case, consensus)
    data = report_data(consensus)
    rows = {a.name: a for a in data.attendees}
    assert len(data.attendees) == 5
    surgeon = rows[cast.surgeon.display_name]
    assert surgeon.specialty == "Surgical oncology"
    assert surgeon.left_at is None  # a tab was still open at the signature
    chair = rows[cast.chair.display_name]
    assert chair.left_at - chair.joined_at == datetime.timedelta(minutes=20)
    assert data.attendees[0].name == surgeon.name  # the earliest join first
    assert "Meeting: quorum met (5 attendees)" in data.quorum
    assert [s.role for s in data.signatures] == ["Chair"]


def test_a_join_whose_socket_died_ends_at_its_last_heartbeat(cast):
    case, consensus = whole_case(cast, key_images=1)
    meeting = consensus.case.agenda_items.get().meeting
    pathologist = Attendance.objects.filter(user=cast.pathologist).get()
    # A second tab whose process was killed: never closed, last heard of 6 minutes in.
    heartbeat = pathologist.left_at + datetime.timedelta(minutes=6)
    Attendance.objects.create(
        meeting=meeting,
        user=cast.pathologist,
        joined_at=pathologist.left_at + datetime.timedelta(minutes=5),
        seen_at=heartbeat,
    )
    data = report_data(sign(cast, case, consensus))
    row = next(a for a in data.attendees if a.name == cast.pathologist.display_name)
    assert row.left_at == heartbeat


def test_hostile_text_in_the_real_flow_fetches_nothing(
    cast,
    loopback,
    django_capture_on_commit_callbacks,
):
    base, hits = loopback
    texts = hostile_texts(base)
    case, consensus = whole_case(
        cast,
        key_images=1,
        opinions={cast.pathologist: "\n\n".join(texts), cast.surgeon: texts[0]},
        recommendation="Resect.\n\n" + "\n\n".join(texts),
    )
    Case.objects.filter(pk=case.pk).update(question="\n".join(texts))
    stored = signed(cast, case, consensus, django_capture_on_commit_callbacks)

    assert stored is not None
    assert hits == []
    text = pdf_text(stored.file.read())
    assert "root:" not in text
    assert "plain link" in text  # the opinion is there, its payloads inert
    assert len(image_xobjects(PdfReader(stored.file.path))) == 1


def test_the_report_shows_the_case_as_it_was_signed(cast):
    # A vote without a meeting leaves the case in review: opinions can still change.
    case, *_ = decided_case(cast, status=Case.Status.IN_REVIEW)
    first = services.opinion_post(access=access(cast.pathologist, case), body="Grade 3 at signing.")
    consensus = sign(cast, case, draft(cast, case))
    assert Case.objects.get(pk=case.pk).status == Case.Status.IN_REVIEW
    services.opinion_edit(access=access(cast.pathologist, case), opinion=first, body="Grade 2 now.")
    services.opinion_post(access=access(cast.surgeon, case), body="Posted after the signature.")
    services.opinion_withdraw(access=access(cast.pathologist, case), opinion=first)

    opinions = report_data(consensus).opinions
    texts = [o.html for specialty in opinions for o in specialty.opinions]
    assert texts == ["<p>Grade 3 at signing.</p>"]


# --- delivery -------------------------------------------------------------------------------


def report_mails():
    return [m for m in mail.outbox if "report" in m.subject]


def test_the_referring_doctor_is_emailed_after_the_commit(
    cast, fake_pdf, django_capture_on_commit_callbacks
):
    cast.referrer.email = "referrer@example.org"
    cast.referrer.save()
    User.objects.filter(pk__in=[u.pk for u in cast.members]).update(email="m@example.org")
    case, *_ = decided_case(cast)
    consensus = draft(cast, case)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sign(cast, case, consensus)
    # Nothing before the commit but the pending rows written with the signature.
    assert report_mails() == []
    assert sorted(Report.objects.values_list("audience", "status", "sha256")) == [
        ("panel", "pending", ""),
        ("referrer", "pending", ""),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()  # the report; its email waits for the report's own commit
    [message] = report_mails()
    assert message.to == ["referrer@example.org"]
    assert case.pseudonym in message.subject
    assert url("case-detail", case) in message.body
    assert message.attachments == []
    for secret in (PATIENT_NAME, HOSPITAL_NUMBER, "en bloc"):
        assert secret not in message.subject + message.body
    # One email, for the referrer's copy; the panel copy is not delivered by email.
    event = AuditEvent.objects.get(action="report.deliver")
    assert event.detail == {"version": 1, "audience": "referrer", "emails": 1}


@pytest.mark.parametrize(("allowed", "emails"), [(True, 1), (False, 0)])
def test_a_patient_is_emailed_where_the_board_allows(
    cast, fake_pdf, django_capture_on_commit_callbacks, allowed, emails
):
    cast.board.send_report_to_patient = allowed
    cast.board.save()
    cast.patient.email = "patient@example.org"
    cast.patient.save()
    reported_case(cast, django_capture_on_commit_callbacks, submitted_by=cast.patient)
    assert len(report_mails()) == emails


def test_a_correction_gets_its_own_report_and_the_first_stays(
    cast, fake_pdf, django_capture_on_commit_callbacks
):
    cast.referrer.email = "referrer@example.org"
    cast.referrer.save()
    case, first = reported_case(cast, django_capture_on_commit_callbacks, "referrer")
    first_bytes = first.file.read()
    correction = draft(cast, case, text="Corrected: wide resection **and** RT.")
    second = signed(cast, case, correction, django_capture_on_commit_callbacks, "referrer")
    assert (second.consensus.version, second.pk != first.pk) == (2, True)
    first.refresh_from_db()
    assert (
        first.file.read() == first_bytes and first.sha256 == hashlib.sha256(first_bytes).hexdigest()
    )
    assert "corrected report (version 2)" in report_mails()[-1].body
    html = signed_in(cast.referrer).get(url("case-detail", case)).content.decode()
    assert url("report-download", case, report_id=second.uuid) in html


def test_an_existing_report_is_never_made_again(cast, fake_pdf, django_capture_on_commit_callbacks):
    case, stored = reported_case(cast, django_capture_on_commit_callbacks)
    again = reports.report_generate(consensus=stored.consensus, audience="panel")
    assert again.pk == stored.pk and Report.objects.count() == 2  # panel and referrer copies
    for audience in ("panel", "referrer"):
        with pytest.raises(reports.ReportConflict):
            reports.report_regenerate(
                access=access(cast.chair, case), consensus=stored.consensus, audience=audience
            )
    # A referrer's case has no patient copy to make.
    with pytest.raises(reports.ReportConflict):
        reports.report_regenerate(
            access=access(cast.chair, case), consensus=stored.consensus, audience="patient"
        )
    assert Report.objects.count() == 2


# --- download ---------------------------------------------------------------------------------


def test_the_referring_doctor_downloads_the_pdf(cast, fake_pdf, django_capture_on_commit_callbacks):
    case, stored = reported_case(cast, django_capture_on_commit_callbacks, "referrer")
    client = signed_in(cast.referrer)
    page = client.get(url("case-detail", case)).content.decode()
    link = url("report-download", case, report_id=stored.uuid)
    assert link in page and "Download the report (PDF, version 1, Referrer copy)" in page

    response = client.get(link)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="consilium-{case.pseudonym}-report-v1-referrer.pdf"'
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == stored.file.read()
    event = AuditEvent.objects.filter(action="report.download").get()
    assert (event.actor, event.outcome, event.object_id) == (
        cast.referrer,
        "allowed",
        str(stored.uuid),
    )


@pytest.mark.parametrize("who", ["outsider", "other_member", "patient"])
def test_those_outside_the_case_get_404(cast, fake_pdf, django_capture_on_commit_callbacks, who):
    case, stored = reported_case(cast, django_capture_on_commit_callbacks)
    user = getattr(cast, who)
    response = signed_in(user).get(url("report-download", case, report_id=stored.uuid))
    assert response.status_code == 404
    assert AuditEvent.objects.filter(
        actor=user, action="report.download", outcome="denied"
    ).exists()


def test_download_refusals(cast, fake_pdf, django_capture_on_commit_callbacks):
    case, stored = reported_case(cast, django_capture_on_commit_callbacks, "referrer")
    _, elsewhere = reported_case(cast, django_capture_on_commit_callbacks, "referrer")
    client = signed_in(cast.referrer)
    link = url("report-download", case, report_id=stored.uuid)
    assert client.post(link).status_code == 405
    # Another case's report, asked for under this case: not found.
    assert client.get(url("report-download", case, report_id=elsewhere.uuid)).status_code == 404


def test_invited_expert_and_every_member_download(
    cast, fake_pdf, django_capture_on_commit_callbacks
):
    case, *_ = decided_case(cast)
    invite(cast, case)
    stored = signed(cast, case, draft(cast, case), django_capture_on_commit_callbacks)
    link = url("report-download", case, report_id=stored.uuid)
    for user in (cast.expert, cast.coordinator, cast.chair, *cast.members):
        assert signed_in(user).get(link).status_code == 200, user


@pytest.mark.parametrize("allowed", [True, False])
def test_a_patient_downloads_only_where_the_board_allows(
    cast, fake_pdf, django_capture_on_commit_callbacks, allowed
):
    cast.board.send_report_to_patient = allowed
    cast.board.save()
    case, stored = reported_case(
        cast,
        django_capture_on_commit_callbacks,
        "patient" if allowed else "panel",
        submitted_by=cast.patient,
    )
    client = signed_in(cast.patient)
    response = client.get(url("report-download", case, report_id=stored.uuid))
    page = client.get(url("case-detail", case)).content.decode()
    if allowed:
        assert response.status_code == 200
        assert "Download the report" in page and "en bloc" in page
    else:
        # The patient may see the case, not this: 403, and neither recommendation nor link.
        assert response.status_code == 403
        assert AuditEvent.objects.filter(
            actor=cast.patient, action="report.download", outcome="denied"
        ).exists()
        assert "Download the report" not in page and "en bloc" not in page


def test_a_stored_file_that_no_longer_matches_is_not_served(
    cast, fake_pdf, django_capture_on_commit_callbacks
):
    case, stored = reported_case(cast, django_capture_on_commit_callbacks, "referrer")
    with open(stored.file.path, "ab") as handle:
        handle.write(b"tampered")
    response = signed_in(cast.referrer).get(url("report-download", case, report_id=stored.uuid))
    assert response.status_code == 500
    assert b"%PDF" not in response.content
    event = AuditEvent.objects.get(action="report.download")
    assert (event.outcome, event.detail) == ("denied", {"reason": "integrity"})


# --- verification -----------------------------------------------------------------------------


def check(client, case, content: bytes, name="copy.pdf"):
    upload = SimpleUploadedFile(name, content, content_type="application/pdf")
    return client.post(url("report-verify", case), {"file": upload})


def test_a_copy_of_the_report_matches(cast, fake_pdf, django_capture_on_commit_callbacks):
    case, stored = reported_case(cast, django_capture_on_commit_callbacks)
    client = signed_in(cast.referrer)
    assert client.get(url("report-verify", case)).status_code == 200
    response = check(client, case, stored.file.read())
    assert response.status_code == 200
    html = " ".join(response.content.decode().split())
    assert "This file matches." in html
    assert "version 1 of the report" in html and cast.chair.display_name in html
    event = AuditEvent.objects.get(action="report.verify")
    assert (event.actor, event.outcome, event.object_id) == (
        cast.referrer,
        "allowed",
        str(stored.uuid),
    )
    assert event.detail["matched"] is True


def test_a_changed_file_or_another_cases_report_does_not_match(
    cast, fake_pdf, django_capture_on_commit_callbacks
):
    case, stored = reported_case(cast, django_capture_on_commit_callbacks)
    _, elsewhere = reported_case(cast, django_capture_on_commit_callbacks)
    client = signed_in(cast.chair)
    for content in (stored.file.read() + b" ", elsewhere.file.read()):
        html = check(client, case, content).content.decode()
        assert "does not match any report of this case" in html
        assert "This file matches" not in html
    assert [e.detail["matched"] for e in AuditEvent.objects.filter(action="report.verify")] == [
        False,
        False,
    ]


def test_verification_refusals(cast, fake_pdf, django_capture_on_commit_callbacks, monkeypatch):
    case, stored = reported_case(cast, django_capture_on_commit_callbacks)
    assert signed_in(cast.outsider).get(url("report-verify", case)).status_code == 404
    client = signed_in(cast.referrer)
    assert client.post(url("report-verify", case)).status_code == 400  # no file
    monkeypatch.setattr(decision_views, "REPORT_CHECK_MAX_BYTES", 1024)
    assert check(client, case, b"%PDF" + b"x" * 2000).status_code == 413  # by the file's size
    big = check(client, case, b"%PDF" + b"x" * 100_000)  # by the request's length, unread
    assert big.status_code == 413 and "larger than" in big.content.decode()
    csrf = signed_in(cast.referrer, enforce_csrf_checks=True)
    upload = SimpleUploadedFile("copy.pdf", stored.file.read())
    assert csrf.post(url("report-verify", case), {"file": upload}).status_code == 403
    assert AuditEvent.objects.filter(action="report.verify", outcome="denied").count() == 4


# --- a failure, seen and repaired -------------------------------------------------------------


def panel(user, case) -> str:
    return signed_in(user).get(url("decision-panel", case), **FETCH).content.decode()


def test_a_failed_report_is_shown_and_the_chair_makes_it_again(
    cast, sent, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(data):
        raise RuntimeError("no fonts today")

    monkeypatch.setattr(reports, "render_report_pdf", broken)
    case, stored = reported_case(cast, django_capture_on_commit_callbacks)
    assert stored is None
    consensus = case.consensus_versions.get()
    assert set(Report.objects.filter(consensus=consensus).values_list("status", flat=True)) == {
        Report.Status.FAILED
    }
    failures = AuditEvent.objects.filter(action="report.generate")
    assert sorted((f.outcome, tuple(sorted(f.detail.items()))) for f in failures) == [
        ("denied", (("audience", audience), ("error", "RuntimeError"), ("version", 1)))
        for audience in ("panel", "referrer")
    ]
    assert [e.status for _, e in sent if e.type == "consensus.report"][:1] == ["failed"]
    assert "could not be generated" in panel(cast.surgeon, case)
    assert "Generate the report again" not in panel(cast.surgeon, case)
    assert "Generate the report again" in panel(cast.chair, case)

    regenerate = url("report-regenerate", case, consensus_id=consensus.uuid)
    assert signed_in(cast.surgeon).post(regenerate).status_code == 403
    assert signed_in(cast.chair).get(regenerate).status_code == 405
    response = signed_in(cast.chair).post(regenerate, **FETCH)  # still broken
    assert response.status_code == 200 and "could not be generated" in response.content.decode()
    assert list(Report.objects.filter(audience="panel").values_list("status", "error")) == [
        ("failed", "RuntimeError")
    ]

    monkeypatch.undo()  # the renderer works again
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(cast.chair).post(regenerate, **FETCH)
    assert response.status_code == 200
    stored = Report.objects.get(consensus=consensus, status=Report.Status.READY)
    assert stored.audience == "panel"  # the chair's own copy; the referrer's is still to make
    assert url("report-download", case, report_id=stored.uuid) in response.content.decode()
    assert AuditEvent.objects.filter(action="report.regenerate", outcome="allowed").count() == 2
    again = signed_in(cast.chair).post(regenerate, **FETCH)
    assert again.status_code == 409
    assert Report.objects.get(audience="panel").pk == stored.pk


def test_a_report_still_rendering_shows_as_pending_then_as_failed(cast, fake_pdf, monkeypatch):
    case, *_ = decided_case(cast)
    sign(cast, case, draft(cast, case))  # the commit never comes: no report is rendered
    html = panel(cast.chair, case)
    assert "The report is being generated" in html
    assert "Generate the report again" not in html
    # Long after the signature, a report that never came is a failure the chair can repair.
    monkeypatch.setattr(reports, "REPORT_PENDING_FOR", datetime.timedelta(0))
    assert "Generate the report again" in panel(cast.chair, case)


def test_opinions_withdrawn_after_signing_stay_in_the_report(cast):
    case, *_ = decided_case(cast, status=Case.Status.IN_REVIEW)
    kept = services.opinion_post(access=access(cast.surgeon, case), body="Resect widely.")
    consensus = sign(cast, case, draft(cast, case))
    services.opinion_withdraw(access=access(cast.surgeon, case), opinion=kept)
    assert Opinion.objects.get(pk=kept.pk).withdrawn_at is not None
    opinions = report_data(consensus).opinions
    assert [(s.label, [o.html for o in s.opinions]) for s in opinions] == [
        ("Surgical oncology", ["<p>Resect widely.</p>"])
    ]

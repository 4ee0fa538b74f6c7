"""Requests to the submitter (issue #16): the board asks, the submitter answers with text and
files, the asker closes; the case is "awaiting information" meanwhile."""

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cases import checklist, services
from cases.access import case_access
from cases.models import AuditEvent, Case, RequestReply, SubmitterRequest
from realtime import publish
from realtime.events import RequestChanged
from tests.cases.factories import (
    HOSPITAL_NUMBER,
    PATIENT_NAME,
    PDF,
    invite,
    make_case,
)
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db

RQ = SubmitterRequest.Status
MRI = "We need the MRI of March with its report,\nand the date of the biopsy."


def ask(user, case, text=MRI, kind="imaging"):
    return signed_in(user).post(
        reverse("request-create", kwargs={"case_id": case.uuid}), {"text": text, "kind": kind}
    )


def answer(user, case, asked, text="Attached.", files=(), **extra):
    data = {"text": text, "files": list(files)}
    return signed_in(user).post(
        reverse("request-answer", kwargs={"case_id": case.uuid, "request_id": asked.uuid}),
        data,
        **extra,
    )


def pdf(name="mri-report.pdf", body=PDF):
    return SimpleUploadedFile(name, body, content_type="application/pdf")


def opened(cast, case, by=None, text=MRI) -> SubmitterRequest:
    return services.request_open(
        access=case_access(by or cast.coordinator, case), text=text, kind="imaging"
    )


def with_email(user) -> None:
    user.email = f"{user.username}@hospital.example"
    user.save(update_fields=["email"])


def page(user, case) -> str:
    response = signed_in(user).get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    assert response.status_code == 200
    return response.content.decode()


# --- asking ----------------------------------------------------------------------------------


def test_coordinator_asks_and_the_case_awaits_information(cast, django_capture_on_commit_callbacks):
    case = make_case(cast)
    with django_capture_on_commit_callbacks(execute=True):
        response = ask(cast.coordinator, case)
    assert response.status_code == 302
    assert response["Location"].endswith("#requests")
    asked = SubmitterRequest.objects.get()
    assert (asked.case, asked.asked_by, asked.status) == (case, cast.coordinator, RQ.OPEN)
    assert asked.kind == SubmitterRequest.Kind.IMAGING
    assert AuditEvent.objects.filter(action="request.open", object_id=str(asked.uuid)).exists()
    html = page(cast.chair, case)
    assert 'id="case-awaiting"' in html
    # Plain text with its line breaks, not Markdown.
    assert "We need the MRI of March with its report,<br>and the date of the biopsy." in html


def test_member_may_ask_but_not_an_invited_expert(cast):
    case = make_case(cast)
    assert ask(cast.pathologist, case).status_code == 302
    invite(cast, case)
    assert ask(cast.expert, case).status_code == 403
    assert SubmitterRequest.objects.count() == 1


@pytest.mark.parametrize("who", ["referrer", "patient"])
def test_the_submitter_cannot_ask_themselves(cast, who):
    case = make_case(cast, submitted_by=getattr(cast, who))
    assert ask(getattr(cast, who), case).status_code == 403
    assert not SubmitterRequest.objects.exists()
    assert AuditEvent.objects.filter(action="request.open", outcome="denied").exists()


def test_outsider_and_other_board_get_404(cast):
    case = make_case(cast)
    assert ask(cast.outsider, case).status_code == 404
    assert ask(cast.other_member, case).status_code == 404
    assert not SubmitterRequest.objects.exists()


def test_no_request_on_a_closed_case(cast):
    case = make_case(cast, status=Case.Status.CONCLUDED)
    assert ask(cast.chair, case).status_code == 403


def test_an_empty_request_is_refused(cast):
    case = make_case(cast)
    response = ask(cast.coordinator, case, text="   ")
    assert response.status_code == 302
    assert not SubmitterRequest.objects.exists()
    with pytest.raises(ValidationError):
        services.request_open(access=case_access(cast.chair, case), text=" ", kind="imaging")


def test_asking_needs_post_and_csrf(cast):
    case = make_case(cast)
    url = reverse("request-create", kwargs={"case_id": case.uuid})
    assert signed_in(cast.coordinator).get(url).status_code == 405
    client = signed_in(cast.coordinator, enforce_csrf_checks=True)
    assert client.post(url, {"text": MRI, "kind": "imaging"}).status_code == 403
    assert not SubmitterRequest.objects.exists()


# --- the emails ------------------------------------------------------------------------------


def test_the_submitter_is_emailed_the_pseudonym_and_a_link_only(
    cast, settings, django_capture_on_commit_callbacks
):
    settings.BASE_URL = "https://consilium.example"
    with_email(cast.referrer)
    case = make_case(cast)
    with django_capture_on_commit_callbacks(execute=True):
        ask(cast.coordinator, case, text=f"Is {PATIENT_NAME} on the SS18 test list?")
    [message] = mail.outbox
    assert message.to == [cast.referrer.email]
    assert case.pseudonym in message.subject
    assert f"https://consilium.example/cases/{case.uuid}/#requests" in message.body
    for secret in (PATIENT_NAME, HOSPITAL_NUMBER, "SS18"):
        assert secret not in message.subject + message.body


def test_the_asker_is_emailed_when_answered(cast, django_capture_on_commit_callbacks):
    with_email(cast.radiologist)
    case = make_case(cast)
    asked = opened(cast, case, by=cast.radiologist)
    with django_capture_on_commit_callbacks(execute=True):
        answer(cast.referrer, case, asked, text=f"{PATIENT_NAME}'s MRI is attached.")
    [message] = mail.outbox
    assert message.to == [cast.radiologist.email]
    assert case.pseudonym in message.subject
    assert PATIENT_NAME not in message.subject + message.body


# --- answering -------------------------------------------------------------------------------


def test_referrer_answers_with_text_and_a_pdf(cast):
    case = make_case(cast)
    asked = opened(cast, case)
    response = answer(cast.referrer, case, asked, text="MRI of 12 March.", files=[pdf()])
    assert response.status_code == 302
    asked.refresh_from_db()
    assert asked.status == RQ.ANSWERED and asked.answered_at is not None
    reply = RequestReply.objects.get()
    assert (reply.author, reply.text) == (cast.referrer, "MRI of 12 March.")
    [attachment] = reply.attachments.all()
    assert attachment.case == case and attachment.original_name == "mri-report.pdf"
    # The file is one of the case's documents, like any upload.
    assert list(case.attachments.all()) == [attachment]
    assert AuditEvent.objects.filter(action="attachment.upload", outcome="allowed").exists()
    assert AuditEvent.objects.filter(action="request.answer").exists()
    html = page(cast.coordinator, case)
    assert 'id="case-awaiting"' not in html
    assert "mri-report.pdf" in html


def test_patient_answers_in_the_plain_page(cast):
    case = make_case(cast, submitted_by=cast.patient)
    asked = opened(cast, case, text="Could you send the letter from your surgeon?")
    html = page(cast.patient, case)
    assert "Questions from the board" in html
    assert "Could you send the letter from your surgeon?" in html
    assert "The board is waiting for your answer" in html
    assert cast.coordinator.display_name not in html  # "the board's team" asked
    assert answer(cast.patient, case, asked, text="Here it is.").status_code == 302
    asked.refresh_from_db()
    assert asked.status == RQ.ANSWERED


def test_a_text_only_answer_is_enough(cast):
    case = make_case(cast)
    asked = opened(cast, case)
    answer(cast.referrer, case, asked, text="No MRI was done; only a CT.")
    asked.refresh_from_db()
    assert asked.status == RQ.ANSWERED
    assert not RequestReply.objects.get().attachments.exists()


def test_an_empty_answer_is_refused(cast):
    case = make_case(cast)
    asked = opened(cast, case)
    response = answer(cast.referrer, case, asked, text="  ", HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    asked.refresh_from_db()
    assert asked.status == RQ.OPEN
    assert not RequestReply.objects.exists()


def test_a_refused_file_is_reported_and_the_text_still_goes(cast):
    case = make_case(cast)
    asked = opened(cast, case)
    bad = SimpleUploadedFile("scan.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    response = answer(
        cast.referrer,
        case,
        asked,
        text="Report attached.",
        files=[bad],
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["ok"] for r in results if r["name"] == "scan.pdf"] == [False]
    assert not case.attachments.exists()
    asked.refresh_from_db()
    assert asked.status == RQ.ANSWERED


def test_a_refused_file_alone_is_no_answer(cast):
    case = make_case(cast)
    asked = opened(cast, case)
    bad = SimpleUploadedFile("scan.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    response = answer(
        cast.referrer, case, asked, text="", files=[bad], HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 400
    asked.refresh_from_db()
    assert asked.status == RQ.OPEN


@pytest.mark.parametrize("who", ["coordinator", "chair", "pathologist"])
def test_nobody_answers_for_the_submitter(cast, who):
    case = make_case(cast)
    asked = opened(cast, case)
    assert answer(getattr(cast, who), case, asked).status_code == 403
    asked.refresh_from_db()
    assert asked.status == RQ.OPEN
    with pytest.raises(PermissionDenied):
        services.request_answer(
            access=case_access(getattr(cast, who), case), request=asked, text="x"
        )


def test_answering_a_request_of_another_case_is_404(cast):
    case = make_case(cast)
    other = make_case(cast)
    asked = opened(cast, other)
    assert answer(cast.referrer, case, asked).status_code == 404


def test_outsider_cannot_answer(cast):
    case = make_case(cast)
    asked = opened(cast, case)
    assert answer(cast.outsider, case, asked).status_code == 404


def test_answering_needs_post_and_csrf(cast):
    case = make_case(cast)
    asked = opened(cast, case)
    url = reverse("request-answer", kwargs={"case_id": case.uuid, "request_id": asked.uuid})
    assert signed_in(cast.referrer).get(url).status_code == 405
    client = signed_in(cast.referrer, enforce_csrf_checks=True)
    assert client.post(url, {"text": "x"}).status_code == 403


def test_a_closed_request_takes_no_answer(cast):
    case = make_case(cast)
    asked = opened(cast, case)
    services.request_withdraw(access=case_access(cast.coordinator, case), request=asked)
    with pytest.raises(ValidationError):
        services.request_answer(access=case_access(cast.referrer, case), request=asked, text="x")
    html = page(cast.referrer, case)
    assert f'id="answer-{asked.uuid.hex}-files"' not in html


# --- closing ---------------------------------------------------------------------------------


def test_the_asker_closes_an_answered_request(cast):
    case = make_case(cast)
    asked = opened(cast, case, by=cast.radiologist)
    answer(cast.referrer, case, asked)
    url = reverse("request-close", kwargs={"case_id": case.uuid, "request_id": asked.uuid})
    assert signed_in(cast.pathologist).post(url).status_code == 403  # not theirs
    assert signed_in(cast.referrer).post(url).status_code == 403
    assert signed_in(cast.radiologist).get(url).status_code == 405
    assert signed_in(cast.radiologist).post(url).status_code == 302
    asked.refresh_from_db()
    assert (asked.status, asked.closed_by) == (RQ.CLOSED, cast.radiologist)
    assert AuditEvent.objects.filter(action="request.close", outcome="allowed").exists()
    assert AuditEvent.objects.filter(action="request.close", outcome="denied").count() == 2


def test_a_manager_withdraws_anyones_request(cast):
    case = make_case(cast)
    asked = opened(cast, case, by=cast.surgeon)
    url = reverse("request-withdraw", kwargs={"case_id": case.uuid, "request_id": asked.uuid})
    assert signed_in(cast.outsider).post(url).status_code == 404
    assert signed_in(cast.chair).post(url).status_code == 302
    asked.refresh_from_db()
    assert asked.status == RQ.WITHDRAWN and asked.closed_at is not None
    # Done with: a second withdrawal is refused.
    assert signed_in(cast.chair).post(url).status_code == 403


def test_closing_needs_csrf(cast):
    case = make_case(cast)
    asked = opened(cast, case)
    url = reverse("request-close", kwargs={"case_id": case.uuid, "request_id": asked.uuid})
    assert signed_in(cast.coordinator, enforce_csrf_checks=True).post(url).status_code == 403


# --- visibility, checklist, events -----------------------------------------------------------


def test_requests_are_read_by_panel_and_submitter_only(cast):
    case = make_case(cast)
    opened(cast, case)
    url = reverse("request-list", kwargs={"case_id": case.uuid})
    for user in (cast.chair, cast.pathologist, cast.referrer):
        response = signed_in(user).get(url)
        assert response.status_code == 200
        assert "MRI of March" in response.content.decode()
    assert signed_in(cast.outsider).get(url).status_code == 404
    assert signed_in(cast.chair).post(url).status_code == 405


def test_the_checklist_lists_open_requests_as_advised_items(cast):
    case = make_case(cast, status=Case.Status.SUBMITTED)
    asked = opened(cast, case)
    [item] = [i for i in checklist.checklist(case) if i.key.startswith("request-")]
    assert item.key == f"request-{asked.uuid}"
    assert "MRI of March" in item.label
    assert item.missing and not item.required
    # Advised: the chair may still judge the case ready (it does not block).
    assert item.label not in checklist.missing_required(case)
    answer(cast.referrer, case, asked)
    assert not [i for i in checklist.checklist(case) if i.key.startswith("request-")]


def test_the_checklist_on_the_page_shows_the_request(cast):
    case = make_case(cast, status=Case.Status.SUBMITTED)
    asked = opened(cast, case)
    assert f'data-item="request-{asked.uuid}"' in page(cast.referrer, case)


def test_queue_shows_cases_awaiting_information(cast):
    waiting = make_case(cast)
    other = make_case(cast)
    opened(cast, waiting)
    response = signed_in(cast.coordinator).get(
        reverse("board-queue", kwargs={"board_id": cast.board.uuid})
    )
    html = response.content.decode()
    row = html[html.index(waiting.pseudonym) :].split("</tr>")[0]
    assert "awaiting information" in row
    row = html[html.index(other.pseudonym) :].split("</tr>")[0]
    assert "awaiting information" not in row


def test_every_change_publishes_a_request_event(
    cast, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(publish, "publish_now", lambda group, event: sent.append((group, event)))
    case = make_case(cast)
    with django_capture_on_commit_callbacks(execute=True):
        asked = opened(cast, case)
        services.request_answer(access=case_access(cast.referrer, case), request=asked, text="x")
        services.request_close(access=case_access(cast.coordinator, case), request=asked)
    changes = [e.change for _g, e in sent if isinstance(e, RequestChanged)]
    # Each change once per audience (the case's group, and any registered above cases).
    assert list(dict.fromkeys(changes)) == ["opened", "answered", "closed"]
    event = next(e for _g, e in sent if isinstance(e, RequestChanged))
    assert event.case == str(case.uuid) and event.request == str(asked.uuid)

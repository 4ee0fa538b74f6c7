import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from cases.models import Case
from tests.cases.factories import add_pdf, make_case
from tests.helpers import complete_sign_in

pytestmark = pytest.mark.django_db(transaction=True)
S = Case.Status


def post_status(user, case, to):
    client = Client()
    complete_sign_in(client, user)
    return client.post(reverse("case-status", kwargs={"case_id": case.uuid}), {"to": to})


def test_submitter_submits_a_draft_and_coordinators_are_emailed(cast):
    cast.coordinator.email = "coord@board.example"
    cast.coordinator.save()
    case = make_case(cast, status=S.DRAFT)
    assert post_status(cast.referrer, case, S.SUBMITTED).status_code == 302
    case.refresh_from_db()
    assert case.status == S.SUBMITTED
    assert case.submitted_at is not None
    assert [m.to for m in mail.outbox] == [["coord@board.example"]]
    assert case.pseudonym in mail.outbox[0].subject


def test_chair_is_emailed_when_the_board_has_no_coordinator(cast):
    cast.coordinator.memberships.all().delete()
    cast.chair.email = "chair@board.example"
    cast.chair.save()
    case = make_case(cast, status=S.DRAFT)
    post_status(cast.referrer, case, S.SUBMITTED)
    assert [m.to for m in mail.outbox] == [["chair@board.example"]]


def test_members_cannot_move_a_case(cast):
    case = make_case(cast, status=S.SUBMITTED)
    assert post_status(cast.pathologist, case, S.IN_REVIEW).status_code == 403
    case.refresh_from_db()
    assert case.status == S.SUBMITTED


def test_submitter_cannot_accept_their_own_case(cast):
    case = make_case(cast, status=S.SUBMITTED)
    assert post_status(cast.referrer, case, S.IN_REVIEW).status_code == 403


def test_manager_accepts_and_submitter_is_told(cast):
    cast.referrer.email = "ref@riverside.example"
    cast.referrer.save()
    case = make_case(cast, status=S.SUBMITTED)
    assert post_status(cast.coordinator, case, S.IN_REVIEW).status_code == 302
    case.refresh_from_db()
    assert case.status == S.IN_REVIEW
    assert [m.to for m in mail.outbox] == [["ref@riverside.example"]]
    assert "in review" in mail.outbox[0].subject


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (S.DRAFT, S.IN_REVIEW),
        (S.SUBMITTED, S.CONCLUDED),
        (S.CONCLUDED, S.IN_REVIEW),
        (S.WITHDRAWN, S.SUBMITTED),
        (S.IN_REVIEW, "nonsense"),
    ],
)
def test_moves_outside_the_workflow_are_refused(cast, start, to):
    case = make_case(cast, status=start)
    assert post_status(cast.chair, case, to).status_code in (403, 404)
    case.refresh_from_db()
    assert case.status == start


def test_checklist_blocks_ready_and_lists_what_is_missing(cast):
    case = make_case(cast, question="", entity="")
    client = Client()
    complete_sign_in(client, cast.chair)
    html = client.get(reverse("case-detail", kwargs={"case_id": case.uuid})).content.decode()
    assert "a question to the board" in html
    assert "a diagnosis (WHO 2020)" in html
    assert "at least one report or one imaging study" in html
    response = client.post(reverse("case-ready", kwargs={"case_id": case.uuid}), follow=True)
    assert "Not ready for the board" in response.content.decode()
    case.refresh_from_db()
    assert case.ready_at is None


def test_complete_case_is_marked_ready_but_no_button_schedules_it(cast):
    # Scheduling is putting the case on a meeting's agenda (tests/meetings/test_schedule_trap.py).
    case = make_case(cast)
    add_pdf(case, cast.referrer)
    client = Client()
    complete_sign_in(client, cast.chair)
    client.post(reverse("case-ready", kwargs={"case_id": case.uuid}))
    case.refresh_from_db()
    assert case.ready_at is not None
    assert post_status(cast.chair, case, S.SCHEDULED).status_code == 403
    case.refresh_from_db()
    assert case.status == S.IN_REVIEW


def test_a_diagnosis_outside_the_who_list_counts_only_when_named(cast):
    from cases.services import case_checklist

    case = make_case(cast, entity="", diagnosis_other="")
    add_pdf(case, cast.referrer)
    assert "a diagnosis (WHO 2020)" in case_checklist(case)
    case.diagnosis_other = "Sarcoma, NOS (awaiting review)"
    assert case_checklist(case) == []


def test_submitter_withdraws(cast):
    case = make_case(cast, status=S.SUBMITTED)
    post_status(cast.referrer, case, S.WITHDRAWN)
    case.refresh_from_db()
    assert case.status == S.WITHDRAWN

"""The expert review section's pages (issue #16): happy paths and refusals (outsider 404,
no right 403, wrong method 405, missing CSRF 403)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import Case
from decisions.models import ExpertOpinion
from meetings.models import Meeting
from tests.cases.factories import make_case
from tests.cast import PASSWORD
from tests.decisions.expert_factories import (
    PATHOLOGY_OPINION,
    answer_of,
    assigned,
    submitted_case,
    written,
)
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db


def url(name, case, review=None) -> str:
    kwargs = {"case_id": case.uuid}
    if review is not None:
        kwargs["review_id"] = review.uuid
    return reverse(name, kwargs=kwargs)


def test_the_case_page_shows_who_holds_the_case(cast, service):
    case = submitted_case(cast, service)
    assigned(cast, service, case)
    for user in (service.coordinator, service.colleague, cast.referrer):
        page = signed_in(user).get(reverse("case-detail", kwargs={"case_id": case.uuid}))
        assert page.status_code == 200
        assert "Held by" in page.content.decode()
        assert service.expert.display_name in page.content.decode()


def test_the_case_page_asks_the_expert_not_the_board(cast, service):
    expert_case = submitted_case(cast, service)
    board_case = make_case(cast)
    for case, heading, not_heading in [
        (expert_case, "Question to the expert", "Question to the board"),
        (board_case, "Question to the board", "Question to the expert"),
    ]:
        html = signed_in(cast.referrer).get(reverse("case-detail", kwargs={"case_id": case.uuid}))
        assert heading in html.content.decode()
        assert not_heading not in html.content.decode()


def test_the_coordinator_assigns_through_the_page(cast, service):
    case = submitted_case(cast, service)
    review = answer_of(case)
    response = signed_in(service.coordinator).post(
        url("expert-review-assign", case, review), {"expert": service.expert.uuid}
    )
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.expert == service.expert


def test_assign_refusals(cast, service):
    case = submitted_case(cast, service)
    target = url("expert-review-assign", case, answer_of(case))
    data = {"expert": service.expert.uuid}
    assert signed_in(cast.outsider).post(target, data).status_code == 404
    assert signed_in(cast.pathologist).post(target, data).status_code == 404  # another board
    assert signed_in(service.colleague).post(target, data).status_code == 403
    assert signed_in(cast.referrer).post(target, data).status_code == 403
    assert signed_in(service.coordinator).get(target).status_code == 405
    strict = signed_in(service.coordinator, enforce_csrf_checks=True)
    assert strict.post(target, data).status_code == 403
    assert answer_of(case).expert is None


def test_a_member_takes_through_the_page_and_a_second_take_is_refused(cast, service):
    case = submitted_case(cast, service)
    target = url("expert-review-take", case, answer_of(case))
    assert signed_in(service.colleague).post(target).status_code == 302
    assert signed_in(service.expert).post(target).status_code == 403
    assert answer_of(case).expert == service.colleague


def test_the_holder_saves_and_signs_through_the_page(cast, service):
    case = submitted_case(cast, service)
    review = assigned(cast, service, case)
    client = signed_in(service.expert)
    page = client.get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    assert 'id="expert-opinion-form"' in page.content.decode()
    response = client.post(url("expert-opinion-save", case, review), PATHOLOGY_OPINION)
    assert response.status_code == 302
    assert ExpertOpinion.objects.get(review=review).concordance == "major"
    response = client.post(url("expert-opinion-sign", case, review), {"expert-password": PASSWORD})
    assert response.status_code == 302
    assert ExpertOpinion.objects.get(review=review).is_signed
    case.refresh_from_db()
    assert case.status == Case.Status.CONCLUDED


def test_sign_refusals(cast, service):
    case = submitted_case(cast, service)
    review = assigned(cast, service, case)
    written(service, case)
    target = url("expert-opinion-sign", case, review)
    data = {"expert-password": PASSWORD}
    assert signed_in(cast.outsider).post(target, data).status_code == 404
    assert signed_in(service.colleague).post(target, data).status_code == 403
    assert signed_in(service.coordinator).post(target, data).status_code == 403
    assert signed_in(cast.referrer).post(target, data).status_code == 403
    assert signed_in(service.expert).get(target).status_code == 405
    assert not ExpertOpinion.objects.get(review=review).is_signed


def test_the_referrer_and_the_patient_do_not_read_the_draft(cast, service):
    for submitter in (cast.referrer, cast.patient):
        case = submitted_case(cast, service, submitted_by=submitter)
        review = assigned(cast, service, case)
        written(service, case)
        page = signed_in(submitter).get(reverse("case-detail", kwargs={"case_id": case.uuid}))
        assert page.status_code == 200
        assert "MDM2 FISH not amplified" not in page.content.decode()
        colleague_page = signed_in(service.colleague).get(
            reverse("case-detail", kwargs={"case_id": case.uuid})
        )
        assert "MDM2 FISH not amplified" in colleague_page.content.decode()
        assert review.expert == service.expert


def test_no_vote_or_proposal_form_on_an_expert_service_case(cast, service):
    case = submitted_case(cast, service)
    assigned(cast, service, case)
    page = signed_in(service.coordinator).get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    html = page.content.decode()
    assert reverse("vote-round-open", kwargs={"case_id": case.uuid}) not in html
    assert reverse("proposal-create", kwargs={"case_id": case.uuid}) not in html
    assert reverse("consensus-draft", kwargs={"case_id": case.uuid}) not in html


def test_a_chair_asks_for_a_review_and_the_agenda_picker_leaves_the_case_out(cast, service):
    case = make_case(cast, ready_at=timezone.now())
    meeting = Meeting.objects.create(
        board=cast.board, title="Sarcoma board", starts_at=timezone.now(), created_by=cast.chair
    )
    detail = reverse("meeting-detail", kwargs={"meeting_id": meeting.uuid})
    assert case.pseudonym in signed_in(cast.chair).get(detail).content.decode()
    response = signed_in(cast.chair).post(
        url("expert-review-request", case),
        {"service": service.board.uuid, "question": "Myxofibrosarcoma?"},
    )
    assert response.status_code == 302
    assert case.pseudonym not in signed_in(cast.chair).get(detail).content.decode()
    page = signed_in(cast.chair).get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    assert "awaiting expert review" in page.content.decode()


def test_request_refusals(cast, service):
    case = make_case(cast)
    target = url("expert-review-request", case)
    data = {"service": service.board.uuid}
    assert signed_in(cast.outsider).post(target, data).status_code == 404
    assert signed_in(cast.pathologist).post(target, data).status_code == 403
    assert signed_in(cast.chair).get(target).status_code == 405
    assert not case.expert_reviews.exists()


def test_waive_refusals_and_happy_path(cast, service):
    case = make_case(cast)
    signed_in(cast.chair).post(url("expert-review-request", case), {"service": service.board.uuid})
    review = case.expert_reviews.get()
    target = url("expert-review-waive", case, review)
    assert signed_in(cast.outsider).post(target, {"reason": "x"}).status_code == 404
    assert signed_in(cast.pathologist).post(target, {"reason": "x"}).status_code == 403
    assert signed_in(cast.chair).post(target, {"reason": "Cannot wait."}).status_code == 302
    review.refresh_from_db()
    assert review.waived_reason == "Cannot wait."

"""Expert services (issue #16): a case sent to one expert, who answers with a signed written
opinion; the reports and emails that follow; and a board's case waiting for an expert review
before its discussion."""

from __future__ import annotations

import subprocess

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction

from cases import services as case_services
from cases.access import case_access, cases_visible_to
from cases.models import AuditEvent, Case, ExpertReview
from decisions import expert
from decisions import services as actions
from decisions.models import Consensus, ExpertOpinion, Report
from tests.cases.factories import make_case
from tests.cast import PASSWORD
from tests.decisions.expert_factories import (
    PATHOLOGY_OPINION,
    answer_of,
    assigned,
    submitted_case,
    written,
)
from tests.decisions.factories import close, draft, open_round, propose, sign, vote

pytestmark = pytest.mark.django_db


def signed(service, case, capture) -> ExpertOpinion:
    with capture(execute=True):
        return expert.expert_opinion_sign(
            access=case_access(service.expert, case), review=answer_of(case), password=PASSWORD
        )


# --- the case's way through the service -------------------------------------------------------


def test_a_case_submitted_to_an_expert_service_waits_for_an_expert(cast, service):
    case = submitted_case(cast, service)
    review = answer_of(case)
    assert review.service == service.board
    assert review.expert is None
    assert case.status == Case.Status.SUBMITTED


def test_the_coordinator_assigns_an_expert_and_the_case_goes_in_review(cast, service):
    case = submitted_case(cast, service)
    review = assigned(cast, service, case)
    case.refresh_from_db()
    assert review.expert == service.expert and review.assigned_by == service.coordinator
    assert case.status == Case.Status.IN_REVIEW


def test_the_expert_is_emailed_when_assigned(cast, service, django_capture_on_commit_callbacks):
    case = submitted_case(cast, service)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assigned(cast, service, case)
    assert [m.to for m in mail.outbox] == [["expert@example.org"]]
    assert case.pseudonym in mail.outbox[0].subject
    assert "Test" not in mail.outbox[0].body  # the pseudonym and a link, no name


def test_a_member_of_the_service_takes_an_unassigned_case(cast, service):
    case = submitted_case(cast, service)
    review = case_services.expert_review_take(
        access=case_access(service.colleague, case), review=answer_of(case)
    )
    assert review.expert == service.colleague


def test_a_taken_case_cannot_be_taken_again(cast, service):
    case = submitted_case(cast, service)
    assigned(cast, service, case)
    with pytest.raises(PermissionDenied):
        case_services.expert_review_take(
            access=case_access(service.colleague, case), review=answer_of(case)
        )


def test_the_coordinator_reassigns_and_the_new_expert_holds_it(cast, service):
    case = submitted_case(cast, service)
    assigned(cast, service, case)
    review = case_services.expert_review_assign(
        access=case_access(service.coordinator, case),
        review=answer_of(case),
        expert=service.colleague,
    )
    assert review.expert == service.colleague
    assert not case_access(service.expert, case).holds_review(review)
    assert case_access(service.colleague, case).holds_review(review)


def test_a_member_cannot_assign_and_nobody_outside_the_service_can_be_assigned(cast, service):
    case = submitted_case(cast, service)
    with pytest.raises(PermissionDenied):
        case_services.expert_review_assign(
            access=case_access(service.colleague, case),
            review=answer_of(case),
            expert=service.colleague,
        )
    with pytest.raises(ValidationError):
        case_services.expert_review_assign(
            access=case_access(service.coordinator, case),
            review=answer_of(case),
            expert=cast.pathologist,
        )


def test_only_the_holder_writes_and_signs(cast, service):
    case = submitted_case(cast, service)
    assigned(cast, service, case)
    with pytest.raises(PermissionDenied):
        expert.expert_opinion_save(
            access=case_access(service.colleague, case),
            review=answer_of(case),
            data=PATHOLOGY_OPINION,
        )
    written(service, case)
    for user in (service.colleague, service.coordinator, cast.referrer):
        with pytest.raises(PermissionDenied):
            expert.expert_opinion_sign(
                access=case_access(user, case), review=answer_of(case), password=PASSWORD
            )
    assert not ExpertOpinion.objects.get(review__case=case).is_signed


def test_a_wrong_password_signs_nothing_and_is_audited(cast, service):
    case = submitted_case(cast, service)
    assigned(cast, service, case)
    written(service, case)
    with pytest.raises(expert.WrongPassword):
        expert.expert_opinion_sign(
            access=case_access(service.expert, case), review=answer_of(case), password="wrong"
        )
    assert not ExpertOpinion.objects.get(review__case=case).is_signed
    assert AuditEvent.objects.filter(action="expert_opinion.sign", outcome="denied").exists()


def test_a_pathology_opinion_needs_its_diagnosis_and_concordance_to_be_signed(
    cast, service, django_capture_on_commit_callbacks
):
    case = submitted_case(cast, service)
    assigned(cast, service, case)
    written(service, case, {**PATHOLOGY_OPINION, "concordance": "", "reviewed_entity": ""})
    with pytest.raises(ValidationError) as refused:
        signed(service, case, django_capture_on_commit_callbacks)
    assert "reviewed diagnosis" in str(refused.value)
    assert "concordance" in str(refused.value)


def test_the_reviewed_diagnosis_is_a_who_entity(cast, service):
    case = submitted_case(cast, service)
    assigned(cast, service, case)
    with pytest.raises(ValidationError):
        written(service, case, {**PATHOLOGY_OPINION, "reviewed_entity": "not_an_entity"})


def test_signing_concludes_the_case_and_signs_its_consensus(
    cast, service, django_capture_on_commit_callbacks
):
    case = submitted_case(cast, service)
    assigned(cast, service, case)
    written(service, case)
    opinion = signed(service, case, django_capture_on_commit_callbacks)
    case.refresh_from_db()
    assert case.status == Case.Status.CONCLUDED
    assert opinion.signed_by == service.expert and opinion.signed_at is not None
    assert opinion.sha256 == expert.opinion_digest(opinion)
    assert opinion.referring_entity == "undifferentiated_pleomorphic_sarcoma"
    assert opinion.referring_grade == "G2"
    consensus = opinion.consensus
    assert consensus.is_signed and consensus.signed_by == service.expert
    assert consensus.category == "pathology_review"
    assert consensus.text == PATHOLOGY_OPINION["recommendation"]
    assert answer_of(case).completed_at == opinion.signed_at
    assert case.pathology_review == Case.PathologyReview.MAJOR  # the record follows


def test_a_signed_opinion_never_changes(cast, service, django_capture_on_commit_callbacks):
    case = submitted_case(cast, service)
    assigned(cast, service, case)
    written(service, case)
    opinion = signed(service, case, django_capture_on_commit_callbacks)
    opinion.comment = "changed"
    with pytest.raises(TypeError):
        opinion.save()
    with pytest.raises(TypeError):
        ExpertOpinion.objects.filter(pk=opinion.pk).update(comment="changed")
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE decisions_expertopinion SET comment = 'changed' WHERE id = %s",
            [opinion.pk],
        )
    # The review is closed: no draft to save and nothing more to sign.
    with pytest.raises(PermissionDenied):
        written(service, case)


# --- no meeting, vote or quorum ---------------------------------------------------------------


def test_no_proposal_vote_or_consensus_draft_on_an_expert_service_case(cast, service):
    case = submitted_case(cast, service)
    assigned(cast, service, case)
    chief = case_access(service.coordinator, case)
    assert not chief.can_propose and not chief.can_vote
    assert not case_access(service.expert, case).can_vote
    with pytest.raises(ValidationError):
        actions.vote_round_open(access=chief, deadline=None)
    with pytest.raises(ValidationError):
        actions.consensus_draft(access=chief, data={"category": "surgery", "text": "x"})


def test_an_expert_service_schedules_no_meeting(cast, service):
    from board.access import get_board_for_user
    from meetings import services as meeting_services

    access = get_board_for_user(service.coordinator, service.board.uuid)
    with pytest.raises(ValidationError):
        meeting_services.meeting_schedule(
            access=access,
            title="Review",
            starts_at=case_services.timezone.now(),
            time_zone="UTC",
            duration_minutes=60,
        )


# --- reports per audience and their emails ----------------------------------------------------


def pdftotext(report: Report) -> str:
    with report.file.open("rb") as handle:
        data = handle.read()
    done = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    )
    return " ".join(done.stdout.decode().split())


def test_the_signed_opinion_makes_the_panel_and_referrer_reports(
    cast, service, django_capture_on_commit_callbacks
):
    case = submitted_case(cast, service)
    assigned(cast, service, case)
    written(service, case)
    opinion = signed(service, case, django_capture_on_commit_callbacks)
    copies = {r.audience: r for r in Report.objects.filter(consensus=opinion.consensus)}
    assert set(copies) == {"panel", "referrer"}
    assert all(r.is_ready for r in copies.values())
    for report in copies.values():
        text = pdftotext(report)
        assert "Expert second opinion" in text
        assert "Myxofibrosarcoma" in text  # reviewed, as a WHO entity
        assert "Undifferentiated pleomorphic sarcoma" in text  # referring, side by side
        assert "Major discordance changing management" in text
        assert "The expert's opinion is advice to the treating physician" in text
        assert "MDM2 FISH not amplified" in text
        assert "Re-excision with wider margins" in text
        assert service.expert.display_name in text
        assert "Decision" not in text.split("Expert second opinion", 1)[1].split("Signatures")[0]
    referrer_text = pdftotext(copies["referrer"])
    assert "Referrer copy" in referrer_text
    assert "Riverside" in referrer_text or cast.referrer.display_name in referrer_text


def test_the_referrer_is_emailed_when_their_copy_is_ready(
    cast, service, django_capture_on_commit_callbacks
):
    cast.referrer.email = "referrer@example.org"
    cast.referrer.save()
    case = submitted_case(cast, service)
    assigned(cast, service, case)
    written(service, case)
    mail.outbox.clear()
    signed(service, case, django_capture_on_commit_callbacks)
    to = [m.to for m in mail.outbox]
    assert ["referrer@example.org"] in to
    subjects = [m.subject for m in mail.outbox if m.to == ["referrer@example.org"]]
    # As for a signed consensus: the case is concluded, and the referrer's copy is ready.
    assert any("report" in s and case.pseudonym in s for s in subjects), subjects
    assert any("concluded" in s for s in subjects), subjects


def test_a_patient_gets_the_patient_copy_with_the_expert_answer(
    cast, service, django_capture_on_commit_callbacks
):
    case = submitted_case(cast, service, submitted_by=cast.patient)
    assigned(cast, service, case)
    written(service, case)
    opinion = signed(service, case, django_capture_on_commit_callbacks)
    copies = {r.audience: r for r in Report.objects.filter(consensus=opinion.consensus)}
    assert set(copies) == {"panel", "patient"}
    text = pdftotext(copies["patient"])
    assert "Patient copy" in text
    assert "Re-excision with wider margins" in text
    assert case_access(cast.patient, case).report_audience == "patient"


# --- who sees what ----------------------------------------------------------------------------


def test_the_patient_does_not_read_a_draft(cast, service):
    case = submitted_case(cast, service, submitted_by=cast.patient)
    assigned(cast, service, case)
    written(service, case)
    review = answer_of(case)
    assert not case_access(cast.patient, case).can_read_expert_draft(review)
    assert not case_access(cast.referrer, case).can_read_expert_draft(review)
    assert case_access(service.colleague, case).can_read_expert_draft(review)


def test_an_outsider_does_not_see_an_expert_service_case(cast, service):
    case = submitted_case(cast, service)
    assert not case_access(cast.outsider, case).can_view
    assert case not in cases_visible_to(cast.outsider)
    # Members of another board neither.
    assert not case_access(cast.pathologist, case).can_view


# --- a board waits for an expert review -------------------------------------------------------


def ask_for_review(cast, service, case, expert_user=None) -> ExpertReview:
    return case_services.expert_review_request(
        access=case_access(cast.chair, case),
        service=service.board,
        question="Is this a myxofibrosarcoma? Grade?",
        expert=expert_user,
    )


def test_a_board_asks_an_expert_service_and_its_expert_sees_the_case(cast, service):
    case = make_case(cast, ready_at=case_services.timezone.now())
    assert not case_access(service.expert, case).can_view
    review = ask_for_review(cast, service, case)
    assert review.purpose == "step" and review.blocks_agenda
    reader = case_access(service.expert, case)
    assert reader.can_view and reader.report_audience == "panel"
    assert not reader.can_propose and not reader.can_vote and not reader.can_write_opinion
    assert case in cases_visible_to(service.expert)


def test_only_the_boards_managers_ask_for_a_review(cast, service):
    case = make_case(cast)
    with pytest.raises(PermissionDenied):
        case_services.expert_review_request(
            access=case_access(cast.pathologist, case), service=service.board
        )
    with pytest.raises(ValidationError):
        case_services.expert_review_request(
            access=case_access(cast.chair, case), service=cast.other_board
        )


def test_a_named_expert_holds_the_step_review_at_once(cast, service):
    case = make_case(cast)
    review = ask_for_review(cast, service, case, expert_user=service.expert)
    assert review.expert == service.expert
    assert case.status == Case.Status.IN_REVIEW  # a step does not move the board's case


def test_the_signed_step_review_unblocks_and_stays_out_of_the_consensus(
    cast, service, django_capture_on_commit_callbacks
):
    case = make_case(cast)
    review = ask_for_review(cast, service, case, expert_user=service.expert)
    expert.expert_opinion_save(
        access=case_access(service.expert, case), review=review, data=PATHOLOGY_OPINION
    )
    with django_capture_on_commit_callbacks(execute=True):
        opinion = expert.expert_opinion_sign(
            access=case_access(service.expert, case), review=review, password=PASSWORD
        )
    review.refresh_from_db()
    assert not review.blocks_agenda
    assert opinion.consensus is None
    assert not Consensus.objects.filter(case=case).exists()
    case.refresh_from_db()
    assert case.status == Case.Status.IN_REVIEW


def test_the_chair_goes_ahead_without_the_review_only_with_a_reason(cast, service):
    case = make_case(cast)
    review = ask_for_review(cast, service, case)
    with pytest.raises(ValidationError):
        case_services.expert_review_waive(
            access=case_access(cast.chair, case), review=review, reason="  "
        )
    with pytest.raises(PermissionDenied):
        case_services.expert_review_waive(
            access=case_access(cast.pathologist, case), review=review, reason="Urgent"
        )
    review = case_services.expert_review_waive(
        access=case_access(cast.chair, case), review=review, reason="Treatment cannot wait."
    )
    assert not review.blocks_agenda and review.waived_reason == "Treatment cannot wait."


def test_the_agenda_refuses_a_case_awaiting_its_review_until_it_is_signed_or_waived(cast, service):
    from meetings import services as meeting_services
    from meetings.access import meeting_access
    from meetings.models import Meeting

    case = make_case(cast, ready_at=case_services.timezone.now())
    meeting = Meeting.objects.create(
        board=cast.board,
        title="Board",
        starts_at=case_services.timezone.now(),
        created_by=cast.chair,
    )
    review = ask_for_review(cast, service, case)
    with pytest.raises(ValidationError) as refused:
        meeting_services.agenda_add(access=meeting_access(cast.chair, meeting), case=case)
    assert "awaits an expert review" in str(refused.value)
    case_services.expert_review_waive(
        access=case_access(cast.chair, case), review=review, reason="Treatment cannot wait."
    )
    item = meeting_services.agenda_add(access=meeting_access(cast.chair, meeting), case=case)
    assert item.case == case


def test_an_expert_service_case_never_goes_on_an_agenda(cast, service):
    from meetings.models import Meeting
    from meetings.services import _why_not_schedulable

    case = submitted_case(cast, service)
    meeting = Meeting(board=service.board, title="x", starts_at=case_services.timezone.now())
    assert _why_not_schedulable(meeting, case) == [
        "an expert service's cases are answered by one expert, not in a meeting"
    ]


def test_the_boards_report_prints_the_signed_step_review_for_the_panel_only(
    cast, service, django_capture_on_commit_callbacks
):
    # The case a patient submitted: its copies are the panel's and the patient's.
    case = make_case(cast, submitted_by=cast.patient)
    review = ask_for_review(cast, service, case, expert_user=service.expert)
    expert.expert_opinion_save(
        access=case_access(service.expert, case), review=review, data=PATHOLOGY_OPINION
    )
    expert.expert_opinion_sign(
        access=case_access(service.expert, case), review=review, password=PASSWORD
    )
    with django_capture_on_commit_callbacks(execute=True):
        consensus = board_signed_consensus(cast, case)
    copies = {r.audience: r for r in Report.objects.filter(consensus=consensus)}
    assert set(copies) == {"panel", "patient"}
    panel = pdftotext(copies["panel"])
    assert "Multidisciplinary tumor board report" in panel
    assert "Is this a myxofibrosarcoma? Grade?" in panel  # the board's question to the expert
    assert "Myxofibrosarcoma" in panel  # the expert's reviewed diagnosis
    assert "Major discordance changing management" in panel
    assert service.expert.display_name in panel
    patient = pdftotext(copies["patient"])
    assert "Major discordance" not in patient
    assert "Is this a myxofibrosarcoma? Grade?" not in patient


def board_signed_consensus(cast, case) -> Consensus:
    p1 = propose(cast, case)
    round_ = open_round(cast, case)
    for user in (cast.chair, cast.pathologist, cast.oncologist, cast.surgeon, cast.radiologist):
        vote(user, case, round_, agree=[p1])
    close(cast, case, round_)
    return sign(cast, case, draft(cast, case, category="surgery", text="Wide resection."))

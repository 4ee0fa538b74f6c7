"""Expert services as tests need them (issue #16): a service with its coordinator and two
experts, a case sent to it, an expert assigned, an opinion written."""

from __future__ import annotations

from board.models import Board, Membership, Specialty
from cases import services as case_services
from cases.access import case_access
from cases.models import Case, ExpertReview
from decisions import expert
from decisions.models import Concordance, ExpertOpinion
from tests.cases.factories import make_case
from tests.cast import PASSWORD, add_member, make_user

PATHOLOGY_OPINION = {
    "reviewed_entity": "myxofibrosarcoma",
    "reviewed_diagnosis_other": "",
    "reviewed_grade": "G3",
    "concordance": Concordance.MAJOR,
    "comment": "Curvilinear vessels and myxoid stroma.\nMDM2 FISH not amplified.",
    "recommendation": "Re-excision with wider margins; the infiltrative edge needs them.",
}


class Service:
    def __init__(self, cast):
        self.board = Board.objects.create(
            name="Expert sarcoma pathology review",
            kind=Board.Kind.EXPERT_SERVICE,
            review_kind=Board.ReviewKind.PATHOLOGY,
        )
        self.coordinator = make_user("svc_coordinator", specialty=Specialty.OTHER)
        self.expert = make_user(
            "svc_expert", specialty=Specialty.PATHOLOGY, email="expert@example.org"
        )
        self.colleague = make_user("svc_colleague", specialty=Specialty.PATHOLOGY)
        add_member(self.coordinator, self.board, Membership.Role.COORDINATOR)
        add_member(self.expert, self.board)
        add_member(self.colleague, self.board)
        # The hasher of the moment (fast_passwords has made it cheap before these were made).
        for user in (self.coordinator, self.expert, self.colleague):
            user.set_password(PASSWORD)
            user.save(update_fields=["password"])


def submitted_case(cast, service, submitted_by=None) -> Case:
    """A case sent to the expert service through the workflow (a referrer's, by default)."""
    case = make_case(
        cast,
        board=service.board,
        status=Case.Status.DRAFT,
        submitted_by=submitted_by or cast.referrer,
        entity="undifferentiated_pleomorphic_sarcoma",
        reported_grade="G2",
    )
    submitter = submitted_by or cast.referrer
    case_services.case_transition(access=case_access(submitter, case), to=Case.Status.SUBMITTED)
    case.refresh_from_db()
    return case


def answer_of(case) -> ExpertReview:
    return ExpertReview.objects.get(case=case, purpose=ExpertReview.Purpose.ANSWER)


def assigned(cast, service, case) -> ExpertReview:
    return case_services.expert_review_assign(
        access=case_access(service.coordinator, case), review=answer_of(case), expert=service.expert
    )


def written(service, case, data=PATHOLOGY_OPINION) -> ExpertOpinion:
    return expert.expert_opinion_save(
        access=case_access(service.expert, case), review=answer_of(case), data=data
    )

import pytest
from django.db import IntegrityError, transaction

from board.models import Membership, QuorumRequirement, Specialty
from tests.cast import add_member

pytestmark = pytest.mark.django_db


def test_quorum_met_when_every_required_specialty_is_present(cast):
    present = ["pathology", "radiology", "medical_oncology", "surgical_oncology", "other"]
    assert cast.board.quorum_shortfall(present) == {}


def test_quorum_shortfall_names_missing_specialties(cast):
    assert cast.board.quorum_shortfall(["pathology", "radiology"]) == {
        "medical_oncology": 1,
        "surgical_oncology": 1,
    }


def test_quorum_minimum_counts_people(cast):
    QuorumRequirement.objects.filter(board=cast.board, specialty=Specialty.RADIOLOGY).update(
        minimum=2
    )
    present = ["pathology", "radiology", "medical_oncology", "surgical_oncology"]
    assert cast.board.quorum_shortfall(present) == {"radiology": 1}
    assert cast.board.quorum_shortfall([*present, "radiology"]) == {}


def test_board_without_requirements_is_always_quorate(cast):
    assert cast.other_board.quorum_shortfall([]) == {}


def test_one_membership_per_user_and_board(cast):
    with pytest.raises(IntegrityError), transaction.atomic():
        add_member(cast.pathologist, cast.board)


def test_membership_role_is_checked_by_the_database(cast):
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.filter(user=cast.surgeon).update(role="emperor")


def test_quorum_minimum_must_be_positive(cast):
    with pytest.raises(IntegrityError), transaction.atomic():
        QuorumRequirement.objects.filter(board=cast.board).update(minimum=0)


def test_one_requirement_per_specialty(cast):
    with pytest.raises(IntegrityError), transaction.atomic():
        QuorumRequirement.objects.create(board=cast.board, specialty=Specialty.PATHOLOGY)


def test_display_name_marks_clinicians(cast):
    assert cast.chair.display_name == "Dr Chair Test"
    assert cast.patient.display_name == "Patient Test"

"""FNCLCC grading, written from the standard: AJCC 8 ch. 41 "Histologic grade" (total score
2-3 G1, 4-5 G2, 6-8 G3; mitotic score 1: 0-9, 2: 10-19, 3: >=20 per 10 HPF; necrosis 0-2)."""

from __future__ import annotations

import pytest

from cases.clinical.grading import GradeStatus, ReportedGrade, Specimen, grade, mitotic_score
from cases.clinical.who import get_entity

UPS = get_entity("undifferentiated_pleomorphic_sarcoma")


@pytest.mark.parametrize(
    ("count", "score"),
    [
        (0, 1),  # FNCLCC mitotic count: 0-9 per 10 HPF → 1
        (9, 1),  # upper edge of score 1
        (10, 2),  # 10-19 → 2
        (19, 2),  # upper edge of score 2
        (20, 3),  # >= 20 → 3
        (85, 3),
    ],
)
def test_mitotic_score_bands(count, score):
    assert mitotic_score(count) == score


@pytest.mark.parametrize(
    ("differentiation", "mitotic", "necrosis", "expected"),
    [
        (1, 1, 0, "G1"),  # total 2 → G1
        (1, 1, 1, "G1"),  # total 3 → G1 (upper edge)
        (2, 1, 1, "G2"),  # total 4 → G2 (lower edge)
        (2, 2, 1, "G2"),  # total 5 → G2 (upper edge)
        (3, 2, 1, "G3"),  # total 6 → G3 (lower edge)
        (3, 3, 2, "G3"),  # total 8 → G3
    ],
)
def test_complete_scores_give_the_fnclcc_grade(differentiation, mitotic, necrosis, expected):
    result = grade(entity=UPS, differentiation=differentiation, mitotic=mitotic, necrosis=necrosis)
    assert (result.status, result.grade) == (GradeStatus.COMPUTED, expected)
    assert result.system.startswith("FNCLCC")


def test_mitotic_count_is_scored_before_summing():
    # differentiation 2 + count 25 (score 3) + necrosis 1 = 6 → G3
    result = grade(entity=UPS, differentiation=2, mitoses_per_10_hpf=25, necrosis=1)
    assert result.grade == "G3"


@pytest.mark.parametrize(
    ("scores", "expected_grade", "expected_range"),
    [
        # Two scores whose sum with the smallest third is >= 6 → G3 whatever the third.
        ({"differentiation": 3, "mitotic": 3}, "G3", (6, 8)),
        ({"differentiation": 3, "necrosis": 2}, "G3", (6, 8)),  # 3 + 1 (min mitotic) + 2
        # Only G3 can be decided early: a missing score spans 3 values, wider than the
        # two-total G1 and G2 bands, so these stay pending.
        ({"differentiation": 2, "mitotic": 2}, None, (4, 6)),  # 6 possible → G2 or G3
        ({"differentiation": 1, "mitotic": 1}, None, (2, 4)),  # G1 or G2
        ({"necrosis": 2}, None, (4, 8)),  # G2 or G3
        ({"differentiation": 1, "necrosis": 0}, None, (2, 4)),
    ],
)
def test_partial_scores_decide_only_when_every_completion_agrees(
    scores, expected_grade, expected_range
):
    result = grade(entity=UPS, **scores)
    assert result.grade == expected_grade
    assert result.total_range == expected_range
    expected_status = GradeStatus.DECIDED if expected_grade else GradeStatus.PENDING
    assert result.status == expected_status


def test_no_scores_is_grade_pending_not_gx():
    result = grade(entity=UPS)
    assert result.status == GradeStatus.PENDING
    assert result.grade is None


@pytest.mark.parametrize("bad", [{"differentiation": 4}, {"mitotic": 0}, {"necrosis": 3}])
def test_scores_outside_the_fnclcc_ranges_are_refused(bad):
    with pytest.raises(ValueError):
        grade(entity=UPS, **bad)


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("gist", "mitotic rate"),  # GIST: own AJCC chapter (ch. 43), not FNCLCC
        ("desmoid_fibromatosis", "Not a sarcoma"),  # desmoid: not a sarcoma
        ("kaposi_sarcoma", "Kaposi"),  # Kaposi: excluded
    ],
)
def test_tumour_types_outside_fnclcc_say_why(key, words):
    result = grade(entity=get_entity(key), reported=ReportedGrade.G3)
    assert result.status == GradeStatus.NOT_APPLICABLE
    assert result.grade is None
    assert words in result.reason


@pytest.mark.parametrize("key", ["conventional_osteosarcoma", "chondrosarcoma_grade_2", "chordoma"])
def test_bone_sarcomas_refuse_fnclcc_scores(key):
    # AJCC 8 ch. 38: bone sarcomas are graded low (G1) / high (G2-G3), not by FNCLCC.
    with pytest.raises(ValueError, match="FNCLCC"):
        grade(entity=get_entity(key), differentiation=3, mitotic=3, necrosis=2)


def test_bone_sarcoma_takes_a_reported_two_tier_grade():
    result = grade(
        entity=get_entity("conventional_osteosarcoma"),
        reported=ReportedGrade.HIGH,
        specimen=Specimen.CORE_BIOPSY,
    )
    assert (result.status, result.grade, result.specimen) == (
        GradeStatus.REPORTED,
        "high",
        Specimen.CORE_BIOPSY,
    )


def test_reported_grade_without_scores_is_recorded_with_its_specimen():
    result = grade(entity=UPS, reported=ReportedGrade.G2, specimen=Specimen.INCISIONAL)
    assert (result.status, result.grade) == (GradeStatus.REPORTED, "G2")
    assert result.specimen == Specimen.INCISIONAL


def test_reported_grade_contradicting_the_scores_is_a_conflict():
    # Scores 3 + 3 decide G3; a reported "low" (G1) cannot be true.
    result = grade(entity=UPS, differentiation=3, mitotic=3, reported=ReportedGrade.LOW)
    assert result.status == GradeStatus.CONFLICT
    assert result.grade is None


def test_reported_high_agrees_with_scores_deciding_g3():
    result = grade(entity=UPS, differentiation=3, mitotic=3, reported=ReportedGrade.HIGH)
    assert (result.status, result.grade) == (GradeStatus.DECIDED, "G3")


def test_reported_not_applicable_holds_no_grade():
    result = grade(entity=UPS, reported=ReportedGrade.NOT_APPLICABLE)
    assert (result.status, result.grade) == (GradeStatus.NOT_APPLICABLE, None)


def test_after_neoadjuvant_treatment_fnclcc_is_not_valid_and_response_is_kept():
    # CAP / AJCC 8: grade the pre-treatment biopsy; record % viable tumour after therapy.
    result = grade(
        entity=UPS,
        differentiation=3,
        mitotic=1,
        necrosis=2,
        specimen=Specimen.EXCISION,
        after_neoadjuvant=True,
        viable_tumour_percent=15,
    )
    assert result.status == GradeStatus.NOT_APPLICABLE
    assert result.grade is None
    assert result.viable_tumour_percent == 15
    assert "neoadjuvant" in result.reason


def test_viable_tumour_is_a_percentage():
    with pytest.raises(ValueError):
        grade(entity=UPS, after_neoadjuvant=True, viable_tumour_percent=120)


def test_unknown_tumour_type_grades_nothing():
    result = grade(entity=None, differentiation=3, mitotic=3, necrosis=2)
    assert (result.status, result.grade) == (GradeStatus.PENDING, None)

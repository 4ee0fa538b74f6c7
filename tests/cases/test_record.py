"""cases/record.py: a case's fields read through the clinical engine.

Expected values are written from the standards: FNCLCC (AJCC 8 ch. 41 histologic grade:
total 2-3 G1, 4-5 G2, 6-8 G3; mitotic score 0-9 / 10-19 / >=20 per 10 HPF), AJCC 8 stage
tables (ch. 40 head and neck T, ch. 41 trunk/extremity, ch. 43 GIST gastric, ch. 44
retroperitoneum) and the GIST risk tables (Miettinen & Lasota 2006; Joensuu 2008)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cases.clinical import GradeStatus
from cases.models import Case
from cases.record import assess


def case(**fields) -> Case:
    values = {"nodes": "N0", "metastasis": "M0"}
    values.update(fields)
    return Case(**values)


UPS = "undifferentiated_pleomorphic_sarcoma"


@pytest.mark.parametrize(
    ("fields", "grade", "group", "tnm"),
    [
        # 3 + 3 (24 mitoses) + 1 = 7: G3; 11.5 cm trunk/extremity T3; T3 N0 M0 G3 = IIIB.
        (
            {
                "entity": UPS,
                "primary_site": "trunk_extremity",
                "size_cm": Decimal("11.5"),
                "differentiation_score": 3,
                "mitotic_count": 24,
                "necrosis": 1,
            },
            "G3",
            "IIIB",
            "T3 N0 M0 G3",
        ),
        # Differentiation 3 + mitoses 3 already total 6: G3 whatever the necrosis (ch. 41).
        (
            {
                "entity": UPS,
                "primary_site": "trunk_extremity",
                "size_cm": Decimal("4"),
                "differentiation_score": 3,
                "mitotic_count": 30,
            },
            "G3",
            "II",
            "T1 N0 M0 G3",
        ),
        # Nodes not assessed are N0 (AJCC 8: "no regional nodal metastasis or unknown nodal
        # status"): retroperitoneum 16 cm T4, G2 → IIIB (ch. 44).
        (
            {
                "entity": "dedifferentiated_liposarcoma",
                "primary_site": "retroperitoneum",
                "size_cm": Decimal("16"),
                "nodes": "not_assessed",
                "reported_grade": "G2",
            },
            "G2",
            "IIIB",
            "T4 N0 M0 G2",
        ),
        # Trunk/extremity N1 is stage IV whatever M (ch. 41).
        (
            {
                "entity": UPS,
                "primary_site": "trunk_extremity",
                "size_cm": Decimal("3"),
                "nodes": "N1",
                "reported_grade": "G1",
            },
            "G1",
            "IV",
            "T1 N1 M0 G1",
        ),
        # Retroperitoneal N1 M0 is IIIB (ch. 44).
        (
            {
                "entity": "leiomyosarcoma",
                "primary_site": "retroperitoneum",
                "size_cm": Decimal("3"),
                "nodes": "N1",
                "reported_grade": "G1",
            },
            "G1",
            "IIIB",
            "T1 N1 M0 G1",
        ),
    ],
)
def test_grade_and_stage_group(fields, grade, group, tnm):
    record = assess(case(**fields))
    assert record.grade.grade == grade
    assert record.stage.group == group
    assert record.stage.tnm == tnm
    assert record.problems == ()


def test_missing_grade_is_pending_not_gx_and_gives_no_group():
    record = assess(case(entity=UPS, primary_site="trunk_extremity", size_cm=Decimal("7")))
    assert record.grade.status == GradeStatus.PENDING
    assert record.grade_text == "Grade pending"
    # T2 N0 M0 is IB with G1/GX but IIIA with G2/G3 (ch. 41): no group until the grade.
    assert record.stage.group is None
    assert "grade" in record.stage.reason
    assert "GX" not in record.stage_text


def test_m1_is_stage_iv_whatever_the_grade():
    record = assess(case(entity=UPS, primary_site="trunk_extremity", metastasis="M1"))
    assert record.stage.group == "IV"


def test_yp_staging_uses_the_pretreatment_grade():
    record = assess(
        case(
            entity="dedifferentiated_liposarcoma",
            primary_site="retroperitoneum",
            size_cm=Decimal("22"),
            nodes="not_assessed",
            reported_grade="high",
            grade_specimen="core_biopsy",
            neoadjuvant=True,
            viable_tumour_percent=30,
        )
    )
    # ypT4 (> 15 cm) N0 M0, high grade (G2-G3): IIIB either way (ch. 44).
    assert record.stage.prefix == "yp"
    assert record.stage.group == "IIIB"
    assert record.stage_text.startswith("Stage IIIB (ypT4 N0 M0")
    assert "retroperitoneum (ch. 44)" in record.stage.system
    assert any("not assessed" in note for note in record.stage.notes)


def test_fnclcc_on_a_specimen_taken_after_neoadjuvant_treatment_is_not_valid():
    record = assess(
        case(
            entity=UPS,
            primary_site="trunk_extremity",
            size_cm=Decimal("8"),
            differentiation_score=3,
            mitotic_count=12,
            necrosis=2,
            grade_after_neoadjuvant=True,
        )
    )
    assert record.grade.status == GradeStatus.NOT_APPLICABLE
    assert "not valid after neoadjuvant" in record.grade_text
    assert record.stage.group is None


def test_desmoid_is_neither_graded_nor_staged_and_says_why():
    record = assess(case(entity="desmoid_fibromatosis", primary_site="trunk_extremity"))
    assert record.grade.status == GradeStatus.NOT_APPLICABLE
    assert not record.stage.applies
    assert "does not apply" in record.stage_text


def test_fnclcc_scores_on_a_gist_are_refused_in_words():
    record = assess(case(entity="gist", primary_site="stomach", differentiation_score=2))
    # GIST is graded by mitotic rate in its own chapter (ch. 43), never by FNCLCC.
    assert record.grade.status == GradeStatus.NOT_APPLICABLE
    assert record.problems and "does not apply to Gastrointestinal" in record.problems[0]


def test_head_and_neck_t_comes_from_the_extent_and_has_no_group():
    record = assess(
        case(
            entity="synovial_sarcoma",
            primary_site="head_neck",
            size_cm=Decimal("1.5"),
            staging_extent={"head_neck_invasion": "T4a"},
            reported_grade="G3",
        )
    )
    # ch. 40: invasion of the orbit, skull base... is T4a whatever the size; no stage groups.
    assert record.stage.t == "T4a"
    assert record.stage.group is None
    assert "no stage groups" in record.stage.reason


def test_gist_of_the_stomach_gets_its_stage_and_both_risk_classifications():
    record = assess(
        case(
            entity="gist",
            primary_site="stomach",
            size_cm=Decimal("6"),
            mitoses_per_5mm2=8,
            tumour_rupture=False,
        )
    )
    # ch. 43 gastric: T3 (> 5 to <= 10 cm), N0 M0, high mitotic rate (> 5 per 5 mm²): IIIA.
    assert (record.stage.t, record.stage.group) == ("T3", "IIIA")
    afip, nih = record.gist_risks
    # AFIP stomach, > 5 to <= 10 cm, > 5 mitoses per 5 mm²: high risk; Joensuu: high.
    assert afip.category == "high"
    assert nih.category == "high"


def test_a_gist_site_family_for_a_soft_tissue_sarcoma_is_not_staged():
    record = assess(case(entity=UPS, primary_site="stomach", size_cm=Decimal("6")))
    assert not record.stage.applies
    assert record.stage.t is None


def test_unusual_histologies_have_no_t_category_to_be_pending():
    # AJCC 8 ch. 42 sends desmoplastic small round cell tumour to ch. 45, which defines
    # neither T categories nor stage groups: no "T pending" is shown.
    record = assess(
        case(
            entity="desmoplastic_small_round_cell_tumour",
            primary_site="visceral",
            reported_grade="G3",
        )
    )
    assert record.stage.applies and record.stage.t is None and record.stage.group is None
    assert "T pending" not in record.stage_text
    assert record.stage.tnm.startswith("N0 M0")

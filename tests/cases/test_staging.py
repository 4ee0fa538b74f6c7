"""FNCLCC grade and AJCC 8th stage at every rule boundary."""

from decimal import Decimal

import pytest

from cases.staging import ajcc_stage, fnclcc_grade, mitotic_score, t_category


@pytest.mark.parametrize(
    ("mitoses", "score"),
    [(0, 1), (9, 1), (10, 2), (19, 2), (20, 3), (150, 3)],
)
def test_mitotic_score_boundaries(mitoses, score):
    assert mitotic_score(mitoses) == score


@pytest.mark.parametrize(
    ("differentiation", "mitoses", "necrosis", "grade"),
    [
        (1, 0, 0, 1),  # total 2
        (2, 5, 0, 1),  # total 3
        (1, 10, 1, 2),  # total 4
        (2, 12, 1, 2),  # total 5
        (3, 19, 1, 3),  # total 6
        (3, 20, 1, 3),  # total 7
        (3, 25, 2, 3),  # total 8
        (3, 9, 0, 2),  # total 4: mitoses 9 still scores 1
        (1, 19, 0, 1),  # total 3: mitoses 19 still scores 2
    ],
)
def test_fnclcc_grade_boundaries(differentiation, mitoses, necrosis, grade):
    assert (
        fnclcc_grade(differentiation=differentiation, mitoses_per_10_hpf=mitoses, necrosis=necrosis)
        == grade
    )


@pytest.mark.parametrize("missing", ["differentiation", "mitoses_per_10_hpf", "necrosis"])
def test_fnclcc_grade_needs_every_score(missing):
    scores = {"differentiation": 2, "mitoses_per_10_hpf": 4, "necrosis": 1}
    scores[missing] = None
    assert fnclcc_grade(**scores) is None


@pytest.mark.parametrize(
    "scores",
    [
        {"differentiation": 0, "mitoses_per_10_hpf": 1, "necrosis": 0},
        {"differentiation": 4, "mitoses_per_10_hpf": 1, "necrosis": 0},
        {"differentiation": 1, "mitoses_per_10_hpf": 1, "necrosis": 3},
        {"differentiation": 1, "mitoses_per_10_hpf": -1, "necrosis": 0},
    ],
)
def test_fnclcc_refuses_out_of_range_scores(scores):
    with pytest.raises(ValueError):
        fnclcc_grade(**scores)


@pytest.mark.parametrize(
    ("size", "t"),
    [
        (Decimal("0.5"), "T1"),
        (Decimal("5.0"), "T1"),
        (Decimal("5.1"), "T2"),
        (Decimal("10.0"), "T2"),
        (Decimal("10.01"), "T3"),
        (Decimal("15.0"), "T3"),
        (Decimal("15.1"), "T4"),
        (Decimal("32"), "T4"),
        (None, None),
    ],
)
def test_t_category_boundaries(size, t):
    assert t_category(size) == t


EXT = "extremity_trunk"
RP = "retroperitoneum"


@pytest.mark.parametrize(
    ("site", "size", "n", "m", "grade", "group"),
    [
        # trunk and extremity
        (EXT, 5, "N0", "M0", 1, "IA"),
        (EXT, 5, "N0", "M0", None, "IA"),  # GX grouped with G1
        (EXT, 5.1, "N0", "M0", 1, "IB"),
        (EXT, 16, "N0", "M0", 1, "IB"),
        (EXT, 5, "N0", "M0", 2, "II"),
        (EXT, 5, "N0", "M0", 3, "II"),
        (EXT, 10, "N0", "M0", 2, "IIIA"),
        (EXT, 10.5, "N0", "M0", 3, "IIIB"),
        (EXT, 20, "N0", "M0", 2, "IIIB"),
        (EXT, 3, "N1", "M0", 1, "IV"),  # nodes are stage IV here
        (EXT, 3, "N0", "M1", 1, "IV"),
        # retroperitoneum
        (RP, 5, "N0", "M0", 1, "IA"),
        (RP, 15, "N0", "M0", 1, "IB"),
        (RP, 4, "N0", "M0", 3, "II"),
        (RP, 8, "N0", "M0", 2, "IIIA"),
        (RP, 15.5, "N0", "M0", 3, "IIIB"),
        (RP, 3, "N1", "M0", 1, "IIIB"),  # nodes are IIIB here
        (RP, 3, "N1", "M1", 1, "IV"),
        # not computed
        (EXT, 5, None, "M0", 1, None),
        (EXT, 5, "N0", None, 1, None),
        (EXT, None, "N0", "M0", 1, None),
        ("head_neck", 3, "N0", "M0", 1, None),
        ("visceral", 3, "N0", "M0", 1, None),
        ("bone", 3, "N0", "M0", 1, None),
    ],
)
def test_ajcc_stage_groups(site, size, n, m, grade, group):
    size = None if size is None else Decimal(str(size))
    assert ajcc_stage(site=site, size_cm=size, n=n, m=m, grade=grade).group == group


def test_stage_spells_out_tnm_and_why_not():
    stage = ajcc_stage(site="bone", size_cm=Decimal("9"), n="N0", m="M0", grade=3)
    assert stage.tnm == "T2 N0 M0 G3"
    assert "no stage groups" in stage.note
    unknown = ajcc_stage(site=EXT, size_cm=None, n=None, m=None, grade=None)
    assert unknown.tnm == "TX NX MX GX"

"""AJCC 8th edition soft-tissue staging, written from the manual's tables (ch. 40-42, 44, 45)
as transcribed in cases/clinical/data/ajcc8.py's sources; each row names the rule it checks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cases.clinical.data import ajcc8
from cases.clinical.staging import Extent, stage
from cases.clinical.who import get_entity
from cases.models import PrimarySite

UPS = get_entity("undifferentiated_pleomorphic_sarcoma")
LMS = get_entity("leiomyosarcoma")


def st(site, size=None, n="N0", m="M0", g="G1", **kw):
    return stage(entity=UPS, site=site, size_cm=size, n=n, m=m, grade=g, **kw)


@pytest.mark.parametrize(
    ("size", "t"),
    [
        (Decimal("0.5"), "T1"),
        (Decimal("5.0"), "T1"),  # ch. 41/44: T1 <= 5 cm
        (Decimal("5.1"), "T2"),  # T2 > 5 to <= 10 cm
        (Decimal("10.0"), "T2"),
        (Decimal("10.1"), "T3"),  # T3 > 10 to <= 15 cm
        (Decimal("15.0"), "T3"),
        (Decimal("15.1"), "T4"),  # T4 > 15 cm
        (40, "T4"),
    ],
)
@pytest.mark.parametrize("site", ["trunk_extremity", "retroperitoneum"])
def test_trunk_and_retroperitoneal_t_by_size(site, size, t):
    assert st(site, size).t == t


@pytest.mark.parametrize(
    ("site", "size", "n", "m", "g", "group"),
    [
        # ch. 41 trunk and extremities, stage table
        ("trunk_extremity", 5, "N0", "M0", "G1", "IA"),  # T1 N0 M0 G1 → IA
        ("trunk_extremity", 3, "N0", "M0", "GX", "IA"),  # T1 N0 M0 GX → IA (GX with G1)
        ("trunk_extremity", 5.1, "N0", "M0", "G1", "IB"),  # T2 N0 M0 G1 → IB
        ("trunk_extremity", 20, "N0", "M0", "GX", "IB"),  # T4 N0 M0 GX → IB
        ("trunk_extremity", 5, "N0", "M0", "G2", "II"),  # T1 N0 M0 G2 → II
        ("trunk_extremity", 4, "N0", "M0", "G3", "II"),  # T1 N0 M0 G3 → II
        ("trunk_extremity", 10, "N0", "M0", "G2", "IIIA"),  # T2 N0 M0 G2/3 → IIIA
        ("trunk_extremity", 10.1, "N0", "M0", "G3", "IIIB"),  # T3 N0 M0 G2/3 → IIIB
        ("trunk_extremity", 16, "N0", "M0", "G2", "IIIB"),  # T4 N0 M0 G2/3 → IIIB
        ("trunk_extremity", 3, "N1", "M0", "G1", "IV"),  # any T N1 M0 any G → IV
        ("trunk_extremity", 3, "N0", "M1", "G1", "IV"),  # any T any N M1 → IV
        ("trunk_extremity", 3, "N1", "M1", "G3", "IV"),
        # ch. 44 retroperitoneum, stage table
        ("retroperitoneum", 5, "N0", "M0", "G1", "IA"),  # T1 N0 M0 G1/GX → IA
        ("retroperitoneum", 12, "N0", "M0", "G1", "IB"),  # T3 N0 M0 G1/GX → IB
        ("retroperitoneum", 5, "N0", "M0", "G3", "II"),  # T1 N0 M0 G2/3 → II
        ("retroperitoneum", 6, "N0", "M0", "G2", "IIIA"),  # T2 N0 M0 G2/3 → IIIA
        ("retroperitoneum", 12, "N0", "M0", "G2", "IIIB"),  # T3 N0 M0 G2 → IIIB
        ("retroperitoneum", 30, "N0", "M0", "G3", "IIIB"),  # T4 N0 M0 G3 → IIIB
        ("retroperitoneum", 3, "N1", "M0", "G1", "IIIB"),  # any T N1 M0 → IIIB (not IV)
        ("retroperitoneum", 3, "N1", "M1", "G1", "IV"),  # any T any N M1 → IV
        ("retroperitoneum", 3, "N0", "M1", "G2", "IV"),
    ],
)
def test_stage_groups(site, size, n, m, g, group):
    assert st(site, size, n, m, g).group == group


@pytest.mark.parametrize(
    ("site", "system"),
    [
        ("trunk_extremity", "AJCC 8th edition, soft tissue sarcoma of the trunk and extremities"),
        ("retroperitoneum", "AJCC 8th edition, soft tissue sarcoma of the retroperitoneum"),
        ("head_neck", "AJCC 8th edition, soft tissue sarcoma of the head and neck"),
        ("visceral", "AJCC 8th edition, soft tissue sarcoma of the abdomen and thoracic visceral"),
        ("unusual", "AJCC 8th edition, soft tissue sarcoma, unusual histologies and sites"),
    ],
)
def test_result_names_the_system_and_edition(site, system):
    assert st(site, 3).system.startswith(system)


@pytest.mark.parametrize(("grade", "group"), [("low", "IB"), ("high", "IIIA")])
def test_two_tier_reported_grade_stages(grade, group):
    # ch. 41: low grade = G1 rows, high grade = G2/G3 rows. T2 N0 M0.
    assert st("trunk_extremity", 8, g=grade).group == group


def test_grade_pending_gives_no_group_and_is_not_gx():
    result = st("trunk_extremity", 8, g=None)
    assert result.group is None
    assert "grade" in result.reason
    assert result.tnm == "T2 N0 M0 grade pending"


@pytest.mark.parametrize(
    ("site", "n", "group"),
    [
        ("trunk_extremity", "N1", "IV"),  # ch. 41: any T N1 M0 any G → IV, grade not needed
        ("retroperitoneum", "N1", "IIIB"),  # ch. 44: any T N1 M0 any G → IIIB
    ],
)
def test_grade_pending_still_stages_when_grade_cannot_matter(site, n, group):
    assert st(site, 8, n=n, g=None).group == group


def test_m1_is_stage_iv_whatever_size_and_grade():
    # ch. 41: any T any N M1 any G → IV
    assert st("trunk_extremity", None, n=None, m="M1", g=None).group == "IV"


def test_missing_size_with_m0_gives_no_group():
    result = st("trunk_extremity", None, g="G3")
    assert (result.t, result.group) == (None, None)
    assert "T" in result.reason


def test_missing_m_gives_no_group():
    assert st("trunk_extremity", 3, m=None).group is None


def test_nodes_not_assessed_are_staged_n0():
    # ch. 41: N0 "no regional lymph node metastasis or unknown lymph node status"
    result = st("trunk_extremity", 8, n="not_assessed", g="G2")
    assert (result.n, result.group) == ("N0", "IIIA")
    assert any("not assessed" in note for note in result.notes)


def test_nodes_not_entered_leave_the_group_open_where_n_matters():
    assert st("trunk_extremity", 8, n=None, g="G2").group is None


@pytest.mark.parametrize("m", ["M1a", "M1b"])
def test_bone_m_subcategories_count_as_m1_in_soft_tissue(m):
    result = st("trunk_extremity", 3, m=m)
    assert (result.m, result.group) == ("M1", "IV")


def test_yp_prefix_after_neoadjuvant_treatment():
    result = st("retroperitoneum", 12, g="G2", after_neoadjuvant=True)
    assert result.tnm == "ypT3 N0 M0 G2"
    assert result.group == "IIIB"  # ch. 44: T3 N0 M0 G2 → IIIB, with the pre-treatment grade


@pytest.mark.parametrize(
    ("size", "invasion", "t"),
    [
        (Decimal("2.0"), "none", "T1"),  # ch. 40: T1 <= 2 cm
        (Decimal("2.1"), "none", "T2"),  # T2 > 2 to <= 4 cm
        (Decimal("4.0"), "none", "T2"),
        (Decimal("4.1"), "none", "T3"),  # T3 > 4 cm
        (Decimal("1.0"), "T4a", "T4a"),  # T4a: orbit, skull base, ... whatever the size
        (Decimal("1.0"), "T4b", "T4b"),  # T4b: brain, carotid encasement, ...
    ],
)
def test_head_and_neck_t(size, invasion, t):
    result = st("head_neck", size, g="G3", extent=Extent(head_neck_invasion=invasion))
    assert result.t == t
    assert result.group is None  # ch. 40: no stage groups
    assert "no stage groups" in result.reason


def test_head_and_neck_without_invasion_recorded_has_no_t():
    result = st("head_neck", 1, extent=Extent())
    assert result.t is None


@pytest.mark.parametrize(
    ("extent", "t"),
    [
        (Extent(visceral_extent="organ_confined"), "T1"),  # ch. 42: T1 organ confined
        (Extent(visceral_extent="serosa"), "T2a"),  # T2a serosa / visceral peritoneum
        (Extent(visceral_extent="beyond_serosa"), "T2b"),  # T2b beyond serosa (mesentery)
        (Extent(visceral_extent="another_organ"), "T3"),  # T3 invades another organ
        (Extent(visceral_extent="multifocal", multifocal_sites=2), "T4a"),  # 2 sites
        (Extent(visceral_extent="multifocal", multifocal_sites=3), "T4b"),  # 3-5 sites
        (Extent(visceral_extent="multifocal", multifocal_sites=5), "T4b"),
        (Extent(visceral_extent="multifocal", multifocal_sites=6), "T4c"),  # > 5 sites
    ],
)
def test_visceral_t_by_organ_involvement_not_size(extent, t):
    # A 25 cm tumour confined to its organ is still T1: size is not a ch. 42 criterion.
    result = st("visceral", 25, g="G3", extent=extent)
    assert result.t == t
    assert result.group is None  # ch. 42: no stage groups


def test_visceral_without_extent_has_no_t():
    assert st("visceral", 25, extent=Extent()).t is None


def test_unusual_histologies_get_neither_t_nor_group():
    result = st("unusual", 8, g="G3")
    assert (result.t, result.group) == (None, None)
    assert "ch. 45" in result.reason


def test_dsrct_goes_to_unusual_histologies_whatever_the_site():
    # ch. 42 "cancers not staged using this system": DSRCT and EHE → ch. 45.
    result = stage(
        entity=get_entity("desmoplastic_small_round_cell_tumour"),
        site="visceral",
        extent=Extent(visceral_extent="organ_confined"),
    )
    assert result.t is None
    assert "ch. 45" in result.system


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("desmoid_fibromatosis", "Not a sarcoma"),  # excluded from AJCC soft tissue
        ("kaposi_sarcoma", "Kaposi"),  # excluded from AJCC soft tissue
    ],
)
def test_excluded_tumour_types_are_not_staged(key, words):
    result = stage(
        entity=get_entity(key), site="trunk_extremity", size_cm=12, n="N0", m="M0", grade="G3"
    )
    assert not result.applies
    assert (result.t, result.group, result.system) == (None, None, None)
    assert words in result.reason


def test_soft_tissue_sarcoma_at_a_bone_site_is_refused():
    result = stage(entity=LMS, site="bone_appendicular", size_cm=5, n="N0", m="M0", grade="G3")
    assert not result.applies
    assert result.t is None


def test_unknown_site_is_an_error():
    with pytest.raises(ValueError):
        stage(entity=LMS, site="elbow", size_cm=5)


def test_missing_type_or_site_stages_nothing():
    assert not stage(entity=None, site="trunk_extremity", size_cm=5).applies
    assert not stage(entity=LMS, site=None, size_cm=5).applies


def test_every_primary_site_a_case_can_hold_is_a_site_the_engine_stages():
    # Each choice is an AJCC 8 soft-tissue or bone family or a GIST organ (ch. 43): the
    # engine picks its table; none raises "unknown site".
    families = set(ajcc8.SOFT_TISSUE_FAMILIES) | set(ajcc8.BONE_FAMILIES)
    assert set(PrimarySite.values) <= families | set(ajcc8.GIST_SITES)
    assert set(ajcc8.GIST_SITES) <= set(PrimarySite.values)
    assert set(ajcc8.BONE_FAMILIES) <= set(PrimarySite.values)

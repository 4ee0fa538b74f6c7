"""AJCC 8th edition bone staging (ch. 38), from the chapter's tables: appendicular skeleton,
trunk, skull and facial bones (T1 <= 8 cm, T2 > 8 cm, T3 discontinuous; groups IA-IVB), pelvis
and spine (own T, no stage groups); M1a lung only, M1b other distant sites."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cases.clinical.staging import Extent, stage
from cases.clinical.who import get_entity

OSTEOSARCOMA = get_entity("conventional_osteosarcoma")
NO_SKIP = Extent(discontinuous=False)
SKIP = Extent(discontinuous=True)


def bone(size, n="N0", m="M0", g="G3", extent=NO_SKIP, site="bone_appendicular", **kw):
    return stage(
        entity=OSTEOSARCOMA, site=site, size_cm=size, n=n, m=m, grade=g, extent=extent, **kw
    )


@pytest.mark.parametrize(
    ("size", "extent", "t"),
    [
        (Decimal("8.0"), NO_SKIP, "T1"),  # T1 <= 8 cm
        (Decimal("8.1"), NO_SKIP, "T2"),  # T2 > 8 cm
        (Decimal("3"), SKIP, "T3"),  # T3 discontinuous tumours in the primary bone site
        (Decimal("12"), SKIP, "T3"),
    ],
)
def test_appendicular_t(size, extent, t):
    assert bone(size, extent=extent).t == t


@pytest.mark.parametrize(
    ("size", "extent", "n", "m", "g", "group"),
    [
        (8, NO_SKIP, "N0", "M0", "G1", "IA"),  # T1 N0 M0 G1/GX → IA
        (8, NO_SKIP, "N0", "M0", "GX", "IA"),
        (8.1, NO_SKIP, "N0", "M0", "G1", "IB"),  # T2 N0 M0 G1/GX → IB
        (5, SKIP, "N0", "M0", "GX", "IB"),  # T3 N0 M0 G1/GX → IB
        (8, NO_SKIP, "N0", "M0", "G2", "IIA"),  # T1 N0 M0 G2/G3 → IIA
        (8.1, NO_SKIP, "N0", "M0", "G3", "IIB"),  # T2 N0 M0 G2/G3 → IIB
        (5, SKIP, "N0", "M0", "G2", "III"),  # T3 N0 M0 G2/G3 → III
        (5, NO_SKIP, "N0", "M1a", "G1", "IVA"),  # any T N0 M1a any G → IVA
        (20, SKIP, "N0", "M1a", "G3", "IVA"),
        (5, NO_SKIP, "N1", "M0", "G1", "IVB"),  # any T N1 any M any G → IVB
        (5, NO_SKIP, "N1", "M1a", "G1", "IVB"),
        (5, NO_SKIP, "N0", "M1b", "G1", "IVB"),  # any T any N M1b any G → IVB
        (5, NO_SKIP, "N0", "M0", "low", "IA"),  # low grade = G1 rows
        (5, NO_SKIP, "N0", "M0", "high", "IIA"),  # high grade = G2/G3 rows
    ],
)
def test_appendicular_stage_groups(size, extent, n, m, g, group):
    assert bone(size, n=n, m=m, g=g, extent=extent).group == group


def test_result_names_the_bone_chapter():
    assert bone(5).system.startswith(
        "AJCC 8th edition, bone (ch. 38): appendicular skeleton, trunk, skull and facial bones"
    )


def test_grade_pending_gives_no_group_except_where_grade_cannot_matter():
    assert bone(5, g=None).group is None  # T1 N0 M0: IA or IIA
    assert bone(5, g=None, m="M1b").group == "IVB"  # any G
    assert bone(5, g=None, n="N1").group == "IVB"


def test_m1_without_a_or_b_decides_only_when_n1():
    assert bone(5, m="M1").group is None  # N0 M1: IVA (lung) or IVB (other)?
    assert bone(5, n="N1", m="M1").group == "IVB"


def test_skip_metastasis_not_recorded_leaves_t_open():
    result = bone(5, extent=Extent(), g="G3")
    assert (result.t, result.group) == (None, None)  # T1 (IIA) or T3 (III)


def test_nodes_not_assessed_are_n0():
    assert bone(5, n="not_assessed", m="M1a").group == "IVA"


def test_yp_prefix():
    assert bone(9, g="G3", after_neoadjuvant=True).tnm == "ypT2 N0 M0 G3"


def pelvis(size, **extent):
    defaults = {"sacroiliac_to_neuroforamen": False, "pelvic_vessels": False}
    return bone(size, site="bone_pelvis", extent=Extent(**(defaults | extent)))


@pytest.mark.parametrize(
    ("size", "extent", "t"),
    [
        # ch. 38 pelvis T
        (Decimal("8.0"), {"pelvic_segments": 1, "extraosseous": False}, "T1a"),  # 1 seg, <=8
        (Decimal("8.1"), {"pelvic_segments": 1, "extraosseous": False}, "T1b"),  # 1 seg, >8
        (Decimal("8.0"), {"pelvic_segments": 1, "extraosseous": True}, "T2a"),  # 1 seg + EO
        (Decimal("8.1"), {"pelvic_segments": 1, "extraosseous": True}, "T2b"),
        (Decimal("6"), {"pelvic_segments": 2, "extraosseous": False}, "T2a"),  # 2 seg, no EO
        (Decimal("9"), {"pelvic_segments": 2, "extraosseous": False}, "T2b"),
        (Decimal("8.0"), {"pelvic_segments": 2, "extraosseous": True}, "T3a"),  # 2 seg + EO
        (Decimal("8.1"), {"pelvic_segments": 2, "extraosseous": True}, "T3b"),
        (Decimal("5"), {"pelvic_segments": 3, "extraosseous": False}, "T4"),  # 3 segments
        # T4a: sacroiliac joint extending to the sacral neuroforamen
        (Decimal("5"), {"pelvic_segments": 1, "sacroiliac_to_neuroforamen": True}, "T4a"),
        # T4b: external iliac vessel encasement or gross tumour thrombus in pelvic vessels
        (Decimal("5"), {"pelvic_segments": 1, "pelvic_vessels": True}, "T4b"),
        (
            Decimal("5"),
            {"pelvic_segments": 1, "pelvic_vessels": True, "sacroiliac_to_neuroforamen": True},
            "T4b",
        ),
    ],
)
def test_pelvis_t(size, extent, t):
    result = pelvis(size, **extent)
    assert result.t == t
    assert result.group is None  # ch. 38: no stage groups for the pelvis
    assert result.system == "AJCC 8th edition, bone (ch. 38): pelvis"


def test_pelvis_without_size_has_no_a_or_b():
    assert pelvis(None, pelvic_segments=1, extraosseous=False).t is None


def spine(**extent):
    defaults = {"spinal_canal": False, "great_vessels": False, "nonadjacent_segments": False}
    return bone(5, site="bone_spine", extent=Extent(**(defaults | extent)))


@pytest.mark.parametrize(
    ("extent", "t"),
    [
        ({"vertebral_segments": 1}, "T1"),  # T1: one or two adjacent segments
        ({"vertebral_segments": 2}, "T1"),
        ({"vertebral_segments": 3}, "T2"),  # T2: three adjacent segments
        ({"vertebral_segments": 4}, "T3"),  # T3: four or more adjacent segments
        ({"vertebral_segments": 5}, "T3"),
        ({"vertebral_segments": 2, "nonadjacent_segments": True}, "T3"),  # or nonadjacent
        ({"vertebral_segments": 1, "spinal_canal": True}, "T4a"),  # T4a: spinal canal
        ({"vertebral_segments": 1, "great_vessels": True}, "T4b"),  # T4b: great vessels
    ],
)
def test_spine_t(extent, t):
    result = spine(**extent)
    assert result.t == t
    assert result.group is None  # ch. 38: no stage groups for the spine
    assert result.system == "AJCC 8th edition, bone (ch. 38): spine"


def test_spine_ignores_size():
    # A 20 cm spinal tumour in one segment is T1: size is not a spine criterion.
    result = stage(
        entity=OSTEOSARCOMA,
        site="bone_spine",
        size_cm=20,
        extent=Extent(
            vertebral_segments=1,
            nonadjacent_segments=False,
            spinal_canal=False,
            great_vessels=False,
        ),
    )
    assert result.t == "T1"


def test_bone_sarcoma_at_a_soft_tissue_site_is_refused():
    result = stage(entity=OSTEOSARCOMA, site="trunk_extremity", size_cm=5, n="N0", m="M0")
    assert not result.applies


@pytest.mark.parametrize(
    ("site", "chapter"),
    [("bone_appendicular", "bone (ch. 38)"), ("trunk_extremity", "trunk and extremities")],
)
def test_ewing_sarcoma_takes_the_chapter_of_its_site(site, chapter):
    result = stage(
        entity=get_entity("ewing_sarcoma"),
        site=site,
        size_cm=6,
        extent=NO_SKIP,
        n="N0",
        m="M0",
        grade="G3",
    )
    assert chapter in result.system


@pytest.mark.parametrize("key", ["giant_cell_tumour_of_bone", "atypical_cartilaginous_tumour"])
def test_intermediate_bone_tumours_are_not_staged(key):
    result = stage(entity=get_entity(key), site="bone_appendicular", size_cm=5)
    assert not result.applies

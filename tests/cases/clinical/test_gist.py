"""GIST: AJCC 8th edition ch. 43 (T by 2/5/10 cm, mitotic rate low <= 5 / high > 5 per 5 mm²,
gastric/omental and small intestinal/other stage tables), AFIP/Miettinen 2006 risk table and
the modified NIH (Joensuu 2008) table; each row names its cell."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cases.clinical.gist import afip_risk, joensuu_risk
from cases.clinical.staging import stage
from cases.clinical.who import get_entity

GIST = get_entity("gist")


def gist(site, size, mitoses, n="N0", m="M0", **kw):
    return stage(
        entity=GIST, site=site, size_cm=size, gist_mitoses_per_5mm2=mitoses, n=n, m=m, **kw
    )


@pytest.mark.parametrize(
    ("size", "t"),
    [
        (Decimal("2.0"), "T1"),  # T1 <= 2 cm
        (Decimal("2.1"), "T2"),  # T2 > 2 to <= 5 cm
        (Decimal("5.0"), "T2"),
        (Decimal("5.1"), "T3"),  # T3 > 5 to <= 10 cm
        (Decimal("10.0"), "T3"),
        (Decimal("10.1"), "T4"),  # T4 > 10 cm
    ],
)
def test_gist_t(size, t):
    assert gist("stomach", size, 1).t == t


@pytest.mark.parametrize(
    ("mitoses", "rate"),
    [(5, "mitotic rate low"), (6, "mitotic rate high")],  # low <= 5, high > 5 per 5 mm²
)
def test_gist_mitotic_rate(mitoses, rate):
    assert gist("stomach", 3, mitoses).g == rate


@pytest.mark.parametrize(
    ("site", "size", "mitoses", "n", "m", "group"),
    [
        # Gastric and omental table
        ("stomach", 2, 5, "N0", "M0", "IA"),  # T1 low → IA
        ("stomach", 5, 5, "N0", "M0", "IA"),  # T2 low → IA
        ("stomach", 10, 5, "N0", "M0", "IB"),  # T3 low → IB
        ("stomach", 2, 6, "N0", "M0", "II"),  # T1 high → II
        ("stomach", 5, 6, "N0", "M0", "II"),  # T2 high → II
        ("stomach", 11, 5, "N0", "M0", "II"),  # T4 low → II
        ("stomach", 10, 6, "N0", "M0", "IIIA"),  # T3 high → IIIA
        ("stomach", 11, 6, "N0", "M0", "IIIB"),  # T4 high → IIIB
        ("stomach", 2, 1, "N1", "M0", "IV"),  # any T N1 M0 any rate → IV
        ("stomach", 2, 1, "N0", "M1", "IV"),  # any T any N M1 → IV
        ("omentum", 10, 6, "N0", "M0", "IIIA"),  # omental GIST use the gastric table
        # Small intestinal (and oesophageal, colorectal, mesenteric, peritoneal) table
        ("jejunum_ileum", 2, 5, "N0", "M0", "I"),  # T1 low → I
        ("duodenum", 5, 5, "N0", "M0", "I"),  # T2 low → I
        ("jejunum_ileum", 10, 5, "N0", "M0", "II"),  # T3 low → II
        ("jejunum_ileum", 2, 6, "N0", "M0", "IIIA"),  # T1 high → IIIA
        ("jejunum_ileum", 11, 5, "N0", "M0", "IIIA"),  # T4 low → IIIA
        ("jejunum_ileum", 5, 6, "N0", "M0", "IIIB"),  # T2 high → IIIB
        ("rectum", 10, 6, "N0", "M0", "IIIB"),  # T3 high → IIIB
        ("oesophagus", 11, 6, "N0", "M0", "IIIB"),  # T4 high → IIIB
        ("mesentery", 3, 1, "N1", "M0", "IV"),  # any T N1 M0 → IV
        ("peritoneum", 3, 1, "N0", "M1", "IV"),  # M1 → IV
        ("colon", 10, 5, "N0", "M0", "II"),
    ],
)
def test_gist_stage_groups(site, size, mitoses, n, m, group):
    assert gist(site, size, mitoses, n, m).group == group


@pytest.mark.parametrize(
    ("site", "system"),
    [
        ("stomach", "gastric and omental"),
        ("jejunum_ileum", "small intestinal, oesophageal, colorectal, mesenteric and peritoneal"),
    ],
)
def test_gist_result_names_its_table(site, system):
    result = gist(site, 3, 1)
    assert result.system.startswith("AJCC 8th edition, gastrointestinal stromal tumour (ch. 43)")
    assert system in result.system


def test_gist_nodes_not_assessed_are_n0():
    # ch. 43: nodal involvement is rare; no information on nodes → N0
    assert gist("stomach", 3, 1, n="not_assessed").group == "IA"


def test_gist_without_mitotic_count_has_no_group_unless_metastatic():
    assert gist("stomach", 3, None).group is None
    assert gist("stomach", 3, None, m="M1").group == "IV"


def test_gist_is_not_staged_by_the_soft_tissue_chapters():
    assert not stage(entity=GIST, site="retroperitoneum", size_cm=3).applies


# --- AFIP / Miettinen 2006 -----------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "mitoses", "site", "category"),
    [
        # mitoses <= 5 per 50 HPF
        (2, 5, "stomach", "none"),  # <= 2 cm: none (0 %), all sites
        (2, 0, "rectum", "none"),
        (Decimal("2.1"), 5, "stomach", "very_low"),  # > 2-5 cm gastric: very low (1.9 %)
        (5, 5, "rectum", "low"),  # > 2-5 cm rectum: low (8.5 %)
        (5, 5, "duodenum", "low"),  # > 2-5 cm small intestine: low in both columns
        (5, 5, "jejunum_ileum", "low"),
        (Decimal("5.1"), 5, "stomach", "low"),  # > 5-10 cm gastric: low (3.6 %)
        (10, 5, "rectum", "insufficient_data"),  # > 5-10 cm rectum: insufficient data
        (Decimal("10.1"), 5, "stomach", "moderate"),  # > 10 cm gastric: moderate
        (11, 5, "duodenum", "high"),  # > 10 cm small intestine / rectum: high
        (11, 5, "rectum", "high"),
        # mitoses > 5 per 50 HPF
        (2, 6, "stomach", "none"),  # <= 2 cm gastric: none (small numbers)
        (2, 6, "rectum", "high"),  # <= 2 cm rectum: high (54 %)
        (3, 6, "stomach", "moderate"),  # > 2-5 cm gastric: moderate (16 %)
        (3, 6, "jejunum_ileum", "high"),  # > 2-5 cm intestine: high in both columns
        (7, 6, "stomach", "high"),  # > 5-10 cm gastric: high (55 %)
        (7, 6, "rectum", "insufficient_data"),  # > 5-10 cm rectum: insufficient data
        (11, 6, "stomach", "high"),  # > 10 cm: high everywhere
        (11, 6, "duodenum", "high"),
    ],
)
def test_afip_cells(size, mitoses, site, category):
    assert (
        afip_risk(entity=GIST, size_cm=size, mitoses_per_5mm2=mitoses, site=site).category
        == category
    )


@pytest.mark.parametrize(
    ("size", "mitoses", "site"),
    [
        (7, 3, "duodenum"),  # > 5-10 cm low rate: moderate or insufficient by reproduction
        (7, 3, "jejunum_ileum"),
        (2, 8, "duodenum"),  # <= 2 cm high rate
        (7, 8, "jejunum_ileum"),  # > 5-10 cm high rate
    ],
)
def test_afip_cells_the_reproductions_disagree_on_are_left_to_a_person(size, mitoses, site):
    result = afip_risk(entity=GIST, size_cm=size, mitoses_per_5mm2=mitoses, site=site)
    assert result.category is None
    assert "disagree" in result.reason


def test_afip_missing_input_is_not_insufficient_data():
    result = afip_risk(entity=GIST, size_cm=3, mitoses_per_5mm2=None, site="stomach")
    assert result.category is None
    assert "mitotic count" in result.reason


def test_afip_does_not_cover_other_sites():
    result = afip_risk(entity=GIST, size_cm=3, mitoses_per_5mm2=1, site="oesophagus")
    assert result.category is None


# --- Modified NIH / Joensuu 2008 ----------------------------------------------------


@pytest.mark.parametrize(
    ("size", "mitoses", "site", "rupture", "category"),
    [
        (2, 5, "jejunum_ileum", False, "very_low"),  # <= 2.0 cm, <= 5, any site
        (Decimal("2.1"), 5, "stomach", False, "low"),  # 2.1-5.0 cm, <= 5, any site
        (5, 5, "rectum", False, "low"),
        (2, 6, "stomach", False, "intermediate"),  # <= 2.0, 6-10, any site
        (2, 10, "duodenum", False, "intermediate"),
        (3, 6, "stomach", False, "intermediate"),  # 2.1-5.0, > 5 (6-10), gastric
        (3, 6, "duodenum", False, "high"),  # 2.1-5.0, > 5, non-gastric
        (Decimal("5.1"), 5, "stomach", False, "intermediate"),  # 5.1-10.0, <= 5, gastric
        (10, 5, "jejunum_ileum", False, "high"),  # 5.1-10.0, <= 5, non-gastric
        (Decimal("10.1"), 0, "stomach", False, "high"),  # > 10 cm, any mitoses
        (1, 11, "stomach", False, "high"),  # any size, > 10 mitoses
        (Decimal("5.1"), 6, "stomach", False, "high"),  # > 5 cm and > 5 mitoses
        (1, 0, "stomach", True, "high"),  # tumour rupture
    ],
)
def test_joensuu_cells(size, mitoses, site, rupture, category):
    result = joensuu_risk(
        entity=GIST, size_cm=size, mitoses_per_5mm2=mitoses, site=site, rupture=rupture
    )
    assert result.category == category


def test_joensuu_decides_high_without_data_that_cannot_change_it():
    # > 10 cm is high whatever the mitoses, site or rupture.
    assert joensuu_risk(
        entity=GIST, size_cm=12, mitoses_per_5mm2=None, site=None, rupture=None
    ).category == ("high")


def test_joensuu_waits_for_rupture_when_it_would_change_the_category():
    result = joensuu_risk(entity=GIST, size_cm=3, mitoses_per_5mm2=2, site="stomach", rupture=None)
    assert result.category is None
    assert "rupture" in result.reason


@pytest.mark.parametrize("key", ["leiomyosarcoma", "desmoid_fibromatosis"])
def test_risk_tables_apply_only_to_gist(key):
    entity = get_entity(key)
    afip = afip_risk(entity=entity, size_cm=12, mitoses_per_5mm2=20, site="stomach")
    joensuu = joensuu_risk(
        entity=entity, size_cm=12, mitoses_per_5mm2=20, site="stomach", rupture=True
    )
    assert (afip.category, joensuu.category) == (None, None)
    assert "do not apply" in afip.reason


def test_risk_needs_the_tumour_type():
    result = joensuu_risk(entity=None, size_cm=12, mitoses_per_5mm2=20, site=None, rupture=True)
    assert result.category is None

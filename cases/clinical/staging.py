"""AJCC 8th edition T category and stage group, chosen by tumour type and site family.

The rules are the tables of `data/ajcc8.py` (its docstring lists the sources). This module
only picks the table, derives T from the site's own rule, and looks the group up.

Three choices the issue asks for, and why:
- The entity decides the chapter (soft tissue, GIST, bone or none: desmoid and Kaposi are
  excluded from the soft-tissue chapters), the site family decides the T rule; a family
  that does not belong to the entity's chapter is refused, so no T is ever computed by a
  rule that does not apply to the site.
- A value not yet entered is not GX/NX/MX: every value it could take is tried, and a group is
  returned only when all of them give the same one (M1 is stage IV whatever the grade).
- "Not assessed" nodes are N0, as AJCC 8 defines N0 for these chapters ("no regional nodal
  metastasis or unknown nodal status"; GIST ch. 43 likewise). After neoadjuvant treatment
  the stage is prefixed yp and uses the pre-treatment grade.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import Decimal

from cases.clinical.data import ajcc8
from cases.clinical.data.who_2020 import AJCC_BONE, AJCC_GIST, AJCC_SOFT_TISSUE
from cases.clinical.who import Entity

NODES_NOT_ASSESSED = "not_assessed"
_CHAPTER_OF_FAMILY = {
    **dict.fromkeys(ajcc8.SOFT_TISSUE_FAMILIES, AJCC_SOFT_TISSUE),
    **dict.fromkeys(ajcc8.BONE_FAMILIES, AJCC_BONE),
    ajcc8.GIST_GASTRIC: AJCC_GIST,
    ajcc8.GIST_INTESTINAL: AJCC_GIST,
}


@dataclass(frozen=True)
class Extent:
    """What decides T where size alone does not; None means not recorded."""

    head_neck_invasion: str | None = None  # "none", "T4a", "T4b"
    visceral_extent: str | None = None  # ajcc8.VISCERAL_EXTENT_T keys
    multifocal_sites: int | None = None  # visceral, with "multifocal"
    discontinuous: bool | None = None  # bone, appendicular: skip lesions (T3)
    pelvic_segments: int | None = None  # 1, 2, 3 or more
    extraosseous: bool | None = None
    sacroiliac_to_neuroforamen: bool | None = None  # pelvis T4a
    pelvic_vessels: bool | None = None  # pelvis T4b: external iliac encasement / thrombus
    vertebral_segments: int | None = None  # adjacent segments involved, 1-5
    nonadjacent_segments: bool | None = None  # spine: any nonadjacent segments → T3
    spinal_canal: bool | None = None  # spine T4a
    great_vessels: bool | None = None  # spine T4b


@dataclass(frozen=True)
class StageResult:
    applies: bool
    system: str | None  # the edition and chapter that produced the result
    t: str | None = None
    n: str | None = None
    m: str | None = None
    g: str | None = None  # grade, or the GIST mitotic rate ("low"/"high")
    group: str | None = None
    prefix: str = ""  # "yp" after neoadjuvant treatment
    reason: str = ""  # why not applicable, or why there is no group
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def tnm(self) -> str:
        if not self.applies:
            return ""
        if self.t:
            t = f"{self.prefix}{self.t}"
        elif self.system == ajcc8.SYSTEMS[ajcc8.UNUSUAL]:
            t = f"{self.prefix}T —" if self.prefix else ""  # ch. 45 defines no T category
        else:
            t = f"{self.prefix}T pending"
        parts = [
            t,
            self.n or "N pending",
            self.m or "M pending",
            self.g
            or ("mitotic rate pending" if self.g is None and self._gist else "grade pending"),
        ]
        return " ".join(filter(None, parts))

    @property
    def _gist(self) -> bool:
        return bool(self.system and "stromal" in self.system)


def _size(size_cm: Decimal | float | int | None) -> Decimal | None:
    if size_cm is None:
        return None
    size = Decimal(str(size_cm))
    if size <= 0:
        raise ValueError("a tumour size must be positive")
    return size


def _band(value: Decimal | int, bands: tuple) -> str:
    for upper, label in bands:
        if upper is None or value <= upper:
            return label
    raise AssertionError("the last band is open")


def family_for(entity: Entity, site: str) -> str:
    """The AJCC family for an entity at a site (a family key, or a GIST primary site)."""
    if site in ajcc8.GIST_SITES:
        return ajcc8.GIST_SITES[site]
    if site in ajcc8.SOFT_TISSUE_FAMILIES and entity.key in ajcc8.UNUSUAL_HISTOLOGIES:
        return ajcc8.UNUSUAL
    return site


# --- T rules, one per family: each returns the set of T the recorded data allow --------


def _t_by_size(family: str, size: Decimal | None) -> set[str]:
    if size is None:
        return set(ajcc8.T_DOMAIN[family])
    return {_band(size, ajcc8.SIZE_T[family])}


def _t_appendicular(size: Decimal | None, extent: Extent) -> set[str]:
    if extent.discontinuous:
        return {"T3"}
    by_size = _t_by_size(ajcc8.BONE_APPENDICULAR, size) - {"T3"}
    return by_size | ({"T3"} if extent.discontinuous is None else set())


def _t_head_neck(size: Decimal | None, extent: Extent) -> tuple[str | None, str]:
    invasion = extent.head_neck_invasion
    if invasion not in (None, *ajcc8.HEAD_NECK_INVASION):
        raise ValueError(f"head and neck invasion is one of {list(ajcc8.HEAD_NECK_INVASION)}")
    if invasion in ("T4a", "T4b"):
        return invasion, ""
    if invasion is None:
        return None, "Invasion of adjoining structures (T4a/T4b) is not recorded."
    if size is None:
        return None, "The tumour size is not recorded."
    return _band(size, ajcc8.SIZE_T[ajcc8.HEAD_NECK]), ""


def _t_visceral(extent: Extent) -> tuple[str | None, str]:
    kind = extent.visceral_extent
    if kind is None:
        return None, "The organ involvement (visceral T) is not recorded."
    if kind not in ajcc8.VISCERAL_EXTENT_T:
        raise ValueError(f"visceral extent is one of {list(ajcc8.VISCERAL_EXTENT_T)}")
    if kind != "multifocal":
        return ajcc8.VISCERAL_EXTENT_T[kind], ""
    sites = extent.multifocal_sites
    if sites is None:
        return None, "The number of multifocal sites is not recorded."
    if sites < 2:
        raise ValueError("multifocal involvement means at least 2 sites")
    return _band(sites, ajcc8.VISCERAL_MULTIFOCAL_T), ""


def _t_pelvis(size: Decimal | None, extent: Extent) -> tuple[str | None, str]:
    if extent.pelvic_vessels:
        return "T4b", ""
    if extent.sacroiliac_to_neuroforamen:
        return "T4a", ""
    segments = extent.pelvic_segments
    if segments is None:
        return None, "The number of pelvic segments involved is not recorded."
    if segments < 1:
        raise ValueError("at least one pelvic segment is involved")
    if extent.pelvic_vessels is None or extent.sacroiliac_to_neuroforamen is None:
        return None, "Sacroiliac/neuroforaminal extension and pelvic vessels are not recorded."
    if segments >= 3:
        return "T4", "Three or more pelvic segments: T4 (AJCC 8 gives no a/b for this alone)."
    if extent.extraosseous is None:
        return None, "Extraosseous extension is not recorded."
    if size is None:
        return None, "The tumour size is not recorded (it decides a or b, at 8 cm)."
    base = ajcc8.PELVIS_BONE_T[(segments, extent.extraosseous)]
    return base + _band(size, ajcc8.PELVIS_SIZE_SUFFIX), ""


def _t_spine(extent: Extent) -> tuple[str | None, str]:
    if extent.great_vessels:
        return "T4b", ""
    if extent.spinal_canal:
        return "T4a", ""
    if extent.great_vessels is None or extent.spinal_canal is None:
        return None, "Spinal canal and great vessel involvement are not recorded."
    if extent.nonadjacent_segments:
        return "T3", ""
    segments = extent.vertebral_segments
    if segments is None or extent.nonadjacent_segments is None:
        return None, "The vertebral segments involved are not recorded."
    if not 1 <= segments <= 5:
        raise ValueError("a vertebra has five segments")
    return _band(segments, ajcc8.SPINE_SEGMENTS_T), ""


# --- N, M, G: the values a recorded (or missing) entry may stand for ---------------------


def _n_values(n: str | None) -> tuple[set[str], str | None, tuple[str, ...]]:
    if n in ("N0", NODES_NOT_ASSESSED, "NX"):
        note = () if n == "N0" else ("Nodes not assessed: staged N0, as AJCC 8 defines N0.",)
        return {"N0"}, "N0", note
    if n == "N1":
        return {"N1"}, "N1", ()
    if n is None:
        return {"N0", "N1"}, None, ()
    raise ValueError(f"N is N0, N1 or {NODES_NOT_ASSESSED!r}, not {n!r}")


def _m_values(m: str | None, chapter: str) -> tuple[set[str], str | None, tuple[str, ...]]:
    if m not in (None, "M0", "M1", "M1a", "M1b"):
        raise ValueError(f"M is M0, M1, M1a or M1b, not {m!r}")
    if chapter == AJCC_BONE:
        if m is None:
            return set(ajcc8.BONE_M), None, ()
        if m == "M1":
            return {"M1a", "M1b"}, "M1", ("M1 without a/b: lung only (M1a) or other (M1b)?",)
        return {m}, m, ()
    if m is None:
        return set(ajcc8.SOFT_TISSUE_M), None, ()
    if m in ("M1a", "M1b"):
        # The a/b split is the bone chapter's; here any distant metastasis is M1.
        return {"M1"}, "M1", (f"{m} is a bone-chapter category: staged M1 here.",)
    return {m}, m, ()


def _g_values(grade: str | None) -> tuple[set[str], str | None]:
    if grade in ("G1", "G2", "G3", "GX"):
        return {grade}, grade
    if grade == "low":
        return {"G1"}, "low grade"
    if grade == "high":
        return {"G2", "G3"}, "high grade"
    if grade in (None, "not_applicable"):
        return set(ajcc8.THREE_TIER_G), None
    raise ValueError(f"unknown grade {grade!r}")


def _rate_values(mitoses_per_5mm2: int | None) -> tuple[set[str], str | None]:
    if mitoses_per_5mm2 is None:
        return set(ajcc8.GIST_RATE), None
    if mitoses_per_5mm2 < 0:
        raise ValueError("a mitotic count cannot be negative")
    rate = "low" if mitoses_per_5mm2 <= ajcc8.GIST_LOW_RATE_MAX else "high"
    return {rate}, f"mitotic rate {rate}"


def _group(family: str, ts: set[str], ns: set[str], ms: set[str], gs: set[str]) -> set:
    """The groups every combination of the possible values falls in (None: no row)."""
    rows = ajcc8.STAGE_GROUPS[family]
    found = set()
    for t, n, m, g in itertools.product(ts, ns, ms, gs):
        match = next(
            (
                row[0]
                for row in rows
                if all(
                    allowed is ajcc8.ANY or value in allowed
                    for value, allowed in zip((t, n, m, g), row[1:], strict=True)
                )
            ),
            None,
        )
        found.add(match)
    return found


def stage(
    *,
    entity: Entity | None,
    site: str | None,
    size_cm: Decimal | float | int | None = None,
    extent: Extent | None = None,
    n: str | None = None,
    m: str | None = None,
    grade: str | None = None,
    gist_mitoses_per_5mm2: int | None = None,
    after_neoadjuvant: bool = False,
) -> StageResult:
    """The AJCC 8th edition stage of a tumour of type `entity` at `site`.

    `site` is a family of ajcc8 (trunk_extremity, retroperitoneum, head_neck, visceral,
    unusual, bone_appendicular, bone_pelvis, bone_spine) or, for GIST, a primary site of
    ajcc8.GIST_SITES. `grade` is a GradeResult.grade ("G1".."G3", "GX", "low", "high") or
    None while pending; for yp staging, the pre-treatment grade.
    """
    extent = extent or Extent()
    if entity is None:
        return StageResult(False, None, reason="The tumour type is not recorded yet.")
    if not entity.ajcc_chapters:
        return StageResult(
            False,
            None,
            reason=f"AJCC staging does not apply to {entity.name}. {entity.fnclcc_reason}".strip(),
        )
    if site is None:
        return StageResult(False, None, reason="The primary site is not recorded yet.")
    family = family_for(entity, site)
    chapter = _CHAPTER_OF_FAMILY.get(family)
    if chapter is None:
        raise ValueError(f"unknown site {site!r}")
    if chapter not in entity.ajcc_chapters:
        return StageResult(
            False,
            None,
            reason=f"{entity.name} is not staged by the AJCC {chapter.replace('_', ' ')} "
            f"chapter that site {site!r} belongs to.",
        )

    system = ajcc8.SYSTEMS[family]
    prefix = "yp" if after_neoadjuvant else ""
    size = _size(size_cm)
    ns, n_shown, n_notes = _n_values(n)
    ms, m_shown, m_notes = _m_values(m, chapter)
    notes = n_notes + m_notes
    if chapter == AJCC_GIST:
        gs, g_shown = _rate_values(gist_mitoses_per_5mm2)
    else:
        gs, g_shown = _g_values(grade)

    if family in ajcc8.NO_GROUPS:
        t, why = {
            ajcc8.HEAD_NECK: lambda: _t_head_neck(size, extent),
            ajcc8.VISCERAL: lambda: _t_visceral(extent),
            ajcc8.UNUSUAL: lambda: (None, ""),
            ajcc8.BONE_PELVIS: lambda: _t_pelvis(size, extent),
            ajcc8.BONE_SPINE: lambda: _t_spine(extent),
        }[family]()
        return StageResult(
            True,
            system,
            t,
            n_shown,
            m_shown,
            g_shown,
            None,
            prefix,
            " ".join(filter(None, (ajcc8.NO_GROUPS[family], why))),
            notes,
        )

    ts = (
        _t_appendicular(size, extent)
        if family == ajcc8.BONE_APPENDICULAR
        else (_t_by_size(family, size))
    )
    t_shown = next(iter(ts)) if len(ts) == 1 else None
    groups = _group(family, ts, ns, ms, gs)
    if len(groups) == 1 and None not in groups:
        return StageResult(
            True, system, t_shown, n_shown, m_shown, g_shown, groups.pop(), prefix, "", notes
        )
    missing = [
        label
        for label, values in (("T (size or extent)", ts), ("N", ns), ("M", ms), ("grade", gs))
        if len(values) > 1
    ]
    return StageResult(
        True,
        system,
        t_shown,
        n_shown,
        m_shown,
        g_shown,
        None,
        prefix,
        f"Stage group pending: {', '.join(missing)} not yet known.",
        notes,
    )

"""Histological grade: FNCLCC from its three scores, or a grade the pathologist reported.

FNCLCC (Trojani 1984; Coindre 2006, as adopted by AJCC 8th edition, ch. 41 "Histologic
grade", and WHO 2020): differentiation 1-3 + mitotic count score 1-3 (0-9, 10-19, >=20
mitoses per 10 HPF of 0.1734 mm²) + necrosis 0-2 (none, <50 %, >=50 %); total 2-3 is G1,
4-5 G2, 6-8 G3. The thresholds were checked against the AJCC 8 soft-tissue pages on
pathologyoutlines.com ("G1: total score 2 or 3, G2: 4 or 5, G3: 6-8").

Three rules the issue adds, each a refusal to invent data:
- The tumour type decides whether FNCLCC applies (see who.Entity.fnclcc); where it does
  not, the result says why in words and holds no grade.
- A missing score is not GX. The scores entered give a range of possible totals; a grade is
  returned only when every completion of the missing scores gives the same grade
  (differentiation 3 + mitoses 3 already make 6, so G3 whatever the necrosis).
- After neoadjuvant treatment FNCLCC is not valid (therapy changes mitoses and necrosis):
  the response, % viable tumour, is recorded instead, and staging uses the pre-treatment
  grade with the yp prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cases.clinical.data.who_2020 import AJCC_BONE, AJCC_SOFT_TISSUE
from cases.clinical.who import Entity

FNCLCC = "FNCLCC (French Federation of Cancer Centers Sarcoma Group)"

DIFFERENTIATION_SCORES = (1, 2, 3)
MITOTIC_SCORES = (1, 2, 3)
NECROSIS_SCORES = (0, 1, 2)

# Total score → grade (AJCC 8 ch. 41, histologic grade G1-G3).
FNCLCC_GRADE_BY_TOTAL = {2: "G1", 3: "G1", 4: "G2", 5: "G2", 6: "G3", 7: "G3", 8: "G3"}

# Mitotic count score: upper bound of mitoses per 10 HPF (inclusive) → score.
MITOTIC_COUNT_BANDS = ((9, 1), (19, 2), (None, 3))


class Specimen(StrEnum):
    CORE_BIOPSY = "core_biopsy"
    INCISIONAL = "incisional"
    EXCISION = "excision"


class ReportedGrade(StrEnum):
    """A grade as the pathologist wrote it, without (or beyond) the component scores."""

    G1 = "G1"
    G2 = "G2"
    G3 = "G3"
    LOW = "low"  # two-tier: FNCLCC G1 / AJCC bone G1
    HIGH = "high"  # two-tier: FNCLCC G2-G3 / AJCC bone G2-G3
    GX = "GX"  # the pathologist says the grade cannot be assessed (AJCC GX)
    NOT_APPLICABLE = "not_applicable"


# The three-tier grades each reported value allows (for checking it against the scores).
_REPORTED_AS_GRADES = {
    ReportedGrade.G1: {"G1"},
    ReportedGrade.G2: {"G2"},
    ReportedGrade.G3: {"G3"},
    ReportedGrade.LOW: {"G1"},
    ReportedGrade.HIGH: {"G2", "G3"},
}


class GradeStatus(StrEnum):
    COMPUTED = "computed"  # all three scores entered
    DECIDED = "decided"  # scores missing, but every completion gives this grade
    REPORTED = "reported"  # the pathologist's grade, recorded as given
    PENDING = "pending"  # not yet known: no stage group can use it
    CONFLICT = "conflict"  # the reported grade contradicts the scores
    NOT_APPLICABLE = "not_applicable"  # the tumour type or the treatment rules grading out


@dataclass(frozen=True)
class GradeResult:
    status: GradeStatus
    grade: str | None  # "G1" | "G2" | "G3" | "low" | "high" | "GX" | None
    system: str | None  # what produced the grade, e.g. FNCLCC; None when nothing did
    reason: str = ""  # why there is no grade, or what was assumed
    total_range: tuple[int, int] | None = None  # FNCLCC total, lowest and highest possible
    specimen: Specimen | None = None
    after_neoadjuvant: bool = False
    viable_tumour_percent: int | None = None


def mitotic_score(mitoses_per_10_hpf: int) -> int:
    if mitoses_per_10_hpf < 0:
        raise ValueError("a mitotic count cannot be negative")
    for upper, score in MITOTIC_COUNT_BANDS:
        if upper is None or mitoses_per_10_hpf <= upper:
            return score
    raise AssertionError("the last band is open")


def fnclcc_total_range(
    *, differentiation: int | None, mitotic: int | None, necrosis: int | None
) -> tuple[int, int]:
    """The lowest and highest FNCLCC total the entered scores allow."""
    parts = (
        (differentiation, DIFFERENTIATION_SCORES, "differentiation"),
        (mitotic, MITOTIC_SCORES, "mitotic"),
        (necrosis, NECROSIS_SCORES, "necrosis"),
    )
    low = high = 0
    for value, allowed, name in parts:
        if value is None:
            low, high = low + min(allowed), high + max(allowed)
        elif value not in allowed:
            raise ValueError(f"the {name} score is one of {allowed}, not {value}")
        else:
            low, high = low + value, high + value
    return low, high


def grade(
    *,
    entity: Entity | None,
    differentiation: int | None = None,
    mitotic: int | None = None,
    mitoses_per_10_hpf: int | None = None,
    necrosis: int | None = None,
    reported: ReportedGrade | None = None,
    specimen: Specimen | None = None,
    after_neoadjuvant: bool = False,
    viable_tumour_percent: int | None = None,
) -> GradeResult:
    """The grade of one specimen of a tumour of type `entity` (None: type not yet known).

    Give the mitotic score (`mitotic`) or the count it comes from (`mitoses_per_10_hpf`).
    """
    if mitotic is not None and mitoses_per_10_hpf is not None:
        raise ValueError("give the mitotic score or the mitotic count, not both")
    if mitoses_per_10_hpf is not None:
        mitotic = mitotic_score(mitoses_per_10_hpf)
    if viable_tumour_percent is not None and not 0 <= viable_tumour_percent <= 100:
        raise ValueError("viable tumour is a percentage, 0 to 100")
    scores_entered = any(s is not None for s in (differentiation, mitotic, necrosis))
    common = {
        "specimen": specimen,
        "after_neoadjuvant": after_neoadjuvant,
        "viable_tumour_percent": viable_tumour_percent,
    }

    if entity is None:
        return GradeResult(
            GradeStatus.PENDING,
            None,
            None,
            "The tumour type is not recorded yet; it decides which grading applies.",
            **common,
        )
    uses_g = AJCC_SOFT_TISSUE in entity.ajcc_chapters or AJCC_BONE in entity.ajcc_chapters
    if not entity.fnclcc and not uses_g:
        # Desmoid, Kaposi, ALT, GCTB, GIST (graded by mitotic rate in its own chapter):
        # neither FNCLCC nor a reported G that a stage table would use.
        return GradeResult(GradeStatus.NOT_APPLICABLE, None, None, entity.fnclcc_reason, **common)
    if after_neoadjuvant:
        # AJCC 8 / CAP: grade the pre-treatment biopsy; therapy alters mitoses and necrosis.
        return GradeResult(
            GradeStatus.NOT_APPLICABLE,
            None,
            None,
            "FNCLCC grading is not valid after neoadjuvant treatment: the response "
            "(% viable tumour) is recorded, and staging uses the pre-treatment grade (yp).",
            **common,
        )
    if scores_entered and not entity.fnclcc:
        raise ValueError(f"FNCLCC scores do not apply to {entity.name}: {entity.fnclcc_reason}")
    if reported == ReportedGrade.NOT_APPLICABLE:
        return GradeResult(
            GradeStatus.NOT_APPLICABLE, None, None, "Reported as not applicable.", **common
        )

    decided = None
    total_range = None
    if entity.fnclcc and scores_entered:
        total_range = fnclcc_total_range(
            differentiation=differentiation, mitotic=mitotic, necrosis=necrosis
        )
        possible = {FNCLCC_GRADE_BY_TOTAL[t] for t in range(total_range[0], total_range[1] + 1)}
        if len(possible) == 1:
            decided = possible.pop()
    complete = None not in (differentiation, mitotic, necrosis)

    if decided and reported in _REPORTED_AS_GRADES and decided not in _REPORTED_AS_GRADES[reported]:
        return GradeResult(
            GradeStatus.CONFLICT,
            None,
            FNCLCC,
            f"The reported grade ({reported}) contradicts the FNCLCC scores ({decided}).",
            total_range,
            **common,
        )
    if decided:
        status = GradeStatus.COMPUTED if complete else GradeStatus.DECIDED
        reason = "" if complete else "Scores missing, but every completion gives this grade."
        return GradeResult(status, decided, FNCLCC, reason, total_range, **common)
    if reported is not None:
        return GradeResult(
            GradeStatus.REPORTED,
            reported.value,
            "grade reported by the pathologist",
            "",
            total_range,
            **common,
        )
    if not entity.fnclcc:
        return GradeResult(
            GradeStatus.PENDING,
            None,
            None,
            f"No grade reported yet. {entity.fnclcc_reason}",
            **common,
        )
    return GradeResult(
        GradeStatus.PENDING,
        None,
        FNCLCC,
        "Grade pending: the FNCLCC scores entered do not decide the grade yet.",
        total_range,
        **common,
    )

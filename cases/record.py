"""The clinical record of a case, read through the clinical engine (cases/clinical/).

`assess(case)` gives the grade, the AJCC 8th edition stage and, for GIST, the risk of
progression, each naming the system that produced it or saying in words why none applies.
Every screen and the report show these results, so that what a board signs is what the
engine computed from the published tables, never a value recomputed elsewhere.

What the case's fields mean to the engine:
- the graded specimen's scores (or the grade as reported) give the grade; a graded specimen
  taken after neoadjuvant treatment makes FNCLCC invalid (the response is recorded instead);
- `neoadjuvant` stages as yp, with the grade of the pre-treatment specimen;
- `staging_extent` holds what decides T where size does not (clinical.Extent's fields);
- nodes "not assessed" are N0, as AJCC 8 defines N0.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cases import clinical
from cases.clinical import GistRisk, GradeResult, GradeStatus, StageResult

if TYPE_CHECKING:
    from cases.models import Case

EXTENT_FIELDS = tuple(f.name for f in dataclasses.fields(clinical.Extent))


@dataclass(frozen=True)
class ClinicalRecord:
    entity: clinical.Entity | None
    grade: GradeResult
    stage: StageResult
    gist_risks: tuple[GistRisk, ...]  # AFIP and modified NIH, for GIST only
    problems: tuple[str, ...]  # entries the engine refused, in words
    scores: tuple[int | None, int | None, int | None] = (None, None, None)  # d, mitotic, n

    @property
    def grade_text(self) -> str:
        """The grade as a board reads it, with the system that produced it."""
        g = self.grade
        if g.status == GradeStatus.COMPUTED:
            d, m, n = self.scores
            return (
                f"{g.grade} (FNCLCC: differentiation {d} + mitoses {m} + necrosis {n} "
                f"= {g.total_range[0]})"
            )
        if g.status == GradeStatus.DECIDED:
            low, high = g.total_range
            return f"{g.grade} (FNCLCC: the scores entered give a total of {low}–{high})"
        if g.status == GradeStatus.REPORTED:
            return f"{REPORTED_LABELS.get(g.grade, g.grade)} (as reported)"
        if g.status == GradeStatus.PENDING:
            return "Grade pending"
        return g.reason  # conflict or not applicable: the words say why

    @property
    def stage_text(self) -> str:
        """The stage group, or why there is none, without the system (see stage_system)."""
        s = self.stage
        if not s.applies:
            return s.reason
        if s.group:
            return f"Stage {s.group} ({s.tnm})"
        return f"{s.tnm}. {s.reason}".strip()


REPORTED_LABELS = {
    "G1": "G1",
    "G2": "G2",
    "G3": "G3",
    "low": "Low grade",
    "high": "High grade",
    "GX": "GX (cannot be assessed)",
}


def extent_of(case: Case) -> clinical.Extent:
    stored = case.staging_extent or {}
    return clinical.Extent(**{k: stored[k] for k in EXTENT_FIELDS if stored.get(k) is not None})


def assess(case: Case) -> ClinicalRecord:
    entity = clinical.ENTITIES.get(case.entity) if case.entity else None
    problems: list[str] = []
    try:
        grade = clinical.grade(
            entity=entity,
            differentiation=case.differentiation_score,
            mitoses_per_10_hpf=case.mitotic_count,
            necrosis=case.necrosis,
            reported=clinical.ReportedGrade(case.reported_grade) if case.reported_grade else None,
            specimen=clinical.Specimen(case.grade_specimen) if case.grade_specimen else None,
            after_neoadjuvant=case.grade_after_neoadjuvant,
            viable_tumour_percent=case.viable_tumour_percent,
        )
    except ValueError as error:
        problems.append(str(error))
        grade = GradeResult(GradeStatus.CONFLICT, None, None, str(error))
    scores_entered = any(
        v is not None for v in (case.differentiation_score, case.mitotic_count, case.necrosis)
    )
    if entity is not None and not entity.fnclcc and scores_entered and not problems:
        problems.append(
            f"FNCLCC scores are recorded, but FNCLCC grading does not apply to {entity.name}: "
            "they are not used."
        )
    stage_grade = grade.grade if grade.status != GradeStatus.CONFLICT else None
    try:
        stage = clinical.stage(
            entity=entity,
            site=case.primary_site or None,
            size_cm=case.size_cm,
            extent=extent_of(case),
            n=case.nodes or None,
            m=case.metastasis or None,
            grade=stage_grade,
            gist_mitoses_per_5mm2=case.mitoses_per_5mm2,
            after_neoadjuvant=case.neoadjuvant,
        )
    except (ValueError, TypeError) as error:
        problems.append(str(error))
        stage = StageResult(False, None, reason=f"Not staged: {error}")
    risks: tuple[GistRisk, ...] = ()
    if entity is not None and entity.category == clinical.who.who_2020.GIST:
        site = case.primary_site or None
        risks = (
            clinical.afip_risk(
                entity=entity,
                size_cm=case.size_cm,
                mitoses_per_5mm2=case.mitoses_per_5mm2,
                site=site,
            ),
            clinical.joensuu_risk(
                entity=entity,
                size_cm=case.size_cm,
                mitoses_per_5mm2=case.mitoses_per_5mm2,
                site=site,
                rupture=case.tumour_rupture,
            ),
        )
    mitotic = (
        None if case.mitotic_count is None else clinical.grading.mitotic_score(case.mitotic_count)
    )
    scores = (case.differentiation_score, mitotic, case.necrosis)
    return ClinicalRecord(entity, grade, stage, risks, tuple(problems), scores)

"""The clinical record as the case page and the live page's case panel show it.

Everything computed (grade, stage, GIST risk) comes from `Case.clinical` (cases/record.py),
the engine's own result; this module only puts it into words and groups the case's fields
into the sections the templates draw (templates/cases/record/, meetings/live/_case.html):
a section whose fields are all empty is not drawn, while a grade or stage that is missing
says so ("Grade pending", or the engine's reason why there is no stage group).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from cases.clinical import GradeStatus
from cases.clinical.data import ajcc8
from cases.clinical.data import gist_risk as risk_table
from cases.record import EXTENT_FIELDS

if TYPE_CHECKING:
    from cases.models import Case, MolecularResult, Treatment
    from cases.record import ClinicalRecord

# GIST risk categories in words (cases/clinical/data/gist_risk.py).
RISK_LABELS = {
    risk_table.NONE: _lazy("None (no progression in the published series)"),
    risk_table.VERY_LOW: _lazy("Very low risk"),
    risk_table.LOW: _lazy("Low risk"),
    risk_table.MODERATE: _lazy("Moderate risk"),
    risk_table.INTERMEDIATE: _lazy("Intermediate risk"),
    risk_table.HIGH: _lazy("High risk"),
    risk_table.INSUFFICIENT: _lazy("Insufficient data in the published series"),
    risk_table.CONFLICT: _lazy("Published reproductions of the table disagree: check the original"),
}

# What decides T where size does not (cases.clinical.Extent), in words.
EXTENT_LABELS = {
    "head_neck_invasion": _lazy("Invasion of adjoining structures"),
    "visceral_extent": _lazy("Organ involvement"),
    "multifocal_sites": _lazy("Multifocal sites"),
    "discontinuous": _lazy("Discontinuous (skip) lesions"),
    "pelvic_segments": _lazy("Pelvic segments involved"),
    "extraosseous": _lazy("Extraosseous extension"),
    "sacroiliac_to_neuroforamen": _lazy("Extension to the sacroiliac joint / sacral neuroforamen"),
    "pelvic_vessels": _lazy("External iliac vessel encasement or pelvic tumour thrombus"),
    "vertebral_segments": _lazy("Adjacent vertebral segments involved"),
    "nonadjacent_segments": _lazy("Nonadjacent vertebral segments involved"),
    "spinal_canal": _lazy("Invasion of the spinal canal"),
    "great_vessels": _lazy("Invasion of the great vessels or tumour thrombus"),
}
EXTENT_VALUES = {
    "none": _lazy("None"),
    # ch. 40's own words for T4a/T4b (cases/clinical/data/ajcc8.py).
    "T4a": f"T4a: {ajcc8.HEAD_NECK_INVASION['T4a']}",
    "T4b": f"T4b: {ajcc8.HEAD_NECK_INVASION['T4b']}",
    "organ_confined": _lazy("Confined to the organ"),
    "serosa": _lazy("Invades the serosa or visceral peritoneum"),
    "beyond_serosa": _lazy("Extends beyond the serosa (mesentery)"),
    "another_organ": _lazy("Invades another organ"),
    "multifocal": _lazy("Multifocal"),
}


@dataclass(frozen=True)
class Risk:
    system: str
    text: str  # the category in words, or why there is none
    decided: bool


@dataclass(frozen=True)
class TreatmentRow:
    treatment: Treatment
    details: str


class RecordDisplay:
    """One case's clinical record, ready for a template (`{% clinical_record case as rec %}`)."""

    def __init__(self, case: Case) -> None:
        self.case = case

    @cached_property
    def record(self) -> ClinicalRecord:
        return self.case.clinical

    # --- grade ----------------------------------------------------------------------------

    @property
    def grade_pending(self) -> bool:
        return self.record.grade.status == GradeStatus.PENDING

    @property
    def grade_none(self) -> bool:
        """No grade, and the words say why (the tumour type is not graded, or a conflict)."""
        return self.record.grade.status in (GradeStatus.CONFLICT, GradeStatus.NOT_APPLICABLE)

    @property
    def grade_note(self) -> str:
        """The engine's reason beside a grade (what was assumed, what is missing); where
        there is no grade the reason is already the grade's text."""
        grade = self.record.grade
        if grade.status in (GradeStatus.CONFLICT, GradeStatus.NOT_APPLICABLE):
            return ""
        reason = grade.reason.removeprefix("Grade pending: ")
        return reason[:1].upper() + reason[1:]

    # --- stage ----------------------------------------------------------------------------

    @property
    def has_group(self) -> bool:
        return bool(self.record.stage.applies and self.record.stage.group)

    @property
    def stage_headline(self) -> str:
        """The stage group, or in words why there is none (never an empty box)."""
        stage = self.record.stage
        if stage.applies and stage.group:
            return _("Stage %(group)s") % {"group": stage.group}
        return stage.reason

    @property
    def tnm(self) -> str:
        """T, N, M and G as the engine gave them (StageResult.tnm: yp prefix, "pending" for
        what is not known, no T where the chapter defines none)."""
        return self.record.stage.tnm

    @property
    def extent(self) -> list[tuple[str, str]]:
        stored = self.case.staging_extent or {}
        rows = []
        for key in EXTENT_FIELDS:
            value = stored.get(key)
            if value is None:
                continue
            if isinstance(value, bool):
                shown = _("Yes") if value else _("No")
            else:
                shown = EXTENT_VALUES.get(str(value), str(value))
            rows.append((EXTENT_LABELS.get(key, key), shown))
        return rows

    # --- GIST risk ------------------------------------------------------------------------

    @property
    def risks(self) -> list[Risk]:
        rows = []
        for risk in self.record.gist_risks:
            if risk.category:
                text = RISK_LABELS.get(risk.category, risk.category)
                if risk.reason:
                    text = f"{text}. {risk.reason}"
                rows.append(Risk(risk.system, text, True))
            else:
                rows.append(Risk(risk.system, risk.reason or _("Not yet known."), False))
        return rows

    @property
    def has_setting(self) -> bool:
        case = self.case
        return bool(
            case.disease_setting
            or case.first_diagnosis_date
            or case.recurrence_date
            or case.radiation_associated
            or case.resection == case.Resection.UNPLANNED
        )

    @property
    def has_margins(self) -> bool:
        case = self.case
        return bool(
            case.resection
            or case.r_class
            or case.closest_margin_mm is not None
            or case.margin_barrier
        )

    @property
    def has_workup(self) -> bool:
        case = self.case
        return bool(
            case.primary_imaging_modality
            or case.primary_imaging_date
            or case.chest_staging
            or case.chest_staging_date
            or case.metastatic_sites
            or case.metastasis_count is not None
        )

    @cached_property
    def molecular(self) -> list[MolecularResult]:
        return [r for r in self.case.molecular_results.all() if not r.germline]

    @cached_property
    def hereditary(self) -> list[MolecularResult]:
        return [r for r in self.case.molecular_results.all() if r.germline]

    @cached_property
    def key_molecular(self) -> list[MolecularResult]:
        """For the live panel: what was found (detected or equivocal), then the rest."""
        found = ("detected", "equivocal")
        rows = self.molecular + self.hereditary
        return [r for r in rows if r.result in found] + [r for r in rows if r.result not in found]

    @cached_property
    def treatments(self) -> list[TreatmentRow]:
        # Newest first: Treatment.Meta.ordering (start date descending, undated last).
        return [TreatmentRow(t, treatment_details(t)) for t in self.case.treatments.all()]

    @cached_property
    def revision_count(self) -> int:
        return self.case.clinical_revisions.count()


def treatment_details(treatment: Treatment) -> str:
    """What was given, in one line: the procedure and margin, the dose, or the regimen."""
    parts: list[str] = []
    kind = treatment.Kind
    if treatment.kind == kind.SURGERY:
        if treatment.procedure:
            parts.append(treatment.procedure)
        if treatment.margin:
            parts.append(_("margin %(r)s") % {"r": treatment.margin})
    elif treatment.kind == kind.RADIOTHERAPY:
        if treatment.dose_gy is not None:
            dose = f"{treatment.dose_gy.normalize():f} Gy"
            if treatment.fractions:
                dose += " " + _("in %(n)d fractions") % {"n": treatment.fractions}
            parts.append(dose)
        elif treatment.fractions:
            parts.append(_("%(n)d fractions") % {"n": treatment.fractions})
    elif treatment.kind == kind.SYSTEMIC:
        if treatment.regimen:
            parts.append(treatment.regimen)
        if treatment.cycles:
            parts.append(_("%(n)d cycles") % {"n": treatment.cycles})
    if treatment.notes:
        parts.append(treatment.notes)
    return "; ".join(parts)

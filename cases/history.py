"""The clinical record's edit history: one ClinicalRevision per save that changed something.

A revision lists what a reader needs to follow the record: for each changed field its label
and its old and new values *as shown* (choice labels, the WHO entity with its ICD-O code,
the ICD-O-3 site, each extent item that decides T under its own label), and for the
treatment and molecular rows a line per row added or removed and one per field changed.
Both the case edit page and the board's clinical edit page save through `record_revision`,
so the history is the same whoever edits. Creating a case writes no revision: the draft is
the record's first version, and the history starts at its first change.

The values may identify the patient, so they live here only (the case's own readers see
them); audit events keep the field names (`changed_fields`).
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from board.dates import format_day
from cases import clinical
from cases.clinical.data import ajcc8
from cases.models import Case, ClinicalRevision, MolecularResult, Treatment
from cases.record import EXTENT_FIELDS

# The clinical record as the history follows it (the request's free text and the identity
# are not part of it; the case edit page's audit event names those fields).
CLINICAL_FIELDS = (
    "question_type",
    # Diagnosis and site.
    "entity",
    "diagnosis_other",
    "coding_review",
    "topography",
    "laterality",
    "primary_site",
    # Disease setting.
    "disease_setting",
    "radiation_associated",
    "first_diagnosis_date",
    "recurrence_date",
    # Tumour and stage.
    "size_cm",
    "depth",
    "staging_extent",
    "nodes",
    "metastasis",
    "neoadjuvant",
    # Grade.
    "differentiation_score",
    "mitotic_count",
    "necrosis",
    "reported_grade",
    "grade_specimen",
    "grade_after_neoadjuvant",
    "viable_tumour_percent",
    "mitoses_per_5mm2",
    "tumour_rupture",
    # Margins.
    "resection",
    "r_class",
    "closest_margin_mm",
    "margin_barrier",
    # Workup.
    "primary_imaging_modality",
    "primary_imaging_date",
    "chest_staging",
    "chest_staging_date",
    "metastatic_sites",
    "metastasis_count",
    # Molecular, performance status, review.
    "molecular_findings",
    "ecog",
    "pathology_review",
    "slides",
)

# The extent items (cases.clinical.Extent; meanings in cases/clinical/data/ajcc8.py), with
# the label a clinician reads and the site family that asks for them.
EXTENT_LABELS = {
    "head_neck_invasion": _lazy("Head and neck: invasion of adjoining structures"),
    "visceral_extent": _lazy("Viscera: organ involvement"),
    "multifocal_sites": _lazy("Viscera: number of sites (multifocal)"),
    "discontinuous": _lazy("Bone: discontinuous tumour (skip metastases)"),
    "pelvic_segments": _lazy("Pelvis: segments involved"),
    "extraosseous": _lazy("Pelvis: extraosseous extension"),
    "sacroiliac_to_neuroforamen": _lazy("Pelvis: extension to sacroiliac joint and neuroforamen"),
    "pelvic_vessels": _lazy("Pelvis: external iliac vessel encasement or pelvic vessel thrombus"),
    "vertebral_segments": _lazy("Spine: adjacent vertebral segments involved"),
    "nonadjacent_segments": _lazy("Spine: nonadjacent vertebral segments involved"),
    "spinal_canal": _lazy("Spine: invasion of the spinal canal"),
    "great_vessels": _lazy("Spine: gross invasion of, or tumour thrombus in, the great vessels"),
}
EXTENT_FAMILIES = {
    "head_neck_invasion": ajcc8.HEAD_NECK,
    "visceral_extent": ajcc8.VISCERAL,
    "multifocal_sites": ajcc8.VISCERAL,
    "discontinuous": ajcc8.BONE_APPENDICULAR,
    "pelvic_segments": ajcc8.BONE_PELVIS,
    "extraosseous": ajcc8.BONE_PELVIS,
    "sacroiliac_to_neuroforamen": ajcc8.BONE_PELVIS,
    "pelvic_vessels": ajcc8.BONE_PELVIS,
    "vertebral_segments": ajcc8.BONE_SPINE,
    "nonadjacent_segments": ajcc8.BONE_SPINE,
    "spinal_canal": ajcc8.BONE_SPINE,
    "great_vessels": ajcc8.BONE_SPINE,
}
HEAD_NECK_INVASION_LABELS = {
    "none": _lazy("None (T by size)"),
    "T4a": _lazy(
        "T4a: orbit, skull base/dura, central compartment viscera, facial skeleton or "
        "pterygoid muscles"
    ),
    "T4b": _lazy(
        "T4b: brain parenchyma, carotid encasement, prevertebral muscle or CNS "
        "involvement by perineural spread"
    ),
}
VISCERAL_EXTENT_LABELS = {
    "organ_confined": _lazy("T1: confined to the organ"),
    "serosa": _lazy("T2a: invades serosa or visceral peritoneum"),
    "beyond_serosa": _lazy("T2b: extends beyond the serosa (mesentery)"),
    "another_organ": _lazy("T3: invades another organ"),
    "multifocal": _lazy("T4: multifocal involvement"),
}
EXTENT_CHOICE_LABELS = {
    "head_neck_invasion": HEAD_NECK_INVASION_LABELS,
    "visceral_extent": VISCERAL_EXTENT_LABELS,
}
assert set(EXTENT_LABELS) == set(EXTENT_FIELDS)
assert set(HEAD_NECK_INVASION_LABELS) == set(ajcc8.HEAD_NECK_INVASION)
assert set(VISCERAL_EXTENT_LABELS) == set(ajcc8.VISCERAL_EXTENT_T)

EMPTY = "—"


def extent_for_family(extent: dict[str, Any], family: str) -> dict[str, Any]:
    """The extent items the site family asks for; the others are dropped (a head and neck
    invasion left behind from an earlier site choice must not reach the engine)."""
    return {
        key: value
        for key, value in extent.items()
        if EXTENT_FAMILIES.get(key) == family and value is not None
    }


# --- shown values ------------------------------------------------------------------------


def _plain(value: Any) -> str:
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime.date):
        return format_day(value)
    return str(value)


def shown(instance: models.Model, name: str) -> str:
    """A field's value as a reader sees it."""
    value = getattr(instance, name)
    if name == "entity" and value in clinical.ENTITIES:
        entity = clinical.ENTITIES[value]
        return f"{entity.name} ({entity.icdo})"
    if name == "topography" and value in clinical.TOPOGRAPHY:
        return str(clinical.TOPOGRAPHY[value])
    field = instance._meta.get_field(name)
    if field.choices and value not in (None, ""):
        return str(dict(field.flatchoices).get(value, value))
    return _plain(value)


def shown_extent(name: str, value: Any) -> str:
    labels = EXTENT_CHOICE_LABELS.get(name)
    if labels and value in labels:
        return str(labels[value])
    return _plain(value)


def treatment_summary(row: Treatment) -> str:
    """ "Radiotherapy 50 Gy / 25 fr, preoperative"."""
    head = str(row.get_kind_display())
    details: list[str] = []
    if row.kind == Treatment.Kind.SURGERY:
        details += [row.procedure, row.margin]
    elif row.kind == Treatment.Kind.RADIOTHERAPY:
        if row.dose_gy is not None:
            dose = f"{_plain(row.dose_gy)} Gy"
            head += f" {dose}" + (f" / {row.fractions} fr" if row.fractions else "")
    else:
        details.append(row.regimen)
        if row.cycles:
            details.append(_("%(n)s cycles") % {"n": row.cycles})
        if row.response:
            details.append(str(row.get_response_display()).lower())
    if row.timing:
        # "Preoperative (neoadjuvant)" reads "preoperative" inside a sentence.
        details.append(str(row.get_timing_display()).split(" (")[0].lower())
    if row.started_on:
        details.append(format_day(row.started_on))
    return ", ".join([head, *filter(None, details)])


def molecular_summary(row: MolecularResult) -> str:
    """ "FISH MDM2 amplification: detected (germline)"."""
    text = f"{row.get_method_display()} {row.target}: {str(row.get_result_display()).lower()}"
    return text + (_(" (germline)") if row.germline else "")


TREATMENT_FIELDS = (
    "kind",
    "started_on",
    "ended_on",
    "ongoing",
    "timing",
    "procedure",
    "margin",
    "dose_gy",
    "fractions",
    "regimen",
    "cycles",
    "response",
    "notes",
)
MOLECULAR_FIELDS = (
    "method",
    "target",
    "result",
    "detail",
    "germline",
    "laboratory",
    "reported_on",
)
ROWS = (
    ("treatment", Treatment, "treatments", TREATMENT_FIELDS, treatment_summary, _lazy("Treatment")),
    (
        "molecular",
        MolecularResult,
        "molecular_results",
        MOLECULAR_FIELDS,
        molecular_summary,
        _lazy("Molecular result"),
    ),
)


# --- snapshots and their difference ------------------------------------------------------


def snapshot(case: Case) -> dict[str, Any]:
    """The stored clinical record, read from the database (not from an edited instance)."""
    stored = Case.objects.get(pk=case.pk)
    rows = {
        kind: {
            row.uuid: row
            for row in model.objects.filter(case_id=case.pk).order_by("created_at", "pk")
        }
        for kind, model, *_rest in ROWS
    }
    return {"case": stored, "rows": rows}


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, str]]:
    old_case, new_case = before["case"], after["case"]
    changes: list[dict[str, str]] = []
    for name in CLINICAL_FIELDS:
        if name == "staging_extent":
            changes += _extent_changes(old_case.staging_extent or {}, new_case.staging_extent or {})
            continue
        old, new = shown(old_case, name), shown(new_case, name)
        if old != new:
            label = str(Case._meta.get_field(name).verbose_name)
            changes.append(
                {"field": name, "label": label[:1].upper() + label[1:], "old": old, "new": new}
            )
    for kind, model, _related, fields, summary, noun in ROWS:
        old_rows, new_rows = before["rows"][kind], after["rows"][kind]
        for key, row in new_rows.items():
            if key not in old_rows:
                changes.append(
                    {
                        "field": kind,
                        "label": _("%(noun)s added") % {"noun": noun},
                        "old": "",
                        "new": summary(row),
                    }
                )
                continue
            previous = old_rows[key]
            for name in fields:
                old, new = shown(previous, name), shown(row, name)
                if old != new:
                    field_label = str(model._meta.get_field(name).verbose_name)
                    changes.append(
                        {
                            "field": f"{kind}.{name}",
                            "label": _("%(noun)s changed: %(row)s: %(field)s")
                            % {"noun": noun, "row": summary(previous), "field": field_label},
                            "old": old,
                            "new": new,
                        }
                    )
        for key, row in old_rows.items():
            if key not in new_rows:
                changes.append(
                    {
                        "field": kind,
                        "label": _("%(noun)s removed") % {"noun": noun},
                        "old": summary(row),
                        "new": "",
                    }
                )
    return changes


def _extent_changes(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, str]]:
    changes = []
    for name, label in EXTENT_LABELS.items():
        before, after = shown_extent(name, old.get(name)), shown_extent(name, new.get(name))
        if before != after:
            changes.append(
                {
                    "field": f"staging_extent.{name}",
                    "label": str(label),
                    "old": before,
                    "new": after,
                }
            )
    return changes


def record_revision(*, case: Case, by, before: dict[str, Any]) -> ClinicalRevision | None:
    """Compare the stored record with `before` (a `snapshot` taken before the save) and
    write one revision when something changed; None when nothing did."""
    changes = changes_between(before, snapshot(case))
    if not changes:
        return None
    return ClinicalRevision.objects.create(case=case, edited_by=by, changes=changes)


def changed_fields(revision: ClinicalRevision | None) -> list[str]:
    """The field names of a revision, for the audit trail (never the values)."""
    if revision is None:
        return []
    return sorted({change["field"] for change in revision.changes})

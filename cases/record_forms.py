"""The clinical record as a clinician enters it: coded diagnosis and site, the extent that
decides T for each site family, grade, GIST, margins, workup, and treatment and molecular rows.

`ClinicalRecordForm` is the board's clinical edit page; the case form (cases/forms.py) adds
the request to it. Three choices:
- The WHO 2020 entity and the ICD-O-3 site are native <select>s (grouped by tumour category),
  so the form works without JavaScript; each option carries its search terms (name,
  synonyms, code) for the search box of static/js/clinical_form.js, which matches them the
  way cases.clinical.search_entities does (every word a prefix, or a code prefix).
- The extent items are real form fields (not raw JSON), one group per AJCC site family. The
  script shows the chosen family's group; the server keeps only that family's items
  (cases.history.extent_for_family), whatever was posted.
- Validation asks the engine (cases.record.assess on an unsaved copy of the case) instead of
  re-coding its rules; what the engine cannot see (which fields were filled) is checked here,
  from the entity's own flags (cases/clinical/data/who_2020.py).
"""

from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.forms.models import BaseInlineFormSet, inlineformset_factory
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from cases import clinical, history, record
from cases.clinical.data import ajcc8, icdo3_topography, who_2020
from cases.models import Case, Laterality, MolecularResult, Treatment

ENTITY_OTHER = "other"  # "not in the list": the diagnosis is described in diagnosis_other

# Fields of the clinical edit page; staging_extent and coding_review are written by clean().
CLINICAL_FORM_FIELDS = [
    name for name in history.CLINICAL_FIELDS if name not in ("staging_extent", "coding_review")
]

CATEGORY_LABELS = {
    who_2020.SOFT_TISSUE: _lazy("Soft-tissue sarcomas"),
    who_2020.SOFT_TISSUE_INTERMEDIATE: _lazy("Intermediate soft-tissue tumours"),
    who_2020.GIST: _lazy("Gastrointestinal stromal tumour"),
    who_2020.ROUND_CELL: _lazy("Undifferentiated small round cell sarcomas"),
    who_2020.BONE: _lazy("Bone sarcomas"),
    who_2020.BONE_INTERMEDIATE: _lazy("Intermediate bone tumours"),
}

TOPOGRAPHY_GROUPS = (
    ("C40", _lazy("Bone of limbs (C40)")),
    ("C41", _lazy("Bone, other sites (C41)")),
    ("C47", _lazy("Peripheral nerves (C47)")),
    ("C48", _lazy("Retroperitoneum and peritoneum (C48)")),
    ("C49", _lazy("Soft tissues (C49)")),
    ("", _lazy("Organs")),
)

# The molecular targets a sarcoma board meets (the datalist of the target box).
MOLECULAR_TARGETS = (
    "MDM2 amplification",
    "CDK4 amplification",
    "SS18::SSX",
    "DDIT3 rearrangement",
    "FUS::DDIT3",
    "EWSR1 rearrangement",
    "EWSR1::FLI1",
    "FUS rearrangement",
    "NTRK1 fusion",
    "NTRK2 fusion",
    "NTRK3 fusion",
    "ETV6::NTRK3",
    "KIT exon 9",
    "KIT exon 11",
    "KIT exon 13",
    "KIT exon 17",
    "PDGFRA exon 18",
    "PDGFRA D842V",
    "SDHB loss (IHC)",
    "INI1/SMARCB1 loss (IHC)",
    "CTNNB1",
    "CIC rearrangement",
    "BCOR alteration",
    "PAX3/PAX7::FOXO1",
    "MYOD1",
    "TFE3 rearrangement",
    "WWTR1::CAMTA1",
    "COL1A1::PDGFB",
    "TP53",
    "NF1",
    "RB1",
    "H3F3A G34",
    "IDH1/IDH2",
)

YES_NO = [("", _lazy("Not recorded")), ("yes", _lazy("Yes")), ("no", _lazy("No"))]


def _yes_no(name: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=history.EXTENT_LABELS[name],
        choices=YES_NO,
        coerce=lambda value: value == "yes",
        empty_value=None,
        required=False,
    )


def _choice(name: str, choices, coerce=str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=history.EXTENT_LABELS[name],
        choices=[("", _lazy("Not recorded")), *choices],
        coerce=coerce,
        empty_value=None,
        required=False,
    )


def extent_fields() -> dict[str, forms.Field]:
    """One form field per extent item (cases.clinical.Extent), named extent_<item>."""
    fields = {
        "head_neck_invasion": _choice(
            "head_neck_invasion", history.HEAD_NECK_INVASION_LABELS.items()
        ),
        "visceral_extent": _choice("visceral_extent", history.VISCERAL_EXTENT_LABELS.items()),
        "multifocal_sites": forms.IntegerField(
            label=history.EXTENT_LABELS["multifocal_sites"],
            min_value=2,
            required=False,
            help_text=_lazy("With multifocal involvement: 2 sites T4a, 3–5 T4b, more than 5 T4c."),
        ),
        "discontinuous": _yes_no("discontinuous"),
        "pelvic_segments": _choice(
            "pelvic_segments", [(1, "1"), (2, "2"), (3, _lazy("3 or more"))], int
        ),
        "extraosseous": _yes_no("extraosseous"),
        "sacroiliac_to_neuroforamen": _yes_no("sacroiliac_to_neuroforamen"),
        "pelvic_vessels": _yes_no("pelvic_vessels"),
        "vertebral_segments": _choice(
            "vertebral_segments", [(n, str(n)) for n in range(1, 6)], int
        ),
        "nonadjacent_segments": _yes_no("nonadjacent_segments"),
        "spinal_canal": _yes_no("spinal_canal"),
        "great_vessels": _yes_no("great_vessels"),
    }
    assert set(fields) == set(record.EXTENT_FIELDS)
    return {f"extent_{name}": field for name, field in fields.items()}


EXTENT_GROUPS = (
    (ajcc8.HEAD_NECK, _lazy("Head and neck (AJCC 8 ch. 40): T4 overrides size")),
    (
        ajcc8.VISCERAL,
        _lazy("Thoracic and abdominal viscera (AJCC 8 ch. 42): T by organ involvement"),
    ),
    (ajcc8.BONE_APPENDICULAR, _lazy("Bone, appendicular skeleton, trunk, skull (AJCC 8 ch. 38)")),
    (ajcc8.BONE_PELVIS, _lazy("Bone, pelvis (AJCC 8 ch. 38)")),
    (ajcc8.BONE_SPINE, _lazy("Bone, spine (AJCC 8 ch. 38)")),
)


class SearchableSelect(forms.Select):
    """A <select> whose options carry their search terms (data-terms) for the search box."""

    def __init__(self, terms: dict[str, str], attrs=None):
        super().__init__(attrs)
        self.terms = terms

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        if str(value) in self.terms:
            option["attrs"]["data-terms"] = self.terms[str(value)]
        return option


def entity_choices() -> list:
    groups: dict[str, list] = {category: [] for category in CATEGORY_LABELS}
    for entity in clinical.ENTITIES.values():
        groups[entity.category].append((entity.key, f"{entity.name} ({entity.icdo})"))
    return [
        ("", "—"),
        *((CATEGORY_LABELS[category], rows) for category, rows in groups.items() if rows),
        (ENTITY_OTHER, _lazy("Not in the list: describe the diagnosis below")),
    ]


def entity_terms() -> dict[str, str]:
    return {
        e.key: " ".join((e.name, *e.synonyms, e.icdo)).lower() for e in clinical.ENTITIES.values()
    }


def topography_choices() -> list:
    groups: dict[str, list] = {prefix: [] for prefix, _label in TOPOGRAPHY_GROUPS}
    for topo in clinical.TOPOGRAPHY.values():
        prefix = topo.code[:3] if topo.code[:3] in groups else ""
        groups[prefix].append((topo.code, str(topo)))
    return [("", "—"), *((label, groups[prefix]) for prefix, label in TOPOGRAPHY_GROUPS)]


def topography_terms() -> dict[str, str]:
    return {t.code: f"{t.code} {t.label}".lower() for t in clinical.TOPOGRAPHY.values()}


DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ClinicalRecordForm(forms.ModelForm):
    """The clinical record alone: what the board's clinical edit page shows."""

    class Meta:
        model = Case
        fields = CLINICAL_FORM_FIELDS
        widgets = {
            "molecular_findings": forms.Textarea(attrs={"rows": 2}),
            "size_cm": forms.NumberInput(attrs={"step": "0.1", "min": "0.1"}),
            "first_diagnosis_date": DATE,
            "recurrence_date": DATE,
            "primary_imaging_date": DATE,
            "chest_staging_date": DATE,
            "closest_margin_mm": forms.NumberInput(attrs={"step": "0.1", "min": "0"}),
        }
        help_texts = {
            "size_cm": _lazy("Greatest dimension on imaging or pathology."),
            "primary_site": _lazy(
                "Picks the AJCC 8th edition table that stages the tumour: a soft-tissue "
                "family, a bone family, or for GIST its organ (gastric or intestinal table)."
            ),
            "mitotic_count": _lazy(
                "Per 10 high-power fields: 0–9 scores 1, 10–19 scores 2, ≥20 scores 3."
            ),
            "differentiation_score": _lazy("1 resembles normal tissue; 3 is undifferentiated."),
            "nodes": _lazy("“Not assessed” is staged N0, as AJCC 8 defines N0."),
            "metastasis": _lazy("M1a/M1b are the bone chapter's; soft tissue and GIST use M1."),
            "neoadjuvant": _lazy(
                "Treatment was given before the resection that is staged: the stage is yp, "
                "with the grade of the pre-treatment biopsy."
            ),
            "grade_after_neoadjuvant": _lazy(
                "FNCLCC is not valid after neoadjuvant treatment: record the response "
                "(% viable tumour) instead."
            ),
            "mitoses_per_5mm2": _lazy("GIST: mitotic rate, low ≤ 5, high > 5 per 5 mm² (50 HPF)."),
            "diagnosis_other": _lazy("Only when the diagnosis is not in the WHO list."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        case = self.instance
        self.fields["entity"] = forms.ChoiceField(
            label=_lazy("Diagnosis (WHO 2020)"),
            required=False,
            choices=entity_choices(),
            widget=SearchableSelect(entity_terms(), attrs={"data-searchable": "entity"}),
            help_text=_lazy("Type a name, a synonym or an ICD-O code in the search box."),
        )
        self.fields["topography"] = forms.ChoiceField(
            label=_lazy("Primary site (ICD-O-3)"),
            required=False,
            choices=topography_choices(),
            widget=SearchableSelect(topography_terms(), attrs={"data-searchable": "topography"}),
        )
        if not self.is_bound:
            self.initial["entity"] = case.entity or (ENTITY_OTHER if case.diagnosis_other else "")
        for name, field in extent_fields().items():
            self.fields[name] = field
            stored = (case.staging_extent or {}).get(name.removeprefix("extent_"))
            if isinstance(stored, bool):
                stored = "yes" if stored else "no"
            self.initial.setdefault(name, stored)
        if case.coding_review:
            self.fields["coding_reviewed"] = forms.BooleanField(
                label=_lazy("I have reviewed the coding"), required=False
            )

    # --- layout ------------------------------------------------------------------------

    SECTIONS = (
        ("request", _lazy("The request"), ["question", "question_type", "urgency"]),
        (
            "diagnosis",
            _lazy("Diagnosis"),
            ["entity", "diagnosis_other", "topography", "laterality", "primary_site"],
        ),
        (
            "setting",
            _lazy("Disease setting"),
            ["disease_setting", "radiation_associated", "first_diagnosis_date", "recurrence_date"],
        ),
        (
            "tumour",
            _lazy("Tumour and stage"),
            ["size_cm", "depth", "nodes", "metastasis", "neoadjuvant"],
        ),
        (
            "grade",
            _lazy("Grade"),
            [
                "differentiation_score",
                "mitotic_count",
                "necrosis",
                "reported_grade",
                "grade_specimen",
                "grade_after_neoadjuvant",
                "viable_tumour_percent",
            ],
        ),
        ("gist", _lazy("GIST"), ["mitoses_per_5mm2", "tumour_rupture"]),
        (
            "margins",
            _lazy("Margins"),
            ["resection", "r_class", "closest_margin_mm", "margin_barrier"],
        ),
        (
            "workup",
            _lazy("Workup"),
            [
                "primary_imaging_modality",
                "primary_imaging_date",
                "chest_staging",
                "chest_staging_date",
                "metastatic_sites",
                "metastasis_count",
            ],
        ),
        (
            "molecular",
            _lazy("Molecular and review"),
            ["molecular_findings", "ecog", "pathology_review", "slides"],
        ),
    )

    @property
    def sections(self):
        """(key, legend, bound fields, extent groups) for the template, in order."""
        for key, legend, names in self.SECTIONS:
            present = [self[name] for name in names if name in self.fields]
            groups = []
            if key == "tumour":
                for family, label in EXTENT_GROUPS:
                    items = [
                        self[f"extent_{name}"]
                        for name, fam in history.EXTENT_FAMILIES.items()
                        if fam == family
                    ]
                    groups.append((family, label, items))
            if present:
                yield key, legend, present, groups

    # --- validation --------------------------------------------------------------------

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if "entity" in data:
            if data["entity"] == ENTITY_OTHER:
                data["entity"] = ""
                if not data.get("diagnosis_other", "").strip():
                    self.add_error(
                        "diagnosis_other",
                        _("Describe the diagnosis that is not in the WHO 2020 list."),
                    )
            elif data["entity"]:
                data["diagnosis_other"] = ""
        self._check_laterality(data)
        family = data.get("primary_site") or ""
        posted = {
            name: data.get(f"extent_{name}")
            for name in record.EXTENT_FIELDS
            if f"extent_{name}" in data
        }
        if posted.get("visceral_extent") != "multifocal":
            posted["multifocal_sites"] = None  # counted only for multifocal involvement
        data["staging_extent"] = history.extent_for_family(posted, family)
        if data.pop("coding_reviewed", False):
            data["coding_review"] = ""
        if not self.errors:
            self._check_with_engine(data)
        return data

    def _check_laterality(self, data: dict[str, Any]) -> None:
        topo = clinical.TOPOGRAPHY.get(data.get("topography") or "")
        side = data.get("laterality")
        if topo is None or not side:
            return
        sided = side in (Laterality.LEFT, Laterality.RIGHT, Laterality.BILATERAL)
        if topo.laterality == icdo3_topography.MIDLINE and sided:
            self.add_error(
                "laterality",
                _("%(site)s is a midline site: it has no left or right side.") % {"site": topo},
            )
        elif topo.laterality == icdo3_topography.PAIRED and not sided:
            self.add_error(
                "laterality",
                _("%(site)s is a paired site: say left, right or bilateral.") % {"site": topo},
            )

    def _check_with_engine(self, data: dict[str, Any]) -> None:
        entity = clinical.ENTITIES.get(data.get("entity") or "")
        score_fields = [
            name
            for name in ("differentiation_score", "mitotic_count", "necrosis")
            if data.get(name) is not None
        ]
        if entity is not None and score_fields and not entity.fnclcc:
            self.add_error(
                score_fields[0],
                _("FNCLCC grading is not used for %(entity)s: %(why)s Leave the scores empty.")
                % {"entity": entity.name, "why": entity.fnclcc_reason},
            )
        if score_fields and data.get("grade_after_neoadjuvant"):
            self.add_error(
                score_fields[0],
                _(
                    "FNCLCC scores are not valid on a specimen taken after neoadjuvant treatment "
                    "(treatment changes mitoses and necrosis): record the response as % viable "
                    "tumour, and the grade of the pre-treatment biopsy."
                ),
            )
        neoadjuvant = data.get("neoadjuvant") or data.get("grade_after_neoadjuvant")
        if data.get("viable_tumour_percent") is not None and not neoadjuvant:
            self.add_error(
                "viable_tumour_percent",
                _(
                    "Viable tumour (%) measures the response to neoadjuvant treatment: tick "
                    "“staged after neoadjuvant treatment (yp)” or leave it empty."
                ),
            )
        if (
            data.get("recurrence_date")
            and "disease_setting" in data
            and data["disease_setting"] != Case.Setting.LOCAL_RECURRENCE
        ):
            self.add_error(
                "recurrence_date",
                _("A date of recurrence needs the disease setting “local recurrence”."),
            )
        site = data.get("primary_site")
        if entity is not None and site and entity.ajcc_chapters:
            probe = clinical.stage(entity=entity, site=site)
            if not probe.applies:
                self.add_error("primary_site", _site_family_message(entity, site))
        if self.errors:
            return
        assessment = record.assess(self._probe(data))
        if assessment.grade.status == clinical.GradeStatus.CONFLICT and not assessment.problems:
            self.add_error("reported_grade", assessment.grade.reason)
        for problem in assessment.problems:
            self.add_error(None, problem)

    def _probe(self, data: dict[str, Any]) -> Case:
        """An unsaved copy of the case with the cleaned values, for the engine."""
        probe = copy.copy(self.instance)
        probe.__dict__.pop("clinical", None)  # the cached assessment of the stored values
        for name in (*self._meta.fields, "staging_extent"):
            if name in data:
                value = data[name]
                if value is None and name in TEXT_FIELDS:
                    value = ""
                setattr(probe, name, value)
        return probe

    def case_data(self) -> dict[str, Any]:
        """The values to save (services.case_update / case_clinical_update)."""
        names = [*self._meta.fields, "staging_extent"]
        if "coding_review" in self.cleaned_data:
            names.append("coding_review")
        return {name: self.cleaned_data[name] for name in names if name in self.cleaned_data}


TEXT_FIELDS = {
    f.name for f in Case._meta.get_fields() if f.get_internal_type() in ("CharField", "TextField")
}


def _site_family_message(entity: clinical.Entity, site: str) -> str:
    chapters = entity.ajcc_chapters
    if chapters == (who_2020.AJCC_GIST,):
        return _(
            "%(entity)s is staged by the AJCC 8 GIST chapter (ch. 43): choose its organ "
            "(“GIST: stomach”, “GIST: jejunum or ileum”...)."
        ) % {"entity": entity.name}
    if chapters == (who_2020.AJCC_BONE,):
        return _(
            "%(entity)s is a bone tumour, staged by the AJCC 8 bone chapter (ch. 38): choose "
            "a bone site family (appendicular skeleton, pelvis or spine)."
        ) % {"entity": entity.name}
    if site in ajcc8.GIST_SITES:
        return _(
            "The GIST organs pick the GIST staging table; %(entity)s is staged by a "
            "soft-tissue or bone site family."
        ) % {"entity": entity.name}
    return _(
        "%(entity)s is not staged by the AJCC 8 chapter of this site family: choose a "
        "soft-tissue site family."
    ) % {"entity": entity.name}


# --- treatment and molecular rows --------------------------------------------------------

KIND_FIELDS = {
    Treatment.Kind.SURGERY: ("procedure", "margin"),
    Treatment.Kind.RADIOTHERAPY: ("dose_gy", "fractions"),
    Treatment.Kind.SYSTEMIC: ("regimen", "cycles", "response"),
}


class TreatmentForm(forms.ModelForm):
    class Meta:
        model = Treatment
        fields = history.TREATMENT_FIELDS
        widgets = {
            "started_on": DATE,
            "ended_on": DATE,
            "dose_gy": forms.NumberInput(attrs={"step": "0.1", "min": "0.1"}),
            "notes": forms.TextInput(),
        }
        help_texts = {"procedure": None, "regimen": None}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind = data.get("kind")
        for other, names in KIND_FIELDS.items():
            if other == kind or not kind:
                continue
            for name in names:
                if data.get(name) not in (None, ""):
                    self.add_error(
                        name,
                        _("%(field)s is recorded for %(kind)s only.")
                        % {
                            "field": Treatment._meta.get_field(name).verbose_name.capitalize(),
                            "kind": other.label.lower(),
                        },
                    )
        start, end = data.get("started_on"), data.get("ended_on")
        if start and end and end < start:
            self.add_error("ended_on", _("The end date is before the start date."))
        if data.get("ongoing") and end:
            self.add_error("ongoing", _("An ongoing treatment has no end date yet."))
        return data


class MolecularForm(forms.ModelForm):
    class Meta:
        model = MolecularResult
        fields = history.MOLECULAR_FIELDS
        widgets = {
            "target": forms.TextInput(attrs={"list": "molecular-targets"}),
            "reported_on": DATE,
        }
        help_texts = {"target": None}


TreatmentFormSet = inlineformset_factory(
    Case, Treatment, form=TreatmentForm, extra=1, can_delete=True
)
MolecularFormSet = inlineformset_factory(
    Case, MolecularResult, form=MolecularForm, extra=1, can_delete=True
)
ROW_FORMSETS = (
    (TreatmentFormSet, "treatments", _lazy("Treatments"), _lazy("Add a treatment")),
    (MolecularFormSet, "molecular", _lazy("Molecular and genetic results"), _lazy("Add a result")),
)


def row_formsets(case: Case, data=None) -> list[BaseInlineFormSet]:
    """The treatment and molecular formsets of `case` (unsaved for a new case).

    A post without a formset's management form leaves those rows as they are: a client that
    does not send rows (an older form, a script) changes nothing it did not show."""
    formsets = []
    for formset_class, prefix, legend, add in ROW_FORMSETS:
        if data is not None and f"{prefix}-TOTAL_FORMS" not in data:
            formset = formset_class(instance=case, prefix=prefix)
            formset.posted = False
        else:
            formset = formset_class(data, instance=case, prefix=prefix)
            formset.posted = data is not None
        formset.legend, formset.add_label = legend, add
        formsets.append(formset)
    return formsets


def rows_valid(formsets: list[BaseInlineFormSet]) -> bool:
    return all(fs.is_valid() for fs in formsets if fs.posted)


def rows_to_save(formsets: list[BaseInlineFormSet]) -> list[BaseInlineFormSet]:
    return [fs for fs in formsets if fs.posted]

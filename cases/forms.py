from __future__ import annotations

import datetime

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from board.models import Board, User
from cases import clinical
from cases.models import Case
from cases.services import CASE_FIELDS

TEXTAREA = forms.Textarea(attrs={"rows": 4})

# The extent that decides T is asked per site family (staging_extent), not as raw JSON.
CLINICIAN_FIELDS = [name for name in CASE_FIELDS if name != "staging_extent"]
PATIENT_FIELDS = ["sex", "age", "clinical_summary", "history", "question", "urgency"]

FIELDSETS = [
    (_("Patient (pseudonymous: seen by every panelist)"), ["sex", "age"]),
    (
        _("The request"),
        [
            "question",
            "urgency",
            "clinical_summary",
            "history",
            "referring_physician",
            "referring_institution",
        ],
    ),
    (
        _("Diagnosis"),
        ["entity", "diagnosis_other", "topography", "laterality", "primary_site"],
    ),
    (
        _("Disease setting"),
        ["disease_setting", "radiation_associated", "first_diagnosis_date", "recurrence_date"],
    ),
    (_("Tumour and stage"), ["size_cm", "depth", "nodes", "metastasis", "neoadjuvant"]),
    (
        _("Grade"),
        [
            "differentiation_score",
            "mitotic_count",
            "necrosis",
            "reported_grade",
            "grade_specimen",
            "grade_after_neoadjuvant",
            "viable_tumour_percent",
            "mitoses_per_5mm2",
            "tumour_rupture",
        ],
    ),
    (_("Margins"), ["resection", "r_class", "closest_margin_mm", "margin_barrier"]),
    (
        _("Workup"),
        [
            "primary_imaging_modality",
            "primary_imaging_date",
            "chest_staging",
            "chest_staging_date",
            "metastatic_sites",
            "metastasis_count",
        ],
    ),
    (_("Molecular and review"), ["molecular_findings", "ecog", "pathology_review", "slides"]),
]


class CaseForm(forms.ModelForm):
    """The case record as a clinician fills it in."""

    class Meta:
        model = Case
        fields = CLINICIAN_FIELDS
        widgets = {
            "clinical_summary": TEXTAREA,
            "history": TEXTAREA,
            "question": forms.Textarea(attrs={"rows": 3}),
            "molecular_findings": forms.Textarea(attrs={"rows": 2}),
            "size_cm": forms.NumberInput(attrs={"step": "0.1", "min": "0.1"}),
        }
        help_texts = {
            "question": _("What exactly should the board answer? One or two sentences."),
            "size_cm": _("Greatest dimension on imaging or pathology."),
            "mitotic_count": _(
                "Per 10 high-power fields: 0–9 scores 1, 10–19 scores 2, ≥20 scores 3."
            ),
            "differentiation_score": _("1 resembles normal tissue; 3 is undifferentiated."),
            "diagnosis_other": _("Only when the diagnosis is not in the WHO list."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["question"].required = True
        self.fields["clinical_summary"].required = True
        self.__init_entity_choices()

    @property
    def fieldsets(self):
        for legend, names in FIELDSETS:
            present = [self[name] for name in names if name in self.fields]
            if present:
                yield legend, present

    def __init_entity_choices(self) -> None:
        if "entity" in self.fields:
            self.fields["entity"] = forms.ChoiceField(
                label=_("Diagnosis (WHO 2020)"),
                required=False,
                choices=[("", "—")]
                + [(e.key, f"{e.name} ({e.icdo})") for e in clinical.ENTITIES.values()],
            )
        if "topography" in self.fields:
            self.fields["topography"] = forms.ChoiceField(
                label=_("Primary site (ICD-O-3)"),
                required=False,
                choices=[("", "—")] + [(t.code, str(t)) for t in clinical.TOPOGRAPHY.values()],
            )

    def clean(self):
        data = super().clean()
        if data.get("entity"):
            data["diagnosis_other"] = ""
        return data


class PatientCaseForm(CaseForm):
    """What a patient tells the board, in their own words."""

    class Meta(CaseForm.Meta):
        fields = PATIENT_FIELDS
        labels = {
            "clinical_summary": _("Your story"),
            "history": _("Treatments so far"),
            "question": _("Your question to the board"),
        }
        help_texts = {
            "clinical_summary": _("What was found, when, and by whom. Upload your reports below."),
            "question": _("For example: is surgery the right first step for me?"),
        }


class IdentityForm(forms.Form):
    """Identifying details: only the submitter and the board's chair and coordinator see them."""

    full_name = forms.CharField(label=_("Patient's full name"), max_length=200)
    date_of_birth = forms.DateField(
        label=_("Date of birth"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    hospital_number = forms.CharField(label=_("Hospital number"), max_length=64, required=False)

    def clean_date_of_birth(self):
        dob = self.cleaned_data.get("date_of_birth")
        if dob and dob > timezone.localdate():
            raise forms.ValidationError(_("The date of birth is in the future."))
        if dob and dob < datetime.date(1900, 1, 1):
            raise forms.ValidationError(_("The date of birth is before 1900."))
        return dob


def age_on(dob: datetime.date, today: datetime.date) -> int:
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))


class BoardChoiceForm(forms.Form):
    board = forms.ModelChoiceField(
        label=_("Board"),
        queryset=Board.objects.none(),
        to_field_name="uuid",
        empty_label=None,
        help_text=_("The board that will review the case."),
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["board"].queryset = Board.objects.filter(
            Q(accepts_referrals=True) | Q(memberships__user=user)
        ).distinct()


class OpinionForm(forms.Form):
    body = forms.CharField(
        label=_("Your opinion"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=20_000,
        help_text=_("Markdown: **bold**, *italic*, lists, tables, links."),
    )
    parent = forms.UUIDField(required=False, widget=forms.HiddenInput)


class InviteForm(forms.Form):
    email = forms.EmailField(
        label=_("Expert's email"),
        help_text=_(
            "We send a link to this address. The case opens to the account of whoever "
            "accepts it (they sign in or create an account); you see who did here."
        ),
    )
    name = forms.CharField(label=_("Expert's name"), max_length=200, required=False)
    days = forms.IntegerField(label=_("Access for (days)"), min_value=1, max_value=365)


class InviteSignupForm(UserCreationForm):
    """A minimal clinician account, made through an invitation link (password validators
    apply). The email address is the one the invitation was sent to."""

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "first_name", "last_name", "specialty", "institution")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("first_name", "last_name", "specialty"):
            self.fields[name].required = True


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *Case.Status.choices]
    )
    q = forms.CharField(label=_("Search"), required=False, max_length=100)

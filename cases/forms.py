from __future__ import annotations

import datetime

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from board.models import Board, User
from cases.models import Case, SubmitterRequest
from cases.record_forms import CLINICAL_FORM_FIELDS, ClinicalRecordForm
from cases.services import CASE_FIELDS

TEXTAREA = forms.Textarea(attrs={"rows": 4})

# The request as the referring doctor writes it; the clinical record follows
# (cases/record_forms.py, shared with the board's clinical edit page).
REQUEST_FIELDS = [
    "sex",
    "age",
    "question",
    "question_type",
    "urgency",
    "clinical_summary",
    "history",
    "referring_physician",
    "referring_institution",
]
CLINICIAN_FIELDS = [*REQUEST_FIELDS, *CLINICAL_FORM_FIELDS]
PATIENT_FIELDS = ["sex", "age", "clinical_summary", "history", "question", "urgency"]
assert set(CLINICIAN_FIELDS) | {"staging_extent", "coding_review"} == set(CASE_FIELDS)


class CaseForm(ClinicalRecordForm):
    """The case record as a clinician fills it in: the request, then the clinical record."""

    SECTIONS = (
        (
            "patient",
            _("Patient (pseudonymous: seen by every panelist)"),
            ["sex", "age"],
        ),
        (
            "request",
            _("The request"),
            [
                "question",
                "question_type",
                "urgency",
                "clinical_summary",
                "history",
                "referring_physician",
                "referring_institution",
            ],
        ),
        *ClinicalRecordForm.SECTIONS[1:],
    )

    class Meta(ClinicalRecordForm.Meta):
        fields = CLINICIAN_FIELDS
        widgets = {
            **ClinicalRecordForm.Meta.widgets,
            "clinical_summary": TEXTAREA,
            "history": TEXTAREA,
            "question": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            **ClinicalRecordForm.Meta.help_texts,
            "question": _("What exactly should the board answer? One or two sentences."),
            "question_type": _("The kind of answer you need, beside the question in words."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["question"].required = True
        self.fields["clinical_summary"].required = True


class PatientCaseForm(forms.ModelForm):
    """What a patient tells the board, in their own words (the board codes the record)."""

    class Meta:
        model = Case
        fields = PATIENT_FIELDS
        widgets = {
            "clinical_summary": TEXTAREA,
            "history": TEXTAREA,
            "question": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {
            "clinical_summary": _("Your story"),
            "history": _("Treatments so far"),
            "question": _("Your question to the board"),
        }
        help_texts = {
            "clinical_summary": _("What was found, when, and by whom. Upload your reports below."),
            "question": _("For example: is surgery the right first step for me?"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["question"].required = True
        self.fields["clinical_summary"].required = True

    @property
    def sections(self):
        yield "patient", _("About you"), [self["sex"], self["age"]], []
        yield (
            "request",
            _("Your request"),
            [self[name] for name in ("question", "urgency", "clinical_summary", "history")],
            [],
        )

    def case_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in self._meta.fields}


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


# --- requests to the submitter (issue #16) -----------------------------------------------


class SubmitterRequestForm(forms.Form):
    kind = forms.ChoiceField(label=_("What is needed"), choices=SubmitterRequest.Kind.choices)
    text = forms.CharField(
        label=_("Your request"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text=_(
            "Plain text, read by the referring doctor or the patient: say what is needed and "
            "why, e.g. “the MRI of March with its report”. Do not name the patient."
        ),
    )


class RequestAnswerForm(forms.Form):
    text = forms.CharField(
        label=_("Your answer"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
        required=False,
    )

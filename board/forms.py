from django import forms
from django.utils.translation import gettext_lazy as _

from board.models import Board, Specialty, User, validate_followup_months
from board.reauth import PasswordConfirmationForm
from board.zones import zone_choices


class ProfileForm(forms.ModelForm):
    # One name per place (board.zones); a person still on an old alias keeps it on offer.
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=zone_choices)

    class Meta:
        model = User
        # The email address changes only through a confirmed link (board.email_views).
        fields = ["first_name", "last_name", "institution", "specialty", "time_zone"]
        help_texts = {
            "specialty": _("Shown next to your opinions and counted for the board's quorum."),
            "time_zone": _("Dates and times are shown in this zone, with the zone named."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = zone_choices(current=self.instance.time_zone)
        if self.instance.kind == User.Kind.PATIENT:
            # A patient has no specialty (it counts towards a board's quorum) and no
            # institution (it is printed beside a clinician's opinions) (issue #16).
            del self.fields["specialty"]
            del self.fields["institution"]


class BoardSettingsForm(forms.Form):
    BOARD_FIELDS = (
        "kind",
        "review_kind",
        "description",
        "accepts_referrals",
        "blinded_opinions",
        "share_opinions_with_referrers",
        "send_report_to_patient",
        "deidentify_imaging",
        "keep_clean_descriptors",
        "vote_mode",
        "tally_visibility",
        "consensus_rule",
        "qualified_majority",
        "turnaround_days",
        "absentees_vote_live",
        "time_zone",
        "followup_months",
    )

    # Left out of a POST: unchanged (board_update_settings takes None so).
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=Board.Kind.choices,
        required=False,
        help_text=Board._meta.get_field("kind").help_text,
    )
    review_kind = forms.ChoiceField(
        label=_("Review kind"),
        choices=Board.ReviewKind.choices,
        required=False,
        help_text=Board._meta.get_field("review_kind").help_text,
    )
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    required_specialties = forms.MultipleChoiceField(
        label=_("Specialties required for quorum"),
        choices=Specialty.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("A decision needs at least one member of each of these specialties."),
    )
    accepts_referrals = forms.BooleanField(
        label=_("Accept cases from doctors and patients outside the board"), required=False
    )
    blinded_opinions = forms.BooleanField(
        label=_("Blinded opinions"),
        required=False,
        help_text=_(
            "Panelists see the others' opinions on a case only after posting their own, "
            "or once the case has been discussed."
        ),
    )
    share_opinions_with_referrers = forms.BooleanField(
        label=_("Share the panel's opinions with referring doctors"),
        required=False,
        help_text=_("Patients never see the panel's internal opinions."),
    )
    send_report_to_patient = forms.BooleanField(
        label=_("Send the signed report to patients who submitted their own case"),
        required=False,
        help_text=_(
            "They get an email when it is ready, and read the recommendation and download "
            "the PDF on their case page. Referring doctors always get it."
        ),
    )
    # How the board decides: a vote round copies these when it opens (see cases.tally).
    vote_mode = forms.ChoiceField(
        label=_("Vote mode"),
        choices=Board.VoteMode.choices,
        help_text=Board._meta.get_field("vote_mode").help_text,
    )
    tally_visibility = forms.ChoiceField(
        label=_("Tally while a vote is open"),
        choices=Board.TallyVisibility.choices,
        help_text=Board._meta.get_field("tally_visibility").help_text,
    )
    consensus_rule = forms.ChoiceField(
        label=_("Consensus rule"), choices=Board.ConsensusRule.choices
    )
    qualified_majority = forms.ChoiceField(
        label=_("Qualified majority"),
        choices=Board.QualifiedMajority.choices,
        help_text=Board._meta.get_field("qualified_majority").help_text,
    )
    turnaround_days = forms.IntegerField(
        label=_("Stated turnaround (working days)"),
        required=False,
        min_value=1,
        max_value=365,
        help_text=Board._meta.get_field("turnaround_days").help_text,
    )
    absentees_vote_live = forms.BooleanField(
        label=_("Absent members may vote in live votes"),
        required=False,
        help_text=Board._meta.get_field("absentees_vote_live").help_text,
    )
    # One name per place (board.zones); a board still on an old alias keeps it on offer.
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        choices=zone_choices,
        initial="UTC",
        # Left out of a POST: unchanged (board_update_settings takes None so).
        required=False,
        help_text=Board._meta.get_field("time_zone").help_text,
    )
    deidentify_imaging = forms.BooleanField(
        label=_("De-identify uploaded images"),
        required=False,
        help_text=_(
            "PS3.15 Annex E profile on every DICOM upload. Turn off only for a board whose "
            "cases are all internal: images then keep the patient's name and IDs."
        ),
    )
    keep_clean_descriptors = forms.BooleanField(
        label=_("Keep cleaned image descriptions"),
        required=False,
        help_text=Board._meta.get_field("keep_clean_descriptors").help_text,
    )

    followup_months = forms.CharField(
        label=_("Follow-up points (months)"),
        max_length=40,
        # Left out of a POST: unchanged (board_update_settings takes None so).
        required=False,
        validators=[validate_followup_months],
        help_text=Board._meta.get_field("followup_months").help_text,
    )

    def clean_followup_months(self) -> str | None:
        # Absent from the POST (an older form): unchanged; present and empty: no follow-up.
        if self.add_prefix("followup_months") not in self.data:
            return None
        return self.cleaned_data["followup_months"].replace(" ", "")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = zone_choices(current=self.initial.get("time_zone") or "")

    def clean_time_zone(self) -> str | None:
        return self.cleaned_data.get("time_zone") or None

    def clean_kind(self) -> str | None:
        return self.cleaned_data.get("kind") or None

    def clean_review_kind(self) -> str | None:
        return self.cleaned_data.get("review_kind") or None


class EmailChangeForm(PasswordConfirmationForm):
    email = forms.EmailField(
        label=_("New email address"),
        help_text=_("We send a link to it; your address changes when you open that link."),
    )
    field_order = ["email", "password"]

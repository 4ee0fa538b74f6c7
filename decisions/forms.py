"""The decisions panel's forms: a proposal, a vote round, a ballot, the consensus, a signature."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from board.models import Board, User
from cases.models import Case
from cases.record_forms import ENTITY_OTHER, SearchableSelect, entity_choices, entity_terms
from decisions import guidelines
from decisions.expert import OPINION_FIELDS
from decisions.models import Consensus, ExpertOpinion, Proposal, VoteChoice, VoteRound
from decisions.services import RECOMMENDATION_FIELDS
from meetings.models import Meeting

RECOMMENDATION_WIDGETS = {"text": forms.Textarea(attrs={"rows": 4})}


class RecommendationForm(forms.ModelForm):
    """A proposal or the consensus: the guideline cited must say what its row requires (the
    version of an NCCN guideline, the reference of an institutional or national one)."""

    def clean(self):
        data = super().clean()
        if "guideline" in data:
            problems = guidelines.check(
                data["guideline"],
                version=data.get("guideline_version") or "",
                reference=data.get("guideline_reference") or "",
            )
            for field, message in problems.items():
                self.add_error(field, message)
        return data


class ProposalForm(RecommendationForm):
    prefix = "proposal"

    class Meta:
        model = Proposal
        fields = RECOMMENDATION_FIELDS
        widgets = RECOMMENDATION_WIDGETS
        labels = {"text": _("Proposal")}


class ConsensusForm(RecommendationForm):
    prefix = "consensus"

    class Meta:
        model = Consensus
        fields = RECOMMENDATION_FIELDS
        widgets = RECOMMENDATION_WIDGETS


class VoteRoundForm(forms.Form):
    """Open a vote: live in a meeting that has the case on its agenda, or by a deadline."""

    prefix = "round"
    meeting = forms.ModelChoiceField(
        label=_("In the meeting"),
        queryset=None,
        to_field_name="uuid",
        required=False,
        empty_label=_("— none: vote by deadline —"),
    )
    deadline = forms.DateTimeField(
        label=_("Deadline"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Required for a vote outside a meeting; in your time zone."),
    )

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["meeting"].queryset = Meeting.objects.filter(
            board_id=case.board_id, status=Meeting.Status.SCHEDULED, agenda_items__case=case
        )

    def clean(self):
        data = super().clean()
        if not data.get("meeting") and not data.get("deadline"):
            raise forms.ValidationError(_("Choose the meeting or set a deadline."))
        return data


ABSTAIN = "abstain"


class VoteForm(forms.Form):
    """A ballot: a position on each proposal, or one choice, as the round asks."""

    prefix = "vote"
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("If you disagree, say why: your reasons are recorded as dissent."),
    )

    def __init__(self, *args, round: VoteRound, proposals: list[Proposal], **kwargs):
        super().__init__(*args, **kwargs)
        self.round = round
        self.proposals = proposals
        if round.vote_mode == Board.VoteMode.PER_PROPOSAL:
            for proposal in proposals:
                self.fields[f"p-{proposal.uuid}"] = forms.ChoiceField(
                    label=str(proposal),
                    choices=VoteChoice.Position.choices,
                    widget=forms.RadioSelect,
                )
        else:
            choices = [(str(p.uuid), str(p)) for p in proposals]
            self.fields["choice"] = forms.ChoiceField(
                label=_("Your choice"),
                choices=[*choices, (ABSTAIN, _("Abstain"))],
                widget=forms.RadioSelect,
            )
        self.order_fields([name for name in self.fields if name != "comment"])

    @property
    def position_fields(self):
        return [(p, self[f"p-{p.uuid}"]) for p in self.proposals if f"p-{p.uuid}" in self.fields]

    def ballot(self) -> dict:
        """Keyword arguments for decisions.services.vote_cast."""
        data = self.cleaned_data
        if "choice" in self.fields:
            choice = data["choice"]
            return {"choice": None if choice == ABSTAIN else choice, "comment": data["comment"]}
        positions = {str(p.uuid): data[f"p-{p.uuid}"] for p in self.proposals}
        return {"positions": positions, "comment": data["comment"]}


class SignForm(forms.Form):
    """Signing asks for the password again: the signature is a deliberate act."""

    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ChairSignForm(SignForm):
    """The chair's signature of a consensus: where the meeting's quorum was not met, also the
    reason for signing anyway (decisions.services.consensus_sign)."""

    quorum_reason = forms.CharField(
        label=_("Why sign although the meeting's quorum was not met?"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Printed in the report beside the quorum."),
    )
    field_order = ["quorum_reason", "password"]


# --- expert services (issue #16) ----------------------------------------------------------------


class ExpertOpinionForm(forms.ModelForm):
    """The expert's opinion: for a pathology review the reviewed diagnosis (the clinical
    record's WHO 2020 list), grade and concordance; for every review a comment and a
    recommendation in plain text."""

    class Meta:
        model = ExpertOpinion
        fields = list(OPINION_FIELDS)
        widgets = {
            "comment": forms.Textarea(attrs={"rows": 5}),
            "recommendation": forms.Textarea(attrs={"rows": 4}),
        }
        help_texts = {
            "reviewed_diagnosis_other": _("Only when the diagnosis is not in the WHO list."),
            "comment": _("Plain text: the morphology, immunohistochemistry, molecular tests."),
            "recommendation": _("Plain text. This is the answer the referrer reads first."),
        }

    def __init__(self, *args, pathology: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if pathology:
            self.fields["reviewed_entity"] = forms.ChoiceField(
                label=_("Reviewed diagnosis (WHO 2020)"),
                required=False,
                choices=entity_choices(),
                widget=SearchableSelect(entity_terms(), attrs={"data-searchable": "entity"}),
            )
            if not self.is_bound and self.instance.pk and self.instance.reviewed_diagnosis_other:
                self.initial["reviewed_entity"] = self.initial.get("reviewed_entity") or (
                    ENTITY_OTHER
                )
        else:
            for name in ("reviewed_entity", "reviewed_diagnosis_other", "reviewed_grade"):
                del self.fields[name]
            del self.fields["concordance"]

    def clean_reviewed_entity(self) -> str:
        value = self.cleaned_data.get("reviewed_entity") or ""
        return "" if value == ENTITY_OTHER else value

    def clean(self):
        data = super().clean()
        if data.get("reviewed_entity") and data.get("reviewed_diagnosis_other"):
            self.add_error(
                "reviewed_diagnosis_other",
                _("Either a diagnosis from the WHO list or one described here, not both."),
            )
        return data


class ExpertAssignForm(forms.Form):
    expert = forms.ModelChoiceField(
        label=_("Expert"), queryset=User.objects.none(), to_field_name="uuid"
    )

    def __init__(self, *args, service: Board, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["expert"].queryset = User.objects.filter(
            memberships__board=service, kind=User.Kind.CLINICIAN, is_active=True
        ).order_by("last_name", "first_name")


class ExpertRequestForm(forms.Form):
    """A board asks an expert service for a review before it discusses the case."""

    service = forms.ModelChoiceField(
        label=_("Expert service"),
        queryset=Board.objects.filter(kind=Board.Kind.EXPERT_SERVICE),
        to_field_name="uuid",
    )
    expert = forms.ModelChoiceField(
        label=_("Named expert (optional)"),
        queryset=User.objects.filter(
            memberships__board__kind=Board.Kind.EXPERT_SERVICE, kind=User.Kind.CLINICIAN
        )
        .distinct()
        .order_by("last_name", "first_name"),
        to_field_name="uuid",
        required=False,
        help_text=_("Empty: the service's coordinator assigns one of its experts."),
    )
    question = forms.CharField(
        label=_("Question to the expert"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=4000,
    )


class ExpertWaiveForm(forms.Form):
    reason = forms.CharField(
        label=_("Why go ahead without the expert review?"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        help_text=_("Kept with the case and shown beside the review."),
    )

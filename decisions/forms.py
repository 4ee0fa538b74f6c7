"""The decisions panel's forms: a proposal, a vote round, a ballot, the consensus, a signature."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from board.models import Board
from cases.models import Case
from decisions import guidelines
from decisions.models import Consensus, Proposal, VoteChoice, VoteRound
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

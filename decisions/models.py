"""The board's decisions on a case: proposals, vote rounds and votes, the signed consensus and
the report of each signed version.

These models were born in ``cases`` and moved here without copying data: every table and
constraint keeps its ``cases_`` name (``db_table`` below, migrations/0001_initial.py).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from board.models import Board, Specialty
from cases.markdown import RendersMarkdown
from cases.models import Case, ExpertReview, ReportAudience, validate_entity
from decisions import guidelines
from meetings.models import Meeting


class TreatmentCategory(models.TextChoices):
    SURGERY = "surgery", _("Surgery")
    RADIOTHERAPY = "radiotherapy", _("Radiotherapy")
    SYSTEMIC_THERAPY = "systemic_therapy", _("Systemic therapy")
    MULTIMODAL = "multimodal", _("Multimodal treatment")
    FURTHER_DIAGNOSTICS = "further_diagnostics", _("Further diagnostics / re-biopsy")
    PATHOLOGY_REVIEW = "pathology_review", _("Expert pathology review")
    CLINICAL_TRIAL = "clinical_trial", _("Clinical trial referral")
    SURVEILLANCE = "surveillance", _("Surveillance")
    BEST_SUPPORTIVE_CARE = "best_supportive_care", _("Best supportive care")
    OTHER = "other", _("Other")


class EvidenceLevel(models.TextChoices):
    """ESMO levels of evidence (adapted from the Infectious Diseases Society of America)."""

    I = "I", _("I — large RCTs or meta-analyses")  # noqa: E741 (the level's name)
    II = "II", _("II — small or biased RCTs")
    III = "III", _("III — prospective cohort studies")
    IV = "IV", _("IV — retrospective or case–control studies")
    V = "V", _("V — no control group, case reports, expert opinion")
    NOT_GRADED = "not_graded", _("Not graded")


class RecommendationGrade(models.TextChoices):
    """ESMO grades of recommendation."""

    A = "A", _("A — strongly recommended")
    B = "B", _("B — generally recommended")
    C = "C", _("C — optional")
    D = "D", _("D — generally not recommended")
    E = "E", _("E — never recommended")
    NOT_GRADED = "not_graded", _("Not graded")


class Recommendation(models.Model):
    """What a proposal proposes and a consensus recommends: the same coded fields."""

    category = models.CharField(_("category"), max_length=32, choices=TreatmentCategory)
    text = models.TextField(_("recommendation"), help_text=_("Markdown."))
    # A row of the catalogue in decisions/guidelines.py; printed by its full title.
    guideline = models.CharField(
        _("guideline"),
        max_length=guidelines.KEY_MAX_LENGTH,
        choices=guidelines.CHOICES,
        default=guidelines.NONE,
    )
    guideline_version = models.CharField(
        _("guideline version"),
        max_length=32,
        blank=True,
        help_text=_("NCCN guidelines only: the version followed, e.g. “2.2025”."),
    )
    guideline_reference = models.CharField(
        _("guideline reference"),
        max_length=200,
        blank=True,
        help_text=_(
            "The section followed, e.g. “4.2”; for an institutional protocol or a national "
            "guideline, its name and reference."
        ),
    )
    evidence_level = models.CharField(
        _("level of evidence"),
        max_length=16,
        choices=EvidenceLevel,
        default=EvidenceLevel.NOT_GRADED,
    )
    grade = models.CharField(
        _("grade of recommendation"),
        max_length=16,
        choices=RecommendationGrade,
        default=RecommendationGrade.NOT_GRADED,
    )

    class Meta:
        abstract = True

    @property
    def guideline_text(self) -> str:
        """The guideline's full title with its year or version and the reference entered."""
        return guidelines.guideline_text(
            self.guideline, version=self.guideline_version, reference=self.guideline_reference
        )


class Proposal(RendersMarkdown, Recommendation):
    """One option put to the board, numbered P1, P2, ... within its case."""

    markdown_fields = {"text": "text_html"}

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="proposals")
    number = models.PositiveSmallIntegerField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    author_specialty = models.CharField(max_length=32, choices=Specialty)
    # The text rendered and sanitized when written (cases.markdown.RendersMarkdown).
    text_html = models.TextField(editable=False, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "cases_proposal"
        ordering = ["case", "number"]
        constraints = [
            models.UniqueConstraint(fields=["case", "number"], name="cases_proposal_number_unique"),
        ]

    def __str__(self) -> str:
        return f"P{self.number} {self.get_category_display()}"


class VoteRound(models.Model):
    """One vote on a case's proposals, live in a meeting or by a deadline.

    The board's rules are copied here when the round opens: changing the board's settings
    never changes a vote under way. Re-opening a vote opens a new round.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    class Result(models.TextChoices):
        ADOPTED = "adopted", _("Proposal adopted")
        NO_CONSENSUS = "no_consensus", _("No consensus")
        NO_QUORUM = "no_quorum", _("No quorum")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="vote_rounds")
    number = models.PositiveSmallIntegerField()
    meeting = models.ForeignKey(
        Meeting,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="vote_rounds",
    )
    # The ballot: the proposals standing when the round opened.
    proposals = models.ManyToManyField(
        Proposal, related_name="vote_rounds", db_table="cases_voteround_proposals"
    )
    vote_mode = models.CharField(max_length=16, choices=Board.VoteMode)
    consensus_rule = models.CharField(max_length=20, choices=Board.ConsensusRule)
    qualified_majority = models.CharField(max_length=4, choices=Board.QualifiedMajority)
    tally_visibility = models.CharField(max_length=8, choices=Board.TallyVisibility)
    # Board.absentees_vote_live when the round opened; matters only for a round in a meeting.
    absentees_may_vote = models.BooleanField(default=False)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField(default=timezone.now)
    deadline = models.DateTimeField(_("deadline"), null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status, default=Status.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Null on a closed round: closed by close_due_votes at its deadline.
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    result = models.CharField(max_length=16, choices=Result, blank=True)
    winner = models.ForeignKey(
        Proposal, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # cases.tally.Outcome.to_json(), keyed by proposal UUID.
    tally = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "cases_voteround"
        ordering = ["case", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "number"], name="cases_voteround_number_unique"
            ),
            models.UniqueConstraint(
                fields=["case"], condition=Q(status="open"), name="cases_voteround_one_open"
            ),
            models.CheckConstraint(
                condition=(Q(status="open") & Q(closed_at__isnull=True) & Q(result=""))
                | (Q(status="closed") & Q(closed_at__isnull=False) & ~Q(result="")),
                name="cases_voteround_closed_with_result",
            ),
        ]

    def __str__(self) -> str:
        return f"Vote {self.number} on {self.case}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def deadline_passed(self) -> bool:
        return self.deadline is not None and self.deadline <= timezone.now()

    @property
    def accepts_votes(self) -> bool:
        return self.is_open and not self.deadline_passed

    @property
    def tally_visible(self) -> bool:
        return not self.is_open or self.tally_visibility == Board.TallyVisibility.LIVE


class Vote(models.Model):
    """One member's ballot in one round; never changed once cast."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    round = models.ForeignKey(VoteRound, on_delete=models.CASCADE, related_name="votes")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The capacity the member sits in on the board, frozen: quorum counts it.
    voter_specialty = models.CharField(max_length=32, choices=Specialty)
    # Single-choice rounds: the chosen proposal; null is an abstention.
    choice = models.ForeignKey(
        Proposal, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    comment = models.TextField(_("comment"), blank=True)
    cast_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "cases_vote"
        ordering = ["cast_at"]
        constraints = [
            models.UniqueConstraint(fields=["round", "voter"], name="cases_vote_one_per_member"),
        ]

    def __str__(self) -> str:
        return f"Vote of {self.voter} in {self.round}"


class VoteChoice(models.Model):
    """Per-proposal rounds: one answer of one ballot on one proposal."""

    class Position(models.TextChoices):
        AGREE = "agree", _("Agree")
        DISAGREE = "disagree", _("Disagree")
        ABSTAIN = "abstain", _("Abstain")

    vote = models.ForeignKey(Vote, on_delete=models.CASCADE, related_name="positions")
    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="+")
    position = models.CharField(max_length=8, choices=Position)

    class Meta:
        db_table = "cases_votechoice"
        constraints = [
            models.UniqueConstraint(
                fields=["vote", "proposal"], name="cases_votechoice_one_per_proposal"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_position_display()} P{self.proposal.number}"


SIGNED_IS_FINAL = "a signed consensus never changes: draft a correction (a new version)"


class SignedFinalQuerySet(models.QuerySet):
    """A queryset of rows that are final once signed (``signed_at`` set)."""

    final_message = "a signed row never changes"

    # QuerySet.update and delete skip Model.save; a signed row must not slip through them.
    def update(self, **kwargs):
        if self.filter(signed_at__isnull=False).exists():
            raise TypeError(self.final_message)
        return super().update(**kwargs)

    def delete(self):
        if self.filter(signed_at__isnull=False).exists():
            raise TypeError(self.final_message)
        return super().delete()


class SignedFinal:
    """Model mixin: once signed (``signed_at`` set) a row refuses save and delete.

    The stored row decides, not the instance: its ``signed_at`` may be stale or forged. The
    database adds its own guard where it matters (the write-once triggers of the migrations).
    """

    final_message = "a signed row never changes"

    def save(self, *args, **kwargs):
        if self._stored_signed():
            raise TypeError(self.final_message)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self._stored_signed():
            raise TypeError(self.final_message)
        return super().delete(*args, **kwargs)

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    def _stored_signed(self) -> bool:
        return (
            self.pk is not None
            and type(self)._base_manager.filter(pk=self.pk, signed_at__isnull=False).exists()
        )


class ConsensusQuerySet(SignedFinalQuerySet):
    final_message = SIGNED_IS_FINAL


class Consensus(SignedFinal, Recommendation):
    """The board's recommendation on a case, one row per version.

    A draft may change; once signed, a version is final (``save`` refuses, and a trigger in
    the database: decisions 0004). A correction is a new version that ``supersedes`` the
    previous one and is signed again.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="consensus_versions")
    version = models.PositiveSmallIntegerField(default=1)
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    # The vote it follows, if any: the latest closed round when the draft was saved.
    round = models.ForeignKey(
        VoteRound, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    proposal = models.ForeignKey(
        Proposal, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    drafted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    # Why the chair signed although the meeting's attendance quorum was not met (required
    # then, and printed in the report beside the quorum line); written with the signature.
    quorum_reason = models.TextField(
        _("reason for signing without the meeting's quorum"), blank=True
    )

    objects = ConsensusQuerySet.as_manager()
    final_message = SIGNED_IS_FINAL

    class Meta:
        db_table = "cases_consensus"
        ordering = ["case", "version"]
        verbose_name_plural = "consensus versions"
        constraints = [
            models.UniqueConstraint(
                fields=["case", "version"], name="cases_consensus_version_unique"
            ),
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(signed_at__isnull=True),
                name="cases_consensus_one_draft",
            ),
            models.CheckConstraint(
                condition=Q(signed_at__isnull=True, signed_by__isnull=True)
                | Q(signed_at__isnull=False, signed_by__isnull=False),
                name="cases_consensus_signature_complete",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="cases_consensus_version_1"),
        ]

    def __str__(self) -> str:
        return f"Consensus v{self.version} on {self.case}"


class ConsensusCosignature(models.Model):
    """Another board member signs a signed consensus too (the consensus itself is untouched)."""

    consensus = models.ForeignKey(Consensus, on_delete=models.PROTECT, related_name="cosignatures")
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "cases_consensuscosignature"
        ordering = ["signed_at"]
        constraints = [
            models.UniqueConstraint(fields=["consensus", "signer"], name="cases_cosign_once"),
        ]

    def __str__(self) -> str:
        return f"{self.signer} co-signs {self.consensus}"


READY_IS_FINAL = "a ready report never changes: a correction is a new version with its own report"


class ReportQuerySet(models.QuerySet):
    # As ConsensusQuerySet: update and delete skip Model.save. Rows on their way to ready
    # (pending, failed) still change here: decisions.reports excludes ready rows itself.
    def update(self, **kwargs):
        if self.filter(status=Report.Status.READY).exists():
            raise TypeError(READY_IS_FINAL)
        return super().update(**kwargs)

    def delete(self):
        if self.filter(status=Report.Status.READY).exists():
            raise TypeError(READY_IS_FINAL)
        return super().delete()


def report_path(instance: Report, filename: str) -> str:
    consensus = instance.consensus
    name = f"{consensus.uuid.hex}-v{consensus.version}-{instance.audience}"
    return f"reports/{consensus.case.uuid.hex}/{name}.pdf"


class Report(models.Model):
    """The PDF of one signed consensus version for one audience, and where its making stands.

    Each signed version has a copy per audience the case has (decisions.reports
    ``report_audiences``): the panel's, the referring doctor's, the patient's. Each copy has
    its own status, file and SHA-256, and is rendered and asked for again on its own.

    The row is written with the signature (pending); the PDF is rendered after the signature
    commits and the row becomes ready (file and SHA-256) or failed (the chair may ask again).
    A ready report never changes: a correction is a new version with a report of its own.
    ``save``, ``delete`` and the queryset refuse it here, a trigger in the database
    (decisions 0004, board.write_once) below Django.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Being generated")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    consensus = models.ForeignKey(Consensus, on_delete=models.PROTECT, related_name="reports")
    audience = models.CharField(max_length=8, choices=ReportAudience, default=ReportAudience.PANEL)
    status = models.CharField(max_length=8, choices=Status, default=Status.PENDING)
    # When the latest attempt started: a pending report older than REPORT_PENDING_FOR
    # (decisions.reports) died with its process and counts as failed.
    requested_at = models.DateTimeField(default=timezone.now)
    error = models.CharField(max_length=200, blank=True)
    file = models.FileField(upload_to=report_path, max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    generated_at = models.DateTimeField(null=True, blank=True)

    objects = ReportQuerySet.as_manager()

    class Meta:
        db_table = "cases_report"
        constraints = [
            models.UniqueConstraint(
                fields=["consensus", "audience"], name="decisions_report_one_per_audience"
            ),
            models.CheckConstraint(
                condition=(Q(status="ready") & ~Q(sha256="") & Q(size__isnull=False) & ~Q(file=""))
                | (~Q(status="ready") & Q(sha256="")),
                name="decisions_report_ready_has_file",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_audience_display()} of the report of {self.consensus}"

    def save(self, *args, **kwargs):
        if self._stored_ready():
            raise TypeError(READY_IS_FINAL)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self._stored_ready():
            raise TypeError(READY_IS_FINAL)
        return super().delete(*args, **kwargs)

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.READY

    def _stored_ready(self) -> bool:
        # The stored row decides, as for Consensus: this instance may be stale.
        return (
            self.pk is not None
            and type(self)._base_manager.filter(pk=self.pk, status=self.Status.READY).exists()
        )


# --- follow-up of recommendations (decisions.followup) ----------------------------------------
# The categories are those the published audits of MDT recommendations count by, so that the
# board's figures compare with them: the Liverpool audit (implementation of MDT
# recommendations, 79.4 % fully, 7.8 % not implemented, patient choice the first reason) and
# the Adelaide audit (89.6 % implemented), which both class an outcome as implemented,
# partially implemented or not, and a non-implementation by patient choice, comorbidity or
# performance status, disease progression, clinician decision and logistic or access
# reasons. Each is a column (status, reason, dates), so indicators are database aggregations.


class FollowUpStatus(models.TextChoices):
    PENDING = "pending", _("Not yet recorded")
    IMPLEMENTED = "implemented", _("Implemented")
    PARTIAL = "partial", _("Partially implemented")
    NOT_IMPLEMENTED = "not_implemented", _("Not implemented")
    NOT_YET_DUE = "not_yet_due", _("Not yet due")
    LOST = "lost", _("Lost to follow-up")


# A reason is asked for these (and only these): what was not done, and why.
FOLLOWUP_NEEDS_REASON = ["partial", "not_implemented"]


class DeviationReason(models.TextChoices):
    PATIENT_CHOICE = "patient_choice", _("Patient choice")
    COMORBIDITY = "comorbidity", _("Comorbidity or performance status")
    PROGRESSION = "progression", _("Disease progression")
    CLINICIAN_DECISION = "clinician_decision", _("Clinician decision")
    LOGISTICS = "logistics", _("Logistics or access")
    OTHER = "other", _("Other")


class FollowUp(models.Model):
    """One follow-up point of one signed recommendation: due some months after the signature,
    recorded once by the referring doctor, the board's data manager or a manager.

    A recorded point never changes (a later point records what changed since). A correction
    of the recommendation takes over its pending points; a re-presentation (``represent``)
    gives the next signed version a schedule of its own.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="followups")
    consensus = models.ForeignKey(Consensus, on_delete=models.PROTECT, related_name="followups")
    months = models.PositiveSmallIntegerField(_("months after the signature"))
    due_on = models.DateField(_("due on"))
    status = models.CharField(
        _("status"), max_length=16, choices=FollowUpStatus, default=FollowUpStatus.PENDING
    )
    reason = models.CharField(
        _("reason it was not (fully) implemented"),
        max_length=20,
        choices=DeviationReason,
        blank=True,
    )
    reason_other = models.CharField(_("other reason"), max_length=200, blank=True)
    done_instead = models.TextField(_("what was done instead"), blank=True)
    # The outcome, optional: the date of each event known at this point.
    recurrence_on = models.DateField(_("local recurrence on"), null=True, blank=True)
    metastasis_on = models.DateField(_("metastasis on"), null=True, blank=True)
    death_on = models.DateField(_("death on"), null=True, blank=True)
    # The person recording asks the board to discuss the case again (e.g. progression).
    represent = models.BooleanField(_("present the case to the board again"), default=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded at"), null=True, blank=True)
    # When the point's first email went out (it is due) and its latest reminder.
    asked_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    reminders = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["case", "due_on", "months"]
        constraints = [
            models.UniqueConstraint(
                fields=["consensus", "months"], name="decisions_followup_one_per_point"
            ),
            models.CheckConstraint(
                condition=Q(months__gte=1), name="decisions_followup_months_positive"
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "pending",
                        "implemented",
                        "partial",
                        "not_implemented",
                        "not_yet_due",
                        "lost",
                    ]
                ),
                name="decisions_followup_status_valid",
            ),
            models.CheckConstraint(
                condition=(
                    Q(status="pending") & Q(recorded_at__isnull=True) & Q(recorded_by__isnull=True)
                )
                | (
                    ~Q(status="pending")
                    & Q(recorded_at__isnull=False)
                    & Q(recorded_by__isnull=False)
                ),
                name="decisions_followup_recorded_when_not_pending",
            ),
            models.CheckConstraint(
                condition=(Q(status__in=FOLLOWUP_NEEDS_REASON) & ~Q(reason=""))
                | (~Q(status__in=FOLLOWUP_NEEDS_REASON) & Q(reason="")),
                name="decisions_followup_reason_when_not_implemented",
            ),
            models.CheckConstraint(
                condition=~Q(reason="other") | ~Q(reason_other=""),
                name="decisions_followup_other_reason_has_text",
            ),
        ]
        indexes = [
            # The reminder command and the overdue list: pending points by due date.
            models.Index(fields=["status", "due_on"], name="decisions_followup_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.months}-month follow-up of {self.consensus}"

    @property
    def is_recorded(self) -> bool:
        return self.status != FollowUpStatus.PENDING

    @property
    def reason_text(self) -> str:
        if self.reason == DeviationReason.OTHER:
            return f"{self.get_reason_display()}: {self.reason_other}"
        return self.get_reason_display() if self.reason else ""


def addendum_path(instance: FollowUpAddendum, filename: str) -> str:
    consensus = instance.consensus
    name = f"{consensus.uuid.hex}-followup-{instance.number}"
    return f"reports/{consensus.case.uuid.hex}/{name}.pdf"


class FollowUpAddendum(models.Model):
    """A "follow-up addendum" to a signed report: a PDF/A of the recommendation's follow-up as
    it stood when a point was recorded, numbered 1, 2, ... per signed version. It is a new
    document beside the report, never a change of it; written once (file and SHA-256)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    consensus = models.ForeignKey(Consensus, on_delete=models.PROTECT, related_name="addenda")
    number = models.PositiveSmallIntegerField()
    followup = models.ForeignKey(FollowUp, on_delete=models.PROTECT, related_name="addenda")
    file = models.FileField(upload_to=addendum_path, max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["consensus", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["consensus", "number"], name="decisions_addendum_number_unique"
            ),
            models.CheckConstraint(
                condition=~Q(sha256="") & ~Q(file=""), name="decisions_addendum_has_file"
            ),
        ]

    def __str__(self) -> str:
        return f"Follow-up addendum {self.number} of {self.consensus}"


# --- meeting minutes (decisions.minutes) ----------------------------------------------------
# Here and not in meetings: the minutes name each case's outcome, which is the consensus's.


class MeetingMinutes(models.Model):
    """The minutes of one held meeting: drafted from its record, edited and signed by a
    manager, then stored as PDF/A with its SHA-256 and never changed."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    meeting = models.OneToOneField(Meeting, on_delete=models.PROTECT, related_name="minutes")
    notes = models.TextField(_("general notes"), blank=True)
    drafted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    file = models.FileField(upload_to="minutes/", max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "meeting minutes"
        constraints = [
            models.CheckConstraint(
                condition=(Q(signed_at__isnull=True) & Q(signed_by__isnull=True) & Q(sha256=""))
                | (
                    Q(signed_at__isnull=False)
                    & Q(signed_by__isnull=False)
                    & ~Q(sha256="")
                    & ~Q(file="")
                ),
                name="decisions_minutes_signed_with_file",
            ),
        ]

    def __str__(self) -> str:
        return f"Minutes of {self.meeting}"

    def save(self, *args, **kwargs):
        # As Consensus: the stored row decides, and a signed one never changes.
        if self.pk is not None and (
            type(self)._base_manager.filter(pk=self.pk, signed_at__isnull=False).exists()
        ):
            raise TypeError("signed minutes never change")
        super().save(*args, **kwargs)

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


class MinutesItem(models.Model):
    """One agenda item in the minutes: the case, its outcome and the action left open."""

    class Outcome(models.TextChoices):
        CONSENSUS_SIGNED = "consensus_signed", _("Consensus signed")
        DEFERRED = "deferred", _("Deferred")
        MORE_INFORMATION = "more_information", _("More information requested")

    minutes = models.ForeignKey(MeetingMinutes, on_delete=models.CASCADE, related_name="items")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+")
    position = models.SmallIntegerField()
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome)
    note = models.TextField(_("note"), blank=True)
    action = models.CharField(_("open action"), max_length=300, blank=True)
    action_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("action owner"),
    )

    class Meta:
        ordering = ["minutes", "position"]
        constraints = [
            models.UniqueConstraint(fields=["minutes", "case"], name="decisions_minutes_case_once"),
            models.CheckConstraint(
                condition=Q(outcome__in=["consensus_signed", "deferred", "more_information"]),
                name="decisions_minutes_outcome_valid",
            ),
            models.CheckConstraint(
                condition=Q(action="") | Q(action_owner__isnull=False),
                name="decisions_minutes_action_has_owner",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.case.pseudonym}"


class Concordance(models.TextChoices):
    """The expert's diagnosis against the referring one.

    The three levels of the sarcoma second-opinion studies: Thway K, Fisher C.
    "Histopathological diagnostic discrepancies in soft tissue tumours referred to a
    specialist centre", Sarcoma 2009:741975 — a major discrepancy alters management or
    prognosis (benign vs malignant, sarcoma vs another tumour, a different sarcoma type that
    is treated otherwise, a grade change that changes treatment); a minor one does not. Ray-
    Coquard I et al., Ann Oncol 2012;23:2442-9 (NETSARC/RRePS) use the same three steps as
    full concordance, partial concordance (same diagnosis, another subtype or grade) and
    complete discordance.
    """

    CONCORDANT = "concordant", _("Concordant")
    MINOR = "minor", _("Minor discordance (no change in management)")
    MAJOR = "major", _("Major discordance changing management")


SIGNED_OPINION_IS_FINAL = "a signed expert opinion never changes"


class ExpertOpinionQuerySet(SignedFinalQuerySet):
    final_message = SIGNED_OPINION_IS_FINAL


class ExpertOpinion(SignedFinal, models.Model):
    """One expert's written opinion on an expert review (cases.ExpertReview): a draft the
    expert holding the review edits, then signed and final.

    For a pathology review it codes the reviewed diagnosis (WHO 2020 entity, as the case's
    clinical record does), the grade as reported and the concordance with the referring
    diagnosis; ``referring_*`` keep the case's diagnosis as it stood at the signature, so the
    report sets the two side by side as they were compared. Comment and recommendation are
    plain text (printed with their line breaks).

    Signing the answer of a case sent to an expert service also signs the case's consensus
    (``consensus``), so that its reports per audience, their delivery and notifications are
    those of any signed consensus (decisions.reports).
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    review = models.OneToOneField(ExpertReview, on_delete=models.PROTECT, related_name="opinion")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reviewed_entity = models.CharField(
        _("reviewed diagnosis (WHO 2020)"), max_length=64, blank=True, validators=[validate_entity]
    )
    reviewed_diagnosis_other = models.CharField(
        _("reviewed diagnosis, if not in the WHO list"), max_length=200, blank=True
    )
    reviewed_grade = models.CharField(
        _("grade"), max_length=16, choices=Case.ReportedGrade, blank=True
    )
    concordance = models.CharField(
        _("concordance with the referring diagnosis"),
        max_length=12,
        choices=Concordance,
        blank=True,
    )
    comment = models.TextField(_("comment"), blank=True)
    recommendation = models.TextField(_("recommendation"), blank=True)
    referring_entity = models.CharField(max_length=64, blank=True)
    referring_diagnosis_other = models.CharField(max_length=200, blank=True)
    referring_grade = models.CharField(max_length=16, choices=Case.ReportedGrade, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    # SHA-256 of the signed fields (decisions.expert.opinion_digest), written with the
    # signature: the opinion as signed can be checked against it.
    sha256 = models.CharField(max_length=64, blank=True)
    consensus = models.OneToOneField(
        Consensus,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="expert_opinion",
    )

    objects = ExpertOpinionQuerySet.as_manager()
    final_message = SIGNED_OPINION_IS_FINAL

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(signed_at__isnull=True, signed_by__isnull=True, sha256="")
                | (Q(signed_at__isnull=False, signed_by__isnull=False) & ~Q(sha256="")),
                name="decisions_expertopinion_signature_complete",
            ),
            models.CheckConstraint(
                condition=Q(concordance__in=["", "concordant", "minor", "major"]),
                name="decisions_expertopinion_concordance_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Expert opinion on {self.review.case}"

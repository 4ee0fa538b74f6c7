"""The case record: the request, its structured sarcoma data, attachments, opinions, audit."""

from __future__ import annotations

import secrets
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from board.models import Board, Specialty
from cases import staging

# Pseudonyms avoid look-alike characters (0/O, 1/I/L) so they survive being read aloud.
_PSEUDONYM_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_pseudonym() -> str:
    return "".join(secrets.choice(_PSEUDONYM_ALPHABET) for _ in range(6))


class Histotype(models.TextChoices):
    # Soft tissue (WHO 2020)
    UPS = "ups", _("Undifferentiated pleomorphic sarcoma")
    LIPOSARCOMA_WD_DD = "liposarcoma_wd_dd", _("Well-/dedifferentiated liposarcoma")
    LIPOSARCOMA_MYXOID = "liposarcoma_myxoid", _("Myxoid liposarcoma")
    LIPOSARCOMA_PLEOMORPHIC = "liposarcoma_pleomorphic", _("Pleomorphic liposarcoma")
    LEIOMYOSARCOMA = "leiomyosarcoma", _("Leiomyosarcoma")
    SYNOVIAL = "synovial", _("Synovial sarcoma")
    MYXOFIBROSARCOMA = "myxofibrosarcoma", _("Myxofibrosarcoma")
    MPNST = "mpnst", _("Malignant peripheral nerve sheath tumour")
    RHABDOMYOSARCOMA = "rhabdomyosarcoma", _("Rhabdomyosarcoma")
    ANGIOSARCOMA = "angiosarcoma", _("Angiosarcoma")
    SOLITARY_FIBROUS = "solitary_fibrous", _("Solitary fibrous tumour, malignant")
    DESMOID = "desmoid", _("Desmoid-type fibromatosis")
    GIST = "gist", _("Gastrointestinal stromal tumour (GIST)")
    DFSP = "dfsp", _("Dermatofibrosarcoma protuberans")
    EPITHELIOID = "epithelioid", _("Epithelioid sarcoma")
    ALVEOLAR_SOFT_PART = "alveolar_soft_part", _("Alveolar soft part sarcoma")
    CLEAR_CELL = "clear_cell", _("Clear cell sarcoma")
    # Bone
    OSTEOSARCOMA = "osteosarcoma", _("Osteosarcoma")
    EWING = "ewing", _("Ewing sarcoma")
    CHONDROSARCOMA = "chondrosarcoma", _("Chondrosarcoma")
    CHORDOMA = "chordoma", _("Chordoma")
    GCTB = "gctb", _("Giant cell tumour of bone")
    OTHER = "other", _("Other (specify)")
    UNKNOWN = "unknown", _("Not yet known")


class PrimarySite(models.TextChoices):
    EXTREMITY_TRUNK = staging.TRUNK_EXTREMITY, _("Extremity / trunk wall")
    RETROPERITONEUM = staging.RETROPERITONEUM, _("Retroperitoneum")
    HEAD_NECK = "head_neck", _("Head and neck")
    VISCERAL = "visceral", _("Visceral")
    BONE = "bone", _("Bone")


class Case(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        IN_REVIEW = "in_review", _("In review")
        SCHEDULED = "scheduled", _("Scheduled")
        DISCUSSED = "discussed", _("Discussed")
        CONCLUDED = "concluded", _("Concluded")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class Kind(models.TextChoices):
        DOCTOR = "doctor", _("Doctor-to-board second opinion")
        PATIENT = "patient", _("Patient-to-board second opinion")

    class Urgency(models.TextChoices):
        ROUTINE = "routine", _("Routine (next scheduled board)")
        PRIORITY = "priority", _("Priority (within 2 weeks)")
        URGENT = "urgent", _("Urgent (treatment decision pending this week)")

    class Sex(models.TextChoices):
        FEMALE = "F", _("Female")
        MALE = "M", _("Male")
        OTHER = "X", _("Other / not stated")

    class Depth(models.TextChoices):
        SUPERFICIAL = "superficial", _("Superficial to the fascia")
        DEEP = "deep", _("Deep to the fascia")

    class Necrosis(models.IntegerChoices):
        NONE = 0, _("No necrosis (0)")
        UNDER_HALF = 1, _("< 50% (1)")
        HALF_OR_MORE = 2, _("≥ 50% (2)")

    class Nodes(models.TextChoices):
        N0 = "N0", _("N0 — no regional nodes")
        N1 = "N1", _("N1 — regional nodes")

    class Metastasis(models.TextChoices):
        M0 = "M0", _("M0 — no distant metastasis")
        M1 = "M1", _("M1 — distant metastasis")

    class Margins(models.TextChoices):
        R0 = "R0", _("R0 — microscopically clear")
        R1 = "R1", _("R1 — microscopically involved")
        R2 = "R2", _("R2 — macroscopic residual")
        NOT_RESECTED = "none", _("Not resected")

    class PathologyReview(models.TextChoices):
        PENDING = "pending", _("Pending")
        CONCORDANT = "concordant", _("Concordant")
        MINOR = "minor", _("Minor discordance")
        MAJOR = "major", _("Major discordance")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    board = models.ForeignKey(Board, on_delete=models.PROTECT, related_name="cases")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="submitted_cases"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind, default=Kind.DOCTOR)
    status = models.CharField(_("status"), max_length=16, choices=Status, default=Status.DRAFT)
    ready_at = models.DateTimeField(_("ready for board since"), null=True, blank=True)

    # What every panelist sees about the patient.
    pseudonym = models.CharField(_("pseudonym"), max_length=12, unique=True, default=new_pseudonym)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex, blank=True)
    age = models.PositiveSmallIntegerField(
        _("age (years)"), null=True, blank=True, validators=[MaxValueValidator(120)]
    )

    # The request.
    clinical_summary = models.TextField(_("clinical summary"), blank=True)
    history = models.TextField(_("history and prior treatments"), blank=True)
    question = models.TextField(_("question to the board"), blank=True)
    urgency = models.CharField(
        _("urgency"), max_length=16, choices=Urgency, default=Urgency.ROUTINE
    )
    referring_physician = models.CharField(_("referring doctor"), max_length=200, blank=True)
    referring_institution = models.CharField(_("referring institution"), max_length=200, blank=True)

    # Structured sarcoma data.
    histotype = models.CharField(_("WHO histotype"), max_length=32, choices=Histotype, blank=True)
    histotype_other = models.CharField(_("histotype, if other"), max_length=200, blank=True)
    primary_site = models.CharField(
        _("primary site"), max_length=32, choices=PrimarySite, blank=True
    )
    size_cm = models.DecimalField(
        _("tumour size (cm)"),
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.1")), MaxValueValidator(Decimal("99.9"))],
    )
    depth = models.CharField(_("depth"), max_length=16, choices=Depth, blank=True)
    differentiation_score = models.PositiveSmallIntegerField(
        _("FNCLCC differentiation score"),
        null=True,
        blank=True,
        choices=[(1, "1"), (2, "2"), (3, "3")],
    )
    mitotic_count = models.PositiveSmallIntegerField(
        _("mitoses per 10 HPF"), null=True, blank=True, validators=[MaxValueValidator(999)]
    )
    necrosis = models.PositiveSmallIntegerField(
        _("tumour necrosis"), null=True, blank=True, choices=Necrosis
    )
    nodes = models.CharField(_("regional nodes (N)"), max_length=2, choices=Nodes, blank=True)
    metastasis = models.CharField(
        _("distant metastasis (M)"), max_length=2, choices=Metastasis, blank=True
    )
    margins = models.CharField(_("surgical margins"), max_length=8, choices=Margins, blank=True)
    molecular_findings = models.TextField(_("molecular findings"), blank=True)
    ecog = models.PositiveSmallIntegerField(
        _("ECOG performance status"),
        null=True,
        blank=True,
        choices=[(i, str(i)) for i in range(5)],
    )
    pathology_review = models.CharField(
        _("expert pathology review"),
        max_length=16,
        choices=PathologyReview,
        default=PathologyReview.PENDING,
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(differentiation_score__isnull=True)
                | Q(differentiation_score__gte=1, differentiation_score__lte=3),
                name="cases_case_differentiation_1_3",
            ),
            models.CheckConstraint(
                condition=Q(necrosis__isnull=True) | Q(necrosis__lte=2),
                name="cases_case_necrosis_0_2",
            ),
            models.CheckConstraint(
                condition=Q(size_cm__isnull=True) | Q(size_cm__gt=0),
                name="cases_case_size_positive",
            ),
            models.CheckConstraint(
                condition=Q(ecog__isnull=True) | Q(ecog__lte=4), name="cases_case_ecog_0_4"
            ),
        ]
        indexes = [
            # The board queue: cases of a board filtered by status, newest first.
            models.Index(fields=["board", "status", "-created_at"], name="cases_queue_idx"),
        ]

    def __str__(self) -> str:
        return f"Case {self.pseudonym}"

    @property
    def grade(self) -> int | None:
        return staging.fnclcc_grade(
            differentiation=self.differentiation_score,
            mitoses_per_10_hpf=self.mitotic_count,
            necrosis=self.necrosis,
        )

    @property
    def mitotic_score(self) -> int | None:
        return None if self.mitotic_count is None else staging.mitotic_score(self.mitotic_count)

    @property
    def stage(self) -> staging.Stage:
        return staging.ajcc_stage(
            site=self.primary_site or None,
            size_cm=self.size_cm,
            n=self.nodes or None,
            m=self.metastasis or None,
            grade=self.grade,
        )

    @property
    def diagnosis_label(self) -> str:
        if self.histotype == Histotype.OTHER:
            return self.histotype_other
        if self.histotype in ("", Histotype.UNKNOWN):
            return ""
        return self.get_histotype_display()

    @property
    def is_closed(self) -> bool:
        return self.status in (self.Status.CONCLUDED, self.Status.WITHDRAWN)


class PatientIdentity(models.Model):
    """Who the patient is. Only the submitter and the board's chair and coordinator see it."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="identity")
    full_name = models.CharField(_("full name"), max_length=200)
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    hospital_number = models.CharField(_("hospital number"), max_length=64, blank=True)

    def __str__(self) -> str:
        # Never the name: this string can end up in logs and admin messages.
        return f"Identity of case {self.case_id}"


def attachment_path(instance: Attachment, filename: str) -> str:
    # Storage names never carry the uploader's file name (it may hold a patient's name).
    return f"cases/{instance.case.uuid.hex}/{instance.uuid.hex}.{instance.extension}"


class Attachment(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    file = models.FileField(upload_to=attachment_path, max_length=255)
    original_name = models.CharField(max_length=255)
    kind = models.CharField(max_length=8)  # detected by content: pdf, docx, ...
    mime = models.CharField(max_length=120)
    extension = models.CharField(max_length=8)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at"]

    def __str__(self) -> str:
        return self.original_name

    @property
    def inline(self) -> bool:
        return self.kind == "pdf"


class CaseInvite(models.Model):
    """An external expert invited to one case; the grant itself is a guardian object permission."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="invites")
    expert = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="case_invites"
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "expert"],
                condition=Q(revoked_at__isnull=True),
                name="cases_invite_one_open_per_expert",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.expert} on {self.case}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class Opinion(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="opinions")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The capacity the author wrote in, frozen at the time of writing.
    author_specialty = models.CharField(max_length=32, choices=Specialty)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replies"
    )
    body = models.TextField(_("opinion"))
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Opinion {self.uuid} on {self.case}"


class OpinionRevision(models.Model):
    """The text an opinion had before an edit."""

    opinion = models.ForeignKey(Opinion, on_delete=models.CASCADE, related_name="revisions")
    body = models.TextField()
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    edited_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-edited_at"]

    def __str__(self) -> str:
        return f"Revision of {self.opinion_id} at {self.edited_at:%Y-%m-%d %H:%M}"


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("audit events are append-only")

    def delete(self):
        raise TypeError("audit events are append-only")


class AuditEvent(models.Model):
    """Who did what to which patient data, when, from where, and whether it was allowed."""

    class Outcome(models.TextChoices):
        ALLOWED = "allowed", _("Allowed")
        DENIED = "denied", _("Denied")

    # PROTECT: an account or case with an audit trail is deactivated or withdrawn, never deleted.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=64)
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.PROTECT, related_name="audit_events"
    )
    object_type = models.CharField(max_length=32, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome)
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            # The case audit trail page: one case's events, newest first.
            models.Index(fields=["case", "-at"], name="cases_audit_case_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.outcome}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("audit events are append-only")


# --- decisions: proposals, vote rounds, the signed consensus ---------------------------------


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


class Guideline(models.TextChoices):
    ESMO_EURACAN = "esmo_euracan", _("ESMO–EURACAN")
    NCCN = "nccn", _("NCCN")
    NATIONAL = "national", _("National guideline")
    INSTITUTIONAL = "institutional", _("Institutional protocol")
    NONE = "none", _("None")


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
    guideline = models.CharField(
        _("guideline"), max_length=16, choices=Guideline, default=Guideline.NONE
    )
    guideline_reference = models.CharField(
        _("guideline reference"),
        max_length=200,
        blank=True,
        help_text=_("Edition and section, e.g. “ESMO–EURACAN 2021, 4.2”."),
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


class Proposal(Recommendation):
    """One option put to the board, numbered P1, P2, ... within its case."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="proposals")
    number = models.PositiveSmallIntegerField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    author_specialty = models.CharField(max_length=32, choices=Specialty)
    created_at = models.DateTimeField(auto_now_add=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
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
        "meetings.Meeting",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="vote_rounds",
    )
    # The ballot: the proposals standing when the round opened.
    proposals = models.ManyToManyField(Proposal, related_name="vote_rounds")
    vote_mode = models.CharField(max_length=16, choices=Board.VoteMode)
    consensus_rule = models.CharField(max_length=20, choices=Board.ConsensusRule)
    qualified_majority = models.CharField(max_length=4, choices=Board.QualifiedMajority)
    tally_visibility = models.CharField(max_length=8, choices=Board.TallyVisibility)
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
        constraints = [
            models.UniqueConstraint(
                fields=["vote", "proposal"], name="cases_votechoice_one_per_proposal"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_position_display()} P{self.proposal.number}"


SIGNED_IS_FINAL = "a signed consensus never changes: draft a correction (a new version)"


class ConsensusQuerySet(models.QuerySet):
    # QuerySet.update and delete skip Model.save; a signed row must not slip through them.
    def update(self, **kwargs):
        if self.filter(signed_at__isnull=False).exists():
            raise TypeError(SIGNED_IS_FINAL)
        return super().update(**kwargs)

    def delete(self):
        if self.filter(signed_at__isnull=False).exists():
            raise TypeError(SIGNED_IS_FINAL)
        return super().delete()


class Consensus(Recommendation):
    """The board's recommendation on a case, one row per version.

    A draft may change; once signed, a version is final (``save`` refuses). A correction is a
    new version that ``supersedes`` the previous one and is signed again.
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

    objects = ConsensusQuerySet.as_manager()

    class Meta:
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

    def save(self, *args, **kwargs):
        if self._stored_signed():
            raise TypeError(SIGNED_IS_FINAL)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self._stored_signed():
            raise TypeError(SIGNED_IS_FINAL)
        return super().delete(*args, **kwargs)

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    def _stored_signed(self) -> bool:
        # The stored row decides, not this instance: its signed_at may be stale or forged.
        return (
            self.pk is not None
            and type(self)._base_manager.filter(pk=self.pk, signed_at__isnull=False).exists()
        )


class ConsensusCosignature(models.Model):
    """Another board member signs a signed consensus too (the consensus itself is untouched)."""

    consensus = models.ForeignKey(Consensus, on_delete=models.PROTECT, related_name="cosignatures")
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["signed_at"]
        constraints = [
            models.UniqueConstraint(fields=["consensus", "signer"], name="cases_cosign_once"),
        ]

    def __str__(self) -> str:
        return f"{self.signer} co-signs {self.consensus}"


def report_path(instance: Report, filename: str) -> str:
    consensus = instance.consensus
    return f"reports/{consensus.case.uuid.hex}/{consensus.uuid.hex}-v{consensus.version}.pdf"


class Report(models.Model):
    """The PDF of one signed consensus version (rendered after the signature commits)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    consensus = models.OneToOneField(Consensus, on_delete=models.PROTECT, related_name="report")
    file = models.FileField(upload_to=report_path, max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Report of {self.consensus}"

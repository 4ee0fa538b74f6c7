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


class ReportAudience(models.TextChoices):
    """Who a copy of a signed report is for (decisions.Report). Each copy holds exactly what
    its audience may read; which copy a reader gets is CaseAccess.report_audience."""

    PANEL = "panel", _("Panel copy")
    REFERRER = "referrer", _("Referrer copy")
    PATIENT = "patient", _("Patient copy")


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
    """An external expert invited to one case.

    The invitation is sent to an address and carries a single-use link; it binds to the
    account that opens the link and accepts (``expert``, ``accepted_at``). The address is
    never used to look an account up: anyone can type anyone's address into a profile. The
    grant itself is a guardian object permission, given at acceptance.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="invites")
    email = models.EmailField(_("sent to"))
    name = models.CharField(_("name"), max_length=200, blank=True)
    # SHA-256 of the link's secret; the secret itself is only in the email. Empty for
    # invitations made before links existed (bound to an account from the start).
    token_hash = models.CharField(max_length=64, blank=True, editable=False)
    expert = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="case_invites",
        null=True,
        blank=True,
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "expert"],
                condition=Q(revoked_at__isnull=True),
                name="cases_invite_one_open_per_expert",
            ),
            # Also the index the link's lookup (services.invite_accept) goes by.
            models.UniqueConstraint(
                fields=["token_hash"],
                condition=~Q(token_hash=""),
                name="cases_invite_token_hash_unique",
            ),
            models.CheckConstraint(
                condition=Q(accepted_at__isnull=True, expert__isnull=True)
                | Q(accepted_at__isnull=False, expert__isnull=False),
                name="cases_invite_expert_iff_accepted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.expert or self.email} on {self.case}"

    @property
    def is_active(self) -> bool:
        return (
            self.accepted_at is not None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )


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
    """Who did what to which patient data, when, from where, and whether it was allowed.

    Append-only: here, and by a trigger in the database (cases 0005); chained (cases.audit).
    """

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
    # The hash chain (cases.audit): the SHA-256 of the event before this one (by id) and of
    # this event's canonical content, which includes previous_sha256. An altered, deleted or
    # reordered event breaks the chain; ``manage.py verify_audit`` finds where.
    previous_sha256 = models.CharField(max_length=64)
    sha256 = models.CharField(max_length=64)

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


class AuditChainHead(models.Model):
    """The newest link of the audit chain, in one row (pk 1).

    ``cases.audit.audit()`` locks this row before it reads the previous hash and writes an
    event, so writers append one after another (see there why not the last event's row).
    It also records which event is last: deleting the newest events leaves no broken link
    behind them, but it leaves this row pointing past the end of the chain.
    """

    event_id = models.BigIntegerField(null=True)
    sha256 = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="cases_auditchainhead_one_row"),
        ]

    def __str__(self) -> str:
        return f"audit chain head: event {self.event_id}"


class AuditReadWindow(models.Model):
    """How many frames and images one reader took from one series in one window.

    The window's audit event (``event``) is written when the window opens and, like every
    event, never changes; this companion row is the mutable part: ``reads`` grows as the
    reader goes on scrolling (see cases.reads for when it is brought up to date).
    """

    event = models.OneToOneField(AuditEvent, on_delete=models.PROTECT, related_name="read_window")
    reads = models.PositiveIntegerField(default=1)
    last_read_at = models.DateTimeField(default=timezone.now)
    closes_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(reads__gte=1), name="cases_auditreadwindow_reads_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reads} reads in the window of audit event {self.event_id}"

"""The committee: users and their specialties, boards, memberships and quorum."""

from __future__ import annotations

import uuid
import zoneinfo
from collections import Counter
from collections.abc import Iterable

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Specialty(models.TextChoices):
    PATHOLOGY = "pathology", _("Pathology")
    RADIOLOGY = "radiology", _("Radiology")
    MEDICAL_ONCOLOGY = "medical_oncology", _("Medical oncology")
    SURGICAL_ONCOLOGY = "surgical_oncology", _("Surgical oncology")
    RADIATION_ONCOLOGY = "radiation_oncology", _("Radiation oncology")
    OTHER = "other", _("Other")


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


class User(AbstractUser):
    """A person who signs in: a clinician (board member, referrer, expert) or a patient."""

    class Kind(models.TextChoices):
        CLINICIAN = "clinician", _("Clinician")
        PATIENT = "patient", _("Patient")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind, default=Kind.CLINICIAN)
    specialty = models.CharField(_("specialty"), max_length=32, choices=Specialty, blank=True)
    institution = models.CharField(_("institution"), max_length=200, blank=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_time_zone]
    )
    # An address asked for but not yet confirmed by its link; ``email`` stays in force until
    # then (board.email_change).
    pending_email = models.EmailField(_("new email address, unconfirmed"), blank=True)

    class Meta(AbstractUser.Meta):
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["clinician", "patient"]), name="board_user_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        full = self.get_full_name()
        if full and self.kind == self.Kind.CLINICIAN:
            return f"Dr {full}"
        return full or self.username


FOLLOWUP_MAX_MONTHS = 120


def parse_followup_months(value: str) -> list[int]:
    """ "3,6,12" -> [3, 6, 12]: whole months, rising, each between 1 and 120."""
    parts = [part.strip() for part in (value or "").split(",") if part.strip()]
    try:
        months = [int(part) for part in parts]
    except ValueError:
        raise ValidationError(
            _("Follow-up points are whole numbers of months, separated by commas.")
        ) from None
    if any(m < 1 or m > FOLLOWUP_MAX_MONTHS for m in months):
        raise ValidationError(_("Each follow-up point is between 1 and 120 months."))
    if months != sorted(set(months)):
        raise ValidationError(_("List the follow-up points once each, from the earliest."))
    return months


def validate_followup_months(value: str) -> None:
    parse_followup_months(value)


class Board(models.Model):
    """A multidisciplinary committee (tumor board) that reviews cases."""

    class DiseaseFocus(models.TextChoices):
        SARCOMA = "sarcoma", _("Sarcoma")
        GIST = "gist", _("GIST")
        BONE = "bone", _("Bone tumours")
        HEAD_NECK = "head_neck", _("Head and neck")
        THORACIC = "thoracic", _("Thoracic")
        GASTROINTESTINAL = "gastrointestinal", _("Gastrointestinal")
        NEURO = "neuro", _("Neuro-oncology")
        GENERAL = "general", _("General oncology")

    class VoteMode(models.TextChoices):
        PER_PROPOSAL = "per_proposal", _("Agree / disagree / abstain on each proposal")
        SINGLE_CHOICE = "single_choice", _("Choose one proposal")

    class TallyVisibility(models.TextChoices):
        HIDDEN = "hidden", _("Hidden until the vote closes")
        LIVE = "live", _("Live while voting")

    class ConsensusRule(models.TextChoices):
        UNANIMITY = "unanimity", _("Unanimity of the votes cast")
        QUALIFIED_MAJORITY = "qualified_majority", _("Qualified majority of the votes cast")
        MAJORITY = "majority", _("Simple majority (more than half) of the votes cast")

    class QualifiedMajority(models.TextChoices):
        # Fractions, not decimals: "0.67" would wrongly refuse exactly two votes of three.
        THREE_FIFTHS = "3/5", _("At least three fifths (60%)")
        TWO_THIRDS = "2/3", _("At least two thirds (66.7%)")
        THREE_QUARTERS = "3/4", _("At least three quarters (75%)")
        FOUR_FIFTHS = "4/5", _("At least four fifths (80%)")

    class Kind(models.TextChoices):
        BOARD = "board", _("Board: meets, discusses and votes")
        EXPERT_SERVICE = "expert_service", _("Expert service: one expert answers each case")

    class ReviewKind(models.TextChoices):
        PATHOLOGY = "pathology", _("Expert pathology review")
        SECOND_OPINION = "second_opinion", _("General second opinion")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200, unique=True)
    # An expert service (issue #16) answers each case with one expert's signed opinion: no
    # meeting, vote or quorum. Its review kind says what that opinion holds (a pathology
    # review codes the reviewed diagnosis, grade and concordance; decisions.ExpertOpinion).
    kind = models.CharField(
        _("kind"),
        max_length=16,
        choices=Kind,
        default=Kind.BOARD,
        help_text=_(
            "A board meets and votes; an expert service assigns each case to one of its "
            "experts, who answers with a signed written opinion."
        ),
    )
    review_kind = models.CharField(
        _("review kind"),
        max_length=16,
        choices=ReviewKind,
        default=ReviewKind.PATHOLOGY,
        help_text=_("Expert services only: what the expert's opinion reviews."),
    )
    disease_focus = models.CharField(
        _("disease focus"), max_length=32, choices=DiseaseFocus, default=DiseaseFocus.SARCOMA
    )
    description = models.TextField(_("description"), blank=True)
    accepts_referrals = models.BooleanField(
        _("accepts referrals"),
        default=True,
        help_text=_("Doctors and patients outside the board may submit cases to it."),
    )
    blinded_opinions = models.BooleanField(
        _("blinded opinions"),
        default=False,
        help_text=_(
            "A panelist sees the others' opinions on a case only after posting their own, "
            "or once the case has been discussed."
        ),
    )
    share_opinions_with_referrers = models.BooleanField(
        _("share opinions with referring doctors"),
        default=False,
        help_text=_(
            "Referring doctors see the panel's opinions on their cases. Patients never do."
        ),
    )
    # Referring doctors always get the signed report of the cases they submitted; for a
    # patient who submitted their own case, the board decides.
    send_report_to_patient = models.BooleanField(
        _("send the report to patients"),
        default=True,
        help_text=_(
            "A patient who submitted their own case is emailed when the signed report is "
            "ready, and reads the recommendation and downloads the PDF on the case page. "
            "Turn off where a doctor must explain the report first: patients then see "
            "neither."
        ),
    )
    deidentify_imaging = models.BooleanField(
        _("de-identify imaging"),
        default=True,
        help_text=_(
            "Apply the DICOM PS3.15 Annex E profile to every uploaded image. Turn off only "
            "for a board whose cases are all internal."
        ),
    )
    # PS3.15 E.3.5 Clean Descriptors Option (see imaging.deid).
    keep_clean_descriptors = models.BooleanField(
        _("keep cleaned image descriptions"),
        default=True,
        help_text=_(
            'When images are de-identified, keep the Study and Series Descriptions ("T1 COR", '
            '"STIR AX") after removing the patient\'s name, hospital number, dates and long '
            "numbers (DICOM PS3.15 Clean Descriptors Option). Off: descriptions are removed."
        ),
    )
    # How the board decides (see cases.tally for the exact rules). A vote round copies these
    # when it opens, so changing them never changes a vote already under way.
    vote_mode = models.CharField(
        _("vote mode"),
        max_length=16,
        choices=VoteMode,
        default=VoteMode.PER_PROPOSAL,
        help_text=_(
            "Per proposal: each member agrees, disagrees or abstains on every proposal. "
            "Single choice: each member picks one proposal (or abstains)."
        ),
    )
    tally_visibility = models.CharField(
        _("tally visibility"),
        max_length=8,
        choices=TallyVisibility,
        default=TallyVisibility.HIDDEN,
        help_text=_("Whether members see the running count of a vote before it closes."),
    )
    consensus_rule = models.CharField(
        _("consensus rule"),
        max_length=20,
        choices=ConsensusRule,
        default=ConsensusRule.QUALIFIED_MAJORITY,
    )
    qualified_majority = models.CharField(
        _("qualified majority"),
        max_length=4,
        choices=QualifiedMajority,
        default=QualifiedMajority.TWO_THIRDS,
        help_text=_(
            "Share of the votes cast (abstentions excluded) a proposal needs, at least, "
            "under the qualified-majority rule."
        ),
    )
    # What the board commits to, told to those who submit cases; the board decides it, so
    # nothing here counts days for it (no holiday calendar).
    turnaround_days = models.PositiveSmallIntegerField(
        _("stated turnaround (working days)"),
        null=True,
        blank=True,
        help_text=_(
            "Working days from submission to the board's answer, as the board commits to. "
            "Shown to referring doctors and patients. Leave empty to state none."
        ),
    )
    # A vote opened live in a meeting takes ballots from the members present in it (the
    # meeting's attendance), unless the board lets absent members vote too. Copied by a vote
    # round when it opens, like the rules above.
    absentees_vote_live = models.BooleanField(
        _("absent members may vote in live votes"),
        default=False,
        help_text=_(
            "A vote opened live in a meeting takes ballots only from the members present in "
            "the meeting, unless this is on."
        ),
    )
    # The zone the board works in: its reports print every time in it, with the zone named,
    # and a new meeting is offered in it first.
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text=_(
            "The zone the board works in: times in its reports are printed in it, and new "
            "meetings are planned in it unless the chair picks another."
        ),
    )
    # Follow-up of recommendations (decisions.followup): the months after a signed
    # recommendation at which its implementation is asked for.
    followup_months = models.CharField(
        _("follow-up points (months)"),
        max_length=40,
        default="3,6,12",
        validators=[validate_followup_months],
        help_text=_(
            "Months after the signature at which the referring doctor (or the data manager) "
            "is asked whether the recommendation was followed, separated by commas, e.g. "
            "“3,6,12”. Empty: no follow-up."
        ),
    )
    # Receiving from a PACS (imaging.dimse): the AE title a hospital's archive sends this
    # board's studies to, and the tag (besides the Accession Number) that may carry a case's
    # pseudonym so a study goes straight to that case. Blank: the board receives nothing.
    dicom_ae_title = models.CharField(
        _("DICOM AE title"),
        max_length=16,
        blank=True,
        help_text=_(
            "The Application Entity title that archives send this board's studies to "
            "(up to 16 letters, digits, spaces or _-.). Leave empty to receive nothing."
        ),
    )
    dicom_case_tag = models.CharField(
        _("DICOM tag naming the case"),
        max_length=64,
        blank=True,
        help_text=_(
            "A DICOM keyword (for example StudyID) whose value, like the Accession Number, "
            "may hold a case's code to send a study straight to that case."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            # The listener finds the board by the called AE title: one board per title.
            models.UniqueConstraint(
                fields=["dicom_ae_title"],
                condition=~Q(dicom_ae_title=""),
                name="board_board_dicom_ae_title_unique",
            ),
            models.CheckConstraint(
                condition=Q(turnaround_days__isnull=True) | Q(turnaround_days__gte=1),
                name="board_board_turnaround_positive",
            ),
            models.CheckConstraint(
                condition=Q(vote_mode__in=["per_proposal", "single_choice"]),
                name="board_board_vote_mode_valid",
            ),
            models.CheckConstraint(
                condition=Q(consensus_rule__in=["unanimity", "qualified_majority", "majority"]),
                name="board_board_consensus_rule_valid",
            ),
            models.CheckConstraint(
                condition=Q(qualified_majority__in=["3/5", "2/3", "3/4", "4/5"]),
                name="board_board_qualified_majority_valid",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["board", "expert_service"]), name="board_board_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(review_kind__in=["pathology", "second_opinion"]),
                name="board_board_review_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def followup_points(self) -> list[int]:
        return parse_followup_months(self.followup_months)

    @property
    def is_expert_service(self) -> bool:
        return self.kind == self.Kind.EXPERT_SERVICE

    @property
    def is_pathology_review(self) -> bool:
        return self.is_expert_service and self.review_kind == self.ReviewKind.PATHOLOGY

    def quorum_shortfall(self, present: Iterable[str]) -> dict[str, int]:
        """How many of each required specialty are missing, given those present.

        ``present`` holds one specialty per person (duplicates count).
        An empty result means quorum is met.
        """
        have = Counter(present)
        return {
            req.specialty: req.minimum - have[req.specialty]
            for req in self.quorum_requirements.all()
            if have[req.specialty] < req.minimum
        }


class QuorumRequirement(models.Model):
    """A specialty that must be present (and vote) for the board to decide."""

    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="quorum_requirements")
    specialty = models.CharField(_("specialty"), max_length=32, choices=Specialty)
    minimum = models.PositiveSmallIntegerField(_("minimum present"), default=1)

    class Meta:
        ordering = ["specialty"]
        constraints = [
            models.UniqueConstraint(
                fields=["board", "specialty"], name="board_quorum_one_per_specialty"
            ),
            models.CheckConstraint(condition=Q(minimum__gte=1), name="board_quorum_minimum_1"),
        ]

    def __str__(self) -> str:
        return f"{self.get_specialty_display()} ×{self.minimum}"


class Membership(models.Model):
    class Role(models.TextChoices):
        CHAIR = "chair", _("Chair")
        COORDINATOR = "coordinator", _("Coordinator")
        MEMBER = "member", _("Member")

    # "Manager" is Consilium's one word for who runs a board: its chair and its coordinators
    # triage cases, schedule meetings, run votes and sign. Every check asks is_manager.
    MANAGING_ROLES = frozenset({Role.CHAIR, Role.COORDINATOR})

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=Role, default=Role.MEMBER)
    # The capacity in which this person sits on this board (a surgeon may sit
    # on one board as surgical oncologist and on another as "other").
    specialty = models.CharField(_("specialty"), max_length=32, choices=Specialty)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["board__name", "role", "user__last_name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "board"], name="board_membership_one_per_user"),
            models.CheckConstraint(
                condition=Q(role__in=["chair", "coordinator", "member"]),
                name="board_membership_role_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()}, {self.board}"

    @property
    def is_manager(self) -> bool:
        return self.role in self.MANAGING_ROLES


class DataManager(models.Model):
    """A board's data manager: records the follow-up of the board's recommendations.

    Not a Membership on purpose: a membership makes its holder a panelist everywhere
    (case pages and opinions, votes and quorum, meeting invitations). A data manager sees
    the pseudonymous follow-up of the board's cases only (decisions.followup.FollowUpAccess),
    never the panel's discussion nor the patient's identity.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="data_manager_seats")
    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="data_managers")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "board"], name="board_datamanager_one_per_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — data manager, {self.board}"


class ApiToken(models.Model):
    """A personal token for DICOMweb clients. Only its SHA-256 is kept; it is shown once.

    It expires (settings.API_TOKEN_DAYS), and its scope says what it may do: read a case's
    images, or read and send them (STOW-RS).
    """

    class Scope(models.TextChoices):
        IMAGING_READ = "imaging_read", _("Read images")
        IMAGING_UPLOAD = "imaging_upload", _("Read and upload images")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    key_hash = models.CharField(max_length=64)
    prefix = models.CharField(_("prefix"), max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)
    scope = models.CharField(_("scope"), max_length=16, choices=Scope, default=Scope.IMAGING_READ)
    expires_at = models.DateTimeField(_("expires"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(_("last used from"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]
        constraints = [
            # Also the index that tokens.user_for_bearer looks the hash up by.
            models.UniqueConstraint(fields=["key_hash"], name="board_apitoken_key_hash_unique"),
            models.CheckConstraint(
                condition=Q(scope__in=["imaging_read", "imaging_upload"]),
                name="board_apitoken_scope_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def may_upload(self) -> bool:
        return self.scope == self.Scope.IMAGING_UPLOAD


class UserSession(models.Model):
    """A signed-in browser session, for "Your sessions" and for ending it from elsewhere.

    The session key is kept while the session is open so that ending it here deletes it from
    the session store (whatever the engine); the store holds the same key. It is blanked when
    the session ends.
    """

    class EndReason(models.TextChoices):
        LOGOUT = "logout", _("Signed out")
        IDLE = "idle", _("Idle timeout")
        LIFETIME = "lifetime", _("Absolute lifetime reached")
        ENDED = "ended", _("Ended from another session")
        PASSWORD = "password_changed", _("Password changed")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="browser_sessions")
    session_key = models.CharField(max_length=40, blank=True)
    user_agent = models.CharField(_("device"), max_length=200, blank=True)
    ip = models.GenericIPAddressField(_("address"), null=True, blank=True)
    signed_in_at = models.DateTimeField(_("signed in"))
    last_activity_at = models.DateTimeField(_("last activity"))
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    end_reason = models.CharField(_("why it ended"), max_length=20, choices=EndReason, blank=True)

    class Meta:
        ordering = ["-last_activity_at"]
        constraints = [
            # Also the index the middleware and the logout receiver look a session up by.
            models.UniqueConstraint(
                fields=["session_key"],
                condition=Q(ended_at__isnull=True),
                name="board_usersession_one_open_per_key",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | (~Q(end_reason="") & Q(session_key="")),
                name="board_usersession_ended_has_reason_and_no_key",
            ),
        ]
        indexes = [
            # "Your sessions" and the password-change sweep: one user's open sessions.
            models.Index(fields=["user", "ended_at"], name="board_usersession_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.ip or '?'} ({self.signed_in_at:%Y-%m-%d %H:%M})"

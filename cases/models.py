"""The case record: the request, its structured sarcoma data, attachments, opinions, audit."""

from __future__ import annotations

import secrets
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from board.models import Board, Specialty
from cases import clinical, record
from cases.clinical.data import ajcc8
from cases.markdown import RendersMarkdown

# Pseudonyms avoid look-alike characters (0/O, 1/I/L) so they survive being read aloud.
_PSEUDONYM_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_pseudonym() -> str:
    return "".join(secrets.choice(_PSEUDONYM_ALPHABET) for _ in range(6))


def validate_entity(value: str) -> None:
    if value and value not in clinical.ENTITIES:
        raise ValidationError(_("Choose a diagnosis from the WHO 2020 list."), code="entity")


def validate_topography(value: str) -> None:
    if value and value not in clinical.TOPOGRAPHY:
        raise ValidationError(_("Choose an ICD-O-3 site from the list."), code="topography")


class Histotype(models.TextChoices):
    """The short diagnosis list used before WHO 2020 coding (field `Case.histotype`, kept
    read-only for the record). New cases are coded to `Case.entity`; migration 0008 mapped
    these values to entities, and flagged the ambiguous ones for a person to review."""

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
    """The AJCC 8th edition site family (or, for GIST, the organ) that picks the staging
    table: cases/clinical/data/ajcc8.py. The ICD-O-3 code is `Case.topography`."""

    TRUNK_EXTREMITY = ajcc8.TRUNK_EXTREMITY, _("Soft tissue: trunk or extremity")
    RETROPERITONEUM = ajcc8.RETROPERITONEUM, _("Soft tissue: retroperitoneum")
    HEAD_NECK = ajcc8.HEAD_NECK, _("Soft tissue: head and neck")
    VISCERAL = ajcc8.VISCERAL, _("Soft tissue: thoracic or abdominal viscera")
    BONE_APPENDICULAR = (
        ajcc8.BONE_APPENDICULAR,
        _("Bone: appendicular skeleton, trunk, skull or facial bones"),
    )
    BONE_PELVIS = ajcc8.BONE_PELVIS, _("Bone: pelvis")
    BONE_SPINE = ajcc8.BONE_SPINE, _("Bone: spine")
    GIST_STOMACH = "stomach", _("GIST: stomach")
    GIST_OMENTUM = "omentum", _("GIST: omentum")
    GIST_DUODENUM = "duodenum", _("GIST: duodenum")
    GIST_JEJUNUM_ILEUM = "jejunum_ileum", _("GIST: jejunum or ileum")
    GIST_OESOPHAGUS = "oesophagus", _("GIST: oesophagus")
    GIST_COLON = "colon", _("GIST: colon")
    GIST_RECTUM = "rectum", _("GIST: rectum")
    GIST_MESENTERY = "mesentery", _("GIST: mesentery")
    GIST_PERITONEUM = "peritoneum", _("GIST: peritoneum")


class Laterality(models.TextChoices):
    LEFT = "left", _("Left")
    RIGHT = "right", _("Right")
    MIDLINE = "midline", _("Midline")
    BILATERAL = "bilateral", _("Bilateral")
    NOT_APPLICABLE = "not_applicable", _("Not applicable")


class QuestionType(models.TextChoices):
    DIAGNOSIS = "diagnosis", _("Diagnosis confirmation")
    PATHOLOGY_REVIEW = "pathology_review", _("Pathology review")
    TREATMENT = "treatment", _("Treatment recommendation")
    SURGERY = "surgery", _("Surgical planning")
    RADIOTHERAPY = "radiotherapy", _("Radiotherapy planning")
    SYSTEMIC = "systemic", _("Systemic therapy")
    FOLLOW_UP = "follow_up", _("Follow-up strategy")
    TRIAL = "trial", _("Trial eligibility")


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
        N0 = "N0", _("N0 — no regional nodal metastasis")
        N1 = "N1", _("N1 — regional nodal metastasis")
        NOT_ASSESSED = "not_assessed", _("Not assessed (staged N0, as AJCC 8 defines N0)")

    class Metastasis(models.TextChoices):
        M0 = "M0", _("M0 — no distant metastasis")
        M1 = "M1", _("M1 — distant metastasis")
        M1A = "M1a", _("M1a — lung only (bone sarcoma)")
        M1B = "M1b", _("M1b — other distant sites (bone sarcoma)")

    class Resection(models.TextChoices):
        NOT_RESECTED = "not_resected", _("Not resected (biopsy only)")
        PLANNED = "planned", _("Planned resection")
        UNPLANNED = "unplanned", _("Unplanned (“whoops”) excision")

    class RClass(models.TextChoices):
        R0 = "R0", _("R0 — microscopically clear")
        R1 = "R1", _("R1 — microscopically involved")
        R2 = "R2", _("R2 — macroscopic residual")
        RX = "RX", _("RX — cannot be assessed")

    class PathologyReview(models.TextChoices):
        PENDING = "pending", _("Pending")
        CONCORDANT = "concordant", _("Concordant")
        MINOR = "minor", _("Minor discordance")
        MAJOR = "major", _("Major discordance")

    class Setting(models.TextChoices):
        PRIMARY = "primary", _("Primary tumour")
        LOCAL_RECURRENCE = "local_recurrence", _("Local recurrence")
        METASTATIC = "metastatic", _("Metastatic disease")

    class ReportedGrade(models.TextChoices):
        G1 = clinical.ReportedGrade.G1, _("G1")
        G2 = clinical.ReportedGrade.G2, _("G2")
        G3 = clinical.ReportedGrade.G3, _("G3")
        LOW = clinical.ReportedGrade.LOW, _("Low grade")
        HIGH = clinical.ReportedGrade.HIGH, _("High grade")
        GX = clinical.ReportedGrade.GX, _("GX — cannot be assessed")
        NOT_APPLICABLE = clinical.ReportedGrade.NOT_APPLICABLE, _("Not applicable")

    class Specimen(models.TextChoices):
        CORE_BIOPSY = clinical.Specimen.CORE_BIOPSY, _("Core needle biopsy")
        INCISIONAL = clinical.Specimen.INCISIONAL, _("Incisional biopsy")
        EXCISION = clinical.Specimen.EXCISION, _("Excision / resection")

    class ImagingModality(models.TextChoices):
        MRI = "MR", _("MRI")
        CT = "CT", _("CT")
        PET_CT = "PT", _("PET-CT")
        ULTRASOUND = "US", _("Ultrasound")
        RADIOGRAPH = "CR", _("Radiograph")
        OTHER = "OT", _("Other")

    class ChestStaging(models.TextChoices):
        NOT_DONE = "not_done", _("Not done")
        NEGATIVE = "negative", _("No metastases")
        INDETERMINATE = "indeterminate", _("Indeterminate nodules")
        METASTASES = "metastases", _("Metastases")

    class Slides(models.TextChoices):
        NOT_NEEDED = "not_needed", _("Not needed for this question")
        REQUESTED = "requested", _("Requested from the referring laboratory")
        SENT = "sent", _("Sent, on their way")
        RECEIVED = "received", _("Received by the reviewing pathologist")
        DIGITAL = "digital", _("Available as whole-slide images")

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
    question_type = models.CharField(
        _("type of question"), max_length=24, choices=QuestionType, blank=True
    )
    urgency = models.CharField(
        _("urgency"), max_length=16, choices=Urgency, default=Urgency.ROUTINE
    )
    referring_physician = models.CharField(_("referring doctor"), max_length=200, blank=True)
    referring_institution = models.CharField(_("referring institution"), max_length=200, blank=True)

    # Diagnosis: WHO 2020 entity (cases/clinical/data/who_2020.py) and ICD-O-3 topography.
    entity = models.CharField(
        _("diagnosis (WHO 2020)"), max_length=64, blank=True, validators=[validate_entity]
    )
    diagnosis_other = models.CharField(
        _("diagnosis, if not in the WHO list"), max_length=200, blank=True
    )
    coding_review = models.CharField(
        _("coding to review"),
        max_length=500,
        blank=True,
        help_text=_(
            "Set by migration 0008 where a value recorded before WHO coding named more than "
            "one entity or site: a person chooses, then clears this."
        ),
    )
    histotype = models.CharField(
        _("histotype recorded before WHO coding"),
        max_length=32,
        choices=Histotype,
        blank=True,
        editable=False,
    )
    topography = models.CharField(
        _("primary site (ICD-O-3)"), max_length=8, blank=True, validators=[validate_topography]
    )
    laterality = models.CharField(_("laterality"), max_length=16, choices=Laterality, blank=True)
    primary_site = models.CharField(
        _("site family for staging"), max_length=32, choices=PrimarySite, blank=True
    )

    # Disease setting.
    disease_setting = models.CharField(
        _("disease setting"), max_length=24, choices=Setting, blank=True
    )
    radiation_associated = models.BooleanField(_("radiation-associated sarcoma"), default=False)
    first_diagnosis_date = models.DateField(_("date of first diagnosis"), null=True, blank=True)
    recurrence_date = models.DateField(_("date of recurrence"), null=True, blank=True)

    # The tumour and its stage (AJCC 8th edition, chosen by entity and site family).
    size_cm = models.DecimalField(
        _("tumour size (cm)"),
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.1")), MaxValueValidator(Decimal("99.9"))],
    )
    depth = models.CharField(_("depth"), max_length=16, choices=Depth, blank=True)
    staging_extent = models.JSONField(
        _("extent for T"),
        default=dict,
        blank=True,
        help_text=_("What decides T where size does not: cases.clinical.Extent's fields."),
    )
    nodes = models.CharField(_("regional nodes (N)"), max_length=16, choices=Nodes, blank=True)
    metastasis = models.CharField(
        _("distant metastasis (M)"), max_length=3, choices=Metastasis, blank=True
    )
    neoadjuvant = models.BooleanField(_("staged after neoadjuvant treatment (yp)"), default=False)

    # Grade: FNCLCC scores, or the grade as reported, and the specimen it came from.
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
    reported_grade = models.CharField(
        _("grade as reported"), max_length=16, choices=ReportedGrade, blank=True
    )
    grade_specimen = models.CharField(
        _("graded specimen"), max_length=16, choices=Specimen, blank=True
    )
    grade_after_neoadjuvant = models.BooleanField(
        _("graded specimen taken after neoadjuvant treatment"), default=False
    )
    viable_tumour_percent = models.PositiveSmallIntegerField(
        _("viable tumour after neoadjuvant treatment (%)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(100)],
    )
    # GIST (AJCC 8 ch. 43 and the risk classifications).
    mitoses_per_5mm2 = models.PositiveSmallIntegerField(
        _("mitoses per 5 mm²"), null=True, blank=True, validators=[MaxValueValidator(999)]
    )
    tumour_rupture = models.BooleanField(_("tumour rupture"), null=True, blank=True)

    # Margins of the resection that counts (each surgery's margin is on its Treatment row).
    resection = models.CharField(_("resection"), max_length=16, choices=Resection, blank=True)
    r_class = models.CharField(_("residual tumour (R)"), max_length=2, choices=RClass, blank=True)
    closest_margin_mm = models.DecimalField(
        _("closest margin (mm)"),
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    margin_barrier = models.CharField(
        _("anatomical barrier at the closest margin"), max_length=200, blank=True
    )

    # Workup.
    primary_imaging_modality = models.CharField(
        _("imaging of the primary"), max_length=2, choices=ImagingModality, blank=True
    )
    primary_imaging_date = models.DateField(_("date of primary imaging"), null=True, blank=True)
    chest_staging = models.CharField(
        _("chest staging CT"), max_length=16, choices=ChestStaging, blank=True
    )
    chest_staging_date = models.DateField(_("date of chest CT"), null=True, blank=True)
    metastatic_sites = models.CharField(
        _("metastatic sites"), max_length=200, blank=True, help_text=_("e.g. lung, liver, bone")
    )
    metastasis_count = models.PositiveSmallIntegerField(
        _("number of metastases"), null=True, blank=True
    )

    molecular_findings = models.TextField(
        _("molecular findings (free text)"),
        blank=True,
        help_text=_("Each test is best recorded as its own result below."),
    )
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
    slides = models.CharField(_("pathology slides"), max_length=16, choices=Slides, blank=True)

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
            models.CheckConstraint(
                condition=Q(viable_tumour_percent__isnull=True) | Q(viable_tumour_percent__lte=100),
                name="cases_case_viable_0_100",
            ),
        ]
        indexes = [
            # The board queue: cases of a board filtered by status, newest first.
            models.Index(fields=["board", "status", "-created_at"], name="cases_queue_idx"),
        ]

    def __str__(self) -> str:
        return f"Case {self.pseudonym}"

    @cached_property
    def clinical(self) -> record.ClinicalRecord:
        """Grade, stage and GIST risk from the case's fields (cases/record.py)."""
        return record.assess(self)

    @property
    def entity_obj(self) -> clinical.Entity | None:
        return clinical.ENTITIES.get(self.entity) if self.entity else None

    @property
    def topography_obj(self) -> clinical.Topography | None:
        return clinical.TOPOGRAPHY.get(self.topography) if self.topography else None

    @property
    def diagnosis_label(self) -> str:
        entity = self.entity_obj
        if entity is not None:
            return entity.name
        return self.diagnosis_other

    @property
    def diagnosis_code(self) -> str:
        """The ICD-O-3 morphology/behaviour code, "8858/3", when the entity is coded."""
        entity = self.entity_obj
        return entity.icdo if entity else ""

    @property
    def is_closed(self) -> bool:
        return self.status in (self.Status.CONCLUDED, self.Status.WITHDRAWN)


class Treatment(models.Model):
    """One treatment given before the board: a surgery, a course of radiotherapy or a line
    of systemic therapy. Prior and current treatments are rows, newest first."""

    class Kind(models.TextChoices):
        SURGERY = "surgery", _("Surgery")
        RADIOTHERAPY = "radiotherapy", _("Radiotherapy")
        SYSTEMIC = "systemic", _("Systemic therapy")

    class Timing(models.TextChoices):
        PREOPERATIVE = "preoperative", _("Preoperative (neoadjuvant)")
        POSTOPERATIVE = "postoperative", _("Postoperative (adjuvant)")
        DEFINITIVE = "definitive", _("Definitive")
        PALLIATIVE = "palliative", _("Palliative")

    class Response(models.TextChoices):
        # RECIST 1.1 (Eisenhauer et al., Eur J Cancer 2009;45:228-47).
        CR = "CR", _("Complete response")
        PR = "PR", _("Partial response")
        SD = "SD", _("Stable disease")
        PD = "PD", _("Progressive disease")
        NE = "NE", _("Not evaluable")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="treatments")
    kind = models.CharField(_("treatment"), max_length=16, choices=Kind)
    started_on = models.DateField(_("start date"), null=True, blank=True)
    ended_on = models.DateField(_("end date"), null=True, blank=True)
    ongoing = models.BooleanField(_("ongoing"), default=False)
    timing = models.CharField(_("timing"), max_length=16, choices=Timing, blank=True)
    # Surgery.
    procedure = models.CharField(
        _("procedure"), max_length=200, blank=True, help_text=_("e.g. wide local excision")
    )
    margin = models.CharField(_("margin"), max_length=2, choices=Case.RClass, blank=True)
    # Radiotherapy.
    dose_gy = models.DecimalField(
        _("total dose (Gy)"),
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.1"))],
    )
    fractions = models.PositiveSmallIntegerField(_("fractions"), null=True, blank=True)
    # Systemic therapy.
    regimen = models.CharField(
        _("regimen"), max_length=200, blank=True, help_text=_("e.g. doxorubicin + ifosfamide")
    )
    cycles = models.PositiveSmallIntegerField(_("cycles"), null=True, blank=True)
    response = models.CharField(_("response"), max_length=2, choices=Response, blank=True)
    notes = models.CharField(_("notes"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = [models.F("started_on").desc(nulls_last=True), "-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.case})"


class MolecularResult(models.Model):
    """One molecular or genetic test and its result; `germline` marks a hereditary
    predisposition (TP53, NF1, RB1, ...)."""

    class Method(models.TextChoices):
        FISH = "FISH", _("FISH")
        NGS = "NGS", _("NGS")
        PCR = "PCR", _("RT-PCR / PCR")
        IHC = "IHC", _("Immunohistochemistry")
        METHYLATION = "methylation", _("Methylation profiling")
        OTHER = "other", _("Other")

    class Result(models.TextChoices):
        DETECTED = "detected", _("Detected / positive")
        NOT_DETECTED = "not_detected", _("Not detected / negative")
        EQUIVOCAL = "equivocal", _("Equivocal")
        FAILED = "failed", _("Failed / not evaluable")
        PENDING = "pending", _("Pending")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="molecular_results")
    method = models.CharField(_("test"), max_length=16, choices=Method)
    target = models.CharField(
        _("target"), max_length=64, help_text=_("e.g. MDM2 amplification, SS18::SSX, KIT exon 11")
    )
    result = models.CharField(_("result"), max_length=16, choices=Result)
    detail = models.CharField(_("detail"), max_length=200, blank=True)
    germline = models.BooleanField(_("hereditary (germline)"), default=False)
    laboratory = models.CharField(_("laboratory"), max_length=200, blank=True)
    reported_on = models.DateField(_("date"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["germline", "created_at"]

    def __str__(self) -> str:
        return f"{self.get_method_display()} {self.target}: {self.get_result_display()}"


class ClinicalRevision(models.Model):
    """One save of the clinical record: who changed which fields or rows, from what to
    what. The case page shows the history to everyone who can read the record."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="clinical_revisions")
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    edited_at = models.DateTimeField(default=timezone.now)
    # [{"field": name, "label": label, "old": shown value, "new": shown value}, ...]
    changes = models.JSONField(default=list)

    class Meta:
        ordering = ["-edited_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.case} edited {self.edited_at:%Y-%m-%d %H:%M}"


class PatientIdentity(models.Model):
    """Who the patient is. Only the submitter and the board's chair and coordinator see it."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="identity")
    full_name = models.CharField(_("full name"), max_length=200)
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    hospital_number = models.CharField(_("hospital number"), max_length=64, blank=True)

    class Meta:
        # Django's default plural adds an "s": "patient identitys".
        verbose_name = _("patient identity")
        verbose_name_plural = _("patient identities")

    def __str__(self) -> str:
        # Never the name: this string can end up in logs and admin messages.
        return f"Identity of case {self.case_id}"


def attachment_path(instance: Attachment, filename: str) -> str:
    # Storage names never carry the uploader's file name (it may hold a patient's name).
    return f"cases/{instance.case.uuid.hex}/{instance.uuid.hex}.{instance.extension}"


class AttachmentManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(removed_at__isnull=True)


class Attachment(models.Model):
    class DocumentType(models.TextChoices):
        # What the document is, said by the uploader: the checklist (cases/checklist.py)
        # looks for a pathology report where the question needs one.
        PATHOLOGY = "pathology", _("Pathology report")
        IMAGING = "imaging", _("Imaging report")
        LETTER = "letter", _("Clinical letter / referral")
        OPERATIVE = "operative", _("Operative note")
        MOLECULAR = "molecular", _("Molecular report")
        OTHER = "other", _("Other")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    file = models.FileField(upload_to=attachment_path, max_length=255)
    original_name = models.CharField(max_length=255)
    kind = models.CharField(max_length=8)  # detected by content: pdf, docx, ...
    document_type = models.CharField(
        _("type of document"), max_length=16, choices=DocumentType, default=DocumentType.OTHER
    )
    mime = models.CharField(max_length=120)
    extension = models.CharField(max_length=8)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    # Removal (issue #16): a wrong file is removed with a reason, not deleted; the bytes
    # stay for the audit trail and ``objects`` hides it from every view and report.
    removed_at = models.DateTimeField(null=True, blank=True, editable=False)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    removal_reason = models.CharField(max_length=500, blank=True, editable=False)

    # Every row, removed ones too (declared first, so the default is named in Meta).
    all_objects = models.Manager()
    objects = AttachmentManager()

    class Meta:
        default_manager_name = "objects"
        ordering = ["uploaded_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(removed_at__isnull=True)
                | (Q(removed_by__isnull=False) & ~Q(removal_reason="")),
                name="cases_attachment_removal_has_who_and_why",
            ),
        ]

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


class ExpertReview(models.Model):
    """A case's call on one expert of an expert service (issue #16), and who holds it.

    Two purposes: the case itself was sent to an expert service (``answer``: the expert's
    signed opinion is the case's answer), or a board asks an expert service for a review
    before it discusses the case (``step``: the case waits for it, and is not offered to a
    meeting's agenda until it is signed or the chair goes ahead with a reason).

    The service's coordinator assigns an expert (or re-assigns), or a member of the service
    takes it; ``expert`` is then who holds it. The opinion itself is decisions.ExpertOpinion;
    ``completed_at`` is set when it is signed.
    """

    class Purpose(models.TextChoices):
        ANSWER = "answer", _("Answer to the case")
        STEP = "step", _("Review before the board discusses the case")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="expert_reviews")
    service = models.ForeignKey(
        Board,
        on_delete=models.PROTECT,
        related_name="expert_reviews",
        verbose_name=_("expert service"),
    )
    purpose = models.CharField(_("purpose"), max_length=8, choices=Purpose, default=Purpose.ANSWER)
    question = models.TextField(_("question to the expert"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    expert = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="expert_reviews_held",
        verbose_name=_("expert"),
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    # A board's chair may go ahead without a step review: the reason is kept and shown.
    waived_at = models.DateTimeField(null=True, blank=True)
    waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    waived_reason = models.TextField(_("reason for going ahead without the review"), blank=True)

    class Meta:
        ordering = ["requested_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(purpose__in=["answer", "step"]), name="cases_expertreview_purpose"
            ),
            # A case sent to an expert service has one answer.
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(purpose="answer"),
                name="cases_expertreview_one_answer",
            ),
            # A board waits on one review at a time.
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(purpose="step", completed_at__isnull=True, waived_at__isnull=True),
                name="cases_expertreview_one_open_step",
            ),
            models.CheckConstraint(
                condition=Q(expert__isnull=True, assigned_at__isnull=True)
                | Q(expert__isnull=False, assigned_at__isnull=False),
                name="cases_expertreview_assignment_complete",
            ),
            models.CheckConstraint(
                condition=Q(waived_at__isnull=True) | ~Q(waived_reason=""),
                name="cases_expertreview_waiver_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} by {self.service} on {self.case}"

    @property
    def is_open(self) -> bool:
        return self.completed_at is None and self.waived_at is None

    @property
    def blocks_agenda(self) -> bool:
        return self.purpose == self.Purpose.STEP and self.is_open


class Opinion(RendersMarkdown, models.Model):
    markdown_fields = {"body": "body_html"}

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="opinions")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The capacity the author wrote in, frozen at the time of writing.
    author_specialty = models.CharField(max_length=32, choices=Specialty)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replies"
    )
    body = models.TextField(_("opinion"))
    # The body rendered and sanitized when written (cases.markdown.RendersMarkdown).
    body_html = models.TextField(editable=False, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Opinion {self.uuid} on {self.case}"


class OpinionRevision(RendersMarkdown, models.Model):
    """The text an opinion had before an edit."""

    markdown_fields = {"body": "body_html"}

    opinion = models.ForeignKey(Opinion, on_delete=models.CASCADE, related_name="revisions")
    body = models.TextField()
    body_html = models.TextField(editable=False, default="")
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    edited_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-edited_at"]

    def __str__(self) -> str:
        return f"Revision of {self.opinion_id} at {self.edited_at:%Y-%m-%d %H:%M}"


class SubmitterRequest(models.Model):
    """Something the board asks the case's submitter for (issue #16): "send the slides",
    "we need the MRI of March", "SS18 testing?".

    Open until the submitter answers; answered until the asker (or a manager) closes it as
    settled (what is still missing is a new request); withdrawn when no longer needed. A case with
    an open request is "awaiting information" (``awaiting_information``): a flag derived from
    this table, not a case status, so the workflow, the agenda and the chair's right to
    schedule are untouched.
    """

    class Kind(models.TextChoices):
        DOCUMENT = "document", _("A document or report")
        IMAGING = "imaging", _("Images (scans)")
        TEST = "test", _("A test or its result")
        SLIDES = "slides", _("Pathology slides or blocks")
        CLARIFICATION = "clarification", _("A clarification")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ANSWERED = "answered", _("Answered")
        CLOSED = "closed", _("Closed")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="requests")
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(
        _("what is asked for"), max_length=16, choices=Kind, default=Kind.DOCUMENT
    )
    text = models.TextField(_("request"), max_length=2000)
    status = models.CharField(_("status"), max_length=16, choices=Status, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("request to the submitter")
        verbose_name_plural = _("requests to the submitter")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["open", "answered"], closed_at__isnull=True)
                | Q(status__in=["closed", "withdrawn"], closed_at__isnull=False),
                name="cases_submitterrequest_closed_iff_done",
            ),
        ]
        indexes = [
            # "Awaiting information": open requests by case (queues, agenda picker, home page).
            models.Index(fields=["case", "status"], name="cases_request_case_status_idx"),
        ]

    def __str__(self) -> str:
        return f"Request {self.uuid} on {self.case}"

    @property
    def is_pending(self) -> bool:
        """Open or answered: the request still needs someone (the submitter, or the asker)."""
        return self.status in (self.Status.OPEN, self.Status.ANSWERED)


class RequestReply(models.Model):
    """One answer of the submitter to a request: text, and the case's attachments it brought."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    request = models.ForeignKey(SubmitterRequest, on_delete=models.CASCADE, related_name="replies")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("answer"), max_length=4000, blank=True)
    attachments = models.ManyToManyField(Attachment, blank=True, related_name="request_replies")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("answer to a request")
        verbose_name_plural = _("answers to requests")

    def __str__(self) -> str:
        return f"Answer {self.uuid} to {self.request_id}"


def awaiting_information() -> models.Exists:
    """Annotation for a Case queryset: the case has a request still open to its submitter."""
    return models.Exists(
        SubmitterRequest.objects.filter(
            case=models.OuterRef("pk"), status=SubmitterRequest.Status.OPEN
        )
    )


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

"""The imaging index: studies, series and instances of a case, and how to read their pixels."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cases.models import Case

# Removal (issue #16): a wrong study (another patient, a duplicate) is removed with a reason,
# not deleted: the row and the files stay for the audit trail. The default managers below
# hide a removed study and everything under it, so every list, DICOMweb answer, viewer and
# report that starts from ``objects`` or a related manager leaves it out; ``all_objects``
# sees everything (housekeeping, the removal itself, the managers' "removed" list).


class StudyManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(removed_at__isnull=True)


class SeriesManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(study__removed_at__isnull=True)


class InstanceManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(series__study__removed_at__isnull=True)


class OnInstanceManager(models.Manager):
    """For annotations and key images: hidden with the study their instance belongs to."""

    def get_queryset(self):
        return super().get_queryset().filter(instance__series__study__removed_at__isnull=True)


class Study(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="studies")
    study_instance_uid = models.CharField(max_length=64)
    study_date = models.DateField(null=True, blank=True)
    study_time = models.CharField(max_length=16, blank=True)
    description = models.CharField(max_length=200, blank=True)
    accession_number = models.CharField(max_length=16, blank=True)
    # Tags as stored (after de-identification), as DICOM JSON, for QIDO-RS answers.
    patient_name = models.CharField(max_length=200, blank=True)
    patient_id = models.CharField(max_length=64, blank=True)
    deidentified = models.BooleanField(default=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
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
    objects = StudyManager()

    class Meta:
        default_manager_name = "objects"
        ordering = ["-study_date", "created_at"]
        constraints = [
            # Once among the studies in use: a removed study may be uploaded again.
            models.UniqueConstraint(
                fields=["case", "study_instance_uid"],
                condition=Q(removed_at__isnull=True),
                name="imaging_study_uid_once_per_case",
            ),
            models.CheckConstraint(
                condition=Q(removed_at__isnull=True)
                | (Q(removed_by__isnull=False) & ~Q(removal_reason="")),
                name="imaging_study_removal_has_who_and_why",
            ),
        ]
        verbose_name_plural = "studies"

    def __str__(self) -> str:
        return f"{self.description or 'Study'} ({self.study_date or 'no date'})"


class Series(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="series")
    series_instance_uid = models.CharField(max_length=64)
    modality = models.CharField(max_length=16, blank=True)
    description = models.CharField(max_length=200, blank=True)
    body_part = models.CharField(max_length=64, blank=True)
    series_number = models.IntegerField(null=True, blank=True)
    # Denormalised for lists and the viewer; kept current by the ingest.
    instance_count = models.PositiveIntegerField(default=0)
    frame_count = models.PositiveIntegerField(default=0)
    burned_in_risk = models.BooleanField(default=False)
    # Made from the middle slice when first asked for, and again once the series has grown:
    # ``thumbnail_count`` is the instance count it was made at.
    thumbnail = models.FileField(upload_to="thumbnails/", blank=True, max_length=255)
    thumbnail_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    # Every row, removed ones too (declared first, so the default is named in Meta).
    all_objects = models.Manager()
    objects = SeriesManager()

    class Meta:
        default_manager_name = "objects"
        ordering = ["series_number", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "series_instance_uid"], name="imaging_series_uid_once_per_study"
            ),
        ]
        verbose_name_plural = "series"

    def __str__(self) -> str:
        return f"{self.modality} {self.description or self.series_number or ''}".strip()


class Instance(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="instances")
    sop_instance_uid = models.CharField(max_length=64)
    sop_class_uid = models.CharField(max_length=64)
    transfer_syntax_uid = models.CharField(max_length=64)
    instance_number = models.IntegerField(null=True, blank=True)
    file = models.FileField(upload_to="dicom/", max_length=255)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)

    # What the pixel API and the viewer need, read once at ingest.
    rows = models.PositiveIntegerField(default=0)
    columns = models.PositiveIntegerField(default=0)
    frames = models.PositiveIntegerField(default=1)
    samples_per_pixel = models.PositiveSmallIntegerField(default=1)
    bits_allocated = models.PositiveSmallIntegerField(default=0)
    bits_stored = models.PositiveSmallIntegerField(default=0)
    pixel_representation = models.PositiveSmallIntegerField(default=0)
    photometric = models.CharField(max_length=32, blank=True)
    rescale_slope = models.FloatField(default=1.0)
    rescale_intercept = models.FloatField(default=0.0)
    window_presets = models.JSONField(default=list, blank=True)  # [{"center", "width", "name"}]
    pixel_spacing = models.JSONField(null=True, blank=True)  # [row, column] in mm
    image_position = models.JSONField(null=True, blank=True)  # [x, y, z] in mm
    image_orientation = models.JSONField(null=True, blank=True)  # 6 direction cosines
    slice_thickness = models.FloatField(null=True, blank=True)
    # Position along the slice normal: the order of a series in space.
    slice_position = models.FloatField(null=True, blank=True)
    burned_in = models.BooleanField(default=False)
    # Where uncompressed little-endian pixel data starts in the stored file: frames are
    # then read straight from disk, with no parse and no decode (most CT and MR).
    pixel_offset = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # Every row, removed ones too (declared first, so the default is named in Meta).
    all_objects = models.Manager()
    objects = InstanceManager()

    class Meta:
        default_manager_name = "objects"
        ordering = ["slice_position", "instance_number", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["series", "sop_instance_uid"], name="imaging_instance_uid_once_per_series"
            ),
            models.CheckConstraint(condition=Q(frames__gte=1), name="imaging_instance_frames_1"),
        ]

    def __str__(self) -> str:
        return self.sop_instance_uid

    @property
    def is_rgb(self) -> bool:
        return self.samples_per_pixel == 3


# --- annotations and key images -----------------------------------------------------------


class Annotation(models.Model):
    """A measurement or mark on one frame, in image pixel coordinates (x = column, y = row).

    Annotations are edited one operation at a time with optimistic concurrency: every
    change bumps ``version``, and an update must name the version it was made on.
    Deleted ones stay in the table (``deleted_at``) so the audit trail can point at them.
    """

    class Kind(models.TextChoices):
        LENGTH = "length", _("Length")
        ANGLE = "angle", _("Angle")
        ELLIPSE = "ellipse", _("Ellipse")
        PROBE = "probe", _("Probe")
        ARROW = "arrow", _("Arrow")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="annotations")
    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="annotations")
    frame = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=16, choices=Kind)
    # [[x, y], ...] floats; how many depends on the kind (see imaging.services.POINTS).
    points = models.JSONField()
    text = models.CharField(max_length=200, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    # Every row, removed ones too (declared first, so the default is named in Meta).
    all_objects = models.Manager()
    objects = OnInstanceManager()

    class Meta:
        default_manager_name = "objects"
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(version__gte=1), name="imaging_annotation_version_1"
            ),
            models.CheckConstraint(condition=Q(frame__gte=0), name="imaging_annotation_frame_0"),
            models.CheckConstraint(
                condition=Q(kind__in=["length", "angle", "ellipse", "probe", "arrow"]),
                name="imaging_annotation_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.version}"


class KeyImage(models.Model):
    """One frame as someone saw it: the viewer state and the annotations, frozen at creation.

    ``annotations`` is a snapshot (kind, points, text, author name), not a link, so later
    edits to the live annotations never change a key image. ``released_with_report`` is the
    one field that changes after creation.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="key_images")
    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="key_images")
    frame = models.PositiveIntegerField(default=0)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    caption = models.CharField(max_length=300, blank=True)
    # {"center", "width", "invert", "zoom", "pan": [x, y], "rotation", "flip_h", "flip_v"}
    state = models.JSONField(default=dict)
    annotations = models.JSONField(default=list, blank=True)
    # A manager releases a key image with the report (imaging.services.key_image_release):
    # only released key images reach the submitter (case page, referrer and patient copies),
    # and then without the panel's annotation labels and authors.
    released_with_report = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    # Every row, removed ones too (declared first, so the default is named in Meta).
    all_objects = models.Manager()
    objects = OnInstanceManager()

    class Meta:
        default_manager_name = "objects"
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(frame__gte=0), name="imaging_key_image_frame_0"),
        ]

    def __str__(self) -> str:
        return self.caption or f"Key image {self.uuid}"


# --- receiving from a PACS (DICOM C-STORE) -------------------------------------------------


class DicomCaller(models.Model):
    """An archive (or modality) allowed to send a board's studies: its calling AE title and,
    optionally, the address it must call from. Associations from anyone else are rejected."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    board = models.ForeignKey("board.Board", on_delete=models.CASCADE, related_name="dicom_callers")
    ae_title = models.CharField(_("calling AE title"), max_length=16)
    host = models.GenericIPAddressField(
        _("address"),
        null=True,
        blank=True,
        help_text=_("The caller's IP address; empty accepts the AE title from any address."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["ae_title", "host"]
        constraints = [
            models.UniqueConstraint(
                fields=["board", "ae_title", "host"], name="imaging_dicom_caller_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ae_title}@{self.host or '*'}"


class InboxStudy(models.Model):
    """A study received from an archive for a board, not yet attached to a case.

    It holds the patient's identifying data as sent (name, ID): only the board's managers
    see the inbox. Attaching runs every file through the one ingest pipeline into the case
    (de-identified then, per the board's setting) and deletes the inbox rows and files;
    discarding deletes them too.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    board = models.ForeignKey("board.Board", on_delete=models.CASCADE, related_name="inbox")
    study_instance_uid = models.CharField(max_length=64)
    patient_name = models.CharField(max_length=200, blank=True)
    patient_id = models.CharField(max_length=64, blank=True)
    study_date = models.DateField(null=True, blank=True)
    accession_number = models.CharField(max_length=16, blank=True)
    description = models.CharField(max_length=200, blank=True)
    modalities = models.CharField(max_length=64, blank=True)  # "CT\MR", as received
    calling_ae_title = models.CharField(max_length=16, blank=True)
    instance_count = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    last_received_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-last_received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["board", "study_instance_uid"], name="imaging_inbox_study_once"
            ),
        ]
        verbose_name_plural = "inbox studies"

    def __str__(self) -> str:
        return f"Inbox study {self.uuid}"

    @property
    def modality_list(self) -> list[str]:
        return [m for m in self.modalities.split("\\") if m]


class InboxInstance(models.Model):
    """One received file, checked (not de-identified), stored through Django's storage."""

    study = models.ForeignKey(InboxStudy, on_delete=models.CASCADE, related_name="instances")
    sop_instance_uid = models.CharField(max_length=64)
    file = models.FileField(upload_to="inbox/", max_length=255)
    size = models.PositiveBigIntegerField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["received_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "sop_instance_uid"], name="imaging_inbox_instance_once"
            ),
        ]

    def __str__(self) -> str:
        return self.sop_instance_uid

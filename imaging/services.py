"""Writes to annotations and key images: keyword-only, typed, atomic; events go out after commit.

Annotations are edited one operation at a time with optimistic concurrency: an update names
the version it was made on, and a mismatch raises ``StaleVersion`` (the client reloads and
tries again) rather than silently overwriting someone's newer change.
"""

from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_ipv46_address
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydicom.datadict import tag_for_keyword

from board.access import BoardAccess
from board.models import Board
from cases.access import CaseAccess
from cases.audit import audit
from cases.models import Case
from cases.services import upload_remove
from imaging.inbox import inbox_delete_files, inbox_files
from imaging.ingest import Batch, Ingest
from imaging.models import (
    Annotation,
    DicomCaller,
    InboxStudy,
    Instance,
    KeyImage,
    Study,
)
from realtime.events import AnnotationChanged, KeyImageChanged
from realtime.publish import publish_case_event

K = Annotation.Kind
# How many points each kind takes: an angle's vertex is the middle one, an ellipse is
# given by opposite corners of its bounding box, an arrow runs from tail to head.
POINTS = {K.LENGTH: 2, K.ANGLE: 3, K.ELLIPSE: 2, K.PROBE: 1, K.ARROW: 2}
# One whole sentence per kind, so that the article ("a"/"an") and the plural read right in
# every language; %(got)d is how many points were sent.
WRONG_POINTS = {
    K.LENGTH: gettext_lazy("A length takes 2 points, not %(got)d."),
    K.ANGLE: gettext_lazy("An angle takes 3 points, not %(got)d."),
    K.ELLIPSE: gettext_lazy("An ellipse takes 2 points, not %(got)d."),
    K.PROBE: gettext_lazy("A probe takes 1 point, not %(got)d."),
    K.ARROW: gettext_lazy("An arrow takes 2 points, not %(got)d."),
}
TEXT_MAX = Annotation._meta.get_field("text").max_length
CAPTION_MAX = KeyImage._meta.get_field("caption").max_length
ROTATIONS = (0, 90, 180, 270)


class StaleVersion(Exception):
    """The annotation changed since the client read it; ``current`` is what is stored now."""

    def __init__(self, current: Annotation):
        super().__init__(f"the annotation is at version {current.version}")
        self.current = current


# --- checking what the client sent ------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_instance(access: CaseAccess, instance: Instance) -> None:
    if not Instance.objects.filter(pk=instance.pk, series__study__case=access.case).exists():
        raise ValidationError(_("That image is not part of this case."))
    if not instance.rows or not instance.columns:
        raise ValidationError(_("That instance has no image to mark."))


def clean_frame(instance: Instance, frame: Any) -> int:
    if not isinstance(frame, int) or isinstance(frame, bool) or not 0 <= frame < instance.frames:
        raise ValidationError(
            _("frame must be a whole number from 0 to %(last)d.") % {"last": instance.frames - 1}
        )
    return frame


def clean_kind(kind: Any) -> str:
    if kind not in K.values:
        raise ValidationError(_("kind must be one of: %(kinds)s.") % {"kinds": ", ".join(K.values)})
    return kind


def clean_points(kind: str, points: Any, instance: Instance) -> list[list[float]]:
    """[[x, y], ...] in image pixels, as many as the kind takes, finite and near the image."""
    if not isinstance(points, list) or not all(isinstance(p, list) and len(p) == 2 for p in points):
        raise ValidationError(_("points must be a list of [x, y] pairs."))
    expected = POINTS[kind]
    if len(points) != expected:
        raise ValidationError(WRONG_POINTS[kind] % {"got": len(points)})
    cleaned = []
    for number, (x, y) in enumerate(points, start=1):
        if not (_is_number(x) and _is_number(y) and math.isfinite(x) and math.isfinite(y)):
            raise ValidationError(_("Point %(n)d must hold two finite numbers.") % {"n": number})
        # A sanity bound, not the image edge: a mark may reach a little past the border.
        rows, columns = instance.rows, instance.columns
        if not (-columns <= x <= 2 * columns and -rows <= y <= 2 * rows):
            raise ValidationError(
                _("Point %(n)d lies far outside the %(columns)d×%(rows)d image.")
                % {"n": number, "columns": columns, "rows": rows}
            )
        cleaned.append([float(x), float(y)])
    return cleaned


def clean_text(text: Any, *, limit: int = TEXT_MAX, name: str = "text") -> str:
    if text is None:
        return ""
    if not isinstance(text, str):
        raise ValidationError(_("%(name)s must be a string.") % {"name": name})
    text = text.strip()
    if len(text) > limit:
        raise ValidationError(
            _("%(name)s is longer than %(limit)d characters.") % {"name": name, "limit": limit}
        )
    return text


def clean_state(state: Any) -> dict[str, Any]:
    """The viewer state a key image keeps; unknown keys are dropped, missing ones defaulted."""
    if not isinstance(state, dict):
        raise ValidationError(_("state must be an object."))

    def number(key: str, default: float | None, *, positive: bool = False) -> float | None:
        value = state.get(key, default)
        if value is None and default is None:
            return None  # the window: None means the file's own default
        if not _is_number(value) or not math.isfinite(value) or (positive and value <= 0):
            qualifier = _("a positive number") if positive else _("a number")
            raise ValidationError(
                _("state.%(key)s must be %(what)s.") % {"key": key, "what": qualifier}
            )
        return float(value)

    def flag(key: str) -> bool:
        value = state.get(key, False)
        if not isinstance(value, bool):
            raise ValidationError(_("state.%(key)s must be true or false.") % {"key": key})
        return value

    center, width = number("center", None), number("width", None, positive=True)
    if (center is None) != (width is None):
        raise ValidationError(_("state.center and state.width go together."))
    pan = state.get("pan", [0, 0])
    if not (
        isinstance(pan, list)
        and len(pan) == 2
        and all(_is_number(v) and math.isfinite(v) for v in pan)
    ):
        raise ValidationError(_("state.pan must be [x, y]."))
    rotation = state.get("rotation", 0)
    if isinstance(rotation, bool) or rotation not in ROTATIONS:
        raise ValidationError(_("state.rotation must be 0, 90, 180 or 270."))
    return {
        "center": center,
        "width": width,
        "invert": flag("invert"),
        "zoom": number("zoom", 1.0, positive=True),
        "pan": [float(pan[0]), float(pan[1])],
        "rotation": int(rotation),
        "flip_h": flag("flip_h"),
        "flip_v": flag("flip_v"),
    }


# --- annotations ------------------------------------------------------------------------


@transaction.atomic
def annotation_create(
    *,
    access: CaseAccess,
    instance: Instance,
    frame: int,
    kind: str,
    points: list,
    text: str = "",
) -> Annotation:
    if not access.can_annotate:
        raise PermissionDenied
    _check_instance(access, instance)
    kind = clean_kind(kind)
    annotation = Annotation.objects.create(
        case=access.case,
        instance=instance,
        frame=clean_frame(instance, frame),
        kind=kind,
        points=clean_points(kind, points, instance),
        text=clean_text(text),
        author=access.user,
    )
    audit(
        actor=access.user,
        action="annotation.create",
        case=access.case,
        target=annotation,
        detail={"kind": kind},
    )
    _publish_annotation(access, annotation, "created")
    return annotation


def _locked(access: CaseAccess, annotation: Annotation) -> Annotation:
    # Raises Annotation.DoesNotExist if someone deleted it meanwhile.
    locked = (
        Annotation.objects.select_for_update()
        .select_related("instance")
        .get(pk=annotation.pk, case=access.case, deleted_at__isnull=True)
    )
    if locked.author_id != access.user.pk or not access.can_annotate:
        raise PermissionDenied
    return locked


@transaction.atomic
def annotation_update(
    *,
    access: CaseAccess,
    annotation: Annotation,
    points: list,
    text: str | None,
    version: int,
) -> Annotation:
    """Replace the points (and the text, unless ``text`` is None) of the given version."""
    annotation = _locked(access, annotation)
    if version != annotation.version:
        raise StaleVersion(annotation)
    annotation.points = clean_points(annotation.kind, points, annotation.instance)
    if text is not None:
        annotation.text = clean_text(text)
    annotation.version += 1
    annotation.save(update_fields=["points", "text", "version", "updated_at"])
    audit(
        actor=access.user,
        action="annotation.update",
        case=access.case,
        target=annotation,
        detail={"version": annotation.version},
    )
    _publish_annotation(access, annotation, "updated")
    return annotation


@transaction.atomic
def annotation_delete(*, access: CaseAccess, annotation: Annotation) -> Annotation:
    """Soft delete: the row stays for the audit trail; the deletion is a version of its own."""
    annotation = _locked(access, annotation)
    annotation.deleted_at = timezone.now()
    annotation.version += 1
    annotation.save(update_fields=["deleted_at", "version", "updated_at"])
    audit(actor=access.user, action="annotation.delete", case=access.case, target=annotation)
    _publish_annotation(access, annotation, "deleted")
    return annotation


def _publish_annotation(access: CaseAccess, annotation: Annotation, change: str) -> None:
    publish_case_event(
        access.case,
        AnnotationChanged(
            case=str(access.case.uuid),
            annotation=str(annotation.uuid),
            instance=str(annotation.instance.uuid),
            frame=annotation.frame,
            change=change,
            version=annotation.version,
        ),
    )


# --- key images -------------------------------------------------------------------------


def annotation_snapshot(annotation: Annotation) -> dict[str, Any]:
    return {
        "id": str(annotation.uuid),
        "kind": annotation.kind,
        "points": annotation.points,
        "text": annotation.text,
        "author": annotation.author.display_name,
    }


@transaction.atomic
def key_image_create(
    *,
    access: CaseAccess,
    instance: Instance,
    frame: int,
    state: dict[str, Any],
    caption: str = "",
) -> KeyImage:
    """Freeze a view: its state and the annotations on that frame now (later edits don't
    reach it)."""
    if not access.can_annotate:
        raise PermissionDenied
    _check_instance(access, instance)
    frame = clean_frame(instance, frame)
    state = clean_state(state)
    caption = clean_text(caption, limit=CAPTION_MAX, name="caption")
    visible = Annotation.objects.filter(
        case=access.case, instance=instance, frame=frame, deleted_at__isnull=True
    ).select_related("author")
    key_image = KeyImage.objects.create(
        case=access.case,
        instance=instance,
        frame=frame,
        author=access.user,
        caption=caption,
        state=state,
        annotations=[annotation_snapshot(a) for a in visible],
    )
    audit(actor=access.user, action="key_image.create", case=access.case, target=key_image)
    _publish_key_image(access, key_image, "created")
    return key_image


@transaction.atomic
def key_image_delete(*, access: CaseAccess, key_image: KeyImage) -> None:
    if key_image.case_id != access.case.pk or not access.can_delete_key_image(key_image):
        raise PermissionDenied
    audit(actor=access.user, action="key_image.delete", case=access.case, target=key_image)
    _publish_key_image(access, key_image, "deleted")
    key_image.delete()


@transaction.atomic
def key_image_release(*, access: CaseAccess, key_image: KeyImage, released: bool) -> KeyImage:
    """A manager releases a key image with the report (or takes it back): released key
    images reach the submitter's case page and the referrer and patient copies of reports
    rendered from then on; a copy already made never changes."""
    if key_image.case_id != access.case.pk or not access.can_release_key_images:
        raise PermissionDenied
    if key_image.released_with_report == released:
        return key_image
    KeyImage.objects.filter(pk=key_image.pk).update(released_with_report=released)
    key_image.released_with_report = released
    audit(
        actor=access.user,
        action="key_image.release" if released else "key_image.withhold",
        case=access.case,
        target=key_image,
    )
    _publish_key_image(access, key_image, "released" if released else "withheld")
    return key_image


def _publish_key_image(access: CaseAccess, key_image: KeyImage, change: str) -> None:
    publish_case_event(
        access.case,
        KeyImageChanged(case=str(access.case.uuid), key_image=str(key_image.uuid), change=change),
    )


# --- removal ------------------------------------------------------------------------------


def study_remove(*, access: CaseAccess, study: Study, reason: str) -> Study:
    """Take a wrong study out of the case (another patient, a duplicate). The rows and the
    files stay for the audit trail; the default managers hide the study, its series,
    instances, annotations and key images from every view, DICOMweb answer and report."""
    return upload_remove(
        access=access,
        item=study,
        reason=reason,
        action="study.remove",
        reason_missing=_("Say why the study is removed."),
        detail={"study_instance_uid": study.study_instance_uid},
    )


# --- receiving from a PACS: the board's DICOM settings and its inbox ---------------------

# PS3.5 6.2 (AE): up to 16 characters of the default repertoire, no backslash or control
# characters; leading and trailing spaces are not significant. Kept to what a PACS
# administrator can type without surprise.
AE_TITLE_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 _-.")


def clean_ae_title(value: str, *, field: str) -> str:
    title = value.strip()
    if len(title) > 16 or not set(title) <= AE_TITLE_CHARS:
        raise ValidationError(
            _("%(field)s: an AE title is up to 16 letters, digits, spaces or _-.")
            % {"field": field}
        )
    return title


def clean_callers(text: str) -> list[tuple[str, str | None]]:
    """One caller a line: an AE title, then optionally the address it must call from."""
    callers = []
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if len(parts) > 2:
            raise ValidationError(_("Write one caller a line: AE title, then an optional address."))
        title = clean_ae_title(parts[0], field=_("Caller"))
        host = parts[1] if len(parts) == 2 else None
        if host is not None:
            try:
                validate_ipv46_address(host)
            except ValidationError:
                raise ValidationError(
                    _("%(host)s is not an IP address.") % {"host": host}
                ) from None
        if (title, host) not in callers:
            callers.append((title, host))
    return callers


@transaction.atomic
def dicom_settings_update(
    *, access: BoardAccess, ae_title: str, case_tag: str, callers: str
) -> Board:
    """The board's AE title, its case tag and the callers it accepts (managers only)."""
    access.require(access.is_manager, "board.dicom")
    board = Board.objects.select_for_update().get(pk=access.board.pk)
    title = clean_ae_title(ae_title, field=_("AE title"))
    if title and Board.objects.filter(dicom_ae_title=title).exclude(pk=board.pk).exists():
        raise ValidationError(_("Another board already receives as %(title)s.") % {"title": title})
    tag = case_tag.strip()
    if tag and not dictionary_has_keyword(tag):
        raise ValidationError(_("%(tag)s is not a DICOM keyword.") % {"tag": tag})
    wanted = clean_callers(callers)
    board.dicom_ae_title, board.dicom_case_tag = title, tag
    board.save(update_fields=["dicom_ae_title", "dicom_case_tag"])
    DicomCaller.objects.filter(board=board).delete()
    DicomCaller.objects.bulk_create(
        [DicomCaller(board=board, ae_title=t, host=h) for t, h in wanted]
    )
    audit(
        actor=access.user,
        action="board.dicom_settings",
        target=board,
        detail={
            "ae_title": title,
            "case_tag": tag,
            "callers": [f"{t}@{h or '*'}" for t, h in wanted],
        },
    )
    return board


def dictionary_has_keyword(keyword: str) -> bool:
    return tag_for_keyword(keyword) is not None


def inbox_study_attach(
    *, access: BoardAccess, study: InboxStudy, case_code: str
) -> tuple[Case, Batch]:
    """Run the inbox study's files through the one ingest into the board's case named by
    ``case_code`` (de-identified then, per the board's setting), then empty it out."""
    access.require(access.is_manager, "inbox.attach")
    code = case_code.strip().upper()
    case = Case.objects.select_related("board").filter(board=access.board, pseudonym=code).first()
    if case is None:
        raise ValidationError(_("No case of this board has the code %(code)s.") % {"code": code})
    with Ingest(case=case, by=access.user) as ingest:
        for name, data in inbox_files(study):
            ingest.add(name, data)
        batch = ingest.close()
    if batch.stored == 0 and not any(r.ok for r in batch.results):
        raise ValidationError(_("No file of the study could be stored in the case."))
    _inbox_study_delete(study)
    audit(
        actor=access.user,
        action="imaging.inbox_attach",
        case=case,
        detail={
            "inbox_study": str(study.uuid),
            "stored": batch.stored,
            "refused": sum(r.status == "refused" for r in batch.results),
        },
    )
    return case, batch


def inbox_study_discard(*, access: BoardAccess, study: InboxStudy) -> None:
    access.require(access.is_manager, "inbox.discard")
    files = study.instance_count
    _inbox_study_delete(study)
    audit(
        actor=access.user,
        action="imaging.inbox_discard",
        target=access.board,
        detail={"inbox_study": str(study.uuid), "files": files},
    )


def _inbox_study_delete(study: InboxStudy) -> None:
    names = list(study.instances.values_list("file", flat=True))
    with transaction.atomic():
        InboxStudy.objects.filter(pk=study.pk).delete()
    # After the rows: a file is never missing under a row that still points at it.
    transaction.on_commit(lambda: inbox_delete_files(names))

"""What a board receives from a PACS (DICOM C-STORE): straight into a case, or into its inbox.

Every received file is first checked by `imaging.prepare` exactly as an upload is, so a file
the upload would refuse is refused here too, with the same reason in the C-STORE answer's
Error Comment. Then one of two things happens:

- the Accession Number (or the board's configured tag) holds the pseudonym of one of the
  board's cases: the file goes through `imaging.ingest.Ingest` into that case, de-identified
  per the board's setting, like any upload;
- otherwise it waits in the board's inbox, identified (the coordinator must see whose study
  it is to pick the case), as stored by `prepare` (preamble zeroed), under Django's storage.
  Attaching later runs each inbox file through the same `Ingest`.

What a connection did is audited once, when it ends (`Receipt`), not once per file: the
audit chain takes a site-wide lock per event, and an archive sends a study a file at a time.
"""

from __future__ import annotations

import io
import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field

import pydicom
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F

from board.models import Board
from cases.audit import audit
from cases.models import Case
from imaging.ingest import Ingest, limits
from imaging.models import InboxInstance, InboxStudy
from imaging.prepare import Refused, prepare

logger = logging.getLogger(__name__)

# C-STORE statuses (DICOM PS3.4 Annex B.2.3, Table B.2-1, and PS3.7 Annex C).
SUCCESS = 0x0000
CANNOT_UNDERSTAND = 0xC000  # Error: Cannot understand
OUT_OF_RESOURCES = 0xA700  # Refused: Out of Resources
# The Error Comment (0000,0902) is an LO: at most 64 characters (PS3.7 E.1).
ERROR_COMMENT_MAX = 64


@dataclass
class Stored:
    """The outcome of one C-STORE: a status, and the reason when it is not success."""

    status: int
    reason: str = ""
    case: Case | None = None


@dataclass
class Receipt:
    """What one association stored, audited when it ends (`close`)."""

    board: Board
    calling_ae_title: str
    address: str
    to_inbox: int = 0
    refused: int = 0
    to_cases: Counter = field(default_factory=Counter)  # case pk -> files
    cases: dict[int, Case] = field(default_factory=dict)

    def count(self, stored: Stored) -> None:
        if stored.status != SUCCESS:
            self.refused += 1
        elif stored.case is not None:
            self.to_cases[stored.case.pk] += 1
            self.cases[stored.case.pk] = stored.case
        else:
            self.to_inbox += 1

    def close(self) -> None:
        caller = {"calling_ae_title": self.calling_ae_title, "address": self.address}
        if self.to_inbox or self.refused:  # an echo alone stores nothing: no event
            audit(
                actor=None,
                action="imaging.dicom_receive",
                target=self.board,
                detail={**caller, "inbox": self.to_inbox, "refused": self.refused},
            )
        for pk, files in self.to_cases.items():
            audit(
                actor=None,
                action="imaging.dicom_receive",
                case=self.cases[pk],
                detail={**caller, "stored": files},
            )


def case_named(board: Board, ds: pydicom.Dataset) -> Case | None:
    """The board's case whose pseudonym is the Accession Number, or the board's tag."""
    keywords = ["AccessionNumber"]
    if board.dicom_case_tag:
        keywords.append(board.dicom_case_tag)
    codes = set()
    for keyword in keywords:
        try:
            value = str(ds.get(keyword, "") or "").strip().upper()
        except Exception:  # noqa: S112 (a value pydicom cannot read names no case)
            continue
        if value:
            codes.add(value)
    if not codes:
        return None
    return Case.objects.select_related("board").filter(board=board, pseudonym__in=codes).first()


def dicom_store(*, board: Board, calling_ae_title: str, data: bytes) -> Stored:
    """Store one received Part 10 file (preamble and meta included) for ``board``."""
    try:
        head = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
        case = case_named(board, head)
    except Exception:
        case = None  # `prepare` below names what is wrong with the file
    if case is not None:
        with Ingest(case=case, by=None) as ingest:
            result = ingest.add("C-STORE", data)
            ingest.close()
        if result.ok:
            return Stored(SUCCESS, case=case)
        return Stored(CANNOT_UNDERSTAND, result.reason)
    try:
        prepared = prepare(data, limits(), None)
    except Refused as refusal:
        return Stored(CANNOT_UNDERSTAND, refusal.reason)
    return _to_inbox(board, calling_ae_title, prepared)


def _to_inbox(board: Board, calling_ae_title: str, prepared) -> Stored:
    name = default_storage.save(
        f"inbox/{board.uuid.hex}/{uuid.uuid4().hex}.dcm", ContentFile(prepared.stored)
    )
    study = prepared.study
    modality = prepared.series.get("modality", "")
    try:
        with transaction.atomic():
            inbox, _created = InboxStudy.objects.get_or_create(
                board=board,
                study_instance_uid=prepared.study_instance_uid,
                defaults={
                    "patient_name": study["patient_name"],
                    "patient_id": study["patient_id"],
                    "study_date": study["study_date"],
                    "accession_number": study["accession_number"],
                    "description": study["description"],
                    "modalities": modality,
                    "calling_ae_title": calling_ae_title,
                },
            )
            InboxInstance.objects.create(
                study=inbox,
                sop_instance_uid=prepared.sop_instance_uid,
                file=name,
                size=len(prepared.stored),
            )
            changes = {"instance_count": F("instance_count") + 1}
            if modality and modality not in inbox.modality_list:
                changes["modalities"] = "\\".join([*inbox.modality_list, modality])[:64]
            InboxStudy.objects.filter(pk=inbox.pk).update(**changes)
    except IntegrityError:
        # Sent twice (an archive retrying): the first copy stays; the sender is told success,
        # as PS3.4 B.2.3 lets an SCP do for an instance it already holds.
        default_storage.delete(name)
        return Stored(SUCCESS)
    except BaseException:
        default_storage.delete(name)
        raise
    return Stored(SUCCESS)


def inbox_files(study: InboxStudy):
    """(name, bytes) of each file of an inbox study, read through the storage."""
    for instance in study.instances.all():
        with default_storage.open(instance.file.name, "rb") as fh:
            yield instance.sop_instance_uid, fh.read()


def inbox_delete_files(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)


def error_comment(reason: str) -> str:
    # ASCII: the default character repertoire of an LO in a command set.
    text = reason.encode("ascii", "replace").decode()
    return text if len(text) <= ERROR_COMMENT_MAX else text[: ERROR_COMMENT_MAX - 3] + "..."

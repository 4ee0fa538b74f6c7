"""One pipeline for every DICOM file that reaches a case (browser upload, zip, STOW-RS).

Each file is parsed without ``force``, checked, de-identified (unless the board
turned it off), stripped of its preamble, stored, and indexed whole or not at
all. Every refusal carries a reason a person can act on.
"""

from __future__ import annotations

import hashlib
import io
import logging
import stat
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import pydicom
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID

from board.models import User
from cases.audit import audit
from cases.models import Case
from imaging import deid, geometry
from imaging.models import Instance, Series, Study

logger = logging.getLogger(__name__)

DICOMDIR_CLASS = "1.2.840.10008.1.3.10"
NON_IMAGE = {
    "1.2.840.10008.5.1.4.1.1.88": "a structured report",
    "1.2.840.10008.5.1.4.1.1.11": "a presentation state",
    "1.2.840.10008.5.1.4.1.1.481": "a radiotherapy object",
    "1.2.840.10008.5.1.4.1.1.104": "an encapsulated document",
    "1.2.840.10008.5.1.4.1.1.9": "a waveform",
}
REQUIRED = ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")


class Refused(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class NotDicom(Refused):
    """The file is no DICOM at all (a CD's viewer program, its README)."""


class Skipped(Refused):
    """Not an error: a file that carries no image for the viewer (DICOMDIR, reports)."""


@dataclass
class FileResult:
    name: str
    status: str  # "stored", "duplicate", "skipped" or "refused"
    reason: str = ""
    instance: Instance | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("stored", "duplicate")

    def as_json(self) -> dict:
        out = {"name": self.name, "status": self.status, "ok": self.ok}
        if self.reason:
            out["reason"] = self.reason
        if self.instance is not None:
            out["series"] = str(self.instance.series.uuid)
            out["instance"] = str(self.instance.uuid)
        return out


@dataclass
class Batch:
    results: list[FileResult] = field(default_factory=list)
    touched_series: set[int] = field(default_factory=set)

    @property
    def stored(self) -> int:
        return sum(r.status == "stored" for r in self.results)


# --- checks --------------------------------------------------------------------------


def parse(data: bytes) -> Dataset:
    """Parse without force: a file must be Part 10 (preamble and DICM) to get in."""
    if len(data) < 132:
        raise NotDicom("The file is too short to be DICOM.")
    try:
        ds = pydicom.dcmread(io.BytesIO(data), force=False)
    except InvalidDicomError:
        raise NotDicom("Not a DICOM file (no 'DICM' marker after the preamble).") from None
    except (EOFError, OSError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise Refused(f"Malformed or truncated DICOM: {type(exc).__name__}.") from None
    meta_class = str(getattr(ds.file_meta, "MediaStorageSOPClassUID", ""))
    if meta_class == DICOMDIR_CLASS or "DirectoryRecordSequence" in ds:
        raise Skipped("DICOMDIR (the CD's index); the images themselves are read instead.")
    try:
        missing = [kw for kw in REQUIRED if not str(ds.get(kw, "") or "").strip()]
    except Exception:  # a tag whose value cannot be read is malformed
        raise Refused("Malformed DICOM: a required UID cannot be read.") from None
    if missing:
        raise Refused(f"Missing required attribute(s): {', '.join(missing)}.")
    for keyword in REQUIRED:
        if not UID(str(ds[keyword].value)).is_valid:
            raise Refused(f"{keyword} is not a valid UID.")
    return ds


def check_pixels(ds: Dataset) -> None:
    """Bound the decoded size before any decoding, and check native data is complete."""
    sop_class = str(ds.SOPClassUID)
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        what = next((v for k, v in NON_IMAGE.items() if sop_class.startswith(k)), None)
        raise Skipped(f"Not an image ({what or 'no pixel data'}); nothing to show.")
    if "PixelData" not in ds:
        raise Refused("Float pixel data is not supported.")
    try:
        rows, cols = int(ds.Rows), int(ds.Columns)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        samples = int(ds.get("SamplesPerPixel", 1))
        bits = int(ds.BitsAllocated)
    except (AttributeError, ValueError, TypeError):
        raise Refused(
            "Image attributes (Rows, Columns, BitsAllocated) are missing or bad."
        ) from None
    if min(rows, cols, frames, samples, bits) < 1 or samples not in (1, 3):
        raise Refused("Image attributes are out of range.")
    if bits not in (1, 8, 16, 32):
        raise Refused(f"BitsAllocated {bits} is not supported.")
    decoded = rows * cols * frames * samples * max(bits, 8) // 8
    if decoded > settings.DICOM_MAX_DECODED_BYTES:
        raise Refused(
            f"The image would decode to {decoded / 2**20:.0f} MB, over the "
            f"{settings.DICOM_MAX_DECODED_BYTES / 2**20:.0f} MB limit."
        )
    if frames > settings.DICOM_MAX_FRAMES:
        raise Refused(f"{frames} frames is over the limit of {settings.DICOM_MAX_FRAMES}.")
    if not ds.file_meta.TransferSyntaxUID.is_compressed:
        photometric = str(ds.get("PhotometricInterpretation", ""))
        # 4:2:2 chroma subsampling stores two samples per pixel, not three.
        per_pixel = 2 if samples == 3 and photometric.endswith("_422") else samples
        expected = (rows * cols * frames * per_pixel * bits + 7) // 8
        if len(ds.PixelData) < expected:
            raise Refused(
                f"Truncated pixel data: {len(ds.PixelData)} bytes where {expected} are needed."
            )


def check_decodes(ds: Dataset) -> np.ndarray:
    """Decode the first frame: a file we cannot show is not indexed."""
    from pydicom.pixels import pixel_array

    try:
        return pixel_array(ds, index=0)
    except Exception as exc:  # codecs raise anything from ValueError to RuntimeError
        syntax = ds.file_meta.TransferSyntaxUID
        raise Refused(
            f"The pixel data cannot be decoded ({syntax.name}): {type(exc).__name__}."
        ) from None


# --- the pipeline ------------------------------------------------------------------------


def deid_context(case: Case) -> deid.DeidContext:
    return deid.DeidContext(
        secret=settings.DEID_SECRET.encode(), case_key=case.uuid.hex, pseudonym=case.pseudonym
    )


def prepare(data: bytes, case: Case) -> tuple[Dataset, bytes, bool]:
    """Parse, check, de-identify and re-encode one file: (dataset, bytes to store, burned-in)."""
    if len(data) > settings.DICOM_MAX_FILE_BYTES:
        raise Refused(f"The file is over the {settings.DICOM_MAX_FILE_BYTES // 2**20} MB limit.")
    ds = parse(data)
    check_pixels(ds)
    check_decodes(ds)
    burned_in = deid.burned_in_risk(ds)
    if case.board.deidentify_imaging:
        try:
            deid.deidentify(ds, deid_context(case))
        except Exception as exc:
            logger.exception("de-identification failed")
            raise Refused(f"De-identification failed ({type(exc).__name__}).") from None
    # The preamble is free for any use: zero it so a stored file is never also a program.
    ds.preamble = b"\0" * 128
    out = io.BytesIO()
    try:
        pydicom.dcmwrite(out, ds, enforce_file_format=True)
    except Exception as exc:
        raise Refused(f"The file cannot be re-encoded ({type(exc).__name__}).") from None
    return ds, out.getvalue(), burned_in


def ingest_file(
    *,
    case: Case,
    by: User | None,
    data: bytes,
    name: str,
    in_collection: bool = False,
    series_cache: dict[tuple[str, str], Series] | None = None,
) -> FileResult:
    """Ingest one file. ``in_collection``: it came in a zip or a folder, where files that
    are not DICOM at all (a CD's viewer, its README) are expected and skipped.
    ``series_cache``: series already looked up in this batch (most files share one)."""
    try:
        ds, stored, burned_in = prepare(data, case)
    except NotDicom as exc:
        if in_collection:
            return FileResult(name, "skipped", f"{exc.reason} Ignored.")
        return FileResult(name, "refused", exc.reason)
    except Skipped as exc:
        return FileResult(name, "skipped", exc.reason)
    except Refused as exc:
        return FileResult(name, "refused", exc.reason)

    sop_uid = str(ds.SOPInstanceUID)
    existing = (
        Instance.objects.select_related("series")
        .filter(series__study__case=case, sop_instance_uid=sop_uid)
        .first()
    )
    if existing is not None:
        return FileResult(name, "duplicate", "Already stored; not stored twice.", existing)

    content = ContentFile(stored)
    instance = Instance(
        sop_instance_uid=sop_uid,
        sop_class_uid=str(ds.SOPClassUID),
        transfer_syntax_uid=str(ds.file_meta.TransferSyntaxUID),
        size=len(stored),
        sha256=hashlib.sha256(stored).hexdigest(),
        burned_in=burned_in,
        pixel_offset=geometry.native_pixel_offset(stored, ds),
        **geometry.instance_fields(ds),
    )
    instance.file.save(f"{case.uuid.hex}/{instance.uuid.hex}.dcm", content, save=False)
    try:
        with transaction.atomic():
            series = _series_for(case, ds, by, series_cache)
            instance.series = series
            instance.save()
            counts = {
                "instance_count": F("instance_count") + 1,
                "frame_count": F("frame_count") + instance.frames,
            }
            if burned_in:  # only ever raised: the cached series may be out of date
                counts["burned_in_risk"] = True
            Series.objects.filter(pk=series.pk).update(**counts)
    except IntegrityError:
        # The same instance arrived twice at once: the other request stored it.
        instance.file.storage.delete(instance.file.name)
        existing = Instance.objects.filter(
            series__study__case=case, sop_instance_uid=sop_uid
        ).first()
        return FileResult(name, "duplicate", "Already stored; not stored twice.", existing)
    except Exception:
        instance.file.storage.delete(instance.file.name)
        raise
    return FileResult(name, "stored", instance=instance)


def _series_for(
    case: Case, ds: Dataset, by: User | None, cache: dict[tuple[str, str], Series] | None
) -> Series:
    key = (str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID))
    if cache is not None and key in cache:
        return cache[key]
    study, _ = Study.objects.get_or_create(
        case=case,
        study_instance_uid=str(ds.StudyInstanceUID),
        defaults={
            "study_date": geometry.date_of(ds.get("StudyDate")),
            "study_time": str(ds.get("StudyTime", "") or "")[:16],
            "description": str(ds.get("StudyDescription", "") or "")[:200],
            "accession_number": str(ds.get("AccessionNumber", "") or "")[:16],
            "patient_name": str(ds.get("PatientName", "") or "")[:200],
            "patient_id": str(ds.get("PatientID", "") or "")[:64],
            "deidentified": case.board.deidentify_imaging,
            "uploaded_by": by,
        },
    )
    series, _ = Series.objects.get_or_create(
        study=study,
        series_instance_uid=str(ds.SeriesInstanceUID),
        defaults={
            "modality": str(ds.get("Modality", "") or "")[:16],
            "description": str(ds.get("SeriesDescription", "") or "")[:200],
            "body_part": str(ds.get("BodyPartExamined", "") or "")[:64],
            "series_number": geometry.int_or_none(ds.get("SeriesNumber")),
        },
    )
    if cache is not None:
        cache[key] = series
    return series


def ingest_many(*, case: Case, by: User | None, files: Iterable[tuple[str, BinaryIO]]) -> Batch:
    """Ingest uploaded files; a .zip is opened and each of its entries ingested."""
    batch = Batch()
    cache: dict[tuple[str, str], Series] = {}
    for name, fileobj in files:
        head = fileobj.read(4)
        fileobj.seek(0)
        entries = zip_entries(fileobj, name) if head.startswith(b"PK\x03\x04") else None
        if entries is None:
            # One byte past the limit is enough for prepare() to refuse an oversize file.
            data = fileobj.read(settings.DICOM_MAX_FILE_BYTES + 1)
            # A name with a folder in it came from a folder upload (a CD export).
            batch.results.append(
                ingest_file(
                    case=case,
                    by=by,
                    data=data,
                    name=name,
                    in_collection="/" in name,
                    series_cache=cache,
                )
            )
            continue
        for entry in entries:
            if isinstance(entry, FileResult):
                batch.results.append(entry)
            else:
                entry_name, data = entry
                batch.results.append(
                    ingest_file(
                        case=case,
                        by=by,
                        data=data,
                        name=entry_name,
                        in_collection=True,
                        series_cache=cache,
                    )
                )
    for result in batch.results:
        if result.status == "stored":
            batch.touched_series.add(result.instance.series_id)
    if batch.touched_series:
        from imaging.thumbnails import refresh_thumbnail

        for series in Series.objects.filter(pk__in=batch.touched_series):
            refresh_thumbnail(series)
    audit(
        actor=by,
        action="imaging.upload",
        case=case,
        detail={
            "stored": batch.stored,
            "refused": sum(r.status == "refused" for r in batch.results),
            "duplicates": sum(r.status == "duplicate" for r in batch.results),
        },
    )
    return batch


# --- zip archives ---------------------------------------------------------------------------


def zip_entries(fileobj: BinaryIO, name: str) -> Iterator[tuple[str, bytes] | FileResult]:
    """The files of a zip, bounded in count and size; paths are never used on disk.

    Yields (entry name, bytes) for regular files and a FileResult for anything refused.
    """
    try:
        archive = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, OSError, ValueError):
        yield FileResult(name, "refused", "The zip file is damaged.")
        return
    with archive:
        infos = archive.infolist()
        if len(infos) > settings.ZIP_MAX_ENTRIES:
            yield FileResult(
                name,
                "refused",
                f"The zip has {len(infos)} entries, over the limit of {settings.ZIP_MAX_ENTRIES}.",
            )
            return
        declared = sum(info.file_size for info in infos)
        if declared > settings.ZIP_MAX_TOTAL_BYTES:
            yield FileResult(
                name,
                "refused",
                f"The zip would unpack to {declared / 2**20:.0f} MB, over the "
                f"{settings.ZIP_MAX_TOTAL_BYTES / 2**20:.0f} MB limit.",
            )
            return
        unpacked = 0
        for info in infos:
            label = f"{name}:{info.filename}"
            if info.is_dir():
                continue
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                yield FileResult(label, "skipped", "A symbolic link; links are not followed.")
                continue
            if info.flag_bits & 0x1:
                yield FileResult(label, "refused", "The entry is encrypted.")
                continue
            budget = min(settings.DICOM_MAX_FILE_BYTES, settings.ZIP_MAX_TOTAL_BYTES - unpacked)
            try:
                with archive.open(info) as member:
                    # Read one byte past the budget: a lying header cannot make us unpack more.
                    data = member.read(budget + 1)
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError):
                yield FileResult(label, "refused", "The entry is damaged.")
                continue
            if len(data) > budget:
                yield FileResult(label, "refused", "The entry unpacks beyond the size limit.")
                return
            unpacked += len(data)
            yield label, data

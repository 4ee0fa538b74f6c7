"""Turning one uploaded file into what is stored: parse, check, de-identify, re-encode.

Everything a file goes through before the database, as one function of its bytes. It needs
pydicom and numpy only, not Django (the limits are passed in), so scripts and tests can run
it on its own.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID

from imaging import deid, fastpath, geometry
from imaging.encode import encode

DICOMDIR_CLASS = "1.2.840.10008.1.3.10"
NON_IMAGE = {
    "1.2.840.10008.5.1.4.1.1.88": "a structured report",
    "1.2.840.10008.5.1.4.1.1.11": "a presentation state",
    "1.2.840.10008.5.1.4.1.1.481": "a radiotherapy object",
    "1.2.840.10008.5.1.4.1.1.104": "an encapsulated document",
    "1.2.840.10008.5.1.4.1.1.9": "a waveform",
}
REQUIRED = ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")
# Off only in tests, which compare `imaging.fastpath` with the pydicom path below.
FAST_PATH = True


class Refused(Exception):
    """The file is not stored, for ``reason``. ``sent`` holds the SOP Class and Instance
    UIDs as uploaded, when the file could be read that far (STOW-RS answers name them)."""

    def __init__(self, reason: str, sent: tuple[str, str] = ("", "")):
        super().__init__(reason, sent)
        self.reason = reason
        self.sent = sent


class NotDicom(Refused):
    """The file is no DICOM at all (a CD's viewer program, its README)."""


class Skipped(Refused):
    """Not an error: a file that carries no image for the viewer (DICOMDIR, reports)."""


@dataclass(frozen=True)
class Limits:
    """The configured caps (``settings.DICOM_MAX_*``), passed in rather than read here."""

    file_bytes: int
    decoded_bytes: int
    frames: int


@dataclass
class Prepared:
    """One checked file, ready to store: its bytes and the index rows it fills."""

    stored: bytes  # emptied by `imaging.ingest` once written to its place
    sop_instance_uid: str
    study_instance_uid: str
    series_instance_uid: str
    study: dict[str, Any] = field(default_factory=dict)  # Study columns, if it is new
    series: dict[str, Any] = field(default_factory=dict)  # Series columns, if it is new
    instance: dict[str, Any] = field(default_factory=dict)  # Instance columns


def parse(data: bytes) -> Dataset:
    """Parse without force: a file must be Part 10 (preamble and DICM) to get in."""
    if len(data) < 132:
        raise NotDicom("The file is too short to be DICOM.")
    try:
        ds = pydicom.dcmread(io.BytesIO(data), force=False)
    except InvalidDicomError:
        raise NotDicom("Not a DICOM file (no 'DICM' marker after the preamble).") from None
    except Exception as exc:  # pydicom raises anything from EOFError to its own errors
        raise Refused(f"Malformed or truncated DICOM: {type(exc).__name__}.") from None
    try:
        meta_class = str(getattr(ds.file_meta, "MediaStorageSOPClassUID", ""))
    except Exception:  # an element of the file meta that cannot be read (an unknown VR)
        raise Refused("Malformed DICOM: the file meta cannot be read.") from None
    if meta_class == DICOMDIR_CLASS or "DirectoryRecordSequence" in ds:
        raise Skipped("DICOMDIR (the CD's index); the images themselves are read instead.")
    look = second_look(ds)
    try:
        missing = [kw for kw in REQUIRED if not str(look.get(kw, "") or "").strip()]
        sent = (str(look.get("SOPClassUID", "") or ""), str(look.get("SOPInstanceUID", "") or ""))
    except Exception:  # a tag whose value cannot be read is malformed
        raise Refused("Malformed DICOM: a required UID cannot be read.") from None
    if missing:
        raise Refused(f"Missing required attribute(s): {', '.join(missing)}.", sent)
    for keyword in REQUIRED:
        if not UID(str(look[keyword].value)).is_valid:
            raise Refused(f"{keyword} is not a valid UID.", sent)
    return ds


def check_pixels(ds: Dataset, limits: Limits) -> None:
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
    if decoded > limits.decoded_bytes:
        raise Refused(
            f"The image would decode to {decoded / 2**20:.0f} MB, over the "
            f"{limits.decoded_bytes / 2**20:.0f} MB limit."
        )
    if frames > limits.frames:
        raise Refused(f"{frames} frames is over the limit of {limits.frames}.")
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


def prepare(data: bytes, limits: Limits, ctx: deid.DeidContext | None) -> Prepared:
    """Check one file and make what is stored of it; ``ctx`` None stores it identified."""
    if len(data) > limits.file_bytes:
        raise Refused(f"The file is over the {limits.file_bytes // 2**20} MB limit.")
    if ctx is not None and FAST_PATH:
        prepared = fastpath.prepare_fast(data, limits, ctx)
        if prepared is not None:
            return prepared
    ds = parse(data)
    # Reading an element parses it for good, and `encode` copies only the elements still
    # as read: the checks read a second dataset over the same elements.
    look = second_look(ds)
    sent = (str(look.SOPClassUID), str(look.SOPInstanceUID))
    try:
        check_pixels(look, limits)
        check_decodes(look)
    except Refused as exc:
        raise type(exc)(exc.reason, sent) from None
    except Exception as exc:  # an attribute pydicom cannot read (an unknown VR, a bad length)
        reason = f"Malformed DICOM: an image attribute cannot be read ({type(exc).__name__})."
        raise Refused(reason, sent) from None
    burned_in = deid.burned_in_risk(look)
    if ctx is not None:
        try:
            deid.deidentify(ds, ctx)
        except Exception as exc:
            raise Refused(f"De-identification failed ({type(exc).__name__}).", sent) from None
    # The preamble is free for any use: zero it so a stored file is never also a program.
    ds.preamble = b"\0" * 128
    try:
        stored = encode(ds, data)
    except Exception as exc:
        raise Refused(f"The file cannot be re-encoded ({type(exc).__name__}).", sent) from None
    try:
        return described(
            ds,
            stored=stored,
            syntax=str(ds.file_meta.TransferSyntaxUID),
            burned_in=burned_in,
            pixel_offset=geometry.native_pixel_offset(stored, ds),
        )
    except Exception as exc:  # a value the index reads that pydicom cannot
        reason = f"Malformed DICOM: an attribute cannot be read ({type(exc).__name__})."
        raise Refused(reason, sent) from None


def described(ds, *, stored: bytes, syntax: str, burned_in: bool, pixel_offset: int | None):
    """The `Prepared` of a stored file, with the index rows read from ``ds``: the dataset
    as stored, or what stands in for it (`imaging.fastpath`)."""
    return Prepared(
        stored=stored,
        sop_instance_uid=str(ds.SOPInstanceUID),
        study_instance_uid=str(ds.StudyInstanceUID),
        series_instance_uid=str(ds.SeriesInstanceUID),
        study={
            "study_date": geometry.date_of(ds.get("StudyDate")),
            "study_time": text_value(ds, "StudyTime", 16),
            "description": text_value(ds, "StudyDescription", 200),
            "accession_number": text_value(ds, "AccessionNumber", 16),
            "patient_name": text_value(ds, "PatientName", 200),
            "patient_id": text_value(ds, "PatientID", 64),
        },
        series={
            "modality": text_value(ds, "Modality", 16),
            "description": text_value(ds, "SeriesDescription", 200),
            "body_part": text_value(ds, "BodyPartExamined", 64),
            "series_number": geometry.int_or_none(ds.get("SeriesNumber")),
        },
        instance={
            "sop_class_uid": str(ds.SOPClassUID),
            "transfer_syntax_uid": syntax,
            "size": len(stored),  # and "sha256", from `write`
            "burned_in": burned_in,
            "pixel_offset": pixel_offset,
            **geometry.instance_fields(ds),
        },
    )


def second_look(ds: Dataset) -> Dataset:
    """Another dataset over the elements of ``ds`` as read, for reading values: parsing
    them there leaves the elements of ``ds`` as read (see `imaging.encode`)."""
    elements = {tag: ds.get_item(tag, keep_deferred=True) for tag in ds.keys()}  # noqa: SIM118
    look = Dataset(elements)
    look.file_meta = ds.file_meta
    look.set_original_encoding(*ds.original_encoding, ds.original_character_set)
    return look


def text_value(ds: Dataset, keyword: str, length: int) -> str:
    return str(ds.get(keyword, "") or "")[:length]


def write(stored: bytes, target: str | None) -> str:
    """Write the stored bytes to ``target`` (a new file, in a folder that exists), if
    given, and return their SHA-256."""
    if target is not None:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(stored)
    return hashlib.sha256(stored).hexdigest()

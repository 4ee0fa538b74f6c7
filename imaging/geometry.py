"""Reading what the index and the viewer need from a dataset, tolerant of odd values."""

from __future__ import annotations

import datetime
import io
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue


def int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def floats(value: Any, count: int) -> list[float] | None:
    try:
        out = [float(v) for v in value]
    except (TypeError, ValueError):
        return None
    return out if len(out) == count and all(np.isfinite(out)) else None


def date_of(value: Any) -> datetime.date | None:
    text = str(value or "").strip()
    try:
        return datetime.datetime.strptime(text[:8], "%Y%m%d").date()
    except ValueError:
        return None


def slice_position(position: list[float] | None, orientation: list[float] | None) -> float | None:
    """Distance along the slice normal (row cross column direction): the order in space.

    File names and InstanceNumber often disagree with anatomy; this never does.
    """
    if position is None or orientation is None:
        return None
    normal = np.cross(orientation[:3], orientation[3:])
    if not np.any(normal):
        return None
    return float(np.dot(normal, position))


def window_presets(ds: Dataset) -> list[dict[str, Any]]:
    centers, widths = ds.get("WindowCenter"), ds.get("WindowWidth")
    if centers is None or widths is None:
        return []
    names = _as_list(ds.get("WindowCenterWidthExplanation") or [])
    presets = []
    for i, (center, width) in enumerate(zip(_as_list(centers), _as_list(widths), strict=False)):
        try:
            c, w = float(center), float(width)
        except (TypeError, ValueError):
            continue
        if w <= 0 or not np.isfinite(c) or not np.isfinite(w):
            continue
        presets.append({"center": c, "width": w, "name": str(names[i]) if i < len(names) else ""})
    return presets


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple | MultiValue) else [value]


def instance_fields(ds: Dataset) -> dict[str, Any]:
    """The Instance columns read from a (checked) dataset."""
    position = floats(ds.get("ImagePositionPatient"), 3)
    orientation = floats(ds.get("ImageOrientationPatient"), 6)
    spacing = floats(ds.get("PixelSpacing"), 2) or floats(ds.get("ImagerPixelSpacing"), 2)
    photometric = str(ds.get("PhotometricInterpretation", "") or "")
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    if samples == 3:
        # The pixel API converts YCbCr to RGB on decode.
        photometric = "RGB"
    try:
        slope = float(ds.get("RescaleSlope", 1) or 1)
        intercept = float(ds.get("RescaleIntercept", 0) or 0)
    except (TypeError, ValueError):
        slope, intercept = 1.0, 0.0
    thickness = ds.get("SliceThickness")
    try:
        thickness = float(thickness) if thickness not in (None, "") else None
    except (TypeError, ValueError):
        thickness = None
    return {
        "instance_number": int_or_none(ds.get("InstanceNumber")),
        "rows": int(ds.Rows),
        "columns": int(ds.Columns),
        "frames": max(1, int_or_none(ds.get("NumberOfFrames")) or 1),
        "samples_per_pixel": samples,
        "bits_allocated": int(ds.BitsAllocated),
        "bits_stored": int_or_none(ds.get("BitsStored")) or int(ds.BitsAllocated),
        "pixel_representation": int_or_none(ds.get("PixelRepresentation")) or 0,
        "photometric": photometric,
        "rescale_slope": slope,
        "rescale_intercept": intercept,
        "window_presets": window_presets(ds),
        "pixel_spacing": spacing,
        "image_position": position,
        "image_orientation": orientation,
        "slice_thickness": thickness,
        "slice_position": slice_position(position, orientation),
    }


NATIVE_SYNTAXES = ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1")  # implicit, explicit VR LE


def native_pixel_offset(stored: bytes, ds: Dataset) -> int | None:
    """Byte offset of the pixel data in ``stored``, when frames can be read from it as is:
    uncompressed little endian, one sample of 8 or 16 bits, and long enough for every frame."""
    if str(ds.file_meta.TransferSyntaxUID) not in NATIVE_SYNTAXES:
        return None
    bits, samples = int(ds.BitsAllocated), int(ds.get("SamplesPerPixel", 1) or 1)
    if bits not in (8, 16) or samples != 1:
        return None
    frames = max(1, int_or_none(ds.get("NumberOfFrames")) or 1)
    needed = int(ds.Rows) * int(ds.Columns) * frames * bits // 8
    offset = _tail_offset(stored, ds)
    if offset is None:
        # Something follows the pixel data: a parse that defers large values records
        # where each one starts in the file.
        element = pydicom.dcmread(io.BytesIO(stored), defer_size=16).get_item("PixelData")
        offset = getattr(element, "file_tell", None)
    if offset is None or offset + needed > len(stored):
        return None
    return int(offset)


def _tail_offset(stored: bytes, ds: Dataset) -> int | None:
    """Where the pixel data starts when it is the last element of the file just written
    (the usual case), read off the end of the file, with its length field as a check."""
    if max(ds.keys()) != 0x7FE00010:
        return None
    length = len(ds.PixelData) + len(ds.PixelData) % 2  # values are padded to even length
    offset = len(stored) - length
    if offset < 4 or int.from_bytes(stored[offset - 4 : offset], "little") != length:
        return None
    return offset

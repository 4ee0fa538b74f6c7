"""Decoded frames for the viewer: raw stored values, rendered 8-bit images, a bounded cache."""

from __future__ import annotations

import io
import json
import struct
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
import pydicom
from django.conf import settings
from PIL import Image

from imaging.models import Instance


class FrameCache:
    """A least-recently-used cache of decoded frames, bounded in bytes, shared by threads."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.used = 0
        self._frames: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[int, int]) -> np.ndarray | None:
        with self._lock:
            frame = self._frames.get(key)
            if frame is not None:
                self._frames.move_to_end(key)
            return frame

    def put(self, key: tuple[int, int], frame: np.ndarray) -> None:
        if frame.nbytes > self.max_bytes:
            return
        with self._lock:
            if key in self._frames:
                return
            self._frames[key] = frame
            self.used += frame.nbytes
            while self.used > self.max_bytes:
                _, evicted = self._frames.popitem(last=False)
                self.used -= evicted.nbytes

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()
            self.used = 0


_cache: FrameCache | None = None


def cache() -> FrameCache:
    global _cache
    if _cache is None or _cache.max_bytes != settings.FRAME_CACHE_BYTES:
        _cache = FrameCache(settings.FRAME_CACHE_BYTES)
    return _cache


def _read_dataset(instance: Instance) -> pydicom.Dataset:
    with instance.file.open("rb") as fh:
        return pydicom.dcmread(fh, force=False)


def frame(instance: Instance, index: int) -> np.ndarray:
    """One frame as stored values: 2-D int16/uint16 for grayscale, HxWx3 uint8 for colour."""
    if not 0 <= index < instance.frames:
        raise IndexError(index)
    cached = cache().get((instance.pk, index))
    if cached is not None:
        return cached
    if instance.pixel_offset is not None:
        result = _read_native(instance, index)
    else:
        from pydicom.pixels import pixel_array

        ds = _read_dataset(instance)
        result = _normalise(pixel_array(ds, index=index), instance)
    cache().put((instance.pk, index), result)
    return result


def _read_native(instance: Instance, index: int) -> np.ndarray:
    """A frame read straight from the stored file (see Instance.pixel_offset)."""
    signed = instance.pixel_representation == 1
    dtype = {8: "i1" if signed else "u1", 16: "<i2" if signed else "<u2"}[instance.bits_allocated]
    size = instance.rows * instance.columns * np.dtype(dtype).itemsize
    with instance.file.open("rb") as fh:
        fh.seek(instance.pixel_offset + index * size)
        data = fh.read(size)
    if len(data) != size:
        raise ValueError(f"instance {instance.uuid}: frame {index} is cut short")
    values = np.frombuffer(data, dtype=dtype).reshape(instance.rows, instance.columns)
    return _normalise(values, instance)


def _normalise(array: np.ndarray, instance: Instance) -> np.ndarray:
    if instance.samples_per_pixel == 3:
        return np.ascontiguousarray(array, dtype=np.uint8)
    if array.dtype.kind == "f":
        raise ValueError("float pixel data")
    signed = instance.pixel_representation == 1
    return np.ascontiguousarray(array, dtype=np.int16 if signed else np.uint16)


# --- the raw frame format ------------------------------------------------------------------


def frame_header(instance: Instance, index: int, values: np.ndarray) -> dict[str, Any]:
    return {
        "instance": str(instance.uuid),
        "frame": index,
        "rows": instance.rows,
        "columns": instance.columns,
        "samples": instance.samples_per_pixel,
        "dtype": str(values.dtype),
        "photometric": instance.photometric,
        "slope": instance.rescale_slope,
        "intercept": instance.rescale_intercept,
        "spacing": instance.pixel_spacing,
        "position": instance.image_position,
        "orientation": instance.image_orientation,
        "windows": instance.window_presets,
        "min": int(values.min()) if values.size else 0,
        "max": int(values.max()) if values.size else 0,
    }


def frame_bytes(values: np.ndarray) -> bytes:
    # Little-endian whatever the machine: the browser reads it with a DataView/TypedArray.
    return values.astype(values.dtype.newbyteorder("<"), copy=False).tobytes()


def frame_record(instance: Instance, index: int) -> bytes:
    """One frame in the series stream: u32 header length, JSON header, u32 body length, body."""
    values = frame(instance, index)
    header = json.dumps(frame_header(instance, index, values), separators=(",", ":")).encode()
    body = frame_bytes(values)
    return struct.pack("<I", len(header)) + header + struct.pack("<I", len(body)) + body


def outward(first: int, count: int) -> list[int]:
    """first, first+1, first-1, first+2, ...: the slice looked at comes first."""
    first = min(max(first, 0), count - 1) if count else 0
    order = [first]
    for step in range(1, count):
        for candidate in (first + step, first - step):
            if 0 <= candidate < count:
                order.append(candidate)
    return order


# --- rendered frames ---------------------------------------------------------------------------


def window_to_grey(modality_values: np.ndarray, center: float, width: float) -> np.ndarray:
    """Linear VOI LUT of DICOM PS3.3 C.11.2.1.2, as the browser viewer applies it (lut.js)."""
    w = max(float(width), 1.0)
    scaled = ((modality_values - (center - 0.5)) / (w - 1 if w > 1 else 1) + 0.5) * 255.0
    grey = np.rint(scaled)
    grey[modality_values <= center - 0.5 - (w - 1) / 2] = 0
    grey[modality_values > center - 0.5 + (w - 1) / 2] = 255
    return np.clip(grey, 0, 255).astype(np.uint8)


def default_window(instance: Instance, values: np.ndarray) -> tuple[float, float]:
    if instance.window_presets:
        preset = instance.window_presets[0]
        return preset["center"], preset["width"]
    modality_values = values * instance.rescale_slope + instance.rescale_intercept
    low, high = np.percentile(modality_values, [0.5, 99.5])
    return (low + high) / 2, max(high - low, 1.0)


def render(
    instance: Instance,
    index: int,
    *,
    center: float | None = None,
    width: float | None = None,
    size: int | None = None,
    fmt: str = "png",
) -> bytes:
    """An 8-bit image of a frame for a window (default: the file's first preset)."""
    values = frame(instance, index)
    if instance.samples_per_pixel == 3:
        image = Image.fromarray(values, mode="RGB")
    else:
        if center is None or width is None:
            center, width = default_window(instance, values)
        modality_values = values.astype(np.float32) * instance.rescale_slope
        modality_values += instance.rescale_intercept
        grey = window_to_grey(modality_values, center, width)
        if instance.photometric == "MONOCHROME1":
            grey = 255 - grey
        image = Image.fromarray(grey, mode="L")
    if size:
        image.thumbnail((size, size))
    out = io.BytesIO()
    if fmt == "jpeg":
        image.save(out, format="JPEG", quality=90)
    else:
        image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def windowed(
    instance: Instance,
    values: np.ndarray,
    *,
    center: float | None = None,
    width: float | None = None,
) -> np.ndarray:
    """The 8-bit array ``render`` draws: windowed grayscale (HxW), colour untouched (HxWx3)."""
    if instance.samples_per_pixel == 3:
        return values
    if center is None or width is None:
        center, width = default_window(instance, values)
    modality_values = values.astype(np.float32) * instance.rescale_slope
    modality_values += instance.rescale_intercept
    grey = window_to_grey(modality_values, center, width)
    if instance.photometric == "MONOCHROME1":
        grey = 255 - grey
    return grey

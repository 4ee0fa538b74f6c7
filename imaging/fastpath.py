"""The common upload, de-identified in its bytes: the same result as `imaging.prepare`'s
pydicom path, without building a pydicom dataset of the whole file.

It takes what most scanners send: Part 10, uncompressed little endian (implicit or
explicit VR), monochrome 8- or 16-bit pixels, sequences of any depth. It walks the elements
once, asks `imaging.deid` what the profile does with each (the same decisions, the same
value rewrites), copies what is kept, and assembles the file. Anything else, and anything
it cannot promise to treat exactly as the pydicom path does, returns None, and the file
takes that path instead: a refusal, a compressed syntax, an UN or unreadable element, a
dummy sequence, a value only parsing can change.

The tests run both paths on pydicom's test files, the golden de-identification dataset and
a phantom, and on hundreds of copies of them with damaged headers, and require the same
`Prepared` (stored bytes and index fields) wherever this one answers.
"""

from __future__ import annotations

import functools
import math
import struct
from dataclasses import dataclass, field
from struct import pack, unpack_from

from pydicom.datadict import dictionary_VR
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element
from pydicom.tag import Tag
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from imaging import deid
from imaging.encode import LONG_VRS, element_header, header_length

_UNDEFINED = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_PIXEL_DATA = 0x7FE00010
# The file meta elements of PS3.10 7.1 and their VRs.
_META_VRS = {
    0x00020000: "UL",
    0x00020001: "OB",
    0x00020002: "UI",
    0x00020003: "UI",
    0x00020010: "UI",
    0x00020012: "UI",
    0x00020013: "SH",
    0x00020016: "AE",
    0x00020017: "AE",
    0x00020018: "AE",
    0x00020026: "UR",
    0x00020027: "UR",
    0x00020028: "UR",
    0x00020100: "UI",
    0x00020102: "OB",
}
# Top-level elements the pydicom path parses (and so writes anew) even where it keeps them.
_REREAD = (0x00080005, 0x00080016)
_MAX_DEPTH = 16
# What the index and the checks read from the top level, as `imaging.prepare` reads it.
_KEYWORDS = {
    int(Tag(keyword)): keyword
    for keyword in (
        "SpecificCharacterSet",
        "SOPClassUID",
        "SOPInstanceUID",
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "StudyDate",
        "StudyTime",
        "StudyDescription",
        "AccessionNumber",
        "PatientName",
        "PatientID",
        "Modality",
        "SeriesDescription",
        "BodyPartExamined",
        "SeriesNumber",
        "InstanceNumber",
        "Rows",
        "Columns",
        "NumberOfFrames",
        "SamplesPerPixel",
        "BitsAllocated",
        "BitsStored",
        "PixelRepresentation",
        "PhotometricInterpretation",
        "RescaleSlope",
        "RescaleIntercept",
        "WindowCenter",
        "WindowWidth",
        "WindowCenterWidthExplanation",
        "PixelSpacing",
        "ImagerPixelSpacing",
        "ImagePositionPatient",
        "ImageOrientationPatient",
        "SliceThickness",
        "BurnedInAnnotation",
    )
}
_READ = set(_KEYWORDS)


class _Unsure(Exception):
    """Leave this file to the pydicom path."""


@dataclass(slots=True)
class _Element:
    tag: int
    vr: str | None  # None: implicit VR, as read
    length: int  # as in the file (0xFFFFFFFF: undefined)
    start: int
    value_start: int
    value_end: int
    end: int
    items: list[_Item] | None = None


@dataclass(slots=True)
class _Item:
    undefined: bool
    elements: list[_Element] = field(default_factory=list)


# --- reading ---------------------------------------------------------------------------


def _read_elements(data: bytes, pos: int, end: int, implicit: bool, depth: int, *, item: bool):
    """The elements from ``pos``: up to ``end``, or (``item`` with ``end`` None) up to an
    item delimiter. Returns (elements, position after them)."""
    if depth > _MAX_DEPTH:
        raise _Unsure
    elements: list[_Element] = []
    limit = len(data) if end is None else end
    previous = -1
    while pos < limit:
        if pos + 8 > limit:
            raise _Unsure
        group, number = unpack_from("<HH", data, pos)
        tag = group << 16 | number
        if tag == _ITEM_END and end is None and item:
            return elements, pos + 8
        if tag <= previous or group == 0xFFFE:
            raise _Unsure  # out of order, or a stray delimiter
        previous = tag
        if implicit:
            vr = None
            (length,) = unpack_from("<I", data, pos + 4)
            value_start = pos + 8
            is_sequence = _dictionary_vr(tag) == "SQ"
            if length == _UNDEFINED and not is_sequence:
                raise _Unsure  # pydicom guesses a sequence here
        else:
            vr = data[pos + 4 : pos + 6].decode("ascii", "replace")
            if vr not in deid.KNOWN_VRS or vr == "UN":
                raise _Unsure
            if vr in LONG_VRS:
                if data[pos + 6 : pos + 8] != b"\0\0":
                    raise _Unsure
                (length,) = unpack_from("<I", data, pos + 8)
                value_start = pos + 12
            else:
                (length,) = unpack_from("<H", data, pos + 6)
                value_start = pos + 8
            is_sequence = vr == "SQ"
            if length == _UNDEFINED and not is_sequence:
                raise _Unsure  # encapsulated pixel data: the pydicom path
        element = _Element(tag, vr, length, pos, value_start, value_start, value_start)
        if is_sequence:
            items_end = None if length == _UNDEFINED else value_start + length
            element.items, element.value_end = _read_items(
                data, value_start, items_end, implicit, depth + 1
            )
            element.end = element.value_end + (8 if length == _UNDEFINED else 0)
        else:
            element.value_end = element.end = value_start + length
        if element.end > limit:
            raise _Unsure
        elements.append(element)
        pos = element.end
    if end is None and item:
        raise _Unsure  # no item delimiter
    return elements, pos


def _read_items(data: bytes, pos: int, end: int | None, implicit: bool, depth: int):
    """A sequence's items; returns (items, where its value ends)."""
    items: list[_Item] = []
    while True:
        if end is not None and pos >= end:
            if pos != end:
                raise _Unsure
            return items, pos
        if pos + 8 > len(data):
            raise _Unsure
        group, number = unpack_from("<HH", data, pos)
        tag = group << 16 | number
        (length,) = unpack_from("<I", data, pos + 4)
        if tag == _SEQUENCE_END and end is None:
            return items, pos
        if tag != _ITEM:
            raise _Unsure
        if length == _UNDEFINED:
            elements, pos = _read_elements(data, pos + 8, None, implicit, depth, item=True)
            items.append(_Item(True, elements))
        else:
            item_end = pos + 8 + length
            elements, pos = _read_elements(data, pos + 8, item_end, implicit, depth, item=False)
            items.append(_Item(False, elements))


@functools.lru_cache(maxsize=8192)
def _dictionary_vr(tag: int) -> str | None:
    try:
        return dictionary_VR(tag)
    except KeyError:
        return None


def _raw(element: _Element, data: bytes, implicit: bool) -> RawDataElement:
    return RawDataElement(
        Tag(element.tag),
        element.vr,
        element.length,
        data[element.value_start : element.value_end],
        element.value_start,
        implicit,
        True,
        True,
        False,
    )


class _Values:
    """What the checks and the index read, as pydicom would hand it to them (a stand-in
    for the dataset in ``ds.get(keyword)`` and ``ds.Rows``), converted from the bytes only
    when plain: ASCII text, well-formed numbers. Anything else is left to pydicom."""

    def __init__(self, raw: dict[str, tuple[str, bytes]]):
        # All converted now, in this module: a value that is not plain stops the fast path
        # here, before code that reads it (and may catch errors) sees it.
        self._values = {keyword: _convert(vr, value) for keyword, (vr, value) in raw.items()}

    def get(self, keyword: str, default=None):
        return self._values.get(keyword, default)

    def __getattr__(self, keyword: str):
        if keyword.startswith("_") or keyword not in self._values:
            raise AttributeError(keyword)
        return self._values[keyword]

    def __contains__(self, keyword: str) -> bool:
        return keyword in self._values


_BINARY = {"US": "<H", "SS": "<h", "UL": "<I", "SL": "<i"}


def _convert(vr: str, value: bytes):
    """A value as pydicom converts it, for the VRs the index reads; _Unsure otherwise."""
    if vr in _BINARY:
        if len(value) != struct.calcsize(_BINARY[vr]):
            raise _Unsure
        return unpack_from(_BINARY[vr], value)[0]
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError:
        raise _Unsure from None  # pydicom would decode it with the character set
    if vr == "UI":  # pydicom's UID strips every value of its whitespace too
        text = text.rstrip("\0 ")
        parts = [part.strip() for part in text.split("\\")]
        return parts[0] if len(parts) == 1 else parts
    if "\0" in text:
        raise _Unsure
    else:
        text = text.rstrip(" ")
    if vr in ("DS", "IS"):
        if not text.strip():
            return None
        try:
            numbers = [float(part) if vr == "DS" else int(part) for part in text.split("\\")]
        except ValueError:
            raise _Unsure from None  # pydicom reads some forms Python does not, or refuses
        if not all(math.isfinite(number) for number in numbers):
            raise _Unsure
        return numbers[0] if len(numbers) == 1 else numbers
    if vr not in ("AE", "CS", "DA", "DT", "LO", "PN", "SH", "TM", "UI"):
        raise _Unsure
    if "\\" in text:
        parts = text.split("\\")
        if any(part != part.strip() for part in parts):
            raise _Unsure
        return parts
    return text


# --- writing -----------------------------------------------------------------------------


def _clean(
    elements: list[_Element], data: bytes, ctx, shift: int, implicit: bool
) -> list[tuple[int, bytes]]:
    """(tag, encoded element) for what the profile keeps of these elements, in tag order:
    what `deid._clean` and pydicom's writer make of them."""
    out: list[tuple[int, bytes]] = []
    for element in elements:
        tag = element.tag
        if tag >> 16 & 1:
            continue  # private: removed with everything in it
        if element.items is not None:
            sequence = _sequence(element, data, ctx, shift, implicit)
            if sequence is not None:
                out.append((tag, sequence))
            continue
        vr = element.vr
        if vr is None:  # implicit: the dictionary's
            vr = _dictionary_vr(tag)
            if vr is None:
                raise _Unsure
            if " or " in vr:
                # Ambiguous (US or SS, OB or OW): the pydicom path parses it, and writes
                # the same bytes back if the profile keeps it.
                if deid.action_for(tag, vr.split(" or ")[0]) != "K" or element.length % 2:
                    raise _Unsure
                out.append((tag, data[element.start : element.end]))
                continue
        if vr == "UN" or vr not in deid.KNOWN_VRS:
            raise _Unsure
        # As deid.raw_action and deid._clean decide for an element not parsed yet.
        action = deid.for_context(deid.action_for(tag, vr), ctx)
        if action == "X":
            continue
        if action == "K":
            out.append((tag, data[element.start : element.end]))
            continue
        raw = _raw(element, data, implicit)
        if action == "SHIFT" and deid.is_time_as_read(raw):
            out.append((tag, data[element.start : element.end]))
            continue
        rewritten = deid.rewrite_raw(raw, action, ctx, shift)
        if rewritten is None:
            raise _Unsure
        out.append(
            (tag, element_header(tag, rewritten.VR, rewritten.length, implicit) + rewritten.value)
        )
    return out


def _sequence(element: _Element, data: bytes, ctx, shift: int, implicit: bool) -> bytes | None:
    action = deid.action_for(element.tag, "SQ")
    if action == "X":
        return None
    undefined = element.length == _UNDEFINED
    if action == "Z":
        body = b""
    elif action == "D":
        raise _Unsure  # a dummy sequence: its text becomes dummies on the pydicom path
    else:
        parts = []
        for item in element.items:
            kept = b"".join(
                encoded for _tag, encoded in _clean(item.elements, data, ctx, shift, implicit)
            )
            if item.undefined:
                parts.append(
                    pack("<HHI", 0xFFFE, 0xE000, _UNDEFINED)
                    + kept
                    + pack("<HHI", 0xFFFE, 0xE00D, 0)
                )
            else:
                parts.append(pack("<HHI", 0xFFFE, 0xE000, len(kept)) + kept)
        body = b"".join(parts)
    if undefined:
        return (
            element_header(element.tag, "SQ", _UNDEFINED, implicit)
            + body
            + pack("<HHI", 0xFFFE, 0xE0DD, 0)
        )
    return element_header(element.tag, "SQ", len(body), implicit) + body


@functools.lru_cache(maxsize=64)
def _additions(ctx: deid.DeidContext, implicit: bool) -> tuple[tuple[int, bytes], ...]:
    """What `deid.mark` sets, encoded as pydicom encodes it: the same for every file of a
    case."""
    ds = Dataset()
    deid.mark(ds, ctx)
    encoded = []
    for tag in sorted(ds.keys()):
        out = DicomBytesIO()
        out.is_implicit_VR, out.is_little_endian = implicit, True
        write_data_element(out, ds[tag], "iso8859")
        encoded.append((int(tag), out.getvalue()))
    return tuple(encoded)


def _file_meta(sop_class: str, sop_instance: str, syntax: str) -> bytes:
    """The file meta `deid._file_meta` makes, as write_file_meta_info encodes it."""
    elements = b"".join(
        (
            _meta_element(0x0001, "OB", b"\x00\x01"),
            _meta_element(0x0002, "UI", sop_class.encode("ascii")),
            _meta_element(0x0003, "UI", sop_instance.encode("ascii")),
            _meta_element(0x0010, "UI", syntax.encode("ascii")),
            _meta_element(0x0012, "UI", deid.IMPLEMENTATION_CLASS_UID.encode("ascii")),
            _meta_element(0x0013, "SH", deid.IMPLEMENTATION_VERSION_NAME.encode("ascii")),
        )
    )
    return _meta_element(0x0000, "UL", pack("<I", len(elements))) + elements


def _meta_element(number: int, vr: str, value: bytes) -> bytes:
    if len(value) % 2:
        value += b"\x00" if vr in ("UI", "OB") else b" "
    return element_header(0x00020000 | number, vr, len(value), False) + value


# --- the whole file ----------------------------------------------------------------------


def prepare_fast(data: bytes, limits, ctx: deid.DeidContext):
    """`imaging.prepare.prepare` for a file it takes (see the module), or None."""
    try:
        return _prepare(data, limits, ctx)
    except (_Unsure, struct.error, ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None


def _read_meta(data: bytes) -> tuple[dict[int, bytes], int]:
    if len(data) < 140 or data[128:132] != b"DICM":
        raise _Unsure
    meta: dict[int, bytes] = {}
    pos = 132
    while pos + 8 <= len(data) and unpack_from("<H", data, pos)[0] == 0x0002:
        group, number = unpack_from("<HH", data, pos)
        tag = group << 16 | number
        vr = data[pos + 4 : pos + 6].decode("ascii", "replace")
        if _META_VRS.get(tag, vr) != vr or vr not in deid.KNOWN_VRS or (meta and tag <= max(meta)):
            raise _Unsure  # a VR the standard does not give it, or out of order
        if vr in LONG_VRS:
            (length,) = unpack_from("<I", data, pos + 8)
            start = pos + 12
        else:
            (length,) = unpack_from("<H", data, pos + 6)
            start = pos + 8
        if length == _UNDEFINED or start + length > len(data):
            raise _Unsure
        meta[tag] = data[start : start + length]
        pos = start + length
    # pydicom trusts the group length: where it disagrees with the elements, it reads
    # another file than this path would.
    group_length = meta.get(0x00020000)
    if group_length is None or len(group_length) != 4:
        raise _Unsure
    if 144 + unpack_from("<I", group_length)[0] != pos:
        raise _Unsure
    return meta, pos


def _uid(value: bytes | None) -> str:
    return (value or b"").rstrip(b"\0 ").decode("ascii")


def _prepare(data: bytes, limits, ctx: deid.DeidContext):
    from imaging.prepare import DICOMDIR_CLASS, REQUIRED, described

    meta, pos = _read_meta(data)
    syntax = _uid(meta.get(0x00020010))
    if syntax not in (ImplicitVRLittleEndian, ExplicitVRLittleEndian):
        raise _Unsure
    if _uid(meta.get(0x00020002)) == DICOMDIR_CLASS:
        raise _Unsure
    implicit = syntax == ImplicitVRLittleEndian
    elements, _end = _read_elements(data, pos, len(data), implicit, 0, item=False)
    top = {element.tag: element for element in elements}
    if 0x00041220 in top or _PIXEL_DATA not in top:
        raise _Unsure  # a DICOMDIR, or no pixels: the pydicom path says why
    look = _Values(
        {
            keyword: (_vr(top[tag], implicit), data[top[tag].value_start : top[tag].value_end])
            for tag, keyword in _KEYWORDS.items()
            if tag in top
        }
    )
    for keyword in REQUIRED:
        value = str(look.get(keyword, "") or "").strip()
        if not value or not UID(value).is_valid:
            raise _Unsure
    pixel = top[_PIXEL_DATA]
    _check_pixels(look, pixel, limits)
    burned_in = deid.burned_in_risk(look)

    shift = deid.date_shift_days(ctx)
    for tag in _REREAD:
        if tag in top and not _canonical(top[tag], data):
            raise _Unsure
    cleaning = ctx
    if ctx.clean_descriptors:  # as deid.deidentify: the file's own name and ID go too
        names = (str(look.get(k, "") or "") for k in ("PatientName", "PatientID"))
        cleaning = deid.with_words(ctx, *names)
    kept = _clean(elements, data, cleaning, shift, implicit)
    additions = _additions(ctx, implicit)
    replaced = {tag for tag, _encoded in additions}
    body = sorted(
        [part for part in kept if part[0] not in replaced] + list(additions),
        key=lambda part: part[0],
    )
    after = _Values(_values(body, implicit))
    head = b"\0" * 128 + b"DICM"
    head += _file_meta(str(after.SOPClassUID), str(after.SOPInstanceUID), syntax)
    offsets, at = {}, len(head)
    for tag, encoded in body:
        offsets[tag] = at
        at += len(encoded)
    stored = b"".join([head, *(encoded for _tag, encoded in body)])
    return described(
        after,
        stored=stored,
        syntax=syntax,
        burned_in=burned_in,
        pixel_offset=_pixel_offset(look, pixel, offsets, implicit, len(stored)),
    )


def _canonical(element: _Element, data: bytes) -> bool:
    """Whether pydicom, writing this element's parsed value back, gives its bytes: the
    pydicom path parses the few elements it reads (the SOP Class, the character set) and
    so writes them anew, where this path copies them."""
    value = data[element.value_start : element.value_end]
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError:
        return False
    parts = text.rstrip("\0 ").split("\\") if element.tag == 0x00080016 else None
    if parts is not None:
        text = "\\".join(part.strip() for part in parts)
        pad = "\0"
    else:
        text, pad = text.rstrip(" "), " "
    return value == (text + pad * (len(text) % 2)).encode("ascii")


def _check_pixels(look: _Values, pixel: _Element, limits) -> None:
    """The strict part of `imaging.prepare.check_pixels` and `check_decodes` this path
    takes: monochrome, 8 or 16 bits, complete; anything else goes the pydicom way."""
    rows, columns = int(look.Rows), int(look.Columns)
    bits, bits_stored = int(look.BitsAllocated), int(look.BitsStored)
    samples = int(look.SamplesPerPixel)  # pydicom's decoder needs it: no default here
    frames = int(look.get("NumberOfFrames", 1) or 1)
    representation = int(look.PixelRepresentation)
    photometric = str(look.get("PhotometricInterpretation", ""))
    if min(rows, columns, frames) < 1 or samples != 1 or bits not in (8, 16):
        raise _Unsure
    if not 1 <= bits_stored <= bits or representation not in (0, 1):
        raise _Unsure
    if photometric not in ("MONOCHROME1", "MONOCHROME2"):
        raise _Unsure
    needed = rows * columns * frames * bits // 8
    if needed > limits.decoded_bytes or frames > limits.frames:
        raise _Unsure
    if pixel.value_end - pixel.value_start < needed:
        raise _Unsure


def _pixel_offset(look, pixel: _Element, offsets, implicit: bool, size: int) -> int | None:
    """Where the pixel values start in the stored file (`geometry.native_pixel_offset`)."""
    offset = offsets[_PIXEL_DATA] + header_length(pixel.vr, implicit)
    frames = int(look.get("NumberOfFrames", 1) or 1)
    needed = int(look.Rows) * int(look.Columns) * frames * int(look.BitsAllocated) // 8
    return offset if offset + needed <= size else None


def _values(body: list[tuple[int, bytes]], implicit: bool) -> dict[str, tuple[str, bytes]]:
    """The top-level values of the result that the index reads, from the elements as
    encoded (kept, rewritten or set by de-identification): keyword: (VR, value bytes)."""
    values = {}
    for tag, encoded in body:
        keyword = _KEYWORDS.get(tag)
        if keyword is not None:
            vr = _checked_vr(_dictionary_vr(tag) if implicit else encoded[4:6].decode("ascii"))
            values[keyword] = (vr, encoded[header_length(vr, implicit) :])
    return values


def _vr(element: _Element, implicit: bool) -> str:
    return _checked_vr(_dictionary_vr(element.tag) if implicit else element.vr)


def _checked_vr(vr: str | None) -> str:
    if vr is None or " or " in vr:
        raise _Unsure
    return vr

"""Writing a checked dataset back to Part 10 bytes: what `pydicom.dcmwrite` writes, faster.

De-identification changes a few dozen elements of a header and keeps the rest as read,
unparsed (`imaging.deid`), and the pixel data is never touched. pydicom would still encode
every element again, one call each. Here the elements still as read are copied from the
upload itself, in runs of consecutive bytes (the pixel data is usually the last and largest
run), and only the changed ones go through pydicom's element writer.

The output is byte for byte what ``dcmwrite(..., enforce_file_format=True)`` gives (the tests
compare both on pydicom's own test files). Whenever that cannot be promised (a deflated or
big endian transfer syntax, a dataset read in another encoding than it will be written in, a
character set change, an element whose bytes are not where its record says), `encode` falls
back to `dcmwrite`.

Needs pydicom only, like `imaging.prepare`.
"""

from __future__ import annotations

import io
import struct

import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element, write_file_meta_info
from pydicom.uid import DeflatedExplicitVRLittleEndian

# Explicit VR elements whose header is 12 bytes (a reserved pair and a 4-byte length).
LONG_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT", "SV", "UV"})
_UNDEFINED = 0xFFFFFFFF
_SEQUENCE_DELIMITER = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
_META_UIDS = (
    ("MediaStorageSOPClassUID", "SOPClassUID"),
    ("MediaStorageSOPInstanceUID", "SOPInstanceUID"),
)


def encode(ds: Dataset, data: bytes) -> bytes:
    """Part 10 bytes of ``ds`` (with its preamble and file meta), which was read from
    ``data``. Like dcmwrite, it brings the file meta's SOP UIDs in line with the dataset's
    (in ``ds.file_meta`` itself, where dcmwrite changes a copy)."""
    spliced = _splice(ds, data)
    if spliced is not None:
        return spliced
    out = io.BytesIO()
    pydicom.dcmwrite(out, ds, enforce_file_format=True)
    return out.getvalue()


def _splice(ds: Dataset, data: bytes) -> bytes | None:
    if any(tag >> 16 in (0, 2) for tag in ds.keys()):  # noqa: SIM118 (iterating ds parses)
        return None  # dcmwrite refuses these: let it say why
    meta = ds.file_meta
    try:
        syntax = meta.TransferSyntaxUID
        implicit, little = syntax.is_implicit_VR, syntax.is_little_endian
    except (AttributeError, ValueError):  # no transfer syntax, or not one pydicom knows
        return None
    if syntax.is_private or syntax == DeflatedExplicitVRLittleEndian or not little:
        return None  # deflated: the offsets are in the inflated stream, not in ``data``
    if tuple(ds.original_encoding) != (implicit, True):
        return None  # dcmwrite would transcode every element
    if ds.original_character_set != ds._character_set:
        return None  # ... or re-encode the text
    preamble = ds.preamble or b"\x00" * 128
    if len(preamble) != 128:
        return None
    # What dcmwrite does to its copy of the file meta, done to the dataset's own
    # and first, as there: reading the SOP UIDs parses them.
    for meta_keyword, keyword in _META_UIDS:
        current, wanted = meta.get(meta_keyword), ds.get(keyword)
        if current is None or (wanted and wanted != current):
            setattr(meta, meta_keyword, wanted)

    # Then the plan: a byte range of ``data`` or a tag to encode, in tag order, made
    # before anything is written, so a fallback to dcmwrite finds ``ds`` as dcmwrite
    # would have it. An element not copied is written as write_dataset
    # writes it: parsed ones encoded, raw ones with their bytes as read.
    plan: list[tuple[int, int] | int] = []
    for tag in sorted(ds.keys()):
        if tag.element == 0 and tag.group > 6:
            continue  # retired group lengths: dcmwrite drops them too
        elem = ds.get_item(tag)
        span = _span(elem, data, implicit, syntax.is_compressed) if elem.is_raw else None
        if span is None and elem.is_raw and tag == 0x7FE00010:
            return None  # pixel data dcmwrite would re-frame: leave it to dcmwrite
        if span is not None and plan and isinstance(plan[-1], tuple) and plan[-1][1] == span[0]:
            plan[-1] = (plan[-1][0], span[1])  # consecutive in the file: one copy
        else:
            plan.append(span if span is not None else int(tag))

    head = DicomBytesIO()
    head.is_implicit_VR, head.is_little_endian = False, True
    head.write(preamble)
    head.write(b"DICM")
    write_file_meta_info(head, meta, enforce_standard=True)
    pieces: list[bytes | memoryview] = [head.getvalue()]
    source = memoryview(data)  # slices of it are views, copied once by the final join
    charset = ds.get("SpecificCharacterSet", pydicom.charset.default_encoding)
    for step in plan:
        if isinstance(step, tuple):
            pieces.append(source[step[0] : step[1]])
            continue
        elem = ds.get_item(step)  # what write_dataset writes: raw ones as they are
        raw = _raw_bytes(elem, implicit) if elem.is_raw else None
        if raw is None:
            one = DicomBytesIO()
            one.is_implicit_VR, one.is_little_endian = implicit, True
            write_data_element(one, elem, charset)
            raw = one.getvalue()
        pieces.append(raw)
    return b"".join(pieces)


def element_header(tag: int, vr: str | None, length: int, implicit: bool) -> bytes:
    """An element's tag, VR and length as pydicom's writer encodes them (little endian)."""
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF)
    if implicit:
        return head + struct.pack("<I", length)
    if vr in LONG_VRS:
        return head + vr.encode("ascii") + b"\0\0" + struct.pack("<I", length)
    return head + vr.encode("ascii") + struct.pack("<H", length)


def header_length(vr: str | None, implicit: bool) -> int:
    return 8 if implicit or vr not in LONG_VRS else 12


def _raw_bytes(elem: RawDataElement, implicit: bool) -> bytes | None:
    """A raw element of defined length encoded as pydicom's writer encodes one (its bytes
    unchanged), without the writer's per-element machinery; None for anything else."""
    value = elem.value
    if elem.is_buffered or not isinstance(value, bytes) or elem.length == _UNDEFINED:
        return None
    if not implicit and (elem.VR is None or len(elem.VR) != 2):
        return None  # pydicom raises: let it
    if not implicit and elem.VR not in LONG_VRS and len(value) > 0xFFFF:
        return None  # pydicom switches the VR to UN: let it
    return element_header(int(elem.tag), elem.VR, len(value), implicit) + value


def _span(elem: RawDataElement, data: bytes, implicit: bool, compressed: bool):
    """Where this element, as read, lies in ``data``: (start, end), or None if it is not
    exactly there or dcmwrite would write it differently."""
    if elem.value_tell is None or elem.is_buffered or not isinstance(elem.value, bytes):
        return None
    tag = int(elem.tag)
    undefined = elem.length == _UNDEFINED
    if tag == 0x7FE00010 and undefined != compressed:
        return None  # dcmwrite makes encapsulated pixel data undefined length, native not
    start = elem.value_tell - header_length(elem.VR, implicit)
    value_end = elem.value_tell + len(elem.value)
    if undefined:
        end = value_end + len(_SEQUENCE_DELIMITER)
        if data[value_end:end] != _SEQUENCE_DELIMITER:
            return None
    else:
        if elem.length != len(elem.value) or elem.length % 2:
            return None  # dcmwrite pads an odd value
        end = value_end
    head = (tag >> 16).to_bytes(2, "little") + (tag & 0xFFFF).to_bytes(2, "little")
    if start < 0 or data[start : start + 4] != head:
        return None
    if not implicit:
        vr = (elem.VR or "").encode("ascii")
        if data[start + 4 : start + 6] != vr or (
            start + 12 == elem.value_tell and data[start + 6 : start + 8] != b"\0\0"
        ):
            return None  # another VR on disk than in the record, or reserved bytes set
    if not data.startswith(elem.value, elem.value_tell):  # compared in place
        return None
    return start, end

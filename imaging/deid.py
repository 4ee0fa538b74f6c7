"""De-identification of DICOM datasets before they are stored or shown to the board.

What is applied: DICOM PS3.15 Annex E, the Basic Application Level Confidentiality Profile
with the Retain Longitudinal Temporal Information with Modified Dates Option. The per-attribute
actions come from `imaging.annex_e` (Table E.1-1); this module decides how each action is
carried out and adds the few rules the table leaves to the implementer.

Resolution of the table's actions:
- D: a dummy value of the element's VR ("ANONYMIZED", 0, a zero date ...). A UI element
  marked D gets `deid_uid` so references stay consistent. A *sequence* marked D (Content
  Sequence, Graphic Annotation Sequence, Person Identification Code Sequence ...) keeps its
  item structure, but every text value inside it (names, free text, codes) becomes a dummy:
  the standard expects dummy items, and their text is exactly what may name someone.
- Z: zero length (an empty sequence for SQ). X: removed. K: kept (sequences still cleaned).
- U: every value replaced by `deid_uid(value)`; the same original gives the same new UID in
  every instance of the case, in any process.
- C in the option column (all date and time attributes): DA values and the date part of DT
  values are shifted by `date_shift_days`; TM values and the time of day are kept, since the
  shift is whole days (a TM that is not a time is emptied). A C on an attribute that is not
  DA/DT/TM falls back to the Basic Profile.
- Combined actions mean "the first letter unless the IOD needs the later one". Without
  knowing every IOD, the rule here is: take the first letter (X, or Z for Z/D), except
  * X/Z/U* (Referenced Image Sequence, Source Image Sequence): kept with their instance UIDs
    replaced, because viewers need them and several IODs require them (Type 1C/2);
  * the few attributes listed in `_REQUIRED_IN_COMMON_IODS`, which are Type 1 or 2 in IODs
    Consilium ingests and so are kept as Z or D.
  Every option the standard allows removes the original value, so this choice only affects
  IOD conformance, never confidentiality.

Rules beyond the table (each stricter than the standard, never looser):
- Private attributes (odd groups, their creators too) are removed everywhere, as the
  Basic Profile requires. So are odd groups that are not even legal (0001, 0003, ...).
- Group lengths, command elements (group 0000) and stray file-meta elements (group 0002)
  inside the dataset are removed; the file meta is rebuilt from scratch.
- A whole overlay group (60xx) is removed, not only Overlay Data and Comments, so the output
  never holds a half overlay module.
- A standard attribute the dictionary does not know is removed (nobody can say it is safe).
- DA/DT attributes missing from the table are shifted like the others; PN attributes missing
  from it get a dummy; UI attributes missing from it are replaced by `deid_uid` unless they name
  a class, transfer syntax or coding resource rather than an instance.
- An element whose VR disagrees with the dictionary, or whose value cannot be read, is removed
  unless it is outside the table and harmless; a date or time that cannot be parsed is
  emptied. Nothing raises.

Clean Descriptors Option (PS3.15 E.3.5; Table E.1-1, column "Clean Desc. Opt."), when the board
keeps descriptors (`DeidContext.clean_descriptors`): Study Description and Series Description,
which the Basic Profile removes (X) and the option marks C, are kept after `clean_descriptor`
has removed what may identify someone: the patient's name parts and hospital number, the
PatientName and PatientID of the file itself, anything that reads as a date, and runs of four
or more digits. The other C attributes of that column (Protocol Name, Image Comments ...) keep
their Basic Profile action: stricter than the option, never looser.

PatientName and PatientID get the case pseudonym. PatientAge is removed: the Modified Dates
Option does not retain it (only the Retain Patient Characteristics Option would).

This module needs pydicom only, not Django, so it can run in workers and scripts.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import hashlib
import hmac
import re
from dataclasses import dataclass

from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.uid import (
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)
from pydicom.valuerep import VR

from imaging import annex_e

# Generated once as 2.25.<random UUID>; identifies files written by Consilium (PS3.7 D.3.3.2).
IMPLEMENTATION_CLASS_UID = "2.25.229772477273161392527360950660219431481"
IMPLEMENTATION_VERSION_NAME = "CONSILIUM_1"

DEIDENTIFICATION_METHOD = [
    "PS3.15 Annex E Basic Application Confidentiality Profile",
    "Retain Longitudinal Temporal Information Modified Dates Option",
    "Consilium",
]
# PS3.16 CID 7050 "De-identification Method".
DEIDENTIFICATION_CODES = [
    ("113100", "Basic Application Confidentiality Profile"),
    ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
]
CLEAN_DESCRIPTORS_METHOD = "Clean Descriptors Option"
CLEAN_DESCRIPTORS_CODE = ("113105", "Clean Descriptors Option")

# PS3.15 Table E.1-1, "Clean Descriptors Option" column: C (clean) on these descriptors, kept
# with identifying words removed; their Basic Profile action (X) applies without the option.
CLEANED_DESCRIPTORS = frozenset(
    {
        0x00081030,  # Study Description
        0x0008103E,  # Series Description
    }
)

BURNED_IN_MODALITIES = frozenset({"US", "SC", "OT", "XA"})

SHIFT_MIN_DAYS = 30
SHIFT_MAX_DAYS = 365

# Combined-action attributes kept present because they are Type 1 or 2 in IODs we ingest.
_REQUIRED_IN_COMMON_IODS = {
    0x00400555: "Z",  # Acquisition Context Sequence: Type 2 in the Acquisition Context Module
    0x00181000: "D",  # Device Serial Number: Type 1 in the Enhanced General Equipment Module
    0x00102203: "Z",  # Patient's Sex Neutered: Type 2C in the Patient Module
    0x300A00B2: "Z",  # Treatment Machine Name: Type 2 in RT Beams
    0x300E0008: "Z",  # Reviewer Name: Type 2C in the Approval Module
}

_FIRST_CHOICE = {
    "X": "X",
    "Z": "Z",
    "D": "D",
    "U": "U",
    "K": "K",
    "C": "D",
    "X/Z": "X",
    "X/D": "X",
    "Z/D": "Z",
    "X/Z/D": "X",
    "X/Z/U*": "K",  # keep the sequence; its items' instance UIDs are U in the table
}

_PATIENT_NAME = 0x00100010
_PATIENT_ID = 0x00100020

KNOWN_VRS = frozenset(vr.value for vr in VR)
# VRs whose value `rewrite_raw` may replace as bytes (text, one character set: ASCII).
_REWRITABLE_VRS = frozenset({"AE", "AS", "CS", "DA", "DT", "LO", "PN", "SH", "TM", "UI"})
# Off only in tests, to compare the bytes with the parsed path.
REWRITE_RAW = True
_TEXT_VRS = frozenset({"AE", "LO", "LT", "PN", "SH", "ST", "UC", "UR", "UT"})
_BYTES_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
_NUMBER_VRS = frozenset({"FD", "FL", "SL", "SS", "SV", "UL", "US", "UV", "AT"})
_DUMMY_STRINGS = {
    "AE": "ANONYMIZED",
    "AS": "000Y",
    "CS": "ANONYMIZED",
    "DA": "19000101",
    "DS": "0",
    "DT": "19000101000000",
    "IS": "0",
    "LO": "ANONYMIZED",
    "LT": "ANONYMIZED",
    "PN": "ANONYMIZED",
    "SH": "ANONYMIZED",
    "ST": "ANONYMIZED",
    "TM": "000000",
    "UC": "ANONYMIZED",
    "UR": "ANONYMIZED",
    "UT": "ANONYMIZED",
}
# UI attributes outside the table that name a kind of thing, not an instance.
_UID_KEYWORDS_KEPT = frozenset(
    {
        "CodingSchemeUID",
        "ContextUID",
        "ContextGroupExtensionCreatorUID",
        "CreatorVersionUID",
        "MappingResourceUID",
    }
)
_TM_RE = re.compile(r"^\d{2}(?::?\d{2}(?::?\d{2}(?:\.\d{1,6})?)?)?$")  # ACR-NEMA used colons
_DT_RE = re.compile(r"^(\d{8})(\d{0,6}(?:\.\d{1,6})?)?([+-]\d{4})?$")


@dataclass(frozen=True)
class DeidContext:
    """What one case's de-identification depends on; equal contexts give equal output."""

    secret: bytes  # per-installation secret
    case_key: str  # stable per case (the case UUID hex)
    pseudonym: str  # replaces PatientName and PatientID
    # Clean Descriptors Option: keep Study/Series Description without these words (and
    # without the file's own PatientName/PatientID, dates and long digit runs).
    clean_descriptors: bool = False
    identifying_words: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.secret:
            raise ValueError("DeidContext.secret must not be empty")
        if not self.case_key:
            raise ValueError("DeidContext.case_key must not be empty")
        # The pseudonym goes into PatientID (LO): at most 64 characters, no backslash.
        if not self.pseudonym or len(self.pseudonym) > 64:
            raise ValueError("DeidContext.pseudonym must be 1 to 64 characters")
        if "\\" in self.pseudonym or not self.pseudonym.isprintable():
            raise ValueError("DeidContext.pseudonym must be printable and hold no backslash")


def deid_uid(original: str, ctx: DeidContext) -> str:
    """The UID that replaces `original` within this case (PS3.5 B.2: 2.25 + 128-bit integer)."""
    message = f"{ctx.case_key}|{original}".encode()
    digest = hmac.new(ctx.secret, message, hashlib.sha256).digest()
    return f"2.25.{int.from_bytes(digest[:16], 'big')}"


def date_shift_days(ctx: DeidContext) -> int:
    """Days added to every date of the case: between -365 and -30, never 0."""
    message = b"date-shift|" + ctx.case_key.encode()
    digest = hmac.new(ctx.secret, message, hashlib.sha256).digest()
    span = SHIFT_MAX_DAYS - SHIFT_MIN_DAYS + 1
    return -(SHIFT_MIN_DAYS + int.from_bytes(digest[:8], "big") % span)


def burned_in_risk(ds: Dataset) -> bool:
    """Whether the pixels may carry burned-in text (call it before or after `deidentify`)."""
    try:
        burned = str(ds.get("BurnedInAnnotation", "") or "").strip().upper()
        modality = str(ds.get("Modality", "") or "").strip().upper()
    except Exception:
        return True  # unreadable: assume the worst
    return burned == "YES" or modality in BURNED_IN_MODALITIES


def deidentify(ds: Dataset, ctx: DeidContext) -> Dataset:
    """Apply the profile to `ds` in place and return it, with a fresh file meta."""
    old_meta = getattr(ds, "file_meta", None)
    syntax = _old_meta_value(old_meta, "TransferSyntaxUID") or _encoding_of(ds)
    # Elements read without a VR (implicit) can be written back unparsed only as implicit:
    # some files encode their dataset implicitly under an explicit transfer syntax.
    shift = date_shift_days(ctx)
    marked = ctx
    if ctx.clean_descriptors:
        ctx = with_words(ctx, _read_text(ds, "PatientName"), _read_text(ds, "PatientID"))
    _clean(ds, ctx, shift, in_dummy_sequence=False, implicit=syntax == ImplicitVRLittleEndian)

    mark(ds, marked)

    ds.file_meta = _file_meta(ds, old_meta, ctx)
    # The preamble is free for applications to fill (PS3.10 7.1), so it may hold anything.
    ds.preamble = b"\x00" * 128
    return ds


_MARKS = (
    "PatientName",
    "PatientID",
    "PatientIdentityRemoved",
    "DeidentificationMethod",
    "DeidentificationMethodCodeSequence",
    "LongitudinalTemporalInformationModified",
)


def mark(ds: Dataset, ctx: DeidContext) -> None:
    """Set what every de-identified dataset carries: the pseudonym and the method, as new
    elements (an element the file had under a wrong VR or another encoding is replaced)."""
    for keyword in _MARKS:
        if keyword in ds:
            del ds[keyword]
    ds.PatientName = ctx.pseudonym
    ds.PatientID = ctx.pseudonym
    ds.PatientIdentityRemoved = "YES"
    methods, codes = list(DEIDENTIFICATION_METHOD), list(DEIDENTIFICATION_CODES)
    if ctx.clean_descriptors:
        methods.insert(2, CLEAN_DESCRIPTORS_METHOD)
        codes.append(CLEAN_DESCRIPTORS_CODE)
    ds.DeidentificationMethod = methods
    ds.DeidentificationMethodCodeSequence = Sequence(
        [_code_item(value, meaning) for value, meaning in codes]
    )
    ds.LongitudinalTemporalInformationModified = "MODIFIED"


def _clean(
    ds: Dataset, ctx: DeidContext, shift: int, *, in_dummy_sequence: bool, implicit: bool
) -> None:
    for tag in list(ds.keys()):
        try:
            elem = ds.get_item(tag)
            if elem.is_raw:
                # Most of a header is kept or removed as it is: decide from the tag and the
                # VR alone, so the value is never parsed and is written back byte for byte.
                action = for_context(raw_action(elem), ctx)
                if action == "X":
                    del ds[tag]
                    continue
                keep = action == "K" or (action == "SHIFT" and is_time_as_read(elem))
                if keep and not in_dummy_sequence and (elem.VR or implicit):
                    continue
                if action is not None and not in_dummy_sequence and REWRITE_RAW:
                    rewritten = rewrite_raw(elem, action, ctx, shift)
                    if rewritten is not None:
                        ds[tag] = rewritten
                        continue
                elem = ds[tag]
            _apply(
                ds,
                elem,
                for_context(action_for(elem.tag, elem.VR), ctx),
                ctx,
                shift,
                in_dummy_sequence=in_dummy_sequence,
                implicit=implicit,
            )
        except Exception:
            # Hostile or broken input: what cannot be processed is not kept.
            _discard(ds, tag)


def _discard(ds: Dataset, tag: int) -> None:
    try:
        del ds[tag]
    except Exception:
        ds._dict.pop(tag, None)  # last resort when even deletion fails


def rewrite_raw(
    raw: RawDataElement, action: str, ctx: DeidContext, shift: int
) -> RawDataElement | None:
    """The element with its action applied to its bytes, when that is plain: a short text
    value in ASCII, replaced as a whole. The result is what `_apply` and pydicom's writer
    give (the tests compare both ways); None leaves it to them."""
    vr = raw.VR
    if vr is None:
        try:
            vr = dictionary_VR(raw.tag)
        except KeyError:
            return None
    if vr not in _REWRITABLE_VRS or raw.length == 0xFFFFFFFF or raw.is_buffered:
        return None
    try:
        text = raw.value.decode("ascii")
    except (UnicodeDecodeError, AttributeError):
        return None
    if action == "Z":
        new = ""
    elif action == "PSEUDONYM":
        new = ctx.pseudonym
    elif action == "U" or (action == "D" and vr == "UI"):
        values = text.rstrip("\x00 ").split("\\")
        new = "\\".join(deid_uid(v.strip("\x00 "), ctx) if v.strip("\x00 ") else "" for v in values)
    elif action == "D":
        new = _DUMMY_STRINGS[vr]
    elif action == "CLEAN":
        new = clean_descriptor(text.strip(" \x00"), ctx.identifying_words)
    elif action == "SHIFT" and vr in ("DA", "DT"):
        values = text.strip(" \x00").split("\\")
        if not any(values):
            return raw  # an empty date stays empty
        shifter = _shift_date if vr == "DA" else _shift_datetime
        try:
            new = "\\".join(shifter(v, shift) if v else "" for v in values)
        except (ValueError, OverflowError):
            new = ""  # an unreadable date is dropped, never kept as it was
    else:
        return None
    try:
        value = new.encode("ascii")
    except UnicodeEncodeError:
        return None
    if len(value) % 2:
        value += b"\x00" if vr == "UI" else b" "
    return raw._replace(VR=vr, length=len(value), value=value, value_tell=None)


def raw_action(raw: RawDataElement) -> str | None:
    """The action for an element not parsed yet, or None when only parsing can tell: a
    sequence, an UN that the dictionary may know, a VR that is ambiguous or not a VR."""
    if int(raw.tag) >> 16 & 1:
        return annex_e.PRIVATE_ACTION
    vr = raw.VR
    if vr is None:  # implicit VR: the dictionary's, when it names exactly one
        try:
            vr = dictionary_VR(raw.tag)
        except KeyError:
            return None
    if vr in ("SQ", "UN") or vr not in KNOWN_VRS:
        return None
    return action_for(raw.tag, vr)


def is_time_as_read(raw: RawDataElement) -> bool:
    """A TM element whose every value is a time: the whole-day shift keeps it as it is."""
    try:
        if (raw.VR or dictionary_VR(raw.tag)) != "TM":
            return False
        values = raw.value.decode("ascii").rstrip("\x00 ").split("\\")
    except (KeyError, UnicodeDecodeError, AttributeError):
        return False
    return all(_TM_RE.match(value.strip()) for value in values)


@functools.lru_cache(maxsize=8192)
def action_for(tag: int, vr: str) -> str:
    """One of X, Z, D, U, K, SHIFT, PSEUDONYM, DESCRIPTOR for an element with this tag and
    VR (a pure function of the two: cached). DESCRIPTOR depends on the case's options:
    `for_context` turns it into CLEAN or the Basic Profile's action."""
    tag = int(tag)
    group, element = tag >> 16, tag & 0xFFFF
    if group % 2:
        return annex_e.PRIVATE_ACTION
    if element == 0 or group in (0x0000, 0x0002) or group & 0xFF00 == 0x6000:
        return "X"
    if (group >> 8, None) in annex_e.REPEATING_GROUP_ACTIONS:
        return annex_e.REPEATING_GROUP_ACTIONS[(group >> 8, None)]
    try:
        dict_vr = dictionary_VR(tag)
    except KeyError:
        return "X"  # a standard attribute nobody here can vouch for
    action = _table_action(tag, dict_vr.split(" or ")[0])
    if vr not in (dict_vr, *dict_vr.split(" or ")):
        harmless = action == "K" and tag not in annex_e.ACTIONS and dict_vr != "SQ"
        return "K" if harmless else "X"
    if tag in (_PATIENT_NAME, _PATIENT_ID):
        return "PSEUDONYM"
    if tag in CLEANED_DESCRIPTORS and action == "X" and dict_vr in ("LO", "SH"):
        return "DESCRIPTOR"
    return action


def for_context(action: str | None, ctx: DeidContext) -> str | None:
    """The action of `action_for` for this case: a DESCRIPTOR is cleaned under the Clean
    Descriptors Option, removed (its Basic Profile action) otherwise."""
    if action == "DESCRIPTOR":
        return "CLEAN" if ctx.clean_descriptors else "X"
    return action


def with_words(ctx: DeidContext, *texts: str) -> DeidContext:
    """`ctx` with the words of `texts` (a file's PatientName, PatientID) added to those
    cleaned out of descriptors."""
    words = [w for text in texts for w in identifying_words(text)]
    if not words:
        return ctx
    return dataclasses.replace(ctx, identifying_words=(*ctx.identifying_words, *words))


def identifying_words(*texts: str) -> tuple[str, ...]:
    """The words of names and numbers that a descriptor must not show: each part of length
    two or more (a PN's ^ and = separate parts too)."""
    words = []
    for text in texts:
        for part in re.split(r"[\s^=,;/\\]+", text or ""):
            part = part.strip(".-_()'\"")
            if len(part) >= 2 and part.casefold() not in [w.casefold() for w in words]:
                words.append(part)
    return tuple(words)


# Dates as written in descriptors: 2024-01-15, 15.01.2024, 15/1/24, 20240115, 15 Jan 2024.
_MONTHS = (
    r"jan|feb|m[aä]r|apr|ma[iy]|jun|jul|aug|sep|oct|okt|nov|de[cz]"
    r"|january|february|march|april|june|july|august|september|october|november|december"
    r"|januar|februar|märz|juni|juli|oktober|dezember"
)
_DATE_IN_TEXT = re.compile(
    r"\b\d{4}[-./]\d{1,2}[-./]\d{1,2}\b"
    r"|\b\d{1,2}[-./]\d{1,2}[-./]\d{2,4}\b"
    rf"|\b\d{{1,2}}\.?\s*(?:{_MONTHS})\.?\s*\d{{2,4}}\b"
    rf"|\b(?:{_MONTHS})\.?\s*\d{{1,2}},?\s*\d{{4}}\b",
    re.IGNORECASE,
)
_DIGIT_RUN = re.compile(r"\d{4,}")


def clean_descriptor(text: str, words=()) -> str:
    """`text` (a Study or Series Description) without what may identify the patient: the
    given words (whole words, any case), dates and runs of four or more digits. What is left
    is the technique ("T1 COR", "STIR AX", "MRT Oberschenkel re")."""
    out = text or ""
    for word in sorted(words, key=len, reverse=True):  # first: an ID may hold a digit run
        out = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", " ", out, flags=re.IGNORECASE)
    out = _DATE_IN_TEXT.sub(" ", out)
    out = _DIGIT_RUN.sub(" ", out)
    out = re.sub(r"\s+", " ", out)
    return out.strip(" ,;:-_/^")


def _read_text(ds: Dataset, keyword: str) -> str:
    try:
        return str(ds.get(keyword, "") or "")
    except Exception:
        return ""


def _table_action(tag: int, vr: str) -> str:
    row = annex_e.ACTIONS.get(tag)
    if row is None:
        if vr in ("DA", "DT"):
            return "SHIFT"
        if vr == "PN":
            return "D"
        if vr == "UI" and not _uid_names_a_kind(tag):
            return "U"
        return "K"
    _keyword, basic, option = row
    if option == "C" and vr in ("DA", "DT", "TM"):
        return "SHIFT"
    if tag in _REQUIRED_IN_COMMON_IODS:
        return _REQUIRED_IN_COMMON_IODS[tag]
    return _FIRST_CHOICE.get(basic, "X")


def _uid_names_a_kind(tag: int) -> bool:
    keyword = keyword_for_tag(tag)
    return "SOPClass" in keyword or "TransferSyntax" in keyword or keyword in _UID_KEYWORDS_KEPT


def _apply(
    ds: Dataset,
    elem: DataElement,
    action: str,
    ctx: DeidContext,
    shift: int,
    *,
    in_dummy_sequence: bool,
    implicit: bool,
) -> None:
    tag, vr = elem.tag, elem.VR
    if action == "X":
        del ds[tag]
    elif vr == "SQ":
        if action == "Z":
            elem.value = Sequence()
            return
        dummy_items = in_dummy_sequence or action == "D"
        for item in elem.value:
            _clean(item, ctx, shift, in_dummy_sequence=dummy_items, implicit=implicit)
    elif action == "PSEUDONYM":
        elem.value = ctx.pseudonym
    elif action == "Z":
        elem.value = None
    elif action == "U" or (action == "D" and vr == "UI"):
        elem.value = _map_values(elem.value, lambda uid: deid_uid(uid.strip("\x00 "), ctx))
    elif action == "D":
        elem.value = _dummy(vr)
    elif action == "SHIFT":
        _shift_element(elem, shift)
    elif action == "CLEAN" and in_dummy_sequence:
        elem.value = _dummy(vr)  # inside a dummy item every text is a dummy, cleaned or not
    elif action == "CLEAN":
        elem.value = clean_descriptor(str(elem.value or ""), ctx.identifying_words)
    elif in_dummy_sequence and vr in _TEXT_VRS and not elem.is_empty:
        elem.value = _dummy(vr)


def _map_values(value, convert):
    if value is None or value == "":
        return value
    if isinstance(value, MultiValue | list | tuple):
        return [convert(str(v)) if v else "" for v in value]
    return convert(str(value))


def _dummy(vr: str):
    if vr in _DUMMY_STRINGS:
        return _DUMMY_STRINGS[vr]
    if vr in _NUMBER_VRS:
        return 0
    if vr in _BYTES_VRS:
        return b"\x00" * 8  # even, and a whole number of 64-bit words
    raise ValueError(f"no dummy value for VR {vr}")


def _shift_element(elem: DataElement, days: int) -> None:
    if elem.is_empty:
        return
    shift = {"DA": _shift_date, "DT": _shift_datetime, "TM": _check_time}[elem.VR]
    try:
        elem.value = _map_values(elem.value, lambda text: shift(text, days))
    except (ValueError, OverflowError):
        elem.value = None  # an unreadable date is dropped, never kept as it was


def _shift_date(text: str, days: int) -> str:
    text = text.strip().replace(".", "")  # ACR-NEMA wrote YYYY.MM.DD
    if len(text) != 8 or not text.isdigit():
        raise ValueError(f"not a DA value: {text!r}")
    day = datetime.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    shifted = day + datetime.timedelta(days=days)
    return f"{shifted.year:04d}{shifted.month:02d}{shifted.day:02d}"


def _shift_datetime(text: str, days: int) -> str:
    match = _DT_RE.match(text.strip())
    if match is None:
        raise ValueError(f"not a DT value with a full date: {text!r}")
    date_part, time_part, offset = match.groups()
    return _shift_date(date_part, days) + (time_part or "") + (offset or "")


def _check_time(text: str, _days: int) -> str:
    """A whole-day shift keeps the time of day; the value must still be a time, not a note."""
    if _TM_RE.match(text.strip()) is None:
        raise ValueError(f"not a TM value: {text!r}")
    return text


def _code_item(value: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = "DCM"
    item.CodeMeaning = meaning
    return item


def _file_meta(ds: Dataset, old_meta: Dataset | None, ctx: DeidContext) -> FileMetaDataset:
    """A new file meta: only what PS3.10 7.1 needs, none of the sender's AE titles or UIDs."""
    meta = FileMetaDataset()
    meta.FileMetaInformationVersion = b"\x00\x01"
    if "SOPClassUID" in ds:
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
    if "SOPInstanceUID" in ds:
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    else:
        old_instance = _old_meta_value(old_meta, "MediaStorageSOPInstanceUID")
        if old_instance:
            meta.MediaStorageSOPInstanceUID = deid_uid(old_instance, ctx)
    meta.TransferSyntaxUID = _old_meta_value(old_meta, "TransferSyntaxUID") or _encoding_of(ds)
    meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    return meta


def _old_meta_value(old_meta: Dataset | None, keyword: str) -> str | None:
    try:
        value = old_meta.get(keyword) if old_meta is not None else None
    except Exception:
        return None
    return str(value).strip("\x00 ") if value else None


def _encoding_of(ds: Dataset) -> str:
    implicit, little = getattr(ds, "original_encoding", (None, None))
    if implicit and little:
        return ImplicitVRLittleEndian
    if implicit is False and little is False:
        return ExplicitVRBigEndian
    return ExplicitVRLittleEndian

"""Decide by content, never by name, whether an upload may be attached to a case.

A file is accepted only when its bytes prove it is one of a few document and
image formats; it is then stored and served under that format's canonical MIME
type and extension, so a renamed web page or executable cannot reach a browser
as something it is not. Office formats that can carry macros are refused.
"""

from __future__ import annotations

import codecs
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, Protocol, cast

HEAD_SIZE = 8 * 1024
MAX_ZIP_ENTRIES = 2_000
MAX_ZIP_UNCOMPRESSED = 200 * 1024 * 1024
MAX_CONTENT_TYPES = 1024 * 1024
MAX_OLE_SCAN = 20 * 1024 * 1024

ACCEPTED_DESCRIPTION = (
    "Accepted: PDF, Word (DOCX, DOC), OpenDocument text (ODT), RTF, plain text, JPEG and PNG."
)
MACROS = (
    "Macro-enabled Office files are not accepted; save the document without macros "
    "(as DOCX, ODT or PDF) and upload it again."
)
ENCRYPTED = "This file is password-protected; remove the password and upload it again."
DAMAGED_ZIP = "This file looks like a ZIP-based document but is damaged; it cannot be read."

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DOCX_MAIN = f"{DOCX_MIME}.main+xml"
ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"


class AttachmentRejected(Exception):
    """reason: a human-readable English sentence naming what is wrong (shown to the uploader)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class DetectedType:
    kind: str  # "pdf", "docx", "doc", "odt", "rtf", "txt", "jpeg" or "png"
    mime: str  # served as this, whatever the uploader called the file
    extension: str  # canonical, without the dot
    inline: bool  # previewed in the browser rather than downloaded


# Only PDF is previewed inline; everything else downloads, so a browser never renders it.
TYPES = {
    t.kind: t
    for t in (
        DetectedType("pdf", "application/pdf", "pdf", inline=True),
        DetectedType("docx", DOCX_MIME, "docx", inline=False),
        DetectedType("doc", "application/msword", "doc", inline=False),
        DetectedType("odt", "application/vnd.oasis.opendocument.text", "odt", inline=False),
        DetectedType("rtf", "application/rtf", "rtf", inline=False),
        DetectedType("txt", "text/plain", "txt", inline=False),
        DetectedType("jpeg", "image/jpeg", "jpg", inline=False),
        DetectedType("png", "image/png", "png", inline=False),
    )
}

_SIGNATURES = (
    (b"%PDF-", "pdf"),
    (b"{\\rtf", "rtf"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")

# Checked only after the text test, because some of these magics are plain ASCII ("MZ").
_RECOGNISED = (
    (0, b"MZ", "a Windows executable"),
    (0, b"\x7fELF", "a Linux executable"),
    (0, b"\xcf\xfa\xed\xfe", "a macOS executable"),
    (0, b"\xca\xfe\xba\xbe", "a macOS or Java executable"),
    (0, b"GIF8", "a GIF image"),
    (0, b"II*\x00", "a TIFF image"),
    (0, b"MM\x00*", "a TIFF image"),
    (128, b"DICM", "a DICOM image"),
    (0, b"Rar!", "a RAR archive"),
    (0, b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (0, b"\x1f\x8b", "a gzip archive"),
)

# C0 controls other than tab, LF, FF and CR mean binary data, not text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")

# A directory entry of an OLE2 compound file is 128 bytes at a 128-aligned offset: a
# UTF-16LE name, NUL-terminated, padded to 64 bytes, then its byte length and object type
# (1 storage, 2 stream). Word keeps VBA code in "Macros", other Office files in "VBA".
# A password-protected DOCX or DOCM is an OLE2 file too, its package an encrypted stream
# whose macros nobody can check.
_OLE_REFUSED = {
    "macros": MACROS,
    "vba": MACROS,
    "_vba_project": MACROS,
    "encryptedpackage": ENCRYPTED,
}
# Every Word 97-2003 file has a "WordDocument" stream; Excel and PowerPoint files and
# installers are OLE2 too, and are not documents we accept.
_OLE_WORD = "worddocument"
_OLE_NAME = re.compile(
    b"(?i)("
    + b"|".join(re.escape(name.encode("utf-16-le")) for name in [*_OLE_REFUSED, _OLE_WORD])
    + b")\0\0"
)

# Every Default and Override in [Content_Types].xml; read as bytes, no XML parser to attack.
_CONTENT_TYPE = re.compile(rb"""\bContentType\s*=\s*["']([^"']*)["']""")


def _reject(what: str) -> AttachmentRejected:
    return AttachmentRejected(f"This file is {what}, not a document. {ACCEPTED_DESCRIPTION}")


def detect_type(head: bytes, *, open_file: Callable[[], BinaryIO]) -> DetectedType:
    """The type that ``head`` (the first 8 KiB) proves, or AttachmentRejected.

    ``open_file`` returns the whole file at position 0; it is called at most once,
    only for ZIP-based and OLE2 documents, whose verdict depends on more than the head.
    """
    if not head:
        raise AttachmentRejected("The file is empty.")
    for magic, kind in _SIGNATURES:
        if head.startswith(magic):
            return TYPES[kind]
    if head.startswith(_OLE_MAGIC):
        with open_file() as file:
            _refuse_ole_macros(file)
        return TYPES["doc"]
    if head.startswith(_ZIP_MAGICS):
        with open_file() as file:
            return _inspect_zip(file)
    _refuse_markup(head)
    if _is_text(head):
        return TYPES["txt"]
    for offset, magic, what in _RECOGNISED:
        if head[offset : offset + len(magic)] == magic:
            raise _reject(what)
    raise AttachmentRejected(
        "This file is not in a recognised document format (plain text must be UTF-8). "
        + ACCEPTED_DESCRIPTION
    )


def _refuse_markup(head: bytes) -> None:
    # Browsers may run any of these as a page with scripts if they ever render it.
    lowered = head.removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    starts = lowered.startswith((b"<!doctype", b"<html", b"<svg", b"<?xml", b"<script"))
    if not starts and b"<script" not in lowered and b"<html" not in lowered:
        return
    if b"<svg" in lowered:
        what = "an SVG image, HTML-like markup that can run scripts; upload a PNG or JPEG instead."
    elif b"<html" in lowered or b"<script" in lowered or lowered.startswith(b"<!doctype"):
        what = "HTML; upload a PDF or Word document instead."
    else:
        what = "XML markup, which browsers may treat like HTML; upload a PDF instead."
    raise AttachmentRejected(f"This file is {what} {ACCEPTED_DESCRIPTION}")


def _is_text(head: bytes) -> bool:
    # A full head may end inside a multi-byte character; only a short one is the whole file.
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        text = decoder.decode(head, final=len(head) < HEAD_SIZE)  # a BOM decodes to U+FEFF
    except UnicodeDecodeError:
        return False
    return not _CONTROL.search(text)


def _refuse_ole_macros(file: BinaryIO) -> None:
    """Scan the raw bytes for a directory entry naming macros or an encrypted package,
    and for the WordDocument stream that makes an OLE2 file a Word document."""
    pending, scanned, is_word = b"", 0, False
    while chunk := file.read(1024 * 1024):
        scanned += len(chunk)
        if scanned > MAX_OLE_SCAN:
            # The directory may sit anywhere in the file, so an unscanned tail could hide it.
            raise AttachmentRejected(
                "This Word 97-2003 (DOC) file is larger than 20 MB and cannot be checked for "
                "macros; save it as DOCX or PDF and upload it again."
            )
        pending += chunk
        whole = len(pending) - len(pending) % 128  # keeps `pending` 128-aligned in the file
        for match in _OLE_NAME.finditer(pending, 0, whole):
            entry = match.start()
            if entry % 128:
                continue  # the name inside document text, not a directory entry
            size, kind = struct.unpack_from("<HB", pending, entry + 64)
            if size == match.end() - entry and kind in (1, 2):
                name = match.group(1).decode("utf-16-le").casefold()
                if name == _OLE_WORD:
                    is_word = is_word or kind == 2
                    continue
                raise AttachmentRejected(_OLE_REFUSED[name])
        pending = pending[whole:]
    if not is_word:
        raise AttachmentRejected(
            "This is an Office 97-2003 file but not a Word document (a spreadsheet, a "
            "presentation or an installer?). " + ACCEPTED_DESCRIPTION
        )


def _inspect_zip(file: BinaryIO) -> DetectedType:
    try:
        with zipfile.ZipFile(file) as archive:
            return _classify_archive(archive)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, zlib.error):
        raise AttachmentRejected(DAMAGED_ZIP) from None


def _classify_archive(archive: zipfile.ZipFile) -> DetectedType:
    entries = archive.infolist()
    if not entries:
        raise _reject("an empty ZIP archive")
    if len(entries) > MAX_ZIP_ENTRIES:
        raise AttachmentRejected("This archive has more than 2,000 entries; it cannot be checked.")
    if sum(entry.file_size for entry in entries) > MAX_ZIP_UNCOMPRESSED:
        raise AttachmentRejected("This archive would expand beyond 200 MB; it cannot be checked.")
    if any(entry.flag_bits & 0x1 for entry in entries):
        raise AttachmentRejected(ENCRYPTED)
    # Part names in Office packages compare case-insensitively (ECMA-376 Part 2).
    by_name = {entry.filename.casefold(): entry for entry in entries}
    if any(name.rpartition("/")[2] == "vbaproject.bin" for name in by_name):
        raise AttachmentRejected(MACROS)
    if entries[0].filename == "mimetype":
        return _classify_opendocument(archive, entries[0], by_name)
    if content_types := by_name.get("[content_types].xml"):
        return _classify_office_open_xml(archive, content_types)
    raise _reject("a ZIP archive")


def _classify_opendocument(
    archive: zipfile.ZipFile, mimetype: zipfile.ZipInfo, by_name: dict[str, zipfile.ZipInfo]
) -> DetectedType:
    with archive.open(mimetype) as part:
        if part.read(len(ODT_MIMETYPE) + 1) != ODT_MIMETYPE:
            raise _reject("an OpenDocument file other than a text document (ODT)")
    if any(name.startswith(("basic/", "scripts/")) for name in by_name):
        raise AttachmentRejected(MACROS)
    return TYPES["odt"]


def _classify_office_open_xml(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> DetectedType:
    with archive.open(info) as part:
        xml = part.read(MAX_CONTENT_TYPES + 1)
    declared = {value.decode("ascii", "replace").casefold() for value in _CONTENT_TYPE.findall(xml)}
    # A character reference could spell "macroEnabled" past the check below; no real
    # content type contains one.
    if len(xml) > MAX_CONTENT_TYPES or any("&" in t for t in declared):
        raise AttachmentRejected(DAMAGED_ZIP)
    if any("macroenabled" in t or t == "application/vnd.ms-office.vbaproject" for t in declared):
        raise AttachmentRejected(MACROS)
    if DOCX_MAIN in declared:
        return TYPES["docx"]
    office = "application/vnd.openxmlformats-officedocument."
    if any(t.startswith(office + "spreadsheetml.") for t in declared):
        raise _reject("an Excel workbook")
    if any(t.startswith(office + "presentationml.") for t in declared):
        raise _reject("a PowerPoint presentation")
    raise _reject("an Office file other than a Word document")


class Upload(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...
    def seek(self, offset: int, whence: int = 0, /) -> int: ...
    def tell(self) -> int: ...


class _Lent(io.BufferedIOBase):
    """The upload lent to ``detect_type``: closing the loan leaves the upload open."""

    def __init__(self, upload: Upload) -> None:
        super().__init__()
        self._upload = upload

    def seekable(self) -> bool:
        return True

    def read(self, size: int | None = -1, /) -> bytes:
        return self._upload.read(-1 if size is None else size)

    def seek(self, offset: int, whence: int = 0, /) -> int:
        return self._upload.seek(offset, whence)

    def tell(self) -> int:
        return self._upload.tell()


def sniff(uploaded: Upload) -> DetectedType:
    """detect_type for a Django UploadedFile; leaves it open and at position 0."""
    uploaded.seek(0)
    head = uploaded.read(HEAD_SIZE)

    def open_file() -> BinaryIO:
        uploaded.seek(0)
        return cast(BinaryIO, _Lent(uploaded))

    try:
        return detect_type(head, open_file=open_file)
    finally:
        uploaded.seek(0)

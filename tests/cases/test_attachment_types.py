"""Attachments are judged by their bytes; every sample is built here, in memory."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from typing import BinaryIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cases.attachments import (
    ACCEPTED_DESCRIPTION,
    HEAD_SIZE,
    MAX_ZIP_UNCOMPRESSED,
    TYPES,
    AttachmentRejected,
    DetectedType,
    detect_type,
    sniff,
)

MACROS = "Macro-enabled Office files are not accepted"
DAMAGED = "damaged"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
OFFICE = "application/vnd.openxmlformats-officedocument"
VBA_PROJECT = "application/vnd.ms-office.vbaProject"


# --- Sample builders ---------------------------------------------------------------------


def zip_of(*entries: tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def content_types(*overrides: tuple[str, str], extra_defaults: str = "") -> bytes:
    parts = "".join(f'<Override PartName="{n}" ContentType="{t}"/>' for n, t in overrides)
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        f'<Default Extension="xml" ContentType="application/xml"/>{extra_defaults}{parts}'
        "</Types>"
    ).encode()


def ooxml(main_part: str, main_type: str, *extra: tuple[str, bytes], defaults: str = "") -> bytes:
    return zip_of(
        (
            "[Content_Types].xml",
            content_types((f"/{main_part}", main_type), extra_defaults=defaults),
        ),
        ("_rels/.rels", b"<Relationships/>"),
        (main_part, b"<document>Tumour board summary</document>"),
        *extra,
    )


def docx(*extra: tuple[str, bytes]) -> bytes:
    return ooxml("word/document.xml", f"{DOCX_MIME}.main+xml", *extra)


def odt(*extra: tuple[str, bytes], mimetype: bytes = b"application/vnd.oasis.opendocument.text"):
    return zip_of(
        ("mimetype", mimetype),
        ("content.xml", b"<office:document-content/>"),
        ("META-INF/manifest.xml", b"<manifest:manifest/>"),
        *extra,
    )


def ole_entry(name: str, kind: int) -> bytes:
    encoded = (name + "\0").encode("utf-16-le")
    return encoded.ljust(64, b"\0") + struct.pack("<HB", len(encoded), kind).ljust(64, b"\0")


def ole(*names: str, body: bytes = b"", kind: int = 1) -> bytes:
    """An OLE2 compound file: a 512-byte header, then a directory sector, then ``body``."""
    header = bytearray(512)
    header[:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    entries = [ole_entry("Root Entry", 5), ole_entry("WordDocument", 2), ole_entry("1Table", 2)]
    entries += [ole_entry(name, kind) for name in names]
    return bytes(header) + b"".join(entries).ljust(512, b"\0") + body


def png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)  # one grey pixel
    pixels = zlib.compress(b"\x00\x80")  # filter type 0, then the pixel
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def patch_central_directory(data: bytes, name: str, offset: int, fmt: str, value: int) -> bytes:
    """Rewrite one field of ``name``'s central directory record (APPNOTE 4.3.12)."""
    patched = bytearray(data)
    start = patched.find(b"PK\x01\x02")
    while start != -1:
        (name_length,) = struct.unpack_from("<H", patched, start + 28)
        if patched[start + 46 : start + 46 + name_length] == name.encode():
            struct.pack_into(fmt, patched, start + offset, value)
            return bytes(patched)
        start = patched.find(b"PK\x01\x02", start + 4)
    raise AssertionError(f"{name} is not in the archive")


def declare_size(data: bytes, name: str, size: int) -> bytes:
    return patch_central_directory(data, name, 24, "<I", size)


# --- Helpers -----------------------------------------------------------------------------


class Opener:
    """An ``open_file`` that records every file it hands out."""

    def __init__(self, data: bytes, factory: type[io.BytesIO] = io.BytesIO) -> None:
        self.data = data
        self.factory = factory
        self.opened: list[io.BytesIO] = []

    def __call__(self) -> BinaryIO:
        file = self.factory(self.data)
        self.opened.append(file)
        return file


def detect(data: bytes, factory: type[io.BytesIO] = io.BytesIO) -> DetectedType:
    opener = Opener(data, factory)
    try:
        return detect_type(data[:HEAD_SIZE], open_file=opener)
    finally:
        assert len(opener.opened) <= 1
        assert all(file.closed for file in opener.opened)


def rejection(data: bytes, factory: type[io.BytesIO] = io.BytesIO) -> str:
    with pytest.raises(AttachmentRejected) as caught:
        detect(data, factory)
    return caught.value.reason


# --- Accepted ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PDF, ("pdf", "application/pdf", "pdf", True)),
        (docx(), ("docx", DOCX_MIME, "docx", False)),
        (ole(), ("doc", "application/msword", "doc", False)),
        (odt(), ("odt", "application/vnd.oasis.opendocument.text", "odt", False)),
        (b"{\\rtf1\\ansi Tumour board}", ("rtf", "application/rtf", "rtf", False)),
        ("Befund: Läsion 12 mm\r\n\tT2N0\f".encode(), ("txt", "text/plain", "txt", False)),
        (b"\xef\xbb\xbfWith a byte order mark", ("txt", "text/plain", "txt", False)),
        (JPEG, ("jpeg", "image/jpeg", "jpg", False)),
        (png(), ("png", "image/png", "png", False)),
    ],
    ids=["pdf", "docx", "doc", "odt", "rtf", "utf8-text", "text-with-bom", "jpeg", "png"],
)
def test_accepted_document_gets_its_canonical_type(data, expected):
    assert detect(data) == DetectedType(*expected)


def test_only_pdf_is_shown_inline():
    inline = {kind for kind, detected in TYPES.items() if detected.inline}
    assert inline == {"pdf"}
    assert set(TYPES) == {"pdf", "docx", "doc", "odt", "rtf", "txt", "jpeg", "png"}


def test_type_comes_from_content_even_when_the_head_is_a_prefix_of_a_larger_file():
    big_pdf = PDF + b"0" * (3 * HEAD_SIZE)
    assert detect(big_pdf).kind == "pdf"


def test_text_cut_inside_a_character_at_the_end_of_the_head_is_still_text():
    text = ("a" + "é" * HEAD_SIZE).encode()  # the head ends halfway through an "é"
    assert detect(text).kind == "txt"


def test_short_file_ending_inside_a_character_is_not_text():
    assert "UTF-8" in rejection("Läsion é".encode()[:-1])


def test_docx_is_judged_without_reading_its_document_part():
    data = bytearray(docx())
    body = data.find(b"Tumour board summary")
    data[body] ^= 0xFF  # breaks that entry's CRC, which only reading it would notice
    assert detect(bytes(data)).kind == "docx"


def test_doc_mentioning_vba_in_its_text_is_accepted():
    mention = "Ask about VBA\0".encode("utf-16-le")  # UTF-16LE body text, NUL as in Word
    unaligned = ole(body=b"\0" * 6 + mention)
    # Here "VBA" starts exactly on a 128-byte boundary, but what follows is more text.
    aligned = ole(body=mention[20:] + "stenosis, left side".encode("utf-16-le") * 8)
    assert unaligned[1024 + 6 + 20 : 1024 + 6 + 26] == "VBA".encode("utf-16-le")
    assert detect(unaligned).kind == "doc"
    assert detect(aligned).kind == "doc"


def entry_with(name: str, *, length: int | None = None, kind: int = 1) -> bytes:
    entry = bytearray(ole_entry(name, kind))
    if length is not None:
        struct.pack_into("<H", entry, 64, length)
    return bytes(entry)


@pytest.mark.parametrize(
    "body",
    [
        b"\0\0" + entry_with("Macros"),
        entry_with("Macros", length=8),
        entry_with("Macros", kind=0),
    ],
    ids=["off-the-128-byte-grid", "length-field-disagrees", "unused-entry"],
)
def test_doc_with_a_macros_lookalike_that_is_no_directory_entry_is_accepted(body):
    data = ole(body=body + b"\0" * 128)
    assert "Macros\0".encode("utf-16-le") in data
    assert detect(data).kind == "doc"


def test_archive_with_exactly_the_entry_limit_is_accepted():
    padding = [(f"word/media/{n}.bin", b"") for n in range(2_000 - 3)]
    data = docx(*padding)
    assert len(zipfile.ZipFile(io.BytesIO(data)).infolist()) == 2_000
    assert detect(data).kind == "docx"


def test_archive_declaring_exactly_the_size_limit_is_accepted():
    data = docx(("word/media/scan.bin", b"x"))
    others = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(data)).infolist()) - 1
    data = declare_size(data, "word/media/scan.bin", MAX_ZIP_UNCOMPRESSED - others)
    assert detect(data).kind == "docx"


# --- Rejected: not a document ------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"<html><body><script>alert(1)</script></body></html>", "HTML"),
        (b"  \n<!DOCTYPE html><title>report.pdf</title>", "HTML"),
        (b"\xef\xbb\xbf<svg/>", "SVG"),
        (b"Lab values attached.\n<script src=//evil.example/x.js></script>", "HTML"),
        (b"<p>Report</p>\n<html>", "HTML"),
        ("<html><p>Ärztin</p></html>".encode("latin-1"), "HTML"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "SVG"),
        (b'<?xml version="1.0"?><svg/>', "SVG"),
        (b'<?xml version="1.0"?><report/>', "XML"),
        (b"MZ\x90\x00" + b"\x00" * 200, "Windows executable"),
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 60, "Linux executable"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "GIF image"),
        (b"\x00" * 128 + b"DICM\x02\x00", "DICOM image"),
        (zip_of(("notes.txt", b"hello")), "ZIP archive"),
        (zip_of(), "empty ZIP archive"),
        (ooxml("xl/workbook.xml", f"{OFFICE}.spreadsheetml.sheet.main+xml"), "Excel workbook"),
        (ooxml("ppt/presentation.xml", f"{OFFICE}.presentationml.presentation.main+xml"), "Power"),
        (odt(mimetype=b"application/vnd.oasis.opendocument.spreadsheet"), "OpenDocument"),
        (odt(mimetype=b"application/vnd.oasis.opendocument.text\n"), "OpenDocument"),
        ("Patient: Müller, Läsion".encode("latin-1"), "UTF-8"),
        (b"Report\x1b[31m red", "UTF-8"),
        (b"Report\x00with a NUL", "UTF-8"),
    ],
    ids=[
        "html-renamed-pdf",
        "doctype-after-whitespace",
        "svg-after-bom",
        "script-inside-text",
        "html-later-in-head",
        "latin1-html",
        "svg",
        "svg-with-xml-declaration",
        "xml",
        "exe",
        "elf",
        "gif",
        "dicom",
        "plain-zip",
        "empty-zip",
        "xlsx",
        "pptx",
        "ods",
        "odt-mimetype-not-exact",
        "latin1-text",
        "escape-character",
        "nul-byte",
    ],
)
def test_non_document_is_rejected_naming_what_it_is(data, fragment):
    reason = rejection(data)
    assert fragment in reason
    assert reason.endswith(ACCEPTED_DESCRIPTION)


def test_empty_file_is_rejected():
    assert rejection(b"") == "The file is empty."


def test_exe_reason_reads_as_a_sentence():
    assert rejection(b"MZ" + b"\x00" * 64) == (
        "This file is a Windows executable, not a document. " + ACCEPTED_DESCRIPTION
    )


def test_odt_whose_mimetype_is_not_the_first_entry_is_not_odt():
    data = zip_of(
        ("content.xml", b"<x/>"), ("mimetype", b"application/vnd.oasis.opendocument.text")
    )
    assert "ZIP archive" in rejection(data)


# --- Rejected: macros --------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        ooxml(
            "word/document.xml",
            "application/vnd.ms-word.document.macroEnabled.main+xml",
            ("word/vbaProject.bin", b"\xcc" * 32),
        ),
        ooxml("word/document.xml", "application/vnd.ms-word.document.macroEnabled.main+xml"),
        ooxml(
            "xl/workbook.xml",
            "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
            ("xl/vbaProject.bin", b"\xcc" * 32),
        ),
        ooxml(
            "ppt/presentation.xml",
            "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml",
        ),
        docx(("word/vbaProject.bin", b"\xcc" * 32)),
        docx(("custom/VBAPROJECT.BIN", b"\xcc" * 32)),
        ooxml(
            "word/document.xml",
            f"{DOCX_MIME}.main+xml",
            ("word/macros.data", b"\xcc"),
            defaults=f'<Default Extension="data" ContentType="{VBA_PROJECT}"/>',
        ),
        odt(("Basic/Standard/Module1.xml", b"<script:module/>")),
        odt(("Scripts/python/evil.py", b"import os")),
        ole("Macros"),
        ole("_VBA_PROJECT", kind=2),
        ole("vba"),
    ],
    ids=[
        "docm",
        "docm-content-type-only",
        "xlsm",
        "pptm",
        "docx-with-vba-project",
        "vba-project-renamed-folder",
        "vba-project-by-content-type",
        "odt-with-basic",
        "odt-with-scripts",
        "doc-with-macros-storage",
        "doc-with-vba-project-stream",
        "doc-with-lowercase-vba-storage",
    ],
)
def test_macro_enabled_office_file_is_rejected(data):
    assert MACROS in rejection(data)


def test_doc_macros_found_past_the_first_chunk():
    # The directory sector sits after a megabyte of other sectors.
    padding = b"\0" * (1024 * 1024 + 512)
    data = ole() + padding + ole_entry("Macros", 1).ljust(512, b"\0")
    assert MACROS in rejection(data)


def test_doc_macros_found_when_reads_split_a_directory_entry():
    class Trickle(io.BytesIO):
        def read(self, size: int | None = -1, /) -> bytes:
            return super().read(1000 if size is None or size < 0 else min(size, 1000))

    # The fourth entry spans bytes 896-1023 of the file, across the first 1000-byte read.
    assert MACROS in rejection(ole("Macros"), Trickle)


def test_doc_too_large_to_scan_is_rejected():
    data = ole(body=b"\0" * (20 * 1024 * 1024))
    assert "larger than 20 MB" in rejection(data)


def test_password_protected_office_package_is_rejected():
    data = ole("EncryptionInfo", "EncryptedPackage", kind=2)
    assert "password-protected" in rejection(data)


# --- Rejected: unsafe or damaged archives ------------------------------------------------


def test_archive_with_too_many_entries_is_rejected():
    data = docx(*[(f"word/media/{n}.bin", b"") for n in range(2_000)])
    assert "more than 2,000 entries" in rejection(data)


def test_archive_declaring_more_than_the_size_limit_is_rejected():
    data = docx(("word/media/a.bin", b"x"), ("word/media/b.bin", b"x"))
    data = declare_size(data, "word/media/a.bin", MAX_ZIP_UNCOMPRESSED // 2)
    data = declare_size(data, "word/media/b.bin", MAX_ZIP_UNCOMPRESSED // 2)
    assert "200 MB" in rejection(data)


def test_archive_with_an_encrypted_entry_is_rejected():
    data = docx(("word/media/secret.bin", b"x"))
    data = patch_central_directory(data, "word/media/secret.bin", 8, "<H", 0x1)
    assert "password-protected" in rejection(data)


@pytest.mark.parametrize(
    "data",
    [
        b"PK\x03\x04" + b"\x13\x37" * 40,
        docx()[:-30],
        zip_of(("[Content_Types].xml", b"<Types>" + b" " * (1024 * 1024) + b"</Types>")),
        zip_of(
            (
                "[Content_Types].xml",
                content_types(
                    ("/word/document.xml", "application/vnd.ms-word.document.&#109;acro")
                ),
            )
        ),
    ],
    ids=["garbage", "truncated", "oversized-content-types", "character-reference"],
)
def test_damaged_archive_is_rejected(data):
    assert DAMAGED in rejection(data)


# --- The open_file contract and sniff() --------------------------------------------------


@pytest.mark.parametrize(("data", "opens"), [(PDF, 0), (b"plain", 0), (docx(), 1), (ole(), 1)])
def test_open_file_is_called_only_when_the_head_is_not_enough(data, opens):
    opener = Opener(data)
    detect_type(data[:HEAD_SIZE], open_file=opener)
    assert len(opener.opened) == opens
    assert all(file.closed for file in opener.opened)


def test_rejected_reason_is_the_message():
    error = AttachmentRejected("The file is empty.")
    assert error.reason == "The file is empty."
    assert str(error) == "The file is empty."


@pytest.mark.parametrize(("data", "kind"), [(docx(), "docx"), (ole(), "doc"), (PDF, "pdf")])
def test_sniff_leaves_the_upload_open_at_the_start(data, kind):
    upload = SimpleUploadedFile("report.bin", data, content_type="application/octet-stream")
    upload.read(5)  # a previous reader left it mid-file
    assert sniff(upload).kind == kind
    assert not upload.closed
    assert upload.tell() == 0
    assert upload.read() == data


def test_sniff_rewinds_the_upload_after_a_rejection():
    data = ooxml("word/document.xml", "application/vnd.ms-word.document.macroEnabled.main+xml")
    upload = SimpleUploadedFile("report.docx", data)
    with pytest.raises(AttachmentRejected, match=MACROS):
        sniff(upload)
    assert not upload.closed
    assert upload.tell() == 0


def test_ole_file_without_a_word_stream_is_refused():
    header = bytearray(512)
    header[:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    entries = ole_entry("Root Entry", 5) + ole_entry("Workbook", 2)
    spreadsheet = bytes(header) + entries.ljust(512, b"\0")
    with pytest.raises(AttachmentRejected, match="not a Word document"):
        detect_type(spreadsheet[:8192], open_file=lambda: io.BytesIO(spreadsheet))

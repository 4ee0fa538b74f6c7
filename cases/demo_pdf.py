"""A minimal PDF writer for demo reports: text lines on A4 pages, no dependencies.

Just enough of PDF 1.4 for a plain report: the standard Helvetica fonts, which every
reader has (so nothing is embedded), WinAnsiEncoding for Western European text, and a
cross-reference table with exact byte offsets, so readers need not repair the file.
"""

from __future__ import annotations

import textwrap

A4 = (595, 842)  # points
MARGIN = 56  # about 20 mm
TITLE_SIZE = 14
TEXT_SIZE = 10
LEADING = 14
# Helvetica at 10 pt averages about 5 pt a character; 90 leaves room for wide letters.
WRAP_AT = 90
LINES_PER_PAGE = (A4[1] - 2 * MARGIN) // LEADING
TITLE_LINES = 2  # the title and the blank line under it


def _pdf_string(text: str) -> bytes:
    # A literal string must escape its delimiters and the escape character itself.
    raw = text.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _info_string(text: str) -> bytes:
    # Document information is a text string: UTF-16BE with a byte-order mark holds anything.
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode("ascii") + b">"


def _wrapped(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        for part in line.expandtabs(4).splitlines() or [""]:
            out.extend(textwrap.wrap(part, WRAP_AT) or [""])
    return out


def _pages(lines: list[str]) -> list[list[str]]:
    lines = _wrapped(lines)
    first = LINES_PER_PAGE - TITLE_LINES
    pages = [lines[:first]]
    rest = lines[first:]
    while rest:
        pages.append(rest[:LINES_PER_PAGE])
        rest = rest[LINES_PER_PAGE:]
    return pages


def _content(lines: list[str], *, title: str | None) -> bytes:
    top = A4[1] - MARGIN - TITLE_SIZE
    ops = [b"BT", b"%d %d Td" % (MARGIN, top), b"%d TL" % LEADING]
    if title is not None:
        ops += [b"/F2 %d Tf" % TITLE_SIZE, _pdf_string(title) + b" Tj", b"T* T*"]
    ops.append(b"/F1 %d Tf" % TEXT_SIZE)
    ops += [_pdf_string(line) + b" Tj T*" for line in lines]
    ops.append(b"ET")
    return b"\n".join(ops) + b"\n"


def simple_pdf(title: str, lines: list[str]) -> bytes:
    """A PDF of ``title`` in bold, then ``lines`` (wrapped, paginated) in Helvetica."""
    pages = _pages(lines)
    # Objects 1-5 are fixed; each page then takes two: the page and its content stream.
    page_ids = [6 + 2 * i for i in range(len(pages))]
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"%d 0 R" % n for n in page_ids), len(pages)),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Title " + _info_string(title) + b" /Producer (Consilium demo) >>",
    ]
    for number, (page_id, page_lines) in enumerate(zip(page_ids, pages, strict=True)):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] "
            b"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents %d 0 R >>"
            % (A4[0], A4[1], page_id + 1)
        )
        stream = _content(page_lines, title=title if number == 0 else None)
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"endstream")

    # A binary comment after the header tells transfer tools the file is not text.
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    # Each cross-reference entry is exactly 20 bytes, its end-of-line included.
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)

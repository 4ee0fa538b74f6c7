"""Reading multipart request bodies part by part (RFC 2046), bounded in size.

Used by STOW-RS and by the browser's DICOM upload, which sends multipart/related rather
than a form: Twisted parses every multipart/form-data body it receives, on Daphne's main
thread, before Django sees it; a related body it leaves alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.utils.http import parse_header_parameters


class MultipartError(ValueError):
    pass


# RFC 2046 5.1.1 allows 1 to 70 of these characters ("bchars"), the last one not a space.
# Orthanc and other DICOMweb clients send longer boundaries (Orthanc: two UUIDs joined by a
# hyphen, 73 characters) and their own servers accept them: be liberal, but bounded.
BOUNDARY_MAX_CHARS = 200
_BCHARS_NOSPACE = r"0-9A-Za-z'()+_,\-./:=?"
_BOUNDARY = re.compile(f"[{_BCHARS_NOSPACE} ]{{0,{BOUNDARY_MAX_CHARS - 1}}}[{_BCHARS_NOSPACE}]")


def boundary_valid(boundary: str) -> bool:
    """Whether a multipart boundary is RFC 2046 bchars, up to ``BOUNDARY_MAX_CHARS`` long."""
    return _BOUNDARY.fullmatch(boundary) is not None


@dataclass
class Part:
    content_type: str
    data: bytes | None  # None: over the size limit, skipped unread
    name: str = ""  # from Content-Location or a Content-Disposition filename, if any


class CappedReader:
    """Reads the request body and refuses to go past ``limit`` bytes."""

    def __init__(self, request, limit: int):
        self.request = request
        self.left = limit

    def read(self, size: int) -> bytes:
        data = self.request.read(min(size, self.left + 1))
        self.left -= len(data)
        if self.left < 0:
            raise MultipartError(
                f"The request is over the {settings.STOW_MAX_BYTES // 2**20} MB limit."
            )
        return data


def read_parts(
    stream, boundary: bytes, *, max_part_bytes: int, chunk_size: int = 1 << 16
) -> Iterator[Part]:
    """The parts of a multipart body (RFC 2046), one at a time, each bounded in size.

    Reads as it goes, so a request costs one part's memory, not the whole body's.
    """
    delimiter = b"\r\n--" + boundary
    buffer = bytearray(b"\r\n")  # the first boundary may open the body without a CRLF
    ended = False

    def fill() -> bool:
        nonlocal ended
        data = b"" if ended else stream.read(chunk_size)
        if not data:
            ended = True
            return False
        buffer.extend(data)
        return True

    while (start := buffer.find(delimiter)) < 0:
        if len(buffer) > 1 << 20 or not fill():
            raise MultipartError("The body holds no part with the boundary it announced.")
    del buffer[: start + len(delimiter)]
    while True:
        while len(buffer) < 2 and fill():
            pass
        if buffer.startswith(b"--"):
            return  # the close delimiter
        while (eol := buffer.find(b"\r\n")) < 0:
            if len(buffer) > 1024 or not fill():
                raise MultipartError("A boundary line is malformed.")
        if buffer[:eol].strip(b" \t"):
            raise MultipartError("A boundary line is malformed.")
        del buffer[: eol + 2]
        # Headers end at an empty line; a part may have none.
        while not buffer.startswith(b"\r\n") and (end := buffer.find(b"\r\n\r\n")) < 0:
            if len(buffer) > 16 * 1024 or not fill():
                raise MultipartError("A part's headers are malformed or too long.")
        if buffer.startswith(b"\r\n"):
            head, skip = b"", 2
        else:
            head, skip = bytes(buffer[:end]), end + 4
        del buffer[:skip]
        content_type, part_name = "", ""
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "content-type":
                content_type = value
            elif name == "content-location" and not part_name:
                part_name = value[:255]
            elif name == "content-disposition":
                filename = parse_header_parameters(value)[1].get("filename", "")
                part_name = filename[:255] or part_name
        body: bytearray | None = bytearray()
        size = 0
        keep = len(delimiter) - 1
        while True:
            found = buffer.find(delimiter)
            cut = found if found >= 0 else max(len(buffer) - keep, 0)
            size += cut
            if body is not None and size <= max_part_bytes:
                with memoryview(buffer) as view:  # copied once, into the part
                    body.extend(view[:cut])
            else:
                body = None  # over the limit: read on to the next boundary, keep nothing
            if found >= 0:
                del buffer[: found + len(delimiter)]
                break
            del buffer[:cut]
            if not fill():
                raise MultipartError("The body ends inside a part (no closing boundary).")
        yield Part(content_type, bytes(body) if body is not None else None, part_name)

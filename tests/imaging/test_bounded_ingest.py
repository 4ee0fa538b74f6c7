"""Oversize files are refused by their size before they are read, and do not stop the rest."""

from __future__ import annotations

import io
import zipfile

import pytest

from imaging.ingest import ingest_many
from tests.imaging.dicom import ct_bytes

pytestmark = pytest.mark.django_db

MiB = 2**20


class Counted(io.BytesIO):
    """An uploaded file that counts what is read of it."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size=-1):
        data = super().read(size)
        self.bytes_read += len(data)
        return data


def test_an_oversize_file_is_refused_unread(case, settings):
    settings.DICOM_MAX_FILE_BYTES = 2 * MiB
    upload = Counted(bytes(3 * MiB))
    batch = ingest_many(
        case=case, by=None, files=[("big.dcm", upload), ("ok.dcm", io.BytesIO(ct_bytes()))]
    )
    assert [(r.name, r.status) for r in batch.results] == [
        ("big.dcm", "refused"),
        ("ok.dcm", "stored"),
    ]
    assert batch.results[0].reason == "The file is over the 2 MB limit."
    assert upload.bytes_read <= 4  # the zip signature check, nothing more


def test_an_oversize_zip_entry_is_refused_and_the_next_entries_are_read(case, settings):
    settings.DICOM_MAX_FILE_BYTES = 2 * MiB
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.dcm", bytes(3 * MiB))
        archive.writestr("ok.dcm", ct_bytes())
    buf.seek(0)
    batch = ingest_many(case=case, by=None, files=[("cd.zip", buf)])
    assert [(r.name, r.status, r.reason) for r in batch.results] == [
        ("cd.zip:big.dcm", "refused", "The entry unpacks to more than the 2 MB file limit."),
        ("cd.zip:ok.dcm", "stored", ""),
    ]

"""sweep_imaging_files removes what no index row points to, and nothing else."""

from __future__ import annotations

import io
import os
import time

import pytest
from django.core.management import call_command

from imaging.ingest import ingest_file
from imaging.models import Instance
from tests.imaging.dicom import ct_bytes

pytestmark = pytest.mark.django_db

HOUR = 3600


def plant(media_root, name: str, *, age_s: int) -> str:
    path = media_root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"left behind")
    then = time.time() - age_s
    os.utime(path, (then, then))
    return name


def sweep(*args) -> str:
    out = io.StringIO()
    call_command("sweep_imaging_files", *args, stdout=out)
    return out.getvalue()


def test_unindexed_files_older_than_the_limit_go(case, media_root):
    kept = ingest_file(case=case, by=None, data=ct_bytes(), name="x.dcm").instance
    folder = f"dicom/{case.uuid.hex}"
    os.utime(media_root / kept.file.name, (time.time() - 2 * HOUR,) * 2)  # old but indexed
    orphan = plant(media_root, f"{folder}/0123.dcm", age_s=2 * HOUR)
    young = plant(media_root, f"{folder}/4567.dcm", age_s=60)  # an upload still indexing
    stray = plant(media_root, "thumbnails/gone.png", age_s=2 * HOUR)

    listed = sweep("--dry-run")
    assert orphan in listed and stray in listed
    assert young not in listed and kept.file.name not in listed
    assert (media_root / orphan).exists()  # a dry run deletes nothing

    assert "Deleted 2 unindexed file(s)." in sweep()
    assert not (media_root / orphan).exists()
    assert not (media_root / stray).exists()
    assert (media_root / young).exists()
    instance = Instance.objects.get()
    with instance.file.open("rb") as fh:
        assert fh.read(132)[128:] == b"DICM"
    assert "Deleted 1 unindexed file(s)." in sweep("--minutes", "0")  # no age limit
    assert not (media_root / young).exists()
    assert (media_root / instance.file.name).exists()


def test_an_empty_storage_sweeps_nothing(media_root):
    assert "Deleted 0 unindexed file(s)." in sweep()

"""Housekeeping of the imaging files in the storage."""

from __future__ import annotations

import datetime
import posixpath

from django.core.files.storage import default_storage
from django.utils import timezone

from imaging.models import Instance, Series

DICOM_ROOT = "dicom"
THUMBNAIL_ROOT = "thumbnails"


def sweep_unindexed_files(*, older_than_minutes: int, delete: bool = True) -> list[str]:
    """Names of the stored files no Instance or Series points to, older than the given age;
    deleted unless ``delete`` is False.

    An upload writes each file before its chunk is indexed, and removes it if indexing
    fails; only a process that dies in between leaves one behind. The age keeps files of
    uploads still running. Instances are looked up one case folder at a time.
    """
    cutoff = timezone.now() - datetime.timedelta(minutes=older_than_minutes)
    swept = []
    for folder in _folders(DICOM_ROOT):
        names = _files(folder)
        if not names:
            continue
        indexed = set(
            Instance.all_objects.filter(file__startswith=f"{folder}/").values_list(
                "file", flat=True
            )
        )
        swept += [n for n in names if n not in indexed and _older(n, cutoff)]
    thumbnails = _files(THUMBNAIL_ROOT)
    if thumbnails:
        used = set(Series.all_objects.exclude(thumbnail="").values_list("thumbnail", flat=True))
        swept += [n for n in thumbnails if n not in used and _older(n, cutoff)]
    if delete:
        for name in swept:
            default_storage.delete(name)
    return swept


def _folders(root: str) -> list[str]:
    if not default_storage.exists(root):
        return []
    folders, _files = default_storage.listdir(root)
    return [posixpath.join(root, f) for f in sorted(folders)]


def _files(folder: str) -> list[str]:
    if not default_storage.exists(folder):
        return []
    _folders, files = default_storage.listdir(folder)
    return [posixpath.join(folder, f) for f in sorted(files)]


def _older(name: str, cutoff: datetime.datetime) -> bool:
    try:
        return default_storage.get_modified_time(name) < cutoff
    except (FileNotFoundError, NotImplementedError):
        return False  # gone meanwhile, or a storage that cannot say: leave it

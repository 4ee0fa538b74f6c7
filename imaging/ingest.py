"""One pipeline for every DICOM file that reaches a case (browser upload, zip, STOW-RS).

Each file is parsed without ``force``, checked, de-identified (unless the board turned it
off), stripped of its preamble, re-encoded and written by `imaging.prepare`. The prepared
files are then indexed a chunk at a time: one query finds the instances already stored, and
one transaction indexes the chunk, so each file is indexed whole or not at all. Every
refusal carries a reason a person can act on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
import uuid
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F

from board.models import User
from cases.audit import audit
from cases.models import Case, PatientIdentity
from imaging import deid
from imaging.models import Instance, Series, Study
from imaging.prepare import Limits, NotDicom, Prepared, Refused, Skipped, prepare, write

logger = logging.getLogger(__name__)

# A chunk is stored as soon as it holds this many files or bytes (the page's uploader sends
# up to 50 files a request; a zip may hold thousands, and one file may be hundreds of MB).
CHUNK_FILES = 64
CHUNK_BYTES = 64 * 2**20
DUPLICATE = "Already stored; not stored twice."
FILE_FIELD = Instance._meta.get_field("file")


@dataclass
class FileResult:
    name: str
    status: str  # "stored", "duplicate", "skipped" or "refused" ("pending" until stored)
    reason: str = ""
    instance: Instance | None = None
    # SOP Class and Instance UIDs as uploaded, when a refused file could be read that far.
    sent: tuple[str, str] = ("", "")

    @property
    def ok(self) -> bool:
        return self.status in ("stored", "duplicate")

    def as_json(self) -> dict:
        out = {"name": self.name, "status": self.status, "ok": self.ok}
        if self.reason:
            out["reason"] = self.reason
        if self.instance is not None:
            out["series"] = str(self.instance.series.uuid)
            out["instance"] = str(self.instance.uuid)
        return out


@dataclass
class Batch:
    results: list[FileResult] = field(default_factory=list)

    @property
    def stored(self) -> int:
        return sum(r.status == "stored" for r in self.results)


def limits() -> Limits:
    return Limits(
        file_bytes=settings.DICOM_MAX_FILE_BYTES,
        decoded_bytes=settings.DICOM_MAX_DECODED_BYTES,
        frames=settings.DICOM_MAX_FRAMES,
    )


def deid_context(case: Case) -> deid.DeidContext:
    """The case's de-identification; with the board's Clean Descriptors Option, the words
    cleaned out of descriptions are the patient's name parts and hospital number."""
    clean = case.board.keep_clean_descriptors
    words: tuple[str, ...] = ()
    if clean:
        identity = PatientIdentity.objects.filter(case=case).first()
        if identity is not None:
            words = deid.identifying_words(identity.full_name, identity.hospital_number)
    return deid.DeidContext(
        secret=settings.DEID_SECRET.encode(),
        case_key=case.uuid.hex,
        pseudonym=case.pseudonym,
        clean_descriptors=clean,
        identifying_words=words,
    )


@dataclass
class _Item:
    result: FileResult
    in_collection: bool
    instance_uuid: uuid.UUID
    name: str  # the stored file's name in the storage
    target: str | None  # its path, where the storage is local
    prepared: Prepared


# --- the pipeline ------------------------------------------------------------------------


class Ingest:
    """One upload into one case: `add` each file, then `close`; results keep their order.

    Use it as a context manager (or call `close`): a result is final once `close` has
    returned, since files are stored a chunk at a time, and leaving early removes what
    was written for files not indexed.
    """

    def __init__(self, *, case: Case, by: User | None):
        self.case = case
        self.by = by
        self.ctx = deid_context(case) if case.board.deidentify_imaging else None
        self.limits = limits()
        self.results: list[FileResult] = []
        self._pending: list[_Item] = []
        self._pending_bytes = 0
        self._series: dict[tuple[str, str], Series] = {}
        self._folders: set[str] = set()

    def __enter__(self) -> Ingest:
        return self

    def __exit__(self, *exc_info) -> None:
        self._abandon()

    def add(self, name: str, data: bytes, *, in_collection: bool = False) -> FileResult:
        """Check and prepare one file; it is indexed with its chunk. ``in_collection``: it
        came in a zip or a folder, where files that are not DICOM at all (a CD's viewer, its
        README) are expected and skipped."""
        result = FileResult(name, "pending")
        self.results.append(result)
        instance_uuid = uuid.uuid4()
        stored_name = FILE_FIELD.generate_filename(
            None, f"{self.case.uuid.hex}/{instance_uuid.hex}.dcm"
        )
        try:
            target = default_storage.path(stored_name)
        except NotImplementedError:  # a remote storage: the bytes are saved through it
            target = None
        try:
            prepared = prepare(data, self.limits, self.ctx)
        except Refused as refusal:
            _refuse(result, refusal, in_collection)
            return result
        if target is not None and (folder := os.path.dirname(target)) not in self._folders:
            os.makedirs(folder, exist_ok=True)  # once per upload: every file of a case shares it
            self._folders.add(folder)
        try:
            prepared.instance["sha256"] = write(prepared.stored, target)
        except BaseException:
            _unlink(target)  # a file begun and not finished (a full disk)
            raise
        if target is not None:
            prepared.stored = b""  # on disk now
        self._pending.append(
            _Item(result, in_collection, instance_uuid, stored_name, target, prepared)
        )
        self._pending_bytes += len(data)
        if len(self._pending) >= CHUNK_FILES or self._pending_bytes >= CHUNK_BYTES:
            self._flush()
        return result

    def close(self) -> Batch:
        try:
            self._flush()
        finally:
            self._abandon()
        return Batch(results=self.results)

    def _abandon(self) -> None:
        """Files prepared but never indexed (an error, or no `close`): their stored bytes
        are removed."""
        pending, self._pending, self._pending_bytes = self._pending, [], 0
        for item in pending:
            if item.result.status != "stored":
                _discard(item)
            if item.result.status == "pending":
                item.result.status = "refused"
                item.result.reason = "Not stored (the upload failed)."

    # --- storing a chunk ---------------------------------------------------------------

    def _flush(self) -> None:
        if self._pending:
            self._store(self._pending)
        self._pending, self._pending_bytes = [], 0

    def _store(self, chunk: list[_Item]) -> None:
        uids = {item.prepared.sop_instance_uid for item in chunk}
        stored = {
            instance.sop_instance_uid: instance
            for instance in Instance.objects.select_related("series")
            .filter(series__study__case=self.case, sop_instance_uid__in=uids)
            .order_by()
        }
        fresh: dict[str, tuple[_Item, Instance]] = {}
        echoes: list[tuple[_Item, str]] = []  # already stored, or twice in this chunk
        for item in chunk:
            uid = item.prepared.sop_instance_uid
            if uid in stored or uid in fresh:
                echoes.append((item, uid))
                _discard(item)
            else:
                instance = Instance(
                    uuid=item.instance_uuid, sop_instance_uid=uid, **item.prepared.instance
                )
                fresh[uid] = (item, instance)
        if fresh:
            try:
                self._store_chunk(list(fresh.values()))
            except IntegrityError:
                # Another upload stored some of these meanwhile: each on its own.
                for item, instance in fresh.values():
                    self._store_one(item, instance)
            for uid, (item, _instance) in fresh.items():
                if item.result.instance is not None:
                    stored.setdefault(uid, item.result.instance)
        for item, uid in echoes:
            result = item.result
            result.status, result.reason, result.instance = "duplicate", DUPLICATE, stored.get(uid)

    def _store_chunk(self, fresh: list[tuple[_Item, Instance]]) -> None:
        try:
            for item, instance in fresh:
                self._place(item, instance)
            with transaction.atomic():
                for item, instance in fresh:
                    instance.series = self._series_for(item.prepared)
                Instance.objects.bulk_create([instance for _item, instance in fresh])
                _count([instance for _item, instance in fresh])
        except IntegrityError:
            self._series.clear()  # rolled back with the chunk; the files stay for a retry
            raise
        except BaseException:
            self._series.clear()
            for item, _instance in fresh:
                _discard(item)
            raise
        for item, instance in fresh:
            item.result.status, item.result.instance = "stored", instance

    def _store_one(self, item: _Item, instance: Instance) -> None:
        self._place(item, instance)
        try:
            with transaction.atomic():
                instance.series = self._series_for(item.prepared)
                instance.save()
                _count([instance])
        except IntegrityError:
            # The same instance arrived twice at once: the other request stored it.
            self._series.clear()
            _discard(item)
            existing = (
                Instance.objects.select_related("series")
                .filter(series__study__case=self.case, sop_instance_uid=instance.sop_instance_uid)
                .first()
            )
            item.result.status, item.result.reason = "duplicate", DUPLICATE
            item.result.instance = existing
            return
        except BaseException:
            self._series.clear()
            _discard(item)
            raise
        item.result.status, item.result.instance = "stored", instance

    def _place(self, item: _Item, instance: Instance) -> None:
        """Point the instance at its stored file, saving the bytes first where
        `add` could not write them itself (a remote storage)."""
        if item.target is None and item.prepared.stored:
            instance.file.save(item.name, ContentFile(item.prepared.stored), save=False)
            item.name = instance.file.name  # a remote storage may pick another
            item.prepared.stored = b""
        instance.file.name = item.name

    def _series_for(self, prepared: Prepared) -> Series:
        key = (prepared.study_instance_uid, prepared.series_instance_uid)
        if key in self._series:
            return self._series[key]
        study, _ = Study.objects.get_or_create(
            case=self.case,
            study_instance_uid=prepared.study_instance_uid,
            defaults={
                **prepared.study,
                "deidentified": self.ctx is not None,
                "uploaded_by": self.by,
            },
        )
        series, _ = Series.objects.get_or_create(
            study=study, series_instance_uid=prepared.series_instance_uid, defaults=prepared.series
        )
        self._series[key] = series
        return series


def _unlink(path: str | None) -> None:
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _discard(item: _Item) -> None:
    """Remove the stored file of an item that is not indexed (nothing if there is none)."""
    if item.target is not None:
        _unlink(item.target)
    elif not item.prepared.stored:  # saved through the storage by _place
        default_storage.delete(item.name)


def _refuse(result: FileResult, refusal: Refused, in_collection: bool) -> None:
    if isinstance(refusal, NotDicom) and in_collection:
        result.status, result.reason = "skipped", f"{refusal.reason} Ignored."
    elif isinstance(refusal, Skipped):
        result.status, result.reason = "skipped", refusal.reason
    else:
        result.status, result.reason = "refused", refusal.reason
    result.sent = refusal.sent


def _count(instances: list[Instance]) -> None:
    """Add new instances to their series' denormalised counts: one UPDATE per series."""
    grown: dict[int, list[Instance]] = defaultdict(list)
    for instance in instances:
        grown[instance.series_id].append(instance)
    for series_id, added in grown.items():
        counts = {
            "instance_count": F("instance_count") + len(added),
            "frame_count": F("frame_count") + sum(i.frames for i in added),
        }
        if any(i.burned_in for i in added):  # only ever raised: a cached series may be stale
            counts["burned_in_risk"] = True
        Series.objects.filter(pk=series_id).update(**counts)


def ingest_file(*, case: Case, by: User | None, data: bytes, name: str) -> FileResult:
    """Ingest one file on its own (an upload of many goes through `Ingest`)."""
    with Ingest(case=case, by=by) as ingest:
        result = ingest.add(name, data)
        ingest.close()
    return result


def ingest_many(*, case: Case, by: User | None, files: Iterable[tuple[str, BinaryIO]]) -> Batch:
    """Ingest uploaded files; a .zip is opened and each of its entries ingested."""
    with Ingest(case=case, by=by) as ingest:
        for name, fileobj in files:
            head = fileobj.read(4)
            fileobj.seek(0)
            entries = zip_entries(fileobj, name) if head.startswith(b"PK\x03\x04") else None
            if entries is None:
                fileobj.seek(0, os.SEEK_END)
                size = fileobj.tell()
                fileobj.seek(0)
                if size > settings.DICOM_MAX_FILE_BYTES:  # refused unread: it is on disk
                    limit = settings.DICOM_MAX_FILE_BYTES // 2**20
                    reason = f"The file is over the {limit} MB limit."
                    ingest.results.append(FileResult(name, "refused", reason))
                    continue
                data = fileobj.read(settings.DICOM_MAX_FILE_BYTES + 1)
                # A name with a folder in it came from a folder upload (a CD export).
                ingest.add(name, data, in_collection="/" in name)
                continue
            for entry in entries:
                if isinstance(entry, FileResult):
                    ingest.results.append(entry)
                else:
                    entry_name, data = entry
                    ingest.add(entry_name, data, in_collection=True)
        batch = ingest.close()
    audit(
        actor=by,
        action="imaging.upload",
        case=case,
        detail={
            "stored": batch.stored,
            "refused": sum(r.status == "refused" for r in batch.results),
            "duplicates": sum(r.status == "duplicate" for r in batch.results),
        },
    )
    return batch


# --- zip archives ---------------------------------------------------------------------------


def zip_entries(fileobj: BinaryIO, name: str) -> Iterator[tuple[str, bytes] | FileResult]:
    """The files of a zip, bounded in count and size; paths are never used on disk.

    Yields (entry name, bytes) for regular files and a FileResult for anything refused.
    Each entry is unpacked into a temporary file a piece at a time and counted as it
    grows, so an entry over the limit (whatever its header claims) is refused after one
    piece past it, having cost disk and one piece of memory; only an entry within
    ``DICOM_MAX_FILE_BYTES`` is then read back, to be prepared like any uploaded file.
    """
    try:
        archive = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, OSError, ValueError):
        yield FileResult(name, "refused", "The zip file is damaged.")
        return
    with archive:
        infos = archive.infolist()
        if len(infos) > settings.ZIP_MAX_ENTRIES:
            yield FileResult(
                name,
                "refused",
                f"The zip has {len(infos)} entries, over the limit of {settings.ZIP_MAX_ENTRIES}.",
            )
            return
        declared = sum(info.file_size for info in infos)
        if declared > settings.ZIP_MAX_TOTAL_BYTES:
            yield FileResult(
                name,
                "refused",
                f"The zip would unpack to {declared / 2**20:.0f} MB, over the "
                f"{settings.ZIP_MAX_TOTAL_BYTES / 2**20:.0f} MB limit.",
            )
            return
        file_limit = settings.DICOM_MAX_FILE_BYTES
        too_big = f"The entry unpacks to more than the {file_limit / 2**20:.0f} MB file limit."
        unpacked = 0
        for info in infos:
            label = f"{name}:{info.filename}"
            if info.is_dir():
                continue
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                yield FileResult(label, "skipped", "A symbolic link; links are not followed.")
                continue
            if info.flag_bits & 0x1:
                yield FileResult(label, "refused", "The entry is encrypted.")
                continue
            if info.file_size > file_limit:  # as declared: not even begun
                yield FileResult(label, "refused", too_big)
                continue
            left = settings.ZIP_MAX_TOTAL_BYTES - unpacked
            try:
                size, data = _unpack(archive, info, min(file_limit, left))
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError):
                yield FileResult(label, "refused", "The entry is damaged.")
                continue
            unpacked += size
            if data is None and size > left:
                yield FileResult(
                    label,
                    "refused",
                    f"The zip unpacks to more than the "
                    f"{settings.ZIP_MAX_TOTAL_BYTES / 2**20:.0f} MB limit; the rest was not read.",
                )
                return
            if data is None:
                yield FileResult(label, "refused", too_big)
                continue
            yield label, data


ZIP_PIECE = 1 << 20  # what one entry costs in memory while it is unpacked


def _unpack(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int
) -> tuple[int, bytes | None]:
    """(bytes unpacked, the entry's bytes), or (bytes unpacked, None) once it passed
    ``budget``: one piece past the budget is enough to know, so a lying header cannot make
    us unpack more."""
    size = 0
    with archive.open(info) as member, tempfile.TemporaryFile() as spool:
        while piece := member.read(ZIP_PIECE):
            size += len(piece)
            if size > budget:
                return size, None
            spool.write(piece)
        spool.seek(0)
        return size, spool.read()

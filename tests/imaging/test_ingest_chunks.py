"""Uploads are indexed a chunk at a time: few queries, duplicates found once, each file
indexed whole or not at all, and nothing left on disk for a file that is not indexed."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from imaging import ingest as ingest_module
from imaging.ingest import ingest_file, ingest_many
from imaging.models import Instance, Series
from imaging.views import thumbnail_url
from tests.helpers import complete_sign_in
from tests.imaging.dicom import series_bytes

pytestmark = pytest.mark.django_db


def upload(case, files, by=None):
    named = [(f"IM{i}", io.BytesIO(data)) for i, data in enumerate(files)]
    return ingest_many(case=case, by=by, files=named)


def stored_files(media_root):
    return sorted(p for p in media_root.rglob("*.dcm") if p.is_file())


def test_queries_do_not_grow_with_the_files_of_a_chunk(cast):
    from tests.cases.factories import make_case

    counts = []
    for size in (4, 24):
        case = make_case(cast)
        files = series_bytes(size)
        with CaptureQueriesContext(connection) as queries:
            batch = upload(case, files)
        assert batch.stored == size
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_duplicates_within_an_upload_and_across_chunks(case, media_root, monkeypatch):
    monkeypatch.setattr(ingest_module, "CHUNK_FILES", 3)
    files = series_bytes(7)
    batch = upload(case, [*files, files[0], files[5]])
    statuses = [r.status for r in batch.results]
    assert statuses == ["stored"] * 7 + ["duplicate", "duplicate"]
    first, sixth = batch.results[0].instance, batch.results[5].instance
    assert batch.results[7].instance.pk == first.pk
    assert batch.results[8].instance.pk == sixth.pk
    again = upload(case, files[:4])
    assert [r.status for r in again.results] == ["duplicate"] * 4
    series = Series.objects.get()
    assert (series.instance_count, series.frame_count) == (7, 7)
    assert Instance.objects.count() == 7
    # The duplicates' bytes were written before they were known to be duplicates.
    assert len(stored_files(media_root)) == 7
    assert {p.name for p in stored_files(media_root)} == {
        f"{i.uuid.hex}.dcm" for i in Instance.objects.all()
    }


def test_a_chunk_that_fails_leaves_no_row_and_no_file(case, media_root, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(Instance.objects, "bulk_create", broken)
    with pytest.raises(RuntimeError):
        upload(case, series_bytes(4))
    assert not Instance.objects.exists()
    assert not Series.objects.exists()  # created in the chunk's transaction, rolled back
    assert stored_files(media_root) == []


def test_an_instance_stored_meanwhile_by_another_upload(case, media_root, monkeypatch):
    files = series_bytes(5)
    original = ingest_module.Ingest._store_chunk
    raced = []

    def store_chunk(self, fresh):
        if self.results[0].name == "IM0":
            # Another request commits the first file between our check and our insert.
            raced.append(ingest_file(case=case, by=None, data=files[0], name="other"))
        return original(self, fresh)

    monkeypatch.setattr(ingest_module.Ingest, "_store_chunk", store_chunk)
    batch = upload(case, files)
    assert [r.status for r in batch.results] == ["duplicate"] + ["stored"] * 4
    assert batch.results[0].instance.pk == raced[0].instance.pk
    assert Instance.objects.count() == 5
    assert Series.objects.get().instance_count == 5
    assert len(stored_files(media_root)) == 5


def test_a_storage_without_paths_gets_the_bytes(case, monkeypatch):
    saved = []
    local = Instance.file.field.storage

    class Remote:
        def __getattr__(self, name):
            return getattr(local, name)

        def path(self, name):
            raise NotImplementedError("no local paths")

    real_save = local.save

    def save(name, content, max_length=None):
        saved.append(name)
        return real_save(name, content, max_length=max_length)

    monkeypatch.setattr(ingest_module, "default_storage", Remote())
    monkeypatch.setattr(local, "save", save)
    batch = upload(case, series_bytes(3))
    assert batch.stored == 3
    assert len(saved) == 3
    for result in batch.results:
        with result.instance.file.open("rb") as fh:
            assert fh.read(132)[128:] == b"DICM"


def test_the_thumbnail_is_made_when_asked_for_and_again_once_the_series_grew(case, cast):
    files = series_bytes(6, shuffle=False)
    upload(case, files[:3])
    series = Series.objects.get()
    assert not series.thumbnail  # an upload renders nothing
    client = Client()
    complete_sign_in(client, cast.chair)
    first_url = thumbnail_url(case, series)
    response = client.get(first_url)
    assert response.status_code == 200
    assert response.content.startswith(b"\x89PNG")
    series.refresh_from_db()
    assert series.thumbnail_count == 3
    made = series.thumbnail.name

    upload(case, files[3:])
    series.refresh_from_db()
    assert thumbnail_url(case, series) != first_url  # a new URL: caches don't show the old one
    assert client.get(thumbnail_url(case, series)).status_code == 200
    series.refresh_from_db()
    assert series.thumbnail_count == 6
    assert series.thumbnail.name != made
    assert not series.thumbnail.storage.exists(made)  # the old one is gone

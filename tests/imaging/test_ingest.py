"""The ingest pipeline: checks, de-identification, storage, index."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pydicom
import pytest

from imaging.ingest import ingest_file, ingest_many
from imaging.models import Instance, Series, Study
from tests.helpers import complete_sign_in
from tests.imaging.dicom import PATIENT, PATIENT_ID, ct_bytes, ct_dataset, series_bytes, to_bytes

pytestmark = pytest.mark.django_db


def ingest(case, data, name="x.dcm", by=None):
    return ingest_file(case=case, by=by, data=data, name=name)


def stored_dataset(instance):
    with instance.file.open("rb") as fh:
        return pydicom.dcmread(fh)


def test_a_ct_slice_is_stored_deidentified_and_indexed(case, cast):
    result = ingest(case, ct_bytes(rows=8, columns=10), by=cast.referrer)
    assert result.status == "stored", result.reason
    instance = result.instance
    assert (instance.rows, instance.columns, instance.frames) == (8, 10, 1)
    assert instance.window_presets[0] == {"center": 40.0, "width": 400.0, "name": ""}
    assert instance.pixel_spacing == [0.8, 0.8]
    stored = stored_dataset(instance)
    assert str(stored.PatientName) == case.pseudonym
    assert stored.PatientID == case.pseudonym
    assert stored.PatientIdentityRemoved == "YES"
    with instance.file.open("rb") as fh:
        raw = fh.read()
    for secret in (PATIENT.split("^")[0].encode(), PATIENT_ID.encode(), b"Riverside"):
        assert secret not in raw
    study = Study.objects.get()
    assert study.case == case
    assert study.deidentified is True
    series = Series.objects.get()
    assert (series.instance_count, series.frame_count) == (1, 1)
    assert series.thumbnail == ""  # made when first asked for


def test_the_preamble_is_zeroed(case):
    ds = ct_dataset()
    ds.preamble = b"MZ\x90\x00" + b"\xcc" * 124  # a polyglot: an executable and a DICOM file
    result = ingest(case, to_bytes(ds))
    with result.instance.file.open("rb") as fh:
        assert fh.read(132) == b"\0" * 128 + b"DICM"


def test_resending_an_instance_is_idempotent(case):
    data = ct_bytes()
    assert ingest(case, data).status == "stored"
    again = ingest(case, data)
    assert again.status == "duplicate"
    assert Instance.objects.count() == 1
    assert Series.objects.get().instance_count == 1


def test_the_same_original_in_another_case_is_another_instance(case, cast):
    from tests.cases.factories import make_case

    data = ct_bytes()
    first = ingest(case, data).instance
    second = ingest(make_case(cast), data).instance
    assert first.sop_instance_uid != second.sop_instance_uid


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"%PDF-1.4 not an image" * 20, "Not a DICOM file"),
        (b"", "too short"),
        (b"\0" * 128 + b"DICM" + b"\x02\x00\x10\x00UI\xff\x7f", "Missing required"),
    ],
)
def test_non_dicom_and_malformed_files_are_refused_with_a_reason(case, data, reason):
    result = ingest(case, data)
    assert result.status == "refused"
    assert reason in result.reason
    assert not Instance.objects.exists()


def test_truncated_pixel_data_is_refused(case):
    data = ct_bytes(rows=32, columns=32)
    result = ingest(case, data[:-100])
    assert result.status == "refused"
    assert "runcated" in result.reason
    assert not Instance.objects.exists()


def test_a_decompression_bomb_is_refused_before_decoding(case, monkeypatch):
    import pydicom.pixels

    def never(*args, **kwargs):
        raise AssertionError("decoded a bomb")

    monkeypatch.setattr(pydicom.pixels, "pixel_array", never)
    ds = ct_dataset(rows=8, columns=8)
    ds.Rows, ds.Columns, ds.NumberOfFrames = 65535, 65535, 100
    result = ingest(case, to_bytes(ds))
    assert result.status == "refused"
    assert "limit" in result.reason
    assert not Instance.objects.exists()


def test_missing_uid_is_refused(case):
    ds = ct_dataset()
    del ds.SeriesInstanceUID
    result = ingest(case, to_bytes(ds))
    assert result.status == "refused"
    assert "SeriesInstanceUID" in result.reason


def test_a_structured_report_is_skipped_not_failed(case):
    ds = ct_dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.22"
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    del ds.PixelData
    result = ingest(case, to_bytes(ds))
    assert result.status == "skipped"
    assert "structured report" in result.reason


def test_a_series_is_ordered_along_the_slice_normal(case):
    for data in series_bytes(7):
        assert ingest(case, data).status == "stored"
    from imaging.thumbnails import ordered_instances

    series = Series.objects.get()
    positions = [i.slice_position for i in ordered_instances(series)]
    assert positions == sorted(positions)
    assert [i.instance_number for i in ordered_instances(series)] == [1, 2, 3, 4, 5, 6, 7]


def test_multi_frame_instance(case):
    frames = np.stack([np.full((6, 6), v, dtype=np.uint16) for v in (100, 200, 300)])
    ds = ct_dataset(rows=6, columns=6, values=frames)
    ds.NumberOfFrames = 3
    result = ingest(case, to_bytes(ds))
    assert result.status == "stored", result.reason
    assert result.instance.frames == 3
    assert Series.objects.get().frame_count == 3


def test_board_without_deidentification_keeps_the_original(case, cast):
    cast.board.deidentify_imaging = False
    cast.board.save()
    case.board.refresh_from_db()
    ds = ct_dataset()
    result = ingest(case, to_bytes(ds))
    stored = stored_dataset(result.instance)
    assert str(stored.PatientName) == PATIENT
    assert stored.SOPInstanceUID == ds.SOPInstanceUID
    assert Study.objects.get().deidentified is False


def test_burned_in_modalities_are_flagged(case):
    result = ingest(case, ct_bytes(modality="US"))
    assert result.instance.burned_in is True
    assert Series.objects.get().burned_in_risk is True


# --- batches and zips -----------------------------------------------------------------------


def zipped(entries: list[tuple[str, bytes]], *, symlink: str | None = None) -> io.BytesIO:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = 0o120777 << 16
            archive.writestr(info, "/etc/passwd")
    buf.seek(0)
    return buf


def test_a_zip_is_ingested_entry_by_entry_with_paths_ignored(case, media_root):
    files = series_bytes(3)
    archive = zipped(
        [("../../../../tmp/evil.dcm", files[0]), ("/abs/path.dcm", files[1]), ("ok/IM3", files[2])],
        symlink="link.dcm",
    )
    batch = ingest_many(case=case, by=None, files=[("cd.zip", archive)])
    statuses = sorted((r.name, r.status) for r in batch.results)
    assert statuses == [
        ("cd.zip:../../../../tmp/evil.dcm", "stored"),
        ("cd.zip:/abs/path.dcm", "stored"),
        ("cd.zip:link.dcm", "skipped"),
        ("cd.zip:ok/IM3", "stored"),
    ]
    stored = [p for p in media_root.rglob("*") if p.is_file()]
    assert all(str(p).startswith(str(media_root)) for p in stored)
    assert not any("evil" in str(p) for p in stored)


def test_a_zip_bomb_is_refused_by_its_declared_size(case, settings):
    settings.ZIP_MAX_TOTAL_BYTES = 10_000
    archive = zipped([("big.dcm", b"\0" * 50_000)])
    batch = ingest_many(case=case, by=None, files=[("bomb.zip", archive)])
    assert [r.status for r in batch.results] == ["refused"]
    assert "unpack" in batch.results[0].reason


def test_a_zip_with_too_many_entries_is_refused(case, settings):
    settings.ZIP_MAX_ENTRIES = 3
    archive = zipped([(f"{i}.dcm", b"x") for i in range(5)])
    batch = ingest_many(case=case, by=None, files=[("many.zip", archive)])
    assert [r.status for r in batch.results] == ["refused"]
    assert "entries" in batch.results[0].reason


def test_a_lying_zip_header_cannot_unpack_more_than_allowed(case, settings):
    settings.DICOM_MAX_FILE_BYTES = 1000
    settings.ZIP_MAX_TOTAL_BYTES = 10_000
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.dcm", b"\0" * 5000)
    data = bytearray(buf.getvalue())
    # Patch the declared uncompressed sizes (local header and central directory) to 100.
    for offset in (22, data.rfind(b"PK\x01\x02") + 24):
        data[offset : offset + 4] = (100).to_bytes(4, "little")
    batch = ingest_many(case=case, by=None, files=[("liar.zip", io.BytesIO(bytes(data)))])
    assert all(r.status == "refused" for r in batch.results)
    assert not Instance.objects.exists()


def test_dicomdir_is_skipped(case):
    from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
    from pydicom.sequence import Sequence

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.1.3.10"
    meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    ds = FileDataset("", Dataset(), file_meta=meta, preamble=b"\0" * 128)
    ds.FileSetID = "CD1"
    ds.DirectoryRecordSequence = Sequence([])
    out = io.BytesIO()
    pydicom.dcmwrite(out, ds)
    batch = ingest_many(case=case, by=None, files=[("DICOMDIR", io.BytesIO(out.getvalue()))])
    assert batch.results[0].status == "skipped"
    assert "DICOMDIR" in batch.results[0].reason


def test_one_bad_file_does_not_sink_the_batch(case):
    good = io.BytesIO(ct_bytes())
    bad = io.BytesIO(b"hello, not dicom" * 20)
    batch = ingest_many(case=case, by=None, files=[("good.dcm", good), ("bad.dcm", bad)])
    assert [(r.name, r.status) for r in batch.results] == [
        ("good.dcm", "stored"),
        ("bad.dcm", "refused"),
    ]


def test_uids_are_replaced_valid_and_distinct(case):
    data = series_bytes(3)
    originals = [pydicom.dcmread(io.BytesIO(d)).SOPInstanceUID for d in data]
    uids = {ingest(case, d).instance.sop_instance_uid for d in data}
    assert len(uids) == 3
    assert all(pydicom.uid.UID(u).is_valid for u in uids)
    assert not uids & set(originals)


def test_demo_imaging_attaches_a_phantom_once(cast):
    from imaging.demo import seed_demo_imaging
    from tests.cases.factories import make_case

    demo_case = make_case(cast)
    assert seed_demo_imaging(case=demo_case, by=cast.referrer, slices=4, size=64) == 4
    assert seed_demo_imaging(case=demo_case, by=cast.referrer, slices=4, size=64) == 0
    series = Series.objects.get(study__case=demo_case)
    assert (series.modality, series.instance_count) == ("CT", 4)


def test_non_dicom_files_of_a_cd_are_skipped_but_a_lone_one_is_refused(case):
    readme = io.BytesIO(b"This CD contains images. Run VIEWER.EXE to see them.\n" * 5)
    archive = zipped([("README.TXT", readme.getvalue()), ("IM1", ct_bytes())])
    batch = ingest_many(
        case=case,
        by=None,
        files=[
            ("cd.zip", archive),
            ("CD/README.TXT", readme),
            ("notes.txt", io.BytesIO(readme.getvalue())),
        ],
    )
    assert [(r.name, r.status) for r in batch.results] == [
        ("cd.zip:README.TXT", "skipped"),
        ("cd.zip:IM1", "stored"),
        ("CD/README.TXT", "skipped"),
        ("notes.txt", "refused"),
    ]


def test_the_page_uploader_sends_multipart_related(case, cast):
    from django.test import Client
    from django.urls import reverse

    boundary = "b0undary"
    body = b""
    for name, data in (("CD%2FIM1", ct_bytes()), ("CD%2FREADME.TXT", b"just text\n" * 20)):
        body += (
            (
                f"--{boundary}\r\nContent-Type: application/dicom\r\n"
                f'Content-Disposition: attachment; filename="{name}"\r\n\r\n'
            ).encode()
            + data
            + b"\r\n"
        )
    body += f"--{boundary}--\r\n".encode()
    client = Client(enforce_csrf_checks=True)
    complete_sign_in(client, cast.referrer)
    url = reverse("imaging-upload", kwargs={"case_id": case.uuid})
    content_type = f'multipart/related; type="application/dicom"; boundary={boundary}'
    refused = client.post(url, body, content_type=content_type)
    assert refused.status_code == 403  # no CSRF token
    client.get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    token = client.cookies["csrftoken"].value
    answer = client.post(
        url,
        body,
        content_type=content_type,
        headers={"Accept": "application/json", "X-CSRFToken": token},
    )
    assert answer.status_code == 200
    assert [(r["name"], r["status"]) for r in answer.json()["results"]] == [
        ("CD/IM1", "stored"),
        ("CD/README.TXT", "skipped"),
    ]
    bad = client.post(
        url,
        b"--nope--",
        content_type=content_type,
        headers={"Accept": "application/json", "X-CSRFToken": token},
    )
    assert bad.status_code == 400


def replaced(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) == 1
    return data.replace(old, new)


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        # (0002,0010) with a VR no DICOM has: pydicom cannot read the file meta.
        ((b"\x02\x00\x10\x00UI", b"\x02\x00\x10\x00ZZ"), "DICOM: NotImplementedError"),
        # Rows (0028,0010) with a VR no DICOM has.
        ((b"\x28\x00\x10\x00US", b"\x28\x00\x10\x00ZZ"), "an image attribute cannot be read"),
        # A transfer syntax UID that names no transfer syntax.
        ((b"1.2.840.10008.1.2.1\x00", b"1.2.840.10008.9.9.9\x00"), "Malformed DICOM"),
    ],
    ids=["meta VR", "dataset VR", "transfer syntax"],
)
def test_damage_pydicom_trips_on_is_refused_with_a_reason(case, damage, reason):
    data = replaced(ct_bytes(), *damage)
    result = ingest(case, data)
    assert result.status == "refused"
    assert reason in result.reason
    assert not Instance.objects.exists()


def test_a_mark_sent_under_a_wrong_vr_is_replaced(case):
    ds = ct_dataset()
    ds.add_new(0x00120062, "IS", "7")  # Patient Identity Removed, as a number
    result = ingest(case, to_bytes(ds))
    assert result.status == "stored", result.reason
    stored = stored_dataset(result.instance)
    element = stored[0x00120062]
    assert (element.VR, element.value) == ("CS", "YES")

"""The pixel API: raw frames, the series stream, rendered frames, caching."""

from __future__ import annotations

import io
import json
import struct

import numpy as np
import pytest
from django.urls import reverse
from PIL import Image

from imaging import pixels
from imaging.ingest import ingest_file, ingest_many
from imaging.models import Series
from tests.helpers import signed_in
from tests.imaging.dicom import ct_bytes, ct_dataset, series_bytes, to_bytes

pytestmark = pytest.mark.django_db


def store(case, data):
    result = ingest_file(case=case, by=None, data=data, name="x.dcm")
    assert result.status == "stored", result.reason
    return result.instance


def raw_url(case, instance, frame=0):
    return reverse(
        "frame-raw", kwargs={"case_id": case.uuid, "instance_id": instance.uuid, "frame": frame}
    )


def test_raw_frame_is_the_stored_values_little_endian_with_a_header(case, cast):
    values = (np.arange(12 * 10, dtype=np.uint16).reshape(12, 10) * 7) % 4096
    instance = store(case, ct_bytes(rows=12, columns=10, values=values))
    response = signed_in(cast.radiologist).get(raw_url(case, instance))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    got = np.frombuffer(response.content, dtype="<u2").reshape(12, 10)
    assert np.array_equal(got, values)
    header = json.loads(response["X-Frame-Header"])
    assert header["rows"] == 12 and header["columns"] == 10
    assert header["dtype"] == "uint16"
    assert (header["slope"], header["intercept"]) == (1.0, -1024.0)
    assert header["min"] == int(values.min()) and header["max"] == int(values.max())
    assert header["windows"][1] == {"center": -600.0, "width": 1500.0, "name": ""}
    assert header["spacing"] == [0.8, 0.8]


def test_raw_frame_is_cached_for_revalidation_and_answers_304(case, cast):
    instance = store(case, ct_bytes())
    client = signed_in(cast.radiologist)
    first = client.get(raw_url(case, instance))
    assert first["Cache-Control"] == "private, no-cache"
    again = client.get(raw_url(case, instance), HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304


def test_frame_out_of_range_is_404(case, cast):
    instance = store(case, ct_bytes())
    assert signed_in(cast.radiologist).get(raw_url(case, instance, frame=1)).status_code == 404


def read_stream(body: bytes):
    records, offset = [], 0
    while offset < len(body):
        position = int.from_bytes(body[offset : offset + 4], "little")
        (header_len,) = struct.unpack_from("<I", body, offset + 4)
        header = json.loads(body[offset + 8 : offset + 8 + header_len])
        (body_len,) = struct.unpack_from("<I", body, offset + 8 + header_len)
        start = offset + 12 + header_len
        records.append((position, header, body[start : start + body_len]))
        offset = start + body_len
    return records


def test_series_stream_sends_every_slice_once_the_asked_one_first(case, cast):
    ingest_many(
        case=case, by=None, files=[(f"{i}", io.BytesIO(d)) for i, d in enumerate(series_bytes(6))]
    )
    series = Series.objects.get()
    url = reverse("series-stream", kwargs={"case_id": case.uuid, "series_id": series.uuid})
    response = signed_in(cast.surgeon).get(url, {"first": 3})
    assert response.status_code == 200
    assert response["X-Slice-Count"] == "6"
    records = read_stream(b"".join(response.streaming_content))
    assert [p for p, _, _ in records] == [3, 4, 2, 5, 1, 0]
    manifest = (
        signed_in(cast.surgeon)
        .get(reverse("series-manifest", kwargs={"case_id": case.uuid, "series_id": series.uuid}))
        .json()
    )
    for position, header, body in records:
        expected = manifest["instances"][manifest["slices"][position]["instance"]]["uuid"]
        assert header["instance"] == expected
        assert len(body) == header["rows"] * header["columns"] * 2


def test_manifest_lists_slices_in_space_order(case, cast):
    ingest_many(
        case=case, by=None, files=[(f"{i}", io.BytesIO(d)) for i, d in enumerate(series_bytes(5))]
    )
    series = Series.objects.get()
    manifest = (
        signed_in(cast.surgeon)
        .get(reverse("series-manifest", kwargs={"case_id": case.uuid, "series_id": series.uuid}))
        .json()
    )
    positions = [i["slice_position"] for i in manifest["instances"]]
    assert positions == sorted(positions)
    assert manifest["pseudonym"] == case.pseudonym
    assert len(manifest["slices"]) == 5


def test_manifest_query_count_does_not_grow_with_slices(case, cast, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ingest_many(case=case, by=None, files=[("a", io.BytesIO(d)) for d in series_bytes(2)])
    series = Series.objects.get()
    url = reverse("series-manifest", kwargs={"case_id": case.uuid, "series_id": series.uuid})
    client = signed_in(cast.surgeon)
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    data = series_bytes(30)
    ingest_many(case=case, by=None, files=[("b", io.BytesIO(d)) for d in data])
    big = Series.objects.order_by("-instance_count").first()
    url = reverse("series-manifest", kwargs={"case_id": case.uuid, "series_id": big.uuid})
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(url).json()["slices"].__len__() == 30


def test_rendered_frame_applies_the_window(case, cast):
    values = np.array([[1024 - 160, 1024 + 40], [1024 + 240, 1024 + 1000]], dtype=np.uint16)
    instance = store(case, ct_bytes(rows=2, columns=2, values=values))
    url = reverse(
        "frame-rendered", kwargs={"case_id": case.uuid, "instance_id": instance.uuid, "frame": 0}
    )
    response = signed_in(cast.radiologist).get(url, {"wc": 40, "ww": 400})
    assert response["Content-Type"] == "image/png"
    image = np.asarray(Image.open(io.BytesIO(response.content)))
    # HU -160 is the bottom of the window, 40 the middle, 240 the top, 1000 above it
    # (PS3.3 C.11.2.1.2: the middle of a 400 HU window centred on 40 is 39.5).
    assert image.tolist() == [[0, 128], [255, 255]]


def test_monochrome1_renders_inverted(case, cast):
    ds = ct_dataset(rows=1, columns=2, values=np.array([[0, 4095]], dtype=np.uint16))
    ds.PhotometricInterpretation = "MONOCHROME1"
    ds.RescaleIntercept = 0
    instance = store(case, to_bytes(ds))
    png = pixels.render(instance, 0, center=2048, width=4096)
    assert np.asarray(Image.open(io.BytesIO(png))).tolist() == [[255, 0]]


def test_rendered_refuses_bad_parameters(case, cast):
    instance = store(case, ct_bytes())
    url = reverse(
        "frame-rendered", kwargs={"case_id": case.uuid, "instance_id": instance.uuid, "frame": 0}
    )
    client = signed_in(cast.radiologist)
    assert client.get(url, {"wc": "abc"}).status_code == 400
    assert client.get(url, {"ww": "-5"}).status_code == 400
    assert client.get(url, {"size": "100000"}).status_code == 400


def test_frame_cache_is_bounded(case):
    cache = pixels.FrameCache(max_bytes=1000)
    for i in range(10):
        cache.put((1, i), np.zeros(200, dtype=np.uint8))
    assert cache.used <= 1000
    assert cache.get((1, 0)) is None
    assert cache.get((1, 9)) is not None


def test_outward_order():
    assert pixels.outward(0, 4) == [0, 1, 2, 3]
    assert pixels.outward(3, 4) == [3, 2, 1, 0]
    assert pixels.outward(2, 5) == [2, 3, 1, 4, 0]
    assert pixels.outward(99, 3) == [2, 1, 0]


def test_native_frames_are_read_straight_from_the_file_and_match_the_decoder(cast):
    from pathlib import Path

    import pydicom
    from pydicom.data import get_testdata_files
    from pydicom.pixels import pixel_array

    from tests.cases.factories import make_case

    native = 0
    for path in get_testdata_files():
        if not Path(path).is_file():
            continue
        # A case each: several test files share their UIDs.
        result = ingest_file(case=make_case(cast), by=None, data=Path(path).read_bytes(), name=path)
        if result.status != "stored":
            continue
        instance = result.instance
        with instance.file.open("rb") as fh:
            decoded = pixel_array(pydicom.dcmread(fh), index=instance.frames - 1)
        pixels.cache().clear()
        got = pixels.frame(instance, instance.frames - 1)
        if instance.pixel_offset is not None:
            native += 1
        assert np.array_equal(got, decoded.astype(got.dtype)), path
    assert native >= 20  # the fast path was exercised


def test_compressed_frames_go_through_the_decoder(case):
    from pathlib import Path

    from pydicom.data import get_testdata_file

    data = Path(get_testdata_file("JPEG2000.dcm")).read_bytes()
    instance = ingest_file(case=case, by=None, data=data, name="j2k").instance
    assert instance.pixel_offset is None
    assert pixels.frame(instance, 0).shape == (instance.rows, instance.columns)


def test_pixel_offset_from_the_file_end_agrees_with_a_parse():
    import io

    import pydicom

    from imaging import geometry
    from tests.imaging.dicom import ct_dataset

    for trailing in (False, True):
        ds = ct_dataset(rows=5, columns=3)  # 30 bytes of pixels
        if trailing:
            ds.add_new(0xFFFCFFFC, "OB", b"\0\0")  # dataset trailing padding after the pixels
        out = io.BytesIO()
        pydicom.dcmwrite(out, ds, enforce_file_format=True)
        stored = out.getvalue()
        parsed = pydicom.dcmread(io.BytesIO(stored), defer_size=16).get_item("PixelData")
        assert (geometry._tail_offset(stored, ds) is None) is trailing
        assert geometry.native_pixel_offset(stored, ds) == parsed.file_tell

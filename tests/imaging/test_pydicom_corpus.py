"""Every file in pydicom's shipped test data: decodable images are stored and rendered,
the rest are refused or skipped with a reason, and none gives a 500."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from django.test import Client
from django.urls import reverse
from pydicom.data import get_testdata_files

from tests.cases.factories import make_case
from tests.helpers import complete_sign_in

pytestmark = pytest.mark.django_db

# Only files present in the wheel: get_testdata_files never downloads.
FILES = sorted(p for p in get_testdata_files() if Path(p).is_file())


def reference_decodes(path: str) -> bool:
    """Does pydicom itself read this file without force and decode its first frame?"""
    from pydicom.pixels import pixel_array

    try:
        ds = pydicom.dcmread(path, force=False)
        if "PixelData" not in ds or "DirectoryRecordSequence" in ds:
            return False
        if not all(ds.get(k) for k in ("SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")):
            return False
        pixel_array(ds, index=0)
        return True
    except Exception:
        return False


def test_the_corpus_is_there():
    assert len(FILES) > 50


@pytest.mark.parametrize("path", FILES, ids=[Path(p).name for p in FILES])
def test_pydicom_test_file(cast, path):
    case = make_case(cast)
    client = Client()
    complete_sign_in(client, cast.referrer)
    with open(path, "rb") as fh:
        response = client.post(
            reverse("imaging-upload", kwargs={"case_id": case.uuid}),
            {"files": [fh]},
            headers={"Accept": "application/json"},
        )
    assert response.status_code in (200, 400)
    (result,) = response.json()["results"]
    if reference_decodes(path):
        assert result["status"] == "stored", result
        rendered = client.get(
            reverse(
                "frame-rendered",
                kwargs={"case_id": case.uuid, "instance_id": result["instance"], "frame": 0},
            )
        )
        assert rendered.status_code == 200
        assert rendered.content.startswith(b"\x89PNG")
    else:
        assert result["status"] in ("refused", "skipped", "stored"), result
        if result["status"] != "stored":
            assert result["reason"]

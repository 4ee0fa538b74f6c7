"""STOW-RS accepts the long multipart boundaries real clients send, and only bchars.

Orthanc's STOW-RS client joins two UUIDs with a hyphen (73 characters), over RFC 2046's 70.
"""

from __future__ import annotations

import uuid

import pytest

from imaging.models import Instance
from imaging.multipart import BOUNDARY_MAX_CHARS, boundary_valid
from tests.helpers import signed_in
from tests.imaging.dicom import ct_dataset, to_bytes

ORTHANC_BOUNDARY = f"{uuid.uuid4()}-{uuid.uuid4()}"


def test_orthancs_boundary_is_73_characters():
    assert len(ORTHANC_BOUNDARY) == 73


@pytest.mark.parametrize(
    "boundary",
    ["b", "consilium-test-boundary", ORTHANC_BOUNDARY, "a'()+_,-./:=? z", "x" * BOUNDARY_MAX_CHARS],
)
def test_bchars_up_to_the_bound_are_valid(boundary):
    assert boundary_valid(boundary)


@pytest.mark.parametrize(
    "boundary",
    ["", "x" * (BOUNDARY_MAX_CHARS + 1), "ends-with-space ", "semi;colon", 'quote"', "é", "a\r\nb"],
    ids=["empty", "too-long", "trailing-space", "semicolon", "quote", "non-ascii", "crlf"],
)
def test_other_boundaries_are_invalid(boundary):
    assert not boundary_valid(boundary)


@pytest.mark.django_db
def test_stow_with_a_73_character_boundary_stores_the_instance(cast, case):
    body = (
        f"--{ORTHANC_BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode()
        + to_bytes(ct_dataset())
        + f"\r\n--{ORTHANC_BOUNDARY}--\r\n".encode()
    )
    response = signed_in(cast.chair).post(
        f"/dicomweb/cases/{case.uuid}/studies",
        body,
        content_type=f'multipart/related; type="application/dicom"; boundary={ORTHANC_BOUNDARY}',
    )
    assert response.status_code == 200, response.content
    assert Instance.objects.count() == 1


@pytest.mark.django_db
def test_stow_with_an_overlong_boundary_is_400(cast, case):
    boundary = "x" * (BOUNDARY_MAX_CHARS + 1)
    response = signed_in(cast.chair).post(
        f"/dicomweb/cases/{case.uuid}/studies",
        f"--{boundary}\r\n\r\nx\r\n--{boundary}--\r\n".encode(),
        content_type=f'multipart/related; type="application/dicom"; boundary={boundary}',
    )
    assert response.status_code == 400
    assert response.json() == {"error": "The Content-Type has no valid boundary."}

"""In real Chromium: the referrer downloads the FHIR export from the case page; a radiologist
follows a launch link from another system into the viewer."""

from __future__ import annotations

import contextlib
import json

import pytest
from fhir.resources.R4B.bundle import Bundle
from pydicom.uid import generate_uid

from imaging.ingest import ingest_file
from tests.decisions.test_fhir_export import concluded
from tests.e2e.browser import shot, sign_in
from tests.imaging.dicom import ct_dataset, to_bytes

pytestmark = pytest.mark.browser


def run_now(**kwargs):
    # Transactional tests commit as they go: what waits for the commit has run already.
    return contextlib.nullcontext()


def test_the_referrer_downloads_the_fhir_bundle(cast, daphne_server, new_context, tmp_path):
    base = daphne_server.url
    case, report = concluded(cast, run_now)
    assert report is not None and report.is_ready
    page = sign_in(new_context(accept_downloads=True), base, "referrer")
    page.goto(f"{base}/cases/{case.uuid}/")
    button = page.locator("#fhir-export")
    button.scroll_into_view_if_needed()
    shot(page, "fhir-export-button.png")
    with page.expect_download() as download:
        button.click()
    path = tmp_path / "bundle.json"
    download.value.save_as(path)
    bundle = Bundle.model_validate_json(path.read_bytes())
    kinds = sorted({e["resource"]["resourceType"] for e in json.loads(path.read_text())["entry"]})
    assert kinds == ["CarePlan", "Condition", "DocumentReference", "Observation", "Patient"]
    assert bundle.type == "collection"
    assert download.value.suggested_filename.endswith(".fhir.json")


def test_a_launch_link_opens_the_viewer_at_the_study(cast, daphne_server, new_context):
    from tests.cases.factories import make_case

    base = daphne_server.url
    case = make_case(cast)
    original, series = generate_uid(), generate_uid()
    for i in range(3):
        ds = ct_dataset(study_uid=original, series_uid=series, z=-2.5 * i, number=i + 1)
        assert ingest_file(case=case, by=cast.referrer, data=to_bytes(ds), name=f"{i}.dcm").ok
    page = sign_in(new_context(), base, "radiologist")
    page.goto(f"{base}/viewer/launch?studyUID={original}")
    page.wait_for_url(f"{base}/cases/{case.uuid}/viewer/?series=*")
    page.locator("canvas").first.wait_for()
    shot(page, "viewer-launch.png")
    outsider = sign_in(new_context(), base, "outsider")
    response = outsider.goto(f"{base}/viewer/launch?studyUID={original}")
    assert response.status == 404

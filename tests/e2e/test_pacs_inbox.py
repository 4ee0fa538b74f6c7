"""The coordinator finds a study received from a PACS in the board's inbox and attaches it
to its case, in real Chromium."""

import pydicom
import pytest

from imaging.inbox import dicom_store
from imaging.models import InboxStudy, Study
from tests.cases.factories import make_case
from tests.e2e.browser import shot, sign_in
from tests.imaging.dicom import PATIENT, ct_bytes

pytestmark = pytest.mark.browser


def test_the_coordinator_attaches_a_received_study_to_its_case(cast, daphne_server, new_context):
    base = daphne_server.url
    case = make_case(cast)
    study_uid = pydicom.uid.generate_uid()
    for i in range(3):
        data = ct_bytes(study_uid=study_uid, z=float(i), number=i)
        assert dicom_store(board=cast.board, calling_ae_title="HOSP_PACS", data=data).status == 0

    page = sign_in(new_context(), base, "coordinator")
    page.goto(f"{base}/boards/{cast.board.uuid}/")
    page.get_by_role("link", name="PACS inbox").click()
    row = page.locator("table.inbox-table tbody tr")
    assert row.count() == 1
    assert PATIENT in row.inner_text() and "CT THIGH" in row.inner_text()
    shot(page, "pacs-inbox.png")
    row.get_by_placeholder("Case code").fill(case.pseudonym)
    row.get_by_role("button", name="Attach").click()
    page.get_by_text(f"3 file(s) attached to case {case.pseudonym}.").wait_for()
    assert page.get_by_text("The inbox is empty.").is_visible()
    assert not InboxStudy.objects.exists()
    assert Study.objects.filter(case=case).count() == 1

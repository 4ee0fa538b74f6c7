"""Opening the viewer at a study from another system: /viewer/launch?studyUID=... or
?accessionNumber=..."""

from __future__ import annotations

import pytest
from pydicom.uid import generate_uid

from cases.access import get_case_for_user
from cases.models import AuditEvent
from imaging.models import Study
from imaging.services import study_remove
from tests.cases.factories import make_case
from tests.helpers import signed_in
from tests.imaging.dicom import ct_dataset
from tests.imaging.test_dicomweb import Imaging, ingest

pytestmark = pytest.mark.django_db

LAUNCH = "/viewer/launch"


@pytest.fixture
def imaging(case, cast):
    return Imaging(case, cast.referrer)


def lands_on(response, case, imaging) -> None:
    study = Study.objects.get(study_instance_uid=imaging.study)
    first = study.series.order_by("series_number", "created_at").first()
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.uuid}/viewer/?series={first.uuid}"


def test_the_stored_study_uid_opens_the_viewer_at_the_study(cast, case, imaging):
    response = signed_in(cast.radiologist).get(LAUNCH, {"studyUID": imaging.study})
    lands_on(response, case, imaging)
    event = AuditEvent.objects.get(action="imaging.launch")
    assert event.outcome == AuditEvent.Outcome.ALLOWED and event.case == case
    assert event.detail == {"by": ["studyUID"]}


def test_the_hospitals_own_study_uid_finds_the_de_identified_study(cast, case, imaging):
    assert imaging.original_study != imaging.study  # the board de-identifies imaging
    response = signed_in(cast.referrer).get(LAUNCH, {"studyUID": imaging.original_study})
    lands_on(response, case, imaging)


def test_an_accession_number_opens_a_study_kept_with_identifiers(cast):
    cast.board.deidentify_imaging = False
    cast.board.save(update_fields=["deidentify_imaging"])
    case = make_case(cast)
    ds = ct_dataset(study_uid=generate_uid())
    ds.AccessionNumber = "ACC20310314"
    instance = ingest(case, ds, cast.referrer)
    study = instance.series.study
    assert study.accession_number == "ACC20310314"
    response = signed_in(cast.chair).get(LAUNCH, {"accessionNumber": "ACC20310314"})
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.uuid}/viewer/?series={instance.series.uuid}"


def test_an_outsider_gets_404_and_the_refusal_is_audited(cast, case, imaging):
    for user in (cast.outsider, cast.other_member):
        response = signed_in(user).get(LAUNCH, {"studyUID": imaging.study})
        assert response.status_code == 404
    refused = AuditEvent.objects.filter(action="imaging.launch", outcome=AuditEvent.Outcome.DENIED)
    assert refused.count() == 2
    # The identifier asked for is not written down, only which parameter was used.
    assert all(e.detail == {"by": ["studyUID"]} for e in refused)
    assert imaging.study not in str([e.detail for e in refused])


def test_a_removed_study_is_404(cast, case, imaging):
    study = Study.objects.get(study_instance_uid=imaging.study)
    study_remove(
        access=get_case_for_user(cast.chair, case.uuid), study=study, reason="Another patient"
    )
    response = signed_in(cast.chair).get(LAUNCH, {"studyUID": imaging.study})
    assert response.status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"studyUID": ""},
        {"studyUID": "1.2.3"},
        {"accessionNumber": "NOPE"},
        {"studyUID": "1" * 65},
    ],
    ids=["nothing", "empty", "unknown-uid", "unknown-accession", "too-long"],
)
def test_what_names_no_visible_study_is_404(cast, case, imaging, query):
    assert signed_in(cast.chair).get(LAUNCH, query).status_code == 404


def test_signed_out_is_sent_to_sign_in(client, imaging):
    response = client.get(LAUNCH, {"studyUID": imaging.study})
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_post_is_405(cast, imaging):
    assert signed_in(cast.chair).post(LAUNCH, {"studyUID": imaging.study}).status_code == 405


def test_a_study_in_two_cases_lets_the_reader_choose(cast, case, imaging):
    second = make_case(cast)
    for ds in imaging.datasets[:1]:
        ingest(second, ds, cast.referrer)  # the same hospital study, referred again
    response = signed_in(cast.chair).get(LAUNCH, {"studyUID": imaging.original_study})
    assert response.status_code == 200
    html = response.content.decode()
    assert f"/cases/{case.uuid}/viewer/" in html and f"/cases/{second.uuid}/viewer/" in html
    assert case.pseudonym in html and second.pseudonym in html
    assert (
        AuditEvent.objects.filter(
            action="imaging.launch", outcome=AuditEvent.Outcome.ALLOWED
        ).count()
        == 2
    )

"""Removing a wrong study (issue #16): who may, and every surface that must then leave it
out: case page, viewer, series and frame URLs, thumbnails, annotations, key images,
DICOMweb QIDO and WADO, the report and the completeness checklist."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from pydicom.uid import generate_uid

from cases import checklist
from cases.access import case_access
from cases.models import AuditEvent, Case
from decisions.report_data import _report_key_images, _report_studies
from imaging import services
from imaging.models import Annotation, Instance, KeyImage, Series, Study
from imaging.views import viewer_config
from tests.helpers import signed_in
from tests.imaging.dicom import ct_dataset
from tests.imaging.test_dicomweb import Imaging, ingest, read_paths, root

pytestmark = pytest.mark.django_db

S = Case.Status


@pytest.fixture
def imaging(case, cast):
    return Imaging(case, cast.referrer)


def remove(user, case, study, reason="Another patient's CT"):
    url = reverse("study-remove", kwargs={"case_id": case.uuid, "study_id": study.uuid})
    return signed_in(user).post(url, {"reason": reason})


MATRIX = [
    (S.SUBMITTED, "referrer", 302),
    (S.IN_REVIEW, "referrer", 403),
    (S.IN_REVIEW, "pathologist", 403),
    (S.SUBMITTED, "pathologist", 403),
    (S.IN_REVIEW, "coordinator", 302),
    (S.DISCUSSED, "chair", 302),
    (S.IN_REVIEW, "outsider", 404),
]


@pytest.mark.parametrize(("status", "who", "expected"), MATRIX)
def test_who_may_remove_a_study(cast, case, imaging, status, who, expected):
    Case.objects.filter(pk=case.pk).update(status=status)
    study = Study.objects.get(case=case)
    assert remove(getattr(cast, who), case, study).status_code == expected
    study = Study.all_objects.get(pk=study.pk)
    assert (study.removed_at is not None) == (expected == 302)


def test_study_removal_is_audited_and_needs_a_reason(cast, case, imaging):
    study = Study.objects.get(case=case)
    remove(cast.chair, case, study, reason="")
    assert Study.objects.filter(pk=study.pk).exists()
    remove(cast.chair, case, study, reason="Duplicate of the March MRI")
    study = Study.all_objects.get(pk=study.pk)
    assert study.removed_by == cast.chair
    event = AuditEvent.objects.get(action="study.remove")
    assert event.actor == cast.chair
    assert event.object_id == str(study.uuid)
    assert event.detail["reason"] == "Duplicate of the March MRI"
    # The files stay for the audit trail.
    instance = Instance.all_objects.filter(series__study=study).first()
    assert instance.file.storage.exists(instance.file.name)


def body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def urls_of(case, imaging) -> list[str]:
    series = Series.objects.get(series_instance_uid=imaging.series)
    instance = imaging.instances[0]
    at = {"case_id": case.uuid}
    return [
        reverse("series-manifest", kwargs={**at, "series_id": series.uuid}),
        reverse("series-stream", kwargs={**at, "series_id": series.uuid}),
        reverse("series-thumbnail", kwargs={**at, "series_id": series.uuid}),
        reverse("frame-raw", kwargs={**at, "instance_id": instance.uuid, "frame": 0}),
        reverse("frame-rendered", kwargs={**at, "instance_id": instance.uuid, "frame": 0}),
    ]


def test_removed_study_is_gone_from_every_surface(cast, case, imaging):
    """One walk: each surface is checked before the removal (so the test can fail) and
    after it."""
    study = Study.objects.get(case=case)
    instance = imaging.instances[0]
    Annotation.objects.create(
        case=case, instance=instance, kind="probe", points=[[1, 1]], author=cast.radiologist
    )
    key = KeyImage.objects.create(
        case=case, instance=instance, author=cast.radiologist, released_with_report=True
    )
    urls = urls_of(case, imaging)
    key_png = reverse("key-image-png", kwargs={"case_id": case.uuid, "key_image_id": key.uuid})
    page = reverse("case-detail", kwargs={"case_id": case.uuid})
    annotations = reverse("annotation-list", kwargs={"case_id": case.uuid})
    key_images = reverse("key-image-list", kwargs={"case_id": case.uuid})
    member = signed_in(cast.radiologist)
    access = case_access(cast.radiologist, case)
    series_uuid = str(Series.objects.get(series_instance_uid=imaging.series).uuid)

    def surfaces() -> dict[str, bool]:
        """Whether the study shows on each surface."""
        shown = {}
        for url in [*urls, key_png]:
            response = member.get(url)
            shown[url] = response.status_code == 200 and bool(body(response))
        shown["case page"] = series_uuid in member.get(page).content.decode()
        shown["viewer"] = series_uuid in {s["uuid"] for s in viewer_config(access)["series"]}
        shown["annotations"] = bool(member.get(annotations).json()["annotations"])
        shown["key images"] = bool(member.get(key_images).json()["key_images"])
        for path in read_paths(imaging):
            response = member.get(root(case) + path)
            if path in ("studies", "series", "instances"):  # QIDO: an empty list
                shown[path] = response.status_code == 200 and bool(response.json())
            else:  # WADO and the study-level searches: the study is not found
                shown[path] = response.status_code == 200 and bool(body(response))
        now = timezone.now()
        shown["report studies"] = bool(_report_studies(case, now))
        shown["report key images"] = bool(_report_key_images(case, now, panel=True))
        shown["checklist"] = checklist.Facts.of(case).has_study
        return shown

    before = surfaces()
    assert all(before.values()), [k for k, v in before.items() if not v]
    services.study_remove(access=case_access(cast.chair, case), study=study, reason="Wrong")
    after = surfaces()
    assert not any(after.values()), [k for k, v in after.items() if v]


def test_a_removed_study_can_be_uploaded_again(cast, case, imaging):
    study = Study.objects.get(case=case)
    services.study_remove(access=case_access(cast.chair, case), study=study, reason="Mistake")
    again = ingest(case, imaging.datasets[0], cast.referrer)
    assert again.series.study.pk != study.pk
    assert list(case.studies.all()) == [again.series.study]


def test_another_instance_of_a_stored_study_is_still_a_duplicate(cast, case, imaging):
    """What imaging deduplicates already: the same SOP Instance UID in a case is stored once."""
    from imaging.ingest import ingest_file
    from tests.imaging.dicom import to_bytes

    result = ingest_file(
        case=case, by=cast.referrer, data=to_bytes(imaging.datasets[0]), name="again.dcm"
    )
    assert result.status == "duplicate"
    fresh = ct_dataset(study_uid=generate_uid())
    assert ingest_file(case=case, by=cast.referrer, data=to_bytes(fresh), name="n.dcm").ok


def test_managers_see_the_removed_study_listed(cast, case, imaging):
    study = Study.objects.get(case=case)
    remove(cast.coordinator, case, study, reason="Another patient's CT")
    page = reverse("case-detail", kwargs={"case_id": case.uuid})
    html = signed_in(cast.chair).get(page).content.decode()
    assert "Another patient&#x27;s CT" in html
    assert f"Removed by {cast.coordinator.display_name} on" in html
    assert "Another patient" not in signed_in(cast.pathologist).get(page).content.decode()


def test_remove_control_shown_to_who_may_remove(cast, case, imaging):
    study = Study.objects.get(case=case)
    action = reverse("study-remove", kwargs={"case_id": case.uuid, "study_id": study.uuid})
    page = reverse("case-detail", kwargs={"case_id": case.uuid})
    assert action in signed_in(cast.chair).get(page).content.decode()
    assert action not in signed_in(cast.pathologist).get(page).content.decode()
    assert action not in signed_in(cast.referrer).get(page).content.decode()  # in review


def test_housekeeping_keeps_the_files_of_a_removed_study(cast, case, imaging):
    from imaging.storage import sweep_unindexed_files

    study = Study.objects.get(case=case)
    services.study_remove(access=case_access(cast.chair, case), study=study, reason="Wrong")
    swept = sweep_unindexed_files(older_than_minutes=0, delete=False)
    kept = set(Instance.all_objects.filter(series__study=study).values_list("file", flat=True))
    assert kept
    assert not kept & set(swept)

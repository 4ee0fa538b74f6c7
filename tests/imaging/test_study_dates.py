"""Imaging dates shown to the board: shifted and labelled for panelists, real for those who
may see the patient's identity, and the interval between studies for all (PS3.15 Retain
Longitudinal Temporal Information with Modified Dates Option)."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils.formats import date_format

from imaging.ingest import ingest_file
from imaging.models import Series, Study
from tests.helpers import signed_in
from tests.imaging.dicom import ct_dataset, to_bytes

pytestmark = pytest.mark.django_db

FIRST, LATER = datetime.date(2024, 1, 15), datetime.date(2024, 2, 26)  # 42 days apart


def add_study(case, day: datetime.date, description: str):
    ds = ct_dataset()
    ds.StudyDate = day.strftime("%Y%m%d")
    ds.StudyDescription = description
    result = ingest_file(case=case, by=None, data=to_bytes(ds), name="x.dcm")
    assert result.status == "stored", result.reason
    return Study.objects.get(description=description)


@pytest.fixture
def studies(case):
    return add_study(case, FIRST, "CT THORAX"), add_study(case, LATER, "MRT Oberschenkel")


def shown(day: datetime.date) -> str:
    return date_format(day, "j M Y")


def page(user, case) -> str:
    response = signed_in(user).get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    assert response.status_code == 200
    return response.content.decode()


def test_stored_dates_are_shifted_by_the_same_days(studies):
    first, later = studies
    assert first.study_date != FIRST
    assert (later.study_date - first.study_date).days == 42


def test_a_panelist_sees_shifted_dates_labelled_and_the_interval(cast, case, studies):
    first, later = studies
    html = page(cast.radiologist, case)
    assert shown(first.study_date) in html
    assert shown(later.study_date) in html
    assert "shifted date" in html
    assert "+42 days" in html
    assert "first study" in html
    for real in (FIRST, LATER):
        assert shown(real) not in html
        assert real.isoformat() not in html


@pytest.mark.parametrize("who", ["referrer", "chair", "coordinator"])
def test_identity_readers_see_the_real_dates(cast, case, studies, who):
    html = page(getattr(cast, who), case)
    assert shown(FIRST) in html
    assert shown(LATER) in html
    assert "+42 days" in html
    assert "real date" in html
    assert "shifted date" not in html


def test_the_viewer_manifest_gives_each_reader_their_date(cast, case, studies):
    _first, later = studies
    series = Series.objects.get(study=later)
    url = reverse("series-manifest", kwargs={"case_id": case.uuid, "series_id": series.uuid})
    panel = signed_in(cast.radiologist).get(url).json()
    assert panel["study_date"] == later.study_date.isoformat()
    assert panel["study_date_shifted"] is True
    assert panel["study_date_label"] == f"{shown(later.study_date)} (shifted date) · +42 days"
    assert LATER.isoformat() not in signed_in(cast.radiologist).get(url).content.decode()
    chair = signed_in(cast.chair).get(url).json()
    assert chair["study_date"] == LATER.isoformat()
    assert chair["study_date_label"] == f"{shown(LATER)} (real date) · +42 days"


def test_a_board_without_deidentification_shows_the_real_date_unlabelled(cast, case):
    cast.board.deidentify_imaging = False
    cast.board.save()
    case.board.refresh_from_db()
    add_study(case, FIRST, "CT THORAX")
    html = page(cast.radiologist, case)
    assert shown(FIRST) in html
    assert "shifted date" not in html
    assert "real date" not in html  # nothing was shifted: nothing to tell apart


def test_the_viewer_series_list_labels_dates_per_reader(cast, case, studies):
    from cases.access import get_case_for_user
    from imaging.views import viewer_config

    panel = viewer_config(get_case_for_user(cast.radiologist, case.uuid))
    dates = [item["date"] for item in panel["series"]]
    assert len(dates) == 2
    assert all("(shifted date)" in label for label in dates)
    assert LATER.isoformat() not in str(panel) and shown(LATER) not in str(panel)
    chair = viewer_config(get_case_for_user(cast.chair, case.uuid))
    assert sorted(item["date"] for item in chair["series"]) == sorted(
        [f"{shown(FIRST)} (real date) · first study", f"{shown(LATER)} (real date) · +42 days"]
    )

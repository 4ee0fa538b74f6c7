"""The viewer's overlay and series list show each reader the imaging date they may see: a
panelist the shifted date, labelled, with the interval; the chair the real date."""

from __future__ import annotations

import pytest

from imaging import phantom
from imaging.models import Study
from tests.e2e.browser import shot
from tests.e2e.test_viewer import open_viewer, phantom_case  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


def day(date) -> str:
    return f"{date.day} {date:%b %Y}"


def overlay(page) -> str:
    return page.locator(".vp-tl").first.inner_text()


def test_panelist_sees_the_shifted_date_labelled_and_the_chair_the_real_one(
    phantom_case,  # noqa: F811
    daphne_server,
    new_context,
):
    study = Study.objects.get(case=phantom_case)
    real, shifted = day(phantom.ACQUIRED_AT), day(study.study_date)
    assert real != shifted

    page = open_viewer(new_context, daphne_server, phantom_case)
    text = overlay(page)
    assert f"{shifted} (shifted date) · first study" in text, text
    assert real not in text
    assert "(shifted date)" in page.locator(".series-item").first.inner_text()
    shot(page, "viewer-shifted-date.png")

    page = open_viewer(new_context, daphne_server, phantom_case, username="chair")
    text = overlay(page)
    assert f"{real} (real date) · first study" in text, text
    assert "shifted date" not in text
    shot(page, "viewer-real-date.png")

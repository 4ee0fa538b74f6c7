"""An upload with nothing in it says so, with or without JavaScript."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.cases.factories import make_case
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["imaging-upload", "attachment-upload"])
def test_nothing_chosen_is_refused_in_words_for_the_page_script(cast, name):
    case = make_case(cast, status="submitted")
    url = reverse(name, kwargs={"case_id": case.uuid})
    response = signed_in(cast.referrer).post(url, {}, headers={"Accept": "application/json"})
    assert response.status_code == 400
    [result] = response.json()["results"]
    assert result["ok"] is False
    assert result["reason"] == "No file was chosen."


@pytest.mark.parametrize("name", ["imaging-upload", "attachment-upload"])
def test_nothing_chosen_is_said_on_the_case_page_without_javascript(cast, name):
    case = make_case(cast, status="submitted")
    url = reverse(name, kwargs={"case_id": case.uuid})
    response = signed_in(cast.referrer).post(url, {}, follow=True)
    html = response.content.decode()
    assert response.status_code == 200
    assert "No file was chosen." in html
    assert ": No file was chosen." not in html  # no empty file name in front

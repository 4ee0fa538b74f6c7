"""Branded error pages, the favicon, quiet routine refusals, and what `make run` serves with."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.exceptions import BadRequest
from django.template import loader
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views import defaults

from tests.helpers import signed_in

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_404_is_the_sites_own_page_for_a_signed_in_clinician(cast):
    response = signed_in(cast.pathologist).get("/no/such/page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "Nothing to show here" in html
    assert "not shared with you" in html
    assert 'class="site-header"' in html and "favicon.svg" in html
    assert "URLconf" not in html


@pytest.mark.django_db
def test_403_is_the_sites_own_page(cast):
    url = reverse("board-settings", kwargs={"board_id": cast.board.uuid})
    response = signed_in(cast.pathologist).get(url)
    html = response.content.decode()
    assert response.status_code == 403
    assert "You may not do this" in html
    assert "board.manage" not in html  # the action code is for the log, not for people


def test_500_renders_without_a_request_or_a_database():
    # Django renders 500.html with no context at all (django.views.defaults.server_error).
    html = loader.get_template("500.html").render()
    assert "Something went wrong on our side" in html
    assert "consilium.css" in html and "favicon.svg" in html
    response = defaults.server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


def test_400_is_the_sites_own_page():
    response = defaults.bad_request(RequestFactory().get("/"), BadRequest("bad"))
    assert response.status_code == 400
    assert "This request could not be read" in response.content.decode()


@pytest.mark.django_db
def test_favicon_is_served_to_anyone():
    client = Client()
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("favicon.svg")
    icon = client.get(response["Location"])
    assert icon.status_code == 200
    assert b"<svg" in b"".join(icon.streaming_content)


@pytest.mark.django_db
def test_a_routine_403_is_one_log_line_without_a_traceback(cast, caplog):
    url = reverse("board-settings", kwargs={"board_id": cast.board.uuid})
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert signed_in(cast.pathologist).get(url).status_code == 403
    refusals = [r for r in caplog.records if r.name == "django.request" and r.status_code == 403]
    assert len(refusals) == 1
    assert refusals[0].getMessage().startswith("Forbidden (Permission denied):")
    assert refusals[0].exc_info is None
    assert "Traceback" not in caplog.text


def test_a_server_error_keeps_its_traceback(caplog):
    from board.errors import RoutineRefusalFilter

    try:
        raise ValueError("boom")
    except ValueError as exc:
        record = logging.LogRecord(
            "django.request", logging.ERROR, __file__, 1, "Internal Server Error", (), None
        )
        record.exc_info = (type(exc), exc, exc.__traceback__)
        record.status_code = 500
    assert RoutineRefusalFilter().filter(record)
    assert record.exc_info is not None


def make_run(*args: str, **env: str) -> str:
    if not shutil.which("make"):
        pytest.skip("make is not installed")
    result = subprocess.run(
        ["make", "-n", "run", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), **env},
    )
    return next(line for line in result.stdout.splitlines() if "board.serve" in line)


def test_make_run_serves_without_debug_pages_and_links_to_where_it_listens():
    line = make_run("HOST=10.1.2.3", "PORT=8123")
    assert re.search(r"\bDEBUG=0\b", line)
    assert "BASE_URL=http://10.1.2.3:8123 " in line
    assert "-b 10.1.2.3 -p 8123" in line


def test_make_run_debug_and_base_url_stay_the_callers_choice():
    line = make_run("DEBUG=1", BASE_URL="https://board.example")
    assert re.search(r"\bDEBUG=1\b", line)
    assert "BASE_URL=https://board.example " in line

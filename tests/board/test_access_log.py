"""The access log keeps paths and how much was asked for, never who was searched for."""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
import uuid

import pytest

from board.logredact import RedactQueryFilter, redact_uri
from tests.e2e.browser import start_daphne

CANARY_NAME = "Quexlington^Zarvinia"
CANARY_ID = "QZ-88412-CANARY"


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback)
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.django_db(transaction=True)
def test_daphnes_access_log_redacts_identifying_query_values(tmp_path):
    server = start_daphne(tmp_path)
    try:
        case = uuid.uuid4()
        query = f"PatientName={CANARY_NAME}&PatientID={CANARY_ID}&limit=5&offset=10"
        search = f"/dicomweb/cases/{case}/studies?{query}"
        assert get(server.url + search) == 401  # refused, and logged all the same
        assert get(f"{server.url}/cases/?q={CANARY_NAME}") in (200, 302)
        line = ""
        for _ in range(50):  # Daphne writes the line once the response is finished
            log = server.log.read_text()
            access = [row for row in log.splitlines() if '"GET /' in row]
            line = next((row for row in access if f"/dicomweb/cases/{case}" in row), "")
            if line and "/cases/?q=" in log:
                break
            time.sleep(0.1)
    finally:
        server.stop()
    assert f"/dicomweb/cases/{case}/studies?PatientName=[redacted]&PatientID=[redacted]" in line
    assert "limit=5&offset=10" in line
    assert '" 401 ' in line
    assert CANARY_NAME not in log and CANARY_ID not in log
    assert "Quexlington" not in log
    assert "/cases/?q=[redacted]" in log


@pytest.mark.parametrize(
    ("uri", "logged"),
    [
        ("/cases/", "/cases/"),
        ("/s?PatientBirthDate=19500101", "/s?PatientBirthDate=[redacted]"),
        ("/s?00100010=DOE", "/s?00100010=[redacted]"),
        (
            "/s?AccessionNumber=A1&StudyDescription=x",
            "/s?AccessionNumber=[redacted]&StudyDescription=[redacted]",
        ),
        ("/s?LIMIT=3&includefield=PatientName", "/s?LIMIT=3&includefield=PatientName"),
        ("/s?DOE%5EJOHN", "/s?[redacted]"),
        ("/s?ReferringPhysicianName", "/s?ReferringPhysicianName"),
        ("/f?first=12&wc=40&ww=400", "/f?first=12&wc=40&ww=400"),
    ],
)
def test_only_allowed_parameters_keep_their_values(uri, logged):
    assert redact_uri(uri) == logged


def test_log_records_quoting_a_url_lose_the_query_values():
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        (f"GET /cases/?q={CANARY_NAME}&page=2 HTTP/1.1", 200, 512),
        None,
    )
    assert RedactQueryFilter().filter(record)
    assert record.getMessage() == '"GET /cases/?q=[redacted]&page=2 HTTP/1.1" 200 512'

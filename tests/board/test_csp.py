"""Every page carries a Content-Security-Policy, and no template needs it loosened."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from tests.cases.factories import make_case
from tests.helpers import signed_in
from tests.meetings.factories import make_meeting

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def policy(response) -> dict[str, list[str]]:
    header = response.get("Content-Security-Policy")
    assert header, f"{response.request['PATH_INFO']} sends no Content-Security-Policy"
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def pages(cast) -> list[str]:
    case = make_case(cast)
    meeting = make_meeting(cast)
    return [
        reverse("home"),
        reverse("account"),
        reverse("board-detail", kwargs={"board_id": cast.board.uuid}),
        reverse("case-detail", kwargs={"case_id": case.uuid}),
        reverse("case-viewer", kwargs={"case_id": case.uuid}),
        reverse("meeting-live", kwargs={"meeting_id": meeting.uuid}),
    ]


@pytest.mark.django_db
def test_every_page_sends_a_strict_policy(cast):
    client = signed_in(cast.chair)
    for url in pages(cast):
        response = client.get(url)
        assert response.status_code == 200, url
        rules = policy(response)
        assert rules["object-src"] == ["'none'"]
        assert rules["frame-ancestors"] == ["'none'"]
        assert rules["base-uri"] == ["'none'"]
        assert "'unsafe-inline'" not in rules["script-src"]
        assert "'unsafe-eval'" not in rules["script-src"]
        assert "'unsafe-inline'" not in rules["style-src"]
        # The page's own origin and the socket's, nothing else.
        assert rules["connect-src"] == ["'self'", "ws://127.0.0.1:8000"]


@pytest.mark.django_db
def test_the_sign_in_page_and_the_admin_send_it_too(cast, admin_client, client):
    assert policy(client.get(reverse("login")))["object-src"] == ["'none'"]
    assert policy(admin_client.get(reverse("admin:index")))["object-src"] == ["'none'"]
    users = reverse("admin:board_user_changelist")
    assert policy(admin_client.get(users))["frame-ancestors"] == ["'none'"]


@pytest.mark.django_db
def test_refusals_send_it_too(cast):
    response = signed_in(cast.outsider).get(
        reverse("case-detail", kwargs={"case_id": uuid.UUID(int=0)})
    )
    assert response.status_code == 404
    assert policy(response)["default-src"] == ["'self'"]


def test_the_socket_origin_follows_base_url():
    from board.settings import _socket_origin

    assert _socket_origin("https://board.example.org/") == "wss://board.example.org"
    assert _socket_origin("http://127.0.0.1:8000") == "ws://127.0.0.1:8000"


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/(?:ld\+)?json)[^>]*>", re.I)
HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.I)


def test_no_template_has_an_inline_script_handler_or_style_without_a_nonce():
    offenders = []
    # The report is rendered to PDF by WeasyPrint, never served as a page.
    for path in sorted(TEMPLATES.rglob("*.html")):
        if path.parts[-3:-1] == ("decisions", "report"):
            continue
        text = path.read_text()
        for pattern in (INLINE_SCRIPT, HANDLER, STYLE_ATTRIBUTE):
            for match in pattern.finditer(text):
                if "csp_nonce" not in match.group(0):
                    offenders.append(f"{path.relative_to(TEMPLATES)}: {match.group(0)}")
    assert offenders == []

"""A new email address counts only once the link sent to it is opened by the same user."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail, signing
from django.test import Client
from django.urls import reverse

from board.second_factor import VERIFIED_AT_SESSION_KEY
from board.services import EMAIL_CHANGE_SALT
from tests.cast import PASSWORD
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db

NEW = "new.address@hospital.example"


@pytest.fixture
def pathologist(cast):
    cast.pathologist.email = "old.address@hospital.example"
    cast.pathologist.save()
    return cast.pathologist


def ask(client, email=NEW, password=PASSWORD):
    return client.post(reverse("email-change"), {"email-email": email, "email-password": password})


def link_in(message) -> str:
    return re.search(r"http://\S+/account/email/confirm/(\S+)/", message.body).group(0)


def path_of(link: str) -> str:
    return urlsplit(link).path


def test_the_profile_form_no_longer_changes_the_address(pathologist):
    client = signed_in(pathologist)
    client.post(
        reverse("account"),
        {
            "first_name": "P",
            "last_name": "T",
            "email": "hijack@elsewhere.example",
            "institution": "",
            "specialty": "pathology",
            "time_zone": "UTC",
        },
    )
    pathologist.refresh_from_db()
    assert pathologist.email == "old.address@hospital.example"


def test_asking_keeps_the_old_address_and_mails_both(
    pathologist, django_capture_on_commit_callbacks
):
    client = signed_in(pathologist)
    with django_capture_on_commit_callbacks(execute=True):
        response = ask(client)
    assert response.status_code == 302
    pathologist.refresh_from_db()
    assert pathologist.email == "old.address@hospital.example"
    assert pathologist.pending_email == NEW
    by_address = {m.to[0]: m for m in mail.outbox}
    assert set(by_address) == {NEW, "old.address@hospital.example"}
    assert "/account/email/confirm/" in by_address[NEW].body
    # The old address is told, but gets no link that would confirm the change.
    assert "/account/email/confirm/" not in by_address["old.address@hospital.example"].body
    assert NEW in client.get(reverse("account")).content.decode()  # shown as pending


def test_opening_the_link_changes_the_address_once(pathologist, django_capture_on_commit_callbacks):
    client = signed_in(pathologist)
    with django_capture_on_commit_callbacks(execute=True):
        ask(client)
    path = path_of(link_in(next(m for m in mail.outbox if m.to == [NEW])))
    assert client.get(path).status_code == 200  # a page with a button, nothing changed yet
    pathologist.refresh_from_db()
    assert pathologist.email == "old.address@hospital.example"
    assert client.post(path).status_code == 302
    pathologist.refresh_from_db()
    assert (pathologist.email, pathologist.pending_email) == (NEW, "")
    again = client.post(path)
    assert again.status_code == 400
    assert "already used" in again.content.decode()


def test_another_signed_in_user_cannot_confirm(
    cast, pathologist, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ask(signed_in(pathologist))
    path = path_of(link_in(next(m for m in mail.outbox if m.to == [NEW])))
    response = signed_in(cast.outsider).post(path)
    assert response.status_code == 400
    cast.outsider.refresh_from_db()
    pathologist.refresh_from_db()
    assert cast.outsider.email != NEW and pathologist.email != NEW


def test_signed_out_the_link_asks_to_sign_in(pathologist, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ask(signed_in(pathologist))
    path = path_of(link_in(next(m for m in mail.outbox if m.to == [NEW])))
    response = Client().post(path)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    pathologist.refresh_from_db()
    assert pathologist.email != NEW


def test_a_newer_request_voids_the_older_link(pathologist, django_capture_on_commit_callbacks):
    client = signed_in(pathologist)
    with django_capture_on_commit_callbacks(execute=True):
        ask(client)
        ask(client, email="third@hospital.example")
    old_path = path_of(link_in(next(m for m in mail.outbox if m.to == [NEW])))
    assert client.post(old_path).status_code == 400
    pathologist.refresh_from_db()
    assert pathologist.email == "old.address@hospital.example"


def test_an_expired_link_changes_nothing(pathologist, settings, django_capture_on_commit_callbacks):
    client = signed_in(pathologist)
    with django_capture_on_commit_callbacks(execute=True):
        ask(client)
    code = signing.dumps({"u": str(pathologist.uuid), "e": NEW}, salt=EMAIL_CHANGE_SALT)
    settings.EMAIL_CHANGE_LINK_HOURS = 0  # every link is now older than its lifetime
    response = client.post(reverse("email-change-confirm", kwargs={"code": code}))
    assert response.status_code == 400
    assert "expired" in response.content.decode()
    pathologist.refresh_from_db()
    assert pathologist.email == "old.address@hospital.example"


def test_a_forged_link_changes_nothing(pathologist):
    client = signed_in(pathologist)
    ask(client)
    forged = signing.dumps({"u": str(pathologist.uuid), "e": NEW}, salt="something else")
    assert client.post(reverse("email-change-confirm", kwargs={"code": forged})).status_code == 400
    pathologist.refresh_from_db()
    assert pathologist.email == "old.address@hospital.example"


def test_asking_needs_the_current_password(pathologist):
    response = ask(signed_in(pathologist), password="wrong")
    assert response.status_code == 400
    pathologist.refresh_from_db()
    assert pathologist.pending_email == ""
    assert mail.outbox == []


def test_asking_needs_post_and_csrf(pathologist):
    assert signed_in(pathologist).get(reverse("email-change")).status_code == 405
    response = ask(signed_in(pathologist, enforce_csrf_checks=True))
    assert response.status_code == 403
    pathologist.refresh_from_db()
    assert pathologist.pending_email == ""


def test_confirming_needs_csrf(pathologist, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ask(signed_in(pathologist))
    path = path_of(link_in(next(m for m in mail.outbox if m.to == [NEW])))
    assert signed_in(pathologist, enforce_csrf_checks=True).post(path).status_code == 403
    assert signed_in(pathologist).delete(path).status_code == 405
    pathologist.refresh_from_db()
    assert pathologist.email != NEW


def test_asking_needs_a_login(pathologist):
    response = ask(Client())
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    pathologist.refresh_from_db()
    assert pathologist.pending_email == ""


def test_asking_needs_a_second_factor_passed_recently(pathologist):
    client = signed_in(pathologist)
    session = client.session
    session[VERIFIED_AT_SESSION_KEY] -= 6 * 60  # signed in six minutes ago
    session.save()
    response = ask(client)
    assert response.status_code == 302
    assert response.url.startswith(reverse("second-factor-verify"))
    pathologist.refresh_from_db()
    assert pathologist.pending_email == ""
    assert mail.outbox == []

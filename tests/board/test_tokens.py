"""Personal API tokens: made once, stored as a hash, revocable, and only their owner's."""

from __future__ import annotations

import datetime
import hashlib
import re

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from board.models import ApiToken
from board.tokens import token_create, token_revoke, user_for_bearer
from tests.cases.factories import make_case
from tests.cast import PASSWORD
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(cast):
    return make_case(cast)


def dicomweb_status(case, token: str) -> int:
    url = f"/dicomweb/cases/{case.uuid}/studies"
    return Client().get(url, HTTP_AUTHORIZATION=f"Bearer {token}").status_code


# --- the service -------------------------------------------------------------------------------


def test_a_token_is_kept_as_its_hash_only(cast):
    api_token, token = token_create(user=cast.radiologist, name="  Workstation  ")
    assert re.fullmatch(r"csl_[A-Za-z0-9_-]{43}", token)
    api_token.refresh_from_db()
    assert api_token.key_hash == hashlib.sha256(token.encode()).hexdigest()
    assert api_token.prefix == token[:8]
    assert api_token.name == "Workstation"
    stored = [
        str(v)
        for v in ApiToken.objects.values_list(*[f.attname for f in ApiToken._meta.fields]).get()
    ]
    assert token not in stored


def test_two_tokens_differ(cast):
    assert token_create(user=cast.chair, name="a")[1] != token_create(user=cast.chair, name="b")[1]


def test_bearer_resolves_the_owner(cast):
    _, token = token_create(user=cast.radiologist, name="x")
    assert user_for_bearer(f"Bearer {token}") == cast.radiologist
    assert user_for_bearer(f"bearer   {token}") == cast.radiologist


@pytest.mark.parametrize(
    "header",
    ["", None, "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer csl_not-a-token", "Token csl_x"],
)
def test_anything_else_resolves_nobody(cast, header):
    token_create(user=cast.radiologist, name="x")
    assert user_for_bearer(header) is None


def test_a_revoked_token_resolves_nobody(cast):
    api_token, token = token_create(user=cast.radiologist, name="x")
    token_revoke(token=api_token)
    assert api_token.revoked_at is not None
    assert user_for_bearer(f"Bearer {token}") is None


def test_revoking_twice_keeps_the_first_time(cast):
    api_token, _ = token_create(user=cast.radiologist, name="x")
    token_revoke(token=api_token)
    first = api_token.revoked_at
    token_revoke(token=api_token)
    assert api_token.revoked_at == first


def test_an_inactive_users_token_resolves_nobody(cast):
    _, token = token_create(user=cast.radiologist, name="x")
    cast.radiologist.is_active = False
    cast.radiologist.save()
    assert user_for_bearer(f"Bearer {token}") is None


def test_last_used_is_written_at_most_once_a_minute(cast, django_assert_num_queries):
    api_token, token = token_create(user=cast.radiologist, name="x")
    assert api_token.last_used_at is None
    with django_assert_num_queries(2):  # the lookup and the first write
        user_for_bearer(f"Bearer {token}")
    api_token.refresh_from_db()
    first = api_token.last_used_at
    assert first is not None
    with django_assert_num_queries(1):  # the lookup only
        user_for_bearer(f"Bearer {token}")
    earlier = timezone.now() - datetime.timedelta(minutes=2)
    ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=earlier)
    user_for_bearer(f"Bearer {token}")
    api_token.refresh_from_db()
    assert api_token.last_used_at > earlier


# --- the account page ----------------------------------------------------------------------


def test_account_lists_own_active_tokens_only(cast):
    token_create(user=cast.radiologist, name="Viewer at home")
    revoked, _ = token_create(user=cast.radiologist, name="Old laptop")
    token_revoke(token=revoked)
    token_create(user=cast.chair, name="Chair's PACS")
    html = signed_in(cast.radiologist).get(reverse("account")).content.decode()
    assert "Viewer at home" in html
    assert "Old laptop" not in html
    assert "Chair&#x27;s PACS" not in html and "Chair's PACS" not in html


def test_creating_a_token_shows_it_once(cast, case):
    client = signed_in(cast.radiologist)
    response = client.post(
        reverse("api-token-create"),
        {"token-name": "Slicer", "token-scope": "imaging_read", "token-password": PASSWORD},
    )
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    token = re.search(r"<code data-new-token>(csl_[^<]+)</code>", html).group(1)
    api_token = ApiToken.objects.get(user=cast.radiologist)
    assert api_token.name == "Slicer"
    assert api_token.prefix == token[:8]
    # Never again: not on the next page, not anywhere in the database.
    assert token not in client.get(reverse("account")).content.decode()
    assert dicomweb_status(case, token) == 200


def test_a_token_needs_a_name(cast):
    response = signed_in(cast.radiologist).post(
        reverse("api-token-create"),
        {"token-name": " ", "token-scope": "imaging_read", "token-password": PASSWORD},
    )
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_creating_needs_post_and_csrf(cast):
    assert signed_in(cast.radiologist).get(reverse("api-token-create")).status_code == 405
    client = signed_in(cast.radiologist, enforce_csrf_checks=True)
    form = {"token-name": "x", "token-scope": "imaging_read", "token-password": PASSWORD}
    assert client.post(reverse("api-token-create"), form).status_code == 403
    assert not ApiToken.objects.exists()


def test_creating_needs_a_login(cast):
    response = Client().post(reverse("api-token-create"), {"token-name": "x"})
    assert response.status_code == 302
    assert not ApiToken.objects.exists()


def test_revoking_stops_the_token(cast, case):
    api_token, token = token_create(user=cast.radiologist, name="x")
    assert dicomweb_status(case, token) == 200
    url = reverse("api-token-revoke", kwargs={"token_id": api_token.uuid})
    response = signed_in(cast.radiologist).post(url)
    assert response.status_code == 302
    assert dicomweb_status(case, token) == 401


def test_another_users_token_cannot_be_revoked(cast, case):
    api_token, token = token_create(user=cast.chair, name="x")
    url = reverse("api-token-revoke", kwargs={"token_id": api_token.uuid})
    assert signed_in(cast.radiologist).post(url).status_code == 404
    api_token.refresh_from_db()
    assert api_token.revoked_at is None
    assert dicomweb_status(case, token) == 200


def test_revoking_needs_post(cast):
    api_token, _ = token_create(user=cast.radiologist, name="x")
    url = reverse("api-token-revoke", kwargs={"token_id": api_token.uuid})
    assert signed_in(cast.radiologist).get(url).status_code == 405


# --- the command -----------------------------------------------------------------------------


def test_the_command_prints_a_working_token(cast, case, capsys):
    call_command("create_api_token", "radiologist", "--name", "PACS bridge")
    token = capsys.readouterr().out.strip()
    assert ApiToken.objects.get().name == "PACS bridge"
    assert dicomweb_status(case, token) == 200


def test_the_command_refuses_unknown_and_inactive_users(cast):
    with pytest.raises(CommandError, match="No user"):
        call_command("create_api_token", "nobody")
    cast.radiologist.is_active = False
    cast.radiologist.save()
    with pytest.raises(CommandError, match="inactive"):
        call_command("create_api_token", "radiologist")
    assert not ApiToken.objects.exists()


# --- the admin ---------------------------------------------------------------------------------


def test_the_admin_shows_the_hash_read_only_and_makes_no_tokens(admin_client, cast):
    api_token, _ = token_create(user=cast.radiologist, name="x")
    url = reverse("admin:board_apitoken_change", args=[api_token.pk])
    html = admin_client.get(url).content.decode()
    assert api_token.key_hash in html
    assert 'name="key_hash"' not in html
    assert admin_client.get(reverse("admin:board_apitoken_add")).status_code == 403

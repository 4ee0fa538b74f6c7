"""API tokens end: they expire, have a scope, need the password to be made, leave an audit
trail, and die with their owner's account."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import IntegrityError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from board.models import ApiToken
from board.second_factor import VERIFIED_AT_SESSION_KEY
from board.tokens import token_create, token_for_bearer, token_revoke
from cases.models import AuditEvent
from tests.cases.factories import make_case
from tests.cast import PASSWORD
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(cast):
    return make_case(cast)


def get_studies(case, token: str, ip: str = "127.0.0.1"):
    url = f"/dicomweb/cases/{case.uuid}/studies"
    return Client(REMOTE_ADDR=ip).get(url, HTTP_AUTHORIZATION=f"Bearer {token}")


def post_studies(case, token: str):
    url = f"/dicomweb/cases/{case.uuid}/studies"
    return Client().post(
        url,
        b"--b\r\nContent-Type: application/dicom\r\n\r\nnot dicom\r\n--b--\r\n",
        content_type='multipart/related; type="application/dicom"; boundary=b',
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def create_form(**overrides) -> dict[str, str]:
    form = {"token-name": "Slicer", "token-scope": "imaging_read", "token-password": PASSWORD}
    form.update(overrides)
    return form


# --- expiry ------------------------------------------------------------------------------


def test_a_new_token_expires_after_the_configured_days(cast, settings):
    settings.API_TOKEN_DAYS = 5
    api_token, _ = token_create(user=cast.radiologist, name="x")
    expected = timezone.now() + datetime.timedelta(days=5)
    assert abs((api_token.expires_at - expected).total_seconds()) < 60


def test_the_default_lifetime_is_ninety_days():
    from board.settings import API_TOKEN_DAYS

    assert API_TOKEN_DAYS == 90


def test_an_expired_token_is_refused_like_a_wrong_one(cast, case):
    api_token, token = token_create(user=cast.radiologist, name="x")
    assert get_studies(case, token).status_code == 200
    ApiToken.objects.filter(pk=api_token.pk).update(expires_at=timezone.now())
    expired = get_studies(case, token)
    wrong = get_studies(case, "csl_" + "x" * 43)
    assert expired.status_code == wrong.status_code == 401
    assert expired["WWW-Authenticate"] == wrong["WWW-Authenticate"]


def test_expired_tokens_leave_the_account_page(cast):
    api_token, _ = token_create(user=cast.radiologist, name="Old viewer")
    ApiToken.objects.filter(pk=api_token.pk).update(expires_at=timezone.now())
    html = signed_in(cast.radiologist).get(reverse("account")).content.decode()
    assert "Old viewer" not in html


# --- scope -------------------------------------------------------------------------------


def test_a_read_only_token_may_not_store(cast, case):
    _, token = token_create(user=cast.radiologist, name="x", scope=ApiToken.Scope.IMAGING_READ)
    response = post_studies(case, token)
    assert response.status_code == 403
    refusal = AuditEvent.objects.filter(action="dicomweb.store", outcome="denied").get()
    assert refusal.detail == {"scope": "imaging_read"}
    assert get_studies(case, token).status_code == 200  # reading is what it is for


def test_an_upload_token_reaches_the_store(cast, case):
    _, token = token_create(user=cast.radiologist, name="x", scope=ApiToken.Scope.IMAGING_UPLOAD)
    response = post_studies(case, token)
    # Past the scope check: the store itself answers (this body holds no valid DICOM).
    assert response.status_code != 403
    assert response.status_code in (200, 202, 400, 409)


def test_a_read_only_token_still_gets_404_on_a_case_it_cannot_open(cast, case):
    _, token = token_create(user=cast.outsider, name="x")
    assert post_studies(case, token).status_code == 404


def test_the_scope_is_a_closed_list_in_the_database(cast):
    api_token, _ = token_create(user=cast.radiologist, name="x")
    with pytest.raises(IntegrityError):
        ApiToken.objects.filter(pk=api_token.pk).update(scope="everything")


def test_new_tokens_are_read_only_unless_asked(cast):
    api_token, _ = token_create(user=cast.radiologist, name="x")
    assert api_token.scope == ApiToken.Scope.IMAGING_READ


# --- creation on the account page ------------------------------------------------------------


def test_creation_needs_the_current_password(cast):
    client = signed_in(cast.radiologist)
    response = client.post(reverse("api-token-create"), create_form(**{"token-password": "no"}))
    assert response.status_code == 400
    assert "This is not your current password." in response.content.decode()
    response = client.post(reverse("api-token-create"), create_form(**{"token-password": ""}))
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_another_users_password_does_not_do(cast):
    cast.chair.set_password("chair-only-password-9!")
    cast.chair.save()
    client = signed_in(cast.radiologist)
    form = create_form(**{"token-password": "chair-only-password-9!"})
    assert client.post(reverse("api-token-create"), form).status_code == 400
    assert not ApiToken.objects.exists()


def test_the_password_is_checked_through_the_authentication_backends(cast, monkeypatch):
    # A throttling backend (django-axes) sees the attempt only through authenticate().
    seen = []
    import board.reauth

    real = board.reauth.authenticate

    def spy(request=None, **credentials):
        seen.append((request, credentials["username"]))
        return real(request=request, **credentials)

    monkeypatch.setattr(board.reauth, "authenticate", spy)
    signed_in(cast.radiologist).post(reverse("api-token-create"), create_form())
    assert len(seen) == 1
    assert seen[0][0] is not None and seen[0][1] == "radiologist"


def test_the_chosen_scope_is_kept(cast):
    client = signed_in(cast.radiologist)
    form = create_form(**{"token-scope": "imaging_upload"})
    assert client.post(reverse("api-token-create"), form).status_code == 201
    assert ApiToken.objects.get().scope == ApiToken.Scope.IMAGING_UPLOAD


def test_an_unknown_scope_is_refused(cast):
    client = signed_in(cast.radiologist)
    form = create_form(**{"token-scope": "admin"})
    assert client.post(reverse("api-token-create"), form).status_code == 400
    assert not ApiToken.objects.exists()


def test_the_account_page_shows_scope_expiry_and_last_use(cast, case):
    api_token, token = token_create(
        user=cast.radiologist, name="PACS", scope=ApiToken.Scope.IMAGING_UPLOAD
    )
    html = signed_in(cast.radiologist).get(reverse("account")).content.decode()
    assert "Read and upload images" in html
    assert "never" in html
    assert str(api_token.expires_at.year) in html
    get_studies(case, token, ip="192.0.2.7")
    html = signed_in(cast.radiologist).get(reverse("account")).content.decode()
    assert "from 192.0.2.7" in html
    assert "never" not in html


# --- audit -----------------------------------------------------------------------------------


def test_creation_is_audited(cast):
    client = signed_in(cast.radiologist)
    client.post(reverse("api-token-create"), create_form())
    api_token = ApiToken.objects.get()
    event = AuditEvent.objects.get(action="api_token.create")
    assert event.actor == cast.radiologist
    assert event.object_id == str(api_token.uuid)
    assert event.detail["scope"] == "imaging_read"


def test_use_from_a_new_address_is_audited_once_per_change(cast, case):
    _, token = token_create(user=cast.radiologist, name="x")
    get_studies(case, token, ip="192.0.2.1")
    get_studies(case, token, ip="192.0.2.1")
    get_studies(case, token, ip="198.51.100.9")
    events = AuditEvent.objects.filter(action="api_token.new_address").order_by("pk")
    assert [(e.detail["ip"], e.detail["previous_ip"]) for e in events] == [
        ("192.0.2.1", None),
        ("198.51.100.9", "192.0.2.1"),
    ]
    api_token = ApiToken.objects.get()
    assert api_token.last_used_ip == "198.51.100.9"


def test_revocation_is_audited_once(cast):
    api_token, _ = token_create(user=cast.radiologist, name="x")
    client = signed_in(cast.radiologist)
    url = reverse("api-token-revoke", kwargs={"token_id": api_token.uuid})
    client.post(url)
    client.post(url)
    event = AuditEvent.objects.get(action="api_token.revoke")
    assert event.actor == cast.radiologist
    assert event.detail == {"reason": "owner"}


# --- the account ends --------------------------------------------------------------------------


def test_deactivation_revokes_every_token_for_good(cast, case):
    first, token = token_create(user=cast.radiologist, name="a")
    second, _ = token_create(user=cast.radiologist, name="b")
    cast.radiologist.is_active = False
    cast.radiologist.save()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.revoked_at is not None and second.revoked_at is not None
    revocations = AuditEvent.objects.filter(action="api_token.revoke")
    assert {e.detail["reason"] for e in revocations} == {"deactivated"}
    assert revocations.count() == 2
    # Reactivating the account does not bring the tokens back.
    cast.radiologist.is_active = True
    cast.radiologist.save()
    assert token_for_bearer(f"Bearer {token}") is None
    assert get_studies(case, token).status_code == 401


def test_a_revoked_token_is_refused_like_a_wrong_one(cast, case):
    api_token, token = token_create(user=cast.radiologist, name="x")
    token_revoke(token=api_token)
    response = get_studies(case, token)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert re.search(r"Bearer", response["WWW-Authenticate"])


# --- step-up -----------------------------------------------------------------------------


def test_making_a_token_needs_a_second_factor_passed_recently(cast):
    client = signed_in(cast.pathologist)
    session = client.session
    session[VERIFIED_AT_SESSION_KEY] -= 6 * 60  # signed in six minutes ago
    session.save()
    response = client.post(reverse("api-token-create"), create_form())
    assert response.status_code == 302
    assert response.url.startswith(reverse("second-factor-verify"))
    assert not ApiToken.objects.filter(user=cast.pathologist).exists()

"""The second factor: enrolment, verification, throttling, recovery codes, step-up, the admin
site and the administrator's reset."""

from __future__ import annotations

import base64
import datetime
import re
import time

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django_otp.admin import OTPAdminSite
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from board.second_factor import (
    VERIFIED_AT_SESSION_KEY,
    second_factor_recovery_codes_create,
    second_factor_required,
)
from cases.models import AuditEvent
from tests.cases.factories import invite, make_case
from tests.helpers import complete_sign_in, signed_in, totp_code, totp_device

VERIFY = reverse("second-factor-verify")
ENROL = reverse("second-factor-enrol")
HOME = reverse("home")


def password_only(user) -> Client:
    """A session that has passed the password and nothing else."""
    client = Client()
    client.force_login(user)
    return client


def verify(client: Client, code: str):
    return client.post(VERIFY, {"code": code, "next": HOME})


# --- who must enrol ---------------------------------------------------------------------------


def test_members_chairs_coordinators_experts_and_staff_must_enrol(cast, admin_user):
    case = make_case(cast)
    invite(cast, case)
    for user in (cast.chair, cast.coordinator, cast.pathologist, cast.expert, admin_user):
        user.refresh_from_db()
        assert second_factor_required(user), user.username
    for user in (cast.referrer, cast.patient, cast.outsider):
        assert not second_factor_required(user), user.username


def test_a_setting_requires_it_of_referrers_and_patients_too(cast, settings):
    settings.SECOND_FACTOR_REQUIRED_FOR = frozenset(
        {"staff", "members", "experts", "referrers", "patients"}
    )
    assert second_factor_required(cast.referrer)
    assert second_factor_required(cast.patient)


def test_a_required_user_without_a_factor_can_do_nothing_but_enrol(cast):
    client = password_only(cast.chair)
    for url in (HOME, reverse("account"), reverse("board-detail", args=[cast.board.uuid])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(ENROL + "?next=")
    # The verify page has nothing to verify with: it sends them to enrolment too.
    assert client.get(VERIFY)["Location"].startswith(ENROL)


def test_enrolment_shows_a_qr_code_then_recovery_codes_once(cast):
    client = password_only(cast.chair)
    page = client.get(ENROL)
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html
    secret = re.search(r"data-totp-secret>([A-Z2-7 ]+)<", html).group(1).replace(" ", "")
    device = TOTPDevice.objects.get(user=cast.chair, confirmed=False)
    # The key on the page is the device's key, so the phone makes the codes the server expects.
    assert base64.b32decode(secret) == device.bin_key
    # Reloading keeps the same secret (the phone may already hold it).
    assert secret in client.get(ENROL).content.decode().replace(" ", "")
    wrong = client.post(ENROL, {"code": "000000", "next": HOME})
    assert "does not match" in wrong.content.decode()
    _cool_off_ends(device)  # a wrong code locks the device for a second
    done = client.post(ENROL, {"code": totp_code(device), "next": HOME})
    assert done.status_code == 200
    codes = re.findall(r"data-recovery-code>([a-z0-9]+)<", done.content.decode())
    assert len(codes) == 10
    device.refresh_from_db()
    assert device.confirmed
    assert StaticToken.objects.filter(device__user=cast.chair).count() == 10
    assert client.get(HOME).status_code == 200
    assert AuditEvent.objects.filter(action="auth.second_factor.totp_enrolled").count() == 1


def test_a_referrer_is_offered_it_and_once_enrolled_must_use_it(cast):
    client = password_only(cast.referrer)
    assert client.get(HOME).status_code == 200
    assert client.get(ENROL).status_code == 200  # offered
    totp_device(cast.referrer)
    assert password_only(cast.referrer).get(HOME)["Location"].startswith(VERIFY)


def test_second_factor_disabled_lets_a_password_session_through(cast, settings):
    settings.SECOND_FACTOR_DISABLED = True
    totp_device(cast.chair)
    assert password_only(cast.chair).get(HOME).status_code == 200


# --- verification -----------------------------------------------------------------------------


def test_an_enrolled_user_cannot_add_a_factor_with_the_password_alone(cast):
    totp_device(cast.chair)
    client = password_only(cast.chair)
    assert client.get(ENROL)["Location"] == VERIFY
    assert client.post(ENROL, {"code": "123456"})["Location"] == VERIFY
    assert TOTPDevice.objects.filter(user=cast.chair).count() == 1


@pytest.mark.parametrize(("user", "steps"), [("pathologist", -1), ("radiologist", 1)])
def test_totp_with_one_step_of_clock_drift_passes(cast, user, steps):
    user = getattr(cast, user)
    device = totp_device(user)
    client = password_only(user)
    assert verify(client, totp_code(device, steps=steps))["Location"] == HOME
    assert client.get(HOME).status_code == 200


@pytest.mark.parametrize("steps", [-3, 3])
def test_totp_further_off_fails(cast, steps):
    device = totp_device(cast.chair)
    client = password_only(cast.chair)
    assert verify(client, totp_code(device, steps=steps)).status_code == 200  # the form again
    assert client.get(HOME)["Location"].startswith(VERIFY)


def test_a_reused_totp_code_fails(cast):
    device = totp_device(cast.chair)
    code = totp_code(device)
    first = password_only(cast.chair)
    assert verify(first, code)["Location"] == HOME
    second = password_only(cast.chair)
    response = verify(second, code)
    assert response.status_code == 200
    assert "not accepted" in response.content.decode()
    assert second.get(HOME)["Location"].startswith(VERIFY)


def test_recovery_codes_are_single_use(cast):
    totp_device(cast.chair)
    codes = second_factor_recovery_codes_create(user=cast.chair)
    first = password_only(cast.chair)
    assert verify(first, codes[0])["Location"] == HOME
    assert first.get(HOME).status_code == 200
    second = password_only(cast.chair)
    assert verify(second, codes[0]).status_code == 200
    assert second.get(HOME)["Location"].startswith(VERIFY)
    _cool_off_ends(StaticDevice.objects.get(user=cast.chair))
    assert verify(second, codes[1])["Location"] == HOME
    assert StaticToken.objects.filter(device__user=cast.chair).count() == 8


def test_new_recovery_codes_end_the_old_ones(cast):
    totp_device(cast.chair)
    old = second_factor_recovery_codes_create(user=cast.chair)
    second_factor_recovery_codes_create(user=cast.chair)
    assert verify(password_only(cast.chair), old[0]).status_code == 200
    assert StaticDevice.objects.filter(user=cast.chair).count() == 1


def _cool_off_ends(device) -> None:
    """Move the last failure back past its delay, as if the cool-off had been waited out."""
    device.refresh_from_db()
    delay = 2 ** (device.throttling_failure_count - 1)
    device.throttling_failure_timestamp -= datetime.timedelta(seconds=delay + 1)
    device.save(update_fields=["throttling_failure_timestamp"])


def test_brute_force_against_the_code_is_throttled(cast):
    device = totp_device(cast.chair)
    client = password_only(cast.chair)
    right = totp_code(device)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for attempt in range(5):
        if attempt:
            _cool_off_ends(device)  # each guess waits out the delay the one before set
        assert verify(client, wrong).status_code == 200
    device.refresh_from_db()
    assert device.throttling_failure_count == 5
    # The right code during the cool-off (16 s after the fifth failure) does not pass.
    assert verify(client, right).status_code == 200
    assert client.get(HOME)["Location"].startswith(VERIFY)
    failures = AuditEvent.objects.filter(action="auth.second_factor.failed", outcome="denied")
    assert failures.count() == 6
    _cool_off_ends(device)
    assert verify(client, right)["Location"] == HOME
    device.refresh_from_db()
    assert device.throttling_failure_count == 0


def test_brute_force_against_recovery_codes_is_throttled(cast):
    totp_device(cast.chair)
    codes = second_factor_recovery_codes_create(user=cast.chair)
    client = password_only(cast.chair)
    for guess in ("aaaaaaa", "bbbbbbb", "ccccccc"):
        assert verify(client, guess).status_code == 200
        _cool_off_ends(StaticDevice.objects.get(user=cast.chair))
    assert verify(client, "ddddddd").status_code == 200
    assert StaticDevice.objects.get(user=cast.chair).throttling_failure_count == 4
    assert verify(client, codes[0]).status_code == 200
    _cool_off_ends(StaticDevice.objects.get(user=cast.chair))
    assert verify(client, codes[0])["Location"] == HOME


def test_verify_only_redirects_to_this_site(cast):
    device = totp_device(cast.chair)
    client = password_only(cast.chair)
    response = client.post(VERIFY, {"code": totp_code(device), "next": "https://evil.example/"})
    assert response["Location"] == HOME


# --- step-up ------------------------------------------------------------------------------------


def _age_verification(client: Client, minutes: int) -> None:
    session = client.session
    session[VERIFIED_AT_SESSION_KEY] = int(time.time()) - minutes * 60
    session.save()


def test_managing_factors_needs_a_recent_second_factor(cast):
    client = signed_in(cast.chair)
    manage = reverse("second-factor-manage")
    assert client.get(manage).status_code == 200
    _age_verification(client, 6)
    response = client.get(manage)
    assert response["Location"] == f"{VERIFY}?next=%2Faccount%2Fsecond-factor%2F"
    # Other pages stay open: the sign-in itself still holds.
    assert client.get(HOME).status_code == 200
    response = client.post(reverse("second-factor-recovery-codes"))
    assert response["Location"].startswith(VERIFY)
    assert not StaticDevice.objects.filter(user=cast.chair).exists()
    code = totp_code(totp_device(cast.chair))
    assert client.post(VERIFY, {"code": code, "next": manage})["Location"] == manage
    assert client.get(manage).status_code == 200
    codes = client.post(reverse("second-factor-recovery-codes"))
    assert codes.status_code == 200
    assert StaticToken.objects.filter(device__user=cast.chair).count() == 10


def test_moving_the_app_to_a_new_phone_needs_a_recent_second_factor(cast):
    client = signed_in(cast.chair)
    _age_verification(client, 6)
    assert client.get(ENROL)["Location"].startswith(VERIFY)
    client = signed_in(cast.chair)
    assert client.get(ENROL).status_code == 200


def test_removing_a_passkey_needs_a_recent_second_factor(cast):
    passkey = WebAuthnCredential.objects.create(
        user=cast.chair, name="Key", confirmed=True, credential_id=b"x" * 16, public_key=b"k"
    )
    client = signed_in(cast.chair)
    _age_verification(client, 6)
    url = reverse("second-factor-passkey-remove", args=[passkey.pk])
    assert client.post(url)["Location"].startswith(VERIFY)
    assert WebAuthnCredential.objects.filter(pk=passkey.pk).exists()
    other = signed_in(cast.pathologist)
    assert other.post(url).status_code == 302  # someone else's passkey: nothing happens
    assert WebAuthnCredential.objects.filter(pk=passkey.pk).exists()
    assert signed_in(cast.chair).post(url)["Location"] == reverse("second-factor-manage")
    assert not WebAuthnCredential.objects.filter(pk=passkey.pk).exists()


def test_registering_a_passkey_needs_a_recent_second_factor(cast):
    client = signed_in(cast.chair)
    _age_verification(client, 6)
    begin = reverse("otp_webauthn:credential-registration-begin")
    response = client.post(begin, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "step_up_required"
    fresh = signed_in(cast.chair).post(begin, content_type="application/json")
    assert fresh.status_code == 200
    assert fresh.json()["rp"]["id"] == "testserver"


# --- the admin ------------------------------------------------------------------------------------


def test_the_admin_site_requires_the_second_factor(admin_user, settings):
    assert isinstance(admin.site, OTPAdminSite)
    totp_device(admin_user)
    assert password_only(admin_user).get("/admin/")["Location"].startswith(VERIFY)
    # Even without the middleware, the OTP admin site shows no page to an unverified staff.
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "SecondFactor" not in m]
    response = password_only(admin_user).get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert signed_in(admin_user).get("/admin/").status_code == 200


def test_an_admin_resets_a_users_factors_and_it_is_audited(cast, admin_client, admin_user):
    totp_device(cast.chair)
    second_factor_recovery_codes_create(user=cast.chair)
    response = admin_client.post(
        reverse("admin:board_user_changelist"),
        {"action": "reset_second_factor", "_selected_action": [cast.chair.pk]},
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=cast.chair).exists()
    assert not StaticDevice.objects.filter(user=cast.chair).exists()
    event = AuditEvent.objects.get(action="auth.second_factor.reset")
    assert event.actor == admin_user
    assert event.detail == {"user": str(cast.chair.uuid), "devices": 2}
    # At the next sign-in the chair enrols again.
    assert password_only(cast.chair).get(HOME)["Location"].startswith(ENROL)


def test_the_fixture_session_passes_a_real_device(cast):
    client = complete_sign_in(Client(), cast.chair)
    assert client.get(HOME).status_code == 200
    TOTPDevice.objects.filter(user=cast.chair).delete()
    # The session named a device that is gone: the factor is owed again.
    assert client.get(HOME)["Location"].startswith(ENROL)


def test_a_step_up_sends_an_account_without_a_factor_to_enrolment(cast):
    client = password_only(cast.referrer)  # offered, not required, not enrolled
    response = client.get(reverse("second-factor-manage"))
    assert response["Location"].startswith(VERIFY)
    assert client.get(response["Location"])["Location"].startswith(ENROL + "?next=")


def test_passing_the_second_factor_gives_the_session_a_new_key(cast):
    device = totp_device(cast.chair)
    client = password_only(cast.chair)
    before = client.cookies["sessionid"].value
    assert verify(client, totp_code(device))["Location"] == HOME
    assert client.cookies["sessionid"].value != before
    assert client.get(HOME).status_code == 200


def test_the_second_factor_pages_open_no_account_socket(cast):
    totp_device(cast.chair)
    client = password_only(cast.chair)
    assert 'id="account-config"' not in client.get(VERIFY).content.decode()
    assert 'id="account-config"' not in password_only(cast.coordinator).get(ENROL).content.decode()
    assert 'id="account-config"' in signed_in(cast.chair).get(HOME).content.decode()

"""A chair signs in with TOTP, adds a passkey through Chromium's virtual authenticator, signs
out, and signs in again with the passkey as the second factor."""

from __future__ import annotations

import pytest
from django_otp_webauthn.models import WebAuthnCredential

from board.models import User
from cases.models import AuditEvent
from tests.e2e.browser import refusals, shot, sign_in, type_password

pytestmark = pytest.mark.browser


def virtual_authenticator(context, page) -> tuple:
    """A platform passkey (CTAP2, internal, resident keys, user verification) in this page."""
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def test_sign_in_with_totp_add_a_passkey_then_sign_in_with_it(cast, daphne_server, new_context):
    # A passkey's relying party is a domain name, never an IP address: the page is on localhost.
    base = daphne_server.url.replace("127.0.0.1", "localhost")
    context = new_context(bypass_csp=False)  # the policy in force, as for a person
    refused = refusals(context)
    page = sign_in(context, base, "chair")  # password, then a TOTP code
    cdp, authenticator = virtual_authenticator(context, page)

    page.goto(f"{base}/account/second-factor/")
    page.get_by_role("button", name="Add a passkey").click()
    page.locator("[data-passkey]").wait_for()
    chair = User.objects.get(username="chair")
    passkey = WebAuthnCredential.objects.get(user=chair, confirmed=True)
    assert passkey.sign_count is not None
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert len(stored["credentials"]) == 1
    shot(page, "passkey-added.png")

    page.goto(f"{base}/account/")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/**")

    page.goto(f"{base}/accounts/login/")
    type_password(page, "chair")
    page.wait_for_url("**/accounts/second-factor/**")
    page.get_by_role("button", name="Use your passkey").click()
    page.wait_for_url(f"{base}/")
    assert page.get_by_role("heading", name="Cases to triage").is_visible()
    passed = AuditEvent.objects.filter(actor=chair, action="auth.second_factor.passed")
    assert list(passed.order_by("pk").values_list("detail__device", flat=True)) == [
        "TOTPDevice",
        "WebAuthnCredential",
    ]
    assert WebAuthnCredential.objects.get(pk=passkey.pk).last_used_at is not None
    assert refused == []

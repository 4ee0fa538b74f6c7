"""Helpers every test module may import (fixtures live in conftest.py; the cast in cast.py;
each app's factories in tests/<app>/factories.py). No test module imports another."""

from __future__ import annotations

import base64
import os
import time

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from board.second_factor import VERIFIED_AT_SESSION_KEY
from board.security import security_event
from cases.security_audit import record_security_event
from tests.cast import SECOND_FACTOR_SECRET


def totp_device(user) -> TOTPDevice:
    """``user``'s authenticator app, on the cast's known secret (made on first use)."""
    key = base64.b32decode(SECOND_FACTOR_SECRET).hex()
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, confirmed=True, defaults={"key": key, "name": "Test phone"}
    )
    return device


def totp_code(device: TOTPDevice, *, steps: int = 0) -> str:
    """The code the phone shows now, or with its clock ``steps`` steps of 30 s off."""
    generator = TOTP(device.bin_key, device.step, device.t0, device.digits)
    generator.time = time.time() + steps * device.step
    return f"{generator.token():06d}"


def unused_totp_code(user) -> str:
    """A code ``user``'s phone could show now that the server has not yet accepted: TOTP
    refuses a code a second time, and a test may sign one person in twice within 30 s. The
    next step's code is within the one step of drift the server allows; beyond that, wait
    for the next step as a person would."""
    device = totp_device(user)
    while True:
        device.refresh_from_db()
        now = int(time.time() - device.t0) // device.step
        step = max(now, device.last_t + 1)
        if step <= now + 1:
            break
        time.sleep(device.step - (time.time() - device.t0) % device.step + 0.1)
    generator = TOTP(device.bin_key, device.step, device.t0, device.digits)
    generator.time = device.t0 + step * device.step
    return f"{generator.token():06d}"


def complete_sign_in(client: Client, user) -> Client:
    """Sign ``client`` in as ``user``, second factor included: the session records a pass of
    the user's real TOTP device, now, as django_otp.login does after a right code. (Posting a
    code would be refused when a test signs one user in twice in the same 30 s step.)

    A shortcut past the sign-in form: the session is recorded and times out as any other,
    but no ``auth.login`` audit event is written, so that a test counting the events of what
    it does sees only those (tests/board/test_sessions.py signs in through the form).
    """
    security_event.disconnect(dispatch_uid="cases.security_audit")
    try:
        client.force_login(user)
    finally:
        security_event.connect(record_security_event, dispatch_uid="cases.security_audit")
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = totp_device(user).persistent_id
    session[VERIFIED_AT_SESSION_KEY] = int(time.time())
    session.save()
    return client


def signed_in(user, **kwargs) -> Client:
    """A test client signed in as ``user`` (``kwargs`` go to Client, e.g. enforce_csrf_checks)."""
    return complete_sign_in(Client(**kwargs), user)


def required(variable: str) -> bool:
    return os.environ.get(variable, "").strip().lower() in {"1", "true", "yes", "on"}


def skip_or_fail(variable: str, reason: str) -> None:
    """Skip a test whose service is absent, unless CI requires the service."""
    if required(variable):
        pytest.fail(f"{variable}=1 but {reason}", pytrace=False)
    pytest.skip(reason)

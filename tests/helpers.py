"""Helpers every test module may import (fixtures live in conftest.py; the cast in cast.py;
each app's factories in tests/<app>/factories.py). No test module imports another."""

from __future__ import annotations

import os

import pytest
from django.test import Client


def signed_in(user, **kwargs) -> Client:
    """A test client signed in as ``user`` (``kwargs`` go to Client, e.g. enforce_csrf_checks).

    A shortcut past the sign-in form: the session is recorded and times out as any other,
    but no ``auth.login`` audit event is written, so that a test counting the events of what
    it does sees only those (tests/board/test_sessions.py signs in through the form).
    """
    from board.security import security_event
    from cases.security_audit import record_security_event

    client = Client(**kwargs)
    security_event.disconnect(dispatch_uid="cases.security_audit")
    try:
        client.force_login(user)
    finally:
        security_event.connect(record_security_event, dispatch_uid="cases.security_audit")
    return client


def required(variable: str) -> bool:
    return os.environ.get(variable, "").strip().lower() in {"1", "true", "yes", "on"}


def skip_or_fail(variable: str, reason: str) -> None:
    """Skip a test whose service is absent, unless CI requires the service."""
    if required(variable):
        pytest.fail(f"{variable}=1 but {reason}", pytrace=False)
    pytest.skip(reason)

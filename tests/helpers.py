"""Helpers every test module may import (fixtures live in conftest.py; the cast in cast.py;
each app's factories in tests/<app>/factories.py). No test module imports another."""

from __future__ import annotations

import os

import pytest
from django.test import Client


def signed_in(user, **kwargs) -> Client:
    """A test client signed in as ``user`` (``kwargs`` go to Client, e.g. enforce_csrf_checks)."""
    client = Client(**kwargs)
    client.force_login(user)
    return client


def required(variable: str) -> bool:
    return os.environ.get(variable, "").strip().lower() in {"1", "true", "yes", "on"}


def skip_or_fail(variable: str, reason: str) -> None:
    """Skip a test whose service is absent, unless CI requires the service."""
    if required(variable):
        pytest.fail(f"{variable}=1 but {reason}", pytrace=False)
    pytest.skip(reason)

"""Failed sign-ins are throttled per account and per address, with a cool-off that grows,
a page that does not tell whether the account exists, and an audit event for each step."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from axes.utils import reset
from django.test import Client
from django.urls import reverse

from board.tokens import token_create
from cases.models import AuditEvent
from tests.cases.factories import make_case
from tests.cast import PASSWORD
from tests.decisions.factories import decided_case, draft
from tests.helpers import signed_in as client_for

pytestmark = pytest.mark.django_db

LIMIT = 5  # AUTH_FAILURE_LIMIT's default


def attempt(username: str, password: str, *, ip: str = "198.51.100.7", **extra):
    return Client(REMOTE_ADDR=ip, **extra).post(
        reverse("login"), {"username": username, "password": password}
    )


def signed_in(response) -> bool:
    return response.status_code == 302 and response.wsgi_request.user.is_authenticated


def let_time_pass(minutes: float) -> None:
    """Axes counts failures within the cool-off; moving them back is time passing."""
    for row in AccessAttempt.objects.select_related("expiration"):
        row.attempt_time -= datetime.timedelta(minutes=minutes)
        row.save(update_fields=["attempt_time"])
        if getattr(row, "expiration", None) is not None:
            row.expiration.expires_at -= datetime.timedelta(minutes=minutes)
            row.expiration.save(update_fields=["expires_at"])


def test_brute_force_is_locked_out_and_the_right_password_waits_for_the_cool_off(
    cast, fast_passwords
):
    answers = [attempt("pathologist", f"wrong-{n}-password") for n in range(LIMIT)]
    assert [a.status_code for a in answers[:-1]] == [200] * (LIMIT - 1)
    assert answers[-1].status_code == 429
    right = attempt("pathologist", PASSWORD)
    assert right.status_code == 429
    assert not signed_in(right)
    # Another address does not get past the account's lock either.
    assert attempt("pathologist", PASSWORD, ip="203.0.113.99").status_code == 429

    let_time_pass(minutes=14)
    assert attempt("pathologist", PASSWORD).status_code == 429
    let_time_pass(minutes=2)  # 16 minutes: past the first 15-minute cool-off
    assert signed_in(attempt("pathologist", PASSWORD))


def test_the_lockout_page_reads_the_same_for_an_unknown_account(cast, fast_passwords):
    for _ in range(LIMIT):
        known = attempt("pathologist", "not-the-password", ip="198.51.100.1")
        unknown = attempt("no-such-person", "not-the-password", ip="198.51.100.2")
    assert known.status_code == unknown.status_code == 429
    assert known.content == unknown.content
    assert known["Retry-After"] == unknown["Retry-After"] == "900"
    text = known.content.decode()
    assert "Too many failed sign-in attempts. Try again in 15 minutes." in text
    assert "pathologist" not in text
    # And before the lock: the same refusal for both.
    first_known = attempt("radiologist", "wrong-password-1", ip="198.51.100.3")
    first_unknown = attempt("nobody-at-all", "wrong-password-1", ip="198.51.100.4")
    assert first_known.context["form"].non_field_errors() == (
        first_unknown.context["form"].non_field_errors()
    )


def test_password_spraying_from_one_address_locks_that_address(cast, fast_passwords):
    for username in ["chair", "surgeon", "oncologist", "radiologist", "coordinator"]:
        attempt(username, "Summer2026!", ip="192.0.2.10")
    assert attempt("pathologist", PASSWORD, ip="192.0.2.10").status_code == 429
    assert signed_in(attempt("pathologist", PASSWORD, ip="192.0.2.11"))


def test_each_further_lockout_doubles_the_cool_off(cast, fast_passwords):
    for _ in range(LIMIT):
        first = attempt("surgeon", "not-it-at-all")
    assert first["Retry-After"] == str(15 * 60)
    let_time_pass(minutes=16)
    for _ in range(LIMIT):
        second = attempt("surgeon", "still-not-it")
    assert second.status_code == 429
    assert second["Retry-After"] == str(30 * 60)
    let_time_pass(minutes=16)
    assert attempt("surgeon", PASSWORD).status_code == 429  # 30 minutes now
    let_time_pass(minutes=16)
    assert signed_in(attempt("surgeon", PASSWORD))


def test_a_doubled_lockout_is_not_cut_short_by_someone_elses_sign_in(cast, fast_passwords):
    for _ in range(LIMIT):
        attempt("surgeon", "not-it-at-all")
    let_time_pass(minutes=16)
    for _ in range(LIMIT):
        attempt("surgeon", "still-not-it")  # the second lockout: 30 minutes
    let_time_pass(minutes=16)
    # Someone else signs in meanwhile (axes tidies expired attempts then).
    assert signed_in(attempt("chair", PASSWORD, ip="203.0.113.30"))
    assert attempt("surgeon", PASSWORD).status_code == 429


def test_every_failure_the_lockout_and_the_unlock_are_audited(cast, fast_passwords, admin_user):
    for _ in range(LIMIT + 2):
        attempt("oncologist", "bad-password-again")
    attempt("typed-password-by-mistake", "x")
    failures = AuditEvent.objects.filter(action="auth.login.failed")
    against_oncologist = failures.filter(object_id=str(cast.oncologist.uuid))
    assert against_oncologist.count() == LIMIT + 2
    assert all(e.outcome == "denied" and e.ip == "198.51.100.7" for e in against_oncologist)
    assert [e.detail["locked"] for e in against_oncologist.order_by("id")] == [False] * (
        LIMIT - 1
    ) + [True] * 3
    # A lockout is one event, however many tries it refuses.
    lockouts = AuditEvent.objects.filter(action="auth.lockout")
    assert lockouts.count() == 1
    assert lockouts.get().object_id == str(cast.oncologist.uuid)
    # A name that is no account is not written down (it may be a mistyped password).
    unknown = failures.exclude(object_id=str(cast.oncologist.uuid)).get()
    assert unknown.detail == {"step": "password", "locked": True, "account": "unknown"}
    assert "typed-password-by-mistake" not in str(
        list(AuditEvent.objects.values_list("actor_label", "detail", "object_id"))
    )

    reset(username="oncologist")
    unlock = AuditEvent.objects.get(action="auth.unlock")
    assert unlock.object_id == str(cast.oncologist.uuid)


def test_an_administrator_unlocks_from_the_admin_and_it_is_audited(cast, fast_passwords, client):
    for _ in range(LIMIT):
        attempt("chair", "bad-password-again", ip="203.0.113.5")
    locked = AccessAttempt.objects.get(username="chair")
    admin = client_for(cast.chair.__class__.objects.create_superuser("root", "r@x.org", "pw"))
    url = reverse("admin:axes_accessattempt_delete", args=[locked.pk])
    assert admin.post(url, {"post": "yes"}).status_code == 302
    unlock = AuditEvent.objects.get(action="auth.unlock")
    assert unlock.actor_label == "root"
    assert signed_in(attempt("chair", PASSWORD, ip="203.0.113.5"))


def test_behind_the_proxy_only_the_last_forwarded_address_counts(cast, fast_passwords, settings):
    settings.CONSILIUM_BEHIND_PROXY = True
    for n in range(LIMIT):
        # The first entries are the client's to forge; the proxy appends what it saw.
        attempt(
            f"user-{n}",
            "wrong-password",
            ip="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 198.51.100.50",
        )
    locked = attempt(
        "pathologist", PASSWORD, ip="10.0.0.2", HTTP_X_FORWARDED_FOR="192.0.2.200, 198.51.100.50"
    )
    assert locked.status_code == 429
    # Five failures and the refused try, all at the address the proxy saw.
    assert AuditEvent.objects.filter(action="auth.login.failed", ip="198.51.100.50").count() == 6
    elsewhere = attempt(
        "pathologist", PASSWORD, ip="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.51"
    )
    assert signed_in(elsewhere)


def test_refused_bearer_tokens_lock_out_the_address(cast):
    case = make_case(cast)
    _, good = token_create(user=cast.radiologist, name="Viewer")
    url = f"/dicomweb/cases/{case.uuid}/studies"

    def get(token: str, ip: str = "198.51.100.20"):
        return Client(REMOTE_ADDR=ip).get(url, HTTP_AUTHORIZATION=f"Bearer {token}")

    assert get(good).status_code == 200
    statuses = [get(f"csl_{'x' * 42}{n}").status_code for n in range(LIMIT)]
    assert statuses == [401] * (LIMIT - 1) + [429]
    refused = get(good)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) == 15 * 60
    assert refused.json() == {"error": "Too many failed attempts; try again later."}
    assert get(good, ip="198.51.100.21").status_code == 200
    failed = AuditEvent.objects.filter(action="auth.login.failed", detail__step="token")
    assert failed.count() == LIMIT


def test_password_reentry_for_signing_counts_towards_the_lockout(cast, fast_passwords):
    case, *_ = decided_case(cast)
    consensus = draft(cast, case)
    chair = client_for(cast.chair)
    target = reverse(
        "consensus-sign", kwargs={"case_id": case.uuid, "consensus_id": consensus.uuid}
    )
    statuses = [chair.post(target, {"sign-password": f"guess-{n}"}).status_code for n in range(5)]
    assert statuses == [302] * 4 + [429]  # "not your password", then the lockout
    assert chair.post(target, {"sign-password": PASSWORD}).status_code == 429
    consensus.refresh_from_db()
    assert not consensus.is_signed
    failed = AuditEvent.objects.filter(action="auth.login.failed", actor=cast.chair)
    assert {e.detail["step"] for e in failed} == {"password_reentry"}


@pytest.mark.parametrize(
    ("password", "refusal"),
    [
        ("Short-1x!", "This password is too short. It must contain at least 12 characters."),
        ("password1234", "This password is too common."),
    ],
)
def test_a_new_password_meets_the_policy(cast, fast_passwords, password, refusal):
    client = client_for(cast.pathologist)
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": password, "new_password2": password},
    )
    assert response.status_code == 200
    assert refusal in response.content.decode().replace("&#x27;", "'")


# --- settings ----------------------------------------------------------------------------------


def settings_refused(tmp_path, **env: str) -> str:
    """The settings module, loaded in a fresh process with ``env``, refuses to start."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    clean.pop("CONSILIUM_PRODUCTION", None)
    clean.update(DJANGO_SETTINGS_MODULE="board.settings", CONSILIUM_VAR_DIR=str(tmp_path), **env)
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=Path(__file__).resolve().parents[2],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    return result.stderr


def test_an_idle_timeout_longer_than_the_lifetime_is_refused(tmp_path):
    stderr = settings_refused(
        tmp_path, SESSION_IDLE_TIMEOUT="7200", SESSION_ABSOLUTE_LIFETIME="3600"
    )
    assert "SESSION_IDLE_TIMEOUT is longer than SESSION_ABSOLUTE_LIFETIME" in stderr


def test_the_failure_limit_must_be_a_number_of_at_least_two(tmp_path):
    assert "AUTH_FAILURE_LIMIT=1 is below the minimum 2" in settings_refused(
        tmp_path, AUTH_FAILURE_LIMIT="1"
    )

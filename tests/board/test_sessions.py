"""Sessions time out when idle and at the end of their lifetime; the account page lists them
and ends them; a changed password ends the others and revokes API tokens."""

from __future__ import annotations

import datetime
import time

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from board.models import ApiToken, UserSession
from board.sessions import LAST_ACTIVITY, SIGNED_IN_AT
from board.tokens import token_create
from cases.models import AuditEvent
from tests.cases.factories import make_case
from tests.cast import PASSWORD
from tests.helpers import signed_in, unused_totp_code

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


def sign_in(user, *, ip: str = "198.51.100.7", agent: str = FIREFOX) -> Client:
    client = Client(REMOTE_ADDR=ip, HTTP_USER_AGENT=agent)
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    # Then the second factor, as a person types it from their phone.
    code = unused_totp_code(user)
    response = client.post(reverse("second-factor-verify"), {"code": code, "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    return client


def age(client: Client, *, idle: float = 0, signed_in: float = 0) -> None:
    """Move the session's stamps back, as if that much time had passed."""
    session = client.session
    session[LAST_ACTIVITY] -= idle
    session[SIGNED_IN_AT] -= signed_in
    session.save()


def row_of(client: Client) -> UserSession:
    return UserSession.objects.get(session_key=client.session.session_key)


def test_sign_in_records_the_device_address_and_times(cast, fast_passwords):
    client = sign_in(cast.pathologist, ip="203.0.113.4")
    row = row_of(client)
    assert (row.user, row.user_agent, row.ip) == (cast.pathologist, FIREFOX, "203.0.113.4")
    assert row.ended_at is None
    assert AuditEvent.objects.filter(action="auth.login", actor=cast.pathologist).count() == 1


def test_an_idle_session_ends_at_its_next_request(cast, fast_passwords, settings):
    client = sign_in(cast.pathologist)
    row = row_of(client)
    age(client, idle=settings.SESSION_IDLE_TIMEOUT - 30)
    assert client.get(reverse("home")).status_code == 200
    age(client, idle=settings.SESSION_IDLE_TIMEOUT + 1)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    row.refresh_from_db()
    assert (row.end_reason, row.session_key) == ("idle", "")
    ended = AuditEvent.objects.get(action="auth.session.ended")
    assert ended.detail == {"reason": "idle", "session": str(row.uuid)}
    # The cookie opens nothing any more.
    assert client.get(reverse("account")).status_code == 302


def test_activity_keeps_a_session_alive_but_not_past_its_lifetime(cast, fast_passwords, settings):
    client = sign_in(cast.radiologist)
    age(client, idle=120)
    client.get(reverse("home"))  # counts as activity
    assert time.time() - client.session[LAST_ACTIVITY] < 5
    assert row_of(client).last_activity_at > timezone.now() - datetime.timedelta(seconds=5)
    age(client, signed_in=settings.SESSION_ABSOLUTE_LIFETIME + 1)
    assert client.get(reverse("home")).status_code == 302
    assert UserSession.objects.get(user=cast.radiologist).end_reason == "lifetime"


def test_asking_how_long_is_left_is_not_activity_but_staying_signed_in_is(
    cast, fast_passwords, settings
):
    client = sign_in(cast.chair)
    age(client, idle=600)
    status = client.get(reverse("session-status")).json()
    assert (
        settings.SESSION_IDLE_TIMEOUT - 610
        <= status["remaining"]
        <= (settings.SESSION_IDLE_TIMEOUT - 600)
    )
    assert time.time() - client.session[LAST_ACTIVITY] >= 600
    kept = client.post(reverse("session-keep-alive")).json()
    assert kept["remaining"] >= settings.SESSION_IDLE_TIMEOUT - 5
    assert time.time() - client.session[LAST_ACTIVITY] < 5
    assert client.get(reverse("session-keep-alive")).status_code == 405


def test_the_keep_alive_needs_csrf(cast, fast_passwords):
    client = signed_in(cast.chair, enforce_csrf_checks=True)
    assert client.post(reverse("session-keep-alive")).status_code == 403


def test_end_idle_sessions_ends_the_ones_past_a_limit_only(cast, fast_passwords, settings):
    idle = sign_in(cast.pathologist)
    old = sign_in(cast.surgeon)
    fresh = sign_in(cast.chair)
    now = timezone.now()
    UserSession.objects.filter(pk=row_of(idle).pk).update(
        last_activity_at=now - datetime.timedelta(seconds=settings.SESSION_IDLE_TIMEOUT + 5)
    )
    UserSession.objects.filter(pk=row_of(old).pk).update(
        signed_in_at=now - datetime.timedelta(seconds=settings.SESSION_ABSOLUTE_LIFETIME + 5)
    )
    call_command("end_idle_sessions")
    reasons = dict(UserSession.objects.values_list("user__username", "end_reason"))
    assert reasons == {"pathologist": "idle", "surgeon": "lifetime", "chair": ""}
    assert idle.get(reverse("home")).status_code == 302
    assert fresh.get(reverse("home")).status_code == 200


# --- Your sessions -----------------------------------------------------------------------------


def test_the_account_page_lists_the_sessions_and_marks_this_one(cast, fast_passwords):
    laptop = sign_in(cast.oncologist, ip="198.51.100.1", agent="Laptop Firefox")
    sign_in(cast.oncologist, ip="198.51.100.2", agent="Tablet Safari")
    sign_in(cast.surgeon, agent="Someone else's browser")
    html = laptop.get(reverse("account")).content.decode()
    section = html[html.index('id="your-sessions"') :]
    assert "Laptop Firefox" in section and "Tablet Safari" in section
    assert "Someone else" not in section
    assert section.count("This session") == 1
    assert section.count(">End<") == 1


def test_ending_a_session_signs_it_out(cast, fast_passwords):
    laptop = sign_in(cast.oncologist)
    tablet = sign_in(cast.oncologist)
    target = row_of(tablet)
    response = laptop.post(reverse("session-end", kwargs={"session_id": target.uuid}))
    assert response.status_code == 302
    assert tablet.get(reverse("home")).status_code == 302
    assert laptop.get(reverse("home")).status_code == 200
    target.refresh_from_db()
    assert target.end_reason == "ended"
    event = AuditEvent.objects.get(action="auth.session.ended")
    assert (event.actor, event.object_id) == (cast.oncologist, str(cast.oncologist.uuid))


def test_ending_all_other_sessions_keeps_this_one(cast, fast_passwords):
    here = sign_in(cast.chair)
    others = [sign_in(cast.chair) for _ in range(3)]
    bystander = sign_in(cast.surgeon)
    assert here.post(reverse("sessions-end-others")).status_code == 302
    assert here.get(reverse("home")).status_code == 200
    assert all(c.get(reverse("home")).status_code == 302 for c in others)
    assert bystander.get(reverse("home")).status_code == 200


def test_no_one_ends_another_persons_session(cast, fast_passwords):
    theirs = sign_in(cast.surgeon)
    mine = sign_in(cast.pathologist)
    url = reverse("session-end", kwargs={"session_id": row_of(theirs).uuid})
    assert mine.post(url).status_code == 404
    assert theirs.get(reverse("home")).status_code == 200


def test_ending_needs_post_and_csrf(cast, fast_passwords):
    other = sign_in(cast.surgeon)
    url = reverse("session-end", kwargs={"session_id": row_of(other).uuid})
    client = signed_in(cast.surgeon, enforce_csrf_checks=True)
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 403
    assert other.get(reverse("home")).status_code == 200


def test_the_account_page_shows_my_own_recent_security_events(cast, fast_passwords):
    Client(REMOTE_ADDR="192.0.2.66").post(
        reverse("login"), {"username": "pathologist", "password": "wrong-password"}
    )
    Client().post(reverse("login"), {"username": "surgeon", "password": "wrong-password"})
    client = sign_in(cast.pathologist)
    html = client.get(reverse("account")).content.decode()
    section = html[html.index('id="security-events"') :]
    assert "Failed sign-in" in section and "192.0.2.66" in section
    assert "Signed in" in section
    assert section.count("Failed sign-in") == 1  # not the surgeon's


# --- a changed password ------------------------------------------------------------------------


def test_changing_my_password_ends_my_other_sessions_and_revokes_my_tokens(
    cast, fast_passwords, django_capture_on_commit_callbacks
):
    here = sign_in(cast.radiologist)
    elsewhere = sign_in(cast.radiologist)
    token_create(user=cast.radiologist, name="Viewer")
    new = "a-much-longer-passphrase-2026"
    with django_capture_on_commit_callbacks(execute=True):
        response = here.post(
            reverse("password_change"),
            {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
        )
    assert response.status_code == 302
    assert here.get(reverse("home")).status_code == 200
    assert elsewhere.get(reverse("home")).status_code == 302
    assert not ApiToken.objects.filter(user=cast.radiologist, revoked_at__isnull=True).exists()
    # "This session" still names the session in use, under its new key.
    assert row_of(here).ended_at is None
    event = AuditEvent.objects.get(action="auth.password.changed")
    assert event.detail == {"by": "self", "sessions_ended": 1, "tokens_revoked": 1}


def test_a_password_set_by_an_administrator_ends_every_session(
    cast, fast_passwords, admin_client, django_capture_on_commit_callbacks
):
    client = sign_in(cast.surgeon)
    new = "set-by-the-admin-2026-x"
    url = reverse("admin:auth_user_password_change", args=[cast.surgeon.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            url, {"password1": new, "password2": new, "usable_password": "true"}
        )
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302
    event = AuditEvent.objects.get(action="auth.password.changed")
    assert event.detail["by"] == "administrator"
    assert event.detail["sessions_ended"] == 1


def test_signed_in_pages_and_the_viewer_carry_the_idle_warning(cast, fast_passwords, settings):
    case = make_case(cast)
    client = sign_in(cast.pathologist)
    for url in (reverse("home"), reverse("case-viewer", kwargs={"case_id": case.uuid})):
        html = client.get(url).content.decode()
        assert 'role="alertdialog"' in html and 'id="idle-config"' in html, url
        assert '"warnBefore": 60' in html
    assert 'id="idle-config"' not in Client().get(reverse("login")).content.decode()


def test_activity_is_written_at_most_once_a_minute(cast, fast_passwords):
    client = sign_in(cast.pathologist)
    client.get(reverse("home"))
    with CaptureQueriesContext(connection) as quiet:
        client.get(reverse("home"))
    age(client, idle=61)
    with CaptureQueriesContext(connection) as due:
        client.get(reverse("home"))

    # Once due: the session's stamp and the row's last activity, two writes; otherwise none,
    # and no read either (the stamps come with the session Django loads anyway).
    def writes(queries) -> list[str]:
        return sorted(q["sql"].split('"')[1] for q in queries if q["sql"].startswith("UPDATE"))

    assert writes(quiet.captured_queries) == []
    assert not any("board_usersession" in q["sql"] for q in quiet.captured_queries)
    assert writes(due.captured_queries) == ["board_usersession", "django_session"]


def test_an_administrator_ends_a_session_in_the_admin(cast, fast_passwords, admin_client):
    victim = sign_in(cast.referrer)
    row = row_of(victim)
    response = admin_client.post(
        reverse("admin:board_usersession_changelist"),
        {"action": "end_sessions", "_selected_action": [row.pk]},
    )
    assert response.status_code == 302
    assert victim.get(reverse("home")).status_code == 302
    event = AuditEvent.objects.get(action="auth.session.ended")
    assert event.actor_label == "admin"
    assert event.object_id == str(cast.referrer.uuid)


def test_second_factor_events_are_among_my_security_events_in_words(cast, fast_passwords):
    client = sign_in(cast.pathologist)  # password, then a code from the phone
    html = client.get(reverse("account")).content.decode()
    section = html[html.index('id="security-events"') :]
    assert "Second factor passed" in section
    assert "auth.second_factor" not in section

"""Invitations go to an address as a single-use link and bind to the account that accepts."""

import datetime
import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from guardian.shortcuts import assign_perm, get_perms

from board.models import User
from cases.models import AuditEvent, CaseInvite
from tests.cases.factories import HOSPITAL_NUMBER, PATIENT_NAME, invite, make_case
from tests.cast import make_user
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db

ADDRESS = "expert@abroad.example"


def detail(case):
    return reverse("case-detail", kwargs={"case_id": case.uuid})


def send_invite(cast, case, email=ADDRESS, days="14", capture=None, **extra):
    url = reverse("case-invites", kwargs={"case_id": case.uuid})
    with capture(execute=True):
        response = signed_in(cast.chair).post(url, {"email": email, "days": days, **extra})
    assert response.status_code == 302, response.content
    message = mail.outbox[-1]
    link = re.search(r"https?://\S+/invites/[A-Za-z0-9_-]+/", message.body).group(0)
    return urlsplit(link).path, message


def accept(user, path):
    return signed_in(user).post(path)


# --- the link ----------------------------------------------------------------------------


def test_the_link_goes_to_the_address_and_opens_the_case_to_who_accepts(
    cast, django_capture_on_commit_callbacks
):
    case, other = make_case(cast), make_case(cast)
    path, message = send_invite(cast, case, capture=django_capture_on_commit_callbacks)
    assert message.to == [ADDRESS]
    assert case.pseudonym in message.body
    assert PATIENT_NAME not in message.body and HOSPITAL_NUMBER not in message.body
    created = CaseInvite.objects.get()
    assert created.expert is None and created.accepted_at is None
    assert abs(created.expires_at - (timezone.now() + datetime.timedelta(days=14))).seconds < 60
    # The secret is in the email only.
    assert path.strip("/").split("/")[-1] not in str(CaseInvite.objects.values().get())
    assert signed_in(cast.expert).get(detail(case)).status_code == 404  # not before accepting

    response = accept(cast.expert, path)
    assert response.status_code == 302
    assert response["Location"] == detail(case)
    created.refresh_from_db()
    assert created.expert == cast.expert and created.accepted_at is not None
    expert = signed_in(cast.expert)
    assert expert.get(detail(case)).status_code == 200
    assert expert.get(detail(other)).status_code == 404
    assert (
        expert.get(reverse("board-queue", kwargs={"board_id": cast.board.uuid})).status_code == 404
    )
    assert case.pseudonym in expert.get(reverse("home")).content.decode()


def test_an_outsider_who_types_the_experts_address_gets_nothing(
    cast, django_capture_on_commit_callbacks
):
    """The hijack: before, the invite form found the expert by the address on the account
    page, which anyone could set to anything."""
    case = make_case(cast)
    signed_in(cast.outsider).post(
        reverse("account"),
        {
            "first_name": "Out",
            "last_name": "Sider",
            "email": ADDRESS,
            "institution": "",
            "specialty": "other",
            "time_zone": "UTC",
        },
    )
    url = reverse("case-invites", kwargs={"case_id": case.uuid})
    with django_capture_on_commit_callbacks(execute=True):
        signed_in(cast.chair).post(url, {"email": ADDRESS, "days": "14"})
    assert signed_in(cast.outsider).get(detail(case)).status_code == 404
    assert not CaseInvite.objects.filter(expert=cast.outsider).exists()
    assert get_perms(cast.outsider, case) == []
    assert [m.to for m in mail.outbox] == [[ADDRESS]]


def test_an_account_holding_the_address_gets_nothing_without_the_link(
    cast, django_capture_on_commit_callbacks
):
    User.objects.filter(pk=cast.outsider.pk).update(email=ADDRESS)
    case = make_case(cast)
    send_invite(cast, case, capture=django_capture_on_commit_callbacks)
    assert signed_in(cast.outsider).get(detail(case)).status_code == 404


def test_an_accepted_link_cannot_be_used_again(cast, django_capture_on_commit_callbacks):
    case = make_case(cast)
    path, _ = send_invite(cast, case, capture=django_capture_on_commit_callbacks)
    assert accept(cast.expert, path).status_code == 302
    second = make_user("second_expert", specialty="radiology")
    response = accept(second, path)
    assert response.status_code == 410
    assert "already accepted" in response.content.decode()
    assert signed_in(second).get(detail(case)).status_code == 404
    assert signed_in(second).get(path).status_code == 410
    assert CaseInvite.objects.get().expert == cast.expert
    refusal = AuditEvent.objects.get(action="invite.accept", outcome="denied")
    assert refusal.actor == second and refusal.detail == {"reason": "used"}


def test_an_expired_link_grants_nothing(cast, django_capture_on_commit_callbacks):
    case = make_case(cast)
    path, _ = send_invite(cast, case, capture=django_capture_on_commit_callbacks)
    CaseInvite.objects.update(expires_at=timezone.now())
    assert Client().get(path).status_code == 410
    response = accept(cast.expert, path)
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert signed_in(cast.expert).get(detail(case)).status_code == 404
    assert CaseInvite.objects.get().expert is None


def test_a_revoked_invite_grants_nothing(cast, django_capture_on_commit_callbacks):
    case = make_case(cast)
    path, _ = send_invite(cast, case, capture=django_capture_on_commit_callbacks)
    pending = CaseInvite.objects.get()
    revoke = reverse("invite-revoke", kwargs={"case_id": case.uuid, "invite_id": pending.uuid})
    assert signed_in(cast.chair).post(revoke).status_code == 302
    response = accept(cast.expert, path)
    assert response.status_code == 410
    assert "withdrawn" in response.content.decode()
    assert signed_in(cast.expert).get(detail(case)).status_code == 404
    assert get_perms(cast.expert, case) == []


def test_an_unknown_link_is_404(cast):
    path = reverse("invite-open", kwargs={"token": "not-a-real-invitation-token"})
    assert Client().get(path).status_code == 404
    assert accept(cast.expert, path).status_code == 404


def test_opening_the_link_accepts_nothing(cast, django_capture_on_commit_callbacks):
    case = make_case(cast)
    path, _ = send_invite(cast, case, capture=django_capture_on_commit_callbacks)
    response = signed_in(cast.expert).get(path)
    assert response.status_code == 200
    assert "Accept the invitation" in response.content.decode()
    assert CaseInvite.objects.get().accepted_at is None


def test_signed_out_the_link_offers_sign_in_and_sign_up(cast, django_capture_on_commit_callbacks):
    case = make_case(cast)
    path, _ = send_invite(cast, case, capture=django_capture_on_commit_callbacks)
    html = Client().get(path).content.decode()
    assert f"{reverse('login')}?next={path}" in html
    assert reverse("invite-signup", kwargs={"token": path.strip("/").split("/")[-1]}) in html
    response = Client().post(path)  # accepting needs an account
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert CaseInvite.objects.get().accepted_at is None


def test_signing_up_through_the_link_makes_an_account_bound_to_the_invite(
    cast, django_capture_on_commit_callbacks
):
    case = make_case(cast)
    path, _ = send_invite(cast, case, capture=django_capture_on_commit_callbacks)
    client = Client()
    response = client.post(
        path + "signup/",
        {
            "username": "dr_nakamura",
            "first_name": "Aiko",
            "last_name": "Nakamura",
            "specialty": "pathology",
            "institution": "Kyoto",
            "password1": "a-long-unusual-Pass-93",
            "password2": "a-long-unusual-Pass-93",
        },
    )
    assert response.status_code == 302 and response["Location"] == detail(case)
    user = User.objects.get(username="dr_nakamura")
    assert (user.kind, user.email, user.is_active) == (User.Kind.CLINICIAN, ADDRESS, True)
    assert CaseInvite.objects.get().expert == user
    # Signed in by the sign-up; an invited expert must have a second factor, so the case
    # waits behind enrolment (SECOND_FACTOR_REQUIRED_FOR), then opens.
    waiting = client.get(detail(case))
    assert waiting.status_code == 302
    assert waiting["Location"].startswith(reverse("second-factor-enrol"))
    client.get(reverse("second-factor-enrol"))
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    code = TOTP(device.bin_key, device.step, device.t0, device.digits).token()
    client.post(reverse("second-factor-enrol"), {"code": f"{code:06d}", "next": detail(case)})
    assert client.get(detail(case)).status_code == 200
    assert accept(cast.expert, path).status_code == 410  # and the link is spent


def test_sign_up_applies_the_password_validators(cast, django_capture_on_commit_callbacks):
    case = make_case(cast)
    path, _ = send_invite(cast, case, capture=django_capture_on_commit_callbacks)
    response = Client().post(
        path + "signup/",
        {
            "username": "weak",
            "first_name": "W",
            "last_name": "K",
            "specialty": "pathology",
            "password1": "12345678",
            "password2": "12345678",
        },
    )
    assert response.status_code == 400
    assert not User.objects.filter(username="weak").exists()
    assert CaseInvite.objects.get().accepted_at is None


def test_sign_up_through_a_spent_link_makes_no_account(cast, django_capture_on_commit_callbacks):
    case = make_case(cast)
    path, _ = send_invite(cast, case, capture=django_capture_on_commit_callbacks)
    accept(cast.expert, path)
    response = Client().post(
        path + "signup/",
        {
            "username": "late",
            "first_name": "L",
            "last_name": "T",
            "specialty": "pathology",
            "password1": "a-long-unusual-Pass-93",
            "password2": "a-long-unusual-Pass-93",
        },
    )
    assert response.status_code == 410
    assert not User.objects.filter(username="late").exists()


@pytest.mark.parametrize("who", ["surgeon", "patient"])
def test_members_and_patients_cannot_accept_and_the_link_stays_usable(
    cast, who, django_capture_on_commit_callbacks
):
    case = make_case(cast)
    path, _ = send_invite(cast, case, capture=django_capture_on_commit_callbacks)
    response = accept(getattr(cast, who), path)
    assert response.status_code == 403
    assert CaseInvite.objects.get().accepted_at is None
    assert accept(cast.expert, path).status_code == 302


def test_accepting_again_extends_rather_than_duplicates(cast, django_capture_on_commit_callbacks):
    case = make_case(cast)
    old = invite(cast, case, days=1)
    path, _ = send_invite(cast, case, days="30", capture=django_capture_on_commit_callbacks)
    assert accept(cast.expert, path).status_code == 302
    old.refresh_from_db()
    assert old.revoked_at is not None
    current = CaseInvite.objects.get(expert=cast.expert, revoked_at__isnull=True)
    assert current.expires_at > timezone.now() + datetime.timedelta(days=29)


def test_a_new_link_to_the_same_address_replaces_the_unaccepted_one(
    cast, django_capture_on_commit_callbacks
):
    case = make_case(cast)
    first, _ = send_invite(cast, case, capture=django_capture_on_commit_callbacks)
    second, _ = send_invite(cast, case, capture=django_capture_on_commit_callbacks)
    assert accept(cast.expert, first).status_code == 410
    assert accept(cast.expert, second).status_code == 302


def test_the_invite_page_shows_address_and_who_accepted(cast, django_capture_on_commit_callbacks):
    case = make_case(cast)
    path, _ = send_invite(
        cast, case, capture=django_capture_on_commit_callbacks, name="Prof. Nakamura"
    )
    url = reverse("case-invites", kwargs={"case_id": case.uuid})
    html = signed_in(cast.chair).get(url).content.decode()
    assert ADDRESS in html and "Prof. Nakamura" in html and "link sent" in html
    accept(cast.expert, path)
    html = signed_in(cast.chair).get(url).content.decode()
    assert cast.expert.username in html


def test_the_invitation_trail_is_audited(cast, django_capture_on_commit_callbacks):
    case = make_case(cast)
    path, _ = send_invite(cast, case, capture=django_capture_on_commit_callbacks)
    accept(cast.surgeon, path)  # refused: a member
    accept(cast.expert, path)
    granted = CaseInvite.objects.get()
    revoke = reverse("invite-revoke", kwargs={"case_id": case.uuid, "invite_id": granted.uuid})
    signed_in(cast.chair).post(revoke)
    trail = [
        (e.action, e.outcome, e.actor.username)
        for e in AuditEvent.objects.filter(action__startswith="invite.").order_by("pk")
    ]
    assert trail == [
        ("invite.create", "allowed", "chair"),
        ("invite.accept", "denied", "surgeon"),
        ("invite.accept", "allowed", "expert"),
        ("invite.revoke", "allowed", "chair"),
    ]


# --- refusals ------------------------------------------------------------------------------


def test_accepting_needs_csrf(cast, django_capture_on_commit_callbacks):
    case = make_case(cast)
    path, _ = send_invite(cast, case, capture=django_capture_on_commit_callbacks)
    assert signed_in(cast.expert, enforce_csrf_checks=True).post(path).status_code == 403
    assert CaseInvite.objects.get().accepted_at is None


def test_the_link_answers_get_and_post_only(cast, django_capture_on_commit_callbacks):
    case = make_case(cast)
    path, _ = send_invite(cast, case, capture=django_capture_on_commit_callbacks)
    assert signed_in(cast.expert).put(path).status_code == 405
    assert Client().get(path + "signup/").status_code == 405


def test_outsiders_get_404_and_members_403_on_the_invite_page(cast):
    case = make_case(cast)
    url = reverse("case-invites", kwargs={"case_id": case.uuid})
    assert signed_in(cast.outsider).post(url, {"email": ADDRESS, "days": "3"}).status_code == 404
    assert signed_in(cast.surgeon).post(url, {"email": ADDRESS, "days": "3"}).status_code == 403
    assert signed_in(cast.chair, enforce_csrf_checks=True).post(url, {}).status_code == 403
    assert not CaseInvite.objects.exists()
    assert mail.outbox == []


def test_revoke_closes_the_case_to_the_expert(cast):
    case = make_case(cast)
    granted = invite(cast, case)
    expert = signed_in(cast.expert)
    assert expert.get(detail(case)).status_code == 200
    response = signed_in(cast.coordinator).post(
        reverse("invite-revoke", kwargs={"case_id": case.uuid, "invite_id": granted.uuid})
    )
    assert response.status_code == 302
    assert expert.get(detail(case)).status_code == 404
    granted.refresh_from_db()
    assert granted.revoked_at is not None


def test_revoking_needs_post(cast):
    case = make_case(cast)
    granted = invite(cast, case)
    url = reverse("invite-revoke", kwargs={"case_id": case.uuid, "invite_id": granted.uuid})
    assert signed_in(cast.chair).get(url).status_code == 405


def test_expired_invite_closes_the_case(cast):
    case = make_case(cast)
    granted = invite(cast, case)
    expert = signed_in(cast.expert)
    assert expert.get(detail(case)).status_code == 200
    CaseInvite.objects.filter(pk=granted.pk).update(expires_at=timezone.now())
    assert expert.get(detail(case)).status_code == 404


def test_grant_without_invite_opens_nothing(cast):
    case = make_case(cast)
    assign_perm("cases.view_case", cast.expert, case)
    assert signed_in(cast.expert).get(detail(case)).status_code == 404


def test_members_cannot_revoke(cast):
    case = make_case(cast)
    granted = invite(cast, case)
    response = signed_in(cast.surgeon).post(
        reverse("invite-revoke", kwargs={"case_id": case.uuid, "invite_id": granted.uuid})
    )
    assert response.status_code == 403
    granted.refresh_from_db()
    assert granted.revoked_at is None


# --- the sweep -------------------------------------------------------------------------------


def test_expire_invites_removes_stale_grants_only(cast):
    case = make_case(cast)
    stale = invite(cast, case)
    CaseInvite.objects.filter(pk=stale.pk).update(expires_at=timezone.now())
    fresh_expert = make_user("fresh_expert", specialty="radiology")
    invite(cast, case, expert=fresh_expert)
    call_command("expire_invites", verbosity=0)
    assert get_perms(cast.expert, case) == []
    assert get_perms(fresh_expert, case) == ["view_case"]


def test_expire_invites_publishes_each_revocation_it_records(
    cast, monkeypatch, django_capture_on_commit_callbacks
):
    import realtime.publish

    sent = []
    monkeypatch.setattr(realtime.publish, "publish_now", lambda group, event: sent.append(event))
    case = make_case(cast)
    stale = invite(cast, case)
    CaseInvite.objects.filter(pk=stale.pk).update(expires_at=timezone.now())
    invite(cast, case, expert=make_user("fresh_expert", specialty="radiology"))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("expire_invites", verbosity=0)
    assert [(e.type, e.user) for e in sent] == [("case.access_revoked", str(cast.expert.uuid))]
    assert AuditEvent.objects.filter(action="invite.expire").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        call_command("expire_invites", verbosity=0)  # nothing new: nothing said twice
    assert len(sent) == 1


def test_a_pending_invitation_needs_no_sweep(cast, django_capture_on_commit_callbacks):
    case = make_case(cast)
    send_invite(cast, case, capture=django_capture_on_commit_callbacks)
    CaseInvite.objects.update(expires_at=timezone.now())
    call_command("expire_invites", verbosity=0)
    assert not AuditEvent.objects.filter(action="invite.expire").exists()


def test_signing_up_needs_csrf(cast, django_capture_on_commit_callbacks):
    case = make_case(cast)
    path, _ = send_invite(cast, case, capture=django_capture_on_commit_callbacks)
    response = Client(enforce_csrf_checks=True).post(
        path + "signup/",
        {
            "username": "csrfless",
            "first_name": "C",
            "last_name": "L",
            "specialty": "pathology",
            "password1": "a-long-unusual-Pass-93",
            "password2": "a-long-unusual-Pass-93",
        },
    )
    assert response.status_code == 403
    assert not User.objects.filter(username="csrfless").exists()


def test_the_inviter_is_told_who_accepted(cast, django_capture_on_commit_callbacks):
    cast.chair.email = "chair@board.example"
    cast.chair.save()
    case = make_case(cast)
    path, _ = send_invite(cast, case, capture=django_capture_on_commit_callbacks)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        accept(cast.expert, path)
    assert [m.to for m in mail.outbox] == [["chair@board.example"]]
    assert cast.expert.username in mail.outbox[0].body
    assert ADDRESS in mail.outbox[0].body

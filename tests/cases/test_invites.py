import datetime

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from cases.models import CaseInvite
from tests.cases.factories import invite, make_case
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db


def detail(case):
    return reverse("case-detail", kwargs={"case_id": case.uuid})


def test_chair_invites_an_expert_who_then_sees_that_case_only(
    cast, django_capture_on_commit_callbacks
):
    cast.expert.email = "expert@abroad.example"
    cast.expert.save()
    case, other = make_case(cast), make_case(cast)
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(cast.chair).post(
            reverse("case-invites", kwargs={"case_id": case.uuid}),
            {"email": "EXPERT@abroad.example", "days": "14"},
        )
    assert response.status_code == 302
    created = CaseInvite.objects.get()
    assert created.expert == cast.expert
    assert abs(created.expires_at - (timezone.now() + datetime.timedelta(days=14))).seconds < 60
    assert [m.to for m in mail.outbox] == [["expert@abroad.example"]]
    expert = signed_in(cast.expert)
    assert expert.get(detail(case)).status_code == 200
    assert expert.get(detail(other)).status_code == 404
    assert (
        expert.get(reverse("board-queue", kwargs={"board_id": cast.board.uuid})).status_code == 404
    )
    assert case.pseudonym in expert.get(reverse("home")).content.decode()


def test_unknown_email_is_refused_with_a_message(cast):
    case = make_case(cast)
    response = signed_in(cast.chair).post(
        reverse("case-invites", kwargs={"case_id": case.uuid}),
        {"email": "nobody@nowhere.example", "days": "14"},
    )
    assert response.status_code == 200
    assert "No single active account has this email." in response.content.decode()
    assert not CaseInvite.objects.exists()


def test_board_members_and_patients_cannot_be_invited(cast):
    case = make_case(cast)
    for user in (cast.surgeon, cast.patient):
        user.email = f"{user.username}@x.example"
        user.save()
        response = signed_in(cast.chair).post(
            reverse("case-invites", kwargs={"case_id": case.uuid}),
            {"email": user.email, "days": "14"},
        )
        assert response.status_code == 200
    assert not CaseInvite.objects.exists()


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


def test_expired_invite_closes_the_case(cast):
    case = make_case(cast)
    granted = invite(cast, case)
    expert = signed_in(cast.expert)
    assert expert.get(detail(case)).status_code == 200
    CaseInvite.objects.filter(pk=granted.pk).update(expires_at=timezone.now())
    assert expert.get(detail(case)).status_code == 404


def test_grant_without_invite_opens_nothing(cast):
    from guardian.shortcuts import assign_perm

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


def test_expire_invites_removes_stale_grants_only(cast):
    from django.core.management import call_command
    from guardian.shortcuts import get_perms

    from tests.cast import make_user

    case = make_case(cast)
    stale = invite(cast, case)
    CaseInvite.objects.filter(pk=stale.pk).update(expires_at=timezone.now())
    fresh_expert = make_user("fresh_expert", specialty="radiology")
    invite(cast, case, expert=fresh_expert)
    call_command("expire_invites", verbosity=0)
    assert get_perms(cast.expert, case) == []
    assert get_perms(fresh_expert, case) == ["view_case"]

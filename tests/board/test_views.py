from __future__ import annotations

import json
import re
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from board.models import QuorumRequirement, Specialty
from tests.cast import PASSWORD
from tests.helpers import complete_sign_in, signed_in, totp_code, totp_device

pytestmark = pytest.mark.django_db


# --- home ------------------------------------------------------------------------


def test_boards_page_lists_the_members_boards_with_role(cast):
    response = signed_in(cast.chair).get(reverse("board-list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert cast.board.name in html
    assert cast.other_board.name not in html
    assert "Chair" in html


def test_home_for_a_user_without_board_says_so(cast):
    response = signed_in(cast.outsider).get(reverse("home"))
    assert response.status_code == 200
    assert "not a member of any board" in response.content.decode()
    assert cast.board.name not in response.content.decode()


def test_home_refuses_post(cast):
    assert signed_in(cast.chair).post(reverse("home")).status_code == 405


def test_boards_page_query_count_does_not_grow_with_boards(cast, django_assert_max_num_queries):
    from tests.cast import add_member, make_board

    client = signed_in(cast.pathologist)
    with django_assert_max_num_queries(8) as few:
        client.get(reverse("board-list"))
    for i in range(15):
        add_member(cast.pathologist, make_board(f"Board {i}"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("board-list"))
    assert response.content.decode().count('class="card board-card"') == 16


# --- board page -----------------------------------------------------------------


def board_url(board):
    return reverse("board-detail", kwargs={"board_id": board.uuid})


def test_member_sees_the_board_with_its_members_and_quorum(cast):
    response = signed_in(cast.radiologist).get(board_url(cast.board))
    assert response.status_code == 200
    html = response.content.decode()
    assert cast.pathologist.display_name in html
    assert "The members cover every required specialty." in html
    assert "Board settings" not in html  # members do not manage


def test_quorum_gap_is_shown(cast):
    QuorumRequirement.objects.create(board=cast.board, specialty=Specialty.RADIATION_ONCOLOGY)
    html = signed_in(cast.chair).get(board_url(cast.board)).content.decode()
    assert "cannot reach quorum yet" in html
    assert "Radiation oncology" in html


@pytest.mark.parametrize("who", ["outsider", "referrer", "patient", "expert", "other_member"])
def test_non_members_get_404(cast, who):
    assert signed_in(getattr(cast, who)).get(board_url(cast.board)).status_code == 404


def test_unknown_board_is_404(cast):
    url = reverse("board-detail", kwargs={"board_id": uuid.uuid4()})
    assert signed_in(cast.chair).get(url).status_code == 404


def test_deactivated_member_cannot_sign_in_and_sees_nothing(cast):
    cast.surgeon.is_active = False
    cast.surgeon.save()
    client = Client()
    response = client.post(reverse("login"), {"username": "surgeon", "password": PASSWORD})
    assert response.status_code == 200  # the form again, with its error
    assert "_auth_user_id" not in client.session
    assert client.get(board_url(cast.board)).status_code == 302


# --- board settings ---------------------------------------------------------------


def settings_url(board):
    return reverse("board-settings", kwargs={"board_id": board.uuid})


@pytest.mark.parametrize("who", ["chair", "coordinator"])
def test_managers_open_board_settings(cast, who):
    response = signed_in(getattr(cast, who)).get(settings_url(cast.board))
    assert response.status_code == 200
    checked = re.findall(r'<input[^>]*value="(\w+)"[^>]*checked', response.content.decode())
    assert set(checked) == {"pathology", "radiology", "medical_oncology", "surgical_oncology"}


RULES = {
    "vote_mode": "per_proposal",
    "tally_visibility": "hidden",
    "consensus_rule": "qualified_majority",
    "qualified_majority": "2/3",
}


def test_chair_saves_description_and_quorum(cast):
    response = signed_in(cast.chair).post(
        settings_url(cast.board),
        {
            "description": "Fridays 8:00",
            "required_specialties": ["pathology", "radiology"],
            **RULES,
        },
    )
    assert response.status_code == 302
    cast.board.refresh_from_db()
    assert cast.board.description == "Fridays 8:00"
    assert set(cast.board.quorum_requirements.values_list("specialty", flat=True)) == {
        "pathology",
        "radiology",
    }
    # Unticked boxes switch the options off, de-identification included.
    assert cast.board.deidentify_imaging is False
    signed_in(cast.chair).post(
        settings_url(cast.board), {"description": "x", "deidentify_imaging": "on", **RULES}
    )
    cast.board.refresh_from_db()
    assert cast.board.deidentify_imaging is True


def test_chair_sets_how_the_board_decides(cast):
    page = signed_in(cast.chair).get(settings_url(cast.board)).content.decode()
    assert 'name="consensus_rule"' in page and 'name="qualified_majority"' in page
    rules = {
        "vote_mode": "single_choice",
        "tally_visibility": "live",
        "consensus_rule": "unanimity",
        "qualified_majority": "3/4",
    }
    response = signed_in(cast.chair).post(settings_url(cast.board), {"description": "", **rules})
    assert response.status_code == 302
    cast.board.refresh_from_db()
    assert {name: getattr(cast.board, name) for name in rules} == rules


def test_an_unknown_rule_is_refused_and_nothing_changes(cast):
    response = signed_in(cast.chair).post(
        settings_url(cast.board),
        {"description": "changed", **RULES, "consensus_rule": "dictator"},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    cast.board.refresh_from_db()
    assert (cast.board.description, cast.board.consensus_rule) == ("", "qualified_majority")


def test_bad_specialty_is_refused_with_a_message(cast):
    response = signed_in(cast.chair).post(
        settings_url(cast.board), {"description": "", "required_specialties": ["astrology"]}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert cast.board.quorum_requirements.count() == 4


@pytest.mark.parametrize("who", ["pathologist", "radiologist", "surgeon"])
def test_plain_members_get_403_on_settings(cast, who):
    client = signed_in(getattr(cast, who))
    assert client.get(settings_url(cast.board)).status_code == 403
    assert client.post(settings_url(cast.board), {"description": "x"}).status_code == 403
    cast.board.refresh_from_db()
    assert cast.board.description == ""


@pytest.mark.parametrize("who", ["outsider", "other_member", "referrer"])
def test_outsiders_get_404_on_settings(cast, who):
    assert signed_in(getattr(cast, who)).get(settings_url(cast.board)).status_code == 404


def test_settings_refuse_put(cast):
    assert signed_in(cast.chair).put(settings_url(cast.board)).status_code == 405


def test_settings_post_without_csrf_is_refused(cast):
    client = Client(enforce_csrf_checks=True)
    complete_sign_in(client, cast.chair)
    response = client.post(settings_url(cast.board), {"description": "sneaky"})
    assert response.status_code == 403
    cast.board.refresh_from_db()
    assert cast.board.description == ""


# --- account ----------------------------------------------------------------------


def test_account_page_saves_profile(cast):
    client = signed_in(cast.pathologist)
    assert client.get(reverse("account")).status_code == 200
    response = client.post(
        reverse("account"),
        {
            "first_name": "Jonas",
            "last_name": "Lindqvist",
            "email": "jl@example.org",
            "institution": "Karolinska",
            "specialty": "pathology",
            "time_zone": "Europe/Stockholm",
        },
    )
    assert response.status_code == 302
    cast.pathologist.refresh_from_db()
    assert (cast.pathologist.institution, cast.pathologist.time_zone) == (
        "Karolinska",
        "Europe/Stockholm",
    )


def test_account_refuses_an_unknown_time_zone(cast):
    response = signed_in(cast.pathologist).post(
        reverse("account"),
        {
            "first_name": "J",
            "last_name": "L",
            "specialty": "pathology",
            "time_zone": "Mars/Olympus",
        },
    )
    assert response.status_code == 200
    cast.pathologist.refresh_from_db()
    assert cast.pathologist.time_zone == "UTC"


# --- authentication pages ---------------------------------------------------------------


def test_login_with_password_then_second_factor_then_home(cast):
    device = totp_device(cast.chair)
    client = Client()
    response = client.post(reverse("login"), {"username": "chair", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    response = client.get(reverse("home"))
    assert response["Location"].startswith(reverse("second-factor-verify"))
    response = client.post(
        reverse("second-factor-verify"), {"code": totp_code(device), "next": reverse("home")}
    )
    assert response["Location"] == reverse("home")
    assert "Cases to triage" in client.get(reverse("home")).content.decode()


def test_login_with_wrong_password_shows_an_error(cast):
    response = Client().post(reverse("login"), {"username": "chair", "password": "nope"})
    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()


def test_logout_is_post_only(cast):
    client = signed_in(cast.chair)
    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_password_change(cast):
    client = signed_in(cast.chair)
    assert client.get(reverse("password_change")).status_code == 200
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-much-longer-pass-2026",
            "new_password2": "a-much-longer-pass-2026",
        },
    )
    assert response.status_code == 302
    cast.chair.refresh_from_db()
    assert cast.chair.check_password("a-much-longer-pass-2026")


def test_healthz_is_public_and_reports_ok(db):
    response = Client().get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_header_shows_user_and_role(cast):
    html = signed_in(cast.coordinator).get(reverse("home")).content.decode()
    assert cast.coordinator.display_name in html
    assert '<span class="user-role">Coordinator' in html


def test_times_are_shown_in_the_users_zone(cast):
    cast.chair.time_zone = "America/Chicago"
    cast.chair.save()
    html = signed_in(cast.chair).get(reverse("home")).content.decode()
    assert "Times are shown in America/Chicago." in html


# --- the account socket's config -------------------------------------------------------


def test_signed_in_pages_give_the_account_socket_config(cast):
    html = signed_in(cast.chair).get(reverse("home")).content.decode()
    config = json.loads(re.search(r'id="account-config"[^>]*>(.*?)</script>', html).group(1))
    assert config == {"socket": "/ws/account/", "loginUrl": reverse("login")}


def test_signed_out_pages_have_no_account_socket(client):
    html = client.get(reverse("login")).content.decode()
    assert "account-config" not in html
    assert "account-socket.js" not in html


def test_chair_sets_the_boards_time_zone(cast):
    page = signed_in(cast.chair).get(settings_url(cast.board)).content.decode()
    assert re.search(r'<option value="UTC"[^>]*selected', page)
    assert 'value="US/Eastern"' not in page  # one name per place, as everywhere
    data = {"description": "x", **RULES}
    response = signed_in(cast.chair).post(
        settings_url(cast.board), data | {"time_zone": "Europe/Paris"}
    )
    assert response.status_code == 302
    cast.board.refresh_from_db()
    assert cast.board.time_zone == "Europe/Paris"
    page = signed_in(cast.chair).get(settings_url(cast.board)).content.decode()
    assert re.search(r'<option value="Europe/Paris"[^>]*selected', page)
    # An unknown zone is refused; a POST without the field leaves it as it was.
    refused = signed_in(cast.chair).post(
        settings_url(cast.board), data | {"time_zone": "Mars/Base"}
    )
    assert refused.status_code != 302
    signed_in(cast.chair).post(settings_url(cast.board), data)
    cast.board.refresh_from_db()
    assert cast.board.time_zone == "Europe/Paris"

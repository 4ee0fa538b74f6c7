import base64
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from board.demo import DEMO_PASSWORD, SARCOMA_BOARD
from board.models import Board, Membership, QuorumRequirement, User

pytestmark = pytest.mark.django_db


def counts():
    return (
        User.objects.count(),
        Board.objects.count(),
        Membership.objects.count(),
        QuorumRequirement.objects.count(),
    )


def test_seed_demo_creates_the_sarcoma_board_and_cast(capsys):
    call_command("seed_demo")
    board = Board.objects.get(name=SARCOMA_BOARD)
    roles = dict(board.memberships.values_list("user__username", "role"))
    assert roles == {
        "chair": "chair",
        "pathologist": "member",
        "radiologist": "member",
        "oncologist": "member",
        "surgeon": "member",
    }
    for outsider in ("referrer", "patient", "outsider"):
        assert not Membership.objects.filter(user__username=outsider).exists()
    assert User.objects.get(username="patient").kind == User.Kind.PATIENT
    assert User.objects.get(username="surgeon").check_password(DEMO_PASSWORD)
    out = capsys.readouterr().out
    assert DEMO_PASSWORD in out
    assert "radiologist" in out


def test_seed_demo_is_idempotent():
    call_command("seed_demo")
    first = counts()
    User.objects.filter(username="chair").update(first_name="Changed")
    call_command("seed_demo")
    assert counts() == first
    assert User.objects.get(username="chair").first_name == "Elena"


def test_seed_demo_refuses_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="refuses"):
        call_command("seed_demo")
    assert counts() == (0, 0, 0, 0)


def test_seed_demo_enrols_members_and_admin_with_the_readme_keys(capsys):
    call_command("seed_demo", imaging_slices=0)
    out = capsys.readouterr().out
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for username in ("chair", "pathologist", "radiologist", "oncologist", "surgeon", "admin"):
        device = TOTPDevice.objects.get(user__username=username, confirmed=True)
        secret = base64.b32encode(device.bin_key).decode()
        assert secret in out
        assert f"| `{username}` " in readme and secret in readme, username
    # Offered, not enrolled: they sign in with the password alone until they choose to enrol.
    for username in ("referrer", "patient", "outsider"):
        assert not TOTPDevice.objects.filter(user__username=username).exists()
    call_command("seed_demo", imaging_slices=0)
    assert TOTPDevice.objects.filter(user__username="chair").count() == 1


def test_demo_code_prints_the_code_the_server_accepts(capsys):
    call_command("seed_demo", imaging_slices=0)
    capsys.readouterr()
    call_command("demo_code", "chair")
    code = capsys.readouterr().out.strip()
    device = TOTPDevice.objects.get(user__username="chair")
    assert device.verify_token(code)


def test_demo_code_refuses_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="refuses"):
        call_command("demo_code", "chair")


def test_seed_demo_adds_the_expert_service_and_its_case_assigned_to_its_expert():
    from board.demo import EXPERT_CASE, EXPERT_SERVICE
    from cases.models import Case, ExpertReview

    call_command("seed_demo")
    call_command("seed_demo")
    service = Board.objects.get(name=EXPERT_SERVICE)
    assert service.is_pathology_review
    roles = dict(service.memberships.values_list("user__username", "role"))
    assert roles == {"pathologist": "coordinator", "expertpath": "member"}
    case = Case.objects.get(pseudonym=EXPERT_CASE)
    assert case.board == service and case.status == Case.Status.IN_REVIEW
    review = ExpertReview.objects.get(case=case)
    assert review.purpose == "answer" and review.expert.username == "expertpath"

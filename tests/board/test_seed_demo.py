import pytest
from django.core.management import CommandError, call_command

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

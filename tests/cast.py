"""The fixed cast of users every test can rely on, plus small factories."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.contrib.auth.hashers import make_password

from board.models import Board, Membership, QuorumRequirement, Specialty, User

PASSWORD = "cast-password-7Q!"
# Every cast member's authenticator app holds this key (tests.helpers.totp_device).
SECOND_FACTOR_SECRET = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"


@cache
def password_hash() -> str:
    # Hashing is deliberately slow; hash once per process, reuse everywhere.
    return make_password(PASSWORD)


def make_user(username: str, **fields) -> User:
    fields.setdefault("kind", User.Kind.CLINICIAN)
    fields.setdefault("first_name", username.capitalize())
    fields.setdefault("last_name", "Test")
    return User.objects.create(username=username, password=password_hash(), **fields)


def make_board(name: str = "Sarcoma Board", *, required: tuple[str, ...] = ()) -> Board:
    board = Board.objects.create(name=name, disease_focus=Board.DiseaseFocus.SARCOMA)
    for specialty in required:
        QuorumRequirement.objects.create(board=board, specialty=specialty)
    return board


def add_member(user: User, board: Board, role: str = Membership.Role.MEMBER) -> Membership:
    return Membership.objects.create(
        user=user, board=board, role=role, specialty=user.specialty or Specialty.OTHER
    )


@dataclass
class Cast:
    board: Board
    other_board: Board
    chair: User
    coordinator: User
    pathologist: User
    radiologist: User
    oncologist: User
    surgeon: User
    referrer: User
    patient: User
    expert: User
    outsider: User
    other_member: User

    @property
    def members(self) -> list[User]:
        return [self.pathologist, self.radiologist, self.oncologist, self.surgeon]


def make_cast() -> Cast:
    board = make_board(
        required=(
            Specialty.PATHOLOGY,
            Specialty.RADIOLOGY,
            Specialty.MEDICAL_ONCOLOGY,
            Specialty.SURGICAL_ONCOLOGY,
        )
    )
    other_board = make_board("Head and Neck Board")
    people = {
        "chair": make_user("chair", specialty=Specialty.MEDICAL_ONCOLOGY),
        "coordinator": make_user("coordinator", specialty=Specialty.OTHER),
        "pathologist": make_user("pathologist", specialty=Specialty.PATHOLOGY),
        "radiologist": make_user("radiologist", specialty=Specialty.RADIOLOGY),
        "oncologist": make_user("oncologist", specialty=Specialty.MEDICAL_ONCOLOGY),
        "surgeon": make_user("surgeon", specialty=Specialty.SURGICAL_ONCOLOGY),
        "referrer": make_user("referrer", specialty=Specialty.OTHER, institution="Riverside"),
        "patient": make_user("patient", kind=User.Kind.PATIENT),
        "expert": make_user("expert", specialty=Specialty.PATHOLOGY, institution="Abroad"),
        "outsider": make_user("outsider", specialty=Specialty.RADIOLOGY),
        "other_member": make_user("other_member", specialty=Specialty.SURGICAL_ONCOLOGY),
    }
    add_member(people["chair"], board, Membership.Role.CHAIR)
    add_member(people["coordinator"], board, Membership.Role.COORDINATOR)
    for name in ("pathologist", "radiologist", "oncologist", "surgeon"):
        add_member(people[name], board)
    add_member(people["other_member"], other_board)
    return Cast(board=board, other_board=other_board, **people)

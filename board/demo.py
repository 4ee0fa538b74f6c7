"""Demo data for a first look at Consilium. Fictional people only."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from board.models import Board, Membership, QuorumRequirement, Specialty, User
from cases.demo import seed_demo_cases

DEMO_PASSWORD = "consilium-demo"  # noqa: S105 - printed in README and by `make run`

SARCOMA_BOARD = "Sarcoma Tumor Board"


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    kind: str
    specialty: str
    institution: str
    role: str | None  # role on the sarcoma board, None for non-members
    description: str


DEMO_USERS = [
    DemoUser("chair", "Elena", "Marchetti", "clinician", Specialty.MEDICAL_ONCOLOGY,
             "Consilium Sarcoma Centre", Membership.Role.CHAIR, "board chair (medical oncology)"),
    DemoUser("pathologist", "Jonas", "Lindqvist", "clinician", Specialty.PATHOLOGY,
             "Consilium Sarcoma Centre", Membership.Role.MEMBER, "pathologist"),
    DemoUser("radiologist", "Amara", "Okafor", "clinician", Specialty.RADIOLOGY,
             "Consilium Sarcoma Centre", Membership.Role.MEMBER, "radiologist"),
    DemoUser("oncologist", "Tomás", "Herrera", "clinician", Specialty.MEDICAL_ONCOLOGY,
             "Consilium Sarcoma Centre", Membership.Role.MEMBER, "medical oncologist"),
    DemoUser("surgeon", "Sophie", "Brandt", "clinician", Specialty.SURGICAL_ONCOLOGY,
             "Consilium Sarcoma Centre", Membership.Role.MEMBER, "surgical oncologist"),
    DemoUser("referrer", "Lukas", "Novak", "clinician", Specialty.OTHER,
             "Riverside General Hospital", None, "referring doctor"),
    DemoUser("patient", "Maria", "Santos", "patient", "",
             "", None, "patient asking for a second opinion"),
    DemoUser("outsider", "Peter", "Quinn", "clinician", Specialty.OTHER,
             "Elsewhere Clinic", None, "clinician with no board"),
]  # fmt: skip


def demo_totp_secret(username: str) -> str:
    """The demo account's authenticator key (base32, as printed in README's demo table). Public
    on purpose, like the demo password: demo data only, refused under production."""
    return base64.b32encode(f"demo:{username}".ljust(20, ".").encode()[:20]).decode()


def _enrol_demo_totp(user: User) -> None:
    if settings.PRODUCTION:  # the caller refuses too; a public key must never reach production
        raise RuntimeError("demo second factors are refused under CONSILIUM_PRODUCTION=1")
    key = base64.b32decode(demo_totp_secret(user.username)).hex()
    TOTPDevice.objects.filter(user=user).exclude(key=key).delete()
    TOTPDevice.objects.get_or_create(
        user=user, key=key, defaults={"name": "Demo authenticator", "confirmed": True}
    )


# Those who must have a second factor under the default SECOND_FACTOR_REQUIRED_FOR: members
# and the admin. The referrer, patient and outsider are offered one and may enrol.
DEMO_SECOND_FACTOR = ("chair", "pathologist", "radiologist", "oncologist", "surgeon", "admin")


@transaction.atomic
def seed_demo(*, imaging_slices: int = 0) -> list[DemoUser]:
    """Create or reset the demo board, users and cases. Running it twice changes nothing more."""
    board, _ = Board.objects.update_or_create(
        name=SARCOMA_BOARD,
        defaults={
            "disease_focus": Board.DiseaseFocus.SARCOMA,
            "description": (
                "Weekly multidisciplinary review of soft-tissue and bone sarcomas: "
                "diagnosis, staging and first treatment plan, and second opinions."
            ),
        },
    )
    for specialty in (
        Specialty.PATHOLOGY,
        Specialty.RADIOLOGY,
        Specialty.MEDICAL_ONCOLOGY,
        Specialty.SURGICAL_ONCOLOGY,
    ):
        QuorumRequirement.objects.get_or_create(board=board, specialty=specialty)

    password_hash = None
    users: dict[str, User] = {}
    for demo in DEMO_USERS:
        user, created = User.objects.update_or_create(
            username=demo.username,
            defaults={
                "first_name": demo.first_name,
                "last_name": demo.last_name,
                "email": f"{demo.username}@demo.consilium.invalid",
                "kind": demo.kind,
                "specialty": demo.specialty,
                "institution": demo.institution,
                "is_active": True,
            },
        )
        if created or not user.check_password(DEMO_PASSWORD):
            # Hash once; the same salted hash serves every demo account.
            if password_hash is None:
                user.set_password(DEMO_PASSWORD)
                password_hash = user.password
            user.password = password_hash
            user.save(update_fields=["password"])
        users[demo.username] = user
        if demo.role:
            Membership.objects.update_or_create(
                user=user, board=board, defaults={"role": demo.role, "specialty": demo.specialty}
            )
    admin, created = User.objects.get_or_create(
        username="admin",
        defaults={"first_name": "", "is_staff": True, "is_superuser": True, "kind": "clinician"},
    )
    if created or not admin.check_password(DEMO_PASSWORD):
        admin.set_password(DEMO_PASSWORD)
        admin.save(update_fields=["password"])
    for user in (*users.values(), admin):
        if user.username in DEMO_SECOND_FACTOR:
            _enrol_demo_totp(user)
    members = {demo.username: users[demo.username] for demo in DEMO_USERS if demo.role}
    cases = seed_demo_cases(
        board=board, referrer=users["referrer"], patient=users["patient"], members=members
    )
    if imaging_slices:
        from imaging.demo import seed_demo_imaging

        seed_demo_imaging(case=cases[0], by=users["referrer"], slices=imaging_slices)
    return DEMO_USERS

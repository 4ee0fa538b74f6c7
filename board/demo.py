"""Demo data for a first look at Consilium. Fictional people only."""

from __future__ import annotations

import base64
import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from board.models import Board, Membership, QuorumRequirement, Specialty, User
from cases.demo import seed_demo_cases
from cases.models import Case, ExpertReview
from cases.services import CASE_FIELDS, case_create, case_update
from decisions.models import ExpertOpinion

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
    DemoUser("expertpath", "Ines", "Moreau", "clinician", Specialty.PATHOLOGY,
             "Atlantic Sarcoma Reference Centre", None,
             "expert sarcoma pathologist of the expert pathology review service"),
]  # fmt: skip

EXPERT_SERVICE = "Expert sarcoma pathology review"
EXPERT_CASE = "DEMOX1"


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
DEMO_SECOND_FACTOR = (
    "chair",
    "pathologist",
    "radiologist",
    "oncologist",
    "surgeon",
    "expertpath",
    "admin",
)


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
    _seed_expert_service(users)
    if imaging_slices:
        from imaging.demo import seed_demo_imaging

        seed_demo_imaging(case=cases[0], by=users["referrer"], slices=imaging_slices)
    return DEMO_USERS


def _seed_expert_service(users: dict[str, User]) -> None:
    """The expert service (issue #16): "Expert sarcoma pathology review", coordinated by the
    board's pathologist, with one expert; and one referred case assigned to her, in review."""
    service, _ = Board.objects.update_or_create(
        name=EXPERT_SERVICE,
        defaults={
            "kind": Board.Kind.EXPERT_SERVICE,
            "review_kind": Board.ReviewKind.PATHOLOGY,
            "disease_focus": Board.DiseaseFocus.SARCOMA,
            "description": (
                "Second-opinion review of soft-tissue and bone tumour diagnoses by an expert "
                "sarcoma pathologist: one expert answers each case with a signed opinion."
            ),
            "turnaround_days": 10,
        },
    )
    Membership.objects.update_or_create(
        user=users["pathologist"],
        board=service,
        defaults={"role": Membership.Role.COORDINATOR, "specialty": Specialty.PATHOLOGY},
    )
    Membership.objects.update_or_create(
        user=users["expertpath"],
        board=service,
        defaults={"role": Membership.Role.MEMBER, "specialty": Specialty.PATHOLOGY},
    )
    referrer = users["referrer"]
    case = Case.objects.filter(pseudonym=EXPERT_CASE).first()
    if (
        case is not None
        and ExpertOpinion.objects.filter(review__case=case, signed_at__isnull=False).exists()
    ):
        return  # signed while exploring: what was signed stays (decisions 0008)
    # Every field, as cases.demo resets its cases: edits made while exploring go.
    data = {name: Case._meta.get_field(name).get_default() for name in CASE_FIELDS}
    data |= {
        "sex": Case.Sex.FEMALE,
        "age": 71,
        "clinical_summary": (
            "71-year-old woman with a 6 cm subcutaneous mass of the posterior thigh, grown "
            "over a year. Excision elsewhere: spindle cells in a myxoid stroma, reported as "
            "undifferentiated pleomorphic sarcoma, grade 2. Slides and blocks sent."
        ),
        "question": "Please review the diagnosis and grade before we plan re-excision.",
        "entity": "undifferentiated_pleomorphic_sarcoma",
        "reported_grade": Case.ReportedGrade.G2,
        "referring_physician": referrer.display_name,
        "referring_institution": referrer.institution,
        "slides": Case.Slides.RECEIVED,
    }
    identity = {
        "full_name": "Astrid Lind-Test",
        "date_of_birth": datetime.date(1955, 3, 9),
        "hospital_number": "RGH-000871",
    }
    if case is None:
        case = case_create(by=referrer, board=service, data=data, identity=identity)
        case.pseudonym = EXPERT_CASE
    else:
        case = case_update(by=referrer, case=case, data=data, identity=identity)
    case.board = service
    case.status = Case.Status.IN_REVIEW
    case.submitted_at = case.submitted_at or timezone.now()
    case.save()
    review, _ = ExpertReview.objects.get_or_create(
        case=case,
        purpose=ExpertReview.Purpose.ANSWER,
        defaults={"service": service, "requested_by": referrer},
    )
    ExpertReview.objects.filter(pk=review.pk).update(
        service=service,
        expert=users["expertpath"],
        assigned_by=users["pathologist"],
        assigned_at=review.assigned_at or timezone.now(),
    )

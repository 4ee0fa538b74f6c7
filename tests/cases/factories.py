"""Cases in a given state, for tests."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from guardian.shortcuts import assign_perm

from board.models import User
from cases.models import Attachment, Case, CaseInvite, Opinion, PatientIdentity
from tests.cast import Cast

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PATIENT_NAME = "Zebediah Quarrington"
PATIENT_DOB = datetime.date(1961, 3, 14)
HOSPITAL_NUMBER = "RGH-7788123"


def make_case(
    cast: Cast,
    *,
    status: str = Case.Status.IN_REVIEW,
    submitted_by: User | None = None,
    board=None,
    **fields,
) -> Case:
    submitter = submitted_by or cast.referrer
    defaults = {
        "kind": Case.Kind.PATIENT if submitter.kind == User.Kind.PATIENT else Case.Kind.DOCTOR,
        "sex": Case.Sex.MALE,
        "age": 58,
        "clinical_summary": "Deep thigh mass, 11.5 cm on MRI.",
        "question": "Neoadjuvant radiotherapy or upfront surgery?",
        "entity": "undifferentiated_pleomorphic_sarcoma",
        "primary_site": "trunk_extremity",
        "size_cm": Decimal("11.5"),
        "depth": Case.Depth.DEEP,
        "differentiation_score": 3,
        "mitotic_count": 24,
        "necrosis": 1,
        "nodes": "N0",
        "metastasis": "M0",
    }
    defaults.update(fields)
    case = Case.objects.create(
        board=board or cast.board, submitted_by=submitter, status=status, **defaults
    )
    PatientIdentity.objects.create(
        case=case,
        full_name=PATIENT_NAME,
        date_of_birth=PATIENT_DOB,
        hospital_number=HOSPITAL_NUMBER,
    )
    return case


def add_pdf(case: Case, by: User) -> Attachment:
    attachment = Attachment(
        case=case,
        uploaded_by=by,
        original_name="pathology.pdf",
        kind="pdf",
        mime="application/pdf",
        extension="pdf",
        size=len(PDF),
        sha256="0" * 64,
    )
    attachment.file.save("x", SimpleUploadedFile("x.pdf", PDF), save=False)
    attachment.save()
    return attachment


def invite(cast: Cast, case: Case, *, expert: User | None = None, days: float = 7) -> CaseInvite:
    expert = expert or cast.expert
    now = timezone.now()
    invite = CaseInvite.objects.create(
        case=case,
        email=expert.email or f"{expert.username}@expert.example",
        expert=expert,
        invited_by=cast.chair,
        expires_at=now + datetime.timedelta(days=days),
        accepted_at=now,
    )
    assign_perm("cases.view_case", expert, case)
    return invite


def opinion(case: Case, author: User, body: str = "Agree with **G3** grading.", parent=None):
    return Opinion.objects.create(
        case=case,
        author=author,
        author_specialty=author.specialty or "other",
        body=body,
        parent=parent,
    )


def case_form_data(cast: Cast, **overrides) -> dict[str, str]:
    """What a referrer types into the new-case form: a valid trunk/extremity sarcoma."""
    data = {
        "board": str(cast.board.uuid),
        "full_name": "Ada Q. Patient",
        "date_of_birth": "1968-05-02",
        "hospital_number": "H-42",
        "sex": "F",
        "age": "",
        "question": "Is wide excision enough?",
        "urgency": "routine",
        "clinical_summary": "Growing lump on the back for 6 months.",
        "history": "",
        "referring_physician": "Dr Novak",
        "referring_institution": "Riverside General",
        "entity": "myxofibrosarcoma",
        "diagnosis_other": "",
        "primary_site": "trunk_extremity",
        "size_cm": "6.5",
        "depth": "deep",
        "differentiation_score": "2",
        "mitotic_count": "12",
        "necrosis": "1",
        "nodes": "N0",
        "metastasis": "M0",
        "r_class": "",
        "molecular_findings": "",
        "ecog": "0",
        "pathology_review": "pending",
    }
    data.update(overrides)
    return data

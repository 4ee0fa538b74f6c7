"""Demo sarcoma cases for the demo board. Fictional patients only.

Each demo case is known by a fixed pseudonym. Generated pseudonyms never contain 0 or 1
(see ``new_pseudonym``), so "DEMO01" can never collide with a real case.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from board.models import Board, User
from cases.access import case_access
from cases.demo_pdf import simple_pdf
from cases.models import Case
from cases.services import CASE_FIELDS, attachment_add, case_create, case_update, opinion_post

REPORT_NAME = "pathology-report.pdf"
REPORT_TITLE = "Histopathology report"

S = Case.Status


@dataclass(frozen=True)
class DemoCase:
    pseudonym: str
    kind: str  # doctor cases come from the demo referrer, patient cases from the demo patient
    status: str
    data: dict[str, Any]
    identity: dict[str, Any]
    report: tuple[str, ...] = ()  # lines of a pathology report attached as a PDF
    opinions: tuple[tuple[str, str], ...] = ()  # (member username, Markdown body)

    @property
    def referred(self) -> bool:
        return self.kind == Case.Kind.DOCTOR


DEMO_CASES = (
    DemoCase(
        pseudonym="DEMO01",
        kind=Case.Kind.DOCTOR,
        status=S.IN_REVIEW,
        data={
            "sex": Case.Sex.MALE,
            "age": 58,
            "clinical_summary": (
                "58-year-old man with a painless, slowly enlarging mass in the right "
                "anterolateral thigh, first noticed 4 months ago. MRI: 11.5 x 8.2 x 7.0 cm "
                "heterogeneous intramuscular mass in the vastus intermedius and lateralis, deep "
                "to the fascia lata, abutting the femoral periosteum without cortical erosion, "
                "1.5 cm from the superficial femoral vessels. Ultrasound-guided core needle "
                "biopsy (3 cores, tract marked): high-grade undifferentiated pleomorphic "
                "sarcoma. CT chest, abdomen and pelvis: no metastases."
            ),
            "history": (
                "Hypertension (amlodipine). Ex-smoker, 20 pack-years. No prior radiotherapy, "
                "no known hereditary cancer syndrome. Works as a carpenter."
            ),
            "question": (
                "Preoperative radiotherapy (50 Gy in 25 fractions) followed by wide resection, "
                "or upfront wide resection with postoperative radiotherapy depending on the "
                "margins? Is there a role for perioperative anthracycline-ifosfamide "
                "chemotherapy given the grade and size?"
            ),
            "urgency": Case.Urgency.PRIORITY,
            "entity": "undifferentiated_pleomorphic_sarcoma",
            "primary_site": "trunk_extremity",
            "size_cm": Decimal("11.5"),
            "depth": Case.Depth.DEEP,
            "differentiation_score": 3,
            "mitotic_count": 24,
            "necrosis": Case.Necrosis.UNDER_HALF,
            "nodes": Case.Nodes.N0,
            "metastasis": Case.Metastasis.M0,
            "resection": Case.Resection.NOT_RESECTED,
            "molecular_findings": "No MDM2 amplification (FISH).",
            "ecog": 1,
            "pathology_review": Case.PathologyReview.PENDING,
        },
        identity={
            "full_name": "Hans Müller-Test",
            "date_of_birth": datetime.date(1968, 5, 2),
            "hospital_number": "RGH-000123",
        },
        report=(
            "Riverside General Hospital - Department of Pathology",
            "Case DEMO01 (patient identifiers removed before upload)",
            "Report RGH-P-26-04512",
            "",
            "Specimen: ultrasound-guided core needle biopsy, right thigh mass (3 cores, 14G).",
            "",
            "Macroscopy: three grey-white tissue cores of 12, 15 and 18 mm, entirely embedded "
            "(A1-A3).",
            "",
            "Microscopy: a highly cellular spindle and pleomorphic cell tumour with bizarre "
            "multinucleated tumour giant cells, storiform areas and atypical mitoses. Focal "
            "coagulative tumour necrosis (less than 50% of the sampled tissue). No lipoblasts, "
            "no osteoid, no heterologous differentiation.",
            "",
            "Immunohistochemistry: SMA focally positive; desmin, h-caldesmon, S100, SOX10, "
            "pan-cytokeratin (AE1/AE3), CD34, MDM2 and CDK4 negative; INI1 (SMARCB1) retained.",
            "",
            "Molecular: MDM2 FISH not amplified (MDM2/CEP12 ratio 1.1).",
            "",
            "FNCLCC grading: differentiation 3, mitoses 24 per 10 HPF (score 3), necrosis "
            "< 50% (score 1); total score 7 = grade 3.",
            "",
            "DIAGNOSIS: undifferentiated pleomorphic sarcoma, FNCLCC grade 3, right thigh "
            "(core needle biopsy).",
            "",
            "Comment: a core biopsy may underestimate the grade; the final grade is assigned "
            "on the resection specimen. Review by a sarcoma reference pathologist is advised.",
        ),
        opinions=(
            (
                "pathologist",
                "**Preliminary pathology review** (scanned slides; the blocks are on their "
                "way, so the formal review is still pending)\n\n"
                "- The morphology agrees with the referring report: a pleomorphic spindle cell "
                "sarcoma without a line of differentiation. With MDM2 not amplified on FISH and "
                "negative myogenic, melanocytic and epithelial markers, **undifferentiated "
                "pleomorphic sarcoma** is the right diagnosis; dedifferentiated liposarcoma is "
                "excluded as far as a biopsy allows.\n"
                "- **FNCLCC grade 3**: differentiation 3, 24 mitoses per 10 HPF (score 3), "
                "necrosis under 50% (score 1), total 7.\n"
                "- A core biopsy can under-grade, but this one is already grade 3: the "
                "resection specimen will not lower the grade that drives treatment.\n\n"
                "On the blocks I will add MyoD1 and myogenin to close out pleomorphic "
                "rhabdomyosarcoma, then confirm.",
            ),
            (
                "radiologist",
                "**MRI right thigh with contrast and staging CT, reviewed**\n\n"
                "- 11.5 x 8.2 x 7.0 cm intramuscular mass in the **vastus intermedius and "
                "lateralis**, deep to the fascia lata; heterogeneous T2 signal, central "
                "non-enhancing areas (necrosis) and an enhancing rim.\n"
                "- Abuts the femoral periosteum over 6 cm without cortical erosion or marrow "
                "oedema.\n"
                "- Fat plane of **1.5 cm** to the superficial femoral vessels; sciatic nerve "
                "clear.\n"
                "- Peritumoral oedema extends 3 cm proximally along the fascia: it belongs in "
                "the radiotherapy target volume and the resection plan.\n"
                "- CT chest: no pulmonary nodules; no lymphadenopathy. **T3 N0 M0**.\n\n"
                "From the imaging side a limb-sparing resection looks feasible. If preoperative "
                "radiotherapy is chosen, a restaging MRI 4-6 weeks after it becomes the "
                "baseline for surgery.",
            ),
        ),
    ),
    DemoCase(
        pseudonym="DEMO02",
        kind=Case.Kind.DOCTOR,
        status=S.SUBMITTED,
        data={
            "sex": Case.Sex.FEMALE,
            "age": 64,
            "clinical_summary": (
                "64-year-old woman with abdominal distension and early satiety over 6 months. "
                "CT: 22 cm left retroperitoneal mass, mostly well-differentiated fat, with a "
                "7 cm solid enhancing nodule at the lower pole of the left kidney. It displaces "
                "the descending colon anteriorly, encases the left ureter and abuts the psoas. "
                "CT-guided core biopsy of the solid nodule: dedifferentiated liposarcoma, MDM2 "
                "amplified. CT chest: no metastases."
            ),
            "history": (
                "Type 2 diabetes (metformin). Appendicectomy. Creatinine 68 umol/L; MAG3 "
                "renogram split function left 46%, right 54%."
            ),
            "question": (
                "What extent of resection do you recommend: a compartmental en-bloc resection "
                "with the left kidney, descending colon and psoas fascia, or a kidney-sparing "
                "resection of the mass? Would you give preoperative treatment first?"
            ),
            "urgency": Case.Urgency.ROUTINE,
            "entity": "dedifferentiated_liposarcoma",
            "primary_site": "retroperitoneum",
            "size_cm": Decimal("22.0"),
            "depth": Case.Depth.DEEP,
            "differentiation_score": 3,
            "mitotic_count": 8,
            "necrosis": Case.Necrosis.NONE,
            "nodes": Case.Nodes.N0,
            "metastasis": Case.Metastasis.M0,
            "resection": Case.Resection.NOT_RESECTED,
            "molecular_findings": (
                "MDM2 amplified (FISH, MDM2/CEP12 ratio 8.4); CDK4 overexpressed (IHC)."
            ),
            "ecog": 1,
            "pathology_review": Case.PathologyReview.PENDING,
        },
        identity={
            "full_name": "Greta Hoffmann-Test",
            "date_of_birth": datetime.date(1962, 2, 19),
            "hospital_number": "RGH-000124",
        },
        report=(
            "Riverside General Hospital - Department of Pathology",
            "Case DEMO02 (patient identifiers removed before upload)",
            "Report RGH-P-26-04877",
            "",
            "Specimen: CT-guided core needle biopsy, left retroperitoneal mass, solid "
            "component (4 cores, 16G).",
            "",
            "Microscopy: a moderately to highly cellular, non-lipogenic spindle cell sarcoma "
            "with pleomorphic nuclei and fascicular growth. One core shows mature adipocytes "
            "of variable size with atypical hyperchromatic stromal cells, in keeping with a "
            "well-differentiated liposarcoma component. Mitoses 8 per 10 HPF. No necrosis.",
            "",
            "Immunohistochemistry: MDM2 and CDK4 diffusely nuclear positive, p16 positive; "
            "desmin, myogenin, S100 and pan-cytokeratin negative in the spindle cell component.",
            "",
            "Molecular: MDM2 FISH amplified (MDM2/CEP12 ratio 8.4).",
            "",
            "FNCLCC grading: differentiation 3 (dedifferentiated component), mitoses 8 per "
            "10 HPF (score 1), no necrosis (score 0); total score 4 = grade 2.",
            "",
            "DIAGNOSIS: dedifferentiated liposarcoma arising in a well-differentiated "
            "liposarcoma, FNCLCC grade 2, left retroperitoneum (core needle biopsy).",
            "",
            "Comment: a biopsy samples a small part of a large heterogeneous tumour; "
            "unsampled areas may be of higher grade.",
        ),
    ),
    DemoCase(
        pseudonym="DEMO03",
        kind=Case.Kind.PATIENT,
        status=S.SUBMITTED,
        data={
            "sex": Case.Sex.FEMALE,
            "age": 47,
            "clinical_summary": (
                "Last spring I noticed a lump at the back of my left upper arm. It did not "
                "hurt, so I thought it was a cyst, but over the summer it grew to the size of "
                "a hen's egg. My GP sent me for an ultrasound and then an MRI, and in October "
                "they took a biopsy under local anaesthetic. The letter says it is a "
                "'myxofibrosarcoma, high grade'. A CT scan of my chest was clear. My local "
                "surgeon wants to operate in three weeks and take the lump out with some "
                "healthy tissue around it."
            ),
            "history": (
                "I have had an underactive thyroid for ten years and take levothyroxine. "
                "Otherwise I am healthy; I swim twice a week and work as a teacher."
            ),
            "question": (
                "Is surgery the right first step for me, or should I have radiotherapy first? "
                "I have read that these tumours can come back, and before I agree to the "
                "operation I would like to know what a specialist sarcoma team recommends."
            ),
            "urgency": Case.Urgency.PRIORITY,
        },
        identity={
            "full_name": "Maria Santos",
            "date_of_birth": datetime.date(1979, 8, 23),
            "hospital_number": "",
        },
    ),
)


@transaction.atomic
def seed_demo_cases(
    *, board: Board, referrer: User, patient: User, members: dict[str, User]
) -> list[Case]:
    """Create or reset the demo cases; running it twice changes nothing more."""
    cases = []
    for demo in DEMO_CASES:
        by = referrer if demo.referred else patient
        case = _case_reset(demo, board=board, by=by)
        if demo.report and not case.attachments.filter(original_name=REPORT_NAME).exists():
            pdf = simple_pdf(REPORT_TITLE, list(demo.report))
            uploaded = SimpleUploadedFile(REPORT_NAME, pdf, content_type="application/pdf")
            attachment_add(by=by, case=case, uploaded=uploaded)
        if demo.opinions and not case.opinions.exists():
            for username, body in demo.opinions:
                author = members[username]
                opinion_post(access=case_access(author, case), body=body)
        cases.append(case)
    return cases


def _case_reset(demo: DemoCase, *, board: Board, by: User) -> Case:
    # Every field, not only those the demo sets, so a reset undoes edits made while exploring.
    data = {name: Case._meta.get_field(name).get_default() for name in CASE_FIELDS}
    data.update(demo.data)
    if demo.referred:
        data["referring_physician"] = by.display_name
        data["referring_institution"] = by.institution
    case = Case.objects.filter(pseudonym=demo.pseudonym).first()
    if case is None:
        case = case_create(by=by, board=board, data=data, identity=demo.identity)
        case.pseudonym = demo.pseudonym
    else:
        case = case_update(by=by, case=case, data=data, identity=demo.identity)
    # Demo cases start part-way through the workflow. Real cases get there step by step
    # through case_transition; a reset must also be able to bring a concluded case back.
    case.board = board
    case.submitted_by = by
    case.kind = demo.kind
    case.status = demo.status
    case.submitted_at = case.submitted_at or timezone.now()
    case.ready_at = None
    case.save()
    return case

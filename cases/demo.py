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
from cases.models import Attachment, Case, Laterality, MolecularResult, QuestionType, Treatment
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
    treatments: tuple[dict[str, Any], ...] = ()  # Treatment rows
    molecular: tuple[dict[str, Any], ...] = ()  # MolecularResult rows

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
            "question_type": QuestionType.TREATMENT,
            "urgency": Case.Urgency.PRIORITY,
            "entity": "undifferentiated_pleomorphic_sarcoma",
            "topography": "C49.2",  # connective and soft tissue of the lower limb and hip
            "laterality": Laterality.RIGHT,
            "primary_site": "trunk_extremity",
            "disease_setting": Case.Setting.PRIMARY,
            "first_diagnosis_date": datetime.date(2026, 10, 14),
            "size_cm": Decimal("11.5"),
            "depth": Case.Depth.DEEP,
            "differentiation_score": 3,
            "mitotic_count": 24,
            "necrosis": Case.Necrosis.UNDER_HALF,
            "grade_specimen": Case.Specimen.CORE_BIOPSY,
            "nodes": Case.Nodes.N0,
            "metastasis": Case.Metastasis.M0,
            "resection": Case.Resection.NOT_RESECTED,
            "primary_imaging_modality": Case.ImagingModality.MRI,
            "primary_imaging_date": datetime.date(2026, 10, 2),
            "chest_staging": Case.ChestStaging.NEGATIVE,
            "chest_staging_date": datetime.date(2026, 10, 20),
            "ecog": 1,
            "pathology_review": Case.PathologyReview.PENDING,
            "slides": Case.Slides.SENT,  # scanned slides seen; the blocks are on their way
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
        molecular=(
            {
                "method": MolecularResult.Method.FISH,
                "target": "MDM2 amplification",
                "result": MolecularResult.Result.NOT_DETECTED,
                "detail": "MDM2/CEP12 ratio 1.1",
                "laboratory": "Riverside General Hospital, Molecular Pathology",
                "reported_on": datetime.date(2026, 10, 16),
            },
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
            "question_type": QuestionType.SURGERY,
            "urgency": Case.Urgency.ROUTINE,
            "entity": "dedifferentiated_liposarcoma",
            "topography": "C48.0",  # retroperitoneum
            "laterality": Laterality.LEFT,
            "primary_site": "retroperitoneum",
            "disease_setting": Case.Setting.PRIMARY,
            "first_diagnosis_date": datetime.date(2026, 10, 21),
            "size_cm": Decimal("22.0"),
            "depth": Case.Depth.DEEP,
            "differentiation_score": 3,
            "mitotic_count": 8,
            "necrosis": Case.Necrosis.NONE,
            "grade_specimen": Case.Specimen.CORE_BIOPSY,
            "nodes": Case.Nodes.N0,
            "metastasis": Case.Metastasis.M0,
            "resection": Case.Resection.NOT_RESECTED,
            "primary_imaging_modality": Case.ImagingModality.CT,
            "primary_imaging_date": datetime.date(2026, 10, 9),
            "chest_staging": Case.ChestStaging.NEGATIVE,
            "chest_staging_date": datetime.date(2026, 10, 9),
            "ecog": 1,
            "pathology_review": Case.PathologyReview.PENDING,
            "slides": Case.Slides.REQUESTED,
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
        molecular=(
            {
                "method": MolecularResult.Method.FISH,
                "target": "MDM2 amplification",
                "result": MolecularResult.Result.DETECTED,
                "detail": "MDM2/CEP12 ratio 8.4",
                "laboratory": "Riverside General Hospital, Molecular Pathology",
                "reported_on": datetime.date(2026, 10, 27),
            },
            {
                "method": MolecularResult.Method.IHC,
                "target": "CDK4",
                "result": MolecularResult.Result.DETECTED,
                "detail": "diffuse nuclear expression; p16 positive",
                "laboratory": "Riverside General Hospital, Department of Pathology",
                "reported_on": datetime.date(2026, 10, 24),
            },
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
            "question_type": QuestionType.TREATMENT,
            "urgency": Case.Urgency.PRIORITY,
        },
        identity={
            "full_name": "Maria Santos",
            "date_of_birth": datetime.date(1979, 8, 23),
            "hospital_number": "",
        },
    ),
    DemoCase(
        pseudonym="DEMO04",
        kind=Case.Kind.DOCTOR,
        status=S.SUBMITTED,
        data={
            "sex": Case.Sex.MALE,
            "age": 16,
            "clinical_summary": (
                "16-year-old with 3 months of right knee pain, worse at night, and a firm "
                "swelling above the knee. Radiograph: mixed lytic-sclerotic lesion of the distal "
                "right femoral metaphysis with a Codman triangle and sunburst periosteal "
                "reaction. MRI of the whole femur: 9.5 cm intramedullary tumour with an "
                "extraosseous component, no skip lesion, physis crossed, joint spared. Biopsy "
                "(core, at the sarcoma centre, on the planned resection line): conventional "
                "osteosarcoma, high grade. CT chest: no metastases. Bone scan: no other lesion. "
                "Neoadjuvant MAP chemotherapy started; 2 of 2 preoperative cycles given."
            ),
            "history": (
                "No previous illness. No family history of cancer (no features of "
                "Li-Fraumeni syndrome). Sperm banking done before chemotherapy."
            ),
            "question": (
                "Limb-salvage resection of the distal femur with an endoprosthetic (growing) "
                "reconstruction after preoperative MAP: which resection margins and which "
                "reconstruction do you recommend, given the open physis?"
            ),
            "question_type": QuestionType.SURGERY,
            "urgency": Case.Urgency.PRIORITY,
            "entity": "conventional_osteosarcoma",
            "topography": "C40.2",  # long bones of the lower limb
            "laterality": Laterality.RIGHT,
            "primary_site": "bone_appendicular",
            "disease_setting": Case.Setting.PRIMARY,
            "first_diagnosis_date": datetime.date(2026, 9, 28),
            "size_cm": Decimal("9.5"),
            # Whole-femur MRI shows no skip lesion: a single tumour, so T by size.
            "staging_extent": {"discontinuous": False},
            "reported_grade": Case.ReportedGrade.HIGH,
            "grade_specimen": Case.Specimen.CORE_BIOPSY,
            "nodes": Case.Nodes.N0,
            "metastasis": Case.Metastasis.M0,
            "resection": Case.Resection.NOT_RESECTED,
            "primary_imaging_modality": Case.ImagingModality.MRI,
            "primary_imaging_date": datetime.date(2026, 9, 22),
            "chest_staging": Case.ChestStaging.NEGATIVE,
            "chest_staging_date": datetime.date(2026, 9, 30),
            "ecog": 0,
            "pathology_review": Case.PathologyReview.CONCORDANT,
            "slides": Case.Slides.RECEIVED,
        },
        identity={
            "full_name": "Jonas Becker-Test",
            "date_of_birth": datetime.date(2010, 3, 11),
            "hospital_number": "RGH-000125",
        },
        report=(
            "Riverside General Hospital - Department of Pathology",
            "Case DEMO04 (patient identifiers removed before upload)",
            "Report RGH-P-26-04390",
            "",
            "Specimen: core needle biopsy, right distal femur (4 cores, 11G), after "
            "decalcification in EDTA.",
            "",
            "Microscopy: a highly cellular malignant tumour of pleomorphic spindle and "
            "epithelioid cells directly producing lace-like neoplastic osteoid, with "
            "chondroblastic areas. Brisk mitotic activity, atypical mitoses.",
            "",
            "Immunohistochemistry: SATB2 positive; MDM2 and CDK4 negative (not a low-grade "
            "central or parosteal osteosarcoma).",
            "",
            "DIAGNOSIS: conventional osteosarcoma (osteoblastic and chondroblastic), high "
            "grade, right distal femur (core needle biopsy).",
        ),
        treatments=(
            {
                "kind": Treatment.Kind.SYSTEMIC,
                "timing": Treatment.Timing.PREOPERATIVE,
                "regimen": "MAP (high-dose methotrexate, doxorubicin, cisplatin)",
                "cycles": 2,
                "started_on": datetime.date(2026, 10, 5),
                "ongoing": True,
                "notes": "EURAMOS-1 schedule; surgery planned at week 10.",
            },
        ),
    ),
    DemoCase(
        pseudonym="DEMO05",
        kind=Case.Kind.DOCTOR,
        status=S.SUBMITTED,
        data={
            "sex": Case.Sex.FEMALE,
            "age": 61,
            "clinical_summary": (
                "61-year-old woman with iron-deficiency anaemia. Gastroscopy: a submucosal "
                "mass of the gastric body with central ulceration. CT abdomen: 6.5 cm "
                "exophytic gastric tumour, no liver or peritoneal lesions. Laparoscopic wedge "
                "resection: GIST of the stomach, 6.5 cm, 3 mitoses per 5 mm2, spindle cell "
                "type, no rupture, margins clear (R0). CT chest: no metastases."
            ),
            "history": "Hypothyroidism (levothyroxine). No neurofibromatosis.",
            "question": (
                "Adjuvant imatinib after complete resection: the AFIP risk is low and the "
                "modified NIH risk intermediate. Do you recommend it, and for how long?"
            ),
            "question_type": QuestionType.SYSTEMIC,
            "urgency": Case.Urgency.ROUTINE,
            "entity": "gist",
            "topography": "C16.9",  # stomach, NOS
            "laterality": Laterality.NOT_APPLICABLE,
            "primary_site": "stomach",
            "disease_setting": Case.Setting.PRIMARY,
            "first_diagnosis_date": datetime.date(2026, 10, 12),
            "size_cm": Decimal("6.5"),
            "mitoses_per_5mm2": 3,
            "tumour_rupture": False,
            "nodes": Case.Nodes.NOT_ASSESSED,
            "metastasis": Case.Metastasis.M0,
            "resection": Case.Resection.PLANNED,
            "r_class": Case.RClass.R0,
            "primary_imaging_modality": Case.ImagingModality.CT,
            "primary_imaging_date": datetime.date(2026, 10, 8),
            "chest_staging": Case.ChestStaging.NEGATIVE,
            "chest_staging_date": datetime.date(2026, 10, 8),
            "ecog": 0,
            "pathology_review": Case.PathologyReview.PENDING,
            "slides": Case.Slides.NOT_NEEDED,
        },
        identity={
            "full_name": "Ingrid Larsen-Test",
            "date_of_birth": datetime.date(1965, 6, 30),
            "hospital_number": "RGH-000126",
        },
        report=(
            "Riverside General Hospital - Department of Pathology",
            "Case DEMO05 (patient identifiers removed before upload)",
            "Report RGH-P-26-05102",
            "",
            "Specimen: laparoscopic wedge resection of the stomach (body, greater curvature).",
            "",
            "Macroscopy: a 6.5 x 5.0 x 4.2 cm well-circumscribed exophytic tumour, intact "
            "capsule (no rupture), 8 mm from the nearest resection margin.",
            "",
            "Microscopy: a spindle cell tumour with fascicular growth and perinuclear "
            "vacuoles. Mitoses 3 per 5 mm2. No necrosis.",
            "",
            "Immunohistochemistry: KIT (CD117) and DOG1 diffusely positive; CD34 positive; "
            "desmin and S100 negative; SDHB retained.",
            "",
            "Molecular: KIT exon 11 deletion (NGS, see separate report).",
            "",
            "DIAGNOSIS: gastrointestinal stromal tumour of the stomach, spindle cell type, "
            "6.5 cm, 3 mitoses per 5 mm2, no rupture, R0.",
        ),
        treatments=(
            {
                "kind": Treatment.Kind.SURGERY,
                "timing": Treatment.Timing.DEFINITIVE,
                "procedure": "laparoscopic wedge resection of the stomach",
                "margin": Case.RClass.R0,
                "started_on": datetime.date(2026, 11, 4),
            },
        ),
        molecular=(
            {
                "method": MolecularResult.Method.NGS,
                "target": "KIT exon 11",
                "result": MolecularResult.Result.DETECTED,
                "detail": "p.W557_K558del (deletion)",
                "laboratory": "Riverside General Hospital, Molecular Pathology",
                "reported_on": datetime.date(2026, 11, 18),
            },
            {
                "method": MolecularResult.Method.NGS,
                "target": "PDGFRA exons 12, 14, 18",
                "result": MolecularResult.Result.NOT_DETECTED,
                "laboratory": "Riverside General Hospital, Molecular Pathology",
                "reported_on": datetime.date(2026, 11, 18),
            },
        ),
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
        reports = case.attachments.filter(original_name=REPORT_NAME)
        if demo.report and not reports.exists():
            pdf = simple_pdf(REPORT_TITLE, list(demo.report))
            uploaded = SimpleUploadedFile(REPORT_NAME, pdf, content_type="application/pdf")
            attachment_add(
                by=by, case=case, uploaded=uploaded, document_type=Attachment.DocumentType.PATHOLOGY
            )
        reports.update(document_type=Attachment.DocumentType.PATHOLOGY)
        # The rows are reset like the fields: what exploring added or changed goes.
        case.treatments.all().delete()
        Treatment.objects.bulk_create(Treatment(case=case, **row) for row in demo.treatments)
        case.molecular_results.all().delete()
        MolecularResult.objects.bulk_create(
            MolecularResult(case=case, **row) for row in demo.molecular
        )
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

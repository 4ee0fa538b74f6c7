"""The clinical record in the signed report, per audience.

Two cases the issue names: a retroperitoneal dedifferentiated liposarcoma staged after
neoadjuvant radiotherapy (yp), and a GIST of the stomach. Expected values come from the
standards, not from the code:
- AJCC 8th edition, ch. 44 (retroperitoneum): T4 is > 15 cm; T4 N0 M0 G3 is stage IIIB; nodes
  not assessed are N0 ("no regional nodal metastasis or unknown nodal status"); after
  neoadjuvant treatment the classification carries the yp prefix.
- AJCC 8th edition, ch. 43 (GIST, gastric): T3 is > 5-10 cm; T3 N0 M0 with a low mitotic rate
  (<= 5 per 5 mm²) is stage IB.
- Miettinen & Lasota 2006 (AFIP): gastric, > 5-10 cm, <= 5 mitoses per 5 mm²: low risk.
- Joensuu 2008 (modified NIH): gastric, 5.1-10 cm, <= 5 mitoses per 5 mm²: intermediate risk.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from cases.models import Case, MolecularResult, ReportAudience, Treatment
from decisions.render import render_report_pdf
from decisions.report_data import report_data
from tests.cases.factories import make_case
from tests.decisions.factories import close, draft, open_round, pdf_text, propose, sign, vote

pytestmark = pytest.mark.django_db

LIPOSARCOMA = {
    "entity": "dedifferentiated_liposarcoma",
    "topography": "C48.0",
    "laterality": "left",
    "primary_site": "retroperitoneum",
    "disease_setting": Case.Setting.PRIMARY,
    "first_diagnosis_date": datetime.date(2025, 1, 8),
    "size_cm": Decimal("18"),
    "depth": Case.Depth.DEEP,
    "nodes": Case.Nodes.NOT_ASSESSED,
    "metastasis": "M0",
    "neoadjuvant": True,
    "differentiation_score": None,
    "mitotic_count": None,
    "necrosis": None,
    "reported_grade": "G3",
    "grade_specimen": "core_biopsy",
    "viable_tumour_percent": 30,
    "resection": Case.Resection.PLANNED,
    "r_class": "R1",
    "closest_margin_mm": Decimal("0.5"),
    "margin_barrier": "Psoas fascia",
    "primary_imaging_modality": "CT",
    "primary_imaging_date": datetime.date(2025, 1, 2),
    "chest_staging": Case.ChestStaging.NEGATIVE,
    "chest_staging_date": datetime.date(2025, 1, 3),
    "question_type": "surgery",
    "question": "Is the mass resectable en bloc after radiotherapy?",
    "molecular_findings": "CANARYFREETEXT MDM2 high-level amplification",
}
GIST = {
    "entity": "gist",
    "topography": "C16.9",
    "primary_site": "stomach",
    "size_cm": Decimal("6"),
    "mitoses_per_5mm2": 3,
    "tumour_rupture": False,
    "nodes": "N0",
    "metastasis": "M0",
    "differentiation_score": None,
    "mitotic_count": None,
    "necrosis": None,
    "question_type": "systemic",
}
GERMLINE_MARK = "TP53 c.743G>A"  # a germline result: never on the patient copy
MDM2_LAB = "Canarylab Molecular Pathology"


def signed_consensus(cast, case):
    p1 = propose(cast, case)
    round_ = open_round(cast, case)
    for user in (cast.chair, cast.pathologist, cast.oncologist, cast.surgeon, cast.radiologist):
        vote(user, case, round_, agree=[p1])
    close(cast, case, round_)
    return sign(cast, case, draft(cast, case, category="surgery", text="Wide resection."))


def liposarcoma_case(cast):
    case = make_case(cast, status=Case.Status.SCHEDULED, **LIPOSARCOMA)
    Treatment.objects.create(
        case=case,
        kind=Treatment.Kind.RADIOTHERAPY,
        timing=Treatment.Timing.PREOPERATIVE,
        started_on=datetime.date(2025, 2, 3),
        ended_on=datetime.date(2025, 3, 7),
        dose_gy=Decimal("50.4"),
        fractions=28,
        response=Treatment.Response.SD,
    )
    Treatment.objects.create(
        case=case,
        kind=Treatment.Kind.SURGERY,
        started_on=datetime.date(2025, 4, 14),
        procedure="En bloc resection with left nephrectomy",
        margin="R1",
    )
    MolecularResult.objects.create(
        case=case,
        method=MolecularResult.Method.FISH,
        target="MDM2 amplification",
        result=MolecularResult.Result.DETECTED,
        laboratory=MDM2_LAB,
        reported_on=datetime.date(2025, 1, 20),
    )
    MolecularResult.objects.create(
        case=case,
        method=MolecularResult.Method.NGS,
        target="TP53",
        result=MolecularResult.Result.DETECTED,
        detail=GERMLINE_MARK,
        germline=True,
    )
    return case


def rendered(consensus, audience) -> str:
    return pdf_text(render_report_pdf(report_data(consensus, audience)))


def test_the_panel_copy_carries_the_whole_clinical_record(cast):
    case = liposarcoma_case(cast)
    text = rendered(signed_consensus(cast, case), ReportAudience.PANEL)
    # Diagnosis: WHO 2020 entity with its ICD-O-3 code; topography code, label, laterality.
    assert "Dedifferentiated liposarcoma (WHO 2020; ICD-O-3 8858/3)" in text
    assert "C48.0 Retroperitoneum, left" in text
    assert "Primary tumour" in text
    # Stage: yp, T4 (> 15 cm), N not assessed staged N0, IIIB; the system and edition.
    assert "Stage IIIB (ypT4 N0 M0 G3)" in text
    assert "AJCC 8th edition, soft tissue sarcoma of the retroperitoneum (ch. 44)" in text
    assert "Nodes not assessed: staged N0, as AJCC 8 defines N0." in text
    # Grade as reported, on the pre-treatment core biopsy; the response as viable tumour.
    assert "G3 (as reported)" in text
    assert "Core needle biopsy" in text and "30 %" in text
    # Margins and workup.
    assert "Planned resection" in text and "R1 — microscopically involved" in text
    assert "0.5 mm" in text and "Psoas fascia" in text
    assert "CT 2 Jan 2025" in text and "No metastases 3 Jan 2025" in text
    # Molecular results, and the germline result apart as hereditary predisposition.
    assert "MDM2 amplification" in text and MDM2_LAB in text
    assert "Hereditary predisposition (germline)" in text and GERMLINE_MARK in text
    assert "CANARYFREETEXT MDM2 high-level amplification" in text  # free text kept
    # Treatments, one row each.
    assert "Preoperative (neoadjuvant)" in text and "50.4 Gy in 28 fractions" in text
    assert "En bloc resection with left nephrectomy, R1" in text
    # The question's type beside the question.
    assert "Surgical planning" in text
    assert "Is the mass resectable en bloc after radiotherapy?" in text


def test_the_referrer_copy_carries_the_same_record(cast):
    case = liposarcoma_case(cast)
    text = rendered(signed_consensus(cast, case), ReportAudience.REFERRER)
    for expected in (
        "Stage IIIB (ypT4 N0 M0 G3)",
        "G3 (as reported)",
        GERMLINE_MARK,
        MDM2_LAB,
        "Psoas fascia",
        "50.4 Gy in 28 fractions",
    ):
        assert expected in text, expected


def test_the_patient_copy_carries_diagnosis_site_stage_and_treatments_only(cast):
    case = liposarcoma_case(cast)
    consensus = signed_consensus(cast, case)
    text = rendered(consensus, ReportAudience.PATIENT)
    panel = rendered(consensus, ReportAudience.PANEL)
    # The same words as the other copies.
    for shared in (
        "Dedifferentiated liposarcoma (WHO 2020; ICD-O-3 8858/3)",
        "C48.0 Retroperitoneum, left",
        "Stage IIIB (ypT4 N0 M0 G3)",
        "AJCC 8th edition, soft tissue sarcoma of the retroperitoneum (ch. 44)",
        "50.4 Gy in 28 fractions",
        "En bloc resection with left nephrectomy, R1",
    ):
        assert shared in text and shared in panel, shared
    # Not the grading details, margins, workup, molecular or germline results, nor notes.
    for withheld in (
        GERMLINE_MARK,
        MDM2_LAB,
        "Hereditary predisposition",
        "Psoas fascia",
        "Core needle biopsy",
        "Nodes not assessed",
        "Expert pathology review",
        "CANARYFREETEXT",
    ):
        assert withheld in panel and withheld not in text, withheld


def test_the_report_shows_both_gist_risks_and_the_gist_stage(cast):
    case = make_case(cast, status=Case.Status.SCHEDULED, **GIST)
    consensus = signed_consensus(cast, case)
    text = rendered(consensus, ReportAudience.PANEL)
    assert "Gastrointestinal stromal tumour" in text
    assert "Stage IB (T3 N0 M0 mitotic rate low)" in text
    assert "GIST risk of progression" in text
    assert "AFIP risk of progression (Miettinen & Lasota 2006) Low risk" in text
    assert "Modified NIH consensus risk (Joensuu 2008) Intermediate risk" in text
    assert "Mitoses per 5 mm² 3" in text and "Tumour rupture No" in text
    assert "Systemic therapy" in text  # the question's type
    # FNCLCC does not grade GIST: the report says so in words.
    assert "not FNCLCC" in text
    # The patient copy: the stage, not the risk of recurrence.
    patient = rendered(consensus, ReportAudience.PATIENT)
    assert "Stage IB (T3 N0 M0 mitotic rate low)" in patient
    assert "Intermediate risk" not in patient and "GIST risk" not in patient


def test_rows_recorded_after_the_signature_are_not_in_the_report(cast):
    case = liposarcoma_case(cast)
    consensus = signed_consensus(cast, case)
    later = Treatment.objects.create(case=case, kind=Treatment.Kind.SYSTEMIC, regimen="LATERDRUG")
    Treatment.objects.filter(pk=later.pk).update(
        created_at=consensus.signed_at + datetime.timedelta(minutes=1)
    )
    data = report_data(consensus, ReportAudience.PANEL)
    assert [t.kind for t in data.treatments] == ["Surgery", "Radiotherapy"]


def test_the_report_data_is_typed_rows_not_html(cast):
    case = liposarcoma_case(cast)
    data = report_data(signed_consensus(cast, case), ReportAudience.PANEL)
    assert [s.key for s in data.record] == [
        "diagnosis",
        "setting",
        "stage",
        "grade",
        "margins",
        "workup",
        "molecular-text",
    ]
    assert [(m.target, m.germline) for m in data.molecular] == [
        ("MDM2 amplification", False),
        ("TP53", True),
    ]
    assert all("<" not in value for s in data.record for _label, value in s.facts)

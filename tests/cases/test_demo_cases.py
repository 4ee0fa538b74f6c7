"""The demo sarcoma cases: realistic, staged as the board would stage them, and idempotent."""

from __future__ import annotations

import shutil
import subprocess
from io import BytesIO

import pytest

from board.demo import SARCOMA_BOARD, seed_demo
from cases.attachments import sniff
from cases.checklist import missing_required
from cases.demo import REPORT_NAME, REPORT_TITLE, seed_demo_cases
from cases.demo_pdf import simple_pdf
from cases.models import Attachment, Case, MolecularResult, Opinion, PatientIdentity, Treatment
from tests.cast import Cast
from tests.helpers import skip_or_fail


def seed(cast: Cast) -> list[Case]:
    members = {"pathologist": cast.pathologist, "radiologist": cast.radiologist}
    return seed_demo_cases(
        board=cast.board, referrer=cast.referrer, patient=cast.patient, members=members
    )


def counts() -> tuple[int, ...]:
    return (
        Case.objects.count(),
        PatientIdentity.objects.count(),
        Attachment.objects.count(),
        Opinion.objects.count(),
        Treatment.objects.count(),
        MolecularResult.objects.count(),
    )


def pdf_text(data: bytes, tmp_path) -> str:
    if shutil.which("pdftotext") is None:
        skip_or_fail("REQUIRE_SERVICES", "pdftotext (poppler-utils) is not installed")
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    result = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, check=True, timeout=30
    )
    # Poppler reports a damaged file on stderr and still extracts what it can.
    assert result.stderr == b""
    return result.stdout.decode("utf-8")


@pytest.mark.django_db
def test_seed_demo_adds_the_cases_to_the_sarcoma_board():
    seed_demo()
    cases = Case.objects.filter(board__name=SARCOMA_BOARD).select_related("board", "submitted_by")
    assert {c.pseudonym: c.board.name for c in cases} == dict.fromkeys(
        ["DEMO01", "DEMO02", "DEMO03", "DEMO04", "DEMO05"], SARCOMA_BOARD
    )
    assert {c.submitted_by.username for c in cases} == {"referrer", "patient"}
    assert Opinion.objects.filter(case__pseudonym="DEMO01").count() == 2


@pytest.mark.django_db
def test_seeding_twice_creates_nothing_more(cast):
    seed(cast)
    first = counts()
    seed(cast)
    assert counts() == first == (5, 5, 4, 2, 2, 5)


@pytest.mark.django_db
def test_reseeding_undoes_edits_to_a_demo_case(cast):
    seed(cast)
    Case.objects.filter(pseudonym="DEMO01").update(
        status=Case.Status.CONCLUDED, mitotic_count=2, diagnosis_other="edited"
    )
    seed(cast)
    case = Case.objects.get(pseudonym="DEMO01")
    assert (case.status, case.mitotic_count, case.diagnosis_other) == ("in_review", 24, "")


@pytest.mark.django_db
def test_demo01_is_a_grade_3_stage_iiib_thigh_ups(cast):
    seed(cast)
    case = Case.objects.get(pseudonym="DEMO01")
    assert (case.kind, case.submitted_by, case.status) == ("doctor", cast.referrer, "in_review")
    # FNCLCC 3 + 3 (24 mitoses) + 1 = 7: G3; thigh 11.5 cm: T3; T3 N0 M0 G3 is IIIB (ch. 41).
    assert case.clinical.grade.grade == "G3"
    assert case.clinical.stage.group == "IIIB"
    assert case.clinical.stage.tnm == "T3 N0 M0 G3"
    assert case.identity.hospital_number == "RGH-000123"
    authors = set(case.opinions.values_list("author__username", "author_specialty"))
    assert authors == {("pathologist", "pathology"), ("radiologist", "radiology")}


@pytest.mark.django_db
def test_demo02_is_a_grade_2_stage_iiib_retroperitoneal_liposarcoma(cast):
    seed(cast)
    case = Case.objects.get(pseudonym="DEMO02")
    assert (case.kind, case.submitted_by, case.status) == ("doctor", cast.referrer, "submitted")
    # FNCLCC 3 + 1 (8 mitoses) + 0 = 4: G2; retroperitoneum 22 cm: T4 (> 15 cm);
    # T4 N0 M0 G2 is IIIB (AJCC 8 ch. 44).
    assert case.clinical.grade.grade == "G2"
    assert case.clinical.stage.group == "IIIB"
    assert case.clinical.stage.tnm == "T4 N0 M0 G2"
    assert not case.opinions.exists()


@pytest.mark.django_db
def test_reseeding_resets_the_rows_too(cast):
    seed(cast)
    case = Case.objects.get(pseudonym="DEMO02")
    case.molecular_results.update(result="equivocal")
    Treatment.objects.create(case=case, kind="surgery", procedure="added while exploring")
    seed(cast)
    assert not case.treatments.exists()
    assert set(case.molecular_results.values_list("target", "result")) == {
        ("MDM2 amplification", "detected"),
        ("CDK4", "detected"),
    }


@pytest.mark.django_db
def test_demo01_is_coded_and_worked_up(cast):
    seed(cast)
    case = Case.objects.get(pseudonym="DEMO01")
    assert (case.entity_obj.icdo, case.topography, case.laterality) == ("8802/3", "C49.2", "right")
    assert (case.question_type, case.primary_imaging_modality, case.chest_staging) == (
        "treatment",
        "MR",
        "negative",
    )
    mdm2 = case.molecular_results.get()
    assert (mdm2.method, mdm2.target, mdm2.result) == (
        "FISH",
        "MDM2 amplification",
        "not_detected",
    )


@pytest.mark.django_db
def test_demo02_has_mdm2_fish_and_cdk4_ihc(cast):
    seed(cast)
    case = Case.objects.get(pseudonym="DEMO02")
    assert (case.topography, case.question_type) == ("C48.0", "surgery")
    assert set(case.molecular_results.values_list("method", "target", "result")) == {
        ("FISH", "MDM2 amplification", "detected"),
        ("IHC", "CDK4", "detected"),
    }


@pytest.mark.django_db
def test_demo04_is_a_high_grade_stage_iib_osteosarcoma_of_the_distal_femur(cast):
    seed(cast)
    case = Case.objects.get(pseudonym="DEMO04")
    assert (case.kind, case.status, case.topography) == ("doctor", "submitted", "C40.2")
    assert case.entity_obj.icdo == "9180/3"  # conventional osteosarcoma (WHO 2020)
    record = case.clinical
    # Bone sarcomas are not FNCLCC-graded: the reported high grade stands.
    assert (record.grade.status, record.grade.grade) == ("reported", "high")
    # AJCC 8 bone (ch. 38), appendicular skeleton: T1 <= 8 cm, T2 > 8 cm (9.5 cm, one
    # tumour: T2); N0 M0 with high grade (G2/G3) is stage IIB.
    assert "bone" in record.stage.system
    assert (record.stage.t, record.stage.n, record.stage.m) == ("T2", "N0", "M0")
    assert record.stage.group == "IIB"
    map_row = case.treatments.get()
    assert (map_row.kind, map_row.timing, map_row.ongoing) == ("systemic", "preoperative", True)
    assert map_row.regimen.startswith("MAP")
    assert not case.neoadjuvant  # not resected yet: staged clinically, not yp


@pytest.mark.django_db
def test_demo05_is_a_gastric_gist_stage_ib_low_afip_intermediate_nih_risk(cast):
    seed(cast)
    case = Case.objects.get(pseudonym="DEMO05")
    assert (case.topography, case.primary_site, case.question_type) == (
        "C16.9",
        "stomach",
        "systemic",
    )
    record = case.clinical
    assert record.grade.status == "not_applicable"  # FNCLCC does not grade GIST
    # AJCC 8 GIST (ch. 43), gastric: T3 is > 5-10 cm; <= 5 mitoses per 5 mm² is a low
    # mitotic rate; T3 N0 M0 low rate is stage IB. Nodes not assessed are N0 (AJCC 8).
    assert "gastric" in record.stage.system
    assert (record.stage.t, record.stage.n, record.stage.m) == ("T3", "N0", "M0")
    assert record.stage.group == "IB"
    afip, nih = record.gist_risks
    # AFIP (Miettinen & Lasota 2006), stomach, > 5-10 cm, <= 5 mitoses / 50 HPF: low (3.6%).
    assert "AFIP" in afip.system and afip.category == "low"
    # Modified NIH (Joensuu 2008): gastric 5.1-10 cm with <= 5 mitoses: intermediate.
    assert "NIH" in nih.system and nih.category == "intermediate"
    kit = case.molecular_results.get(target="KIT exon 11")
    assert (kit.method, kit.result) == ("NGS", "detected")


@pytest.mark.django_db
def test_each_demo_case_asks_a_typed_question(cast):
    cases = {c.pseudonym: c.question_type for c in seed(cast)}
    assert cases == {
        "DEMO01": "treatment",
        "DEMO02": "surgery",
        "DEMO03": "treatment",
        "DEMO04": "surgery",
        "DEMO05": "systemic",
    }


@pytest.mark.django_db
def test_the_referred_demo_cases_pass_their_checklist_and_the_patients_does_not(cast):
    seed(cast)
    for pseudonym in ("DEMO01", "DEMO02", "DEMO04", "DEMO05"):
        assert missing_required(Case.objects.get(pseudonym=pseudonym)) == [], pseudonym
    # The patient wrote in her own words: the board still has to code and document it.
    assert set(missing_required(Case.objects.get(pseudonym="DEMO03"))) == {
        "a diagnosis (WHO 2020)",
        "at least one report or one imaging study",
        "the tumour size",
        "the grade (FNCLCC scores, or the grade as reported)",
        "the distant metastasis status (M)",
        "the primary site",
        "a staging CT of the chest",
    }


@pytest.mark.django_db
def test_demo03_is_the_patients_own_request(cast):
    seed(cast)
    case = Case.objects.get(pseudonym="DEMO03")
    assert (case.kind, case.submitted_by, case.status) == ("patient", cast.patient, "submitted")
    assert "surgery the right first step" in case.question
    assert case.referring_physician == ""
    assert not case.attachments.exists()


@pytest.mark.django_db
def test_pathology_reports_are_stored_as_pdfs_that_poppler_reads(cast, tmp_path):
    seed(cast)
    reports = Attachment.objects.filter(original_name=REPORT_NAME).select_related("case")
    assert sorted(a.case.pseudonym for a in reports) == ["DEMO01", "DEMO02", "DEMO04", "DEMO05"]
    assert {a.document_type for a in reports} == {"pathology"}
    report = reports.get(case__pseudonym="DEMO01")
    assert (report.kind, report.mime, report.uploaded_by) == (
        "pdf",
        "application/pdf",
        cast.referrer,
    )
    with report.file.open("rb") as stored:
        text = pdf_text(stored.read(), tmp_path)
    assert REPORT_TITLE in text
    assert "undifferentiated pleomorphic sarcoma" in text
    assert "total score 7 = grade 3" in text


def test_simple_pdf_escapes_delimiters_and_keeps_accents(tmp_path):
    data = simple_pdf("Report (draft) \\ Müller", ["a (b) c \\ d", "Näher, Señor"])
    assert data.startswith(b"%PDF-1.4\n")
    text = pdf_text(data, tmp_path)
    assert "Report (draft) \\ Müller" in text
    assert "a (b) c \\ d" in text
    assert "Näher, Señor" in text


def test_simple_pdf_wraps_long_lines_and_adds_pages(tmp_path):
    lines = [f"line {n}" for n in range(200)] + ["word " * 60]  # 50 + 52 + 52 + 50 lines
    data = simple_pdf("Long report", lines)
    assert data.count(b"/Type /Page ") == 4
    text = pdf_text(data, tmp_path)
    assert "line 199" in text
    assert text.count("\f") == 4  # pdftotext ends every page with a form feed
    assert max(len(line) for line in text.splitlines()) < 120


def test_simple_pdf_passes_the_upload_check():
    assert sniff(BytesIO(simple_pdf("t", []))).kind == "pdf"

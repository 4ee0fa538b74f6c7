"""The demo sarcoma cases: realistic, staged as the board would stage them, and idempotent."""

from __future__ import annotations

import shutil
import subprocess
from io import BytesIO

import pytest

from board.demo import SARCOMA_BOARD, seed_demo
from cases.attachments import sniff
from cases.demo import REPORT_NAME, REPORT_TITLE, seed_demo_cases
from cases.demo_pdf import simple_pdf
from cases.models import Attachment, Case, Opinion, PatientIdentity
from tests.cast import Cast
from tests.helpers import skip_or_fail


def seed(cast: Cast) -> list[Case]:
    members = {"pathologist": cast.pathologist, "radiologist": cast.radiologist}
    return seed_demo_cases(
        board=cast.board, referrer=cast.referrer, patient=cast.patient, members=members
    )


def counts() -> tuple[int, int, int, int]:
    return (
        Case.objects.count(),
        PatientIdentity.objects.count(),
        Attachment.objects.count(),
        Opinion.objects.count(),
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
    cases = Case.objects.select_related("board", "submitted_by")
    assert {c.pseudonym: c.board.name for c in cases} == dict.fromkeys(
        ["DEMO01", "DEMO02", "DEMO03"], SARCOMA_BOARD
    )
    assert {c.submitted_by.username for c in cases} == {"referrer", "patient"}
    assert Opinion.objects.filter(case__pseudonym="DEMO01").count() == 2


@pytest.mark.django_db
def test_seeding_twice_creates_nothing_more(cast):
    seed(cast)
    first = counts()
    seed(cast)
    assert counts() == first == (3, 3, 2, 2)


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
    assert sorted(a.case.pseudonym for a in reports) == ["DEMO01", "DEMO02"]
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

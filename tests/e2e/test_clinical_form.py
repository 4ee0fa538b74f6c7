"""A referring doctor fills the clinical record form in Chromium, with the search boxes, the
site family's extent fields and the row buttons, and reads the stage the case page shows.

Expected values, from the AJCC Cancer Staging Manual, 8th edition, and the GIST risk tables:
(a) retroperitoneal dedifferentiated liposarcoma, 22 cm, N not assessed, M0, high grade on
    the pre-treatment core biopsy, staged after neoadjuvant radiotherapy: ch. 44 T4 (> 15 cm);
    "not assessed" is N0 ("no regional nodal metastasis or unknown nodal status"); T4 N0 M0
    G2/G3 is stage IIIB; after neoadjuvant treatment the prefix is yp → ypT4 N0 M0, IIIB.
(b) GIST of the stomach, 6 cm, 8 mitoses per 5 mm², N0 M0: ch. 43 gastric table, T3
    (> 5 to 10 cm); > 5 mitoses per 5 mm² is a high mitotic rate; T3 N0 M0 high is IIIA.
    Risk: AFIP (Miettinen & Lasota 2006), stomach > 5-10 cm with > 5 per 50 HPF → high;
    modified NIH (Joensuu 2008), 5.1-10 cm with > 5 per 50 HPF → high.
"""

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from cases.models import Case
from tests.decisions.test_report_record import signed_consensus
from tests.e2e.browser import shot, sign_in

pytestmark = pytest.mark.browser


def search(page, name: str, query: str, expected: str) -> None:
    """Type in the search box above select[name] and check the one match is selected."""
    page.locator(f"#id_{name}-search").fill(query)
    page.locator(f"#id_{name}-search").press("Enter")
    select = page.locator(f"select[name={name}]")
    assert select.evaluate("s => s.options[s.selectedIndex].textContent") == expected


def start_case(page, base: str, board_name: str, question: str, summary: str) -> None:
    page.goto(f"{base}/cases/new/")
    page.locator("select[name=board]").select_option(label=board_name)
    page.get_by_label("Patient's full name").fill("Hans Example")
    page.get_by_label("Sex").select_option("M")
    page.get_by_label("Question to the board").fill(question)
    page.get_by_label("Clinical summary").fill(summary)


def test_fill_the_clinical_form_and_read_the_stage(cast, daphne_server, new_context):
    base = daphne_server.url
    page = sign_in(
        new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True),
        base,
        "referrer",
    )

    # (a) Retroperitoneal dedifferentiated liposarcoma after neoadjuvant radiotherapy.
    start_case(
        page,
        base,
        cast.board.name,
        "Resection after preoperative radiotherapy: how extensive?",
        "Retroperitoneal mass of 22 cm, MDM2 amplified, after 50 Gy.",
    )
    page.get_by_label("Type of question").select_option("surgery")
    search(page, "entity", "lipo dediff", "Dedifferentiated liposarcoma (8858/3)")
    search(page, "topography", "C48.0", "C48.0 Retroperitoneum")
    page.locator("select[name=primary_site]").select_option("retroperitoneum")
    # Only the chosen family's extent fields are shown; retroperitoneum has none.
    assert page.locator("[data-extent-family=head_neck]").is_hidden()
    page.locator("select[name=primary_site]").select_option("head_neck")
    assert page.locator("[data-extent-family=head_neck]").is_visible()
    page.locator("select[name=primary_site]").select_option("retroperitoneum")
    assert page.locator("[data-extent-family=head_neck]").is_hidden()
    page.get_by_label("Disease setting").select_option("primary")
    page.get_by_label("Tumour size (cm)").fill("22")
    page.get_by_label("Regional nodes (N)").select_option("not_assessed")
    page.get_by_label("Distant metastasis (M)").select_option("M0")
    page.get_by_label("Staged after neoadjuvant treatment (yp)").check()
    page.get_by_label("Grade as reported").select_option("high")
    page.get_by_label("Graded specimen", exact=True).select_option("core_biopsy")
    page.get_by_label("Viable tumour after neoadjuvant treatment (%)").fill("30")
    assert page.locator("#section-gist").is_hidden()  # GIST inputs: not for a liposarcoma
    page.locator("select[name=treatments-0-kind]").select_option("radiotherapy")
    assert page.locator("input[name=treatments-0-procedure]").is_hidden()  # surgery only
    page.locator("select[name=treatments-0-timing]").select_option("preoperative")
    page.locator("input[name=treatments-0-dose_gy]").fill("50")
    page.locator("input[name=treatments-0-fractions]").fill("25")
    page.locator("select[name=molecular-0-method]").select_option("FISH")
    page.locator("input[name=molecular-0-target]").fill("MDM2 amplification")
    page.locator("select[name=molecular-0-result]").select_option("detected")
    # A second molecular row through the "add" button.
    page.get_by_role("button", name="Add a result").click()
    page.locator("select[name=molecular-1-method]").select_option("FISH")
    page.locator("input[name=molecular-1-target]").fill("CDK4 amplification")
    page.locator("select[name=molecular-1-result]").select_option("detected")
    shot(page, "clinical-form-ddlps.png")
    page.get_by_role("button", name="Save draft").click()
    page.locator("#structured").wait_for()

    ddlps = Case.objects.get(entity="dedifferentiated_liposarcoma")
    assert [str(t.dose_gy) for t in ddlps.treatments.all()] == ["50.0"]
    assert sorted(m.target for m in ddlps.molecular_results.all()) == [
        "CDK4 amplification",
        "MDM2 amplification",
    ]
    diagnosis = page.locator("#diagnosis").inner_text()
    assert "Dedifferentiated liposarcoma" in diagnosis
    assert "8858/3" in diagnosis
    record = page.locator("#structured").inner_text()
    assert "Stage IIIB" in page.locator("#stage").inner_text()
    assert "ypT4 N0 M0" in record
    assert "AJCC 8th edition, soft tissue sarcoma of the retroperitoneum (ch. 44)" in record
    notes_a = record
    shot(page, "case-page-ddlps.png")

    # The clinical record's own page shows what was saved; a change is kept in the history.
    page.get_by_role("link", name="Edit the clinical record").click()
    assert page.locator("select[name=entity]").input_value() == "dedifferentiated_liposarcoma"
    assert page.locator("input[name=treatments-0-dose_gy]").input_value() == "50.0"
    assert page.locator("input[name=full_name]").count() == 0  # no identity on this page
    page.get_by_label("Viable tumour after neoadjuvant treatment (%)").fill("20")
    shot(page, "clinical-edit-ddlps.png")
    page.get_by_role("button", name="Save the clinical record").click()
    page.locator("#structured").wait_for()
    revision = ddlps.clinical_revisions.get()
    assert revision.changes == [
        {
            "field": "viable_tumour_percent",
            "label": "Viable tumour after neoadjuvant treatment (%)",
            "old": "30",
            "new": "20",
        }
    ]

    # (b) GIST of the stomach.
    start_case(
        page,
        base,
        cast.board.name,
        "Adjuvant imatinib: for how long?",
        "Gastric GIST of 6 cm, resected, no rupture.",
    )
    page.get_by_label("Type of question").select_option("systemic")
    search(page, "entity", "GIST", "Gastrointestinal stromal tumour (8936/3)")
    search(page, "topography", "C16.9", "C16.9 Stomach, NOS")
    page.locator("select[name=primary_site]").select_option("stomach")
    page.get_by_label("Tumour size (cm)").fill("6")
    page.get_by_label("Regional nodes (N)").select_option("N0")
    page.get_by_label("Distant metastasis (M)").select_option("M0")
    page.get_by_label("Mitoses per 5 mm²").fill("8")
    page.get_by_label("Tumour rupture").select_option("false")
    page.locator("select[name=treatments-0-kind]").select_option("surgery")
    page.locator("input[name=treatments-0-procedure]").fill("Wedge gastrectomy")
    page.locator("select[name=treatments-0-margin]").select_option("R0")
    page.locator("select[name=molecular-0-method]").select_option("NGS")
    page.locator("input[name=molecular-0-target]").fill("KIT exon 11")
    page.locator("select[name=molecular-0-result]").select_option("detected")
    shot(page, "clinical-form-gist.png")
    page.get_by_role("button", name="Save draft").click()
    page.locator("#structured").wait_for()

    gist = Case.objects.get(entity="gist")
    assert (gist.topography, gist.primary_site, gist.tumour_rupture) == ("C16.9", "stomach", False)
    assert [m.target for m in gist.molecular_results.all()] == ["KIT exon 11"]
    assert "Gastrointestinal stromal tumour" in page.locator("#diagnosis").inner_text()
    assert "8936/3" in page.locator("#diagnosis").inner_text()
    record = page.locator("#structured").inner_text()
    assert "Stage IIIA" in page.locator("#stage").inner_text()
    assert "T3 N0 M0" in record
    assert "gastrointestinal stromal tumour (ch. 43): gastric and omental" in record
    shot(page, "case-page-gist.png")

    # What the case page's record sections (templates/cases/record/) add: the stage's notes
    # and both GIST risk classifications, each "high" (see the module docstring).
    assert "Nodes not assessed: staged N0" in notes_a
    risk = page.locator("#gist-risk").inner_text().replace("\t", "\n")
    assert "AFIP risk of progression (Miettinen & Lasota 2006)\nHigh" in risk
    assert "Modified NIH consensus risk (Joensuu 2008)\nHigh" in risk

    # The board signs; the referrer's copy of the report says what the case page said.
    for case in (ddlps, gist):
        case.status = Case.Status.IN_REVIEW
        case.save(update_fields=["status"])
        signed_consensus(cast, case)
    text_a, text_b = (referrer_report(page, base, case) for case in (ddlps, gist))
    assert "Dedifferentiated liposarcoma" in text_a and "8858/3" in text_a
    assert "C48.0 Retroperitoneum" in text_a
    assert "Stage IIIB (ypT4 N0 M0" in text_a
    assert "soft tissue sarcoma of the retroperitoneum (ch. 44)" in text_a
    assert "Nodes not assessed: staged N0" in text_a
    assert "MDM2 amplification" in text_a and "20" in text_a  # viable tumour, as edited
    assert "Gastrointestinal stromal tumour" in text_b and "8936/3" in text_b
    assert "Stage IIIA (T3 N0 M0" in text_b
    assert "gastrointestinal stromal tumour (ch. 43): gastric and omental" in text_b
    assert "AFIP risk of progression (Miettinen & Lasota 2006)" in text_b
    assert "KIT exon 11" in text_b and "Wedge gastrectomy" in text_b


def referrer_report(page, base: str, case: Case) -> str:
    """The text of the referrer's copy, downloaded from the case page as a person would."""
    page.goto(f"{base}/cases/{case.uuid}/")
    area = page.locator("#decisions")
    area.locator("#report-download").wait_for()
    with page.expect_download() as info:
        area.get_by_role("link", name="Download the report (PDF, version 1, Referrer copy)").click()
    pdf = Path(info.value.path()).read_bytes()
    return " ".join(
        " ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(pdf)).pages
    )


def test_a_refusal_is_shown_in_words_next_to_the_field(cast, daphne_server, new_context):
    base = daphne_server.url
    page = sign_in(new_context(), base, "referrer")
    start_case(page, base, cast.board.name, "Adjuvant therapy?", "Gastric GIST.")
    search(page, "entity", "8936", "Gastrointestinal stromal tumour (8936/3)")  # by code
    search(page, "entity", "ddlps", "Dedifferentiated liposarcoma (8858/3)")  # by synonym
    search(page, "entity", "gist", "Gastrointestinal stromal tumour (8936/3)")
    assert page.locator("#id_entity-search").get_attribute("aria-label") == (
        "Search Diagnosis (WHO 2020)"
    )
    page.locator("select[name=primary_site]").select_option("trunk_extremity")
    page.get_by_role("button", name="Save draft").click()
    page.locator(".field-invalid", has_text="staged by the AJCC 8 GIST chapter").wait_for()
    shot(page, "clinical-form-refusal.png")
    assert not Case.objects.exists()

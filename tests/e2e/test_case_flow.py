"""A referring doctor submits a case; the panel discusses it live, in real Chromium."""

import pytest

from cases.models import Attachment, Case
from tests.e2e.browser import shot, sign_in

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n% pathology report\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_submit_review_and_see_an_opinion_live(cast, daphne_server, new_context, tmp_path):
    base = daphne_server.url
    report = tmp_path / "pathology-report.pdf"
    report.write_bytes(PDF)

    # The referring doctor files the case with a PDF and submits it.
    referrer = sign_in(new_context(), base, "referrer")
    referrer.get_by_role("link", name="Submit a case").first.click()
    referrer.locator("select[name=board]").select_option(label=cast.board.name)
    referrer.get_by_label("Patient's full name").fill("Hans Example")
    referrer.get_by_label("Sex").select_option("M")
    referrer.get_by_label("Question to the board").fill(
        "Neoadjuvant radiotherapy or surgery first?"
    )
    referrer.get_by_label("Clinical summary").fill("58-year-old man, deep thigh mass of 11.5 cm.")
    referrer.locator("select[name=entity]").select_option("undifferentiated_pleomorphic_sarcoma")
    referrer.locator("select[name=primary_site]").select_option("trunk_extremity")
    referrer.get_by_label("Tumour size (cm)").fill("11.5")
    referrer.get_by_label("Regional nodes (N)").select_option("N0")
    referrer.get_by_label("Distant metastasis (M)").select_option("M0")
    referrer.get_by_label("FNCLCC differentiation score").select_option("3")
    referrer.get_by_label("Mitoses per 10 HPF").fill("24")
    referrer.get_by_label("Tumour necrosis").select_option("1")
    shot(referrer, "case-form.png")
    referrer.get_by_role("button", name="Save draft").click()
    referrer.locator("#structured").wait_for()
    # FNCLCC 3 + 3 (24 mitoses) + 1 = 7, G3; 11.5 cm T3 N0 M0 G3 is IIIB (AJCC 8 ch. 41).
    assert referrer.locator("#grade").inner_text().startswith("G3")
    assert referrer.locator("#stage").inner_text().startswith("Stage IIIB")

    referrer.get_by_label("Add reports").set_input_files(str(report))
    referrer.get_by_role("button", name="Upload reports").click()
    reports = referrer.locator("form[data-upload]")
    reports.locator("[data-upload-results] li.ok").wait_for()
    assert reports.locator("[data-upload-progress]").get_attribute("value") == "100"
    referrer.get_by_role("link", name="pathology-report.pdf").wait_for()  # after the reload
    referrer.get_by_role("button", name="Submit to the board").click()
    referrer.get_by_role("dialog").get_by_role("button", name="Yes, submit").click()
    referrer.locator("#case-status", has_text="Submitted").wait_for()
    case = Case.objects.get()
    assert Attachment.objects.get(case=case).kind == "pdf"
    case_url = f"{base}/cases/{case.uuid}/"

    # The radiologist has the case open and does not reload.
    radiologist = sign_in(new_context(), base, "radiologist")
    radiologist.goto(case_url)
    radiologist.locator("#opinions[data-live='open']").wait_for()
    radiologist.evaluate("window.__notReloaded = true")

    # The pathologist opens it and posts an opinion.
    pathologist = sign_in(new_context(), base, "pathologist")
    pathologist.goto(case_url)
    assert pathologist.get_by_text("Hans Example").count() == 0  # identity is restricted
    pathologist.get_by_label("Your opinion").fill("Morphology confirms **UPS**, FNCLCC grade 3.")
    pathologist.get_by_role("button", name="Post opinion").click()
    pathologist.locator(".opinion-body strong", has_text="UPS").wait_for()

    # It appears on the radiologist's page by itself.
    radiologist.locator(".opinion-body strong", has_text="UPS").wait_for(timeout=10_000)
    assert radiologist.evaluate("window.__notReloaded") is True
    assert radiologist.locator(".opinion .badge", has_text="Pathology").count() == 1
    shot(radiologist, "case-live-opinion.png")

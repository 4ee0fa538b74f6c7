"""The clinical record in real Chromium: the case page and, during a live meeting, the case
panel at 1280x800 (the panel is a 25rem column: the record must fit it, not overflow it).
With SCREENSHOT_DIR set, the pages are saved for a person to look at."""

from __future__ import annotations

import datetime
import os
from decimal import Decimal
from pathlib import Path

import pytest

from cases.models import ClinicalRevision, MolecularResult, Treatment
from tests.e2e.browser import shot, sign_in
from tests.meetings.factories import make_meeting, put_on_agenda, ready_case

pytestmark = pytest.mark.browser

UNGRADED = {"differentiation_score": None, "mitotic_count": None, "necrosis": None}


def retroperitoneal_after_radiotherapy(cast):
    case = ready_case(
        cast,
        question="Resection after preoperative radiotherapy: which organs to take en bloc?",
        question_type="surgery",
        entity="dedifferentiated_liposarcoma",
        topography="C48.0",
        laterality="right",
        primary_site="retroperitoneum",
        disease_setting="primary",
        first_diagnosis_date=datetime.date(2026, 6, 2),
        size_cm=Decimal("18"),
        nodes="not_assessed",
        metastasis="M0",
        neoadjuvant=True,
        grade_specimen="core_biopsy",
        differentiation_score=3,
        mitotic_count=12,
        necrosis=1,
        viable_tumour_percent=40,
        primary_imaging_modality="CT",
        primary_imaging_date=datetime.date(2026, 6, 1),
        chest_staging="negative",
        chest_staging_date=datetime.date(2026, 6, 1),
        ecog=1,
        slides="received",
    )
    MolecularResult.objects.create(
        case=case, method="FISH", target="MDM2 amplification", result="detected", laboratory="IPath"
    )
    MolecularResult.objects.create(
        case=case, method="NGS", target="TP53", result="not_detected", germline=True
    )
    Treatment.objects.create(
        case=case,
        kind="radiotherapy",
        timing="preoperative",
        started_on=datetime.date(2026, 7, 6),
        ended_on=datetime.date(2026, 8, 12),
        dose_gy=Decimal("50.4"),
        fractions=28,
        response="SD",
    )
    ClinicalRevision.objects.create(
        case=case,
        edited_by=cast.pathologist,
        edited_at=datetime.datetime(2026, 8, 20, 14, 5, tzinfo=datetime.UTC),
        changes=[
            {
                "field": "entity",
                "label": "Diagnosis (WHO 2020)",
                "old": "Liposarcoma, well differentiated, NOS",
                "new": "Dedifferentiated liposarcoma",
            },
            {"field": "mitotic_count", "label": "Mitoses per 10 HPF", "old": "4", "new": "12"},
        ],
    )
    return case


def gist_of_the_stomach(cast):
    return ready_case(
        cast,
        question="Adjuvant imatinib?",
        question_type="systemic",
        entity="gist",
        topography="C16.9",
        primary_site="stomach",
        size_cm=Decimal("6"),
        mitoses_per_5mm2=3,
        tumour_rupture=False,
        resection="planned",
        r_class="R0",
        **UNGRADED,
    )


def head_and_neck_pending(cast):
    return ready_case(
        cast,
        question="Surgery or radiotherapy first?",
        entity="synovial_sarcoma",
        primary_site="head_neck",
        size_cm=Decimal("3.5"),
        **UNGRADED,
    )


def test_the_record_on_the_case_page_and_in_the_live_panel(cast, daphne_server, new_context):
    base = daphne_server.url
    cases = [
        retroperitoneal_after_radiotherapy(cast),
        gist_of_the_stomach(cast),
        head_and_neck_pending(cast),
    ]
    page = sign_in(new_context(viewport={"width": 1280, "height": 800}), base, "chair")
    for name, case in zip(("retroperitoneum-yp", "gist-stomach", "head-neck"), cases, strict=True):
        page.goto(f"{base}/cases/{case.uuid}/")
        page.locator("#structured").wait_for()
        shot(page, f"record-{name}.png")
    page.goto(f"{base}/cases/{cases[0].uuid}/")
    # ch. 44: T4 (> 15 cm) N0 M0 G3 → IIIB; after neoadjuvant radiotherapy, yp.
    assert page.locator("#stage").inner_text() == "Stage IIIB"
    assert page.locator("#tnm").inner_text() == "ypT4 N0 M0 G3"
    page.get_by_role("link", name="History (1 edit)").click()
    page.locator("h1", has_text="history of the clinical record").wait_for()
    shot(page, "record-history.png")

    meeting = make_meeting(cast)
    for position, case in enumerate(cases, start=1):
        put_on_agenda(meeting, case, position)
    page.goto(f"{base}/meetings/{meeting.uuid}/live/")
    page.wait_for_function("document.body.dataset.connection === 'live'")
    page.get_by_role("button", name=f"Go to case {cases[0].pseudonym}").click()
    panel = page.locator(".live-record")
    panel.locator("#stage", has_text="Stage IIIB").wait_for()
    assert panel.locator("#tnm").inner_text() == "ypT4 N0 M0 G3"
    assert panel.locator("#grade").inner_text().startswith("G3")
    # The record fits its column: nothing wider than the panel.
    assert panel.evaluate("e => e.scrollWidth <= e.clientWidth")
    viewport_shot(page, "live-panel-retroperitoneum.png")
    page.locator(".live-right").evaluate("e => e.scrollTo(0, 420)")
    viewport_shot(page, "live-panel-retroperitoneum-scrolled.png")
    page.get_by_role("button", name=f"Go to case {cases[1].pseudonym}").click()
    panel.locator("#stage", has_text="Stage IB").wait_for()
    assert panel.evaluate("e => e.scrollWidth <= e.clientWidth")
    viewport_shot(page, "live-panel-gist.png")


def viewport_shot(page, name):
    """The live page fills the window and scrolls inside its columns: the window is the shot."""
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=Path(os.environ["SCREENSHOT_DIR"]) / name)

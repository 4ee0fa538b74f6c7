"""The clinical record as the case page and the live page's case panel show it.

Each row of RECORDS is a representative case and what a reader must see; the expected
values are written from the published tables (AJCC Cancer Staging Manual, 8th edition,
2017: ch. 38 bone, ch. 40 head and neck, ch. 41 trunk and extremities, ch. 42 abdominal and
thoracic visceral organs, ch. 43 GIST, ch. 44 retroperitoneum; FNCLCC grading, Trojani
1984 / Guillou 1997; GIST risk, Miettinen & Lasota 2006 and Joensuu 2008), not from the code.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from cases.models import AuditEvent, Case, ClinicalRevision, MolecularResult, Treatment
from tests.cases.factories import make_case
from tests.helpers import signed_in
from tests.html_text import texts_by_id

pytestmark = pytest.mark.django_db

UNGRADED = {"differentiation_score": None, "mitotic_count": None, "necrosis": None}


@dataclass(frozen=True)
class Shown:
    """What the reader sees: element id → the exact text, or the fragments it contains."""

    stage: str  # exact text of #stage
    tnm: str | None  # exact text of #tnm; None: no TNM shown at all
    system: str | None  # a fragment of #stage-system; None: no system shown
    grade: str  # the start of #grade
    absent: tuple[str, ...] = ()  # fragments that must appear in neither #stage nor #tnm
    extra: dict[str, str] = field(default_factory=dict)  # id → fragment


RECORDS = [
    pytest.param(
        {},  # UPS of the thigh, 11.5 cm, deep; FNCLCC 3 + 3 (24 mitoses) + 1
        # FNCLCC: total 7 → G3. Ch. 41: T3 is > 10 to ≤ 15 cm; T3 N0 M0 G2/G3 → IIIB.
        Shown("Stage IIIB", "T3 N0 M0 G3", "ch. 41", "G3 (FNCLCC"),
        id="trunk-extremity-complete-IIIB",
    ),
    pytest.param(
        {"size_cm": Decimal("5.0"), "differentiation_score": 1, "mitotic_count": 2, "necrosis": 0},
        # FNCLCC 1 + 1 + 0 = 2 → G1. Ch. 41: T1 ≤ 5 cm (5.0 is T1); T1 N0 M0 G1 → IA.
        Shown("Stage IA", "T1 N0 M0 G1", "ch. 41", "G1 (FNCLCC"),
        id="trunk-extremity-5cm-boundary-IA",
    ),
    pytest.param(
        {"nodes": "N1"},
        # Ch. 41: any T N1 M0 → IV (trunk and extremity), whatever the grade.
        Shown("Stage IV", "T3 N1 M0 G3", "ch. 41", "G3"),
        id="trunk-extremity-N1-IV",
    ),
    pytest.param(
        {
            "entity": "dedifferentiated_liposarcoma",
            "primary_site": "retroperitoneum",
            "size_cm": Decimal("20"),
            "nodes": "N1",
        },
        # Ch. 44: T4 > 15 cm; any T N1 M0 → IIIB in the retroperitoneum (not IV).
        Shown("Stage IIIB", "T4 N1 M0 G3", "ch. 44", "G3"),
        id="retroperitoneum-N1-IIIB",
    ),
    pytest.param(
        {
            "primary_site": "head_neck",
            "size_cm": Decimal("3"),
            "staging_extent": {"head_neck_invasion": "none"},
        },
        # Ch. 40: T2 is > 2 to ≤ 4 cm; the chapter defines no stage groups.
        Shown(
            "AJCC 8th edition defines no stage groups for head and neck soft tissue sarcoma "
            "(ch. 40).",
            "T2 N0 M0 G3",
            "ch. 40",
            "G3",
            absent=("Stage ",),
        ),
        id="head-neck-T-by-size-no-group",
    ),
    pytest.param(
        {"primary_site": "head_neck", "size_cm": Decimal("3")},
        # Ch. 40: T4a/T4b (invasion) overrides size, so without it T is not known yet.
        Shown(
            "AJCC 8th edition defines no stage groups for head and neck soft tissue sarcoma "
            "(ch. 40). Invasion of adjoining structures (T4a/T4b) is not recorded.",
            "T pending N0 M0 G3",
            "ch. 40",
            "G3",
            absent=("T2", "Stage "),
        ),
        id="head-neck-invasion-unknown",
    ),
    pytest.param(
        {
            "entity": "leiomyosarcoma",
            "primary_site": "visceral",
            "staging_extent": {"visceral_extent": "serosa"},
        },
        # Ch. 42: T2a = invades serosa or visceral peritoneum, whatever the size (11.5 cm
        # would be T3 by the trunk rule); no stage groups.
        Shown(
            "AJCC 8th edition defines no stage groups for visceral soft tissue sarcoma (ch. 42).",
            "T2a N0 M0 G3",
            "ch. 42",
            "G3",
            absent=("T3", "Stage "),
            extra={"structured": "Invades the serosa or visceral peritoneum"},
        ),
        id="visceral-T-from-extent",
    ),
    pytest.param(
        {"entity": "desmoid_fibromatosis", **UNGRADED},
        # Desmoid-type fibromatosis is intermediate (locally aggressive), not a sarcoma:
        # excluded from the AJCC soft-tissue chapters and not graded by FNCLCC.
        Shown(
            "AJCC staging does not apply to Desmoid fibromatosis. Not a sarcoma: neither FNCLCC "
            "grading nor AJCC staging applies.",
            None,
            None,
            "Not a sarcoma",
            absent=("T3", "G3", "Stage "),
        ),
        id="desmoid-not-graded-not-staged",
    ),
    pytest.param(
        {
            "entity": "gist",
            "primary_site": "stomach",
            "size_cm": Decimal("6"),
            "mitoses_per_5mm2": 3,
            "tumour_rupture": False,
            **UNGRADED,
        },
        # Ch. 43, gastric: T3 > 5 to ≤ 10 cm; ≤ 5 mitoses per 5 mm² is a low rate;
        # T3 N0 M0 low → IB. AFIP (stomach, > 5-10 cm, ≤ 5/5 mm²): low risk.
        # Joensuu (> 5-10 cm, ≤ 5, gastric): intermediate risk.
        Shown(
            "Stage IB",
            "T3 N0 M0 mitotic rate low",
            "ch. 43",
            "GIST is graded by mitotic rate",
            extra={"gist-risk": "Low risk"},
        ),
        id="gist-stomach-IB-with-risk",
    ),
    pytest.param(
        {
            "entity": "conventional_osteosarcoma",
            "primary_site": "bone_appendicular",
            "size_cm": Decimal("10"),
            "reported_grade": "high",
            "staging_extent": {"discontinuous": False},
            **UNGRADED,
        },
        # Ch. 38, appendicular: T2 > 8 cm; T2 N0 M0 high grade → IIB.
        Shown("Stage IIB", "T2 N0 M0 high grade", "bone (ch. 38)", "High grade (as reported)"),
        id="bone-appendicular-IIB-high",
    ),
    pytest.param(
        {
            "entity": "conventional_osteosarcoma",
            "primary_site": "bone_appendicular",
            "size_cm": Decimal("8"),
            "reported_grade": "low",
            "staging_extent": {"discontinuous": False},
            **UNGRADED,
        },
        # Ch. 38, appendicular: T1 ≤ 8 cm; T1 N0 M0 low grade (G1) → IA.
        Shown("Stage IA", "T1 N0 M0 low grade", "bone (ch. 38)", "Low grade (as reported)"),
        id="bone-appendicular-8cm-IA-low",
    ),
    pytest.param(
        {
            "entity": "conventional_osteosarcoma",
            "primary_site": "bone_appendicular",
            "size_cm": Decimal("10"),
            "metastasis": "M1a",
            "staging_extent": {"discontinuous": False},
            **UNGRADED,
        },
        # Ch. 38, appendicular: any T N0 M1a (lung only) any G → IVA, grade not needed.
        Shown("Stage IVA", "T2 N0 M1a grade pending", "bone (ch. 38)", "Grade pending"),
        id="bone-appendicular-M1a-IVA",
    ),
    pytest.param(
        {
            "entity": "conventional_osteosarcoma",
            "primary_site": "bone_pelvis",
            "size_cm": Decimal("6"),
            "reported_grade": "high",
            "staging_extent": {
                "pelvic_segments": 1,
                "extraosseous": False,
                "sacroiliac_to_neuroforamen": False,
                "pelvic_vessels": False,
            },
            **UNGRADED,
        },
        # Ch. 38, pelvis: T1a = one pelvic segment, no extraosseous extension, ≤ 8 cm;
        # no stage groups for the pelvis.
        Shown(
            "AJCC 8th edition defines no stage groups for bone sarcoma of the pelvis (ch. 38).",
            "T1a N0 M0 high grade",
            "pelvis",
            "High grade",
            absent=("Stage ",),
        ),
        id="bone-pelvis-no-group",
    ),
    pytest.param(
        {"neoadjuvant": True, "size_cm": Decimal("8")},
        # After neoadjuvant treatment the stage is prefixed yp; ch. 41: T2 > 5 to ≤ 10 cm,
        # T2 N0 M0 G3 (pre-treatment grade) → IIIA.
        Shown("Stage IIIA", "ypT2 N0 M0 G3", "ch. 41", "G3"),
        id="yp-after-neoadjuvant",
    ),
    pytest.param(
        {"nodes": "not_assessed"},
        # AJCC 8 N0: "no regional lymph node metastasis or unknown nodal status".
        Shown(
            "Stage IIIB",
            "T3 N0 M0 G3",
            "ch. 41",
            "G3",
            extra={"stage-notes": "Nodes not assessed: staged N0, as AJCC 8 defines N0."},
        ),
        id="nodes-not-assessed-N0",
    ),
    pytest.param(
        {"size_cm": Decimal("8"), **UNGRADED},
        # No grade entered: not GX; ch. 41 T2 N0 M0 needs G (IB for G1, IIIA for G2/G3).
        Shown(
            "Stage group pending: grade not yet known.",
            "T2 N0 M0 grade pending",
            "ch. 41",
            "Grade pending",
            absent=("GX", "Stage I"),
        ),
        id="grade-pending-no-group",
    ),
    pytest.param(
        {
            "differentiation_score": 3,
            "mitotic_count": 24,
            "necrosis": None,
            "size_cm": Decimal("8"),
        },
        # FNCLCC: 3 + 3 = 6 already ≥ 6 whatever necrosis (0-2): G3 decided; T2 → IIIA.
        Shown("Stage IIIA", "T2 N0 M0 G3", "ch. 41", "G3 (FNCLCC: the scores entered"),
        id="partial-scores-decide-G3",
    ),
    pytest.param(
        {"metastasis": "M1", **UNGRADED},
        # Ch. 41: any T any N M1 any G → IV, so the missing grade does not matter.
        Shown("Stage IV", "T3 N0 M1 grade pending", "ch. 41", "Grade pending"),
        id="M1-IV-without-grade",
    ),
]


def case_page(user, case: Case) -> dict[str, str]:
    response = signed_in(user).get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    assert response.status_code == 200
    return texts_by_id(response.content.decode())


def live_panel(case: Case) -> dict[str, str]:
    html = render_to_string(
        "meetings/live/_case.html", {"case": case, "item": SimpleNamespace(position=1)}
    )
    return texts_by_id(html)


def check(shown: dict[str, str], expected: Shown) -> None:
    assert shown["stage"] == expected.stage
    if expected.tnm is None:
        assert "tnm" not in shown
    else:
        assert shown["tnm"] == expected.tnm
    if expected.system is None:
        assert "stage-system" not in shown
    else:
        assert expected.system in shown["stage-system"]
        assert "AJCC 8th edition" in shown["stage-system"]
    assert shown["grade"].startswith(expected.grade)
    for fragment in expected.absent:
        assert fragment not in shown["stage"]
        assert fragment not in shown.get("tnm", "")


@pytest.mark.parametrize(("fields", "expected"), RECORDS)
def test_the_case_page_shows_the_record(cast, fields, expected):
    shown = case_page(cast.chair, make_case(cast, **fields))
    check(shown, expected)
    for element_id, fragment in expected.extra.items():
        assert fragment in shown[element_id]


@pytest.mark.parametrize(("fields", "expected"), RECORDS)
def test_the_live_panel_shows_the_same_record(cast, fields, expected):
    case = make_case(cast, **fields)
    check(live_panel(case), expected)


def test_gist_risk_names_both_systems_and_their_categories(cast):
    case = make_case(
        cast,
        entity="gist",
        primary_site="stomach",
        size_cm=Decimal("6"),
        mitoses_per_5mm2=3,
        tumour_rupture=False,
        **UNGRADED,
    )
    risk = case_page(cast.chair, case)["gist-risk"]
    # AFIP (Miettinen & Lasota 2006), stomach, > 5-10 cm, ≤ 5 per 5 mm²: low (3.6%).
    assert "AFIP" in risk and "Low risk" in risk
    # Modified NIH (Joensuu 2008), > 5-10 cm, ≤ 5 per 5 mm², gastric: intermediate.
    assert "Joensuu" in risk and "Intermediate risk" in risk
    assert "3 per 5 mm²" in risk and "Tumour rupture No" in risk


def test_gist_risk_without_mitoses_says_what_is_missing(cast):
    case = make_case(cast, entity="gist", primary_site="stomach", size_cm=Decimal("4"), **UNGRADED)
    risk = case_page(cast.chair, case)["gist-risk"]
    assert "Not yet known" in risk
    assert "Low risk" not in risk and "High risk" not in risk


def test_diagnosis_codes_and_the_site(cast):
    case = make_case(cast, topography="C49.2", laterality="left")
    shown = case_page(cast.chair, case)
    assert shown["diagnosis"] == "Undifferentiated pleomorphic sarcoma ICD-O-3 8802/3"
    assert shown["topography"].startswith("Connective, subcutaneous and other soft tissues of")
    assert shown["topography"].endswith("ICD-O-3 C49.2, left")
    assert shown["site-family"] == "Soft tissue: trunk or extremity"


def test_a_diagnosis_outside_the_who_list_is_flagged_not_coded(cast):
    case = make_case(cast, entity="", diagnosis_other="Sarcoma, NOS (outside consult)")
    for shown in (case_page(cast.chair, case), live_panel(case)):
        assert shown["diagnosis"] == "Sarcoma, NOS (outside consult) not coded"


def test_coding_to_review_and_refused_entries_are_warnings(cast):
    case = make_case(
        cast,
        coding_review="Histotype 'rhabdomyosarcoma' names several WHO entities.",
        staging_extent={"head_neck_invasion": "orbit"},
        primary_site="head_neck",
    )
    for shown in (case_page(cast.chair, case), live_panel(case)):
        assert shown["coding-review"].startswith("To review: Histotype 'rhabdomyosarcoma'")
        assert "head and neck invasion is one of" in shown["record-problems"]
        assert shown["stage"].startswith("Not staged:")


def test_empty_sections_are_hidden_but_pending_grade_is_said(cast):
    shown = case_page(cast.chair, make_case(cast, **UNGRADED))
    for hidden in ("disease-setting", "margins", "workup", "molecular", "hereditary", "treatments"):
        assert hidden not in shown
    assert shown["grade"] == "Grade pending"
    assert "clinical-history-link" not in shown  # never edited


def test_setting_margins_and_workup(cast):
    case = make_case(
        cast,
        disease_setting="local_recurrence",
        first_diagnosis_date=datetime.date(2024, 2, 1),
        recurrence_date=datetime.date(2026, 9, 15),
        radiation_associated=True,
        resection="unplanned",
        r_class="R1",
        closest_margin_mm=Decimal("0.5"),
        margin_barrier="femoral periosteum",
        primary_imaging_modality="MR",
        primary_imaging_date=datetime.date(2026, 9, 1),
        chest_staging="negative",
        chest_staging_date=datetime.date(2026, 9, 3),
        grade_specimen="core_biopsy",
        viable_tumour_percent=30,
        grade_after_neoadjuvant=False,
        ecog=1,
        slides="received",
        question_type="surgery",
    )
    shown = case_page(cast.chair, case)
    setting = shown["disease-setting"]
    assert "Local recurrence" in setting and "15 Sep 2026" in setting
    assert "Radiation-associated" in setting and "Unplanned excision" in setting
    margins = shown["margins"]
    assert "Unplanned (“whoops”) excision" in margins
    assert "R1 — microscopically involved" in margins
    assert "0.5 mm" in margins and "femoral periosteum" in margins
    assert "MRI, 1 Sep 2026" in shown["workup"] and "No metastases" in shown["workup"]
    assert shown["grade-specimen"] == "Core needle biopsy, before any neoadjuvant treatment"
    assert shown["viable-tumour"] == "30% after neoadjuvant treatment"
    assert shown["ecog"] == "1"
    assert shown["slides"] == "Received by the reviewing pathologist"
    assert shown["question-type"] == "Type of question: Surgical planning"
    panel = live_panel(case)
    assert panel["question-type"] == "Surgical planning"
    assert panel["margins"] == "R1, closest 0.5 mm (femoral periosteum)"
    assert (
        panel["disease-setting"]
        == "Local recurrence; radiation-associated; after unplanned excision"
    )


def test_molecular_results_and_hereditary_predisposition_apart(cast):
    case = make_case(cast, entity="dedifferentiated_liposarcoma", primary_site="retroperitoneum")
    MolecularResult.objects.create(
        case=case, method="FISH", target="MDM2 amplification", result="detected", laboratory="IPath"
    )
    MolecularResult.objects.create(
        case=case, method="NGS", target="TP53", result="detected", germline=True, detail="c.743G>A"
    )
    shown = case_page(cast.chair, case)
    assert "MDM2 amplification" in shown["molecular"] and "TP53" not in shown["molecular"]
    assert "TP53" in shown["hereditary"] and "c.743G>A" in shown["hereditary"]
    assert shown["record-hereditary"] == "Hereditary predisposition"
    panel = live_panel(case)["molecular"]
    assert "MDM2 amplification (FISH): detected / positive" in panel
    assert "germline TP53 (NGS)" in panel


def test_treatments_newest_first_with_their_details(cast):
    case = make_case(cast)
    Treatment.objects.create(
        case=case,
        kind="surgery",
        started_on=datetime.date(2026, 5, 2),
        procedure="marginal excision",
        margin="R1",
    )
    Treatment.objects.create(
        case=case,
        kind="radiotherapy",
        timing="postoperative",
        started_on=datetime.date(2026, 6, 10),
        ended_on=datetime.date(2026, 7, 20),
        dose_gy=Decimal("50.0"),
        fractions=25,
    )
    Treatment.objects.create(
        case=case,
        kind="systemic",
        started_on=datetime.date(2026, 9, 1),
        ongoing=True,
        regimen="doxorubicin + ifosfamide",
        cycles=3,
        response="PR",
    )
    rows = case_page(cast.chair, case)["treatments"]
    systemic, radiotherapy, surgery = (
        rows.index("Systemic therapy"),
        rows.index("Radiotherapy"),
        rows.index("Surgery"),
    )
    assert systemic < radiotherapy < surgery
    assert "doxorubicin + ifosfamide; 3 cycles" in rows and "Partial response" in rows
    assert "50 Gy in 25 fractions" in rows and "Postoperative (adjuvant)" in rows
    assert "marginal excision; margin R1" in rows
    panel = live_panel(case)["treatments"]
    assert panel.index("Systemic therapy") < panel.index("Surgery")


# --- the history of the clinical record ------------------------------------------------


def revise(case: Case, user, when: datetime.datetime, *changes) -> ClinicalRevision:
    return ClinicalRevision.objects.create(
        case=case,
        edited_by=user,
        edited_at=when,
        changes=[
            {"field": name, "label": label, "old": old, "new": new}
            for name, label, old, new in changes
        ],
    )


def history_url(case: Case) -> str:
    return reverse("case-clinical-history", kwargs={"case_id": case.uuid})


def test_the_record_links_its_history_with_the_number_of_edits(cast):
    case = make_case(cast)
    when = datetime.datetime(2026, 10, 1, 9, 0, tzinfo=datetime.UTC)
    for minutes in range(3):
        revise(
            case, cast.chair, when + datetime.timedelta(minutes=minutes), ("ecog", "ECOG", "", "1")
        )
    assert case_page(cast.chair, case)["clinical-history-link"] == "History (3 edits)"


def test_history_shows_who_when_in_the_readers_zone_and_each_change(cast):
    case = make_case(cast)
    cast.chair.time_zone = "Asia/Tokyo"
    cast.chair.save(update_fields=["time_zone"])
    revise(
        case,
        cast.pathologist,
        datetime.datetime(2026, 1, 2, 23, 30, tzinfo=datetime.UTC),  # 08:30 on Jan 3 in Tokyo
        ("reported_grade", "Grade as reported", "", "G3"),
        ("size_cm", "Tumour size (cm)", "9.0", "11.5"),
    )
    revise(
        case,
        cast.referrer,
        datetime.datetime(2026, 1, 1, 10, 0, tzinfo=datetime.UTC),
        ("nodes", "Regional nodes (N)", "", "Not assessed"),
    )
    response = signed_in(cast.chair).get(history_url(case))
    assert response.status_code == 200
    html = response.content.decode()
    assert ">3 Jan 2026, 08:30 JST</time>" in html and "23:30 UTC" not in html
    assert "Asia/Tokyo" in html
    assert cast.pathologist.display_name in html and cast.referrer.display_name in html
    newest, oldest = (texts_by_id(html)[f"changes-{r.pk}"] for r in case.clinical_revisions.all())
    assert newest == "Grade as reported: — → G3 Tumour size (cm): 9.0 → 11.5"
    assert oldest == "Regional nodes (N): — → Not assessed"
    assert html.index("3 Jan 2026") < html.index("1 Jan 2026")  # newest first
    [event] = AuditEvent.objects.filter(action="clinical.history")
    assert (event.actor, event.case, event.outcome) == (cast.chair, case, "allowed")


def test_a_patient_reads_the_history_of_their_own_case(cast):
    case = make_case(cast, submitted_by=cast.patient, status=Case.Status.SUBMITTED)
    revise(
        case,
        cast.chair,
        datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        ("ecog", "ECOG", "0", "1"),
    )
    assert signed_in(cast.patient).get(history_url(case)).status_code == 200
    other = make_case(cast, status=Case.Status.SUBMITTED)
    assert signed_in(cast.patient).get(history_url(other)).status_code == 404
    assert signed_in(cast.outsider).get(history_url(case)).status_code == 404

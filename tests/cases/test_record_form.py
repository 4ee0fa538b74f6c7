"""The clinical record form: validation in words, extent per site family, rows, history,
who may edit. Expected T and groups are read from the AJCC 8th edition tables (cited per row),
not from the code."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.forms import CheckboxInput, NullBooleanSelect
from django.urls import reverse

from cases.models import AuditEvent, Case, ClinicalRevision, MolecularResult, Treatment
from cases.record_forms import ClinicalRecordForm
from tests.cases.factories import HOSPITAL_NUMBER, PATIENT_NAME, invite, make_case
from tests.cases.factories import case_form_data as new_case_data
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db


def clinical_post(case: Case, rows: dict | None = None, **overrides) -> dict[str, str]:
    """What the clinical edit page posts when a person changes only `overrides`."""
    form = ClinicalRecordForm(instance=case)
    data: dict[str, str] = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if isinstance(field.widget, CheckboxInput):
            if value:
                data[name] = "on"
        elif isinstance(field.widget, NullBooleanSelect):
            data[name] = {True: "true", False: "false"}.get(value, "unknown")
        elif value is None:
            data[name] = ""
        elif isinstance(value, datetime.date):
            data[name] = value.isoformat()
        else:
            data[name] = str(value)
    for name, value in overrides.items():
        if value is None:
            data.pop(name, None)  # an unticked checkbox is not posted
        else:
            data[name] = value
    data.update(rows or {})
    return data


def edit_url(case: Case) -> str:
    return reverse("case-clinical-edit", kwargs={"case_id": case.uuid})


# --- validation ---------------------------------------------------------------------------

GIST = {"entity": "gist", "primary_site": "stomach", "differentiation_score": ""}


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        # Issue #15 §1: FNCLCC is not used for GIST (own AJCC chapter, mitotic rate).
        (
            {**GIST, "differentiation_score": "2", "mitotic_count": "", "necrosis": ""},
            "differentiation_score",
            "FNCLCC grading is not used for Gastrointestinal stromal tumour: GIST is graded by "
            "mitotic rate",
        ),
        # ... nor for desmoid-type fibromatosis (not a sarcoma).
        (
            {"entity": "desmoid_fibromatosis", "primary_site": ""},
            "differentiation_score",
            "FNCLCC grading is not used for Desmoid",
        ),
        # After neoadjuvant treatment FNCLCC is not valid (AJCC 8 / CAP: grade the biopsy).
        (
            {"grade_after_neoadjuvant": "on", "neoadjuvant": "on"},
            "differentiation_score",
            "FNCLCC scores are not valid on a specimen taken after neoadjuvant treatment",
        ),
        # GIST is staged by ch. 43, which needs its organ, not a soft-tissue family.
        (
            {**GIST, "primary_site": "trunk_extremity", "mitotic_count": "", "necrosis": ""},
            "primary_site",
            "staged by the AJCC 8 GIST chapter (ch. 43): choose its organ",
        ),
        # A bone sarcoma is staged by the bone chapter (ch. 38).
        (
            {
                "entity": "conventional_osteosarcoma",
                "differentiation_score": "",
                "mitotic_count": "",
                "necrosis": "",
            },
            "primary_site",
            "a bone tumour, staged by the AJCC 8 bone chapter (ch. 38)",
        ),
        # A GIST organ picks the GIST table: wrong for a soft-tissue sarcoma.
        ({"primary_site": "stomach"}, "primary_site", "The GIST organs pick the GIST staging"),
        ({"viable_tumour_percent": "30"}, "viable_tumour_percent", "Viable tumour (%) measures"),
        (
            {"recurrence_date": "2025-01-10", "disease_setting": "primary"},
            "recurrence_date",
            "A date of recurrence needs the disease setting “local recurrence”.",
        ),
        # 3 + 3 (24 mitoses) + 1 = 7: G3 (FNCLCC), reported G1 contradicts it.
        (
            {"reported_grade": "G1"},
            "reported_grade",
            "The reported grade (G1) contradicts the FNCLCC scores (G3).",
        ),
        # ICD-O-3 C41.2 vertebral column is midline; C49.2 lower limb is paired.
        (
            {"topography": "C41.2", "laterality": "left"},
            "laterality",
            "C41.2 Vertebral column is a midline site",
        ),
        (
            {"topography": "C49.2", "laterality": "midline"},
            "laterality",
            "is a paired site: say left, right or bilateral",
        ),
        ({"entity": "other", "diagnosis_other": ""}, "diagnosis_other", "Describe the diagnosis"),
        ({"entity": "liposarcoma"}, "entity", "Select a valid choice"),
    ],
)
def test_the_form_refuses_what_the_standard_rules_out_in_words(cast, overrides, field, message):
    case = make_case(cast)
    form = ClinicalRecordForm(clinical_post(case, **overrides), instance=case)
    assert not form.is_valid()
    assert any(message in error for error in form.errors.get(field, [])), form.errors
    # and through the page: nothing saved, no revision
    response = signed_in(cast.pathologist).post(edit_url(case), clinical_post(case, **overrides))
    assert response.status_code == 200
    assert not ClinicalRevision.objects.exists()


def test_engine_values_that_pass_are_saved(cast):
    case = make_case(cast)
    data = clinical_post(
        case,
        entity="dedifferentiated_liposarcoma",
        topography="C48.0",
        primary_site="retroperitoneum",
        size_cm="22",
        nodes="not_assessed",
        differentiation_score="",
        mitotic_count="",
        necrosis="",
        reported_grade="high",
        grade_specimen="core_biopsy",
        neoadjuvant="on",
        viable_tumour_percent="30",
    )
    response = signed_in(cast.pathologist).post(edit_url(case), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    case.refresh_from_db()
    # Retroperitoneum (AJCC 8 ch. 44): > 15 cm is T4; N not assessed is N0; high grade
    # T4 N0 M0 is IIIB; after neoadjuvant treatment the stage is yp.
    assert case.clinical.stage_text == "Stage IIIB (ypT4 N0 M0 high grade)"


def test_choosing_an_entity_clears_the_free_text_and_other_keeps_it(cast):
    case = make_case(cast, diagnosis_other="")
    client = signed_in(cast.chair)
    client.post(edit_url(case), clinical_post(case, entity="other", diagnosis_other="Odd tumour"))
    case.refresh_from_db()
    assert (case.entity, case.diagnosis_other) == ("", "Odd tumour")
    # the form shows "not in the list" for it
    assert ClinicalRecordForm(instance=case)["entity"].value() == "other"
    client.post(edit_url(case), clinical_post(case, entity="leiomyosarcoma"))
    case.refresh_from_db()
    assert (case.entity, case.diagnosis_other) == ("leiomyosarcoma", "")


# --- extent per site family -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("entity", "site", "size", "extent", "stored", "t"),
    [
        # AJCC 8 ch. 40: T4a invades orbit, skull base/dura, central compartment viscera...,
        # whatever the size (3 cm alone would be T2).
        (
            "undifferentiated_pleomorphic_sarcoma",
            "head_neck",
            "3",
            {"extent_head_neck_invasion": "T4a"},
            {"head_neck_invasion": "T4a"},
            "T4a",
        ),
        # ch. 40: no invasion, > 4 cm is T3.
        (
            "undifferentiated_pleomorphic_sarcoma",
            "head_neck",
            "5",
            {"extent_head_neck_invasion": "none"},
            {"head_neck_invasion": "none"},
            "T3",
        ),
        # ch. 42: multifocal involvement of 3-5 sites is T4b.
        (
            "leiomyosarcoma",
            "visceral",
            "8",
            {"extent_visceral_extent": "multifocal", "extent_multifocal_sites": "4"},
            {"visceral_extent": "multifocal", "multifocal_sites": 4},
            "T4b",
        ),
        # ch. 42: invades another organ, T3.
        (
            "leiomyosarcoma",
            "visceral",
            "8",
            {"extent_visceral_extent": "another_organ"},
            {"visceral_extent": "another_organ"},
            "T3",
        ),
        # ch. 38 appendicular: discontinuous tumours in the primary bone site are T3.
        (
            "conventional_osteosarcoma",
            "bone_appendicular",
            "5",
            {"extent_discontinuous": "yes"},
            {"discontinuous": True},
            "T3",
        ),
        # ch. 38 appendicular: no skip lesion, <= 8 cm is T1.
        (
            "conventional_osteosarcoma",
            "bone_appendicular",
            "5",
            {"extent_discontinuous": "no"},
            {"discontinuous": False},
            "T1",
        ),
        # ch. 38 pelvis: one segment, no extraosseous extension, > 8 cm is T1b.
        (
            "conventional_osteosarcoma",
            "bone_pelvis",
            "9",
            {
                "extent_pelvic_segments": "1",
                "extent_extraosseous": "no",
                "extent_sacroiliac_to_neuroforamen": "no",
                "extent_pelvic_vessels": "no",
            },
            {
                "pelvic_segments": 1,
                "extraosseous": False,
                "sacroiliac_to_neuroforamen": False,
                "pelvic_vessels": False,
            },
            "T1b",
        ),
        # ch. 38 pelvis: encasement of external iliac vessels is T4b.
        (
            "conventional_osteosarcoma",
            "bone_pelvis",
            "9",
            {"extent_pelvic_vessels": "yes"},
            {"pelvic_vessels": True},
            "T4b",
        ),
        # ch. 38 spine: one segment or two adjacent segments is T1.
        (
            "conventional_osteosarcoma",
            "bone_spine",
            "4",
            {
                "extent_vertebral_segments": "2",
                "extent_nonadjacent_segments": "no",
                "extent_spinal_canal": "no",
                "extent_great_vessels": "no",
            },
            {
                "vertebral_segments": 2,
                "nonadjacent_segments": False,
                "spinal_canal": False,
                "great_vessels": False,
            },
            "T1",
        ),
        # ch. 38 spine: invasion of the spinal canal is T4a.
        (
            "conventional_osteosarcoma",
            "bone_spine",
            "4",
            {"extent_spinal_canal": "yes", "extent_great_vessels": "no"},
            {"spinal_canal": True, "great_vessels": False},
            "T4a",
        ),
    ],
)
def test_extent_fields_round_trip_per_family_and_decide_t(
    cast, entity, site, size, extent, stored, t
):
    case = make_case(cast)
    bone = entity == "conventional_osteosarcoma"
    # A left-over item of another family is posted too: it must be dropped.
    other = (
        {"extent_discontinuous": "yes"}
        if site != "bone_appendicular"
        else {"extent_head_neck_invasion": "T4b"}
    )
    data = clinical_post(
        case,
        entity=entity,
        primary_site=site,
        size_cm=size,
        **({"differentiation_score": "", "mitotic_count": "", "necrosis": ""} if bone else {}),
        **other,
        **extent,
    )
    response = signed_in(cast.chair).post(edit_url(case), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    case.refresh_from_db()
    assert case.staging_extent == stored
    assert case.clinical.stage.t == t
    # and the form shows the stored values again
    form = ClinicalRecordForm(instance=case)
    for name, value in extent.items():
        assert str(form[name].value()) == value


# --- rows -------------------------------------------------------------------------------------


def management(prefix: str, total: int, initial: int) -> dict[str, str]:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


RT_ROW = {
    "treatments-0-kind": "radiotherapy",
    "treatments-0-timing": "preoperative",
    "treatments-0-dose_gy": "50",
    "treatments-0-fractions": "25",
    "treatments-0-started_on": "2025-02-03",
}
MDM2_ROW = {
    "molecular-0-method": "FISH",
    "molecular-0-target": "MDM2 amplification",
    "molecular-0-result": "detected",
    "molecular-0-laboratory": "Riverside molecular lab",
}


def test_rows_are_added_changed_and_removed_with_their_history(cast):
    case = make_case(cast)
    client = signed_in(cast.oncologist)
    rows = {**management("treatments", 1, 0), **RT_ROW, **management("molecular", 1, 0), **MDM2_ROW}
    assert client.post(edit_url(case), clinical_post(case, rows)).status_code == 302
    rt = Treatment.objects.get(case=case)
    assert (rt.kind, rt.dose_gy, rt.fractions) == ("radiotherapy", Decimal("50.0"), 25)
    assert MolecularResult.objects.get(case=case).target == "MDM2 amplification"
    added = ClinicalRevision.objects.get(case=case)
    assert added.edited_by == cast.oncologist
    assert {
        "field": "treatment",
        "label": "Treatment added",
        "old": "",
        "new": "Radiotherapy 50 Gy / 25 fr, preoperative, 3 Feb 2025",
    } in added.changes
    assert {
        "field": "molecular",
        "label": "Molecular result added",
        "old": "",
        "new": "FISH MDM2 amplification: detected / positive",
    } in added.changes

    # The dose changes: one line naming the row and the field, old → new.
    change = {
        **management("treatments", 1, 1),
        **RT_ROW,
        "treatments-0-id": str(rt.pk),
        "treatments-0-dose_gy": "60",
        "treatments-0-fractions": "30",
    }
    assert client.post(edit_url(case), clinical_post(case, change)).status_code == 302
    changed = ClinicalRevision.objects.filter(case=case).first()
    assert changed.pk != added.pk
    dose = next(c for c in changed.changes if c["field"] == "treatment.dose_gy")
    assert dose["label"].startswith("Treatment changed: Radiotherapy 50 Gy / 25 fr")
    assert (dose["old"], dose["new"]) == ("50", "60")

    # Deleted.
    delete = {**change, "treatments-0-DELETE": "on"}
    assert client.post(edit_url(case), clinical_post(case, delete)).status_code == 302
    assert not Treatment.objects.filter(case=case).exists()
    removed = ClinicalRevision.objects.filter(case=case).first()
    assert removed.changes == [
        {
            "field": "treatment",
            "label": "Treatment removed",
            "old": "Radiotherapy 60 Gy / 30 fr, preoperative, 3 Feb 2025",
            "new": "",
        }
    ]
    # The molecular row was not posted the second and third time: it stays.
    assert MolecularResult.objects.filter(case=case).count() == 1


def test_a_row_with_fields_of_another_kind_is_refused(cast):
    case = make_case(cast)
    rows = {
        **management("treatments", 1, 0),
        "treatments-0-kind": "surgery",
        "treatments-0-dose_gy": "50",
        "treatments-0-started_on": "2025-03-01",
        "treatments-0-ended_on": "2025-02-01",
    }
    response = signed_in(cast.chair).post(edit_url(case), clinical_post(case, rows))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Total dose (gy) is recorded for radiotherapy only." in html
    assert "The end date is before the start date." in html
    assert not Treatment.objects.exists()


def test_new_case_saves_its_rows_and_writes_no_revision(cast):
    rows = {**management("treatments", 1, 0), **RT_ROW, **management("molecular", 1, 0), **MDM2_ROW}
    response = signed_in(cast.referrer).post(reverse("case-new"), new_case_data(cast, **rows))
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.treatments.count() == 1
    assert case.molecular_results.count() == 1
    assert not ClinicalRevision.objects.exists()  # the draft is the first version


# --- history ----------------------------------------------------------------------------------


def test_a_save_writes_one_revision_with_shown_values_and_audits_field_names_only(cast):
    case = make_case(cast, status=Case.Status.DRAFT)
    client = signed_in(cast.referrer)
    data = new_case_data(
        cast,
        entity="dedifferentiated_liposarcoma",
        topography="C48.0",
        primary_site="retroperitoneum",
        nodes="not_assessed",
    )
    assert client.post(reverse("case-edit", kwargs={"case_id": case.uuid}), data).status_code == 302
    revision = ClinicalRevision.objects.get(case=case)
    changes = {c["field"]: c for c in revision.changes}
    assert changes["entity"] == {
        "field": "entity",
        "label": "Diagnosis (WHO 2020)",
        "old": "Undifferentiated pleomorphic sarcoma (8802/3)",
        "new": "Dedifferentiated liposarcoma (8858/3)",
    }
    assert changes["topography"]["new"] == "C48.0 Retroperitoneum"
    assert changes["primary_site"]["old"] == "Soft tissue: trunk or extremity"
    assert changes["nodes"]["new"] == "Not assessed (staged N0, as AJCC 8 defines N0)"
    event = AuditEvent.objects.filter(action="case.update").get()
    assert "entity" in event.detail["clinical"]
    assert "Dedifferentiated" not in str(event.detail)
    assert "8858" not in str(event.detail)

    # The same values again: nothing changed, nothing written.
    client.post(reverse("case-edit", kwargs={"case_id": case.uuid}), data)
    assert ClinicalRevision.objects.filter(case=case).count() == 1


def test_extent_changes_are_listed_by_item(cast):
    case = make_case(cast, primary_site="head_neck", size_cm=Decimal("3"))
    client = signed_in(cast.chair)
    client.post(edit_url(case), clinical_post(case, extent_head_neck_invasion="T4b"))
    revision = ClinicalRevision.objects.get(case=case)
    assert revision.changes == [
        {
            "field": "staging_extent.head_neck_invasion",
            "label": "Head and neck: invasion of adjoining structures",
            "old": "—",
            "new": "T4b: brain parenchyma, carotid encasement, prevertebral muscle or CNS "
            "involvement by perineural spread",
        }
    ]
    event = AuditEvent.objects.get(action="case.clinical_update")
    assert event.detail == {"fields": ["staging_extent.head_neck_invasion"]}


def test_nothing_changed_writes_no_revision(cast):
    case = make_case(cast)
    response = signed_in(cast.chair).post(edit_url(case), clinical_post(case))
    assert response.status_code == 302
    assert not ClinicalRevision.objects.exists()


def test_coding_review_is_shown_and_cleared_when_ticked(cast):
    case = make_case(cast, entity="", coding_review="Well- and dedifferentiated are separate.")
    client = signed_in(cast.pathologist)
    html = client.get(edit_url(case)).content.decode()
    assert "Well- and dedifferentiated are separate." in html
    assert "I have reviewed the coding" in html
    # not ticked: kept
    client.post(edit_url(case), clinical_post(case, entity="dedifferentiated_liposarcoma"))
    case.refresh_from_db()
    assert case.coding_review
    client.post(edit_url(case), clinical_post(case, coding_reviewed="on"))
    case.refresh_from_db()
    assert case.coding_review == ""
    latest = ClinicalRevision.objects.filter(case=case).first()
    assert [c["field"] for c in latest.changes] == ["coding_review"]


# --- who may edit -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["chair", "coordinator", "pathologist", "surgeon"])
def test_board_members_edit_the_clinical_record_without_seeing_identity(cast, who):
    case = make_case(cast)
    client = signed_in(getattr(cast, who))
    detail = client.get(reverse("case-detail", kwargs={"case_id": case.uuid})).content.decode()
    assert edit_url(case) in detail
    html = client.get(edit_url(case)).content.decode()
    assert PATIENT_NAME not in html
    assert HOSPITAL_NUMBER not in html
    assert "1961-03-14" not in html
    assert 'name="full_name"' not in html
    event = AuditEvent.objects.filter(action="clinical.view").get()
    assert event.detail == {}
    response = client.post(edit_url(case), clinical_post(case, size_cm="12.5"))
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.size_cm == Decimal("12.5")


def test_expert_and_patient_cannot_edit_the_clinical_record(cast):
    case = make_case(cast)
    invite(cast, case)
    client = signed_in(cast.expert)
    detail = client.get(reverse("case-detail", kwargs={"case_id": case.uuid})).content.decode()
    assert edit_url(case) not in detail
    assert client.get(edit_url(case)).status_code == 403
    assert client.post(edit_url(case), clinical_post(case, size_cm="1")).status_code == 403
    own = make_case(cast, submitted_by=cast.patient, status=Case.Status.DRAFT)
    assert signed_in(cast.patient).get(edit_url(own)).status_code == 403
    assert signed_in(cast.outsider).get(edit_url(case)).status_code == 404
    case.refresh_from_db()
    assert case.size_cm == Decimal("11.5")


def test_referrer_edits_while_the_case_is_theirs_and_nobody_after_it_is_closed(cast):
    draft = make_case(cast, status=Case.Status.DRAFT)
    assert signed_in(cast.referrer).get(edit_url(draft)).status_code == 200
    in_review = make_case(cast)
    assert signed_in(cast.referrer).get(edit_url(in_review)).status_code == 403
    closed = make_case(cast, status=Case.Status.CONCLUDED)
    assert signed_in(cast.chair).get(edit_url(closed)).status_code == 403
    assert signed_in(cast.pathologist).post(edit_url(closed), {}).status_code == 403


def test_wrong_method_and_missing_csrf(cast):
    case = make_case(cast)
    assert signed_in(cast.chair).put(edit_url(case)).status_code == 405
    client = signed_in(cast.chair, enforce_csrf_checks=True)
    assert client.post(edit_url(case), clinical_post(case)).status_code == 403


# --- search -----------------------------------------------------------------------------------


def test_options_carry_their_search_terms_for_the_search_box(cast):
    html = signed_in(cast.referrer).get(reverse("case-new")).content.decode()
    # synonyms and the code are searchable, grouped by category, with the code in the label
    assert 'data-terms="dedifferentiated liposarcoma ddlps ddl 8858/3"' in html
    assert ">Dedifferentiated liposarcoma (8858/3)</option>" in html
    assert '<optgroup label="Gastrointestinal stromal tumour">' in html
    assert 'data-terms="c48.0 retroperitoneum"' in html
    assert 'data-extent-family="head_neck"' in html
    assert 'name="treatments-TOTAL_FORMS"' in html
    assert '<datalist id="molecular-targets">' in html


def test_a_site_count_is_kept_only_for_multifocal_involvement(cast):
    case = make_case(cast, entity="leiomyosarcoma")
    data = clinical_post(
        case,
        primary_site="visceral",
        extent_visceral_extent="another_organ",
        extent_multifocal_sites="4",
    )
    assert signed_in(cast.chair).post(edit_url(case), data).status_code == 302
    case.refresh_from_db()
    # AJCC 8 ch. 42: invading another organ is T3; the number of sites counts for T4 only.
    assert case.staging_extent == {"visceral_extent": "another_organ"}
    assert case.clinical.stage.t == "T3"

"""The completeness checklist adapts to the question (issue #15).

The expected rules below are written from the product policy of the issue and the brief
(cases/checklist.py says it is policy, not a published standard), not read off the code.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from cases.access import case_access
from cases.checklist import checklist, missing_required
from cases.models import Attachment, Case, MolecularResult, Treatment
from cases.services import case_mark_ready
from imaging.models import Study
from tests.cases.factories import add_pdf, make_case
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db

REQUIRED, ADVISED = "required", "advised"

# What each question adds to the four facts every case needs, and how strongly.
POLICY = {
    "pathology_review": {"slides": REQUIRED, "pathology_report": REQUIRED},
    "diagnosis": {"slides": REQUIRED, "pathology_report": REQUIRED},
    "surgery": {
        "primary_imaging": REQUIRED,
        "size": REQUIRED,
        "site": REQUIRED,
        "chest_staging": REQUIRED,
    },
    "radiotherapy": {
        "primary_imaging": REQUIRED,
        "site": REQUIRED,
        "size": REQUIRED,
        "prior_treatments": ADVISED,
    },
    "systemic": {"m_status": REQUIRED, "chest_staging": REQUIRED, "ecog": REQUIRED},
    "treatment": {
        "site": REQUIRED,
        "size": REQUIRED,
        "grade": REQUIRED,
        "m_status": REQUIRED,
        "chest_staging": REQUIRED,
    },
    "follow_up": {"treatment_rows": REQUIRED},
    "trial": {"ecog": REQUIRED, "m_status": REQUIRED, "molecular_results": ADVISED},
}
ALWAYS = {
    "question": REQUIRED,
    "diagnosis": REQUIRED,
    "evidence": REQUIRED,
    "coding_review": REQUIRED,
    "question_type": ADVISED,
}


def bare_case(cast, **fields) -> Case:
    """A case with a question, a diagnosis and a document, and nothing else."""
    values = {
        "size_cm": None,
        "depth": "",
        "primary_site": "",
        "nodes": "",
        "metastasis": "",
        "differentiation_score": None,
        "mitotic_count": None,
        "necrosis": None,
    }
    values.update(fields)
    case = make_case(cast, **values)
    add_pdf(case, cast.referrer)
    return case


def levels(case: Case) -> dict[str, str]:
    return {item.key: item.level.value for item in checklist(case)}


def missing(case: Case) -> set[str]:
    return {item.key for item in checklist(case) if item.missing}


@pytest.mark.parametrize("question_type", sorted(POLICY))
def test_each_question_type_asks_for_its_own_facts(cast, question_type):
    case = bare_case(cast, question_type=question_type)
    assert levels(case) == {**ALWAYS, **POLICY[question_type]}


def test_a_case_without_a_question_type_needs_only_the_common_facts(cast):
    case = bare_case(cast, question_type="")
    assert levels(case) == ALWAYS
    assert missing(case) == {"question_type"}
    assert missing_required(case) == []  # advised: it does not block


def test_the_common_facts_are_missing_in_words(cast):
    case = make_case(cast, question="  ", entity="", coding_review="liposarcoma_wd_dd: choose")
    assert set(missing_required(case)) == {
        "a question to the board",
        "a diagnosis (WHO 2020)",
        "at least one report or one imaging study",
        "the diagnosis coding reviewed",
    }
    coding = next(i for i in checklist(case) if i.key == "coding_review")
    assert coding.detail == "liposarcoma_wd_dd: choose"  # what to review, not only that


def test_pathology_review_needs_the_slides_in_hand_and_a_pathology_report(cast):
    case = bare_case(cast, question_type="pathology_review", slides="requested")
    assert missing(case) == {"slides", "pathology_report"}
    slides = next(i for i in checklist(case) if i.key == "slides")
    assert "Requested" in slides.detail
    report = next(i for i in checklist(case) if i.key == "pathology_report")
    assert "none is marked as a pathology report" in report.detail
    Attachment.objects.filter(case=case).update(document_type="pathology")
    case.slides = Case.Slides.SENT  # on their way is not received
    assert missing(case) == {"slides"}
    for ready in (Case.Slides.RECEIVED, Case.Slides.DIGITAL):
        case.slides = ready
        assert missing(case) == set()


@pytest.mark.parametrize(
    ("entity", "target", "result", "done"),
    [
        # WHO 2020: synovial sarcoma is defined by SS18::SSX (SS18 rearrangement).
        ("synovial_sarcoma", "SS18::SSX", "detected", True),
        ("synovial_sarcoma", "SS18 break-apart", "detected", True),
        # Myxoid liposarcoma: FUS/EWSR1::DDIT3.
        ("myxoid_liposarcoma", "FUS::DDIT3", "detected", True),
        # Well-/dedifferentiated liposarcoma: MDM2 amplification.
        ("dedifferentiated_liposarcoma", "MDM2 amplification", "detected", True),
        ("dedifferentiated_liposarcoma", "MDM2 amplification", "pending", False),
        ("dedifferentiated_liposarcoma", "KIT exon 11", "detected", False),
        # Ewing sarcoma: EWSR1::ETS; CIC-rearranged and BCOR-altered round cell sarcomas.
        ("ewing_sarcoma", "EWSR1::FLI1", "detected", True),
        ("cic_rearranged_sarcoma", "CIC::DUX4", "detected", True),
        ("bcor_sarcoma", "BCOR::CCNB3", "detected", True),
        ("bcor_sarcoma", "CIC::DUX4", "detected", False),
    ],
)
def test_a_diagnosis_defined_by_its_alteration_advises_the_molecular_result(
    cast, entity, target, result, done
):
    case = bare_case(cast, question_type="diagnosis", entity=entity, slides="digital")
    Attachment.objects.filter(case=case).update(document_type="pathology")
    MolecularResult.objects.create(case=case, method="FISH", target=target, result=result)
    item = next(i for i in checklist(case) if i.key == "defining_alteration")
    assert item.level == ADVISED
    assert item.done is done
    assert missing_required(case) == []  # advised only: never blocks


def test_the_molecular_advice_is_not_shown_where_no_alteration_defines_the_entity(cast):
    case = bare_case(cast, question_type="diagnosis", entity="undifferentiated_pleomorphic_sarcoma")
    assert "defining_alteration" not in levels(case)


def test_surgery_needs_imaging_of_the_primary_size_site_and_chest_staging(cast):
    case = bare_case(cast, question_type="surgery", chest_staging="not_done")
    assert missing(case) == {"primary_imaging", "size", "site", "chest_staging"}
    case.primary_imaging_modality = Case.ImagingModality.MRI
    assert "primary_imaging" in missing(case)  # the modality without its date is not enough
    case.primary_imaging_date = datetime.date(2026, 11, 2)
    case.size_cm = Decimal("8.0")
    case.topography = "C49.2"
    case.chest_staging = Case.ChestStaging.NEGATIVE
    assert missing(case) == set()


def test_for_surgery_an_uploaded_study_is_imaging_of_the_primary(cast):
    case = bare_case(cast, question_type="surgery")
    assert "primary_imaging" in missing(case)
    Study.objects.create(case=case, study_instance_uid="1.2.3.4")
    assert "primary_imaging" not in missing(case)


def test_radiotherapy_advises_prior_treatments(cast):
    case = bare_case(
        cast,
        question_type="radiotherapy",
        primary_site="trunk_extremity",
        size_cm=Decimal("6.0"),
        primary_imaging_modality="MR",
        primary_imaging_date=datetime.date(2026, 11, 2),
    )
    assert missing(case) == {"prior_treatments"}
    assert missing_required(case) == []
    Treatment.objects.create(case=case, kind="surgery", procedure="unplanned excision")
    assert missing(case) == set()


def test_systemic_needs_m_status_chest_staging_and_ecog(cast):
    case = bare_case(cast, question_type="systemic")
    assert missing(case) == {"m_status", "chest_staging", "ecog"}
    case.metastasis, case.chest_staging, case.ecog = "M1", "metastases", 0
    assert missing(case) == set()  # ECOG 0 is a value, not a blank


def test_treatment_needs_a_grade_computed_or_reported(cast):
    case = bare_case(
        cast,
        question_type="treatment",
        primary_site="trunk_extremity",
        size_cm=Decimal("6.0"),
        metastasis="M0",
        chest_staging="negative",
    )
    assert missing(case) == {"grade"}  # no scores, no reported grade: grade pending
    case.reported_grade = "G2"
    del case.clinical  # the cached engine result
    assert missing(case) == set()


def test_for_a_gist_treatment_question_the_grade_does_not_apply_and_is_not_asked(cast):
    # FNCLCC does not grade GIST (AJCC 8 ch. 43 grades by mitotic rate): nothing to add.
    case = bare_case(
        cast,
        question_type="treatment",
        entity="gist",
        primary_site="stomach",
        size_cm=Decimal("6.0"),
        mitoses_per_5mm2=3,
        metastasis="M0",
        chest_staging="negative",
    )
    assert "grade" not in missing(case)


def test_follow_up_needs_a_treatment_row(cast):
    case = bare_case(cast, question_type="follow_up")
    assert missing_required(case) == ["the treatments given so far, one row each"]
    Treatment.objects.create(case=case, kind="systemic", regimen="imatinib 400 mg")
    assert missing(case) == set()


def test_trial_requires_ecog_and_m_and_advises_molecular_results(cast):
    case = bare_case(cast, question_type="trial", ecog=1, metastasis="M1")
    assert missing(case) == {"molecular_results"}
    assert missing_required(case) == []
    MolecularResult.objects.create(case=case, method="NGS", target="NTRK", result="not_detected")
    assert missing(case) == set()  # a negative result is a result


def test_ready_for_board_is_blocked_by_required_items_only(cast):
    case = bare_case(cast, question_type="trial", ecog=None, metastasis="M0")
    access = case_access(cast.chair, case)
    with pytest.raises(ValidationError) as refused:
        case_mark_ready(access=access)
    assert "the ECOG performance status" in str(refused.value)
    assert "molecular" not in str(refused.value)  # advised items are not reasons
    case.ecog = 1
    case.save()
    access = case_access(cast.chair, Case.objects.get(pk=case.pk))
    assert case_mark_ready(access=access).ready_at is not None


def test_the_submitter_sees_the_checklist_with_each_items_status(cast):
    case = bare_case(cast, question_type="surgery", status=Case.Status.SUBMITTED)
    html = signed_in(cast.referrer).get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    text = html.content.decode()
    assert 'id="checklist"' in text
    assert "Please add what is marked missing" in text
    assert 'data-item="primary_imaging"' in text
    assert "imaging of the primary tumour" in text
    assert text.count("is-missing") == 4  # imaging, size, site, chest CT
    assert "Mark ready for board" not in text  # the submitter does not decide that


def test_a_member_who_is_not_a_manager_does_not_see_the_checklist(cast):
    case = bare_case(cast, question_type="surgery")
    text = signed_in(cast.pathologist).get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    assert 'id="checklist"' not in text.content.decode()


def test_the_manager_gets_the_ready_button_once_only_advised_items_are_missing(cast):
    case = bare_case(cast, question_type="trial", ecog=1, metastasis="M0")
    text = signed_in(cast.chair).get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    text = text.content.decode()
    assert "Mark ready for board" in text
    assert 'data-item="molecular_results"' in text  # still shown, as advice


def test_the_checklist_is_gone_once_the_case_is_ready(cast):
    case = bare_case(cast, question_type="")
    case.ready_at = case.created_at
    case.save()
    text = signed_in(cast.referrer).get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    assert 'id="checklist"' not in text.content.decode()


def test_a_patient_is_told_in_plain_words_where_the_missing_facts_come_from(cast):
    case = make_case(
        cast, submitted_by=cast.patient, status=Case.Status.SUBMITTED, entity="", question_type=""
    )
    text = signed_in(cast.patient).get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    text = text.content.decode()
    # The patient's own page (cases/patient_view.py) names what is missing without the codes.
    assert re.search(
        r'data-item="diagnosis"><span class="checklist-status">needed</span> The diagnosis, as '
        r"written in your pathology report",
        text,
    )
    assert "WHO 2020" not in text
    assert "Your doctors' letters and reports hold most of this" in text

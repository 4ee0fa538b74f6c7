"""FHIR R4 export of a concluded case: one Bundle (type "collection") for the referrer's chart.

What it holds is what the referrer copy of the signed report may show (decisions.report_data),
so the same readers get it (CaseAccess.report_audience == referrer):

- Patient: as the referrer entered them (name, birth date, hospital number, sex);
- Condition, the primary cancer, after mCODE STU4 PrimaryCancerCondition: the WHO 2020 entity
  as its ICD-O-3 morphology code, the primary site as its ICD-O-3 topography code (bodySite),
  the AJCC stage group as Condition.stage;
- Observations, after mCODE STU4 TNMStageGroup / TNMPrimaryTumorCategory /
  TNMRegionalNodesCategory / TNMDistantMetastasesCategory: LOINC clinical codes (21908-9,
  21905-5, 21906-3, 21907-1), pathological ones (21902-2, 21899-0, 21900-6, 21901-4) for a
  yp stage after neoadjuvant treatment; the staging system (edition and chapter) as method;
  the category and group as text (cases/clinical stages by the AJCC 8th edition tables; the
  AJCC's own code system is licensed, so no code is invented for them);
- CarePlan, the board's recommendation, after the MII core data set's oncology module
  (MII_PR_Onko_Tumorkonferenz, which the MII molecular tumour board's MII_PR_MTB_Therapieplan
  refines): status active, intent plan, addresses the Condition, one activity per
  recommendation of the signed version (category, text, guideline, ESMO level and grade);
- DocumentReference: the signed referrer copy of the report, the PDF as a base64 attachment
  with its SHA-1 (FHIR Attachment.hash) and size.

The profiles are models, not claims: no meta.profile is set, since the export is not
validated against them (MII requires ICD-10-GM codes the case does not hold, mCODE US Core
identifiers). fhir.resources validates the structure; its R4B models (FHIR 4.3) are the same
as R4 (4.0.1) for these six resource types.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle

from cases.markdown import render_markdown_plain
from cases.models import Case, PatientIdentity
from cases.record import assess
from decisions.models import Consensus, EvidenceLevel, RecommendationGrade, Report

FHIR_JSON = "application/fhir+json"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
# ICD-O-3 in HL7 Terminology (THO), OID 2.16.840.1.113883.6.43.1.
ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
# The staging system, in Observation.method as mCODE's TNM profiles have it.
AJCC8 = {
    "system": SNOMED,
    "code": "897275008",
    "display": "American Joint Commission on Cancer, Cancer Staging Manual, 8th edition "
    "neoplasm staging system (tumor staging)",
}
# LOINC: (clinical, pathological) codes of the stage group and of T, N and M (mCODE STU4).
STAGE_CODES = {
    "group": (
        ("21908-9", "Stage group.clinical Cancer"),
        ("21902-2", "Stage group.pathology Cancer"),
    ),
    "t": (
        ("21905-5", "Primary tumor.clinical [Class] Cancer"),
        ("21899-0", "Primary tumor.pathology Cancer"),
    ),
    "n": (
        ("21906-3", "Regional lymph nodes.clinical [Class] Cancer"),
        ("21900-6", "Regional lymph nodes.pathology [Class] Cancer"),
    ),
    "m": (
        ("21907-1", "Distant metastases.clinical [Class] Cancer"),
        ("21901-4", "Distant metastases.pathology [Class] Cancer"),
    ),
}
GENDER = {Case.Sex.FEMALE: "female", Case.Sex.MALE: "male", Case.Sex.OTHER: "unknown"}
# LOINC 11488-4: Consult note (a second opinion is a consultation's answer).
CONSULT_NOTE = {"system": LOINC, "code": "11488-4", "display": "Consult note"}


def _id(consensus: Consensus, name: str) -> str:
    """A stable id per resource: the same signed version exports the same ids."""
    return str(uuid.uuid5(consensus.uuid, name))


def _ref(resource: dict) -> dict:
    return {"reference": f"urn:uuid:{resource['id']}"}


def _patient(consensus: Consensus) -> dict:
    case = consensus.case
    resource: dict[str, Any] = {"resourceType": "Patient", "id": _id(consensus, "patient")}
    identity = PatientIdentity.objects.filter(case=case).first()
    if identity is not None:
        resource["name"] = [{"use": "official", "text": identity.full_name}]
        if identity.date_of_birth:
            resource["birthDate"] = identity.date_of_birth.isoformat()
        if identity.hospital_number:
            resource["identifier"] = [
                {
                    "type": {"coding": [{"system": IDENTIFIER_TYPE, "code": "MR"}]},
                    "value": identity.hospital_number,
                }
            ]
    if case.sex in GENDER:
        resource["gender"] = GENDER[case.sex]
    return resource


def _staging(consensus: Consensus, record, patient: dict, condition: dict) -> list[dict]:
    stage = record.stage
    if not stage.applies:
        return []
    pathological = "p" in (stage.prefix or "")
    method = {"text": stage.system or ""}
    if (stage.system or "").startswith("AJCC 8th edition"):
        method["coding"] = [AJCC8]
    effective = consensus.signed_at.isoformat()

    def observation(kind: str, value: str) -> dict:
        code, display = STAGE_CODES[kind][1 if pathological else 0]
        return {
            "resourceType": "Observation",
            "id": _id(consensus, f"stage-{kind}"),
            "status": "final",
            "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
            "subject": _ref(patient),
            "focus": [_ref(condition)],
            "effectiveDateTime": effective,
            "method": method,
            "valueCodeableConcept": {"text": value},
        }

    members = []
    for kind, value in (("t", stage.t), ("n", stage.n), ("m", stage.m)):
        if value:
            members.append(observation(kind, f"{stage.prefix}{value}" if kind == "t" else value))
    out = list(members)
    if stage.group:
        group = observation("group", stage.group)
        group["hasMember"] = [_ref(m) for m in members]
        out.insert(0, group)
    return out


def _condition(consensus: Consensus, record, patient: dict) -> dict:
    case = consensus.case
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": _id(consensus, "primary-cancer"),
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]},
        "verificationStatus": {"coding": [{"system": CONDITION_VERIFICATION, "code": "confirmed"}]},
        "category": [{"coding": [{"system": CONDITION_CATEGORY, "code": "problem-list-item"}]}],
        "subject": _ref(patient),
    }
    entity = record.entity
    if entity is not None:
        resource["code"] = {
            "coding": [{"system": ICDO3, "code": entity.icdo, "display": entity.name}],
            "text": f"{entity.name} (WHO Classification of Tumours, 5th edition)",
        }
    else:
        resource["code"] = {"text": "Sarcoma, histotype not recorded"}
    topography = case.topography_obj
    if topography is not None:
        resource["bodySite"] = [
            {
                "coding": [{"system": ICDO3, "code": topography.code, "display": topography.label}],
                "text": topography.label,
            }
        ]
    return resource


def _activity(recommendation: Consensus) -> dict:
    notes = [recommendation.guideline_text] if recommendation.guideline_text else []
    if recommendation.evidence_level != EvidenceLevel.NOT_GRADED:
        notes.append(f"ESMO level of evidence {recommendation.evidence_level}")
    if recommendation.grade != RecommendationGrade.NOT_GRADED:
        notes.append(f"ESMO grade of recommendation {recommendation.grade}")
    detail: dict[str, Any] = {
        "status": "not-started",
        "code": {"text": str(recommendation.get_category_display())},
        "description": render_markdown_plain(recommendation.text),
    }
    activity: dict[str, Any] = {"detail": detail}
    if notes:
        activity["progress"] = [{"text": "; ".join(notes)}]
    return activity


def recommendations_of(consensus: Consensus) -> list[Consensus]:
    """The recommendations a signed version holds: one per version today (its category and
    text); a plan of several would give several activities."""
    return [consensus]


def _care_plan(consensus: Consensus, patient: dict, condition: dict, document: dict) -> dict:
    case = consensus.case
    return {
        "resourceType": "CarePlan",
        "id": _id(consensus, "care-plan"),
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{consensus.uuid}"}],
        "status": "active",
        "intent": "plan",
        "title": f"{case.board.name}: recommendation, version {consensus.version}",
        "category": [{"text": "Tumor board recommendation"}],
        "subject": _ref(patient),
        "created": consensus.signed_at.isoformat(),
        "author": {"display": case.board.name},
        "addresses": [_ref(condition)],
        "supportingInfo": [_ref(document)],
        "activity": [_activity(r) for r in recommendations_of(consensus)],
    }


def _document(consensus: Consensus, report: Report, pdf: bytes, patient: dict) -> dict:
    case = consensus.case
    return {
        "resourceType": "DocumentReference",
        "id": _id(consensus, "report"),
        "masterIdentifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{report.uuid}"},
        "status": "current",
        "docStatus": "final",
        "type": {"coding": [CONSULT_NOTE], "text": "Tumor board report"},
        "subject": _ref(patient),
        "date": (report.generated_at or consensus.signed_at).isoformat(),
        "author": [{"display": case.board.name}],
        "authenticator": {"display": consensus.signed_by.display_name},
        "description": f"Signed report, version {consensus.version} (referrer copy)",
        "content": [
            {
                "attachment": {
                    "contentType": "application/pdf",
                    "language": "en",
                    "data": base64.b64encode(pdf).decode("ascii"),
                    "size": len(pdf),
                    # FHIR R4 Attachment.hash is the base64 SHA-1 of the data.
                    "hash": base64.b64encode(hashlib.sha1(pdf).digest()).decode("ascii"),  # noqa: S324
                    "title": f"report-{case.pseudonym}-v{consensus.version}.pdf",
                    "creation": consensus.signed_at.isoformat(),
                }
            }
        ],
    }


def case_bundle(*, consensus: Consensus, report: Report, pdf: bytes) -> Bundle:
    """The Bundle of a signed version and its referrer copy (``pdf``: the stored file, whose
    SHA-256 the caller has checked), validated by fhir.resources on construction."""
    record = assess(consensus.case)
    patient = _patient(consensus)
    condition = _condition(consensus, record, patient)
    staging = _staging(consensus, record, patient, condition)
    if staging and staging[0]["code"]["coding"][0]["code"] in ("21908-9", "21902-2"):
        condition["stage"] = [
            {
                "summary": {"text": record.stage.group},
                "assessment": [_ref(staging[0])],
                "type": staging[0]["method"],  # the staging system (mCODE: stage.type)
            }
        ]
    document = _document(consensus, report, pdf, patient)
    care_plan = _care_plan(consensus, patient, condition, document)
    resources = [patient, condition, *staging, care_plan, document]
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "id": _id(consensus, "bundle"),
            "identifier": {
                "system": "urn:ietf:rfc:3986",
                "value": f"urn:uuid:{_id(consensus, 'bundle')}",
            },
            "type": "collection",
            "timestamp": timezone.now().isoformat(),
            "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
        }
    )

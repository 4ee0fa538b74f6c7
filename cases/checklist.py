"""What a case still needs before the board can discuss it, by the question it asks.

Some facts every case needs (a question, a diagnosis, a document or a study, a diagnosis
coding nobody still has to review). The rest depends on the question's type: a pathology
review needs the slides and the pathology report, a surgical question needs imaging of the
primary, a systemic-therapy question needs the M status and the performance status...

The rules are a data table (`RULES`, `BY_QUESTION`), each with a one-line clinical
rationale. They are this product's policy, written with sarcoma boards' practice in mind;
they are NOT a published standard, and a board may want to change them. A rule is either
**required** (the case cannot be marked ready for the board without it: `case_mark_ready`)
or **advised** (shown to the submitter and the managers, never blocking).

The molecular alterations that define entities (`DEFINING_ALTERATIONS`) follow the
essential/desirable diagnostic criteria of the WHO Classification of Soft Tissue and Bone
Tumours, 5th ed. (2020); a missing result is only advised, because the diagnosis may rest on
a surrogate (e.g. MDM2 immunohistochemistry) the board accepts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from cases.clinical import GradeStatus

if TYPE_CHECKING:
    from django.utils.functional import Promise

    from cases.models import Case


class Level(StrEnum):
    REQUIRED = "required"  # blocks "ready for board"
    ADVISED = "advised"  # shown, never blocks


@dataclass(frozen=True)
class Item:
    """One line of the checklist as a person reads it."""

    key: str
    label: str  # what is needed, in plain words
    why: str  # the clinical reason, one line
    level: Level
    done: bool
    detail: str = ""  # what is there now, when it is not enough ("slides requested")

    @property
    def required(self) -> bool:
        return self.level == Level.REQUIRED

    @property
    def missing(self) -> bool:
        return not self.done


@dataclass
class Facts:
    """What the rules read besides the case's own fields: read once, a few queries."""

    case: Case
    document_types: set[str]
    has_study: bool
    treatment_count: int
    molecular_targets: list[str]  # targets of results that are in (not pending, not failed)
    open_requests: list[tuple[str, str]]  # (uuid, text) of requests open to the submitter

    @classmethod
    def of(cls, case: Case) -> Facts:
        from cases.models import MolecularResult, SubmitterRequest

        settled = case.molecular_results.exclude(
            result__in=[MolecularResult.Result.PENDING, MolecularResult.Result.FAILED]
        )
        return cls(
            case=case,
            document_types=set(case.attachments.values_list("document_type", flat=True)),
            has_study=case.studies.exists(),
            treatment_count=case.treatments.count(),
            molecular_targets=list(settled.values_list("target", flat=True)),
            open_requests=[
                (str(uuid), text)
                for uuid, text in case.requests.filter(
                    status=SubmitterRequest.Status.OPEN
                ).values_list("uuid", "text")
            ],
        )

    @property
    def has_document(self) -> bool:
        return bool(self.document_types)


# --- the molecular alterations that define an entity (WHO 2020) ----------------------------


@dataclass(frozen=True)
class Alteration:
    name: str  # as a report names it
    genes: tuple[str, ...]  # any of these in a result's target counts


SS18_SSX = Alteration("SS18::SSX fusion", ("SS18", "SSX"))
MDM2 = Alteration("MDM2 amplification", ("MDM2",))
DDIT3 = Alteration("DDIT3 rearrangement (FUS/EWSR1::DDIT3)", ("DDIT3",))
EWSR1_ETS = Alteration("EWSR1 (or FUS)::ETS fusion", ("EWSR1", "FUS", "FLI1", "ERG"))
CIC = Alteration("CIC rearrangement (CIC::DUX4)", ("CIC",))
BCOR = Alteration("BCOR alteration (BCOR::CCNB3 or ITD)", ("BCOR",))
FOXO1 = Alteration("PAX3/PAX7::FOXO1 fusion", ("FOXO1", "PAX3", "PAX7"))
EWSR1_WT1 = Alteration("EWSR1::WT1 fusion", ("EWSR1", "WT1"))
EWSR1_ATF1 = Alteration("EWSR1::ATF1 or EWSR1::CREB1 fusion", ("EWSR1", "ATF1", "CREB1"))
NR4A3 = Alteration("NR4A3 rearrangement", ("NR4A3",))

# WHO 2020 entity key (cases/clinical/data/who_2020.py) → the alteration that defines it.
DEFINING_ALTERATIONS: dict[str, Alteration] = {
    "synovial_sarcoma": SS18_SSX,
    "synovial_sarcoma_spindle": SS18_SSX,
    "synovial_sarcoma_biphasic": SS18_SSX,
    "myxoid_liposarcoma": DDIT3,
    "atypical_lipomatous_tumour": MDM2,
    "well_differentiated_liposarcoma": MDM2,
    "dedifferentiated_liposarcoma": MDM2,
    "ewing_sarcoma": EWSR1_ETS,
    "cic_rearranged_sarcoma": CIC,
    "bcor_sarcoma": BCOR,
    "alveolar_rhabdomyosarcoma": FOXO1,
    "desmoplastic_small_round_cell_tumour": EWSR1_WT1,
    "clear_cell_sarcoma": EWSR1_ATF1,
    "extraskeletal_myxoid_chondrosarcoma": NR4A3,
}


def _mentions(target: str, genes: tuple[str, ...]) -> bool:
    # Word boundaries: "CIC::DUX4" names CIC; "SPECIC" would not.
    return any(re.search(rf"(?<![A-Z0-9]){gene}(?![A-Z0-9])", target.upper()) for gene in genes)


# --- the rules -------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    key: str
    label: Promise | str
    why: Promise | str
    done: Callable[[Facts], bool]
    detail: Callable[[Facts], str] = lambda facts: ""
    applies: Callable[[Facts], bool] = lambda facts: True


def _grade_known(facts: Facts) -> bool:
    # A grade the engine computed, decided, took as reported, or that does not apply to the
    # tumour type (GIST, desmoid): "pending" and a conflict are not known.
    status = facts.case.clinical.grade.status
    return status in (
        GradeStatus.COMPUTED,
        GradeStatus.DECIDED,
        GradeStatus.REPORTED,
        GradeStatus.NOT_APPLICABLE,
    )


def _chest_done(facts: Facts) -> bool:
    return facts.case.chest_staging not in ("", "not_done")


def _slides_detail(facts: Facts) -> str:
    case = facts.case
    return case.get_slides_display() if case.slides else _("not recorded")


def _coding_detail(facts: Facts) -> str:
    return facts.case.coding_review


def _defining(facts: Facts) -> Alteration | None:
    return DEFINING_ALTERATIONS.get(facts.case.entity)


def _defining_done(facts: Facts) -> bool:
    alteration = _defining(facts)
    return alteration is not None and any(
        _mentions(target, alteration.genes) for target in facts.molecular_targets
    )


def _defining_detail(facts: Facts) -> str:
    alteration = _defining(facts)
    if alteration is None:
        return ""
    return _("%(entity)s is defined by %(alteration)s (WHO 2020).") % {
        "entity": facts.case.diagnosis_label,
        "alteration": alteration.name,
    }


def _pathology_report_detail(facts: Facts) -> str:
    if facts.has_document:
        return _("Documents are attached, but none is marked as a pathology report.")
    return ""


RULES: dict[str, Rule] = {
    rule.key: rule
    for rule in (
        # Every case.
        Rule(
            "question",
            _lazy("a question to the board"),
            _lazy("The board answers a question; without one it cannot recommend anything."),
            lambda f: bool(f.case.question.strip()),
        ),
        Rule(
            "diagnosis",
            _lazy("a diagnosis (WHO 2020)"),
            _lazy("The tumour type decides which grading, staging and guidelines apply."),
            lambda f: bool(f.case.diagnosis_label),
        ),
        Rule(
            "evidence",
            _lazy("at least one report or one imaging study"),
            _lazy("The board reads the evidence itself, not only a summary of it."),
            lambda f: f.has_document or f.has_study,
        ),
        Rule(
            "coding_review",
            _lazy("the diagnosis coding reviewed"),
            _lazy(
                "A diagnosis recorded before WHO 2020 coding named more than one entity; "
                "a person chooses the entity, then clears the flag."
            ),
            lambda f: not f.case.coding_review.strip(),
            _coding_detail,
        ),
        Rule(
            "question_type",
            _lazy("the type of question"),
            _lazy("What the board needs depends on it; this checklist adapts to it."),
            lambda f: bool(f.case.question_type),
        ),
        # Pathology.
        Rule(
            "slides",
            _lazy("the pathology slides received, or available as whole-slide images"),
            _lazy("A pathologist reviews the slides themselves, not the referring report."),
            lambda f: f.case.slides in ("received", "digital"),
            _slides_detail,
        ),
        Rule(
            "pathology_report",
            _lazy("a pathology report attached (document type “Pathology report”)"),
            _lazy("The review compares its findings with the referring pathologist's report."),
            lambda f: "pathology" in f.document_types,
            _pathology_report_detail,
        ),
        Rule(
            "defining_alteration",
            _lazy("the molecular result that defines this diagnosis"),
            _lazy(
                "WHO 2020 defines the entity by this alteration; confirm it before relying on it."
            ),
            _defining_done,
            _defining_detail,
            applies=lambda f: _defining(f) is not None,
        ),
        # Extent of disease.
        Rule(
            "primary_imaging",
            _lazy("imaging of the primary tumour (modality and date), or the images uploaded"),
            _lazy("Resection and radiotherapy are planned on imaging of the primary tumour."),
            lambda f: (
                bool(f.case.primary_imaging_modality and f.case.primary_imaging_date) or f.has_study
            ),
        ),
        Rule(
            "size",
            _lazy("the tumour size"),
            _lazy("Size drives the T category, the risk and the extent of treatment."),
            lambda f: f.case.size_cm is not None,
        ),
        Rule(
            "site",
            _lazy("the primary site"),
            _lazy("The site decides the staging system, the approach and the fields at risk."),
            lambda f: bool(f.case.topography or f.case.primary_site),
        ),
        Rule(
            "chest_staging",
            _lazy("a staging CT of the chest"),
            _lazy("Lung metastases, the commonest, change the aim of treatment."),
            _chest_done,
            lambda f: f.case.get_chest_staging_display() if f.case.chest_staging else "",
        ),
        Rule(
            "m_status",
            _lazy("the distant metastasis status (M)"),
            _lazy("Localised and metastatic disease are treated differently."),
            lambda f: bool(f.case.metastasis),
        ),
        Rule(
            "grade",
            _lazy("the grade (FNCLCC scores, or the grade as reported)"),
            _lazy("Grade selects who benefits from radiotherapy and chemotherapy."),
            _grade_known,
        ),
        # Patient and treatment.
        Rule(
            "ecog",
            _lazy("the ECOG performance status"),
            _lazy("Fitness decides which systemic treatments and trials are possible."),
            lambda f: f.case.ecog is not None,
        ),
        Rule(
            "prior_treatments",
            _lazy("prior treatments, one row each (if there were any)"),
            _lazy("Earlier radiotherapy and surgery limit what can be given again."),
            lambda f: f.treatment_count > 0,
        ),
        Rule(
            "treatment_rows",
            _lazy("the treatments given so far, one row each"),
            _lazy("Follow-up is planned from the treatment given and its result."),
            lambda f: f.treatment_count > 0,
        ),
        Rule(
            "molecular_results",
            _lazy("molecular results, one row per test"),
            _lazy("Many trials select patients by a molecular alteration."),
            lambda f: bool(f.molecular_targets),
        ),
    )
}

R, A = Level.REQUIRED, Level.ADVISED

# Every case, whatever its question.
ALWAYS: tuple[tuple[str, Level], ...] = (
    ("question", R),
    ("diagnosis", R),
    ("evidence", R),
    ("coding_review", R),
    ("question_type", A),
)

# QuestionType value (cases.models.QuestionType) → its own rules.
BY_QUESTION: dict[str, tuple[tuple[str, Level], ...]] = {
    "pathology_review": (("slides", R), ("pathology_report", R)),
    "diagnosis": (("slides", R), ("pathology_report", R), ("defining_alteration", A)),
    "surgery": (("primary_imaging", R), ("size", R), ("site", R), ("chest_staging", R)),
    "radiotherapy": (("primary_imaging", R), ("site", R), ("size", R), ("prior_treatments", A)),
    "systemic": (("m_status", R), ("chest_staging", R), ("ecog", R)),
    "treatment": (
        ("site", R),
        ("size", R),
        ("grade", R),
        ("m_status", R),
        ("chest_staging", R),
    ),
    "follow_up": (("treatment_rows", R),),
    "trial": (("ecog", R), ("m_status", R), ("molecular_results", A)),
}


def checklist(case: Case) -> list[Item]:
    """Every item that applies to the case's question, done or not, required ones first."""
    facts = Facts.of(case)
    items = []
    for key, level in (*ALWAYS, *BY_QUESTION.get(case.question_type, ())):
        rule = RULES[key]
        if not rule.applies(facts):
            continue
        done = rule.done(facts)
        items.append(
            Item(
                key=key,
                label=str(rule.label),
                why=str(rule.why),
                level=level,
                done=done,
                detail="" if done else rule.detail(facts),
            )
        )
    items.extend(_request_items(facts))
    return sorted(items, key=lambda item: not item.required)


def _request_items(facts: Facts) -> list[Item]:
    """Each request the board still waits on, as a missing item (issue #16). Advised, not
    required: the case is "awaiting information", yet the chair may judge it ready and
    schedule it (an urgent case is discussed with what there is)."""
    return [
        Item(
            key=f"request-{uuid}",
            label=_("Answer the board's request: %(text)s") % {"text": _shorten(text)},
            why=_("The board asked for this; the case is awaiting information."),
            level=Level.ADVISED,
            done=False,
        )
        for uuid, text in facts.open_requests
    ]


def _shorten(text: str, limit: int = 140) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def missing_required(case: Case) -> list[str]:
    """What blocks "ready for board", in words (empty when nothing does)."""
    return [item.label for item in checklist(case) if item.required and item.missing]

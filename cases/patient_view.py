"""The case page as a patient who asked the board themselves reads it (issue #16).

A patient reads their question and story, where their request stands and what happens next
(cases.next_step's patient words), the board's answer once it is signed and sent to them, and
what the board still needs, in plain words. They never read the clinicians' working words:
no urgency, grading (FNCLCC), staging (AJCC/TNM), specialty, audit trail or invitation.

The diagnosis is shown only as the WHO entity's name the board's doctors recorded, "Diagnosis
recorded by your doctors: Myxofibrosarcoma", without its codes, grade or stage: the name is
what the patient's own doctors tell them and what they will look up; a grade or a stage read
alone, without the doctor who explains it, misleads more than it informs. Free text typed in
"other diagnosis" is not shown: it may hold codes and working notes.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from board.models import User
from cases.access import CaseAccess
from cases.checklist import Item
from cases.models import Case

S = Case.Status

# The request's status in the patient's words (the clinicians' labels are "In review"...).
STATUS_WORDS = {
    S.DRAFT: _("Not sent yet"),
    S.SUBMITTED: _("Received by the board"),
    S.IN_REVIEW: _("Being studied by the board's doctors"),
    S.SCHEDULED: _("Planned for a board meeting"),
    S.DISCUSSED: _("Discussed: the answer is being written"),
    S.CONCLUDED: _("Answer ready"),
    S.WITHDRAWN: _("Withdrawn"),
}

# The stages a request goes through, as the patient follows them (withdrawn is shown apart).
JOURNEY = (
    (S.SUBMITTED, _("Sent to the board")),
    (S.IN_REVIEW, _("Studied by the board's doctors")),
    (S.SCHEDULED, _("Discussed at a board meeting")),
    (S.CONCLUDED, _("The board's answer")),
)
ORDER = [S.DRAFT, S.SUBMITTED, S.IN_REVIEW, S.SCHEDULED, S.DISCUSSED, S.CONCLUDED]

# Each checklist rule (cases.checklist.RULES) in plain words, and who usually has it. The
# clinicians' labels name staging systems and scores; a patient needs to know what to ask for.
CHECKLIST_WORDS: dict[str, str] = {
    "question": _("Your question to the board"),
    "diagnosis": _("The diagnosis, as written in your pathology report"),
    "evidence": _("At least one medical report or one set of scan images"),
    "coding_review": _("A check of the diagnosis by the board's team (nothing for you to do)"),
    "question_type": _("The kind of advice you are asking for (the board's team can set it)"),
    "slides": _(
        "The tissue slides from your biopsy or operation: the hospital that made them can "
        "send them to the board"
    ),
    "pathology_report": _(
        "Your pathology report (the laboratory report on the tissue): upload it as "
        "“Pathology report”"
    ),
    "defining_alteration": _("The result of the genetic test of the tumour, if one was done"),
    "primary_imaging": _("A scan of the tumour (MRI or CT) and its date, or the images"),
    "size": _("The size of the tumour (in your scan or operation report)"),
    "site": _("Where in the body the tumour is"),
    "chest_staging": _("A CT scan of the chest"),
    "m_status": _("Whether the tumour has spread elsewhere (in your scan reports)"),
    "grade": _("How aggressive the tumour looks under the microscope (in the pathology report)"),
    "ecog": _("How your illness affects your daily activities (your doctor's letter says it)"),
    "prior_treatments": _("The treatments you have had so far, if any"),
    "treatment_rows": _("The treatments you have had so far"),
    "molecular_results": _("Results of genetic tests of the tumour, if any were done"),
}


def is_patient_reader(access: CaseAccess) -> bool:
    """A patient reading the request they sent themselves (a patient is never on a board)."""
    return access.user.kind == User.Kind.PATIENT and access.is_submitter and not access.is_panelist


@dataclass(frozen=True)
class PlainItem:
    key: str
    text: str
    done: bool
    required: bool


def plain_checklist(items: list[Item]) -> list[PlainItem]:
    return [
        PlainItem(
            key=item.key,
            text=str(CHECKLIST_WORDS.get(item.key, item.label)),
            done=item.done,
            required=item.required,
        )
        for item in items
    ]


@dataclass(frozen=True)
class Stage:
    label: str
    state: str  # "done", "current" or "todo"


def journey(case: Case) -> list[Stage]:
    """Where the request is on its way to an answer (empty for a draft or a withdrawn one)."""
    if case.status in (S.DRAFT, S.WITHDRAWN):
        return []
    # "Discussed" is the meeting done and the answer being written: the last stage is current.
    at = ORDER.index(S.CONCLUDED if case.status == S.DISCUSSED else case.status)
    stages = []
    for status, label in JOURNEY:
        index = ORDER.index(status)
        if index < at or (case.status == S.CONCLUDED and index == at):
            state = "done"
        elif index == at:
            state = "current"
        else:
            state = "todo"
        stages.append(Stage(label=str(label), state=state))
    return stages


def context(case: Case, access: CaseAccess, checklist_items: list[Item] | None) -> dict:
    """What templates/cases/case_patient.html reads besides the case page's own context."""
    entity = case.entity_obj
    missing = [i for i in plain_checklist(checklist_items or []) if not i.done]
    return {
        "status_words": str(STATUS_WORDS[case.status]),
        "journey": journey(case),
        "diagnosis_name": entity.name if entity is not None else "",
        "plain_missing": missing,
        "plain_done": [i for i in plain_checklist(checklist_items or []) if i.done],
        "plain_blocking": any(i.required for i in missing),
    }

"""What happens next to a case, in words for the one who reads it.

Every status says who acts next and what they do, for four readers: the board's managers
(chair, coordinators), its panelists (members, invited experts), the referring doctor who
submitted the case, and a patient who submitted their own (in plain words). Submitters also
read the board's stated turnaround (Board.turnaround_days) while they wait for its answer.
The words follow the workflow the code enforces (cases.access.TRANSITIONS, the checklist's
"ready for board", meetings.services.agenda_add, decisions' signing), never a promise it
does not keep.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from board.models import User
from cases.access import CaseAccess
from cases.models import Case

S = Case.Status
MANAGER, PANELIST, REFERRER, PATIENT = "manager", "panelist", "referrer", "patient"
READERS = (MANAGER, PANELIST, REFERRER, PATIENT)
# While the submitter waits for the board's answer, the turnaround is worth repeating.
WAITING = {S.SUBMITTED, S.IN_REVIEW, S.SCHEDULED, S.DISCUSSED}

WORDS: dict[str, dict[str, object]] = {
    MANAGER: {
        S.DRAFT: _("The submitter has not sent it yet."),
        S.SUBMITTED: _("Check the case and accept it for review, or withdraw it."),
        S.IN_REVIEW: _("Complete the checklist, then mark the case ready for the board."),
        "ready": _("Put it on a meeting's agenda."),
        S.SCHEDULED: _(
            "It is on a meeting's agenda: discuss it there, then vote or mark it discussed."
        ),
        S.DISCUSSED: _("Write the consensus and sign it; the report then goes to the submitter."),
        S.CONCLUDED: _("The signed report is final; a correction is a new version, signed again."),
        S.WITHDRAWN: _("Withdrawn: nothing more happens to this case."),
    },
    PANELIST: {
        S.DRAFT: _("The submitter has not sent it yet."),
        S.SUBMITTED: _("The board's coordinator checks the case before the panel reviews it."),
        S.IN_REVIEW: _("Read the case and give your opinion; the case then goes to a meeting."),
        S.SCHEDULED: _("It will be discussed at a meeting: give your opinion before then."),
        S.DISCUSSED: _("The chair writes and signs the board's consensus."),
        S.CONCLUDED: _("The board's consensus is signed; its report is on the case page."),
        S.WITHDRAWN: _("Withdrawn: nothing more happens to this case."),
    },
    REFERRER: {
        S.DRAFT: _("The board sees nothing until you submit the case: complete it and submit."),
        S.SUBMITTED: _("The board's coordinator checks the case and accepts it for review."),
        S.IN_REVIEW: _(
            "The board's specialists study the case and give their opinions; then it is put "
            "on a meeting's agenda."
        ),
        "ready": _("The case is ready for the board and waits for a meeting."),
        S.SCHEDULED: _(
            "The case is on the agenda of a board meeting. After the discussion the board "
            "signs its recommendation."
        ),
        S.DISCUSSED: _(
            "The board has discussed the case and is writing its recommendation; you get an "
            "email when it is signed."
        ),
        S.CONCLUDED: _(
            "The board's signed recommendation is ready: read it and download the report on "
            "the case page."
        ),
        S.WITHDRAWN: _("The case was withdrawn: the board takes no further action."),
    },
    PATIENT: {
        S.DRAFT: _("Your request has not been sent yet. Finish it and send it to the board."),
        S.SUBMITTED: _("The board's team checks your request and accepts it for review."),
        S.IN_REVIEW: _("Doctors of several specialties on the board are studying your case."),
        "ready": _("Your case is ready to be discussed at one of the board's meetings."),
        S.SCHEDULED: _(
            "Your case will be discussed at a board meeting. After it, the board writes its answer."
        ),
        S.DISCUSSED: _(
            "The board has discussed your case and is writing its answer. We email you when "
            "it is ready."
        ),
        S.CONCLUDED: _(
            "The board's answer is ready: you can read it and download it on your case page."
        ),
        "concluded_not_sent": _(
            "The board has given its answer. This board does not send its answers to patients "
            "directly: a doctor goes through it with you."
        ),
        S.WITHDRAWN: _("Your request was withdrawn: the board does nothing more with it."),
    },
}


# A case sent to an expert service (issue #16): one expert answers, no meeting.
EXPERT_WORDS: dict[str, dict[str, object]] = {
    MANAGER: {
        S.SUBMITTED: _("Assign one of the service's experts, or let one of them take it."),
        S.IN_REVIEW: _("The expert holding the case writes and signs the opinion."),
        S.CONCLUDED: _("The expert's opinion is signed; its report is on the case page."),
    },
    PANELIST: {
        S.SUBMITTED: _("Take the case to review it, or wait for the coordinator to assign it."),
        S.IN_REVIEW: _("The expert holding the case writes and signs the opinion."),
        S.CONCLUDED: _("The expert's opinion is signed; its report is on the case page."),
    },
    REFERRER: {
        S.SUBMITTED: _("The expert service assigns your case to one of its experts."),
        S.IN_REVIEW: _(
            "One expert is reviewing the case; you get their signed opinion and its report."
        ),
        S.CONCLUDED: _("The expert's signed opinion is ready: read it and download the report."),
    },
    PATIENT: {
        S.SUBMITTED: _("The service is choosing which of its experts reviews your request."),
        S.IN_REVIEW: _("An expert is reviewing your request and will sign a written opinion."),
        S.CONCLUDED: _("The expert's answer is ready: you can read it and download it here."),
    },
}


@dataclass(frozen=True)
class NextStep:
    reader: str
    text: str
    turnaround: str = ""


def reader_of(who: CaseAccess | str) -> str:
    """Which words a reader gets: a reader's name as is, or the one their access implies."""
    if isinstance(who, str):
        if who not in READERS:
            raise ValueError(f"unknown reader {who!r}")
        return who
    if who.is_manager:
        return MANAGER
    if who.is_panelist:
        return PANELIST
    return PATIENT if who.user.kind == User.Kind.PATIENT else REFERRER


def turnaround_text(case: Case, reader: str) -> str:
    days = case.board.turnaround_days
    if not days or reader not in (REFERRER, PATIENT) or case.status not in WAITING:
        return ""
    if reader == PATIENT:
        return ngettext(
            "The board aims to answer within %(days)d working day of receiving your request.",
            "The board aims to answer within %(days)d working days of receiving your request.",
            days,
        ) % {"days": days}
    return ngettext(
        "Stated turnaround: an answer within %(days)d working day of submission.",
        "Stated turnaround: an answer within %(days)d working days of submission.",
        days,
    ) % {"days": days}


def next_step(case: Case, who: CaseAccess | str) -> NextStep:
    reader = reader_of(who)
    words = WORDS[reader]
    key = case.status
    if case.status == S.IN_REVIEW and case.ready_at is not None and "ready" in words:
        key = "ready"
    if reader == PATIENT and case.status == S.CONCLUDED and not case.board.send_report_to_patient:
        key = "concluded_not_sent"
    if case.board.is_expert_service and key in EXPERT_WORDS[reader]:
        words = EXPERT_WORDS[reader]
    return NextStep(reader=reader, text=str(words[key]), turnaround=turnaround_text(case, reader))

"""What happens next (cases/next_step.py): for each status and reader, who acts and what they
do, as the workflow does it; the board's stated turnaround for those who submitted."""

from __future__ import annotations

import re

import pytest
from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone

from cases.models import Case
from cases.next_step import MANAGER, PANELIST, PATIENT, REFERRER, next_step
from tests.cases.factories import make_case
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db

S = Case.Status

# (status, ready for board?, reader) -> words the reader must find. Read from the workflow:
# the coordinator (a manager) accepts submitted cases (cases.access.TRANSITIONS); a case in
# review is marked ready by the checklist and then put on a meeting's agenda
# (meetings.services.agenda_add); after the meeting the chair signs the consensus.
EXPECTED = [
    (S.DRAFT, False, REFERRER, "submit"),
    (S.DRAFT, False, PATIENT, "not been sent"),
    (S.SUBMITTED, False, REFERRER, "coordinator checks the case and accepts it for review"),
    (S.SUBMITTED, False, PATIENT, "checks your request"),
    (S.SUBMITTED, False, MANAGER, "accept it for review"),
    (S.SUBMITTED, False, PANELIST, "coordinator checks the case"),
    (S.IN_REVIEW, False, REFERRER, "give their opinions"),
    (S.IN_REVIEW, True, REFERRER, "waits for a meeting"),
    (S.IN_REVIEW, False, PATIENT, "studying your case"),
    (S.IN_REVIEW, True, PATIENT, "ready to be discussed"),
    (S.IN_REVIEW, False, MANAGER, "mark the case ready for the board"),
    (S.IN_REVIEW, True, MANAGER, "meeting's agenda"),
    (S.IN_REVIEW, True, PANELIST, "give your opinion"),
    (S.SCHEDULED, True, REFERRER, "agenda of a board meeting"),
    (S.SCHEDULED, True, PANELIST, "before then"),
    (S.DISCUSSED, True, REFERRER, "writing its recommendation"),
    (S.DISCUSSED, True, MANAGER, "sign it"),
    (S.CONCLUDED, True, REFERRER, "download the report"),
    (S.CONCLUDED, True, PATIENT, "download it on your case page"),
    (S.WITHDRAWN, False, REFERRER, "withdrawn"),
    (S.WITHDRAWN, False, PATIENT, "withdrawn"),
]


@pytest.mark.parametrize(("status", "ready", "reader", "words"), EXPECTED)
def test_each_status_says_what_happens_next_to_its_reader(cast, status, ready, reader, words):
    case = make_case(cast, status=status, ready_at=timezone.now() if ready else None)
    assert words in next_step(case, reader).text


def test_every_status_has_words_for_every_reader(cast):
    for status in S.values:
        for reader in (MANAGER, PANELIST, REFERRER, PATIENT):
            assert next_step(make_case(cast, status=status), reader).text


def test_a_patient_of_a_board_that_does_not_send_reports_to_patients_is_told_so(cast):
    cast.board.send_report_to_patient = False
    cast.board.save()
    case = make_case(cast, status=S.CONCLUDED, submitted_by=cast.patient)
    text = next_step(case, PATIENT).text
    assert "does not send its answers to patients" in text
    assert "download" not in text


@pytest.mark.parametrize("status", [S.SUBMITTED, S.IN_REVIEW, S.SCHEDULED, S.DISCUSSED])
def test_submitters_read_the_boards_turnaround_while_they_wait(cast, status):
    cast.board.turnaround_days = 10
    cast.board.save()
    case = make_case(cast, status=status)
    assert "10 working days" in next_step(case, REFERRER).turnaround
    assert "10 working days" in next_step(case, PATIENT).turnaround
    assert next_step(case, PANELIST).turnaround == ""
    assert next_step(case, MANAGER).turnaround == ""


@pytest.mark.parametrize("status", [S.DRAFT, S.CONCLUDED, S.WITHDRAWN])
def test_no_turnaround_once_answered_or_before_sending(cast, status):
    cast.board.turnaround_days = 10
    cast.board.save()
    assert next_step(make_case(cast, status=status), REFERRER).turnaround == ""


def test_no_turnaround_when_the_board_states_none(cast):
    assert next_step(make_case(cast, status=S.SUBMITTED), REFERRER).turnaround == ""


def test_one_working_day_is_singular(cast):
    cast.board.turnaround_days = 1
    cast.board.save()
    assert "1 working day of" in next_step(make_case(cast, status=S.SUBMITTED), REFERRER).turnaround


@pytest.mark.parametrize(
    ("who", "reader"),
    [("referrer", REFERRER), ("chair", MANAGER), ("coordinator", MANAGER), ("surgeon", PANELIST)],
)
def test_the_case_page_shows_the_next_step_for_its_reader(cast, who, reader):
    case = make_case(cast, status=S.SUBMITTED)
    html = signed_in(getattr(cast, who)).get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    found = re.search(r'<p class="next-step"[^>]*data-reader="(\w+)"', html.content.decode())
    assert found and found.group(1) == reader


def test_the_case_page_of_a_patient_speaks_to_the_patient(cast):
    case = make_case(cast, status=S.SUBMITTED, submitted_by=cast.patient)
    html = signed_in(cast.patient).get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    assert "checks your request" in html.content.decode()


def test_unknown_reader_is_a_programming_error(cast):
    with pytest.raises(ValueError):
        next_step(make_case(cast), "someone")


# --- the turnaround in the board's settings ------------------------------------------------------


RULES = {
    "vote_mode": "per_proposal",
    "tally_visibility": "hidden",
    "consensus_rule": "qualified_majority",
    "qualified_majority": "2/3",
}


def settings_url(board):
    return reverse("board-settings", kwargs={"board_id": board.uuid})


def test_managers_state_the_turnaround_in_the_boards_settings(cast):
    client = signed_in(cast.coordinator)
    response = client.post(settings_url(cast.board), {"turnaround_days": "7", **RULES})
    assert response.status_code == 302
    cast.board.refresh_from_db()
    assert cast.board.turnaround_days == 7
    assert (
        'name="turnaround_days" value="7"' in client.get(settings_url(cast.board)).content.decode()
    )
    client.post(settings_url(cast.board), {"turnaround_days": "", **RULES})
    cast.board.refresh_from_db()
    assert cast.board.turnaround_days is None


@pytest.mark.parametrize("value", ["0", "-3", "366", "ten"])
def test_the_turnaround_is_a_positive_number_of_days(cast, value):
    response = signed_in(cast.chair).post(
        settings_url(cast.board), {"turnaround_days": value, **RULES}
    )
    assert response.status_code == 200  # the form again, with its error
    cast.board.refresh_from_db()
    assert cast.board.turnaround_days is None


def test_the_database_refuses_a_zero_turnaround(cast):
    with pytest.raises(IntegrityError):
        type(cast.board).objects.filter(pk=cast.board.pk).update(turnaround_days=0)

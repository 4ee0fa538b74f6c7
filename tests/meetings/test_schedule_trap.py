"""A case is scheduled only by being put on a meeting's agenda (issue #16, "Traps to remove"):
no workflow button moves it to "scheduled" without a meeting, a ready case stays in the agenda
picker, and the submitter's emails name the meeting."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from cases.models import Case
from tests.helpers import signed_in
from tests.meetings.factories import make_meeting, ready_case

pytestmark = pytest.mark.django_db
S = Case.Status


def case_page(client, case) -> str:
    return client.get(reverse("case-detail", kwargs={"case_id": case.uuid})).content.decode()


def picker(client, meeting) -> str:
    html = client.get(reverse("meeting-detail", kwargs={"meeting_id": meeting.uuid})).content
    return re.search(r'<select name="case".*?</select>', html.decode(), re.S).group(0)


def test_a_ready_case_has_no_schedule_button_and_points_to_the_agenda(cast):
    case = ready_case(cast)
    html = case_page(signed_in(cast.chair), case)
    assert 'value="scheduled"' not in html
    assert ">Schedule<" not in html
    assert 'id="schedule-hint"' in html


def test_posting_the_old_schedule_move_is_refused_and_the_case_stays_pickable(cast):
    case = ready_case(cast)
    meeting = make_meeting(cast)
    client = signed_in(cast.chair)
    response = client.post(
        reverse("case-status", kwargs={"case_id": case.uuid}), {"to": S.SCHEDULED}
    )
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.status == S.IN_REVIEW
    assert case.pseudonym in picker(client, meeting)
    assert mail.outbox == []


def test_the_agenda_schedules_the_case_and_the_email_names_the_meeting(
    cast, django_capture_on_commit_callbacks
):
    cast.referrer.email = "ref@riverside.example"
    cast.referrer.time_zone = "Europe/Lisbon"  # the email gives the referrer's own time
    cast.referrer.save(update_fields=["email", "time_zone"])
    case = ready_case(cast)
    meeting = make_meeting(cast)  # 14 Mar 2031, 08:30 in Paris, 07:30 in Lisbon
    client = signed_in(cast.chair)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("agenda-add", kwargs={"meeting_id": meeting.uuid}),
            {"case": case.uuid, "time_box_minutes": 10},
        )
    case.refresh_from_db()
    assert case.status == S.SCHEDULED
    [message] = [m for m in mail.outbox if m.to == ["ref@riverside.example"]]
    assert "scheduled" in message.subject
    assert "“Sarcoma board, March” of 14 Mar 2031, 07:30 WET" in message.body
    # Scheduled through the agenda, it cannot be "unscheduled" by a button either.
    assert 'value="in_review"' not in case_page(client, case)
    item = meeting.agenda_items.get()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("agenda-remove", kwargs={"meeting_id": meeting.uuid, "item_id": item.uuid})
        )
    case.refresh_from_db()
    assert case.status == S.IN_REVIEW
    assert case.pseudonym in picker(client, meeting)
    [message] = mail.outbox
    assert "taken off the agenda of the meeting “Sarcoma board, March”" in message.body


@pytest.mark.parametrize(
    ("status", "shown"),
    [
        (S.IN_REVIEW, True),
        (S.SCHEDULED, False),
        (S.DISCUSSED, False),
        (S.CONCLUDED, False),
    ],
)
def test_ready_for_board_is_shown_only_while_it_matters(cast, status, shown):
    case = ready_case(cast)
    Case.objects.filter(pk=case.pk).update(status=status)
    html = case_page(signed_in(cast.chair), case)
    assert ('id="case-ready"' in html) is shown
    queue = signed_in(cast.chair).get(reverse("board-queue", kwargs={"board_id": cast.board.uuid}))
    row = re.search(
        rf"<tr>\s*<td><a[^>]*>{case.pseudonym}</a>.*?</tr>", queue.content.decode(), re.S
    )
    assert ('<span class="badge">ready</span>' in row.group(0)) is shown

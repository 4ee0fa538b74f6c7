"""Follow-up of the board's recommendations: the schedule made at the signature, recording
each point (every status, the coded reasons, the refusals), re-presentation, the addendum PDF,
reminders and the work lists."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from board.models import DataManager, User
from board.worklist import worklist_for
from cases.models import AuditEvent, Case
from decisions import followup as followups
from decisions.models import FollowUp, FollowUpAddendum, FollowUpStatus
from tests.cases.factories import PATIENT_NAME, invite
from tests.cast import make_user
from tests.decisions.factories import decided_case, draft, pdf_text, sign
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db

NOT_DONE = {
    "status": "not_implemented",
    "reason": "patient_choice",
    "done_instead": "Surveillance MRI every 3 months.",
}


def signed_case(cast, django_capture_on_commit_callbacks, *, render=False):
    """A concluded case with a signed consensus; its report PDFs are rendered only when
    ``render`` (the after-commit work: slow, and most tests need none of it)."""
    case, *_ = decided_case(cast)
    with django_capture_on_commit_callbacks(execute=render):
        consensus = sign(cast, case, draft(cast, case))
    case.refresh_from_db()
    return case, consensus


def point(case, months=3) -> FollowUp:
    return FollowUp.objects.get(case=case, months=months, consensus__superseded_by__isnull=True)


def record(user, case, months=3, data=None, callbacks=None):
    access = followups.followup_access(user, case)
    target = point(case, months)
    if callbacks is None:
        return followups.followup_record(access=access, followup=target, data=data or NOT_DONE)
    with callbacks(execute=True):
        return followups.followup_record(access=access, followup=target, data=data or NOT_DONE)


def data_manager(cast) -> User:
    user = make_user("datamanager")
    DataManager.objects.create(user=user, board=cast.board)
    return user


# --- the schedule -------------------------------------------------------------------------------


def test_add_months_keeps_the_day_or_takes_the_months_last():
    assert followups.add_months(datetime.date(2026, 1, 31), 1) == datetime.date(2026, 2, 28)
    assert followups.add_months(datetime.date(2028, 1, 31), 1) == datetime.date(2028, 2, 29)
    assert followups.add_months(datetime.date(2026, 11, 15), 3) == datetime.date(2027, 2, 15)
    assert followups.add_months(datetime.date(2026, 12, 3), 12) == datetime.date(2027, 12, 3)


def test_signing_schedules_the_boards_follow_up_points(cast, django_capture_on_commit_callbacks):
    case, consensus = signed_case(cast, django_capture_on_commit_callbacks)
    signed_on = consensus.signed_at.date()  # the board works in UTC
    points = list(consensus.followups.order_by("months"))
    assert [(p.months, p.due_on, p.status) for p in points] == [
        (3, followups.add_months(signed_on, 3), "pending"),
        (6, followups.add_months(signed_on, 6), "pending"),
        (12, followups.add_months(signed_on, 12), "pending"),
    ]
    assert all(p.case_id == case.pk for p in points)


def test_a_board_sets_its_own_points_or_none(cast, django_capture_on_commit_callbacks):
    cast.board.followup_months = "1,24"
    cast.board.save()
    _case, consensus = signed_case(cast, django_capture_on_commit_callbacks)
    assert sorted(consensus.followups.values_list("months", flat=True)) == [1, 24]
    cast.board.followup_months = ""
    cast.board.save()
    _case, consensus = signed_case(cast, django_capture_on_commit_callbacks)
    assert not consensus.followups.exists()


@pytest.mark.parametrize("value", ["6,3", "3,3", "0", "3,x", "121"])
def test_follow_up_points_must_be_rising_whole_months(cast, value):
    cast.board.followup_months = value
    with pytest.raises(ValidationError):
        cast.board.full_clean()


def test_a_correction_takes_over_the_pending_points(cast, django_capture_on_commit_callbacks):
    case, first = signed_case(cast, django_capture_on_commit_callbacks)
    record(cast.referrer, case, 3, {"status": "implemented"})
    dates = dict(first.followups.values_list("months", "due_on"))
    with django_capture_on_commit_callbacks(execute=True):
        second = sign(cast, case, draft(cast, case, text="Wide resection, R0 intended."))
    assert second.supersedes_id == first.pk
    assert dict(second.followups.values_list("months", "due_on")) == {6: dates[6], 12: dates[12]}
    # The recorded point stays with the version it was recorded on.
    assert list(first.followups.values_list("months", "status")) == [(3, "implemented")]


# --- recording: every status --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"status": "implemented"}, ""),
        ({"status": "partial", "reason": "comorbidity", "done_instead": "RT only."}, "comorbidity"),
        (NOT_DONE, "patient_choice"),
        ({"status": "not_yet_due"}, ""),
        ({"status": "lost"}, ""),
    ],
)
def test_the_referrer_records_each_status(cast, django_capture_on_commit_callbacks, data, reason):
    case, _consensus = signed_case(cast, django_capture_on_commit_callbacks)
    recorded = record(cast.referrer, case, 3, data)
    recorded.refresh_from_db()
    assert (recorded.status, recorded.reason) == (data["status"], reason)
    assert recorded.recorded_by == cast.referrer and recorded.recorded_at is not None
    event = AuditEvent.objects.get(action="followup.record", outcome="allowed")
    assert event.detail["status"] == data["status"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"status": "pending"}, "status"),
        ({"status": ""}, "status"),
        ({"status": "not_implemented", "done_instead": "Nothing."}, "reason"),
        ({"status": "partial", "reason": "logistics"}, "done_instead"),
        ({"status": "not_implemented", "reason": "other", "done_instead": "x"}, "reason_other"),
        ({"status": "implemented", "reason": "patient_choice"}, "reason"),
    ],
)
def test_incomplete_answers_record_nothing(cast, django_capture_on_commit_callbacks, data, field):
    case, _consensus = signed_case(cast, django_capture_on_commit_callbacks)
    with pytest.raises(ValidationError) as error:
        record(cast.referrer, case, 3, data)
    assert field in error.value.message_dict
    assert point(case).status == "pending"


def test_other_reason_is_kept_with_its_text(cast, django_capture_on_commit_callbacks):
    case, _consensus = signed_case(cast, django_capture_on_commit_callbacks)
    data = {**NOT_DONE, "reason": "other", "reason_other": "Pregnancy"}
    assert record(cast.referrer, case, 3, data).reason_text == "Other: Pregnancy"


def test_an_outcome_date_in_the_future_is_refused(cast, django_capture_on_commit_callbacks):
    case, _consensus = signed_case(cast, django_capture_on_commit_callbacks)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    with pytest.raises(ValidationError):
        record(cast.referrer, case, 3, {"status": "implemented", "metastasis_on": tomorrow})


def test_a_point_is_recorded_once(cast, django_capture_on_commit_callbacks):
    case, _consensus = signed_case(cast, django_capture_on_commit_callbacks)
    record(cast.referrer, case, 3, {"status": "implemented"})
    with pytest.raises(followups.FollowUpConflict):
        record(cast.referrer, case, 3, NOT_DONE)
    assert point(case).status == "implemented"


def test_the_database_refuses_a_non_implementation_without_reason(
    cast, django_capture_on_commit_callbacks
):
    case, _consensus = signed_case(cast, django_capture_on_commit_callbacks)
    with pytest.raises(IntegrityError), transaction.atomic():
        FollowUp.objects.filter(pk=point(case).pk).update(
            status="not_implemented", recorded_by=cast.referrer, recorded_at=timezone.now()
        )


# --- who may -----------------------------------------------------------------------------------


def test_data_manager_and_manager_record_members_only_read(
    cast, django_capture_on_commit_callbacks
):
    case, _consensus = signed_case(cast, django_capture_on_commit_callbacks)
    manager = data_manager(cast)
    assert record(manager, case, 3, {"status": "implemented"}).recorded_by == manager
    assert record(cast.coordinator, case, 6, {"status": "lost"}).recorded_by == cast.coordinator
    with pytest.raises(PermissionDenied):
        record(cast.pathologist, case, 12, {"status": "implemented"})
    assert AuditEvent.objects.filter(action="followup.record", outcome="denied").count() == 1


def test_a_data_manager_has_no_seat_on_the_case(cast, django_capture_on_commit_callbacks):
    """Data managers read the pseudonymous follow-up only: not the case page."""
    case, _consensus = signed_case(cast, django_capture_on_commit_callbacks)
    manager = data_manager(cast)
    client = signed_in(manager)
    assert client.get(reverse("case-detail", kwargs={"case_id": case.uuid})).status_code == 404
    page = client.get(reverse("followup-record", kwargs={"followup_id": point(case).uuid}))
    assert page.status_code == 200
    assert case.pseudonym in page.content.decode()
    assert PATIENT_NAME not in page.content.decode()


@pytest.mark.parametrize("who", ["outsider", "patient", "expert", "other_member"])
def test_outsiders_get_404(cast, django_capture_on_commit_callbacks, who):
    case, _consensus = signed_case(cast, django_capture_on_commit_callbacks)
    invite(cast, case)
    user = getattr(cast, who)
    with pytest.raises(Http404):
        followups.get_followup_for_user(user, point(case).uuid)
    response = signed_in(user).get(
        reverse("followup-record", kwargs={"followup_id": point(case).uuid})
    )
    assert response.status_code == 404


# --- the page the email links to ----------------------------------------------------------------


def test_the_referrer_records_through_the_page_and_gets_an_addendum(
    cast, django_capture_on_commit_callbacks
):
    case, consensus = signed_case(cast, django_capture_on_commit_callbacks, render=True)
    report_hashes = sorted(consensus.reports.values_list("sha256", flat=True))
    url = reverse("followup-record", kwargs={"followup_id": point(case).uuid})
    client = signed_in(cast.referrer)
    assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {**NOT_DONE, "metastasis_on": "2026-01-05"})
    assert response.status_code == 302
    recorded = point(case)
    assert (recorded.status, recorded.metastasis_on) == (
        "not_implemented",
        datetime.date(2026, 1, 5),
    )
    addendum = FollowUpAddendum.objects.get(consensus=consensus)
    assert addendum.number == 1 and len(addendum.sha256) == 64
    download = client.get(reverse("followup-addendum", kwargs={"addendum_id": addendum.uuid}))
    assert download.status_code == 200
    text = pdf_text(b"".join(download.streaming_content))
    assert "Follow-up addendum" in text
    assert "Patient choice" in text and "Surveillance MRI every 3 months." in text
    assert case.pseudonym in text
    # The signed report is untouched: its copies are as they were.
    assert sorted(consensus.reports.values_list("sha256", flat=True)) == report_hashes
    assert all(report_hashes) and addendum.sha256 not in report_hashes


def test_the_page_refuses_a_reader_a_wrong_method_and_a_second_record(
    cast, django_capture_on_commit_callbacks
):
    case, _consensus = signed_case(cast, django_capture_on_commit_callbacks)
    url = reverse("followup-record", kwargs={"followup_id": point(case).uuid})
    assert signed_in(cast.pathologist).get(url).status_code == 200
    assert signed_in(cast.pathologist).post(url, NOT_DONE).status_code == 403
    assert signed_in(cast.referrer).put(url).status_code == 405
    bad = signed_in(cast.referrer).post(url, {"status": "not_implemented"})
    assert bad.status_code == 400
    signed_in(cast.referrer).post(url, {"status": "implemented"})
    again = signed_in(cast.referrer).post(url, NOT_DONE)
    assert again.status_code == 302
    assert point(case).status == "implemented"


def test_the_case_page_shows_the_follow_up_history(cast, django_capture_on_commit_callbacks):
    case, _consensus = signed_case(cast, django_capture_on_commit_callbacks)
    record(cast.referrer, case, 3, NOT_DONE)
    page = signed_in(cast.chair).get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    html = page.content.decode()
    assert 'id="followup-history"' in html
    assert 'data-status="not_implemented"' in html and html.count('data-status="pending"') == 2


# --- re-presentation ----------------------------------------------------------------------------


def test_a_follow_up_sends_a_concluded_case_back_to_the_board(
    cast, django_capture_on_commit_callbacks
):
    case, first = signed_case(cast, django_capture_on_commit_callbacks)
    assert case.status == Case.Status.CONCLUDED
    data = {
        "status": "not_implemented",
        "reason": "progression",
        "done_instead": "Lung metastases before surgery; no resection.",
        "metastasis_on": datetime.date(2026, 2, 1),
        "represent": True,
    }
    record(cast.referrer, case, 3, data)
    case.refresh_from_db()
    assert case.status == Case.Status.IN_REVIEW
    assert AuditEvent.objects.filter(action="followup.represent").count() == 1
    assert [p.case for p in followups.represent_requests_for(cast.chair)] == [case]
    # The board decides again: one case, its next version, a schedule of its own.
    with django_capture_on_commit_callbacks(execute=True):
        second = sign(cast, case, draft(cast, case, category="systemic_therapy"))
    assert second.supersedes_id == first.pk and second.version == 2
    assert sorted(second.followups.values_list("months", flat=True)) == [3, 6, 12]
    assert list(first.followups.values_list("months", flat=True)) == [3]


# --- who is asked, reminders, work lists ---------------------------------------------------------


def due(case, days_ago: int) -> None:
    FollowUp.objects.filter(case=case, months=3).update(
        due_on=timezone.localdate() - datetime.timedelta(days=days_ago)
    )


def test_the_referrer_is_asked_once_when_due_then_reminded(
    cast, django_capture_on_commit_callbacks
):
    cast.referrer.email = "referrer@example.org"
    cast.referrer.save()
    case, _consensus = signed_case(cast, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    assert followups.followups_remind() == {"asked": 0, "reminded": 0}
    due(case, 0)
    call_command("followup_reminders", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert [m.to for m in mail.outbox] == [["referrer@example.org"]]
    assert str(point(case).uuid) in mail.outbox[0].body
    assert PATIENT_NAME not in mail.outbox[0].body
    assert followups.followups_remind() == {"asked": 0, "reminded": 0}
    later = timezone.now() + followups.REMIND_EVERY
    assert followups.followups_remind(now=later) == {"asked": 0, "reminded": 1}
    assert followups.followups_remind(now=later) == {"asked": 0, "reminded": 0}
    for step in (2, 3, 4):
        followups.followups_remind(now=later + step * followups.REMIND_EVERY)
    assert point(case).reminders == followups.MAX_REMINDERS
    assert len(mail.outbox) == 1 + followups.MAX_REMINDERS


def test_a_patients_own_request_asks_the_data_manager(cast, django_capture_on_commit_callbacks):
    manager = data_manager(cast)
    manager.email = "dm@example.org"
    manager.save()
    case, *_ = decided_case(cast)
    Case.objects.filter(pk=case.pk).update(submitted_by=cast.patient, kind=Case.Kind.PATIENT)
    case.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        sign(cast, case, draft(cast, case))
    mail.outbox.clear()
    due(case, 1)
    followups.followups_remind()
    assert [m.to for m in mail.outbox] == [["dm@example.org"]]
    with pytest.raises(PermissionDenied):
        record(cast.patient, case, 3, {"status": "implemented"})


def test_work_lists_show_due_points_and_overdue_ones(cast, django_capture_on_commit_callbacks):
    case, _consensus = signed_case(cast, django_capture_on_commit_callbacks)
    assert worklist_for(cast.referrer).followups_due == []
    due(case, 1)
    assert [p.case for p in worklist_for(cast.referrer).followups_due] == [case]
    assert worklist_for(cast.coordinator).followups_overdue == []
    due(case, 31)
    assert [p.case for p in worklist_for(cast.coordinator).followups_overdue] == [case]
    home = signed_in(cast.coordinator).get(reverse("home")).content.decode()
    assert 'id="followups-overdue"' in home and case.pseudonym in home
    assert worklist_for(cast.pathologist).followups_overdue == []
    manager = data_manager(cast)
    work = worklist_for(manager)
    assert [p.case for p in work.followups_due] == [case] and not work.is_member
    home = signed_in(cast.referrer).get(reverse("home")).content.decode()
    assert 'id="followups-due"' in home and str(point(case).uuid) in home
    record(cast.referrer, case, 3, {"status": "implemented"})
    assert worklist_for(cast.referrer).followups_due == []
    assert worklist_for(cast.coordinator).followups_overdue == []


def test_status_values_are_the_audits_categories():
    assert FollowUpStatus.values == [
        "pending",
        "implemented",
        "partial",
        "not_implemented",
        "not_yet_due",
        "lost",
    ]


def test_a_data_manager_signs_in_with_a_second_factor_as_members_do(cast):
    from board.second_factor import categories_of

    assert "members" in categories_of(data_manager(cast))


def test_board_settings_form_sets_the_points_or_leaves_them(cast):
    from board.forms import BoardSettingsForm

    base = {"vote_mode": "per_proposal", "tally_visibility": "hidden"}
    base |= {"consensus_rule": "majority", "qualified_majority": "2/3"}
    absent = BoardSettingsForm(base)
    assert absent.is_valid(), absent.errors
    assert absent.cleaned_data["followup_months"] is None  # unchanged
    given = BoardSettingsForm({**base, "followup_months": "3, 6, 24"})
    assert given.is_valid() and given.cleaned_data["followup_months"] == "3,6,24"
    assert not BoardSettingsForm({**base, "followup_months": "6,3"}).is_valid()

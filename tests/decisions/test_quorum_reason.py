"""Signing a consensus whose meeting did not make its attendance quorum needs the chair's
reason (issue #16): refused without it, kept with the signature, and printed in the report
beside the quorum line, so that "quorum not met" never stands beside "proposal adopted" alone."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import AuditEvent, Case
from decisions import services
from decisions.models import Consensus
from decisions.render import render_report_pdf
from decisions.report_data import report_data
from meetings.models import Attendance
from tests.cases.factories import make_case
from tests.cast import PASSWORD
from tests.decisions.factories import (
    access,
    close,
    decided_case,
    draft,
    make_meeting,
    open_round,
    pdf_text,
    propose,
    vote,
)
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db
REASON = "Radiology reviewed the MRI beforehand and voted; the patient cannot wait a month."


def live_decision(cast, *, attending):
    """P1 adopted in a live vote of a meeting attended by ``attending``; every member voted
    (the board lets absent members vote)."""
    cast.board.absentees_vote_live = True
    cast.board.save(update_fields=["absentees_vote_live"])
    case = make_case(cast, status=Case.Status.SCHEDULED)
    p1 = propose(cast, case)
    meeting = make_meeting(cast, case)
    now = timezone.now()
    for user in attending:
        Attendance.objects.create(meeting=meeting, user=user, joined_at=now, seen_at=now)
    round_ = open_round(cast, case, deadline=None, meeting=meeting)
    for user in (cast.chair, *cast.members):
        vote(user, case, round_, agree=[p1])
    assert close(cast, case, round_).result == "adopted"
    return case, draft(cast, case)


def chair_signs(cast, case, consensus, reason=""):
    return services.consensus_sign(
        access=access(cast.chair, case),
        consensus=consensus,
        password=PASSWORD,
        quorum_reason=reason,
    )


def test_without_the_meetings_quorum_signing_needs_a_reason(cast):
    # No radiologist in the room: the board's quorum asks for one.
    case, consensus = live_decision(
        cast, attending=[cast.chair, cast.pathologist, cast.oncologist, cast.surgeon]
    )
    with pytest.raises(services.QuorumReasonRequired, match="Radiology"):
        chair_signs(cast, case, consensus, reason="   ")
    consensus.refresh_from_db()
    assert not consensus.is_signed
    assert AuditEvent.objects.filter(
        action="consensus.sign", outcome="denied", detail__reason="meeting quorum not met"
    ).exists()
    signed = chair_signs(cast, case, consensus, reason=f"  {REASON} ")
    stored = Consensus.objects.get(pk=signed.pk)
    assert stored.is_signed and stored.quorum_reason == REASON
    quorum = report_data(stored).quorum
    assert "Meeting: quorum not met" in quorum
    assert f"the chair's reason: {REASON}" in quorum
    assert quorum.index("quorum not met") < quorum.index(REASON)
    assert "Proposal adopted" in report_data(stored).outcome
    # As printed: the reason follows the quorum line, beside the adopted proposal.
    text = pdf_text(render_report_pdf(report_data(stored)))
    assert "Proposal adopted: P1" in text
    assert re.search(
        r"Meeting: quorum not met \(4 attendees; missing Radiology ×1\)\. Signed", text
    )
    assert REASON in text


def test_with_the_meetings_quorum_no_reason_is_asked_or_kept(cast):
    case, consensus = live_decision(cast, attending=[cast.chair, *cast.members])
    signed = chair_signs(cast, case, consensus, reason="not needed")
    stored = Consensus.objects.get(pk=signed.pk)
    assert stored.is_signed and stored.quorum_reason == ""
    assert "Meeting: quorum met" in report_data(stored).quorum
    assert "reason" not in report_data(stored).quorum


def test_a_decision_by_deadline_has_no_meeting_quorum_to_answer_for(cast):
    case, *_ = decided_case(cast)
    signed = chair_signs(cast, case, draft(cast, case))
    assert Consensus.objects.get(pk=signed.pk).is_signed


def test_the_sign_form_asks_for_the_reason_and_refuses_without_it(cast):
    case, consensus = live_decision(cast, attending=[cast.chair, cast.pathologist])
    client = signed_in(cast.chair)
    page = client.get(reverse("decision-panel", kwargs={"case_id": case.uuid})).content.decode()
    assert 'id="sign-quorum"' in page
    assert 'name="sign-quorum_reason"' in page
    url = reverse("consensus-sign", kwargs={"case_id": case.uuid, "consensus_id": consensus.uuid})
    fetch = {"X-Requested-With": "fetch"}
    response = client.post(url, {"sign-password": PASSWORD}, headers=fetch)
    assert response.status_code == 400
    assert "say why you sign anyway" in response.content.decode()
    consensus.refresh_from_db()
    assert not consensus.is_signed
    response = client.post(
        url, {"sign-password": PASSWORD, "sign-quorum_reason": REASON}, headers=fetch
    )
    assert response.status_code == 200
    assert 'id="quorum-reason"' in response.content.decode()
    consensus.refresh_from_db()
    assert consensus.is_signed and consensus.quorum_reason == REASON


def test_the_sign_form_of_a_quorate_meeting_has_no_reason_field(cast):
    case, _consensus = live_decision(cast, attending=[cast.chair, *cast.members])
    page = signed_in(cast.chair).get(reverse("decision-panel", kwargs={"case_id": case.uuid}))
    assert 'name="sign-quorum_reason"' not in page.content.decode()

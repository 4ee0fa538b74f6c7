"""Who gets what on every case URL: the whole cast, one table."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from cases.models import AuditEvent, Case
from tests.cases.factories import add_pdf, invite, make_case, opinion
from tests.helpers import complete_sign_in

pytestmark = pytest.mark.django_db

OK, FORBIDDEN, HIDDEN = "ok", 403, 404
WHO = [
    "chair",
    "coordinator",
    "pathologist",
    "expert",
    "expired_expert",
    "revoked_expert",
    "referrer",
    "patient",
    "outsider",
    "other_member",
]

# url name -> (method, expected outcome per person in WHO order)
# chair, coordinator, member, expert, expired, revoked, referrer(submitter), patient, outsider, other board
MATRIX = {
    "case-detail": ("get", [OK, OK, OK, OK, HIDDEN, HIDDEN, OK, HIDDEN, HIDDEN, HIDDEN]),
    "case-edit": ("get", [OK, OK, FORBIDDEN, FORBIDDEN, HIDDEN, HIDDEN, FORBIDDEN, HIDDEN, HIDDEN, HIDDEN]),
    # The clinical record: the board's members, not invited experts; the referrer only while
    # the case is theirs to edit (this one is in review).
    "case-clinical-edit": ("get", [OK, OK, OK, FORBIDDEN, HIDDEN, HIDDEN, FORBIDDEN, HIDDEN, HIDDEN, HIDDEN]),
    "case-audit": ("get", [OK, OK, FORBIDDEN, FORBIDDEN, HIDDEN, HIDDEN, FORBIDDEN, HIDDEN, HIDDEN, HIDDEN]),
    # The record's history is read by whoever reads the record (the submitter included).
    "case-clinical-history": ("get", [OK, OK, OK, OK, HIDDEN, HIDDEN, OK, HIDDEN, HIDDEN, HIDDEN]),
    "case-invites": ("get", [OK, OK, FORBIDDEN, FORBIDDEN, HIDDEN, HIDDEN, FORBIDDEN, HIDDEN, HIDDEN, HIDDEN]),
    "attachment-download": ("get", [OK, OK, OK, OK, HIDDEN, HIDDEN, OK, HIDDEN, HIDDEN, HIDDEN]),
    "opinion-fragment": ("get", [OK, OK, OK, OK, HIDDEN, HIDDEN, FORBIDDEN, HIDDEN, HIDDEN, HIDDEN]),
    "opinion-history": ("get", [OK, OK, OK, OK, HIDDEN, HIDDEN, FORBIDDEN, HIDDEN, HIDDEN, HIDDEN]),
    "attachment-upload": ("post", [OK, OK, OK, FORBIDDEN, HIDDEN, HIDDEN, OK, HIDDEN, HIDDEN, HIDDEN]),
    "opinion-create": ("post", [OK, OK, OK, OK, HIDDEN, HIDDEN, FORBIDDEN, HIDDEN, HIDDEN, HIDDEN]),
    "case-ready": ("post", [OK, OK, FORBIDDEN, FORBIDDEN, HIDDEN, HIDDEN, FORBIDDEN, HIDDEN, HIDDEN, HIDDEN]),
    "case-status": ("post", [OK, OK, FORBIDDEN, FORBIDDEN, HIDDEN, HIDDEN, OK, HIDDEN, HIDDEN, HIDDEN]),
    "decision-panel": ("get", [OK, OK, OK, OK, HIDDEN, HIDDEN, OK, HIDDEN, HIDDEN, HIDDEN]),
    # The world's report is the panel copy: the referrer downloads only their own copy
    # (tests/decisions/test_report_audiences.py), so this one is 404 to them.
    "report-download": ("get", [OK, OK, OK, OK, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN]),
    "report-verify": ("get", [OK, OK, OK, OK, HIDDEN, HIDDEN, OK, HIDDEN, HIDDEN, HIDDEN]),
    # The world's report exists, so the chair and coordinator get 409 (a report never changes).
    # Requests to the submitter (issue #16): read by the panel and the submitter; asked by
    # the board's people (the invalid form here is sent back to the page: OK).
    "request-list": ("get", [OK, OK, OK, OK, HIDDEN, HIDDEN, OK, HIDDEN, HIDDEN, HIDDEN]),
    "request-create": ("post", [OK, OK, OK, FORBIDDEN, HIDDEN, HIDDEN, FORBIDDEN, HIDDEN, HIDDEN, HIDDEN]),
    "report-regenerate": ("post", [OK, OK, FORBIDDEN, FORBIDDEN, HIDDEN, HIDDEN, FORBIDDEN, HIDDEN, HIDDEN, HIDDEN]),
}  # fmt: skip


@pytest.fixture
def world(cast):
    from board.models import User
    from tests.cast import make_user

    case = make_case(cast)
    attachment = add_pdf(case, cast.referrer)
    first = opinion(case, cast.pathologist)
    invite(cast, case)
    expired = make_user("expired_expert", specialty="radiology")
    invite(cast, case, expert=expired, days=-1)
    revoked = make_user("revoked_expert", specialty="surgical_oncology")
    revoked_invite = invite(cast, case, expert=revoked)
    from cases.access import case_access
    from cases.services import invite_revoke

    invite_revoke(access=case_access(cast.chair, case), invite=revoked_invite)
    signed_report(case, cast.chair)
    people = {name: getattr(cast, name, None) for name in WHO}
    people["expired_expert"] = expired
    people["revoked_expert"] = User.objects.get(pk=revoked.pk)
    return case, attachment, first, people


def signed_report(case, chair):
    """A signed version of the case with a stored report (the PDF bytes are a stand-in)."""
    import hashlib

    from django.core.files.base import ContentFile
    from django.utils import timezone

    from decisions.models import Consensus, Report

    consensus = Consensus.objects.create(
        case=case,
        category="surgery",
        text="Wide resection.",
        drafted_by=chair,
        signed_by=chair,
        signed_at=timezone.now(),
    )
    pdf = b"%PDF-1.7 matrix stand-in"
    report = Report(
        consensus=consensus,
        status=Report.Status.READY,
        sha256=hashlib.sha256(pdf).hexdigest(),
        size=len(pdf),
    )
    report.file.save("report.pdf", ContentFile(pdf), save=False)
    report.save()
    return report


def url_for(name, case, attachment, first):
    from decisions.models import Report

    kwargs = {"case_id": case.uuid}
    if name == "attachment-download":
        kwargs["attachment_id"] = attachment.uuid
    if name in ("report-download", "report-regenerate"):
        report = Report.objects.select_related("consensus").get(consensus__case=case)
        if name == "report-download":
            kwargs["report_id"] = report.uuid
        else:
            kwargs["consensus_id"] = report.consensus.uuid
    if name in ("opinion-fragment", "opinion-history"):
        kwargs["opinion_id"] = first.uuid
    return reverse(name, kwargs=kwargs)


def outcome(status: int) -> str | int:
    return status if status in (403, 404) else OK


CASES = [(name, who, MATRIX[name][1][i]) for name in MATRIX for i, who in enumerate(WHO)]


@pytest.mark.parametrize(("name", "who", "expected"), CASES, ids=[f"{n}-{w}" for n, w, _ in CASES])
def test_permission_matrix(world, name, who, expected):
    case, attachment, first, people = world
    client = Client()
    complete_sign_in(client, people[who])
    method, _ = MATRIX[name]
    data = {"to": "withdrawn", "body": "A view."} if method == "post" else None
    response = getattr(client, method)(url_for(name, case, attachment, first), data)
    assert outcome(response.status_code) == expected, response.status_code
    if expected in (FORBIDDEN, HIDDEN):
        assert AuditEvent.objects.filter(actor=people[who], outcome="denied").exists()


def test_every_case_url_is_in_the_matrix():
    from cases.urls import urlpatterns as case_urls
    from decisions.urls import urlpatterns as decision_urls

    covered = set(MATRIX) | {
        "my-cases",  # the user's own list, no case in the URL
        "case-new",
        "board-queue",  # board access, tested in test_queue
        "queue",  # the user's own boards, no case in the URL: tests/board/test_worklist
        "opinion-edit",  # author only, tested in test_opinions
        "opinion-withdraw",
        "invite-revoke",  # tested in test_invites
        "attachment-remove",  # by case status and role: test_attachment_removal
        "request-answer",  # one request's: every role in test_requests
        "request-close",
        "request-withdraw",
        "invite-open",  # a link with no case in the URL, tested in test_invites
        "invite-signup",
        # every role on each, tested in test_decisions_views
        "proposal-create",
        "proposal-withdraw",
        "vote-round-open",
        "vote-cast",
        "vote-round-close",
        "consensus-draft",
        "consensus-sign",
        "consensus-cosign",
        # follow-up and minutes: their own access objects (referrer, data manager, members),
        # every refusal tested in tests/decisions/test_followup.py and test_minutes.py
        "followup-record",
        "followup-addendum",
        "meeting-minutes",
        "meeting-minutes-edit",
        "meeting-minutes-sign",
        "meeting-minutes-pdf",
        # the referrer copy's readers only, by session or token: tests/decisions/test_fhir_export
        "case-fhir-export",
        # expert reviews (issue #16): every role on each, tested in test_expert_views
        "expert-review-request",
        "expert-review-assign",
        "expert-review-take",
        "expert-review-waive",
        "expert-opinion-save",
        "expert-opinion-sign",
    }
    assert {p.name for p in [*case_urls, *decision_urls]} == covered


def test_drafts_are_seen_by_their_submitter_only(cast):
    case = make_case(cast, status=Case.Status.DRAFT)
    url = reverse("case-detail", kwargs={"case_id": case.uuid})
    for user, expected in [(cast.referrer, 200), (cast.chair, 404), (cast.pathologist, 404)]:
        client = Client()
        complete_sign_in(client, user)
        assert client.get(url).status_code == expected


def test_identity_is_shown_to_submitter_chair_and_coordinator_only(cast):
    from tests.cases.factories import PATIENT_NAME

    case = make_case(cast)
    invite(cast, case)
    url = reverse("case-detail", kwargs={"case_id": case.uuid})
    for user, sees in [
        (cast.referrer, True),
        (cast.chair, True),
        (cast.coordinator, True),
        (cast.pathologist, False),
        (cast.surgeon, False),
        (cast.expert, False),
    ]:
        client = Client()
        complete_sign_in(client, user)
        html = client.get(url).content.decode()
        assert (PATIENT_NAME in html) is sees, user.username
        assert case.pseudonym in html


@pytest.mark.parametrize("shared", [False, True])
def test_patient_never_sees_internal_opinions(cast, shared):
    cast.board.share_opinions_with_referrers = shared
    cast.board.save()
    case = make_case(cast, submitted_by=cast.patient)
    first = opinion(case, cast.pathologist, "Internal: **likely UPS, grade 3**")
    client = Client()
    complete_sign_in(client, cast.patient)
    html = client.get(reverse("case-detail", kwargs={"case_id": case.uuid})).content.decode()
    assert "likely UPS" not in html
    fragment = reverse("opinion-fragment", kwargs={"case_id": case.uuid, "opinion_id": first.uuid})
    assert client.get(fragment).status_code == 403


def test_referring_doctor_sees_opinions_only_when_the_board_shares_them(cast):
    case = make_case(cast)
    opinion(case, cast.pathologist, "Shared view: **re-biopsy advised**")
    client = Client()
    complete_sign_in(client, cast.referrer)
    url = reverse("case-detail", kwargs={"case_id": case.uuid})
    assert "re-biopsy advised" not in client.get(url).content.decode()
    cast.board.share_opinions_with_referrers = True
    cast.board.save()
    assert "re-biopsy advised" in client.get(url).content.decode()


def test_deactivated_member_loses_the_case(cast):
    case = make_case(cast)
    client = Client()
    complete_sign_in(client, cast.surgeon)
    url = reverse("case-detail", kwargs={"case_id": case.uuid})
    assert client.get(url).status_code == 200
    cast.surgeon.is_active = False
    cast.surgeon.save()
    assert client.get(url).status_code in (302, 404)

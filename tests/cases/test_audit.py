import uuid

import pytest
from django.urls import reverse

from cases.models import AuditEvent
from tests.cases.factories import add_pdf, make_case
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db


def test_one_event_per_case_view(cast):
    case = make_case(cast)
    signed_in(cast.pathologist).get(
        reverse("case-detail", kwargs={"case_id": case.uuid}), REMOTE_ADDR="10.1.2.3"
    )
    event = AuditEvent.objects.get()
    assert (event.actor, event.action, event.case, event.outcome, event.ip) == (
        cast.pathologist,
        "case.view",
        case,
        "allowed",
        "10.1.2.3",
    )


def test_one_event_per_denied_view(cast):
    case = make_case(cast)
    response = signed_in(cast.outsider).get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    assert response.status_code == 404
    event = AuditEvent.objects.get()
    assert (event.actor, event.action, event.case, event.outcome) == (
        cast.outsider,
        "case.view",
        case,
        "denied",
    )


def test_probing_an_unknown_case_is_audited_too(cast):
    unknown = uuid.uuid4()
    signed_in(cast.outsider).get(reverse("case-detail", kwargs={"case_id": unknown}))
    event = AuditEvent.objects.get()
    assert event.outcome == "denied"
    assert event.detail == {"requested": str(unknown)}


def test_one_event_per_download(cast):
    case = make_case(cast)
    attachment = add_pdf(case, cast.referrer)
    url = reverse(
        "attachment-download", kwargs={"case_id": case.uuid, "attachment_id": attachment.uuid}
    )
    signed_in(cast.surgeon).get(url)
    signed_in(cast.outsider).get(url)
    events = list(
        AuditEvent.objects.order_by("id").values_list("actor__username", "action", "outcome")
    )
    assert events == [
        ("surgeon", "attachment.download", "allowed"),
        ("outsider", "attachment.download", "denied"),
    ]


def test_forbidden_action_is_audited(cast):
    case = make_case(cast)
    signed_in(cast.surgeon).get(reverse("case-audit", kwargs={"case_id": case.uuid}))
    assert (
        AuditEvent.objects.filter(actor=cast.surgeon, action="audit.view", outcome="denied").count()
        == 1
    )


def test_chair_sees_the_trail(cast):
    case = make_case(cast)
    signed_in(cast.outsider).get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    html = signed_in(cast.chair).get(reverse("case-audit", kwargs={"case_id": case.uuid}))
    text = html.content.decode()
    assert "outsider" in text
    assert "Denied" in text


def test_events_cannot_be_changed_or_deleted(cast):
    case = make_case(cast)
    signed_in(cast.pathologist).get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    event = AuditEvent.objects.get()
    event.outcome = "denied"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.update(outcome="denied")
    with pytest.raises(TypeError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get().outcome == "allowed"


def test_x_forwarded_for_is_ignored_unless_behind_a_proxy(cast, settings):
    case = make_case(cast)
    url = reverse("case-detail", kwargs={"case_id": case.uuid})
    client = signed_in(cast.pathologist)
    client.get(url, REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="6.6.6.6")
    settings.CONSILIUM_BEHIND_PROXY = True
    client.get(url, REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    assert list(AuditEvent.objects.order_by("id").values_list("ip", flat=True)) == [
        "10.0.0.5",
        "203.0.113.9",
    ]


def test_admin_shows_the_trail_read_only(cast, admin_client):
    case = make_case(cast)
    signed_in(cast.outsider).get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    listing = admin_client.get(reverse("admin:cases_auditevent_changelist"))
    assert listing.status_code == 200
    assert "outsider" in listing.content.decode()
    event = AuditEvent.objects.get()
    change = reverse("admin:cases_auditevent_change", args=[event.pk])
    admin_client.post(change, {"outcome": "allowed"})
    assert AuditEvent.objects.get().outcome == "denied"
    assert admin_client.get(reverse("admin:cases_auditevent_add")).status_code == 403

import pytest
from django.core import mail
from django.urls import reverse

from cases.models import Opinion, OpinionRevision
from realtime import publish
from tests.cases.factories import invite, make_case, opinion
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db

XSS = [
    "<script>alert(1)</script>",
    "[x](javascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<iframe src="https://evil.example"></iframe>',
    '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>',
    '<div style="background:url(javascript:alert(1))">x</div>',
    "[x](&#106;avascript:alert(1))",
    "<details open ontoggle=alert(1)>",
    "<body onload=alert(1)>",
]


def post_opinion(user, case, body, parent=None):
    data = {"body": body}
    if parent:
        data["parent"] = str(parent.uuid)
    return signed_in(user).post(reverse("opinion-create", kwargs={"case_id": case.uuid}), data)


def test_member_posts_an_opinion_shown_with_their_specialty(cast):
    case = make_case(cast)
    response = post_opinion(cast.pathologist, case, "Morphology fits **UPS**, FNCLCC 3.")
    assert response.status_code == 302
    posted = Opinion.objects.get()
    assert response["Location"].endswith(f"#opinion-{posted.uuid}")
    assert posted.author_specialty == "pathology"
    html = signed_in(cast.radiologist).get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    html = html.content.decode()
    assert "<strong>UPS</strong>" in html
    assert "Pathology" in html


def test_replies_are_threaded_under_their_parent(cast):
    case = make_case(cast)
    first = opinion(case, cast.pathologist, "Grade 3.")
    post_opinion(cast.surgeon, case, "Agree; resectable with R0 margins.", parent=first)
    reply = Opinion.objects.get(parent=first)
    assert reply.author == cast.surgeon
    html = signed_in(cast.chair).get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    html = html.content.decode()
    thread_start = html.index(f'id="opinion-{first.uuid}"')
    replies_start = html.index('class="thread replies"', thread_start)
    assert html.index(f'id="opinion-{reply.uuid}"') > replies_start


def test_reply_to_an_opinion_of_another_case_is_404(cast):
    case, other = make_case(cast), make_case(cast)
    foreign = opinion(other, cast.pathologist)
    assert post_opinion(cast.surgeon, case, "x", parent=foreign).status_code == 404
    assert Opinion.objects.count() == 1


def test_invited_expert_writes_as_their_own_specialty(cast):
    case = make_case(cast)
    invite(cast, case)
    post_opinion(cast.expert, case, "Second look: agree.")
    assert Opinion.objects.get().author_specialty == "pathology"


@pytest.mark.parametrize("payload", XSS)
def test_opinion_markup_renders_inert(cast, payload):
    case = make_case(cast)
    opinion(case, cast.pathologist, f"Before {payload} after")
    html = signed_in(cast.chair).get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    body = html.content.decode()
    start = body.index('class="prose opinion-body"')
    rendered = body[start : body.index("</div>", start)].lower()
    for bad in ("<script", "javascript:", "onerror", "onload", "ontoggle", "<svg", "<iframe"):
        assert bad not in rendered
    assert "data:text" not in rendered
    assert "style=" not in rendered


def test_edit_keeps_the_previous_text(cast):
    case = make_case(cast)
    first = opinion(case, cast.pathologist, "Version one.")
    client = signed_in(cast.pathologist)
    url = reverse("opinion-edit", kwargs={"case_id": case.uuid, "opinion_id": first.uuid})
    assert client.get(url).status_code == 200
    assert client.post(url, {"body": "Version two."}).status_code == 302
    first.refresh_from_db()
    assert first.body == "Version two."
    assert first.edited_at is not None
    revision = OpinionRevision.objects.get()
    assert (revision.body, revision.edited_by) == ("Version one.", cast.pathologist)
    history = client.get(
        reverse("opinion-history", kwargs={"case_id": case.uuid, "opinion_id": first.uuid})
    ).content.decode()
    assert "Version one." in history
    assert "Version two." in history


def test_only_the_author_edits_or_withdraws(cast):
    case = make_case(cast)
    first = opinion(case, cast.pathologist, "Mine.")
    kwargs = {"case_id": case.uuid, "opinion_id": first.uuid}
    client = signed_in(cast.surgeon)
    assert (
        client.post(reverse("opinion-edit", kwargs=kwargs), {"body": "Hijack"}).status_code == 403
    )
    assert client.post(reverse("opinion-withdraw", kwargs=kwargs)).status_code == 403
    first.refresh_from_db()
    assert first.body == "Mine." and first.withdrawn_at is None


def test_withdrawn_opinion_stays_in_the_record_without_its_text(cast):
    case = make_case(cast)
    first = opinion(case, cast.pathologist, "Retracted thought.")
    kwargs = {"case_id": case.uuid, "opinion_id": first.uuid}
    assert (
        signed_in(cast.pathologist).post(reverse("opinion-withdraw", kwargs=kwargs)).status_code
        == 302
    )
    assert Opinion.objects.filter(pk=first.pk, withdrawn_at__isnull=False).exists()
    html = signed_in(cast.chair).get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    assert "Retracted thought." not in html.content.decode()
    assert "Withdrawn by the author." in html.content.decode()


@pytest.mark.parametrize("status", ["concluded", "withdrawn"])
def test_nothing_changes_once_the_case_is_closed(cast, status):
    case = make_case(cast)
    first = opinion(case, cast.pathologist, "Final.")
    case.status = status
    case.save()
    kwargs = {"case_id": case.uuid, "opinion_id": first.uuid}
    client = signed_in(cast.pathologist)
    assert client.post(reverse("opinion-edit", kwargs=kwargs), {"body": "x"}).status_code == 403
    assert client.post(reverse("opinion-withdraw", kwargs=kwargs)).status_code == 403
    assert post_opinion(cast.pathologist, case, "late").status_code == 403
    first.refresh_from_db()
    assert (first.body, first.withdrawn_at) == ("Final.", None)
    assert Opinion.objects.count() == 1


def test_blinded_board_hides_others_until_you_post(cast):
    cast.board.blinded_opinions = True
    cast.board.save()
    case = make_case(cast)
    theirs = opinion(case, cast.pathologist, "Pathologist's independent read.")
    url = reverse("case-detail", kwargs={"case_id": case.uuid})
    fragment = reverse("opinion-fragment", kwargs={"case_id": case.uuid, "opinion_id": theirs.uuid})
    client = signed_in(cast.radiologist)
    html = client.get(url).content.decode()
    assert "independent read" not in html
    assert "1 opinion by others is hidden" in html
    assert client.get(fragment).status_code == 403
    post_opinion(cast.radiologist, case, "My own read.")
    assert "independent read" in client.get(url).content.decode()
    assert client.get(fragment).status_code == 200


def test_blinding_lifts_once_discussed(cast):
    cast.board.blinded_opinions = True
    cast.board.save()
    case = make_case(cast, status="discussed")
    opinion(case, cast.pathologist, "Visible after discussion.")
    html = signed_in(cast.surgeon).get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    assert "Visible after discussion." in html.content.decode()


def test_new_opinion_is_published_after_commit_and_participants_emailed(
    cast, monkeypatch, django_capture_on_commit_callbacks
):
    from cases.access import case_access
    from cases.services import opinion_post

    sent = []
    monkeypatch.setattr(publish, "publish_now", lambda group, event: sent.append((group, event)))
    for user in (cast.pathologist, cast.chair, cast.coordinator, cast.surgeon):
        user.email = f"{user.username}@board.example"
        user.save()
    case = make_case(cast)
    opinion(case, cast.surgeon, "Earlier view.")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        opinion_post(access=case_access(cast.pathologist, case), body="New view.")
        assert sent == []  # nothing before commit
    assert len(callbacks) == 2  # the event and the emails
    assert len(sent) == 1
    group, event = sent[0]
    assert group == f"case.{case.uuid.hex}"
    assert (event.type, event.change) == ("opinion.posted", "created")
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == [
        "chair@board.example",
        "coordinator@board.example",
        "surgeon@board.example",
    ]
    assert all("New view." not in m.body for m in mail.outbox)


def test_case_page_config_names_the_case_socket_and_panel(cast):
    case = make_case(cast)
    response = signed_in(cast.pathologist).get(
        reverse("case-detail", kwargs={"case_id": case.uuid})
    )
    config = response.context["case_config"]
    assert config["socket"] == f"/ws/cases/{case.uuid}/"
    assert config["panelUrl"] == reverse("decision-panel", kwargs={"case_id": case.uuid})
    assert config["text"]["statuses"]["in_review"] == "In review"
    assert 'id="case-config"' in response.content.decode()


def test_case_page_gives_no_socket_to_who_may_not_see_opinions(cast):
    case = make_case(cast, submitted_by=cast.patient)
    response = signed_in(cast.patient).get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    assert response.context["case_config"]["socket"] is None
    assert "case-live.js" not in response.content.decode()

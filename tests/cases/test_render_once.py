"""Markdown is rendered when written, never per view; a long thread costs what a short one does."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases import markdown
from cases.models import Opinion, OpinionRevision
from cases.opinions import THREADS_SHOWN
from decisions.models import Proposal
from tests.cases.factories import make_case, opinion
from tests.decisions.factories import propose
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def renders(monkeypatch):
    """How many times Markdown is converted (every rendering goes through this function)."""
    calls = []
    original = markdown._markdown_to_html

    def counted(text):
        calls.append(text)
        return original(text)

    monkeypatch.setattr(markdown, "_markdown_to_html", counted)
    return calls


def case_page(user, case, **params):
    url = reverse("case-detail", kwargs={"case_id": case.uuid})
    return signed_in(user).get(url, params)


def test_an_opinion_is_rendered_and_sanitized_when_written(cast):
    case = make_case(cast)
    written = opinion(case, cast.pathologist, "**G3** <script>alert(1)</script>")
    assert written.body_html == "<p><strong>G3</strong> </p>"
    written.body = "Now *G2*."
    written.save(update_fields=["body"])
    written.refresh_from_db()
    assert written.body_html == "<p>Now <em>G2</em>.</p>"


def test_a_proposal_is_rendered_when_written(cast):
    case = make_case(cast)
    proposal = propose(cast, case)
    assert Proposal.objects.get(pk=proposal.pk).text_html == (
        "<p>Wide <strong>en bloc</strong> resection.</p>"
    )


def test_the_case_page_runs_the_markdown_renderer_zero_times(cast, renders):
    case = make_case(cast)
    first = opinion(case, cast.pathologist, "Grade **3**.")
    opinion(case, cast.surgeon, "Agree; *R0* planned.", parent=first)
    OpinionRevision.objects.create(opinion=first, body="Grade 2.", edited_by=cast.pathologist)
    propose(cast, case)
    renders.clear()
    response = case_page(cast.chair, case)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Grade <strong>3</strong>." in html
    assert "<em>R0</em>" in html
    assert renders == []


def test_the_opinion_history_shows_stored_renderings(cast, renders):
    case = make_case(cast)
    first = opinion(case, cast.pathologist, "Grade **3**.")
    OpinionRevision.objects.create(opinion=first, body="Grade *2*.", edited_by=cast.pathologist)
    renders.clear()
    url = reverse("opinion-history", kwargs={"case_id": case.uuid, "opinion_id": first.uuid})
    html = signed_in(cast.chair).get(url).content.decode()
    assert "Grade <em>2</em>." in html
    assert renders == []


def test_rerender_markdown_renders_every_stored_text_again(cast):
    case = make_case(cast)
    written = opinion(case, cast.pathologist, "Grade **3**.")
    proposal = propose(cast, case)
    # As if the rules had changed since they were written.
    Opinion.objects.filter(pk=written.pk).update(body_html="stale")
    Proposal.objects.filter(pk=proposal.pk).update(text_html="stale")
    call_command("rerender_markdown", verbosity=0)
    assert Opinion.objects.get(pk=written.pk).body_html == "<p>Grade <strong>3</strong>.</p>"
    assert "<strong>en bloc</strong>" in Proposal.objects.get(pk=proposal.pk).text_html


def grow(cast, case, total):
    members = cast.members
    have = Opinion.objects.filter(case=case).count()
    for n in range(have, total):
        parent = Opinion.objects.filter(case=case).last() if n % 3 == 2 else None
        opinion(case, members[n % len(members)], f"Opinion {n}: **grade {n % 3 + 1}**.", parent)


def measure(cast, case):
    with CaptureQueriesContext(connection) as queries:
        response = case_page(cast.chair, case)
    assert response.status_code == 200
    return len(queries), len(response.content)


def test_the_case_page_costs_the_same_with_10_or_120_opinions(cast):
    case = make_case(cast)
    grow(cast, case, 10)
    # Warm: the first request pays one-off costs (session, content types).
    case_page(cast.chair, case)
    queries_10, size_10 = measure(cast, case)
    grow(cast, case, 40)
    queries_40, size_40 = measure(cast, case)
    grow(cast, case, 120)
    queries_120, size_120 = measure(cast, case)
    assert queries_10 == queries_40 == queries_120
    # Past THREADS_SHOWN threads the page stops growing: the newest threads are shown, the
    # rest behind a link (their texts differ only in their numbers' digits).
    assert abs(size_120 - size_40) < size_40 * 0.05
    assert size_120 < size_10 * 3


def test_earlier_threads_are_shown_on_demand(cast):
    case = make_case(cast)
    oldest = opinion(case, cast.pathologist, "The very first opinion.")
    for n in range(THREADS_SHOWN):
        opinion(case, cast.surgeon, f"Later opinion {n}.")
    html = case_page(cast.chair, case).content.decode()
    assert f'id="opinion-{oldest.uuid}"' not in html
    assert "Show 1 earlier thread" in html
    everything = case_page(cast.chair, case, opinions="all").content.decode()
    assert f'id="opinion-{oldest.uuid}"' in everything
    assert "earlier thread" not in everything


def test_a_reply_stays_with_its_thread_when_older_threads_are_left_out(cast):
    case = make_case(cast)
    old = opinion(case, cast.pathologist, "An early opinion.")
    for n in range(THREADS_SHOWN):
        opinion(case, cast.surgeon, f"Later opinion {n}.")
    reply = opinion(case, cast.oncologist, "A late reply to the early one.", parent=old)
    html = case_page(cast.chair, case).content.decode()
    # The early thread is left out whole: its late reply does not float up as a thread.
    assert f'id="opinion-{reply.uuid}"' not in html
    everything = case_page(cast.chair, case, opinions="all").content.decode()
    start = everything.index(f'id="opinion-{old.uuid}"')
    assert everything.index(f'id="opinion-{reply.uuid}"') > start

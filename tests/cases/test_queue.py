import pytest
from django.urls import reverse

from cases.models import Case
from tests.cases.factories import make_case
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db


def queue(board):
    return reverse("board-queue", kwargs={"board_id": board.uuid})


def test_queue_lists_the_boards_cases_but_not_drafts_or_other_boards(cast):
    visible = make_case(cast, status="submitted")
    draft = make_case(cast, status="draft")
    elsewhere = make_case(cast, board=cast.other_board)
    html = signed_in(cast.radiologist).get(queue(cast.board)).content.decode()
    assert visible.pseudonym in html
    assert draft.pseudonym not in html
    assert elsewhere.pseudonym not in html


def test_outsiders_and_submitters_get_404_on_the_queue(cast):
    make_case(cast)
    for user in (cast.outsider, cast.referrer, cast.expert, cast.other_member):
        assert signed_in(user).get(queue(cast.board)).status_code == 404


def test_filter_by_status_and_search(cast):
    a = make_case(cast, status="submitted", question="Amputation or limb salvage?")
    b = make_case(cast, status="in_review", question="Role of chemotherapy?")
    client = signed_in(cast.chair)
    html = client.get(queue(cast.board), {"status": "submitted"}).content.decode()
    assert a.pseudonym in html and b.pseudonym not in html
    html = client.get(queue(cast.board), {"q": "chemo"}).content.decode()
    assert b.pseudonym in html and a.pseudonym not in html
    html = client.get(queue(cast.board), {"q": b.pseudonym.lower()}).content.decode()
    assert b.pseudonym in html and a.pseudonym not in html


def test_search_does_not_reach_identifying_details(cast):
    from tests.cases.factories import PATIENT_NAME

    make_case(cast)
    html = signed_in(cast.chair).get(queue(cast.board), {"q": PATIENT_NAME}).content.decode()
    assert "No case matches." in html


@pytest.mark.parametrize("view", ["queue", "mine"])
def test_list_pages_cost_the_same_queries_for_10_and_500_cases(
    cast, view, django_assert_max_num_queries
):
    def make(n):
        Case.objects.bulk_create(
            Case(
                board=cast.board,
                submitted_by=cast.referrer,
                status="submitted",
                question=f"q{i}",
                pseudonym=f"P{n}{i:05d}",
            )
            for i in range(n)
        )

    url, user = (
        (queue(cast.board), cast.chair) if view == "queue" else (reverse("my-cases"), cast.referrer)
    )
    client = signed_in(user)
    make(10)
    client.get(url)  # warm caches (content types, sessions)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ten:
        assert client.get(url).status_code == 200
    make(490)
    with django_assert_max_num_queries(len(ten.captured_queries)):
        response = client.get(url)
    assert response.status_code == 200

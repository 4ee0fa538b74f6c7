"""A long discussion on the case page: the newest threads, the earlier ones on demand."""

import pytest

from cases.opinions import THREADS_SHOWN
from tests.cases.factories import make_case, opinion
from tests.e2e.browser import shot, sign_in

pytestmark = pytest.mark.browser


def test_earlier_threads_load_on_demand(cast, daphne_server, new_context):
    case = make_case(cast)
    oldest = opinion(case, cast.pathologist, "The **first** opinion: spindle-cell sarcoma, G3.")
    for n in range(THREADS_SHOWN + 4):
        opinion(case, cast.members[n % 4], f"Opinion {n}: *agree* with resection.")
    page = sign_in(new_context(), daphne_server.url, "chair")
    page.goto(f"{daphne_server.url}/cases/{case.uuid}/")
    link = page.locator("#thread-older a")
    assert link.inner_text() == "Show 5 earlier threads"
    assert page.locator(f"#opinion-{oldest.uuid}").count() == 0
    link.scroll_into_view_if_needed()
    shot(page, "thread-newest.png")
    link.click()
    page.wait_for_selector(f"#opinion-{oldest.uuid}")
    body = page.locator(f"#opinion-{oldest.uuid} .opinion-body strong")
    assert body.inner_text() == "first"
    assert page.locator("#thread-older").count() == 0
    shot(page, "thread-all.png")

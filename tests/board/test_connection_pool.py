"""The PostgreSQL pool holds each server process to DATABASE_POOL_SIZE connections."""

from __future__ import annotations

import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse

from tests.cases.factories import make_case, opinion
from tests.e2e.browser import start_daphne
from tests.helpers import signed_in, skip_or_fail

POOL_SIZE = 3
CLIENTS = 50
SECONDS = 4


APPLICATION = "consilium-pool-test"


def backends(database: str) -> int:
    """Connections the server holds open to the test database (named by application_name)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
            [database, APPLICATION],
        )
        return cursor.fetchone()[0]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_pool_never_exceeds_its_bound_under_50_concurrent_clients(cast, tmp_path):
    if connection.vendor != "postgresql":
        skip_or_fail("REQUIRE_SERVICES", "the pool test needs PostgreSQL (DATABASE_URL)")
    case = make_case(cast)
    for n in range(5):
        opinion(case, cast.members[n % 4], f"Opinion {n}.")
    client = signed_in(cast.chair)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    database = settings.DATABASES["default"]["NAME"]
    # libpq names the server's connections (PGAPPNAME), so only they are counted.
    server = start_daphne(
        tmp_path,
        env={
            "PGAPPNAME": APPLICATION,
            "DATABASE_POOL_SIZE": str(POOL_SIZE),
            # Queue, not fail: 50 clients on a busy test machine wait their turn.
            "DATABASE_POOL_TIMEOUT": "120",
        },
    )
    paths = ["/healthz", reverse("case-detail", kwargs={"case_id": case.uuid})]
    statuses: list[int] = []
    seen: list[int] = []
    stop = threading.Event()

    def load(index: int) -> None:
        path = paths[index % 2]
        while not stop.is_set():
            request = urllib.request.Request(server.url + path, headers={"Cookie": cookie})  # noqa: S310
            try:
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                    statuses.append(response.status)
            except OSError as exc:
                statuses.append(getattr(exc, "code", 0))

    try:
        with ThreadPoolExecutor(CLIENTS) as clients:
            for index in range(CLIENTS):
                clients.submit(load, index)
            deadline = time.monotonic() + SECONDS
            while time.monotonic() < deadline:
                seen.append(backends(database))
                time.sleep(0.02)
            stop.set()
        seen.append(backends(database))
    finally:
        stop.set()
        server.stop()
    log = server.log.read_text(errors="replace")
    assert statuses and set(statuses) == {200}, (sorted(set(statuses)), log[-3000:])
    assert max(seen) >= 1  # the server did use the database meanwhile
    assert max(seen) <= POOL_SIZE, max(seen)

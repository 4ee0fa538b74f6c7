"""Redis goes down under a live meeting, then comes back: a real Daphne on a private Redis.

Writes over HTTP still commit while Redis is down (the database is the source of truth);
the meeting socket closes instead of hanging, and a client that keeps reconnecting is
served again, snapshot first, as soon as Redis returns.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request

import pytest
import websockets
from django.test import Client

from cases.models import Opinion
from tests.e2e.browser import free_port, start_daphne
from tests.e2e.browser import join as join_page
from tests.helpers import complete_sign_in, skip_or_fail
from tests.meetings.factories import make_meeting, put_on_agenda, ready_case

pytestmark = pytest.mark.services


NO_DISK = ("--save", "", "--appendonly", "no")


class PrivateRedis:
    """A redis-server of this test's own, which the test stops and starts again."""

    def __init__(self, port: int):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", *NO_DISK],
            stdout=subprocess.DEVNULL,
        )
        import redis

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def private_redis():
    if shutil.which("redis-server") is None:
        skip_or_fail("REQUIRE_SERVICES", "redis-server is not installed")
    server = PrivateRedis(free_port())
    server.start()
    yield server
    server.stop()


def session_cookie(user) -> str:
    client = Client()
    complete_sign_in(client, user)
    return f"sessionid={client.cookies['sessionid'].value}"


async def join(url: str, cookie: str):
    """Connect, read up to the snapshot; the socket and the snapshot."""
    ws = await websockets.connect(
        url, additional_headers={"Cookie": cookie}, origin=url.replace("ws:", "http:")
    )
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if event["type"] == "live.snapshot":
            return ws, event


async def rejoin(url: str, cookie: str, within: float):
    """Keep reconnecting, with backoff, as the page does; the socket and its snapshot."""
    deadline, delay = time.monotonic() + within, 0.2
    while True:
        try:
            return await join(url, cookie)
        except (OSError, websockets.WebSocketException, TimeoutError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(delay)
            delay = min(2.0, delay * 2)


def post_opinion(base: str, case, cookie: str, body: str) -> int:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("Cookie", cookie)]
    page = opener.open(f"{base}/cases/{case.uuid}/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    csrf = next(c.value for c in jar if c.name == "csrftoken")
    request = urllib.request.Request(  # noqa: S310 (the test's own loopback server)
        f"{base}/cases/{case.uuid}/opinions/",
        data=urllib.parse.urlencode({"body": body, "csrfmiddlewaretoken": token}).encode(),
        headers={"Cookie": f"{cookie}; csrftoken={csrf}", "Referer": f"{base}/"},
    )
    with opener.open(request) as response:
        return response.status


def test_a_meeting_survives_redis_going_down_and_coming_back(
    cast, transactional_db, tmp_path, private_redis
):
    meeting = make_meeting(cast)
    case = put_on_agenda(meeting, ready_case(cast), 1).case
    server = start_daphne(tmp_path, env={"REDIS_URL": private_redis.url})
    try:
        ws_url = f"{server.url.replace('http:', 'ws:')}/ws/meetings/{meeting.uuid}/"
        chair_cookie, member_cookie = session_cookie(cast.chair), session_cookie(cast.pathologist)

        async def scenario():
            member, _ = await join(ws_url, member_cookie)
            private_redis.stop()
            # The socket closes (it cannot hear anything any more) rather than hang.
            await asyncio.wait_for(member.wait_closed(), 15)
            # The database does not need Redis: an opinion posted now is stored.
            status = await asyncio.to_thread(
                post_opinion, server.url, case, member_cookie, "Posted while Redis was down."
            )
            # While Redis is down, nobody gets in.
            with pytest.raises((OSError, websockets.WebSocketException, TimeoutError)):
                await join(ws_url, member_cookie)
            private_redis.start()
            member, snapshot = await rejoin(ws_url, member_cookie, within=20)
            chair, _ = await rejoin(ws_url, chair_cookie, within=20)
            await chair.send(json.dumps({"type": "presenter.assign", "user": str(cast.chair.uuid)}))
            while (event := json.loads(await asyncio.wait_for(member.recv(), 10)))[
                "type"
            ] != "live.presenter":
                pass
            await member.close()
            await chair.close()
            return status, snapshot, event

        status, snapshot, handoff = asyncio.run(scenario())
    finally:
        server.stop()
    assert status == 200
    assert Opinion.objects.filter(case=case, body="Posted while Redis was down.").exists()
    assert snapshot["type"] == "live.snapshot"
    assert handoff["presenter"] == str(cast.chair.uuid)


@pytest.mark.browser
def test_the_live_page_says_it_is_offline_and_recovers_by_itself(
    cast, transactional_db, tmp_path, private_redis, new_context
):
    meeting = make_meeting(cast)
    case = put_on_agenda(meeting, ready_case(cast), 1).case
    server = start_daphne(tmp_path, env={"REDIS_URL": private_redis.url})
    try:
        page = join_page(new_context, server.url, "chair", meeting)
        page.locator("[data-goto]").first.click()
        page.locator("[data-thread] textarea").wait_for()
        private_redis.stop()
        page.wait_for_function("document.body.dataset.connection !== 'live'")
        page.locator("p[data-connection]", has_text="Offline").wait_for()
        # The page still writes: the opinion goes over HTTP into the database.
        page.locator("[data-thread] textarea").fill("Written during the outage.")
        page.get_by_role("button", name="Post opinion").click()
        page.wait_for_function("document.querySelector('[data-thread] textarea').value === ''")
        assert Opinion.objects.filter(case=case, body="Written during the outage.").exists()
        private_redis.start()
        # Nobody reloads: the client's own backoff finds the server again.
        page.wait_for_function("document.body.dataset.connection === 'live'", timeout=40_000)
        assert page.locator("p[data-connection]").inner_text().strip() == "Live"
    finally:
        server.stop()

"""A WebSocket opens only from its own origin or a configured one: scheme, host and port."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async

from board.origins import parse_origin
from tests.realtime.sockets import communicator, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/ws/account/"
ROOT = Path(__file__).resolve().parents[2]


async def opens(user, *, origin: bytes | None, host: bytes | None = b"127.0.0.1:8000") -> bool:
    _, cookie = await sync_to_async(session_cookie)(user)
    comm = communicator(
        PATH,
        cookie=cookie,
        origin=(b"origin", origin) if origin else None,
        host=(b"host", host) if host else None,
    )
    connected, _ = await comm.connect()
    await comm.disconnect()
    return connected


@pytest.mark.asyncio
async def test_the_sockets_own_origin_opens(cast, settings):
    settings.WEBSOCKET_ALLOWED_ORIGINS = []
    assert await opens(cast.chair, origin=b"http://127.0.0.1:8000")


@pytest.mark.asyncio
async def test_another_port_of_the_same_host_is_refused(cast, settings):
    settings.WEBSOCKET_ALLOWED_ORIGINS = []
    assert not await opens(cast.chair, origin=b"http://127.0.0.1:9999")


@pytest.mark.asyncio
async def test_the_default_port_is_not_any_port(cast, settings):
    settings.WEBSOCKET_ALLOWED_ORIGINS = ["http://127.0.0.1"]
    assert await opens(cast.chair, origin=b"http://127.0.0.1:80", host=b"internal:8000")
    assert not await opens(cast.chair, origin=b"http://127.0.0.1:8080", host=b"internal:8000")


@pytest.mark.asyncio
async def test_another_scheme_is_refused(cast, settings):
    settings.WEBSOCKET_ALLOWED_ORIGINS = []
    # ws:// is the http origin; an https page on the same host and port is another origin.
    assert not await opens(cast.chair, origin=b"https://127.0.0.1:8000")


@pytest.mark.asyncio
async def test_a_missing_origin_is_refused(cast, settings):
    settings.WEBSOCKET_ALLOWED_ORIGINS = ["http://127.0.0.1:8000"]
    assert not await opens(cast.chair, origin=None)


@pytest.mark.asyncio
async def test_a_configured_origin_opens_behind_a_proxy(cast, settings):
    # The proxy forwards to an internal address: the Host is not the public origin.
    settings.WEBSOCKET_ALLOWED_ORIGINS = ["https://board.example.org"]
    assert await opens(cast.chair, origin=b"https://board.example.org", host=b"10.0.0.5:8000")
    assert not await opens(cast.chair, origin=b"https://board.example.org:8443", host=b"10.0.0.5")


@pytest.mark.asyncio
async def test_a_host_outside_allowed_hosts_is_not_its_own_origin(cast, settings):
    # A DNS-rebinding page names its own host in both headers; ALLOWED_HOSTS refuses it.
    settings.WEBSOCKET_ALLOWED_ORIGINS = []
    assert not await opens(
        cast.chair, origin=b"http://evil.example:8000", host=b"evil.example:8000"
    )


def test_origins_are_compared_with_their_default_ports():
    assert parse_origin("http://Example.org") == ("http", "example.org", 80)
    assert parse_origin("https://example.org:443/") == ("https", "example.org", 443)
    assert parse_origin("https://example.org:8443") == ("https", "example.org", 8443)
    assert parse_origin("null") is None
    assert parse_origin("ftp://example.org") is None
    assert parse_origin("http://example.org:99999") is None


def test_an_allowed_origin_that_is_no_origin_stops_the_process(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    env.update(
        CONSILIUM_VAR_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="board.settings",
        WEBSOCKET_ALLOWED_ORIGINS="https://board.example.org,board.example.org",
    )
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "WEBSOCKET_ALLOWED_ORIGINS: 'board.example.org' is not scheme://host" in result.stderr

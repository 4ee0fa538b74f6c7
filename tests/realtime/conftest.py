from __future__ import annotations

import uuid

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client

from board.asgi import application

ORIGIN = (b"origin", b"http://127.0.0.1")


@pytest.fixture(params=["memory", "redis"])
def channel_layer(request, settings):
    """Run the test over the in-memory layer and over channels-redis."""
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                # A prefix per test: tests never see each other's groups.
                "CONFIG": {"hosts": [url], "prefix": f"consilium-test-{uuid.uuid4().hex[:8]}"},
            }
        }
    else:
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    layer = get_channel_layer()
    assert type(layer).__module__.startswith(
        "channels_redis" if request.param == "redis" else "channels.layers"
    )
    return layer


def session_cookie(user) -> tuple[Client, bytes]:
    client = Client()
    client.force_login(user)
    return client, f"sessionid={client.cookies['sessionid'].value}".encode()


def communicator(path: str, *, cookie: bytes | None = None, origin=ORIGIN):
    headers = [origin] if origin else []
    if cookie:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, path, headers=headers)

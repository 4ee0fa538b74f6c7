from __future__ import annotations

import uuid

import pytest
from channels.layers import get_channel_layer


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

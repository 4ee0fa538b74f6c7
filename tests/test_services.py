"""When CI requires the services, the suite must really run on them."""

import os

import pytest
from django.conf import settings
from django.db import connection

from tests.helpers import required


@pytest.mark.skipif(not required("REQUIRE_SERVICES"), reason="REQUIRE_SERVICES is not set")
@pytest.mark.django_db
def test_required_services_are_the_ones_in_use():
    assert connection.vendor == "postgresql"
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert os.environ.get("REDIS_URL")


@pytest.mark.django_db
def test_cache_round_trip():
    from django.core.cache import cache

    cache.set("consilium-test-key", {"a": 1}, 30)
    assert cache.get("consilium-test-key") == {"a": 1}
    cache.delete("consilium-test-key")
    assert cache.get("consilium-test-key") is None

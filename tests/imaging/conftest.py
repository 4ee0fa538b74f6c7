import pytest

from tests.cases.factories import make_case


@pytest.fixture
def case(cast):
    return make_case(cast)


@pytest.fixture(autouse=True)
def fresh_frame_cache():
    from imaging import pixels

    pixels.cache().clear()
    yield
    pixels.cache().clear()

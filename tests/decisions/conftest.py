"""Fixtures of the decision tests."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from tests.decisions.expert_factories import Service


@pytest.fixture(autouse=True)
def _fast_passwords(fast_passwords):
    """Signing checks the password each time (tests/conftest.py: fast_passwords)."""


@pytest.fixture
def service(cast):
    """An expert service (issue #16): tests/decisions/expert_factories.Service."""
    return Service(cast)


@pytest.fixture
def loopback() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on 127.0.0.1 that counts the requests it gets."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.end_headers()
            self.wfile.write(b"body { background: red; }")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

"""Sockets as tests open them: a session cookie, and a communicator on the real ASGI app with
an Origin header and the Host a browser sends with it (board.origins refuses a socket
whose Origin is neither its own nor a configured one, and one without an Origin)."""

from __future__ import annotations

from channels.testing import WebsocketCommunicator
from django.test import Client

from board.asgi import application
from tests.helpers import complete_sign_in

ORIGIN = (b"origin", b"http://127.0.0.1")
HOST = (b"host", b"127.0.0.1")


def session_cookie(user) -> tuple[Client, bytes]:
    client = complete_sign_in(Client(), user)
    return client, f"sessionid={client.cookies['sessionid'].value}".encode()


def communicator(path: str, *, cookie: bytes | None = None, origin=ORIGIN, host=HOST):
    headers = [header for header in (origin, host) if header]
    if cookie:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, path, headers=headers)

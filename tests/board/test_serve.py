"""Daphne's queue to the application keeps request body pieces in a temporary file."""

from __future__ import annotations

import pytest

from board.serve import SpooledBodyQueue


@pytest.mark.asyncio
async def test_body_pieces_come_back_whole_and_in_order(settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024  # past it, the pieces are on disk
    queue = SpooledBodyQueue()
    pieces = [bytes([n]) * 700 for n in range(5)]
    for n, piece in enumerate(pieces):
        queue.put_nowait({"type": "http.request", "body": piece, "more_body": n < 4})
    queue.put_nowait({"type": "http.disconnect"})
    # What waits in the queue holds no body: the pieces are in the spool.
    assert all(item.get("body", b"") == b"" for item in list(queue._queue))
    assert queue._spool._rolled
    received = [await queue.get() for _ in range(6)]
    assert [item["body"] for item in received[:5]] == pieces
    assert [item["more_body"] for item in received[:5]] == [True] * 4 + [False]
    assert received[5] == {"type": "http.disconnect"}
    assert queue._spool is None  # closed with the last piece


@pytest.mark.asyncio
async def test_a_request_without_a_body_passes_through():
    queue = SpooledBodyQueue()
    queue.put_nowait({"type": "http.request", "body": b"", "more_body": False})
    assert await queue.get() == {"type": "http.request", "body": b"", "more_body": False}

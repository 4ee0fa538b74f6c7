"""Daphne with Consilium's tuning: `python -m board.serve` takes Daphne's own options.

Daphne hands a request body to Django in pieces of `request_buffer_size` bytes (8 KiB by
default, with no command-line option). A 20-file DICOM upload is ~10 MB, so that is
~1,300 hand-offs between Twisted and the event loop; 1 MiB pieces cut them to ten.

Daphne also hands the whole body over at once: every piece goes into the application's
queue as soon as the request is complete, so a 300 MB upload sat in memory until Django had
read it. Here the queue keeps the pieces in a temporary file (in memory up to
FILE_UPLOAD_MAX_MEMORY_SIZE) and gives each back when the application asks for it.

Once Django and the app are loaded, their objects are moved out of the garbage collector's
sight (``gc.freeze``): a full collection otherwise walks them all, every second or two,
and each walk (20 to 50 ms) stalls every live session of the process at once.

With ``DICOM_LISTENER=1`` (what `make run` sets) the process also runs the DICOM listener
(imaging.dimse) on DICOM_HOST:DICOM_PORT, in pynetdicom's threads, so a developer has one
command; in production it runs as its own process (``manage.py dicom_listener``), since
several Daphne processes cannot all bind one port.

The access log (Daphne's, on stdout) writes each request's path with its query's values
redacted (board.logredact): a QIDO search names the patient in its query.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import tempfile
from functools import partial

from daphne.cli import CommandLineInterface
from daphne.server import Server
from django.conf import settings

from board.logredact import redact_uri

REQUEST_BUFFER_SIZE = 1024 * 1024


class SpooledBodyQueue(asyncio.Queue):
    """An application's input queue whose request body pieces wait in a temporary file."""

    def __init__(self) -> None:
        super().__init__()
        self._spool: tempfile.SpooledTemporaryFile | None = None
        self._written = 0
        self._read = 0

    def put_nowait(self, item):
        body = item.get("body") if item.get("type") == "http.request" else None
        if body:
            if self._spool is None:
                self._spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (closed in get)
                    max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE
                )
            self._spool.seek(self._written)
            self._spool.write(body)
            self._written += len(body)
            item = {**item, "body": b"", "spooled": len(body)}
        super().put_nowait(item)

    async def get(self):
        item = await super().get()
        size = item.pop("spooled", 0)
        if size:
            self._spool.seek(self._read)
            item["body"] = self._spool.read(size)
            self._read += size
            if not item.get("more_body"):
                self._spool.close()
                self._spool = None
        return item


class ConsiliumServer(Server):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("request_buffer_size", REQUEST_BUFFER_SIZE)
        super().__init__(*args, **kwargs)

    def log_action(self, protocol, action, details):
        if isinstance(details.get("path"), str):
            details = {**details, "path": redact_uri(details["path"])}
        super().log_action(protocol, action, details)

    def create_application(self, protocol, scope):
        """Daphne's own (daphne.server.Server.create_application), with the spooled queue."""
        assert "application_instance" not in self.connections[protocol]
        input_queue = SpooledBodyQueue()
        scope.setdefault("asgi", {"version": "3.0"})
        application_instance = self.application(
            scope=scope, receive=input_queue.get, send=partial(self.handle_reply, protocol)
        )
        if protocol not in self.connections:
            return None
        self.connections[protocol]["application_instance"] = asyncio.ensure_future(
            application_instance, loop=asyncio.get_event_loop()
        )
        return input_queue

    def run(self):
        listener = start_dicom_listener()
        gc.collect()
        gc.freeze()
        try:
            super().run()
        finally:
            if listener is not None:
                listener.shutdown()


def start_dicom_listener():
    """The DICOM listener in this process's threads, if ``DICOM_LISTENER=1``; else None.
    Django is set up by now (Daphne imported the application)."""
    if os.environ.get("DICOM_LISTENER", "").strip().lower() not in {"1", "true", "yes", "on"}:
        return None
    from imaging.dimse import listen  # needs the app registry, ready only now

    return listen(block=False)


class ConsiliumCommandLine(CommandLineInterface):
    server_class = ConsiliumServer


def main(argv: list[str] | None = None) -> None:
    ConsiliumCommandLine().run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()

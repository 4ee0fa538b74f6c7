"""Daphne with Consilium's tuning: `python -m board.serve` takes Daphne's own options.

Daphne hands a request body to Django in pieces of `request_buffer_size` bytes (8 KiB by
default, with no command-line option). A 20-file DICOM upload is ~10 MB, so that is
~1,300 hand-offs between Twisted and the event loop; 1 MiB pieces cut them to ten.

Once Django and the app are loaded, their objects are moved out of the garbage collector's
sight (``gc.freeze``): a full collection otherwise walks them all, every second or two,
and each walk (20 to 50 ms) stalls every live session of the process at once.

The access log (Daphne's, on stdout) writes each request's path with its query's values
redacted (board.logredact): a QIDO search names the patient in its query.
"""

from __future__ import annotations

import gc
import sys

from daphne.cli import CommandLineInterface
from daphne.server import Server

from board.logredact import redact_uri

REQUEST_BUFFER_SIZE = 1024 * 1024


class ConsiliumServer(Server):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("request_buffer_size", REQUEST_BUFFER_SIZE)
        super().__init__(*args, **kwargs)

    def log_action(self, protocol, action, details):
        if isinstance(details.get("path"), str):
            details = {**details, "path": redact_uri(details["path"])}
        super().log_action(protocol, action, details)

    def run(self):
        gc.collect()
        gc.freeze()
        super().run()


class ConsiliumCommandLine(CommandLineInterface):
    server_class = ConsiliumServer


def main(argv: list[str] | None = None) -> None:
    ConsiliumCommandLine().run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()

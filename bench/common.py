"""What the benchmark scripts share. They run as scripts (`python bench/<name>.py`), so this
folder leads sys.path and `import common` finds this file."""

from __future__ import annotations

import socket
import sys


def log(message: str) -> None:
    """Progress, on stderr: stdout holds only what a benchmark measured."""
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

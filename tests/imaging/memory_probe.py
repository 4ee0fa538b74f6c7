"""Peak memory of one piece of server work, measured in a process of its own.

    python -m tests.imaging.memory_probe zip-entries ARCHIVE
    python -m tests.imaging.memory_probe unpack ARCHIVE BUDGET ENTRY

Prints one JSON line: what the work answered, and the process's peak resident size
(ru_maxrss) before and after it, in bytes. The tests compare the two against a bound; a
process of its own, because a test process's peak is whatever the suite did before.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import zipfile


def peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "board.settings")
    import django

    django.setup()
    from imaging import ingest

    what, archive_path, *rest = argv
    with open(archive_path, "rb") as fileobj:
        before = peak()
        if what == "zip-entries":
            answer = [
                [entry.name, entry.status, entry.reason]
                if isinstance(entry, ingest.FileResult)
                else [entry[0], "read", len(entry[1])]
                for entry in ingest.zip_entries(fileobj, "upload.zip")
            ]
        elif what == "unpack":
            with zipfile.ZipFile(fileobj) as archive:
                budget, entry = int(rest[0]), int(rest[1])
                size, data = ingest._unpack(archive, archive.infolist()[entry], budget)
            answer = [size, None if data is None else len(data)]
        else:
            raise SystemExit(f"unknown work {what!r}")
        after = peak()
    print(json.dumps({"answer": answer, "before": before, "after": after}))


if __name__ == "__main__":
    main(sys.argv[1:])

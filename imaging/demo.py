"""A phantom CT on a demo case, so the viewer has something to show after `make run`."""

from __future__ import annotations

import io

from board.models import User
from cases.models import Case
from imaging.ingest import ingest_many
from imaging.phantom import phantom_series


def seed_demo_imaging(*, case: Case, by: User, slices: int = 120, size: int = 512) -> int:
    """Attach a phantom CT unless the case already has imaging; returns instances stored."""
    if case.studies.exists():
        return 0
    files = []
    for i, ds in enumerate(phantom_series(slices=slices, size=size)):
        buf = io.BytesIO()
        ds.save_as(buf, enforce_file_format=True)
        buf.seek(0)
        files.append((f"IM{i + 1:04d}.dcm", buf))
    return ingest_many(case=case, by=by, files=files).stored

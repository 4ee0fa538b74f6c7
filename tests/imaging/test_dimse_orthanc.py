"""Orthanc, as a hospital's PACS, pushes studies to the DICOM listener (C-STORE SCU).

Orthanc listens on every interface, so it runs in a private network namespace
(`unshare --net`, as bench/imaging.py does), and the listener with it: both run in one
subprocess (tests/imaging/orthanc_push.py) with a database of its own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import skip_or_fail

ORTHANC = Path("/usr/sbin/Orthanc")
SCRIPT = Path(__file__).with_name("orthanc_push.py")


def unshare_net() -> list[str]:
    return ["unshare", "--net"] + (["--map-root-user"] if os.geteuid() != 0 else [])


def test_orthanc_pushes_to_the_inbox_and_to_the_case_named_by_accession(tmp_path):
    if not ORTHANC.exists() or shutil.which("unshare") is None:
        skip_or_fail("REQUIRE_SERVICES", "Orthanc or unshare is not installed")
    probe = subprocess.run(
        [*unshare_net(), "--", "sh", "-c", "ip link set lo up"], capture_output=True, timeout=30
    )
    if probe.returncode != 0:
        skip_or_fail("REQUIRE_SERVICES", "no private network namespace (unshare --net)")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    command = f"ip link set lo up && exec {sys.executable} {SCRIPT} {tmp_path}"
    done = subprocess.run(
        [*unshare_net(), "--", "sh", "-c", command],
        capture_output=True,
        text=True,
        timeout=400,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["answers"] == 2  # both studies pushed by Orthanc's /modalities/.../store
    assert result["inbox_instances"] == 3
    assert result["inbox_patient"] == "Quixote^Alonso"
    assert result["inbox_caller"] == "ORTHANC"
    assert result["case_instances"] == 1
    assert result["case_deidentified"] is True

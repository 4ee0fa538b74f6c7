"""Orthanc (unmodified, Debian's orthanc-dicomweb) pushes to a case by STOW-RS.

Orthanc's STOW-RS client sends a 73-character multipart boundary (two UUIDs joined by a
hyphen), longer than RFC 2046's 70; Consilium used to refuse it with 400. Orthanc listens
on every interface, so it and the Daphne it pushes to run in a private network namespace
(``unshare --net``, loopback only); the test then looks at what the case holds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.utils.http import parse_header_parameters

from board.models import ApiToken
from board.tokens import token_create
from cases.models import AuditEvent, Case
from imaging.models import Instance
from tests.cases.factories import make_case
from tests.e2e.browser import test_database_url
from tests.helpers import skip_or_fail
from tests.imaging.dicom import ct_dataset, to_bytes

ORTHANC = Path("/usr/sbin/Orthanc")
PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
PEER = Path(__file__).with_name("orthanc_stow_peer.py")
PG_SOCKET_DIR = Path("/var/run/postgresql")


def namespace_database_url() -> str:
    """The test database as seen from inside the namespace, where TCP reaches nothing."""
    if connection.vendor == "postgresql":
        if not PG_SOCKET_DIR.exists():
            skip_or_fail("REQUIRE_SERVICES", "PostgreSQL has no Unix socket to reach it by")
        db = connection.settings_dict
        socket_dir = quote(str(PG_SOCKET_DIR), safe="")
        return f"postgres://{db['USER']}@/{db['NAME']}?host={socket_dir}"
    return test_database_url()


@pytest.mark.django_db(transaction=True)
def test_orthanc_pushes_an_instance_by_stow_rs(cast, tmp_path):
    if not ORTHANC.exists() or not PLUGIN.exists():
        skip_or_fail("REQUIRE_SERVICES", "Orthanc and its DICOMweb plugin are not installed")
    case = make_case(cast, status=Case.Status.IN_REVIEW)
    _, token = token_create(user=cast.referrer, name="orthanc", scope=ApiToken.Scope.IMAGING_UPLOAD)
    sent = ct_dataset()
    (tmp_path / "ct.dcm").write_bytes(to_bytes(sent))
    config = {
        "case": str(case.uuid),
        "token": token,
        "dicom": str(tmp_path / "ct.dcm"),
        "tmp": str(tmp_path),
        "env": {
            "DATABASE_URL": namespace_database_url(),
            "DJANGO_SETTINGS_MODULE": "board.settings",
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "REDIS_URL": "",
        },
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    command = f"ip link set lo up && exec {sys.executable} {PEER} {tmp_path / 'config.json'}"
    unshare = ["unshare", "--net"] + (["--map-root-user"] if os.geteuid() != 0 else [])
    done = subprocess.run(
        [*unshare, "--", "sh", "-c", command], capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])

    (content_type,) = result["content_types"]
    boundary = parse_header_parameters(content_type)[1]["boundary"]
    assert len(boundary) > 70  # what made Consilium refuse Orthanc

    assert result["status"] == 200, result
    (stored,) = Instance.objects.filter(series__study__case=case)
    assert stored.sop_instance_uid != sent.SOPInstanceUID  # de-identified on the way in
    event = AuditEvent.objects.get(action="imaging.upload")
    assert event.detail["via"] == "stow-rs"
    assert event.detail["stored"] == 1

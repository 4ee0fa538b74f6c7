"""Consilium's imaging pipeline beside Orthanc's: same phantom, same machine, same run.

    make bench-imaging                      # or .venv/bin/python bench/imaging.py
    .venv/bin/python bench/imaging.py --slices 100 --size 256

Both servers start on fresh temporary stores: Consilium as a real Daphne process on a
SQLite file, Orthanc (Debian's ``orthanc`` and ``orthanc-dicomweb``) with a temporary
configuration. Orthanc listens on every interface and has no option to listen on
loopback only, so the whole benchmark re-executes itself in a private network namespace
(``unshare --net``) where nothing outside the machine can reach either server. Without
Orthanc, or without a namespace, the Orthanc column is skipped and the reason printed.

Prints a table, then as its last line one JSON object with the headline figures
(null where a column was skipped).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import io
import json
import math
import os
import platform
import queue
import re
import secrets
import shlex
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from time import perf_counter
from urllib.parse import urlencode

import pydicom
from common import free_port, log

ROOT = Path(__file__).resolve().parents[1]
ORTHANC = Path("/usr/sbin/Orthanc")
# Where Debian (and a source build) put the DICOMweb plugin.
DICOMWEB_PLUGIN_GLOBS = (
    "/usr/share/orthanc/plugins/libOrthancDicomWeb.so*",
    "/usr/lib/orthanc/libOrthancDicomWeb.so*",
    "/usr/local/share/orthanc/plugins/libOrthancDicomWeb.so*",
)
UPLOAD_BATCH = 50  # static/js/dicom-upload.js sends up to 50 files (and 64 MB) a request
BROWSER_CONNECTIONS = 6  # what a browser opens per host, and so what OHIF gets
FIRST_FRAME_RUNS = 7
WARM_SERIES_RUNS = 4
RENDERED_REQUESTS = 30
WINDOW = (40, 400)  # soft tissue, the phantom's first preset
FIRST_FRAME_TARGET_MS = 50
REQUEST_TIMEOUT = 120
# A hard bound on the whole run (at the defaults it takes well under a minute): an alarm
# ends it, and the finally blocks stop the servers and remove the temporary files.
RUN_BOUND_S = 300
# Settings a developer's shell may carry that would point the server elsewhere.
FOREIGN_ENV = (
    "CONSILIUM_PRODUCTION",
    "DATABASE_URL",
    "REDIS_URL",
    "MEDIA_ROOT",
    "STATIC_ROOT",
    "FRAME_CACHE_MB",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)

SETUP_SCRIPT = """
import json, os
from board.models import Board, Membership, Specialty, User
from cases.models import Case, PatientIdentity
board = Board.objects.create(name="Benchmark board")
user = User.objects.create_user(
    "bench", password=os.environ["BENCH_PASSWORD"], kind="clinician",
    specialty=Specialty.RADIOLOGY,
)
Membership.objects.create(
    user=user, board=board, role=Membership.Role.CHAIR, specialty=Specialty.RADIOLOGY
)
case = Case.objects.create(
    board=board, submitted_by=user, status=Case.Status.IN_REVIEW,
    clinical_summary="Benchmark phantom.", question="None.",
)
PatientIdentity.objects.create(case=case, full_name="PHANTOM^CT")
# Clinicians sign in with a second factor: the bench's authenticator app, on a known key.
from django_otp.plugins.otp_totp.models import TOTPDevice
TOTPDevice.objects.create(user=user, confirmed=True, key=os.environ["BENCH_TOTP_KEY"], name="bench")
from imaging.models import DicomCaller
board.dicom_ae_title = "BENCH_MDT"
board.save()
DicomCaller.objects.create(board=board, ae_title="BENCH_SCU", host="127.0.0.1")
print(json.dumps({"case": str(case.uuid), "deidentify": board.deidentify_imaging}))
"""


# --- HTTP ---------------------------------------------------------------------------------


class Client:
    """One keep-alive HTTP/1.1 connection and its cookies: what a browser tab holds.

    The same client talks to both servers, so neither gets a faster HTTP stack.
    """

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self._conn: http.client.HTTPConnection | None = None

    def connect(self) -> http.client.HTTPConnection:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        out = {}
        if self.cookies:
            out["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        out.update(extra or {})
        return out

    def keep_cookies(self, response: http.client.HTTPResponse) -> None:
        for value in response.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(value)
            for name, morsel in jar.items():
                self.cookies[name] = morsel.value

    def send(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> http.client.HTTPResponse:
        """Send on the kept connection; reconnect once if the server closed it while idle."""
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = self.connect()
            try:
                self._conn.request(method, path, body=body, headers=self.headers(headers))
                response = self._conn.getresponse()
            except ConnectionError:
                self.close()
                if attempt == 2:
                    raise
                continue
            self.keep_cookies(response)
            return response
        raise AssertionError("unreachable")

    def fetch(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, bytes]:
        response = self.send(method, path, body, headers)
        data = response.read()
        if response.will_close:
            self.close()
        return response.status, data


def read_exact(response: http.client.HTTPResponse, n: int) -> bytes:
    data = response.read(n)
    if len(data) != n:
        raise RuntimeError(f"the stream ended inside a record ({len(data)} of {n} bytes)")
    return data


def stream_records(response: http.client.HTTPResponse):
    """Yield (slice position, body length) as each record of the series stream completes.

    Record: u32 position, u32 header length, JSON header, u32 body length, body.
    """
    while True:
        lead = response.read(8)
        if not lead:
            return
        if len(lead) < 8:
            lead += read_exact(response, 8 - len(lead))
        position, header_length = struct.unpack("<II", lead)
        read_exact(response, header_length)
        (body_length,) = struct.unpack("<I", read_exact(response, 4))
        read_exact(response, body_length)
        yield position, body_length


def multipart_related(files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    """A batch as the viewer page sends it: multipart/related, one application/dicom part
    a file (a form body would be parsed a second time by Twisted, for nothing)."""
    boundary = "consilium-bench-" + secrets.token_hex(12)
    parts = []
    for filename, data in files:
        parts.append(
            f"--{boundary}\r\nContent-Type: application/dicom\r\n"
            f'Content-Disposition: attachment; filename="{filename}"\r\n\r\n'.encode()
        )
        parts.append(data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f'multipart/related; type="application/dicom"; boundary={boundary}'


# --- servers ------------------------------------------------------------------------------


def wait_for(url_path: str, port: int, process: subprocess.Popen, logfile: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"exited with status {process.returncode}\n{logfile.read_text()[-2000:]}"
            )
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", url_path)
            if conn.getresponse().status == 200:
                conn.close()
                return
            conn.close()
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"no answer on {url_path} in 60 s\n{logfile.read_text()[-2000:]}")


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@dataclass
class Consilium:
    process: subprocess.Popen
    client: Client
    case: str
    deidentify: bool
    log: Path
    dicom_port: int = 0


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def start_consilium(tmp: Path, password: str) -> Consilium:
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_ENV}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp / 'consilium.sqlite3'}",
        CONSILIUM_VAR_DIR=str(tmp / "var"),
        DJANGO_SETTINGS_MODULE="board.settings",
        DEBUG="0",  # as deployed: no query log, no debug pages
        BENCH_PASSWORD=password,
        BENCH_TOTP_KEY=TOTP_KEY,
    )
    manage(env, "migrate", "--noinput")
    setup = manage(env, "shell", "-c", SETUP_SCRIPT)
    made = json.loads(setup.strip().splitlines()[-1])
    port = free_port()
    # The DICOM listener in Daphne's process, as `make run` has it.
    dicom_port = free_port()
    env.update(DICOM_LISTENER="1", DICOM_HOST="127.0.0.1", DICOM_PORT=str(dicom_port))
    logfile = tmp / "daphne.log"
    daphne = [sys.executable, "-m", "board.serve", "-b", "127.0.0.1", "-p", str(port)]
    process = subprocess.Popen(
        [*daphne, "board.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=logfile.open("w"),
        stderr=subprocess.STDOUT,
    )
    server = Consilium(process, Client(port), made["case"], made["deidentify"], logfile, dicom_port)
    try:
        wait_for("/healthz", port, process, logfile)
        login(server.client, password)
    except BaseException:
        stop(process)
        raise
    return server


TOTP_KEY = secrets.token_hex(20)


def totp_code(key_hex: str, step: int = 30) -> str:
    """RFC 6238 (HMAC-SHA1, 30 s, 6 digits), as django-otp's TOTP device checks it."""
    counter = struct.pack(">Q", int(time.time()) // step)
    digest = hmac.new(bytes.fromhex(key_hex), counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def login(client: Client, password: str) -> None:
    status, page = client.fetch("GET", "/accounts/login/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if status != 200 or token is None:
        raise RuntimeError(f"no login form (HTTP {status})")
    form = urlencode(
        {"username": "bench", "password": password, "csrfmiddlewaretoken": token[1].decode()}
    ).encode()
    status, _ = client.fetch(
        "POST",
        "/accounts/login/",
        form,
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    if status != 302 or "sessionid" not in client.cookies:
        raise RuntimeError(f"login failed (HTTP {status})")
    status, page = client.fetch("GET", "/accounts/second-factor/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if status != 200 or token is None:
        raise RuntimeError(f"no second-factor form (HTTP {status})")
    form = urlencode(
        {"code": totp_code(TOTP_KEY), "csrfmiddlewaretoken": token[1].decode()}
    ).encode()
    status, _ = client.fetch(
        "POST",
        "/accounts/second-factor/",
        form,
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    if status != 302:
        raise RuntimeError(f"second factor refused (HTTP {status})")


@dataclass
class Orthanc:
    process: subprocess.Popen
    client: Client
    version: str
    dicomweb: str | None
    log: Path
    dicom_port: int = 0


def dicomweb_plugin() -> str | None:
    for pattern in DICOMWEB_PLUGIN_GLOBS:
        found = sorted(Path("/").glob(pattern.lstrip("/")))
        if found:
            return str(found[0])
    return None


def start_orthanc(tmp: Path) -> Orthanc:
    port = free_port()
    dicom_port = free_port()
    plugin = dicomweb_plugin()
    config = {
        "Name": "consilium-bench",
        "StorageDirectory": str(tmp / "orthanc-storage"),
        "IndexDirectory": str(tmp / "orthanc-index"),
        "HttpPort": port,
        # Its C-STORE SCP: reachable only inside the namespace, like its HTTP port.
        "DicomServerEnabled": True,
        "DicomAet": "ORTHANC",
        "DicomPort": dicom_port,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "SaveJobs": False,
        "KeepAlive": True,
        "TcpNoDelay": True,
        "Plugins": [plugin] if plugin else [],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": False},
    }
    config_path = tmp / "orthanc.json"
    config_path.write_text(json.dumps(config, indent=2))
    logfile = tmp / "orthanc.log"
    process = subprocess.Popen(
        [str(ORTHANC), str(config_path)], stdout=logfile.open("w"), stderr=subprocess.STDOUT
    )
    client = Client(port)
    server = Orthanc(process, client, "?", None, logfile, dicom_port)
    try:
        wait_for("/system", port, process, logfile)
        _, system = client.fetch("GET", "/system")
        server.version = json.loads(system).get("Version", "?")
        if plugin:
            status, body = client.fetch("GET", "/plugins/dicom-web")
            if status == 200:
                server.dicomweb = json.loads(body).get("Version", "?")
    except BaseException:
        stop(process)
        raise
    return server


# --- the data -----------------------------------------------------------------------------


@dataclass
class Phantom:
    names: list[str]
    data: list[bytes]
    study_uid: str
    series_uid: str
    sop_uids: list[str]
    rows: int
    columns: int

    @property
    def frame_bytes(self) -> int:
        return self.rows * self.columns * 2


def make_phantom(out_dir: Path, *, slices: int, size: int, seed: int = 7) -> Phantom:
    # Run as a script, this file's folder leads sys.path and its own name hides the app.
    if sys.path[0] != str(ROOT):
        sys.path.insert(0, str(ROOT))
    from imaging.phantom import write_phantom

    paths = write_phantom(out_dir, slices=slices, size=size, seed=seed)
    heads = [pydicom.dcmread(p, stop_before_pixels=True) for p in paths]
    return Phantom(
        names=[p.name for p in paths],
        data=[p.read_bytes() for p in paths],
        study_uid=str(heads[0].StudyInstanceUID),
        series_uid=str(heads[0].SeriesInstanceUID),
        sop_uids=[str(h.SOPInstanceUID) for h in heads],
        rows=int(heads[0].Rows),
        columns=int(heads[0].Columns),
    )


# --- measurements: Consilium ---------------------------------------------------------------


@dataclass
class Figures:
    ingest_per_s: float | None = None
    cstore_per_s: float | None = None
    manifest_ms: list[float] = field(default_factory=list)
    first_frame_ms: list[float] = field(default_factory=list)
    series_cold_s: float | None = None
    series_warm_s: list[float] = field(default_factory=list)
    rendered_ms: list[float] = field(default_factory=list)
    rendered_bytes: list[int] = field(default_factory=list)


def cstore(port: int, called: str, phantom: Phantom) -> float:
    """Seconds to send the series by C-STORE on one association (pynetdicom as the SCU,
    the same client for both servers), every response a success."""
    from pynetdicom import AE

    ae = AE(ae_title="BENCH_SCU")
    ae.add_requested_context(pydicom.uid.CTImageStorage, pydicom.uid.ExplicitVRLittleEndian)
    datasets = [pydicom.dcmread(io.BytesIO(data)) for data in phantom.data]
    started = perf_counter()
    assoc = ae.associate("127.0.0.1", port, ae_title=called)
    if not assoc.is_established:
        raise RuntimeError(f"C-STORE association to {called} was not accepted")
    try:
        for ds in datasets:
            status = assoc.send_c_store(ds)
            if getattr(status, "Status", None) != 0:
                raise RuntimeError(f"C-STORE to {called} answered {status}")
    finally:
        assoc.release()
    return perf_counter() - started


def consilium_ingest(server: Consilium, phantom: Phantom) -> tuple[float, list[dict]]:
    """Seconds to upload the series in browser-sized batches, and the per-file results."""
    client = server.client
    batches = []
    for start in range(0, len(phantom.data), UPLOAD_BATCH):
        files = list(
            zip(
                phantom.names[start : start + UPLOAD_BATCH],
                phantom.data[start : start + UPLOAD_BATCH],
                strict=True,
            )
        )
        batches.append(files)
    results: list[dict] = []
    started = perf_counter()
    for files in batches:
        body, content_type = multipart_related(files)
        status, answer = client.fetch(
            "POST",
            f"/cases/{server.case}/imaging/",
            body,
            {
                "Content-Type": content_type,
                "Accept": "application/json",
                # The CSRF token rotates at login, so each request takes the current cookie.
                "X-CSRFToken": client.cookies.get("csrftoken", ""),
            },
        )
        if status != 200:
            raise RuntimeError(f"upload answered HTTP {status}: {answer[:300]!r}")
        results.extend(json.loads(answer)["results"])
    elapsed = perf_counter() - started
    refused = [r for r in results if r["status"] != "stored"]
    if refused:
        raise RuntimeError(f"{len(refused)} files not stored, e.g. {refused[0]}")
    return elapsed, results


def consilium_manifest(server: Consilium, series: str) -> tuple[float, dict]:
    started = perf_counter()
    status, body = server.client.fetch("GET", f"/cases/{server.case}/series/{series}/")
    elapsed = perf_counter() - started
    if status != 200:
        raise RuntimeError(f"manifest answered HTTP {status}")
    return elapsed, json.loads(body)


def consilium_first_frame(server: Consilium, series: str, first: int) -> float:
    """Seconds from sending the stream request to holding the whole first record.

    On a connection of its own, closed after that record, so the rest of the stream is
    not read; the server stops when it sees the disconnect.
    """
    conn = server.client.connect()
    try:
        started = perf_counter()
        conn.request(
            "GET",
            f"/cases/{server.case}/series/{series}/frames/?first={first}",
            headers=server.client.headers(),
        )
        response = conn.getresponse()
        if response.status != 200:
            raise RuntimeError(f"stream answered HTTP {response.status}")
        position, _ = next(stream_records(response))
        elapsed = perf_counter() - started
    finally:
        conn.close()
    if position != first:
        raise RuntimeError(f"the stream began at slice {position}, not {first}")
    return elapsed


def consilium_series(server: Consilium, series: str, first: int, phantom: Phantom) -> float:
    """Seconds to receive every frame of the series through the stream, as the viewer does."""
    started = perf_counter()
    response = server.client.send(
        "GET", f"/cases/{server.case}/series/{series}/frames/?first={first}"
    )
    if response.status != 200:
        raise RuntimeError(f"stream answered HTTP {response.status}")
    seen = set()
    for position, length in stream_records(response):
        if length != phantom.frame_bytes:
            raise RuntimeError(f"slice {position} has {length} bytes")
        seen.add(position)
    elapsed = perf_counter() - started
    if response.will_close:
        server.client.close()
    if seen != set(range(len(phantom.data))):
        raise RuntimeError(f"the stream held {len(seen)} of {len(phantom.data)} slices")
    return elapsed


def consilium_rendered(server: Consilium, instance: str) -> tuple[float, bytes]:
    started = perf_counter()
    status, body = server.client.fetch(
        "GET",
        f"/cases/{server.case}/instances/{instance}/frames/0/rendered"
        f"?wc={WINDOW[0]}&ww={WINDOW[1]}",
    )
    elapsed = perf_counter() - started
    if status != 200 or not body.startswith(b"\x89PNG"):
        raise RuntimeError(f"rendered answered HTTP {status}")
    return elapsed, body


# --- measurements: Orthanc ----------------------------------------------------------------

FRAME_ACCEPT = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'


def orthanc_ingest(server: Orthanc, phantom: Phantom) -> tuple[float, list[str]]:
    ids = []
    started = perf_counter()
    for data in phantom.data:
        status, answer = server.client.fetch(
            "POST", "/instances", data, {"Content-Type": "application/dicom"}
        )
        if status != 200:
            raise RuntimeError(f"Orthanc answered HTTP {status}: {answer[:300]!r}")
        ids.append(json.loads(answer)["ID"])
    return perf_counter() - started, ids


def orthanc_frame_path(phantom: Phantom, index: int) -> str:
    return (
        f"/dicom-web/studies/{phantom.study_uid}/series/{phantom.series_uid}"
        f"/instances/{phantom.sop_uids[index]}/frames/1"
    )


def orthanc_get_frame(client: Client, phantom: Phantom, index: int) -> None:
    status, body = client.fetch(
        "GET", orthanc_frame_path(phantom, index), headers={"Accept": FRAME_ACCEPT}
    )
    if status != 200 or len(body) < phantom.frame_bytes:
        raise RuntimeError(f"Orthanc frame answered HTTP {status} with {len(body)} bytes")


def orthanc_metadata(server: Orthanc, phantom: Phantom) -> float:
    started = perf_counter()
    status, body = server.client.fetch(
        "GET",
        f"/dicom-web/studies/{phantom.study_uid}/series/{phantom.series_uid}/metadata",
        headers={"Accept": "application/dicom+json"},
    )
    elapsed = perf_counter() - started
    if status != 200 or len(json.loads(body)) != len(phantom.data):
        raise RuntimeError(f"Orthanc metadata answered HTTP {status}")
    return elapsed


def orthanc_first_frame(server: Orthanc, phantom: Phantom, index: int) -> float:
    """Seconds for one WADO-RS frame on a fresh connection, as for Consilium's stream."""
    conn = server.client.connect()
    try:
        started = perf_counter()
        conn.request("GET", orthanc_frame_path(phantom, index), headers={"Accept": FRAME_ACCEPT})
        response = conn.getresponse()
        body = response.read()
        elapsed = perf_counter() - started
    finally:
        conn.close()
    if response.status != 200 or len(body) < phantom.frame_bytes:
        raise RuntimeError(f"Orthanc frame answered HTTP {response.status}")
    return elapsed


def orthanc_series(server: Orthanc, phantom: Phantom, order: list[int]) -> float:
    """Seconds to fetch every frame with one WADO-RS request per instance, six at a time."""
    todo: queue.Queue[int] = queue.Queue()
    for index in order:
        todo.put(index)
    errors: list[BaseException] = []

    def worker() -> None:
        client = Client(server.client.port)
        try:
            while True:
                try:
                    index = todo.get_nowait()
                except queue.Empty:
                    return
                orthanc_get_frame(client, phantom, index)
        except BaseException as exc:  # reported by the caller
            errors.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=worker) for _ in range(BROWSER_CONNECTIONS)]
    started = perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = perf_counter() - started
    if errors:
        raise errors[0]
    return elapsed


def orthanc_rendered(server: Orthanc, instance: str) -> tuple[float, bytes]:
    started = perf_counter()
    status, body = server.client.fetch(
        "GET",
        f"/instances/{instance}/frames/0/rendered"
        f"?window-center={WINDOW[0]}&window-width={WINDOW[1]}",
        headers={"Accept": "image/png"},
    )
    elapsed = perf_counter() - started
    if status != 200 or not body.startswith(b"\x89PNG"):
        raise RuntimeError(f"Orthanc rendered answered HTTP {status}")
    return elapsed, body


# --- the run ------------------------------------------------------------------------------


def grey_difference(png: bytes, other: bytes) -> int | None:
    """The largest pixel difference between two PNGs (None if their shapes differ), to show
    that both servers drew the same picture."""
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(png)) as a, Image.open(io.BytesIO(other)) as b:
        if a.mode != b.mode or a.size != b.size:
            return None
        return int(np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16)).max())


def outward(first: int, count: int) -> list[int]:
    """The viewer's order: the slice looked at, then its neighbours either side."""
    order = [first]
    for step in range(1, count):
        order.extend(i for i in (first + step, first - step) if 0 <= i < count)
    return order


def first_frame_slices(count: int) -> list[int]:
    # Far apart, so the few frames a closed stream decodes past its first never serve a
    # later run (and off the exact middles, where a thumbnail would have read).
    runs = min(FIRST_FRAME_RUNS, count)
    return sorted({min(count * (2 * i + 1) // (2 * runs) + 1, count - 1) for i in range(runs)})


def flush_disk_cache() -> None:
    """Write dirty pages back now, so a timed run is not throttled by earlier writes."""
    os.sync()
    time.sleep(0.5)


def settle() -> None:
    """Let a server finish work left over from a closed stream before the next figure."""
    time.sleep(0.3)


def measure(args: argparse.Namespace, tmp: Path, orthanc_note: str | None) -> dict:
    info: dict = {"orthanc_note": orthanc_note}
    log(f"writing the phantom: {args.slices} slices of {args.size}x{args.size}")
    phantom = make_phantom(tmp / "phantom", slices=args.slices, size=args.size)
    tiny = make_phantom(tmp / "warm-up", slices=2, size=64, seed=11)
    warm_batch = make_phantom(
        tmp / "warm-up-batch", slices=min(UPLOAD_BATCH, args.slices), size=args.size, seed=13
    )
    # Another series of the same size for C-STORE (the first is already in both servers).
    pushed = make_phantom(tmp / "c-store", slices=args.slices, size=args.size, seed=17)
    pushed_warm = make_phantom(tmp / "c-store-warm", slices=2, size=64, seed=19)
    ours, theirs = Figures(), Figures()
    info.update(phantom=phantom, ours=ours, theirs=theirs)

    consilium = orthanc = None
    try:
        log("starting Consilium (migrate, setup, Daphne)")
        consilium = start_consilium(tmp, secrets.token_urlsafe(16))
        info["deidentify"] = consilium.deidentify
        if orthanc_note is None:
            log("starting Orthanc")
            try:
                orthanc = start_orthanc(tmp)
            except RuntimeError as exc:
                log(str(exc))
                info["orthanc_note"] = f"Orthanc did not start ({str(exc).splitlines()[0]})"
        if orthanc is not None:
            info["orthanc_version"] = orthanc.version
            info["dicomweb_version"] = orthanc.dicomweb
            if orthanc.dicomweb is None:
                info["dicomweb_note"] = "the DICOMweb plugin was not found"
        frames = orthanc is not None and orthanc.dicomweb is not None

        # Warm-up, untimed: a tiny series through every request below, so that "cold"
        # means data never read, not code never imported; and one upload batch of another
        # full-size series through both ingests, so the rate is a running server's, not
        # that of a process's first large request.
        log("warm-up")
        consilium_ingest(consilium, warm_batch)
        if orthanc:
            orthanc_ingest(orthanc, warm_batch)
        tiny_results = consilium_ingest(consilium, tiny)[1]
        tiny_series = tiny_results[0]["series"]
        consilium_manifest(consilium, tiny_series)
        consilium_first_frame(consilium, tiny_series, 0)
        consilium_series(consilium, tiny_series, 0, tiny)
        for result in tiny_results:
            consilium_rendered(consilium, result["instance"])
        if orthanc:
            for instance in orthanc_ingest(orthanc, tiny)[1]:
                orthanc_rendered(orthanc, instance)
        if frames:
            orthanc_metadata(orthanc, tiny)
            orthanc_first_frame(orthanc, tiny, 0)
            orthanc_series(orthanc, tiny, [0, 1])

        # 1. Ingest. Both servers write ~100 MB: the disk cache is flushed before each, so
        # neither pays for writing back what the other (or the phantom) left in it.
        log("ingest")
        flush_disk_cache()
        seconds, results = consilium_ingest(consilium, phantom)
        ours.ingest_per_s = len(phantom.data) / seconds
        if orthanc:
            flush_disk_cache()
            seconds, orthanc_ids = orthanc_ingest(orthanc, phantom)
            theirs.ingest_per_s = len(phantom.data) / seconds
        series = results[0]["series"]
        file_of = {r["instance"]: phantom.names.index(r["name"]) for r in results}

        # The manifest's spatial order names the slices; Orthanc is asked for the same ones.
        _, manifest = consilium_manifest(consilium, series)
        uuid_at = [instance["uuid"] for instance in manifest["instances"]]
        file_at = [file_of[uuid] for uuid in uuid_at]

        # 1b. C-STORE of another series of the same size: into Consilium's inbox (checked as
        # an upload is, stored identified), and into Orthanc.
        log("C-STORE")
        cstore(consilium.dicom_port, "BENCH_MDT", pushed_warm)
        if orthanc:
            cstore(orthanc.dicom_port, "ORTHANC", pushed_warm)
        flush_disk_cache()
        ours.cstore_per_s = len(pushed.data) / cstore(consilium.dicom_port, "BENCH_MDT", pushed)
        if orthanc:
            flush_disk_cache()
            seconds = cstore(orthanc.dicom_port, "ORTHANC", pushed)
            theirs.cstore_per_s = len(pushed.data) / seconds

        # 2. First frame, cold: slices nobody has read yet.
        log("first frame")
        for position in first_frame_slices(len(file_at)):
            seconds, _ = consilium_manifest(consilium, series)
            ours.manifest_ms.append(seconds * 1000)
            ours.first_frame_ms.append(consilium_first_frame(consilium, series, position) * 1000)
            settle()
            if frames:
                theirs.manifest_ms.append(orthanc_metadata(orthanc, phantom) * 1000)
                seconds = orthanc_first_frame(orthanc, phantom, file_at[position])
                theirs.first_frame_ms.append(seconds * 1000)

        # 3. The whole series: the first full read (cold), then warm.
        log("whole series")
        middle = len(file_at) // 2
        order = [file_at[position] for position in outward(middle, len(file_at))]
        for run in range(1 + WARM_SERIES_RUNS):
            seconds = consilium_series(consilium, series, middle, phantom)
            if run == 0:
                ours.series_cold_s = seconds
            else:
                ours.series_warm_s.append(seconds)
            if frames:
                seconds = orthanc_series(orthanc, phantom, order)
                if run == 0:
                    theirs.series_cold_s = seconds
                else:
                    theirs.series_warm_s.append(seconds)

        # 4. Rendered PNG: one request per instance, spread over the series.
        log("rendered PNG")
        count = min(RENDERED_REQUESTS, len(uuid_at))
        for i in range(count):
            position = round(i * (len(uuid_at) - 1) / max(count - 1, 1))
            seconds, png = consilium_rendered(consilium, uuid_at[position])
            ours.rendered_ms.append(seconds * 1000)
            ours.rendered_bytes.append(len(png))
            if orthanc:
                seconds, their_png = orthanc_rendered(orthanc, orthanc_ids[file_at[position]])
                theirs.rendered_ms.append(seconds * 1000)
                theirs.rendered_bytes.append(len(their_png))
                info.setdefault("grey_differences", []).append(grey_difference(png, their_png))
    except Exception:
        show_logs(consilium, orthanc)
        raise
    finally:
        for server in (consilium, orthanc):
            if server is not None:
                server.client.close()
                stop(server.process)
    return info


def show_logs(*servers: Consilium | Orthanc | None) -> None:
    """The end of each server's log, on stderr, before the temporary files go."""
    for server in servers:
        if server is not None and server.log.exists():
            log(f"--- {server.log.name} (last lines)\n{server.log.read_text()[-3000:]}")


# --- the report ---------------------------------------------------------------------------


def number(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def ratio(ours: float | None, theirs: float | None) -> str:
    return "—" if ours is None or not theirs else f"{ours / theirs:.2f}"


def verdict(ok: bool | None) -> str:
    return "" if ok is None else ("met" if ok else "NOT met")


def med(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def p95(values: list[float]) -> float | None:
    """Nearest rank: with 30 samples, the second slowest."""
    if not values:
        return None
    ranked = sorted(values)
    return ranked[max(math.ceil(0.95 * len(ranked)) - 1, 0)]


def methods(info: dict) -> list[str]:
    ours: Figures = info["ours"]
    theirs: Figures = info["theirs"]
    deid = "ON" if info.get("deidentify") else "OFF"
    png, identical = f"{med(ours.rendered_bytes) or 0:,.0f} B", ""
    if theirs.rendered_bytes:
        png += f" vs {med(theirs.rendered_bytes):,.0f} B"
        differences = info.get("grey_differences", [])
        identical = (
            f"; the two servers' images differ by at most {max(differences)} grey levels"
            if None not in differences
            else "; the two servers' images differ in size or mode"
        )
    return [
        "All requests from one client process: Python http.client, keep-alive, TCP_NODELAY, "
        "the same code against both servers. Consilium: Daphne, DEBUG=0, SQLite, fresh "
        "database; Orthanc: its defaults (SQLite index, file storage), fresh directories. "
        "A 2-slice series went through every request below first, and an upload batch of "
        "another full-size series through both ingests, untimed.",
        "1 Consilium: POST /cases/<c>/imaging/, multipart/related, "
        f"{UPLOAD_BATCH} files a request as the browser sends them, Accept: application/json, "
        f"de-identification {deid} (the series thumbnail is made when first asked for, "
        "not during the upload); Orthanc: POST /instances, "
        "one file a request, stored as sent. Both on one connection, one request at a time.",
        "1b Another series of the same size sent by C-STORE, pynetdicom as the SCU (the same "
        "client for both), one association, Explicit VR Little Endian, one file at a time. "
        "Consilium: the listener in Daphne's process (as `make run` has it), checked as an "
        "upload and stored identified in the board's inbox; Orthanc: its C-STORE SCP with its "
        "defaults, stored as sent. Orthanc's rate here is far below its HTTP ingest: its SCP "
        "may pay a delayed ACK per file (not investigated).",
        "2 Consilium: GET /cases/<c>/series/<s>/ (the manifest), then on a fresh connection "
        "GET .../frames/?first=K until the first record is whole, and close. Orthanc, as OHIF: "
        "GET /dicom-web/studies/<st>/series/<se>/metadata, then on a fresh connection "
        "GET .../instances/<K>/frames/1 (octet-stream, transfer-syntax=*). K: slices far "
        f"apart that no one has read, {len(ours.first_frame_ms)} runs.",
        "3 Consilium: one streamed GET .../frames/?first=<middle> read to its end, as the "
        "viewer does. Orthanc: one WADO-RS GET .../instances/<i>/frames/1 per instance, middle "
        f"outwards, over {BROWSER_CONNECTIONS} parallel keep-alive connections as a browser "
        "gives OHIF. Cold = the first full read after the upload: before it, only the slices "
        "of row 2 were read (and Orthanc had answered the series metadata); warm = the reads "
        "after it.",
        f"4 Consilium: GET .../instances/<i>/frames/0/rendered?wc={WINDOW[0]}&ww={WINDOW[1]}; "
        f"Orthanc: GET /instances/<id>/frames/0/rendered?window-center={WINDOW[0]}"
        f"&window-width={WINDOW[1]}. {len(ours.rendered_ms)} different instances across the "
        f"series, after the series reads, one at a time. Median PNG: {png}{identical}.",
        "JSON: first_frame_ms is the cold median of row 2; series_s and orthanc_series_s are "
        "the warm medians of row 3; the PNG figures are medians.",
    ]


def report(info: dict) -> dict:
    phantom: Phantom = info["phantom"]
    ours: Figures = info["ours"]
    theirs: Figures = info["theirs"]
    have_orthanc = theirs.ingest_per_s is not None
    have_frames = bool(theirs.series_warm_s)
    first_ms, warm_s = med(ours.first_frame_ms), med(ours.series_warm_s)
    ingest_ok = ours.ingest_per_s >= theirs.ingest_per_s if have_orthanc else None
    cstore_ok = ours.cstore_per_s >= theirs.cstore_per_s if have_orthanc else None
    cold_ok = ours.series_cold_s <= theirs.series_cold_s if have_frames else None
    warm_ok = warm_s <= med(theirs.series_warm_s) if have_frames else None
    first_ok = first_ms <= FIRST_FRAME_TARGET_MS
    runs, renders = len(ours.first_frame_ms), len(ours.rendered_ms)
    rows = [
        ("1 ingest (instances/s)", ours.ingest_per_s, theirs.ingest_per_s, 1,
         "≥ Orthanc", verdict(ingest_ok)),
        ("1b C-STORE ingest (instances/s, pynetdicom SCU)", ours.cstore_per_s,
         theirs.cstore_per_s, 1, "≥ Orthanc", verdict(cstore_ok)),
        (f"2 manifest | series metadata (ms, median of {runs})", med(ours.manifest_ms),
         med(theirs.manifest_ms), 1, "", ""),
        (f"2 first frame, cold (ms, median of {runs})", first_ms,
         med(theirs.first_frame_ms), 1, f"≤ {FIRST_FRAME_TARGET_MS} ms", verdict(first_ok)),
        (f"2 first frame, cold (ms, worst of {runs})", max(ours.first_frame_ms),
         max(theirs.first_frame_ms, default=None), 1, "", ""),
        ("3 whole series, cold (s, first read)", ours.series_cold_s, theirs.series_cold_s, 3,
         "≤ Orthanc", verdict(cold_ok)),
        (f"3 whole series, warm (s, median of {WARM_SERIES_RUNS})", warm_s,
         med(theirs.series_warm_s), 3, "≤ Orthanc", verdict(warm_ok)),
        (f"4 rendered PNG (ms, median of {renders})", med(ours.rendered_ms),
         med(theirs.rendered_ms), 1, "", ""),
        (f"4 rendered PNG (ms, p95 of {renders})", p95(ours.rendered_ms),
         p95(theirs.rendered_ms), 1, "", ""),
    ]  # fmt: skip

    peer = "Orthanc (skipped)"
    if have_orthanc:
        peer = f"Orthanc {info['orthanc_version']}, DICOMweb plugin {info['dicomweb_version']}"
    size_mib = sum(len(d) for d in phantom.data) / 2**20
    print()
    print(f"Imaging: Consilium beside {peer}; same phantom, same machine, same run")
    print(
        f"Phantom: CT, {len(phantom.data)} slices of {phantom.rows}x{phantom.columns}, "
        f"16-bit, {size_mib:.1f} MiB. Machine: {os.cpu_count()} CPUs, {platform.machine()}, "
        f"Python {platform.python_version()}."
    )
    if info.get("orthanc_note"):
        print(f"Orthanc column skipped: {info['orthanc_note']}.")
    elif info.get("dicomweb_note"):
        print(f"Orthanc rows 2 and 3 skipped: {info['dicomweb_note']}.")
    print("ratio = Consilium / Orthanc: for a rate above 1 is better, for a time below 1.")
    print()
    widths = (50, 10, 10, 6, 10, 7)

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            f"{c:<{w}}" if i == 0 else f"{c:>{w}}"
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    print(line(("measure", "Consilium", "Orthanc", "ratio", "target", "")))
    print("-" * (sum(widths) + 2 * (len(widths) - 1)))
    for label, a, b, digits, target, ok in rows:
        print(line((label, number(a, digits), number(b, digits), ratio(a, b), target, ok)))
    print()
    for paragraph in methods(info):
        print(textwrap.fill(paragraph, 100, subsequent_indent="  ", break_on_hyphens=False))
    print()

    def rounded(value: float | None, digits: int) -> float | None:
        return None if value is None else round(value, digits)

    return {
        "ingest_per_s": rounded(ours.ingest_per_s, 2),
        "orthanc_ingest_per_s": rounded(theirs.ingest_per_s, 2),
        "cstore_per_s": rounded(ours.cstore_per_s, 2),
        "orthanc_cstore_per_s": rounded(theirs.cstore_per_s, 2),
        "first_frame_ms": rounded(first_ms, 2),
        "series_s": rounded(warm_s, 3),
        "orthanc_series_s": rounded(med(theirs.series_warm_s), 3),
        "rendered_png_ms": rounded(med(ours.rendered_ms), 2),
        "orthanc_rendered_png_ms": rounded(med(theirs.rendered_ms), 2),
    }


# --- entry point --------------------------------------------------------------------------


def unshare_net() -> list[str]:
    # Without root, a user namespace maps us to root inside, which may create the network one.
    return ["unshare", "--net"] + (["--map-root-user"] if os.geteuid() != 0 else [])


def namespace_problem() -> str | None:
    """Why a private network namespace cannot be had here, or None if it can."""
    if shutil.which("unshare") is None:
        return "unshare is not installed"
    try:
        probe = subprocess.run(
            [*unshare_net(), "--", "sh", "-c", "ip link set lo up"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare --net failed ({exc})"
    if probe.returncode != 0:
        return f"unshare --net failed: {probe.stderr.strip() or probe.returncode}"
    return None


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=200, help="slices in the phantom")
    parser.add_argument("--size", type=int, default=512, help="rows and columns")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-orthanc", metavar="REASON", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.slices < 2:
        raise SystemExit("--slices must be at least 2")
    orthanc_note = args.no_orthanc
    if not args.inside and orthanc_note is None:
        if not ORTHANC.exists():
            orthanc_note = (
                f"{ORTHANC} is missing (Debian: apt-get install orthanc orthanc-dicomweb)"
            )
        else:
            problem = namespace_problem()
            if problem is None:
                # Orthanc binds every interface: run everything where only loopback exists.
                script = [sys.executable, str(Path(__file__).resolve()), "--inside", *argv]
                command = "ip link set lo up && exec " + shlex.join(script)
                sys.stdout.flush()
                try:
                    os.execvp("unshare", [*unshare_net(), "--", "sh", "-c", command])  # noqa: S606
                except OSError as exc:
                    problem = f"unshare could not be run ({exc})"
            orthanc_note = f"{problem}; Orthanc listens on every interface, so it is not run"

    def bounded(signum, frame):
        raise TimeoutError(f"the benchmark ran over {RUN_BOUND_S} s and was stopped")

    signal.signal(signal.SIGALRM, bounded)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    signal.alarm(RUN_BOUND_S)
    tmp = Path(tempfile.mkdtemp(prefix="consilium-bench-"))
    started = time.monotonic()
    try:
        info = measure(args, tmp, orthanc_note)
    finally:
        signal.alarm(0)
        shutil.rmtree(tmp, ignore_errors=True)
    figures = report(info)
    print(f"({time.monotonic() - started:.0f} s in all)")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Orthanc pushes one DICOM file to a Consilium case by STOW-RS; run inside ``unshare --net``.

    python tests/e2e/orthanc_stow_peer.py CONFIG.json

Orthanc listens on every interface and cannot be told to listen on loopback only, so it
runs (with the Daphne it pushes to) in a private network namespace where only loopback
exists; tests/e2e/test_orthanc_stow.py starts this script there. CONFIG names the case,
the API token, the DICOM file, a scratch folder and the server's environment. The script
prints one JSON line: Orthanc's answer to its STOW-RS job and the boundary it sent.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ORTHANC = "/usr/sbin/Orthanc"
SERVE = [sys.executable, "-m", "board.serve", "-b", "127.0.0.1"]
PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(port: int, method: str, path: str, body: bytes | None = None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_for(port: int, path: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited: {log.read_text()[-2000:]}")
        try:
            if request(port, "GET", path)[0] == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"no answer on {path}: {log.read_text()[-2000:]}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


class Recorder(BaseHTTPRequestHandler):
    """Keeps the Content-Type of what Orthanc sends: the boundary it chose."""

    seen: list[str] = []

    def do_POST(self):
        self.seen.append(self.headers.get("Content-Type", ""))
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/dicom+json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def main(config_path: str) -> int:
    config = json.loads(Path(config_path).read_text())
    tmp = Path(config["tmp"])
    daphne_port, orthanc_port = free_port(), free_port()
    recorder = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=recorder.serve_forever, daemon=True).start()
    daphne_log, orthanc_log = tmp / "daphne.log", tmp / "orthanc.log"
    daphne = subprocess.Popen(
        [*SERVE, "-p", str(daphne_port), "board.asgi:application"],
        cwd=ROOT,
        env={**os.environ, **config["env"]},
        stdout=daphne_log.open("w"),
        stderr=subprocess.STDOUT,
    )
    orthanc_config = {
        "Name": "consilium-test",
        "StorageDirectory": str(tmp / "orthanc-storage"),
        "IndexDirectory": str(tmp / "orthanc-index"),
        "HttpPort": orthanc_port,
        "DicomServerEnabled": False,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "SaveJobs": False,
        "Plugins": [PLUGIN],
        "DicomWeb": {
            "Enable": True,
            "Root": "/dicom-web/",
            "Servers": {
                "consilium": {
                    "Url": f"http://127.0.0.1:{daphne_port}/dicomweb/cases/{config['case']}/",
                    "HttpHeaders": {"Authorization": f"Bearer {config['token']}"},
                },
                "recorder": {"Url": f"http://127.0.0.1:{recorder.server_port}/"},
            },
        },
    }
    (tmp / "orthanc.json").write_text(json.dumps(orthanc_config))
    orthanc = subprocess.Popen(
        [ORTHANC, str(tmp / "orthanc.json")],
        stdout=orthanc_log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(daphne_port, "/healthz", daphne, daphne_log)
        wait_for(orthanc_port, "/system", orthanc, orthanc_log)
        status, body = request(
            orthanc_port, "POST", "/instances", Path(config["dicom"]).read_bytes()
        )
        assert status == 200, body
        instance = json.loads(body)["ID"]
        job = json.dumps({"Resources": [instance], "Synchronous": True}).encode()
        request(orthanc_port, "POST", "/dicom-web/servers/recorder/stow", job)
        status, body = request(orthanc_port, "POST", "/dicom-web/servers/consilium/stow", job)
        print(
            json.dumps(
                {
                    "status": status,
                    "answer": body.decode("utf-8", "replace")[:2000],
                    "content_types": Recorder.seen,
                    "daphne_log": daphne_log.read_text()[-3000:],
                }
            )
        )
    finally:
        stop(orthanc)
        stop(daphne)
        recorder.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

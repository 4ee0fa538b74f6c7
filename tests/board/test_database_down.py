"""The database unreachable: 503 with Retry-After and a short page, one log line per failure.

Each test runs a fresh process whose DATABASE_URL points at a closed port (nothing listens on
port 1), with and without the connection pool; requests go through Django's full handler
(middleware, handler500, logging) as a server's would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLOSED = "postgres://consilium@127.0.0.1:1/consilium"

PROBE = r"""
import json, sys
import django
django.setup()
from django.test import Client

client = Client(raise_request_exception=False)
answers = []
def ask(name, path):
    r = client.get(path)
    answers.append({"name": name, "status": r.status_code, "retry": r.get("Retry-After"),
                    "body": r.content.decode()})
ask("healthz", "/healthz")
ask("login", "/accounts/login/")
client.cookies["sessionid"] = "a" * 32  # a signed-in browser: the session is in the database
ask("healthz_cookie", "/healthz")
ask("home_cookie", "/")
print(json.dumps(answers))
"""


def probe(tmp_path: Path, pool_size: str) -> tuple[dict, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    for name in ("CONSILIUM_PRODUCTION", "LOG_LEVEL"):
        env.pop(name, None)
    env.update(
        DEBUG="0",  # as deployed: DEBUG=1 shows Django's debug page instead of handler500
        DJANGO_SETTINGS_MODULE="board.settings",
        CONSILIUM_VAR_DIR=str(tmp_path),
        DATABASE_URL=CLOSED,
        DATABASE_POOL_SIZE=pool_size,
        DATABASE_POOL_TIMEOUT="1",
    )
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return {a["name"]: a for a in json.loads(done.stdout)}, done.stderr


@pytest.mark.parametrize("pool_size", ["0", "2"], ids=["unpooled", "pooled"])
def test_database_down_answers_503_for_everyone_with_one_line_each(tmp_path, pool_size):
    answers, log = probe(tmp_path, pool_size)
    for name in ("healthz", "healthz_cookie", "home_cookie"):
        assert answers[name]["status"] == 503, (name, log)
        assert answers[name]["retry"] == "10"
    assert json.loads(answers["healthz"]["body"]) == {"status": "unavailable"}
    page = answers["home_cookie"]["body"]
    assert "Consilium is briefly unavailable" in page
    assert len(page) < 4000  # a short page, no traceback, nothing of the app's
    assert "Traceback" not in log
    # The sign-in page needs no database until the form is sent.
    assert answers["login"]["status"] == 200
    failures = [line for line in log.splitlines() if "database unavailable" in line]
    # healthz, healthz with a session, the home page with a session: one line each.
    assert len(failures) == 3, log
    cause = "Connection refused" if pool_size == "0" else "couldn't get a connection"
    assert all(cause in line for line in failures), log
    # Every line of the log is a record of its own (psycopg's pool writes two-line warnings).
    assert all(re.match(r"\d{4}-\d\d-\d\d ", line) for line in log.splitlines()), log

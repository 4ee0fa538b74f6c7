"""Live-session latency, presenter to followers: Consilium beside a bare broadcast server.

    make bench-sync                      # or .venv/bin/python bench/sync.py
    make bench-sync BENCH_ARGS="--followers 10,50 --seconds 3"
    REDIS_URL=redis://127.0.0.1:6379/13 make bench-sync

Consilium runs as a real Daphne process (`python -m board.serve`), its channel layer on
Redis when REDIS_URL is set (in memory otherwise), its database the PostgreSQL named by
DATABASE_URL or else a throw-away SQLite file. For each number of followers the benchmark
logs them in as board members (real sessions, sent as the session cookie), the chair takes
the presenter role and sends its full viewer state --rate times a second for --seconds,
and every follower notes when each state arrives. The state carries the message's index
(viewports[0].slice), so a follower knows which one it got; latency is its arrival time
minus the time that message was sent, both read from one clock in this one process.

Before each Consilium round the same client drives the floor, bench/sync_floor.py: a bare
`websockets` server that relays each presenter message to every follower with
`websockets.broadcast`. The floor's row is what the frames and this client cost; the gap
to Consilium's row is what Consilium adds (authorization, validation, storing the state,
the channel layer).

Both servers run pinned to one core (`taskset`), the load client to another, so the
client does not set the pace (its CPU use is in the table: near 100 % would mean it did).
After the last state the round waits for stragglers (until every follower has it, or a
second passes with nothing arriving), so a late state counts as late, not as lost. The
server may coalesce (latest state wins), so fewer than 100 % of the states delivered can
be by design; "max lag" is how many newer states had been sent when a state arrived.
The machine's other CPU use is measured too: on a shared machine it inflates everything.

Prints a table, then as its last line one JSON object with the headline figures. On
stderr: the exceptions and errors in Daphne's log, and the attendances Consilium never
closed (a socket whose departure it did not finish). --logs DIR keeps the servers' logs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import gc
import http.client
import json
import math
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from time import perf_counter

from common import free_port, log
from websockets import ClientConnection, ConnectionClosed, InvalidStatus, WebSocketException
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
# Run as `python bench/sync.py`, sys.path starts at bench/: the project and tests.cast
# live at the repository root.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FLOOR = Path(__file__).resolve().with_name("sync_floor.py")
CONNECT_BATCH = 20  # followers opening their sockets at once
CONNECT_TIMEOUT_S = 15  # one socket: the handshake, then again for its first messages
CONNECT_PHASE_S = 90  # all followers; batches not started by then count as timeouts
STEP_TIMEOUT_S = 15  # the hand-off to the presenter, closing, and the like
SETTLE_S = 1.0  # quiet time between the server going idle after the joins and the first state
DRAIN_S = 1.0  # after the last state was sent, how long a quiet spell ends the round
DRAIN_MAX_S = 10.0  # and how long stragglers get at most
SERVER_START_S = 60
SETUP_S = 300  # migrate, users and meetings, both servers up
BUSY_MACHINE_PCT = 20  # CPU (% of a core) taken by other processes that makes a run suspect
STATE_TYPES = frozenset({"live.state", "viewer.state"})  # Consilium's, and the floor's relay
# Settings a developer's shell may carry that would point the server elsewhere. REDIS_URL
# and a PostgreSQL DATABASE_URL are honoured: they are what the benchmark is asked to use.
FOREIGN_ENV = (
    "CONSILIUM_PRODUCTION",
    "CONSILIUM_VAR_DIR",
    "MEDIA_ROOT",
    "STATIC_ROOT",
    "SECRET_KEY",
    "REDIS_PREFIX",
    "DEBUG",
    "LOG_LEVEL",
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)
# In a server's log: the last line of a traceback, or a record logged as a warning or worse.
EXCEPTION_LINE = re.compile(r"^[\w.]+(Error|Exception|Warning)\b")
LOGGED_PROBLEM = re.compile(r"\b(WARNING|ERROR|CRITICAL) .*")
POSTGRES_SCHEMES = ("postgres://", "postgresql://", "pgsql://")


# --- the viewer state -----------------------------------------------------------------------


def viewport(slice_: int) -> dict:
    return {
        "series": None,
        "slice": slice_,
        "center": 40,
        "width": 400,
        "preset": None,
        "invert": False,
        "zoom": 1.0,
        "pan": [0.0, 0.0],
        "rotation": 0,
        "flipH": False,
        "flipV": False,
    }


def viewer_state(index: int) -> dict:
    """The browser viewer's full state (static/js/viewer/viewer.js), message index inside."""
    return {"layout": "1x1", "active": 0, "viewports": [viewport(index)] + [viewport(0)] * 3}


def encode(message: dict) -> str:
    return json.dumps(message, separators=(",", ":"))


# --- the servers ----------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    port: int
    log: Path

    def cpu_seconds(self) -> float | None:
        """User plus system time of the process (all its threads) so far."""
        try:
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        except OSError:
            return None
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": field 3 is fields[0]
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def problems(self) -> Counter:
        """What went wrong in its log: each exception's last line and each logged error."""
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return Counter()
        found: Counter = Counter()
        for line in lines:
            if EXCEPTION_LINE.match(line):
                found[line[:160]] += 1
            elif logged := LOGGED_PROBLEM.search(line):
                found[logged[0][:160]] += 1
        return found

    def tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return ""


def die_with_parent() -> None:
    """In the child before exec: SIGTERM when the benchmark goes, however it goes (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def spawn(
    name: str, command: list[str], core: int | None, tmp: Path, env: dict[str, str]
) -> Server:
    logfile = tmp / f"{name}.log"
    pin = ["taskset", "-c", str(core)] if core is not None else []
    with logfile.open("w") as out:
        process = subprocess.Popen(
            [*pin, *command],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,  # safe: this process starts no threads of its own
        )
    return Server(name, process, 0, logfile)


def wait_until_up(server: Server, http_path: str | None) -> None:
    """The server answers: GET http_path is 200, or (without a path) it accepts TCP."""
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with status {server.process.returncode}\n{server.tail()}"
            )
        try:
            if http_path is None:
                socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
                return
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
            try:
                conn.request("GET", http_path)
                if conn.getresponse().status == 200:
                    return
            finally:
                conn.close()
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{server.name} did not answer in {SERVER_START_S} s\n{server.tail()}")


def stop(server: Server | None) -> None:
    if server is None or server.process.poll() is not None:
        return
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=5)


def start_consilium(core: int | None, tmp: Path, env: dict[str, str]) -> Server:
    port = free_port()
    command = [sys.executable, "-m", "board.serve", "-b", "127.0.0.1", "-p", str(port)]
    server = spawn("daphne", [*command, "board.asgi:application"], core, tmp, env)
    server.port = port
    try:
        wait_until_up(server, "/healthz")
    except BaseException:
        stop(server)
        raise
    return server


def start_floor(core: int | None, tmp: Path, env: dict[str, str], lifetime: float) -> Server:
    port = free_port()
    command = [sys.executable, str(FLOOR), "--port", str(port), "--lifetime", str(lifetime)]
    server = spawn("floor", command, core, tmp, env)
    server.port = port
    try:
        wait_until_up(server, None)
    except BaseException:
        stop(server)
        raise
    return server


def bench_env(tmp: Path) -> tuple[dict[str, str], str]:
    """The environment for Consilium (server, manage.py and the ORM here); the database kind."""
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_ENV}
    database = os.environ.get("DATABASE_URL", "").strip()
    if database.startswith(POSTGRES_SCHEMES):
        kind = "PostgreSQL"
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
        kind = "SQLite (throw-away file)"
    if not env.get("REDIS_URL", "").strip():
        env.pop("REDIS_URL", None)
    env.update(
        DJANGO_SETTINGS_MODULE="board.settings",
        CONSILIUM_VAR_DIR=str(tmp / "var"),
        STATIC_ROOT=str(tmp / "static"),  # exists, so WhiteNoise has nothing to warn about
        MEDIA_ROOT=str(tmp / "media"),
        # One key for the server and this process: the sessions made here are signed with it.
        SECRET_KEY=secrets.token_urlsafe(50),
        # Own channel-layer and cache keys, so a Redis shared with anything else is not mixed in.
        REDIS_PREFIX=f"consilium-bench-sync-{secrets.token_hex(6)}",
        DEBUG="0",  # as deployed: no query log, no debug pages
        LOG_LEVEL="WARNING",
    )
    return env, kind


def migrate(env: dict[str, str]) -> None:
    try:
        done = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=SETUP_S,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"manage.py migrate ran over {SETUP_S} s") from None
    if done.returncode != 0:
        raise RuntimeError(f"manage.py migrate failed:\n{done.stderr[-3000:]}")


# --- the people: a board, its chair, its followers, one meeting per round ------------------


@dataclass
class Audience:
    chair_uuid: str
    chair_cookie: str
    follower_cookies: list[str]
    meetings: dict[int, str]  # followers -> meeting UUID
    # What to delete afterwards from a database that outlives the run.
    user_ids: list[int]
    board_id: int
    meeting_ids: list[int]
    session_keys: list[str]


def make_audience(followers: int, rounds: list[int]) -> Audience:
    """Users, memberships, meetings and logged-in sessions, straight through the ORM."""
    import django

    django.setup()
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.db import connections, transaction
    from django.utils import timezone

    from board.models import Membership
    from meetings.models import Meeting
    from tests.cast import add_member, make_board, make_user

    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    tag = f"sync{os.getpid()}"
    keys: list[str] = []

    def cookie_for(user) -> str:
        # What django.contrib.auth.login() stores, without a password round trip per user.
        store = store_class()
        store[SESSION_KEY] = user._meta.pk.value_to_string(user)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        keys.append(store.session_key)
        return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"

    with transaction.atomic():
        board = make_board(f"Sync benchmark {tag}")
        chair = make_user(f"{tag}-chair")
        add_member(chair, board, Membership.Role.CHAIR)
        people = [make_user(f"{tag}-f{i:04d}") for i in range(followers)]
        for person in people:
            add_member(person, board)
        meetings = {
            n: Meeting.objects.create(
                board=board,
                title=f"Sync benchmark, {n} followers",
                starts_at=timezone.now(),
                time_zone="UTC",
                duration_minutes=60,
                created_by=chair,
            )
            for n in rounds
        }
        audience = Audience(
            chair_uuid=str(chair.uuid),
            chair_cookie=cookie_for(chair),
            follower_cookies=[cookie_for(p) for p in people],
            meetings={n: str(m.uuid) for n, m in meetings.items()},
            user_ids=[chair.pk, *(p.pk for p in people)],
            board_id=board.pk,
            meeting_ids=[m.pk for m in meetings.values()],
            session_keys=keys,
        )
    connections.close_all()  # no connection held open (or SQLite file locked) while measuring
    return audience


def remove_audience(audience: Audience) -> None:
    """Delete what make_audience made, from a database that outlives the run."""
    from django.contrib.sessions.models import Session
    from django.db import connections

    from board.models import Board, User
    from meetings.models import Meeting

    try:
        Meeting.objects.filter(pk__in=audience.meeting_ids).delete()
        Board.objects.filter(pk=audience.board_id).delete()
        User.objects.filter(pk__in=audience.user_ids).delete()
        Session.objects.filter(session_key__in=audience.session_keys).delete()
    except Exception as exc:
        log(f"could not remove the benchmark's users and meetings: {exc}")
    finally:
        connections.close_all()


def open_attendances(audience: Audience) -> dict[int, int]:
    """Per round, the joins the server never closed: a socket's departure it did not record."""
    from django.db import connections

    from meetings.models import Attendance

    try:
        return {
            n: Attendance.objects.filter(meeting__uuid=uuid, left_at__isnull=True).count()
            for n, uuid in audience.meetings.items()
        }
    finally:
        connections.close_all()


def check_login(port: int, cookie: str) -> None:
    """A session made here is a real login: the home page answers 200, not a redirect."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=STEP_TIMEOUT_S)
    try:
        conn.request("GET", "/", headers={"Cookie": cookie})
        status = conn.getresponse().status
    finally:
        conn.close()
    if status != 200:
        raise RuntimeError(f"the benchmark's session is not logged in (GET / gave {status})")


# --- the load client ------------------------------------------------------------------------


@dataclass
class Target:
    """One server as the client sees it: where, how to log in, and how it says "ready"."""

    name: str
    server: Server
    url: str
    ready: str  # the message type after which a socket hears every broadcast
    presenter_cookie: str | None = None
    follower_cookies: list[str] | None = None
    presenter_uuid: str | None = None  # Consilium's chair, who hands the viewer to itself

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"


async def open_socket(target: Target, cookie: str | None) -> ClientConnection:
    ws = await connect(
        target.url,
        origin=target.origin,
        additional_headers={"Cookie": cookie} if cookie else None,
        # Daphne negotiates no permessage-deflate and the floor is told not to: bare frames.
        compression=None,
        open_timeout=CONNECT_TIMEOUT_S,
        ping_interval=None,  # no keep-alive traffic of our own in the measurement
        close_timeout=5,
    )
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            while json.loads(await ws.recv()).get("type") != target.ready:
                pass  # session.ready, presence: whatever comes before it
    except BaseException:
        await ws.close()
        raise
    return ws


def failure(exc: BaseException) -> str:
    if isinstance(exc, InvalidStatus):
        return f"refused (HTTP {exc.response.status_code})"
    if isinstance(exc, ConnectionClosed):
        return f"closed while connecting ({close_code(exc)})"
    if isinstance(exc, TimeoutError):
        return "connect timeout"
    return f"connect failed ({type(exc).__name__})"


def close_code(exc: ConnectionClosed) -> str:
    return str(exc.rcvd.code) if exc.rcvd is not None else "no close frame"


@dataclass
class Listener:
    """One open socket and what it heard: a follower, or the presenter hearing its echo."""

    ws: ClientConnection
    role: str = "follower"
    arrivals: list[tuple[int, float]] = field(default_factory=list)  # (index, perf_counter)
    presenter: asyncio.Event = field(default_factory=asyncio.Event)  # heard the hand-off
    newest: int = -1
    closing: bool = False  # we close it: a close from now on is expected
    task: asyncio.Task | None = None

    def start(self, errors: Counter) -> None:
        self.task = asyncio.create_task(self.listen(errors))

    async def listen(self, errors: Counter) -> None:
        try:
            async for raw in self.ws:
                now = perf_counter()  # first, before parsing: that is the arrival
                try:
                    message = json.loads(raw)
                    kind = message.get("type")
                    if kind in STATE_TYPES:
                        index = message["state"]["viewports"][0]["slice"]
                        self.arrivals.append((index, now))
                        self.newest = max(self.newest, index)
                except (ValueError, TypeError, KeyError, IndexError, AttributeError):
                    errors[f"{self.role}: unreadable message"] += 1
                    continue
                if kind == "live.presenter":
                    self.presenter.set()
                elif kind == "error":
                    errors[f"server error: {str(message.get('error'))[:60]}"] += 1
        except ConnectionClosed:
            pass
        if not self.closing:
            code = self.ws.close_code if self.ws.close_code is not None else "no close frame"
            errors[f"{self.role} closed by server ({code})"] += 1


@dataclass
class Round:
    target: str
    followers: int
    sent: list[float] = field(default_factory=list)  # perf_counter of each send
    latencies_ms: list[float] = field(default_factory=list)
    delivered: int = 0
    duplicates: int = 0
    max_lag: int = 0
    late_ms: float = 0.0  # how far the presenter's sends fell behind their schedule
    reached_none: int = 0  # states no follower received
    reached_some: int = 0  # states some followers received and others did not
    errors: Counter = field(default_factory=Counter)
    cpu: dict[str, float | None] = field(default_factory=dict)  # CpuMeter.usage, % of a core

    @property
    def delivered_pct(self) -> float | None:
        if not self.sent:
            return None
        return 100.0 * self.delivered / (len(self.sent) * self.followers)

    def percentile(self, q: float) -> float | None:
        values = sorted(self.latencies_ms)
        if not values:
            return None
        return values[max(0, math.ceil(q / 100 * len(values)) - 1)]  # nearest rank


async def connect_followers(target: Target, count: int, result: Round) -> list[Listener]:
    cookies = target.follower_cookies or [None] * count
    followers: list[Listener] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CONNECT_PHASE_S
    for start in range(0, count, CONNECT_BATCH):
        batch = cookies[start : min(count, start + CONNECT_BATCH)]
        if loop.time() > deadline:
            result.errors["connect timeout"] += len(batch)
            continue
        opened = await asyncio.gather(
            *(open_socket(target, cookie) for cookie in batch), return_exceptions=True
        )
        for ws in opened:
            if isinstance(ws, BaseException):
                result.errors[failure(ws)] += 1
                continue
            follower = Listener(ws)
            follower.start(result.errors)
            followers.append(follower)
    return followers


async def take_the_viewer(target: Target, ws: ClientConnection) -> int:
    """Consilium: the chair hands the viewer to itself; the epoch its states must carry."""
    await ws.send(encode({"type": "presenter.assign", "user": target.presenter_uuid}))
    async with asyncio.timeout(STEP_TIMEOUT_S):
        while True:
            message = json.loads(await ws.recv())
            if message.get("type") == "error":
                raise RuntimeError(f"presenter.assign refused: {message.get('error')}")
            if (
                message.get("type") == "live.presenter"
                and message.get("presenter") == target.presenter_uuid
            ):
                return message["epoch"]


def machine_busy_seconds() -> float | None:
    """CPU time spent on all cores so far, by anything (from /proc/stat; Linux)."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(x) for x in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal (guest time is already in user)
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU time over one window, as % of one core: the server's, this client's, Redis's,
    and everything else's (others sharing the machine inflate the latencies)."""

    def __init__(self, server: Server, redis_client) -> None:
        self.server = server
        self.redis = redis_client

    def _redis_cpu(self) -> float | None:
        if self.redis is None:
            return None
        try:
            info = self.redis.info("cpu")
        except Exception:
            return None
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    def sample(self) -> dict[str, float | None]:
        times = os.times()
        return {
            "wall": perf_counter(),
            "server": self.server.cpu_seconds(),
            "client": times.user + times.system,
            "redis": self._redis_cpu(),
            "machine": machine_busy_seconds(),
        }

    @staticmethod
    def usage(before: dict, after: dict) -> dict[str, float | None]:
        wall = after["wall"] - before["wall"]
        used = {}
        for key in ("server", "client", "redis", "machine"):
            start, end = before[key], after[key]
            ok = start is not None and end is not None and wall > 0
            used[key] = 100.0 * (end - start) / wall if ok else None
        if used["machine"] is not None:
            ours = sum(used[key] or 0.0 for key in ("server", "client", "redis"))
            used["other"] = max(0.0, used["machine"] - ours)
        else:
            used["other"] = None
        return used


async def quiesce(server: Server) -> None:
    """Wait (a bounded while) until the server is idle, so that the tail of the joins or
    of the last round's departures does not land in a measurement."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STEP_TIMEOUT_S
    await asyncio.sleep(0.5)
    while loop.time() < deadline:
        before, start = server.cpu_seconds(), perf_counter()
        await asyncio.sleep(0.5)
        after = server.cpu_seconds()
        if before is None or after is None or (after - before) / (perf_counter() - start) < 0.05:
            return


async def run_round(target: Target, count: int, args: argparse.Namespace, meter: CpuMeter) -> Round:
    result = Round(target.name, count)
    listeners: list[Listener] = []  # the followers, then the presenter
    try:
        followers = await connect_followers(target, count, result)
        listeners += followers
        try:
            ws = await open_socket(target, target.presenter_cookie)
            presenter = Listener(ws, role="presenter")
            listeners.append(presenter)
            epoch = await take_the_viewer(target, ws) if target.presenter_uuid else 0
        except (OSError, TimeoutError, WebSocketException, RuntimeError) as exc:
            why = str(exc) if isinstance(exc, RuntimeError) else failure(exc)
            result.errors[f"presenter: {why}"] += 1
            return result
        presenter.start(result.errors)  # Consilium echoes the states to the presenter too
        if target.presenter_uuid:
            # Everyone has heard the hand-off: each socket is subscribed to the meeting.
            waits = [asyncio.wait_for(f.presenter.wait(), STEP_TIMEOUT_S) for f in followers]
            heard = await asyncio.gather(*waits, return_exceptions=True)
            if missed := sum(isinstance(h, BaseException) for h in heard):
                result.errors["no hand-off heard"] += missed
        # Joining has a tail (presence to everyone, attendance rows): let it pass first.
        await quiesce(target.server)
        await asyncio.sleep(SETTLE_S)

        total = args.rate * args.seconds
        messages = [
            encode({"type": "viewer.state", "epoch": epoch, "state": viewer_state(i)})
            for i in range(total)
        ]
        period = 1.0 / args.rate
        before = meter.sample()
        start = perf_counter()
        for i, text in enumerate(messages):
            due = start + i * period
            pause = due - perf_counter()
            if pause > 0:
                await asyncio.sleep(pause)
            now = perf_counter()
            result.late_ms = max(result.late_ms, (now - due) * 1000)
            result.sent.append(now)
            try:
                await ws.send(text)
            except ConnectionClosed:
                result.sent.pop()
                break  # its listener counts the close
        # Stragglers: until every follower has the newest state, or nothing has arrived for
        # DRAIN_S (a late state is late, not lost), or DRAIN_MAX_S is up.
        last = len(result.sent) - 1
        deadline = perf_counter() + DRAIN_MAX_S
        while perf_counter() < deadline and any(f.newest < last for f in followers):
            latest = max((f.arrivals[-1][1] for f in followers if f.arrivals), default=0.0)
            if perf_counter() - max(latest, result.sent[-1] if result.sent else 0.0) > DRAIN_S:
                break
            await asyncio.sleep(0.01)
        end = perf_counter()
        result.cpu = meter.usage(before, meter.sample())
        tally(result, followers, end)
        return result
    finally:
        for listener in listeners:
            listener.closing = True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STEP_TIMEOUT_S):
                closing = (listener.ws.close() for listener in listeners)
                await asyncio.gather(*closing, return_exceptions=True)
        tasks = [listener.task for listener in listeners if listener.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def tally(result: Round, followers: list[Listener], end: float) -> None:
    """Latencies, deliveries and lag from what each follower noted before `end`."""
    sent = result.sent
    reached = [0] * len(sent)  # per state, how many followers got it
    for follower in followers:
        seen: set[int] = set()
        for index, arrived in follower.arrivals:
            if arrived > end or index >= len(sent):
                continue
            if index in seen:
                result.duplicates += 1
                continue
            seen.add(index)
            result.latencies_ms.append((arrived - sent[index]) * 1000)
            # Messages sent by the time this one arrived, newer than it.
            result.max_lag = max(result.max_lag, bisect_right(sent, arrived) - 1 - index)
        result.delivered += len(seen)
        for index in seen:
            reached[index] += 1
    # A state no follower got was dropped before the fan-out (coalesced, or refused); one
    # that only some got was dropped on the way to those others.
    result.reached_none = sum(1 for n in reached if n == 0)
    result.reached_some = sum(1 for n in reached if 0 < n < result.followers)


# --- the run --------------------------------------------------------------------------------


def cores() -> tuple[int | None, int | None, str]:
    """The server's core and the client's, and a sentence saying so."""
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2 or shutil.which("taskset") is None:
        why = "one core" if len(allowed) < 2 else "no taskset"
        return None, None, f"not pinned ({why}): the client may set the pace"
    return allowed[0], allowed[1], f"servers on core {allowed[0]}, client on core {allowed[1]}"


def round_bound(args: argparse.Namespace) -> float:
    return CONNECT_PHASE_S + CONNECT_TIMEOUT_S * 4 + 4 * STEP_TIMEOUT_S + args.seconds * 2 + 40


async def measure(
    args: argparse.Namespace, consilium: Target, floor: Target, audience: Audience, redis_client
) -> list[Round]:
    gc.freeze()  # Django's objects out of the collector's way: no long pauses mid-round
    rounds: list[Round] = []
    for count in args.followers:
        # A fresh meeting per round: its live session starts with no presenter.
        meeting = replace(
            consilium,
            url=consilium.url.format(meeting=audience.meetings[count]),
            follower_cookies=audience.follower_cookies[:count],
        )
        for target in (floor, meeting):
            log(f"{target.name}: {count} followers, {args.rate}/s for {args.seconds} s")
            meter = CpuMeter(target.server, redis_client if target is meeting else None)
            try:
                async with asyncio.timeout(round_bound(args)):
                    result = await run_round(target, count, args, meter)
            except TimeoutError:
                result = Round(target.name, count)
                result.errors["round timeout"] += 1
            rounds.append(result)
            if result.errors:
                log(f"  errors: {dict(result.errors)}")
            await quiesce(target.server)
    return rounds


def number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def report(rounds: list[Round], info: dict) -> dict:
    print()
    print("Live session: presenter-to-follower latency, Consilium beside a bare broadcast server")
    print(
        f"{info['rate']} states/s for {info['seconds']} s, {info['state_bytes']} bytes a "
        f"message; channel layer: {info['layer']}; database: {info['database']}."
    )
    print(
        f"Machine: {os.cpu_count()} CPUs, {platform.machine()}, Python "
        f"{platform.python_version()}; {info['pinning']}."
    )
    print(
        "floor = bench/sync_floor.py (websockets.broadcast). delivered = distinct states "
        "received / (sent x followers);\nmax lag = messages behind the newest sent; dup = "
        "states received twice; late = presenter behind its schedule;\nCPU = % of one core "
        "while sending: the server, this client, Redis, and all other processes on the machine"
        + (" (a local PostgreSQL among them)." if info["database"] == "PostgreSQL" else ".")
    )
    print()
    redis = info["redis"]
    header = ["followers", "target", "p50 ms", "p95 ms", "p99 ms", "max ms", "delivered %"]
    header += ["max lag", "dup", "errors", "late ms", "CPU server", "client"]
    header += ["Redis", "others"] if redis else ["others"]
    rows = []
    for r in rounds:
        row = [str(r.followers), r.target, number(r.percentile(50)), number(r.percentile(95))]
        row += [number(r.percentile(99)), number(r.percentile(100)), number(r.delivered_pct)]
        row += [str(r.max_lag), str(r.duplicates), str(sum(r.errors.values()))]
        cpu = [r.cpu.get(key) for key in ("server", "client", "redis", "other")]
        cpu = cpu if redis else [cpu[0], cpu[1], cpu[3]]
        row += [number(r.late_ms)] + [number(c, 0) for c in cpu]
        rows.append(row)
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            f"{c:<{w}}" if i < 2 else f"{c:>{w}}"
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    print(line(header))
    print("-" * len(line(header)))
    for row in rows:
        print(line(row))
    for r in rounds:
        if r.errors:
            detail = ", ".join(f"{kind}: {n}" for kind, n in r.errors.most_common())
            print(f"errors, {r.target} with {r.followers}: {detail}")
        if r.reached_none or r.reached_some:
            print(
                f"undelivered, {r.target} with {r.followers}: of {len(r.sent)} states "
                f"{r.reached_none} reached no follower, {r.reached_some} only some"
            )
    others = max((r.cpu.get("other") or 0.0 for r in rounds), default=0.0)
    if others >= BUSY_MACHINE_PCT:
        print(
            f"Other processes took up to {others:.0f} % of a core while states were sent: "
            "the latencies include their interference; rerun on a quiet machine."
        )
    print()

    figures: dict = {}
    for r in rounds:
        n = r.followers
        if r.target == "consilium":
            figures[f"p50_ms_{n}"] = rounded(r.percentile(50))
            figures[f"p95_ms_{n}"] = rounded(r.percentile(95))
            figures[f"p99_ms_{n}"] = rounded(r.percentile(99))
            figures[f"delivered_pct_{n}"] = rounded(r.delivered_pct)
            figures[f"errors_{n}"] = sum(r.errors.values())
        else:
            figures[f"floor_p50_ms_{n}"] = rounded(r.percentile(50))
            figures[f"floor_p99_ms_{n}"] = rounded(r.percentile(99))
            figures[f"floor_delivered_pct_{n}"] = rounded(r.delivered_pct)
            figures[f"floor_errors_{n}"] = sum(r.errors.values())
    figures["redis"] = redis
    figures["others_cpu_pct"] = rounded(others, 0)  # > BUSY_MACHINE_PCT: not a clean run
    return figures


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--followers",
        default="10,50,200",
        help="comma-separated follower counts, one round each (default 10,50,200)",
    )
    parser.add_argument("--seconds", type=int, default=10, help="how long the presenter sends")
    parser.add_argument("--rate", type=int, default=30, help="states a second")
    parser.add_argument("--logs", type=Path, help="keep the servers' logs in this folder")
    args = parser.parse_args(argv)
    try:
        args.followers = [int(n) for n in args.followers.split(",") if n.strip()]
    except ValueError:
        parser.error("--followers takes whole numbers separated by commas, e.g. 10,50,200")
    if not args.followers or min(args.followers) < 1 or max(args.followers) > 5000:
        parser.error("--followers: each count between 1 and 5000")
    if not 1 <= args.rate <= 60:
        parser.error("--rate: 1 to 60 a second (the server closes a socket above 60)")
    # The message index travels as a slice number, which the server bounds at 100000.
    if args.seconds < 1 or args.rate * args.seconds > 100_000:
        parser.error("--seconds: at least 1, and rate x seconds at most 100000")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    server_core, client_core, pinning = cores()
    if client_core is not None:
        os.sched_setaffinity(0, {client_core})  # the servers get theirs from taskset
    bound = SETUP_S + len(args.followers) * 2 * (round_bound(args) + 2)

    def bounded(signum, frame):
        raise TimeoutError(f"the benchmark ran over {bound:.0f} s and was stopped")

    signal.signal(signal.SIGALRM, bounded)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    signal.alarm(int(bound))
    tmp = Path(tempfile.mkdtemp(prefix="consilium-bench-sync-"))
    (tmp / "static").mkdir()
    started = time.monotonic()
    daphne = floor = None
    audience = None
    redis_client = None
    env, database = bench_env(tmp)
    try:
        # This process uses the same database and secret key as the server it starts.
        for name in FOREIGN_ENV:
            os.environ.pop(name, None)
        os.environ.update(env)
        log(f"migrating ({database})")
        migrate(env)
        log(f"creating 1 chair and {max(args.followers)} followers")
        audience = make_audience(max(args.followers), args.followers)
        daphne = start_consilium(server_core, tmp, env)
        floor = start_floor(server_core, tmp, env, lifetime=bound)
        check_login(daphne.port, audience.chair_cookie)
        check_login(daphne.port, audience.follower_cookies[-1])
        redis_url = env.get("REDIS_URL")
        if redis_url:
            import redis

            redis_client = redis.Redis.from_url(redis_url, socket_timeout=5)
        consilium = Target(
            name="consilium",
            server=daphne,
            url=f"ws://127.0.0.1:{daphne.port}/ws/meetings/{{meeting}}/",
            ready="live.snapshot",
            presenter_cookie=audience.chair_cookie,
            follower_cookies=audience.follower_cookies,
            presenter_uuid=audience.chair_uuid,
        )
        floor_target = Target(
            name="floor", server=floor, url=f"ws://127.0.0.1:{floor.port}/", ready="session.ready"
        )
        rounds = asyncio.run(measure(args, consilium, floor_target, audience, redis_client))
        for n, still_open in open_attendances(audience).items():
            if still_open:
                log(
                    f"consilium, {n} followers: {still_open} attendances never closed "
                    "(their sockets' disconnect did not finish)"
                )
        for server in (daphne, floor):
            if server.process.poll() is not None:
                log(f"{server.name} exited during the run:\n{server.tail()}")
            for problem, times in server.problems().most_common(10):
                log(f"{server.name} log, {times} x: {problem}")
    finally:
        signal.alarm(0)
        stop(floor)
        stop(daphne)
        if args.logs is not None:
            args.logs.mkdir(parents=True, exist_ok=True)
            for server in (daphne, floor):
                if server is not None and server.log.exists():
                    shutil.copy(server.log, args.logs / server.log.name)
        if audience is not None and database == "PostgreSQL":
            remove_audience(audience)
        if redis_client is not None:
            # The channel layer's groups and the cache under this run's own prefix.
            with contextlib.suppress(Exception):
                for key in redis_client.scan_iter(match=f"{env['REDIS_PREFIX']}*", count=500):
                    redis_client.delete(key)
            redis_client.close()
        shutil.rmtree(tmp, ignore_errors=True)
    sample = encode({"type": "viewer.state", "epoch": 1, "state": viewer_state(0)})
    info = {
        "rate": args.rate,
        "seconds": args.seconds,
        "state_bytes": len(sample),
        "layer": "Redis (channels-redis)" if redis_client is not None else "in-memory",
        "database": database,
        "pinning": pinning,
        "redis": redis_client is not None,
    }
    figures = report(rounds, info)
    print(f"({time.monotonic() - started:.0f} s in all)")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

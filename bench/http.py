"""Pages under load: requests a second and p99 beside the /healthz floor, in one run.

    make bench-http                       # or .venv/bin/python bench/http.py
    make bench-http BENCH_ARGS="--seconds 2 --concurrency 10,50"
    DATABASE_URL=postgres://... REDIS_URL=redis://.../N make bench-http

Consilium runs as one real Daphne process (`python -m board.serve`) on a throw-away SQLite
file, or on the PostgreSQL named by DATABASE_URL with the channel layer and cache on the
Redis named by REDIS_URL. The demo board is seeded (its cases, a phantom CT on DEMO01); the
chair's session (password and second factor passed, made through the ORM) is sent as a
cookie. For each concurrency, N clients with one keep-alive connection each ask for one page
again and again for --seconds; then the next page. /healthz (one `SELECT 1`) is the floor:
the cheapest view that touches the database, measured in the same run, so the ratio says
what a page costs above the machinery every request pays.

The second round grows the case to --opinions opinions (posted through the service, as a
clinician would) and measures again: a page whose cost follows the length of the thread
shows it there.

Every cell runs for a fixed time, so the whole run stays bounded (pages x concurrencies x
rounds x --seconds, plus set-up). On a machine shared with other work the absolute figures
drift; the ratios to the floor drift less. A non-200 answer or a failed connection is an
error. Prints a table, then as its last line one JSON object.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/http.py`, sys.path starts at bench/, where this very file would hide
# the standard library's `http` package from Django. bench/ goes to the end instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE] + [str(_HERE)]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from time import perf_counter  # noqa: E402

from common import log  # noqa: E402
from sync import FOREIGN_ENV, bench_env, cores, migrate, start_consilium, stop  # noqa: E402

ROOT = _HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PAGES = ("home", "case", "queue", "panel", "manifest", "frame")
FLOOR = "healthz"
IMAGING_SLICES = 20
READ_TIMEOUT_S = 30
OPINION_BODY = (
    "**{specialty} view, note {n}.** The MRI shows a {size} cm deep mass of the thigh, "
    "intermuscular, with a heterogeneous signal and no bone involvement.\n\n"
    "- Core biopsy reviewed: spindle-cell sarcoma, FNCLCC grade {grade}\n"
    "- No distant disease on the chest CT\n"
    "- Margins: plan an R0 resection with a cuff of normal tissue\n\n"
    "I would discuss *preoperative radiotherapy* (50 Gy in 25 fractions) before surgery; "
    "see the [ESMO guideline](https://www.esmo.org/guidelines) for the evidence."
)


# --- the data: demo board, chair's session, paths ----------------------------------------


@dataclass
class Site:
    cookie: str
    paths: dict[str, str]
    case_id: int
    members: list[int]


def prepare_site() -> Site:
    import django

    django.setup()
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.db import connections
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from board.demo import seed_demo
    from board.models import Membership, User
    from board.second_factor import VERIFIED_AT_SESSION_KEY
    from cases.models import Case
    from imaging.models import Instance

    seed_demo(imaging_slices=IMAGING_SLICES)
    chair = User.objects.get(username="chair")
    case = Case.objects.filter(studies__isnull=False, board__memberships__user=chair).first()
    if case is None:
        raise RuntimeError("the demo seed left no case with imaging")
    instance = Instance.objects.filter(series__study__case=case).order_by("pk").first()
    device = TOTPDevice.objects.filter(user=chair, confirmed=True).first()
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = chair._meta.pk.value_to_string(chair)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = chair.get_session_auth_hash()
    if device is not None:  # what a sign-in that passed the second factor leaves behind
        store[DEVICE_ID_SESSION_KEY] = device.persistent_id
        store[VERIFIED_AT_SESSION_KEY] = int(time.time())
    store.create()
    c, s = case.uuid, instance.series.uuid
    paths = {
        FLOOR: "/healthz",
        "home": "/",
        "case": f"/cases/{c}/",
        "queue": f"/boards/{case.board.uuid}/cases/",
        "panel": f"/cases/{c}/decisions/",
        "manifest": f"/cases/{c}/series/{s}/",
        "frame": f"/cases/{c}/instances/{instance.uuid}/frames/0/",
    }
    members = list(Membership.objects.filter(board=case.board).values_list("user_id", flat=True))
    connections.close_all()
    return Site(f"{settings.SESSION_COOKIE_NAME}={store.session_key}", paths, case.pk, members)


def grow_thread(site: Site, total: int) -> int:
    """Post opinions (through the service) until the case has `total`; returns the count."""
    from django.db import connections

    from board.models import User
    from cases.access import case_access
    from cases.models import Case
    from cases.services import opinion_post

    try:
        case = Case.objects.get(pk=site.case_id)
        have = case.opinions.count()
        authors = list(User.objects.filter(pk__in=site.members))
        sizes, grades = (4, 7, 11, 15), (1, 2, 3)
        # The e-mails each opinion sends (console backend) stay off the benchmark's stdout.
        quiet = contextlib.redirect_stdout(io.StringIO())
        for n in range(have, total):
            author = authors[n % len(authors)]
            access = case_access(author, case)
            if not access.can_write_opinion:
                continue
            body = OPINION_BODY.format(
                specialty=author.specialty or "Board", n=n, size=sizes[n % 4], grade=grades[n % 3]
            )
            with quiet:
                opinion_post(access=access, body=body)
        return case.opinions.count()
    finally:
        connections.close_all()


# --- the load: N keep-alive clients, one page, a fixed time ----------------------------------


@dataclass
class Cell:
    page: str
    concurrency: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    body_bytes: int = 0

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def read_response(reader: asyncio.StreamReader) -> tuple[int, int, bool]:
    """Status, body size and whether the server keeps the connection."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    size = 0
    if "content-length" in headers:
        size = int(headers["content-length"])
        await reader.readexactly(size)
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            chunk = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(chunk + 2)
            size += chunk
            if chunk == 0:
                break
    keep = headers.get("connection", "").lower() != "close"
    return status, size, keep


async def client(port: int, path: str, cookie: str, until: float, cell: Cell) -> None:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n"
        "Accept: text/html,*/*\r\n\r\n"
    ).encode()
    writer = None
    while time.monotonic() < until:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            started = perf_counter()
            writer.write(request)
            status, size, keep = await asyncio.wait_for(read_response(reader), READ_TIMEOUT_S)
            elapsed = perf_counter() - started
            if status == 200:
                cell.latencies.append(elapsed)
                cell.body_bytes = size
            else:
                cell.errors += 1
            if not keep:
                writer.close()
                writer = None
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            cell.errors += 1
            if writer is not None:
                writer.close()
            writer = None
            await asyncio.sleep(0.05)
    if writer is not None:
        writer.close()


async def measure_cell(port: int, path: str, cookie: str, cell: Cell, seconds: float) -> Cell:
    started = time.monotonic()
    until = started + seconds
    await asyncio.gather(
        *(client(port, path, cookie, until, cell) for _ in range(cell.concurrency))
    )
    cell.seconds = time.monotonic() - started
    return cell


def run_round(port: int, site: Site, args: argparse.Namespace) -> list[Cell]:
    cells = []
    for concurrency in args.concurrency:
        for page in (FLOOR, *PAGES):
            cell = Cell(page, concurrency)
            asyncio.run(measure_cell(port, site.paths[page], site.cookie, cell, args.seconds))
            log(f"  {page:<9} c={concurrency:<3} {cell.rps:7.1f}/s errors {cell.errors}")
            cells.append(cell)
    return cells


# --- the report ----------------------------------------------------------------------------


def number(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def report(rounds: list[tuple[str, list[Cell]]], info: dict) -> dict:
    print("Pages under load: one Daphne process, beside the /healthz floor in the same run")
    print(
        f"database {info['database']}, layer {info['layer']}, {info['seconds']} s a cell, "
        f"pinning: {info['pinning']}"
    )
    header = ["round", "page", "conc", "req/s", "÷floor", "p50 ms", "p99 ms", "KB", "errors"]
    widths = [16, 9, 5, 8, 7, 8, 8, 7, 6]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    figures: dict = {"errors": 0}
    for name, cells in rounds:
        floors = {c.concurrency: c.rps for c in cells if c.page == FLOOR}
        for cell in cells:
            floor = floors.get(cell.concurrency) or None
            ratio = cell.rps / floor if floor else None
            row = [
                name,
                cell.page,
                str(cell.concurrency),
                number(cell.rps),
                number(ratio, 2),
                number(cell.p(0.5)),
                number(cell.p(0.99)),
                number(cell.body_bytes / 1024),
                str(cell.errors),
            ]
            print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
            figures["errors"] += cell.errors
            if cell.concurrency == 50:
                suffix = "" if name == "demo case" else f"_{info['opinions']}op"
                if cell.page == FLOOR:
                    figures[f"floor_rps_c50{suffix}"] = round(cell.rps, 1)
                else:
                    figures[f"{cell.page}_rps_c50{suffix}"] = round(cell.rps, 1)
                    figures[f"{cell.page}_p99_ms_c50{suffix}"] = round(cell.p(0.99) or 0, 1)
    figures.update(database=info["database"], layer=info["layer"], seconds=info["seconds"])
    return figures


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", default="10,50", help="clients at once (10,50)")
    parser.add_argument("--seconds", type=float, default=3.0, help="time per cell (3)")
    parser.add_argument("--opinions", type=int, default=120, help="the second round's thread")
    args = parser.parse_args(argv)
    try:
        args.concurrency = [int(n) for n in args.concurrency.split(",") if n.strip()]
    except ValueError:
        parser.error("--concurrency takes whole numbers separated by commas, e.g. 10,50")
    if not args.concurrency or min(args.concurrency) < 1 or max(args.concurrency) > 500:
        parser.error("--concurrency: each between 1 and 500")
    if not 0.5 <= args.seconds <= 60:
        parser.error("--seconds: 0.5 to 60")
    if not 0 <= args.opinions <= 1000:
        parser.error("--opinions: 0 to 1000")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    server_core, client_core, pinning = cores()
    if client_core is not None:
        os.sched_setaffinity(0, {client_core})
    cells_per_round = len(args.concurrency) * (len(PAGES) + 1)
    bound = 600 + 2 * cells_per_round * (args.seconds + 5)

    def bounded(signum, frame):
        raise TimeoutError(f"the benchmark ran over {bound:.0f} s and was stopped")

    signal.signal(signal.SIGALRM, bounded)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    signal.alarm(int(bound))
    tmp = Path(tempfile.mkdtemp(prefix="consilium-bench-http-"))
    (tmp / "static").mkdir()
    started = time.monotonic()
    daphne = None
    env, database = bench_env(tmp)
    env["REDIS_PREFIX"] = env["REDIS_PREFIX"].replace("bench-sync", "bench-http")
    rounds: list[tuple[str, list[Cell]]] = []
    try:
        for name in FOREIGN_ENV:
            os.environ.pop(name, None)
        os.environ.update(env)
        log(f"migrating ({database})")
        migrate(env)
        log("seeding the demo board")
        site = prepare_site()
        daphne = start_consilium(server_core, tmp, env)
        log("round 1: the demo case")
        rounds.append(("demo case", run_round(daphne.port, site, args)))
        count = grow_thread(site, args.opinions)
        log(f"round 2: the case with {count} opinions")
        rounds.append((f"{count} opinions", run_round(daphne.port, site, args)))
        if daphne.process.poll() is not None:
            log(f"daphne exited during the run:\n{daphne.tail()}")
        for problem, times in daphne.problems().most_common(10):
            log(f"daphne log, {times} x: {problem}")
    finally:
        signal.alarm(0)
        stop(daphne)
        shutil.rmtree(tmp, ignore_errors=True)
    info = {
        "database": database,
        "layer": "Redis" if env.get("REDIS_URL") else "in-memory",
        "seconds": args.seconds,
        "pinning": pinning,
        "opinions": args.opinions,
    }
    figures = report(rounds, info)
    print(f"({time.monotonic() - started:.0f} s in all)")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

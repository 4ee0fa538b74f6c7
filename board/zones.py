"""The time zones a person picks from: one name per place, not the ~600 the database holds.

The tz database keeps many names for compatibility only: "US/Eastern", "GB", "Singapore",
"Etc/GMT+5", "Asia/Calcutta" (for Asia/Kolkata). Its own answer to "which names should a user
interface offer" is ``zone.tab``: one line per country region, each with its canonical
Area/Location name (tz-link.html, "zone.tab ... is intended for use by time zone selection
tools"). We offer those names plus UTC. ``zone.tab`` is read where zoneinfo reads the zones
(the system's TZPATH, else the ``tzdata`` package); if neither ships it, the fallback keeps
only Area/Location names, which drops the bare aliases and Etc/*.

A name outside the list stays valid everywhere it is stored (a meeting set in "US/Eastern"
keeps working); the forms simply offer it back only to whoever already uses it.
"""

from __future__ import annotations

import zoneinfo
from functools import cache
from importlib import resources
from pathlib import Path

AREAS = (
    "Africa",
    "America",
    "Antarctica",
    "Arctic",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
)


def _zone_tab() -> str | None:
    for root in zoneinfo.TZPATH:
        path = Path(root) / "zone.tab"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    try:
        return resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return None


@cache
def selectable_zones() -> tuple[str, ...]:
    """Canonical zone names for a picker, sorted, UTC first."""
    available = zoneinfo.available_timezones()
    text = _zone_tab()
    if text:
        names = {
            line.split("\t")[2]
            for line in text.splitlines()
            if line and not line.startswith("#") and line.count("\t") >= 2
        }
    else:
        names = {name for name in available if name.split("/", 1)[0] in AREAS and "/" in name}
    return ("UTC", *sorted(names & available))


def zone_label(name: str) -> str:
    return name.replace("_", " ")


def zone_choices(
    *, first: list[str] = (), current: str = "", first_label: str = "", rest_label: str = ""
) -> list:
    """Choices for a zone field: ``first`` (e.g. a board's usual zones) as their own group at
    the top, then every selectable zone; ``current`` is offered even if it is an alias, so
    that editing something stored under an old name does not force a change."""
    everything = list(selectable_zones())
    if current and current not in everything and current in zoneinfo.available_timezones():
        everything.insert(0, current)
    rest = [(name, zone_label(name)) for name in everything]
    first = [name for name in dict.fromkeys(first) if name in everything]
    if not first:
        return rest
    return [(first_label, [(name, zone_label(name)) for name in first]), (rest_label, rest)]

"""GIST risk of progression after resection: AFIP/Miettinen 2006 and modified NIH/Joensuu 2008.

The tables are in `data/gist_risk.py` (its docstring names the sources and the three AFIP
cells left undecided because published reproductions disagree). Inputs are size in cm,
mitoses per 5 mm² (= 50 HPF) and the primary site; Joensuu also uses tumour rupture.

A missing input is never guessed: AFIP needs all three; Joensuu returns a category only when
every value the missing inputs could take gives the same one (a 12 cm tumour is high risk
whatever its mitoses or rupture). "insufficient_data" is the published cell's own verdict,
distinct from data not yet entered (category None).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from decimal import Decimal

from cases.clinical.data import gist_risk as table
from cases.clinical.data.who_2020 import GIST
from cases.clinical.who import Entity

AFIP_SYSTEM = "AFIP risk of progression (Miettinen & Lasota 2006)"
JOENSUU_SYSTEM = "Modified NIH consensus risk (Joensuu 2008)"


@dataclass(frozen=True)
class GistRisk:
    system: str
    category: str | None  # a gist_risk category, or None when the data do not decide
    reason: str = ""


def _size(size_cm: Decimal | float | int | None) -> Decimal | None:
    if size_cm is None:
        return None
    size = Decimal(str(size_cm))
    if size <= 0:
        raise ValueError("a tumour size must be positive")
    return size


def _check_mitoses(mitoses: int | None) -> None:
    if mitoses is not None and mitoses < 0:
        raise ValueError("a mitotic count cannot be negative")


def _not_gist(entity: Entity | None, system: str) -> GistRisk | None:
    if entity is None:
        return GistRisk(system, None, "The tumour type is not recorded yet.")
    if entity.category != GIST:
        return GistRisk(system, None, f"GIST risk tables do not apply to {entity.name}.")
    return None


def afip_risk(
    *,
    entity: Entity | None,
    size_cm: Decimal | float | int | None,
    mitoses_per_5mm2: int | None,
    site: str | None,
) -> GistRisk:
    if refused := _not_gist(entity, AFIP_SYSTEM):
        return refused
    size = _size(size_cm)
    _check_mitoses(mitoses_per_5mm2)
    missing = [
        name
        for name, value in (("size", size), ("mitotic count", mitoses_per_5mm2), ("site", site))
        if value is None
    ]
    if missing:
        return GistRisk(AFIP_SYSTEM, None, f"Not yet known: {', '.join(missing)}.")
    if site not in table.AFIP_SITES:
        return GistRisk(
            AFIP_SYSTEM,
            None,
            f"The AFIP table covers stomach, duodenum, jejunum/ileum and rectum, not {site}.",
        )
    rate = "low" if mitoses_per_5mm2 <= table.RATE_LOW_MAX else "high"
    band = next(label for upper, label in table.SIZE_BANDS if upper is None or size <= upper)
    category = table.AFIP[(rate, band)][site]
    if category == table.CONFLICT:
        return GistRisk(
            AFIP_SYSTEM,
            None,
            "Published reproductions of this cell disagree (duodenum vs jejunum/ileum "
            "columns): read Miettinen & Lasota 2006 before deciding.",
        )
    if category == table.INSUFFICIENT:
        return GistRisk(AFIP_SYSTEM, category, "The AFIP series had too few cases here.")
    return GistRisk(AFIP_SYSTEM, category)


def _within(value: Decimal | int, bounds: tuple) -> bool:
    low, high = bounds
    return (low is None or value > low) and (high is None or value <= high)


def _joensuu_row(size: Decimal, mitoses: int, gastric: bool, rupture: bool) -> str | None:
    for category, sizes, counts, sites, ruptured in table.JOENSUU:
        if ruptured is not table.ANY and ruptured != rupture:
            continue
        if sites is not table.ANY and sites != ("gastric" if gastric else "nongastric"):
            continue
        if _within(size, sizes) and _within(mitoses, counts):
            return category
    return None


# Representative values for a missing input: one per band the table distinguishes.
_SIZE_SAMPLES = (Decimal(1), Decimal(3), Decimal(7), Decimal(11))
_MITOSES_SAMPLES = (0, 7, 11)


def joensuu_risk(
    *,
    entity: Entity | None,
    size_cm: Decimal | float | int | None,
    mitoses_per_5mm2: int | None,
    site: str | None,
    rupture: bool | None,
) -> GistRisk:
    """`site` is a primary site (only "stomach" counts as gastric in Joensuu's table)."""
    if refused := _not_gist(entity, JOENSUU_SYSTEM):
        return refused
    size = _size(size_cm)
    _check_mitoses(mitoses_per_5mm2)
    sizes = (size,) if size is not None else _SIZE_SAMPLES
    counts = (mitoses_per_5mm2,) if mitoses_per_5mm2 is not None else _MITOSES_SAMPLES
    sites = (site == "stomach",) if site is not None else (True, False)
    ruptures = (rupture,) if rupture is not None else (True, False)
    found = {_joensuu_row(*combo) for combo in itertools.product(sizes, counts, sites, ruptures)}
    if len(found) == 1 and None not in found:
        return GistRisk(JOENSUU_SYSTEM, found.pop())
    missing = [
        name
        for name, value in (
            ("size", size),
            ("mitotic count", mitoses_per_5mm2),
            ("site", site),
            ("rupture", rupture),
        )
        if value is None
    ]
    return GistRisk(JOENSUU_SYSTEM, None, f"Not yet known: {', '.join(missing)}.")

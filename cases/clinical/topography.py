"""ICD-O-3 topography: the primary site's code, its label, and whether a side is asked.

The table is `data/icdo3_topography.py` (its docstring names the source).
"""

from __future__ import annotations

from dataclasses import dataclass

from cases.clinical.data import icdo3_topography as table


@dataclass(frozen=True)
class Topography:
    code: str  # "C49.2"
    label: str
    laterality: str  # table.PAIRED, table.MIDLINE or table.ANY

    def __str__(self) -> str:
        return f"{self.code} {self.label}"


TOPOGRAPHY: dict[str, Topography] = {row[0]: Topography(*row) for row in table.TOPOGRAPHY}


def get_topography(code: str) -> Topography:
    try:
        return TOPOGRAPHY[code]
    except KeyError:
        raise KeyError(f"no ICD-O-3 topography {code!r} in the table") from None


def search_topography(query: str) -> list[Topography]:
    """Codes that begin with `query`, or labels holding every word of it as a prefix."""
    text = query.strip().lower()
    if not text:
        return []
    if text[0] == "c" and (len(text) == 1 or text[1].isdigit()):
        return [t for t in TOPOGRAPHY.values() if t.code.lower().startswith(text)]
    terms = text.split()
    found = []
    for topo in TOPOGRAPHY.values():
        words = topo.label.lower().replace(",", " ").split()
        if all(any(w.startswith(term) for w in words) for term in terms):
            found.append(topo)
    return found

"""The WHO 2020 soft tissue and bone entities, their search, and today's histotype values.

The entity table lives in `data/who_2020.py` (its docstring names the source and what was
not checked). This module turns the rows into `Entity` objects, searches them for a future
form (by name, synonym or ICD-O code, case-insensitive, on word prefixes), and maps the
`Histotype` values stored today (cases/models.py) to entities. Values that name more than
one WHO entity (`liposarcoma_wd_dd`, `rhabdomyosarcoma`, `osteosarcoma`, `chondrosarcoma`)
and `other`/`unknown` map to "needs review": a person picks the entity; the code never guesses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cases.clinical.data import who_2020

ICDO_FORMAT = re.compile(r"\d{4}/[0-3]")
BEHAVIOURS = {"0": "benign", "1": "intermediate or uncertain", "2": "in situ", "3": "malignant"}


@dataclass(frozen=True)
class Entity:
    key: str
    name: str
    icdo: str  # ICD-O-3 morphology/behaviour, "8858/3"
    category: str  # who_2020.SOFT_TISSUE, GIST, BONE, ...
    fnclcc: bool  # whether FNCLCC grading is applied to this entity
    fnclcc_reason: str  # why not, in words, when fnclcc is False
    ajcc_chapters: tuple[str, ...]  # AJCC 8 chapters that may stage it; () = none
    synonyms: tuple[str, ...] = ()

    @property
    def behaviour(self) -> str:
        """The ICD-O behaviour digit: "0", "1" or "3"."""
        return self.icdo.split("/")[1]


ENTITIES: dict[str, Entity] = {row[0]: Entity(*row) for row in who_2020.ENTITIES}


def get_entity(key: str) -> Entity:
    try:
        return ENTITIES[key]
    except KeyError:
        raise KeyError(f"no WHO 2020 entity {key!r} in cases/clinical/data/who_2020.py") from None


_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def search_entities(query: str) -> list[Entity]:
    """Entities whose name, synonyms or ICD-O code match every word of `query` as a prefix.

    "lipo dediff" finds dedifferentiated liposarcoma; "8858" and "8858/3" find it by code.
    Results keep the table's order (WHO chapter order); an empty query finds nothing.
    """
    text = query.strip().lower()
    if re.fullmatch(r"\d[\d/]*", text):
        # A code, whole or begun: "88", "8858", "8858/3".
        return [e for e in ENTITIES.values() if e.icdo.startswith(text)]
    terms = _words(text)
    if not terms:
        return []
    found = []
    for entity in ENTITIES.values():
        words = _words(" ".join((entity.name, *entity.synonyms)))
        if all(any(w.startswith(t) for w in words) for t in terms):
            found.append(entity)
    return found


@dataclass(frozen=True)
class HistotypeMapping:
    histotype: str
    entity: Entity | None  # None when a person must choose
    needs_review: bool
    reason: str


# Today's Histotype values (cases/models.py) → WHO 2020 entity key, or None for "needs review"
# with the reason shown to the person who reviews it.
HISTOTYPE_TO_ENTITY: dict[str, str | None] = {
    "ups": "undifferentiated_pleomorphic_sarcoma",
    "liposarcoma_wd_dd": None,
    "liposarcoma_myxoid": "myxoid_liposarcoma",
    "liposarcoma_pleomorphic": "pleomorphic_liposarcoma",
    "leiomyosarcoma": "leiomyosarcoma",
    "synovial": "synovial_sarcoma",
    "myxofibrosarcoma": "myxofibrosarcoma",
    "mpnst": "mpnst",
    "rhabdomyosarcoma": None,
    "angiosarcoma": "angiosarcoma",
    "solitary_fibrous": "solitary_fibrous_tumour_malignant",
    "desmoid": "desmoid_fibromatosis",
    "gist": "gist",
    "dfsp": "dermatofibrosarcoma_protuberans",
    "epithelioid": "epithelioid_sarcoma",
    "alveolar_soft_part": "alveolar_soft_part_sarcoma",
    "clear_cell": "clear_cell_sarcoma",
    "osteosarcoma": None,
    "ewing": "ewing_sarcoma",
    "chondrosarcoma": None,
    "chordoma": "chordoma",
    "gctb": "giant_cell_tumour_of_bone",
    "other": None,
    "unknown": None,
}

REVIEW_REASONS: dict[str, str] = {
    "liposarcoma_wd_dd": "Well-differentiated and dedifferentiated liposarcoma are separate "
    "WHO entities (8851/3, 8858/3) with different grades and treatment.",
    "rhabdomyosarcoma": "WHO 2020 separates embryonal, alveolar, pleomorphic and spindle "
    "cell/sclerosing rhabdomyosarcoma.",
    "osteosarcoma": "WHO 2020 separates conventional, telangiectatic, small cell, low-grade "
    "central, parosteal, periosteal, high-grade surface and secondary osteosarcoma.",
    "chondrosarcoma": "WHO 2020 separates atypical cartilaginous tumour, chondrosarcoma "
    "grades 1-3, dedifferentiated, mesenchymal, clear cell and periosteal chondrosarcoma.",
    "other": "The free-text diagnosis must be matched to a WHO entity by a person.",
    "unknown": "The diagnosis is not yet known.",
}


def map_histotype(value: str) -> HistotypeMapping:
    if value not in HISTOTYPE_TO_ENTITY:
        raise KeyError(f"unknown histotype value {value!r}")
    key = HISTOTYPE_TO_ENTITY[value]
    if key is None:
        return HistotypeMapping(value, None, True, REVIEW_REASONS[value])
    return HistotypeMapping(value, get_entity(key), False, "")

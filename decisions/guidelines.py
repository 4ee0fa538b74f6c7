"""The guidelines a proposal or a consensus can follow: one row per published guideline.

A board's recommendation names the guideline it rests on by its full published title, never
by a society's name alone ("ESMO-EURACAN" published three different sarcoma guidelines in
2021-2022, each for its own tumours). Each row says what a recommendation must add: NCCN
guidelines are revised several times a year, so the version ("2.2025") is part of the
citation; an institutional protocol or a national guideline is only known by its reference.

Titles, years and citations as published (checked against the journals' records):
- Gronchi A, Miah AB, Dei Tos AP, et al. Soft tissue and visceral sarcomas:
  ESMO-EURACAN-GENTURIS Clinical Practice Guidelines for diagnosis, treatment and follow-up.
  Ann Oncol 2021;32(11):1348-1365. doi:10.1016/j.annonc.2021.07.006
- Casali PG, Blay JY, Abecassis N, et al. Gastrointestinal stromal tumours:
  ESMO-EURACAN-GENTURIS Clinical Practice Guidelines for diagnosis, treatment and follow-up.
  Ann Oncol 2022;33(1):20-33. doi:10.1016/j.annonc.2021.09.005
- Strauss SJ, Frezza AM, Abecassis N, et al. Bone sarcomas: ESMO-EURACAN-GENTURIS-ERN
  PaedCan Clinical Practice Guideline for diagnosis, treatment and follow-up.
  Ann Oncol 2021;32(12):1520-1536. doi:10.1016/j.annonc.2021.08.1995
- Trans-Atlantic RPS Working Group. Management of primary retroperitoneal sarcoma (RPS) in
  the adult: a consensus approach from the Trans-Atlantic RPS Working Group.
  Ann Surg Oncol 2015;22(1):256-263. doi:10.1245/s10434-014-3965-2
- Swallow CJ, Strauss DC, Bonvalot S, et al. Management of primary retroperitoneal sarcoma
  (RPS) in the adult: an updated consensus approach from the Transatlantic Australasian RPS
  Working Group. Ann Surg Oncol 2021;28(12):7873-7888. doi:10.1245/s10434-021-09654-z
- Desmoid Tumor Working Group. The management of desmoid tumours: a joint global
  consensus-based guideline approach for adult and paediatric patients.
  Eur J Cancer 2020;127:96-107. doi:10.1016/j.ejca.2019.11.013
- National Comprehensive Cancer Network: NCCN Clinical Practice Guidelines in Oncology, Soft
  Tissue Sarcoma and Bone Cancer (versioned: "Version 2.2025").

Adding a guideline is a new row here and a migration of the `guideline` choices (Django
records choices in migrations); a row is never removed while a recommendation cites it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext as _


@dataclass(frozen=True)
class Guideline:
    key: str
    name: str  # the full title as published, printed on the proposal, consensus and report
    label: str  # the short label of the choice list
    publisher: str
    year: int | None  # None: revised continuously (the version says which)
    citation: str  # "" only where the reference entered is the citation
    needs_version: bool = False
    needs_reference: bool = False


ESMO_SOFT_TISSUE = "esmo_sts_2021"
ESMO_GIST = "esmo_gist_2022"
ESMO_BONE = "esmo_bone_2021"
NCCN_SOFT_TISSUE = "nccn_sts"
NCCN_BONE = "nccn_bone"
TARPSWG_2015 = "tarpswg_rps_2015"
TARPSWG_2021 = "tarpswg_rps_2021"
DESMOID_2020 = "desmoid_dtwg_2020"
INSTITUTIONAL = "institutional"
NATIONAL = "national"
NONE = "none"

GUIDELINES: tuple[Guideline, ...] = (
    Guideline(
        ESMO_SOFT_TISSUE,
        "Soft tissue and visceral sarcomas: ESMO–EURACAN–GENTURIS Clinical Practice "
        "Guidelines for diagnosis, treatment and follow-up",
        "ESMO–EURACAN–GENTURIS soft tissue and visceral sarcomas (2021)",
        "ESMO, EURACAN, GENTURIS",
        2021,
        "Gronchi A, et al. Ann Oncol 2021;32(11):1348–1365. doi:10.1016/j.annonc.2021.07.006",
    ),
    Guideline(
        ESMO_GIST,
        "Gastrointestinal stromal tumours: ESMO–EURACAN–GENTURIS Clinical Practice "
        "Guidelines for diagnosis, treatment and follow-up",
        "ESMO–EURACAN–GENTURIS gastrointestinal stromal tumours (2022)",
        "ESMO, EURACAN, GENTURIS",
        2022,
        "Casali PG, et al. Ann Oncol 2022;33(1):20–33. doi:10.1016/j.annonc.2021.09.005",
    ),
    Guideline(
        ESMO_BONE,
        "Bone sarcomas: ESMO–EURACAN–GENTURIS–ERN PaedCan Clinical Practice Guideline for "
        "diagnosis, treatment and follow-up",
        "ESMO–EURACAN–GENTURIS–ERN PaedCan bone sarcomas (2021)",
        "ESMO, EURACAN, GENTURIS, ERN PaedCan",
        2021,
        "Strauss SJ, et al. Ann Oncol 2021;32(12):1520–1536. doi:10.1016/j.annonc.2021.08.1995",
    ),
    Guideline(
        NCCN_SOFT_TISSUE,
        "NCCN Clinical Practice Guidelines in Oncology: Soft Tissue Sarcoma",
        "NCCN Guidelines: Soft Tissue Sarcoma (version required)",
        "National Comprehensive Cancer Network",
        None,
        "National Comprehensive Cancer Network. NCCN Clinical Practice Guidelines in "
        "Oncology: Soft Tissue Sarcoma. nccn.org",
        needs_version=True,
    ),
    Guideline(
        NCCN_BONE,
        "NCCN Clinical Practice Guidelines in Oncology: Bone Cancer",
        "NCCN Guidelines: Bone Cancer (version required)",
        "National Comprehensive Cancer Network",
        None,
        "National Comprehensive Cancer Network. NCCN Clinical Practice Guidelines in "
        "Oncology: Bone Cancer. nccn.org",
        needs_version=True,
    ),
    Guideline(
        TARPSWG_2015,
        "Management of primary retroperitoneal sarcoma (RPS) in the adult: a consensus "
        "approach from the Trans-Atlantic RPS Working Group",
        "TARPSWG consensus on primary retroperitoneal sarcoma (2015)",
        "Trans-Atlantic RPS Working Group",
        2015,
        "Trans-Atlantic RPS Working Group. Ann Surg Oncol 2015;22(1):256–263. "
        "doi:10.1245/s10434-014-3965-2",
    ),
    Guideline(
        TARPSWG_2021,
        "Management of primary retroperitoneal sarcoma (RPS) in the adult: an updated "
        "consensus approach from the Transatlantic Australasian RPS Working Group",
        "TARPSWG updated consensus on primary retroperitoneal sarcoma (2021)",
        "Transatlantic Australasian RPS Working Group",
        2021,
        "Swallow CJ, et al. Ann Surg Oncol 2021;28(12):7873–7888. doi:10.1245/s10434-021-09654-z",
    ),
    Guideline(
        DESMOID_2020,
        "The management of desmoid tumours: a joint global consensus-based guideline "
        "approach for adult and paediatric patients",
        "Desmoid Tumor Working Group global consensus (2020)",
        "Desmoid Tumor Working Group",
        2020,
        "Desmoid Tumor Working Group. Eur J Cancer 2020;127:96–107. doi:10.1016/j.ejca.2019.11.013",
    ),
    Guideline(
        INSTITUTIONAL,
        "Institutional protocol",
        "Institutional protocol (reference required)",
        "",
        None,
        "",
        needs_reference=True,
    ),
    Guideline(
        NATIONAL,
        "National guideline",
        "National guideline (name and reference required)",
        "",
        None,
        "",
        needs_reference=True,
    ),
    Guideline(NONE, "None", "None", "", None, ""),
)

BY_KEY: dict[str, Guideline] = {g.key: g for g in GUIDELINES}

# The choices of Recommendation.guideline. Short labels are for the choice list only; what a
# reader sees is `guideline_text` (the full title). Published titles are not translated.
CHOICES = [(g.key, g.label) for g in GUIDELINES]
KEY_MAX_LENGTH = 32

# "2.2025": NCCN numbers its versions by revision and year.
VERSION = re.compile(r"^[0-9]{1,2}\.[0-9]{4}$")


def get(key: str) -> Guideline:
    try:
        return BY_KEY[key]
    except KeyError:
        raise KeyError(f"no guideline {key!r} in decisions/guidelines.py") from None


def check(key: str, *, version: str = "", reference: str = "") -> dict[str, str]:
    """What a recommendation citing `key` lacks: {field name: message}, empty when complete."""
    guideline = BY_KEY.get(key)
    if guideline is None:
        return {"guideline": _("Choose a guideline from the list.")}
    errors = {}
    version = (version or "").strip()
    if guideline.needs_version:
        if not version:
            errors["guideline_version"] = _(
                "%(name)s is revised several times a year: give the version you followed, "
                "e.g. 2.2025."
            ) % {"name": guideline.name}
        elif not VERSION.match(version):
            errors["guideline_version"] = _(
                "Write the version as NCCN prints it, revision and year: e.g. 2.2025."
            )
    elif version:
        errors["guideline_version"] = _("Only NCCN guidelines take a version here.")
    if guideline.needs_reference and not (reference or "").strip():
        errors["guideline_reference"] = _(
            "%(name)s: give its name or reference, with the edition and section you followed."
        ) % {"name": guideline.name}
    return errors


def guideline_text(key: str, *, version: str = "", reference: str = "") -> str:
    """The guideline as a proposal, a consensus and the report print it: the full title, the
    year or version, and the reference (section, or the protocol's name) entered."""
    guideline = BY_KEY.get(key)
    if guideline is None:  # a key removed from the table: print what was stored
        text = key
    elif guideline.key == NONE:
        text = _("None")
    else:
        text = guideline.name
        if guideline.needs_version:
            text += ", " + (
                _("Version %(version)s") % {"version": version}
                if version
                else _("version not recorded")
            )
        elif guideline.year:
            text += f" ({guideline.year})"
    if reference:
        text = f"{text} — {reference}"
    return text

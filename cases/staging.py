"""Sarcoma grade and stage, computed from the structured data.

FNCLCC grade (Trojani/Coindre): differentiation 1-3 + mitotic score 1-3 +
necrosis 0-2; total 2-3 is G1, 4-5 G2, 6-8 G3.

AJCC 8th edition (2017) soft-tissue sarcoma stage groups, for the two sites
where the edition defines them from T, N, M and grade: trunk and extremity,
and retroperitoneum. Head and neck, visceral and bone sarcomas use other
schemes, so no stage is computed for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


def mitotic_score(mitoses_per_10_hpf: int) -> int:
    if mitoses_per_10_hpf < 0:
        raise ValueError("a mitotic count cannot be negative")
    if mitoses_per_10_hpf <= 9:
        return 1
    if mitoses_per_10_hpf <= 19:
        return 2
    return 3


def fnclcc_grade(
    *, differentiation: int | None, mitoses_per_10_hpf: int | None, necrosis: int | None
) -> int | None:
    """The FNCLCC grade (1, 2 or 3), or None while a score is missing."""
    if differentiation is None or mitoses_per_10_hpf is None or necrosis is None:
        return None
    if differentiation not in (1, 2, 3):
        raise ValueError("differentiation scores 1 to 3")
    if necrosis not in (0, 1, 2):
        raise ValueError("necrosis scores 0 to 2")
    total = differentiation + mitotic_score(mitoses_per_10_hpf) + necrosis
    if total <= 3:
        return 1
    if total <= 5:
        return 2
    return 3


def t_category(size_cm: Decimal | float | None) -> str | None:
    """AJCC 8th T for trunk/extremity and retroperitoneum: by greatest dimension."""
    if size_cm is None:
        return None
    size = Decimal(str(size_cm))
    if size <= 0:
        raise ValueError("a tumour size must be positive")
    if size <= 5:
        return "T1"
    if size <= 10:
        return "T2"
    if size <= 15:
        return "T3"
    return "T4"


TRUNK_EXTREMITY = "extremity_trunk"
RETROPERITONEUM = "retroperitoneum"
STAGED_SITES = (TRUNK_EXTREMITY, RETROPERITONEUM)


@dataclass(frozen=True)
class Stage:
    group: str | None  # "IA", "IB", "II", "IIIA", "IIIB", "IV" or None
    tnm: str  # e.g. "T2 N0 M0 G3"; parts that are unknown read "TX", "GX"
    note: str = ""  # why no group was computed


def ajcc_stage(
    *,
    site: str | None,
    size_cm: Decimal | float | None,
    n: str | None,
    m: str | None,
    grade: int | None,
) -> Stage:
    t = t_category(size_cm)
    g = f"G{grade}" if grade else "GX"
    tnm = f"{t or 'TX'} {n or 'NX'} {m or 'MX'} {g}"
    if site not in STAGED_SITES:
        return Stage(None, tnm, "AJCC 8th defines no stage groups for this site.")
    if m == "M1":
        return Stage("IV", tnm)
    if m != "M0":
        return Stage(None, tnm, "Distant metastasis (M) is not known.")
    if n == "N1":
        # Nodal disease is stage IV on the trunk and extremities, IIIB in the retroperitoneum.
        return Stage("IV" if site == TRUNK_EXTREMITY else "IIIB", tnm)
    if n != "N0":
        return Stage(None, tnm, "Regional nodes (N) are not known.")
    if t is None:
        return Stage(None, tnm, "The tumour size is not known.")
    # GX is grouped with G1 in the AJCC 8th tables.
    if grade is None:
        return Stage("IA" if t == "T1" else "IB", tnm, "Grade unknown (GX): grouped as G1.")
    if grade == 1:
        return Stage("IA" if t == "T1" else "IB", tnm)
    if t == "T1":
        return Stage("II", tnm)
    if t == "T2":
        return Stage("IIIA", tnm)
    return Stage("IIIB", tnm)

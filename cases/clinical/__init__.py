"""Consilium's clinical engine: grade, stage and GIST risk from published standards.

Pure functions over data tables, no models, forms or database: the case model, form and
report will call it later (cases/staging.py stays what the app uses until then).

- `who`: the WHO Classification of Soft Tissue and Bone Tumours, 5th ed. (2020) entities
  with ICD-O-3 codes and the flags that decide which systems apply; a search for forms; the
  mapping of today's `Histotype` values (ambiguous ones → needs review).
- `grading`: FNCLCC grade from partial or complete scores, reported grades, the
  neoadjuvant rule.
- `staging`: AJCC 8th edition T and stage group by entity and site family.
- `gist`: AFIP/Miettinen 2006 and modified NIH/Joensuu 2008 GIST risk.

Every result names the system that produced it, or says in words why none applies.
"""

from cases.clinical.gist import GistRisk, afip_risk, joensuu_risk
from cases.clinical.grading import GradeResult, GradeStatus, ReportedGrade, Specimen, grade
from cases.clinical.staging import Extent, StageResult, stage
from cases.clinical.who import Entity, get_entity, map_histotype, search_entities

__all__ = [
    "Entity",
    "Extent",
    "GistRisk",
    "GradeResult",
    "GradeStatus",
    "ReportedGrade",
    "Specimen",
    "StageResult",
    "afip_risk",
    "get_entity",
    "grade",
    "joensuu_risk",
    "map_histotype",
    "search_entities",
    "stage",
]

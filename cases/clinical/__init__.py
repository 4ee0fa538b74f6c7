"""Consilium's clinical engine: grade, stage and GIST risk from published standards.

Pure functions over data tables, no models, forms or database: `cases/record.py` feeds it
a case's fields, and the case page, the live page and the report show what it returns.

- `who`: the WHO Classification of Soft Tissue and Bone Tumours, 5th ed. (2020) entities
  with ICD-O-3 codes and the flags that decide which systems apply; a search for forms; the
  mapping of today's `Histotype` values (ambiguous ones → needs review).
- `grading`: FNCLCC grade from partial or complete scores, reported grades, the
  neoadjuvant rule.
- `staging`: AJCC 8th edition T and stage group by entity and site family.
- `gist`: AFIP/Miettinen 2006 and modified NIH/Joensuu 2008 GIST risk.
- `topography`: ICD-O-3 topography codes of the primary site.

Every result names the system that produced it, or says in words why none applies.
"""

from cases.clinical.gist import GistRisk, afip_risk, joensuu_risk
from cases.clinical.grading import GradeResult, GradeStatus, ReportedGrade, Specimen, grade
from cases.clinical.staging import Extent, StageResult, stage
from cases.clinical.topography import TOPOGRAPHY, Topography, get_topography, search_topography
from cases.clinical.who import ENTITIES, Entity, get_entity, map_histotype, search_entities

__all__ = [
    "ENTITIES",
    "TOPOGRAPHY",
    "Entity",
    "Extent",
    "GistRisk",
    "GradeResult",
    "GradeStatus",
    "ReportedGrade",
    "Specimen",
    "StageResult",
    "Topography",
    "afip_risk",
    "get_entity",
    "get_topography",
    "grade",
    "joensuu_risk",
    "map_histotype",
    "search_entities",
    "search_topography",
    "stage",
]

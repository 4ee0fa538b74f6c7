"""AJCC Cancer Staging Manual, 8th edition (Amin MB et al., Springer 2017): the T rules and
prognostic stage groups for soft-tissue sarcoma, GIST and bone, transcribed as tables.

Sources read for this transcription (the manual itself is not public):
- ch. 38 Bone: pathologyoutlines.com "Staging - bone" (AJCC 8 pTNM: appendicular/trunk/skull
  T1 <=8 cm, T2 >8 cm, T3 discontinuous; spine T1-T4b; M1a lung, M1b other); AJCC 8 chapter
  summary (skyscape AJCC 8 e-book: "pelvis and spine each have a separate TNM but not a
  separate stage grouping", "G1 low, G2 and G3 high"); NHS Digital TNM staging sheet for bone
  (stage groups IA-IVB, identical in UICC 8/9); SEER EOD "Bone pelvis" schema (pelvic segments
  and extraosseous extension, sacroiliac joint / neuroforamen, external iliac vessels).
- ch. 40 Head and neck, ch. 41 Trunk and extremities, ch. 42 Abdomen and thoracic visceral
  organs: pathologyoutlines.com "Staging - head and neck" and the CAP soft-tissue checklist
  (essentialpathology.info) for the T definitions; ch. 42's list of tumours staged elsewhere
  (skyscape AJCC 8: DSRCT and EHE → ch. 45).
- ch. 41 and ch. 44 stage groups: the AJCC 8 tables as quoted by Fisher et al., Ann Surg
  Oncol 2018;25:1126 (trunk/extremity: N1 is stage IV) and Am J Clin Oncol 2018
  (retroperitoneum: T1 <=5, T2 5-10, T3 10-15, T4 >15 cm; II G2/3 <=5 cm, IIIA G2/3 5-10 cm,
  IIIB G2/3 >10 cm); the retroperitoneal N1 M0 → IIIB row was written from the manual as
  known (it is the issue's rule too).
- ch. 43 GIST: NHS Digital TNM staging sheet for GIST and wikidoc (AJCC stage tables,
  gastric/omental and small intestinal/other), UICC TNM GIST page (T1-T4 by 2/5/10 cm,
  mitotic rate low <=5 / high >5 per 5 mm² = 50 HPF; NX may be considered N0).
- ch. 45 Unusual histologies and sites: no TNM stage is computed (written from the manual as
  known: the chapter collects data, it does not define stage groups).

A stage row reads: group, then the sets of T, N, M and G it covers (ANY = any value).
"""

from __future__ import annotations

ANY = None  # a row's "any T / any N / any M / any G"

# --- Site families --------------------------------------------------------------------
TRUNK_EXTREMITY = "trunk_extremity"
RETROPERITONEUM = "retroperitoneum"
HEAD_NECK = "head_neck"
VISCERAL = "visceral"
UNUSUAL = "unusual"
BONE_APPENDICULAR = "bone_appendicular"  # appendicular skeleton, trunk, skull, facial bones
BONE_PELVIS = "bone_pelvis"
BONE_SPINE = "bone_spine"
GIST_GASTRIC = "gist_gastric"  # stomach and omentum
GIST_INTESTINAL = (
    "gist_intestinal"  # small intestine, oesophagus, colorectum, mesentery, peritoneum
)

SOFT_TISSUE_FAMILIES = (TRUNK_EXTREMITY, RETROPERITONEUM, HEAD_NECK, VISCERAL, UNUSUAL)
BONE_FAMILIES = (BONE_APPENDICULAR, BONE_PELVIS, BONE_SPINE)

SYSTEMS = {
    TRUNK_EXTREMITY: "AJCC 8th edition, soft tissue sarcoma of the trunk and extremities (ch. 41)",
    RETROPERITONEUM: "AJCC 8th edition, soft tissue sarcoma of the retroperitoneum (ch. 44)",
    HEAD_NECK: "AJCC 8th edition, soft tissue sarcoma of the head and neck (ch. 40)",
    VISCERAL: "AJCC 8th edition, soft tissue sarcoma of the abdomen and thoracic visceral "
    "organs (ch. 42)",
    UNUSUAL: "AJCC 8th edition, soft tissue sarcoma, unusual histologies and sites (ch. 45)",
    BONE_APPENDICULAR: "AJCC 8th edition, bone (ch. 38): appendicular skeleton, trunk, skull "
    "and facial bones",
    BONE_PELVIS: "AJCC 8th edition, bone (ch. 38): pelvis",
    BONE_SPINE: "AJCC 8th edition, bone (ch. 38): spine",
    GIST_GASTRIC: "AJCC 8th edition, gastrointestinal stromal tumour (ch. 43): gastric and omental",
    GIST_INTESTINAL: "AJCC 8th edition, gastrointestinal stromal tumour (ch. 43): small "
    "intestinal, oesophageal, colorectal, mesenteric and peritoneal",
}

# GIST primary sites → the stage table that applies (ch. 43: omental GIST use the gastric
# table; oesophagus, colorectum, mesentery and peritoneum use the small intestinal one).
GIST_SITES = {
    "stomach": GIST_GASTRIC,
    "omentum": GIST_GASTRIC,
    "duodenum": GIST_INTESTINAL,
    "jejunum_ileum": GIST_INTESTINAL,
    "oesophagus": GIST_INTESTINAL,
    "colon": GIST_INTESTINAL,
    "rectum": GIST_INTESTINAL,
    "mesentery": GIST_INTESTINAL,
    "peritoneum": GIST_INTESTINAL,
}

# Soft-tissue histologies that AJCC 8 ch. 42 sends to ch. 45 whatever the site.
UNUSUAL_HISTOLOGIES = frozenset(
    {"desmoplastic_small_round_cell_tumour", "epithelioid_haemangioendothelioma"}
)

# --- T by size: (upper bound in cm, inclusive, → T); None closes the last band ----------
SIZE_T = {
    TRUNK_EXTREMITY: ((5, "T1"), (10, "T2"), (15, "T3"), (None, "T4")),
    RETROPERITONEUM: ((5, "T1"), (10, "T2"), (15, "T3"), (None, "T4")),
    HEAD_NECK: ((2, "T1"), (4, "T2"), (None, "T3")),
    BONE_APPENDICULAR: ((8, "T1"), (None, "T2")),
    GIST_GASTRIC: ((2, "T1"), (5, "T2"), (10, "T3"), (None, "T4")),
    GIST_INTESTINAL: ((2, "T1"), (5, "T2"), (10, "T3"), (None, "T4")),
}

# ch. 40: invasion of adjoining structures overrides size.
HEAD_NECK_INVASION = {
    "none": None,
    "T4a": "orbit, skull base/dura, central compartment viscera, facial skeleton or "
    "pterygoid muscles",
    "T4b": "brain parenchyma, carotid encasement, prevertebral muscle or CNS via perineural spread",
}

# ch. 42: T by organ involvement, not size.
VISCERAL_EXTENT_T = {
    "organ_confined": "T1",
    "serosa": "T2a",  # invades serosa or visceral peritoneum
    "beyond_serosa": "T2b",  # extension beyond serosa (mesentery)
    "another_organ": "T3",
    "multifocal": None,  # T4a/b/c by the number of sites
}
VISCERAL_MULTIFOCAL_T = ((2, "T4a"), (5, "T4b"), (None, "T4c"))  # 2 / 3-5 / >5 sites

# ch. 38 pelvis: (segments, extraosseous extension) → T before the a/b size suffix.
PELVIS_BONE_T = {(1, False): "T1", (1, True): "T2", (2, False): "T2", (2, True): "T3"}
PELVIS_SIZE_SUFFIX = ((8, "a"), (None, "b"))

# ch. 38 spine: adjacent vertebral segments involved (of the five: right/left pedicle,
# right/left body, posterior element) → T.
SPINE_SEGMENTS_T = ((2, "T1"), (3, "T2"), (None, "T3"))

# --- Stage groups ---------------------------------------------------------------------
_LOW = frozenset({"G1", "GX"})  # AJCC 8 groups GX with G1 (ch. 41, 44; ch. 38)
_HIGH = frozenset({"G2", "G3"})
_N0, _N1 = frozenset({"N0"}), frozenset({"N1"})
_M0 = frozenset({"M0"})


def _t(*values: str) -> frozenset[str]:
    return frozenset(values)


# ch. 41 Trunk and extremities.
TRUNK_EXTREMITY_GROUPS = (
    ("IA", _t("T1"), _N0, _M0, _LOW),
    ("IB", _t("T2", "T3", "T4"), _N0, _M0, _LOW),
    ("II", _t("T1"), _N0, _M0, _HIGH),
    ("IIIA", _t("T2"), _N0, _M0, _HIGH),
    ("IIIB", _t("T3", "T4"), _N0, _M0, _HIGH),
    ("IV", ANY, _N1, _M0, ANY),
    ("IV", ANY, ANY, frozenset({"M1"}), ANY),
)

# ch. 44 Retroperitoneum: the same, except nodal disease without metastasis is IIIB.
RETROPERITONEUM_GROUPS = (
    ("IA", _t("T1"), _N0, _M0, _LOW),
    ("IB", _t("T2", "T3", "T4"), _N0, _M0, _LOW),
    ("II", _t("T1"), _N0, _M0, _HIGH),
    ("IIIA", _t("T2"), _N0, _M0, _HIGH),
    ("IIIB", _t("T3", "T4"), _N0, _M0, _HIGH),
    ("IIIB", ANY, _N1, _M0, ANY),
    ("IV", ANY, ANY, frozenset({"M1"}), ANY),
)

# ch. 38 Appendicular skeleton, trunk, skull and facial bones.
BONE_APPENDICULAR_GROUPS = (
    ("IA", _t("T1"), _N0, _M0, _LOW),
    ("IB", _t("T2", "T3"), _N0, _M0, _LOW),
    ("IIA", _t("T1"), _N0, _M0, _HIGH),
    ("IIB", _t("T2"), _N0, _M0, _HIGH),
    ("III", _t("T3"), _N0, _M0, _HIGH),
    ("IVA", ANY, _N0, frozenset({"M1a"}), ANY),
    ("IVB", ANY, _N1, ANY, ANY),
    ("IVB", ANY, ANY, frozenset({"M1b"}), ANY),
)

# ch. 43 GIST; the G column is the mitotic rate.
_LOW_RATE, _HIGH_RATE = frozenset({"low"}), frozenset({"high"})
GIST_GASTRIC_GROUPS = (
    ("IA", _t("T1", "T2"), _N0, _M0, _LOW_RATE),
    ("IB", _t("T3"), _N0, _M0, _LOW_RATE),
    ("II", _t("T1", "T2"), _N0, _M0, _HIGH_RATE),
    ("II", _t("T4"), _N0, _M0, _LOW_RATE),
    ("IIIA", _t("T3"), _N0, _M0, _HIGH_RATE),
    ("IIIB", _t("T4"), _N0, _M0, _HIGH_RATE),
    ("IV", ANY, _N1, _M0, ANY),
    ("IV", ANY, ANY, frozenset({"M1"}), ANY),
)
GIST_INTESTINAL_GROUPS = (
    ("I", _t("T1", "T2"), _N0, _M0, _LOW_RATE),
    ("II", _t("T3"), _N0, _M0, _LOW_RATE),
    ("IIIA", _t("T1"), _N0, _M0, _HIGH_RATE),
    ("IIIA", _t("T4"), _N0, _M0, _LOW_RATE),
    ("IIIB", _t("T2", "T3", "T4"), _N0, _M0, _HIGH_RATE),
    ("IV", ANY, _N1, _M0, ANY),
    ("IV", ANY, ANY, frozenset({"M1"}), ANY),
)

STAGE_GROUPS = {
    TRUNK_EXTREMITY: TRUNK_EXTREMITY_GROUPS,
    RETROPERITONEUM: RETROPERITONEUM_GROUPS,
    BONE_APPENDICULAR: BONE_APPENDICULAR_GROUPS,
    GIST_GASTRIC: GIST_GASTRIC_GROUPS,
    GIST_INTESTINAL: GIST_INTESTINAL_GROUPS,
}

# The values each family's T, M and G can take (what a missing value may turn out to be).
T_DOMAIN = {
    TRUNK_EXTREMITY: ("T1", "T2", "T3", "T4"),
    RETROPERITONEUM: ("T1", "T2", "T3", "T4"),
    BONE_APPENDICULAR: ("T1", "T2", "T3"),
    GIST_GASTRIC: ("T1", "T2", "T3", "T4"),
    GIST_INTESTINAL: ("T1", "T2", "T3", "T4"),
}
SOFT_TISSUE_M = ("M0", "M1")
BONE_M = ("M0", "M1a", "M1b")
THREE_TIER_G = ("G1", "G2", "G3", "GX")
GIST_RATE = ("low", "high")

# Why no stage group, for the families that have none.
NO_GROUPS = {
    HEAD_NECK: "AJCC 8th edition defines no stage groups for head and neck soft tissue "
    "sarcoma (ch. 40).",
    VISCERAL: "AJCC 8th edition defines no stage groups for visceral soft tissue sarcoma (ch. 42).",
    UNUSUAL: "AJCC 8th edition defines neither T categories nor stage groups for unusual "
    "histologies and sites (ch. 45).",
    BONE_PELVIS: "AJCC 8th edition defines no stage groups for bone sarcoma of the pelvis "
    "(ch. 38).",
    BONE_SPINE: "AJCC 8th edition defines no stage groups for bone sarcoma of the spine (ch. 38).",
}

# Mitotic rate for GIST (ch. 43): low <= 5, high > 5 mitoses per 5 mm² (50 HPF).
GIST_LOW_RATE_MAX = 5

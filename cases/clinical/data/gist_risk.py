"""GIST risk of progression tables: AFIP (Miettinen & Lasota 2006) and modified NIH (Joensuu 2008).

AFIP / Miettinen: Miettinen M, Lasota J. "Gastrointestinal stromal tumors: pathology and
prognosis at different sites." Semin Diagn Pathol 2006;23:70-83, as reproduced by the NCI PDQ
GIST treatment summary (Table 1, after Corless & Heinrich, Annu Rev Pathol 2008), by Hindawi
ISRN 2012 (Table 2, "AFIP-Miettinen risk stratification") and by the NCCN table
(omicsonline). Rows: mitoses per 50 HPF (<= 5 / > 5, i.e. per 5 mm²) and size band
(<= 2, > 2-5, > 5-10, > 10 cm); columns: stomach, duodenum, jejunum/ileum, rectum.

The reproductions agree on the stomach and rectum columns. For the small intestine the
column order differs between reproductions (NCI/NCCN print duodenum before jejunum/ileum,
the original paper as remembered prints jejunum/ileum first), so the three cells whose value
depends on that order (5-10 cm low rate; <= 2 cm and 5-10 cm high rate) are stored as
CONFLICT: the engine then asks a person to read the original rather than guess.

Modified NIH / Joensuu: Joensuu H. "Risk stratification of patients diagnosed with
gastrointestinal stromal tumor." Hum Pathol 2008;39:1411-19, Table (read in the abstract and
medicalalgorithms.com's summary; the intermediate row "< 2.0 cm, 6-10 mitoses, any site" is
from the paper as known and is read here as <= 2.0 cm).
"""

from __future__ import annotations

NONE = "none"
VERY_LOW = "very_low"
LOW = "low"
MODERATE = "moderate"  # AFIP's word; Joensuu says "intermediate"
INTERMEDIATE = "intermediate"
HIGH = "high"
INSUFFICIENT = "insufficient_data"  # the published cell has too few cases
CONFLICT = "sources_disagree"  # reproductions of the table disagree: check the original

AFIP_SITES = ("stomach", "duodenum", "jejunum_ileum", "rectum")
SIZE_BANDS = ((2, "<=2"), (5, ">2-5"), (10, ">5-10"), (None, ">10"))
RATE_LOW_MAX = 5  # mitoses per 5 mm² (50 HPF)

# (rate band, size band) → {site: category}
AFIP = {
    ("low", "<=2"): {"stomach": NONE, "duodenum": NONE, "jejunum_ileum": NONE, "rectum": NONE},
    ("low", ">2-5"): {"stomach": VERY_LOW, "duodenum": LOW, "jejunum_ileum": LOW, "rectum": LOW},
    ("low", ">5-10"): {
        "stomach": LOW,
        "duodenum": CONFLICT,
        "jejunum_ileum": CONFLICT,
        "rectum": INSUFFICIENT,
    },
    ("low", ">10"): {
        "stomach": MODERATE,
        "duodenum": HIGH,
        "jejunum_ileum": HIGH,
        "rectum": HIGH,
    },
    ("high", "<=2"): {
        "stomach": NONE,
        "duodenum": CONFLICT,
        "jejunum_ileum": CONFLICT,
        "rectum": HIGH,
    },
    ("high", ">2-5"): {
        "stomach": MODERATE,
        "duodenum": HIGH,
        "jejunum_ileum": HIGH,
        "rectum": HIGH,
    },
    ("high", ">5-10"): {
        "stomach": HIGH,
        "duodenum": CONFLICT,
        "jejunum_ileum": CONFLICT,
        "rectum": INSUFFICIENT,
    },
    ("high", ">10"): {"stomach": HIGH, "duodenum": HIGH, "jejunum_ileum": HIGH, "rectum": HIGH},
}

# Joensuu 2008, first matching row wins. Each row: category, size (exclusive low, inclusive
# high; None = open), mitoses per 50 HPF (same), sites ("gastric", "nongastric" or ANY),
# rupture (True, or ANY).
ANY = None
JOENSUU = (
    (HIGH, (None, None), (None, None), ANY, True),  # tumour rupture
    (HIGH, (10, None), (None, None), ANY, ANY),  # > 10 cm
    (HIGH, (None, None), (10, None), ANY, ANY),  # > 10 mitoses
    (HIGH, (5, None), (5, None), ANY, ANY),  # > 5 cm and > 5 mitoses
    (VERY_LOW, (None, 2), (None, 5), ANY, ANY),
    (LOW, (2, 5), (None, 5), ANY, ANY),
    (INTERMEDIATE, (None, 2), (5, 10), ANY, ANY),
    (INTERMEDIATE, (2, 5), (5, 10), "gastric", ANY),
    (HIGH, (2, 5), (5, 10), "nongastric", ANY),
    (INTERMEDIATE, (5, 10), (None, 5), "gastric", ANY),
    (HIGH, (5, 10), (None, 5), "nongastric", ANY),
)

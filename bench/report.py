"""How long the consensus PDF takes to render, beside the HTML it starts from.

    make bench-report                       # or .venv/bin/python bench/report.py
    .venv/bin/python bench/report.py --opinions 30 --images 8 --size 512 --runs 5
    .venv/bin/python bench/report.py --out /tmp/report.pdf     # keep one PDF to look at

The report is built from plain data (no database): a retroperitoneal dedifferentiated
liposarcoma with `--opinions` opinions across five specialties and `--images` key images
cut from the phantom CT, windowed for soft tissue and drawn with a length measurement.
In the same run the same report is rendered without its key images and without its
opinions, and the template alone is timed: that shows where the time goes.

Prints a table, then as its last line one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import io
import json
import logging
import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from time import perf_counter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "board.settings")

import django  # noqa: E402

django.setup()
# WeasyPrint logs each layout step at INFO; the table is what this prints.
logging.getLogger("weasyprint").setLevel(logging.WARNING)

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402
from pypdf import PdfReader  # noqa: E402

from cases.markdown import render_markdown  # noqa: E402
from cases.report import (  # noqa: E402
    ReportAttendee,
    ReportData,
    ReportDissent,
    ReportImage,
    ReportOpinion,
    ReportProposal,
    ReportSignature,
    ReportSpecialty,
    ReportStudy,
    render_report_pdf,
    report_html,
    report_sha256,
)
from imaging.phantom import phantom_series  # noqa: E402
from imaging.pixels import window_to_grey  # noqa: E402

SOFT_TISSUE = (40, 400)
UTC = datetime.UTC
MEETING = datetime.datetime(2025, 3, 14, 16, 0, tzinfo=UTC)

SPECIALTIES = (
    ("Pathology", "Dr Anna Keller"),
    ("Radiology", "Dr Jonas Weber"),
    ("Surgical oncology", "Prof. Laura Bianchi"),
    ("Medical oncology", "Dr Samir Haddad"),
    ("Radiation oncology", "Dr Ingrid Nilsen"),
)
OPINION_TEXTS = {
    "Pathology": (
        "Core biopsy reviewed. **Dedifferentiated liposarcoma**: well-differentiated "
        "component with an abrupt transition to a high-grade non-lipogenic spindle cell "
        "component.\n\n"
        "- *MDM2* amplification confirmed by FISH (ratio > 10)\n"
        "- FNCLCC: differentiation 3, mitoses 2 (14/10 HPF), necrosis 1 → **grade 3**\n\n"
        "Concordant with the referring diagnosis."
    ),
    "Radiology": (
        "CT chest/abdomen/pelvis with contrast: heterogeneous retroperitoneal mass, "
        "18 × 14 × 12 cm, fatty component laterally, solid enhancing nodule medially "
        "abutting the left psoas. Left kidney displaced, not invaded on imaging. "
        "No lung or liver metastases. Staging **cT2b N0 M0**."
    ),
    "Surgical oncology": (
        "Resectable. Plan an *en bloc* compartmental resection including the left "
        "kidney and colon if adherent; psoas fascia as the posterior margin.\n\n"
        "| Structure | Plan |\n|---|---|\n| Left kidney | resect en bloc |\n"
        "| Descending colon | resect if adherent |\n| Psoas | fascia as margin |"
    ),
    "Medical oncology": (
        "Neoadjuvant chemotherapy is not standard for dedifferentiated liposarcoma; "
        "consider the trial if eligible. Otherwise surgery first. Doxorubicin-based "
        "therapy at relapse."
    ),
    "Radiation oncology": (
        "Preoperative radiotherapy (50.4 Gy in 28 fractions) is **not** recommended "
        "after STRASS for this histotype; no benefit in abdominal recurrence-free survival."
    ),
}


def key_images(count: int, size: int) -> list[ReportImage]:
    """`count` phantom CT slices, soft-tissue window, each with a measured line on it."""
    images: list[ReportImage] = []
    if count < 1:
        return images
    for index, dataset in enumerate(phantom_series(slices=count, size=size)):
        stored = np.frombuffer(dataset.PixelData, dtype="<u2").reshape(size, size)
        hu = stored.astype(np.float32) * float(dataset.RescaleSlope)
        hu += float(dataset.RescaleIntercept)
        image = Image.fromarray(window_to_grey(hu, *SOFT_TISSUE), mode="L").convert("RGB")
        draw = ImageDraw.Draw(image)
        a, b = (size * 0.30, size * 0.18), (size * 0.55, size * 0.30)
        draw.line([a, b], fill=(255, 200, 0), width=max(1, size // 256))
        out = io.BytesIO()
        image.save(out, format="PNG", compress_level=1)
        caption = (
            f"CT, portal venous phase, axial slice {dataset.InstanceNumber} of {count}: "
            f"solid component medially, {62 + index} mm."
        )
        images.append(ReportImage(png=out.getvalue(), caption=caption))
    return images


def sample_data(*, opinions: int = 30, images: int = 8, size: int = 512) -> ReportData:
    by_specialty: dict[str, list[ReportOpinion]] = {label: [] for label, _ in SPECIALTIES}
    for index in range(opinions):
        label, author = SPECIALTIES[index % len(SPECIALTIES)]
        round_ = index // len(SPECIALTIES)
        text = OPINION_TEXTS[label]
        if round_:
            text = f"Follow-up {round_}: agree with the discussion so far. " + text
        by_specialty[label].append(
            ReportOpinion(
                author=author,
                written_at=MEETING - datetime.timedelta(days=6 - round_ % 6, hours=index),
                html=render_markdown(text),
            )
        )
    recommendation = render_markdown(
        "1. **Surgery first**: *en bloc* resection of the retroperitoneal mass with the left "
        "kidney at a sarcoma reference centre (target R0).\n"
        "2. **No** preoperative radiotherapy; no neoadjuvant chemotherapy outside a trial.\n"
        "3. Follow-up CT chest/abdomen every 3–4 months for 2 years.\n"
        "4. Present again with the resection specimen."
    )
    return ReportData(
        board="Sarcoma Board, University Hospital Example",
        case_pseudonym="LPS-7QX2",
        version=2,
        supersedes=1,
        generated_at=MEETING + datetime.timedelta(hours=2, minutes=5),
        meeting_title="Sarcoma tumor board",
        meeting_date=MEETING,
        structured=(
            ("Histotype", "Dedifferentiated liposarcoma"),
            ("Primary site", "Retroperitoneum"),
            ("Size", "18 cm, deep to the fascia"),
            ("FNCLCC", "Grade 3 (differentiation 3 + mitoses 2 + necrosis 1)"),
            ("AJCC 8th", "Stage IIIB (T4 N0 M0, G3)"),
            ("Molecular", "MDM2 amplified (FISH)"),
            ("ECOG", "1"),
            ("Expert pathology review", "Concordant"),
        ),
        question=(
            "Is the mass resectable en bloc, and is preoperative radiotherapy or "
            "chemotherapy indicated?"
        ),
        studies=(
            ReportStudy(datetime.date(2025, 2, 27), "CT", "CT chest/abdomen/pelvis c+", 3, 612),
            ReportStudy(datetime.date(2025, 3, 3), "MR", "MRI abdomen", 7, 214),
        ),
        key_images=key_images(images, size),
        opinions=tuple(
            ReportSpecialty(label=label, opinions=tuple(items))
            for label, items in by_specialty.items()
        ),
        proposals=(
            ReportProposal(
                "En bloc resection, no preoperative treatment",
                "Surgery",
                agree=7,
                disagree=1,
                abstain=1,
                adopted=True,
            ),
            ReportProposal("Preoperative radiotherapy, then resection", "Radiotherapy", 1, 7, 1),
            ReportProposal("Neoadjuvant doxorubicin–ifosfamide", "Systemic therapy", 2, 6, 1),
        ),
        outcome="Adopted: en bloc resection, no preoperative treatment (P1)",
        rule="Simple majority of voting members present; abstentions not counted",
        quorum="Quorum met: 9 of 11 members present (minimum 5, pathology and radiology present)",
        dissent=(
            ReportDissent(
                "Dr Ingrid Nilsen", "Would consider preoperative radiotherapy in a trial."
            ),
        ),
        recommendation_html=recommendation,
        attendees=tuple(
            ReportAttendee(
                name,
                label,
                MEETING + datetime.timedelta(minutes=i),
                MEETING + datetime.timedelta(minutes=55),
            )
            for i, (label, name) in enumerate(SPECIALTIES)
        ),
        signatures=(
            ReportSignature("Prof. Laura Bianchi", "Chair", MEETING + datetime.timedelta(hours=2)),
        ),
    )


def timed(functions: dict[str, Callable[[], object]], runs: int) -> dict[str, tuple[float, object]]:
    """The median time and last result of each function. The functions take turns, run after
    run, so a machine that slows down part-way slows them all alike."""
    times: dict[str, list[float]] = {name: [] for name in functions}
    results: dict[str, object] = {}
    for _ in range(runs):
        for name, function in functions.items():
            start = perf_counter()
            results[name] = function()
            times[name].append(perf_counter() - start)
    return {name: (statistics.median(times[name]), results[name]) for name in functions}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--opinions", type=int, default=30)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--size", type=int, default=512, help="key image side in pixels")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, help="also write one rendered PDF here")
    args = parser.parse_args()

    start = perf_counter()
    data = sample_data(opinions=args.opinions, images=args.images, size=args.size)
    build_s = perf_counter() - start
    render_report_pdf(data)  # warm-up: fonts, template loading, imports
    no_images = dataclasses.replace(data, key_images=())
    no_opinions = dataclasses.replace(data, opinions=())
    results = timed(
        {
            "html": lambda: report_html(data),
            "pdf": lambda: render_report_pdf(data),
            "no_images": lambda: render_report_pdf(no_images),
            "no_opinions": lambda: render_report_pdf(no_opinions),
        },
        args.runs,
    )
    html_s = results["html"][0]
    report_s, pdf = results["pdf"]
    no_images_s = results["no_images"][0]
    no_opinions_s = results["no_opinions"][0]
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    if args.out:
        args.out.write_bytes(pdf)

    png_bytes = sum(len(image.png) for image in data.key_images)
    rows = [
        ("build data (phantom + PNGs)", f"{build_s * 1000:.0f} ms", "once"),
        ("template only (HTML)", f"{html_s * 1000:.1f} ms", f"median of {args.runs}"),
        ("render_report_pdf", f"{report_s * 1000:.0f} ms", f"median of {args.runs}"),
        ("  the same without key images", f"{no_images_s * 1000:.0f} ms", ""),
        ("  the same without opinions", f"{no_opinions_s * 1000:.0f} ms", ""),
        ("PDF pages", str(pages), ""),
        ("PDF size", f"{len(pdf) / 1024:.0f} KiB", f"key image PNGs {png_bytes / 1024:.0f} KiB"),
    ]
    print(
        f"Report: {args.opinions} opinions, {args.images} key images {args.size}×{args.size}, "
        f"Python {sys.version.split()[0]}"
    )
    width = max(len(row[0]) for row in rows)
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>10}  {note}")
    print(
        json.dumps(
            {
                "report_s": round(report_s, 4),
                "html_s": round(html_s, 4),
                "no_images_s": round(no_images_s, 4),
                "no_opinions_s": round(no_opinions_s, 4),
                "pages": pages,
                "bytes": len(pdf),
                "opinions": args.opinions,
                "key_images": args.images,
                "size": args.size,
                "sha256": report_sha256(pdf),
            }
        )
    )


if __name__ == "__main__":
    main()

"""How long the consensus PDF takes to make for a case with 30 opinions and 8 key images,
for each copy (panel, referrer, patient).

    make bench-report                       # or .venv/bin/python bench/report.py
    .venv/bin/python bench/report.py --opinions 30 --images 8 --size 512 --runs 5
    .venv/bin/python bench/report.py --out /tmp/report.pdf     # keep the real PDFs to look at
                                            # (report-panel.pdf, report-referrer.pdf, ...)

The headline (`report_s`) is the real path: a throw-away SQLite database and media folder
(never the app's own), migrated, holding a retroperitoneal dedifferentiated liposarcoma with
a phantom CT series, `--images` key images on it (soft-tissue window, a length measurement
each), `--opinions` opinions across five specialties, three proposals voted on in a meeting
with attendance, and a signed consensus. What `report_generate` does is then timed, short of
storing the file: `report_data(consensus, audience)` (database reads, key images drawn from
the DICOM) plus `render_report_pdf`, for the panel copy (the headline) and, side by side in
the same run, the referrer and patient copies (half the key images released with the
report, no opinions on the referrer copy since the board does not share them).

In the same run the same kind of report is rendered from plain data (no database): whole,
without its key images, without its opinions, and the template alone. That shows where the
time goes.

Prints a table, then as its last line one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import datetime
import io
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from time import perf_counter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "board.settings")
# Everything the real path writes goes to a folder of its own, removed at exit: the app's
# database, media and outgoing mail are never touched.
SCRATCH = Path(tempfile.mkdtemp(prefix="consilium-bench-report-"))
atexit.register(shutil.rmtree, SCRATCH, ignore_errors=True)
os.environ["DATABASE_URL"] = f"sqlite:///{SCRATCH / 'bench.sqlite3'}"
os.environ["MEDIA_ROOT"] = str(SCRATCH / "media")
os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
os.environ.pop("REDIS_URL", None)  # the in-memory channel layer and cache

import django  # noqa: E402

django.setup()
# WeasyPrint logs each layout step at INFO; the table is what this prints.
logging.getLogger("weasyprint").setLevel(logging.WARNING)

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402
from pypdf import PdfReader  # noqa: E402

from cases.markdown import render_markdown  # noqa: E402
from decisions.render import (  # noqa: E402
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


# --- the real path: a case in a throw-away database ------------------------------------------

PASSWORD = "bench-password-5R!"  # noqa: S105 - the throw-away database's users
MEMBERS = (
    # username, first, last, specialty, role
    ("bianchi", "Laura", "Bianchi", "surgical_oncology", "chair"),
    ("keller", "Anna", "Keller", "pathology", "member"),
    ("weber", "Jonas", "Weber", "radiology", "member"),
    ("haddad", "Samir", "Haddad", "medical_oncology", "member"),
    ("nilsen", "Ingrid", "Nilsen", "radiation_oncology", "member"),
    ("rossi", "Marco", "Rossi", "surgical_oncology", "member"),
)
SPECIALTY_TEXT = {
    "pathology": "Pathology",
    "radiology": "Radiology",
    "surgical_oncology": "Surgical oncology",
    "medical_oncology": "Medical oncology",
    "radiation_oncology": "Radiation oncology",
}


def real_case(*, opinions: int, images: int, size: int, slices: int):
    """Build the case through the app's services; return its signed consensus."""
    from board.models import Board, Membership, QuorumRequirement, User
    from cases import services
    from cases.access import case_access
    from cases.models import Case, MolecularResult, PatientIdentity, Treatment
    from decisions import services as actions
    from imaging.ingest import ingest_many
    from imaging.models import Instance
    from imaging.services import annotation_create, key_image_create, key_image_release
    from meetings.models import AgendaItem, Attendance, Meeting

    call_command("migrate", verbosity=0, interactive=False)
    # The production hasher is slow on purpose; signing checks a password once here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    hashed = make_password(PASSWORD)
    board = Board.objects.create(
        name="Sarcoma Board, University Hospital Example",
        consensus_rule=Board.ConsensusRule.QUALIFIED_MAJORITY,
    )
    for specialty in ("pathology", "radiology", "surgical_oncology"):
        QuorumRequirement.objects.create(board=board, specialty=specialty)
    people = {}
    for username, first, last, specialty, role in MEMBERS:
        user = User.objects.create(
            username=username,
            first_name=first,
            last_name=last,
            specialty=specialty,
            password=hashed,
        )
        Membership.objects.create(user=user, board=board, role=role, specialty=specialty)
        people[username] = user
    referrer = User.objects.create(
        username="referrer", first_name="Paul", last_name="Meyer", password=hashed
    )
    case = Case.objects.create(
        board=board,
        submitted_by=referrer,
        referring_physician="Dr Paul Meyer",
        referring_institution="Example District Hospital",
        status=Case.Status.SCHEDULED,
        ready_at=timezone.now(),
        sex=Case.Sex.MALE,
        age=63,
        question=(
            "Is the mass resectable en bloc, and is preoperative radiotherapy or "
            "chemotherapy indicated?"
        ),
        entity="dedifferentiated_liposarcoma",
        topography="C48.0",
        laterality="left",
        primary_site="retroperitoneum",
        disease_setting=Case.Setting.PRIMARY,
        question_type="surgery",
        primary_imaging_modality="CT",
        chest_staging=Case.ChestStaging.NEGATIVE,
        size_cm=18,
        depth=Case.Depth.DEEP,
        differentiation_score=3,
        mitotic_count=14,
        necrosis=1,
        nodes="N0",
        metastasis="M0",
        molecular_findings="MDM2 amplified (FISH)",
        ecog=1,
        pathology_review=Case.PathologyReview.CONCORDANT,
    )
    MolecularResult.objects.create(
        case=case,
        method=MolecularResult.Method.FISH,
        target="MDM2 amplification",
        result=MolecularResult.Result.DETECTED,
        laboratory="Example Molecular Pathology",
    )
    Treatment.objects.create(
        case=case,
        kind=Treatment.Kind.SURGERY,
        procedure="Excisional biopsy",
        margin="R2",
    )
    PatientIdentity.objects.create(
        case=case,
        full_name="Erika Mustermann",
        date_of_birth=datetime.date(1962, 5, 17),
        hospital_number="EX-0042-1962",
    )
    chair = people["bianchi"]
    chair_access = case_access(chair, case)

    files = []
    for index, dataset in enumerate(phantom_series(slices=slices, size=size)):
        buffer = io.BytesIO()
        dataset.save_as(buffer, enforce_file_format=True)
        buffer.seek(0)
        files.append((f"IM{index:04d}", buffer))
    stored = ingest_many(case=case, by=people["weber"], files=files).stored
    if stored != slices:
        raise RuntimeError(f"the phantom ingest stored {stored} of {slices} slices")
    radiologist = case_access(people["weber"], case)
    instances = list(Instance.objects.filter(series__study__case=case))
    step = max(1, len(instances) // max(images, 1))
    for index, instance in enumerate(instances[::step][:images]):
        a, b = [size * 0.30, size * 0.18], [size * 0.55, size * 0.30]
        annotation_create(
            access=radiologist, instance=instance, frame=0, kind="length", points=[a, b]
        )
        key_image = key_image_create(
            access=radiologist,
            instance=instance,
            frame=0,
            state={"center": SOFT_TISSUE[0], "width": SOFT_TISSUE[1]},
            caption=f"Solid component medially, slice {instance.instance_number} ({index + 1})",
        )
        if index % 2 == 0:  # half of them released with the report to the referrer
            key_image_release(access=chair_access, key_image=key_image, released=True)

    authors = [p for p in people.values() if p.specialty in SPECIALTY_TEXT]
    by_specialty = {p.specialty: p for p in authors}
    for index in range(opinions):
        specialty = list(SPECIALTY_TEXT)[index % len(SPECIALTY_TEXT)]
        round_ = index // len(SPECIALTY_TEXT)
        text = OPINION_TEXTS[SPECIALTY_TEXT[specialty]]
        if round_:
            text = f"Follow-up {round_}: agree with the discussion so far. " + text
        services.opinion_post(access=case_access(by_specialty[specialty], case), body=text)

    proposals = [
        actions.proposal_create(
            access=case_access(people["rossi"], case),
            data={
                "category": "surgery",
                "text": "En bloc resection, no preoperative treatment.",
                "guideline": "esmo_sts_2021",
                "guideline_reference": "section 4.2",
                "evidence_level": "III",
                "grade": "A",
            },
        ),
        actions.proposal_create(
            access=case_access(people["nilsen"], case),
            data={"category": "radiotherapy", "text": "Preoperative RT 50.4 Gy, then resection."},
        ),
        actions.proposal_create(
            access=case_access(people["haddad"], case),
            data={"category": "systemic_therapy", "text": "Neoadjuvant doxorubicin–ifosfamide."},
        ),
    ]
    start = timezone.now() - datetime.timedelta(hours=1)
    meeting = Meeting.objects.create(
        board=board, title="Sarcoma tumor board", starts_at=start, created_by=chair
    )
    AgendaItem.objects.create(meeting=meeting, case=case, position=1)
    for minute, user in enumerate(people.values()):
        Attendance.objects.create(
            meeting=meeting,
            user=user,
            joined_at=start + datetime.timedelta(minutes=minute),
            seen_at=timezone.now(),  # present for the live vote; they leave after it
        )
    chair_access.case.refresh_from_db()
    round_ = actions.vote_round_open(access=chair_access, meeting=meeting)
    for username, user in people.items():
        agree = [proposals[0]] if username != "nilsen" else [proposals[1]]
        actions.vote_cast(
            access=case_access(user, case),
            round=round_,
            positions={
                str(p.uuid): "agree" if p in agree else "disagree" for p in round_.proposals.all()
            },
            comment="Would consider radiotherapy in a trial." if username == "nilsen" else "",
        )
    actions.vote_round_close(access=chair_access, round=round_)
    Attendance.objects.filter(meeting=meeting).update(
        left_at=start + datetime.timedelta(minutes=50)
    )
    consensus = actions.consensus_draft(access=chair_access, data=actions.consensus_initial(case))
    # Signing renders and stores the report after the commit, as in the app.
    return actions.consensus_sign(access=chair_access, consensus=consensus, password=PASSWORD)


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
    parser.add_argument("--size", type=int, default=512, help="phantom CT side in pixels")
    parser.add_argument("--slices", type=int, default=24, help="phantom CT slices")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, help="also write the real-path PDF here")
    args = parser.parse_args()

    from decisions.models import Consensus, Report
    from decisions.report_data import report_data

    start = perf_counter()
    signed = real_case(
        opinions=args.opinions, images=args.images, size=args.size, slices=max(args.slices, 1)
    )
    setup_s = perf_counter() - start
    stored = Report.objects.get(consensus=signed, audience="panel")

    def consensus():
        # Fresh each run, as report_generate loads it.
        return Consensus.objects.select_related(
            "case__board", "signed_by", "supersedes", "round__meeting"
        ).get(pk=signed.pk)

    real_data = report_data(consensus())
    data = sample_data(opinions=args.opinions, images=args.images, size=args.size)
    no_images = dataclasses.replace(data, key_images=())
    no_opinions = dataclasses.replace(data, opinions=())
    render_report_pdf(data)  # warm-up: fonts, template loading, imports
    results = timed(
        {
            "real": lambda: render_report_pdf(report_data(consensus())),
            "real_referrer": lambda: render_report_pdf(report_data(consensus(), "referrer")),
            "real_patient": lambda: render_report_pdf(report_data(consensus(), "patient")),
            "real_data": lambda: report_data(consensus()),
            "real_render": lambda: render_report_pdf(real_data),
            "html": lambda: report_html(data),
            "pdf": lambda: render_report_pdf(data),
            "no_images": lambda: render_report_pdf(no_images),
            "no_opinions": lambda: render_report_pdf(no_opinions),
        },
        args.runs,
    )
    report_s, pdf = results["real"]
    data_s = results["real_data"][0]
    render_s = results["real_render"][0]
    html_s = results["html"][0]
    synthetic_s = results["pdf"][0]
    no_images_s = results["no_images"][0]
    no_opinions_s = results["no_opinions"][0]
    reader = PdfReader(io.BytesIO(pdf))
    pages = len(reader.pages)
    copies = {"panel": (report_s, pdf)}
    for audience in ("referrer", "patient"):
        copies[audience] = results[f"real_{audience}"]
    if args.out:
        for audience, (_, copy) in copies.items():
            args.out.with_name(f"{args.out.stem}-{audience}{args.out.suffix}").write_bytes(copy)

    png_bytes = sum(len(image.png) for image in real_data.key_images)
    rows = [
        ("set-up: migrate, ingest, opinions, vote, sign", f"{setup_s:.1f} s", "once"),
        ("  report stored on signing", f"{stored.size / 1024:.0f} KiB", "report_generate"),
        ("report_data + render_report_pdf", f"{report_s * 1000:.0f} ms", f"median of {args.runs}"),
        *[
            (
                f"  {audience} copy",
                f"{copy_s * 1000:.0f} ms",
                f"{len(PdfReader(io.BytesIO(copy)).pages)} pages, {len(copy) / 1024:.0f} KiB, "
                f"×{copy_s / report_s:.2f} of the panel copy",
            )
            for audience, (copy_s, copy) in copies.items()
        ],
        ("  report_data (DB, key images drawn)", f"{data_s * 1000:.0f} ms", ""),
        ("  render_report_pdf of that data", f"{render_s * 1000:.0f} ms", ""),
        ("  PDF pages / size", f"{pages} / {len(pdf) / 1024:.0f} KiB", ""),
        ("  key image PNGs", f"{png_bytes / 1024:.0f} KiB", f"{len(real_data.key_images)}"),
        ("plain data, no database:", "", ""),
        ("  template only (HTML)", f"{html_s * 1000:.1f} ms", f"median of {args.runs}"),
        ("  render_report_pdf", f"{synthetic_s * 1000:.0f} ms", ""),
        ("  the same without key images", f"{no_images_s * 1000:.0f} ms", ""),
        ("  the same without opinions", f"{no_opinions_s * 1000:.0f} ms", ""),
    ]
    print(
        f"Report: {args.opinions} opinions, {args.images} key images from a "
        f"{args.size}×{args.size} CT, Python {sys.version.split()[0]}"
    )
    width = max(len(row[0]) for row in rows)
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>12}  {note}")
    print(
        json.dumps(
            {
                "report_s": round(report_s, 4),
                **{f"{a}_copy_s": round(copy_s, 4) for a, (copy_s, _) in copies.items()},
                "report_data_s": round(data_s, 4),
                "render_s": round(render_s, 4),
                "synthetic_s": round(synthetic_s, 4),
                "html_s": round(html_s, 4),
                "no_images_s": round(no_images_s, 4),
                "no_opinions_s": round(no_opinions_s, 4),
                "pages": pages,
                "bytes": len(pdf),
                "opinions": args.opinions,
                "key_images": len(real_data.key_images),
                "size": args.size,
                "setup_s": round(setup_s, 2),
            }
        )
    )


if __name__ == "__main__":
    main()

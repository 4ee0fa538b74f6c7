"""The consensus PDF: what it shows, that it is PDF/A-3b with its fonts and no attachments,
and that nothing a user wrote makes the renderer fetch a URL or read a file."""

from __future__ import annotations

import datetime
import hashlib
import io
import re
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader
from weasyprint import HTML

from cases.markdown import render_markdown
from decisions.render import (
    KEY_IMAGE_PREFIX,
    REPORT_ORIGIN,
    STATIC_PREFIX,
    ReportAttendee,
    ReportData,
    ReportDissent,
    ReportError,
    ReportFetchRefused,
    ReportImage,
    ReportMolecular,
    ReportOpinion,
    ReportProposal,
    ReportSection,
    ReportSignature,
    ReportSpecialty,
    ReportStudy,
    ReportTreatment,
    ReportURLFetcher,
    key_image_url,
    refuse_embedded_files,
    render_report_pdf,
    report_sha256,
)
from tests.decisions.factories import hostile_texts, image_xobjects, pdf_text

UTC = datetime.UTC
MEETING = datetime.datetime(2025, 3, 14, 16, 0, tzinfo=UTC)
RECOMMENDATION = "En bloc resection of the retroperitoneal mass at a sarcoma reference centre"
PASSWD = Path("/etc/passwd")


def png(colour: tuple[int, int, int], size: int = 96) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(out, format="PNG")
    return out.getvalue()


def report_data(**changes) -> ReportData:
    values = {
        "board": "Sarcoma Board, University Hospital Example",
        "case_pseudonym": "LPS-7QX2",
        "version": 2,
        "supersedes": 1,
        "generated_at": MEETING + datetime.timedelta(hours=2),
        "meeting_title": "Sarcoma tumor board",
        "meeting_date": MEETING,
        "structured": (
            ("Histotype", "Dedifferentiated liposarcoma"),
            ("Primary site", "Retroperitoneum"),
            ("FNCLCC", "Grade 3"),
            ("AJCC 8th", "Stage IIIB"),
        ),
        "record": (
            ReportSection(
                "Stage",
                (
                    ("Stage", "Stage IIIB (ypT4 N0 M0 G3)"),
                    ("System", "AJCC 8th edition, retroperitoneum (ch. 44)"),
                ),
                ("Nodes not assessed: staged N0, as AJCC 8 defines N0.",),
                key="stage",
            ),
        ),
        "treatments": (
            ReportTreatment(
                "Radiotherapy",
                "Preoperative (neoadjuvant)",
                datetime.date(2025, 1, 6),
                datetime.date(2025, 2, 12),
                detail="50.4 Gy in 28 fractions",
                response="Stable disease",
            ),
        ),
        "molecular": (
            ReportMolecular("FISH", "MDM2 amplification", "Detected / positive"),
            ReportMolecular("NGS", "TP53", "Detected / positive", germline=True),
        ),
        "question": "Is the mass resectable en bloc?",
        "studies": (ReportStudy(datetime.date(2025, 2, 27), "CT", "CT chest/abdomen", 3, 612),),
        "key_images": (
            ReportImage(png((200, 40, 40)), "Axial CT, solid component"),
            ReportImage(png((40, 200, 40)), "Coronal CT, relation to the kidney"),
            ReportImage(png((40, 40, 200)), "MRI T2, fatty component"),
        ),
        "opinions": (
            ReportSpecialty(
                "Pathology",
                (
                    ReportOpinion(
                        "Dr Anna Keller",
                        MEETING,
                        render_markdown("**MDM2** amplified; FNCLCC grade 3."),
                    ),
                ),
            ),
            ReportSpecialty(
                "Radiology",
                (ReportOpinion("Dr Jonas Weber", MEETING, render_markdown("18 cm mass.")),),
            ),
        ),
        "proposals": (
            ReportProposal("En bloc resection", "Surgery", agree=11, disagree=3, abstain=2),
            ReportProposal("Preoperative radiotherapy", "Radiotherapy", agree=4, disagree=9),
        ),
        "outcome": "Adopted: en bloc resection",
        "rule": "Simple majority of voting members",
        "quorum": "Quorum met: 16 of 18 members",
        "dissent": (ReportDissent("Dr Ingrid Nilsen", "Would consider radiotherapy in a trial"),),
        "recommendation_html": render_markdown(f"**{RECOMMENDATION}**."),
        "attendees": (
            ReportAttendee("Dr Anna Keller", "Pathology", MEETING, MEETING),
            ReportAttendee("Dr Jonas Weber", "Radiology", MEETING, None),
        ),
        "signatures": (ReportSignature("Prof. Laura Bianchi", "Chair", MEETING),),
    }
    values.update(changes)
    return ReportData(**values)


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return render_report_pdf(report_data())


@pytest.fixture(scope="module")
def reader(pdf) -> PdfReader:
    return PdfReader(io.BytesIO(pdf))


def test_pdf_holds_recommendation_tally_and_attendees(pdf):
    text = pdf_text(pdf)
    assert RECOMMENDATION in text
    # The tally table row: agree, disagree, abstain.
    assert re.search(r"En bloc resection 11 3 2\b", text)
    assert re.search(r"Preoperative radiotherapy 4 9 0\b", text)
    assert "Dr Anna Keller" in text
    assert "Dr Jonas Weber" in text
    assert "Prof. Laura Bianchi" in text
    assert "Would consider radiotherapy in a trial" in text
    assert "Dedifferentiated liposarcoma" in text
    assert "Stage IIIB (ypT4 N0 M0 G3)" in text and "50.4 Gy in 28 fractions" in text
    assert "Hereditary predisposition (germline)" in text


def test_every_page_names_the_case_version_and_page(reader):
    pages = len(reader.pages)
    assert pages >= 2
    for number, page in enumerate(reader.pages, start=1):
        text = " ".join(page.extract_text().split())
        assert f"Page {number} of {pages}" in text
        assert "LPS-7QX2" in text
    assert "report version 2" in " ".join(reader.pages[-1].extract_text().split())


def test_image_count_equals_key_images(reader):
    assert len(image_xobjects(reader)) == 3


def test_no_key_images_means_no_images():
    reader = PdfReader(io.BytesIO(render_report_pdf(report_data(key_images=()))))
    assert image_xobjects(reader) == set()


def test_pdf_has_no_embedded_files(reader):
    assert reader.attachments == {}
    catalog = reader.trailer["/Root"]
    names = catalog.get("/Names")
    assert names is None or "/EmbeddedFiles" not in names.get_object()
    assert "/AF" not in catalog


def test_pdf_declares_pdf_a_3b(reader):
    metadata = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    part = re.search(r"pdfaid:part(?:=\"|>)\s*(\d)", metadata)
    conformance = re.search(r"pdfaid:conformance(?:=\"|>)\s*([A-Za-z])", metadata)
    assert part and part[1] == "3"
    assert conformance and conformance[1] == "B"
    assert "/OutputIntents" in reader.trailer["/Root"]


def test_every_font_is_embedded(reader):
    fonts = {}
    for page in reader.pages:
        for name, font in page["/Resources"].get("/Font", {}).items():
            fonts[name] = font.get_object()
    assert fonts
    for name, font in fonts.items():
        if font["/Subtype"] == "/Type0":
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
        else:
            descriptor = font["/FontDescriptor"]
        descriptor = descriptor.get_object()
        assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor), name
        assert "DejaVu" in str(font["/BaseFont"]), font["/BaseFont"]


def test_same_data_renders_the_same_bytes(pdf):
    # A signed report can be checked by rendering its data again.
    assert report_sha256(render_report_pdf(report_data())) == report_sha256(pdf)


def test_report_sha256_is_the_hex_digest():
    assert report_sha256(b"abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    assert report_sha256(b"%PDF-1.7") == hashlib.sha256(b"%PDF-1.7").hexdigest()


def test_single_choice_round_shows_vote_counts():
    data = report_data(
        proposals=(
            ReportProposal("En bloc resection", chosen=12, adopted=True),
            ReportProposal("Observation", chosen=5),
        )
    )
    text = pdf_text(render_report_pdf(data))
    assert re.search(r"En bloc resection adopted 12\b", text)
    assert re.search(r"Observation 5\b", text)
    assert "Disagree" not in text


def test_text_fields_are_escaped():
    data = report_data(
        question="<b>bold?</b> & more",
        outcome="<i>x</i>",
        record=(ReportSection("Margins", (("Anatomical barrier", "<u>fascia</u>"),)),),
        treatments=(ReportTreatment("Surgery", detail="<em>R1</em>"),),
        molecular=(ReportMolecular("NGS", "<s>KIT</s>", "Detected"),),
    )
    text = pdf_text(render_report_pdf(data))
    assert "<b>bold?</b> & more" in text
    assert "<i>x</i>" in text
    assert "<u>fascia</u>" in text and "<em>R1</em>" in text and "<s>KIT</s>" in text


def test_a_key_image_that_is_not_png_is_refused():
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><image href="file:///etc/passwd"/></svg>'
    with pytest.raises(ReportError):
        render_report_pdf(report_data(key_images=(ReportImage(svg, "x"),)))


# --- nothing a user writes is fetched ---------------------------------------------------------


def test_user_text_causes_no_fetch_and_no_file_read(loopback):
    base, hits = loopback
    texts = hostile_texts(base)
    opinions = tuple(ReportOpinion("Dr Mallory", MEETING, render_markdown(text)) for text in texts)
    # The renderer cleans again, so even HTML that skipped render_markdown is inert.
    raw = tuple(ReportOpinion("Dr Raw", MEETING, text) for text in texts)
    board = f'Board</style><link rel="stylesheet" href="{base}/j.css">"\\'
    data = report_data(
        board=board,
        opinions=(ReportSpecialty("Pathology", opinions), ReportSpecialty("Surgery", raw)),
        recommendation_html=render_markdown("\n\n".join(texts)),
        question="\n".join(texts),
        record=(ReportSection("Diagnosis", tuple(("Diagnosis", t) for t in texts), texts),),
        treatments=tuple(ReportTreatment("Surgery", detail=t, notes=t) for t in texts),
        molecular=tuple(ReportMolecular("NGS", t, t, detail=t, laboratory=t) for t in texts),
    )
    pdf = render_report_pdf(data)
    assert hits == []
    text = pdf_text(pdf)
    assert "root:" not in text
    assert "plain link" in text  # the content around the payloads is still there
    assert board in text  # the running header shows the board's name as text
    assert PdfReader(io.BytesIO(pdf)).attachments == {}


def test_fetcher_refuses_what_weasyprint_asks_for_outside_its_list(loopback):
    # No sanitiser in front: raw HTML straight into WeasyPrint with the report's fetcher.
    base, hits = loopback
    fetcher = ReportURLFetcher([png((0, 0, 0))])
    html = "\n".join(hostile_texts(base)) + f'<img src="{key_image_url(0)}">'
    pdf = HTML(string=html, base_url=REPORT_ORIGIN, url_fetcher=fetcher).write_pdf()
    assert hits == []
    assert "root:" not in pdf_text(pdf)
    # WeasyPrint did ask, and was refused: the requests reached the fetcher, not the server.
    assert any(url.startswith(base) for url in fetcher.requested)
    assert "file:///etc/passwd" in fetcher.requested
    assert len(image_xobjects(PdfReader(io.BytesIO(pdf)))) == 1


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        PASSWD.as_uri(),
        "http://127.0.0.1:1/x.png",
        "https://example.org/x.png",
        "http://report.invalid/static/css/report.css",
        "https://report.invalid.example.org/static/css/report.css",
        f"{STATIC_PREFIX}css/consilium.css",
        f"{STATIC_PREFIX}css/../css/report.css",
        f"{STATIC_PREFIX}css/report.css?x=1",
        f"{STATIC_PREFIX}../../../../etc/passwd",
        f"{KEY_IMAGE_PREFIX}1.png",  # only one image handed over
        f"{KEY_IMAGE_PREFIX}-1.png",
        f"{KEY_IMAGE_PREFIX}0.png#x",
        "data:text/plain,root:x:0:0",
        "ftp://127.0.0.1/x",
    ],
)
def test_fetcher_refuses(url):
    fetcher = ReportURLFetcher([png((0, 0, 0))])
    with pytest.raises(ReportFetchRefused):
        fetcher.fetch(url)
    with pytest.raises(ReportFetchRefused):
        fetcher(url)


def test_fetcher_serves_the_stylesheet_and_key_images():
    image = png((1, 2, 3))
    fetcher = ReportURLFetcher([image])
    css = fetcher.fetch(f"{STATIC_PREFIX}css/report.css")
    assert css.content_type == "text/css"
    assert b"@page" in css.read()
    key = fetcher.fetch(key_image_url(0))
    assert key.content_type == "image/png"
    assert key.read() == image


def test_a_report_that_would_embed_a_file_is_refused():
    # WeasyPrint embeds what <link rel=attachment> names; the finisher fails closed.
    html = f'<link rel="attachment" href="{STATIC_PREFIX}css/report.css"><p>x</p>'
    document = HTML(string=html, base_url=REPORT_ORIGIN, url_fetcher=ReportURLFetcher([]))
    assert PdfReader(io.BytesIO(document.write_pdf())).attachments  # the premise
    with pytest.raises(ReportError):
        document.write_pdf(pdf_variant="pdf/a-3b", finisher=refuse_embedded_files)

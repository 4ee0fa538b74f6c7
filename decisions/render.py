"""The consensus report as a PDF/A-3b file, rendered from plain data.

Nothing here reads the database: the caller gathers a `ReportData` (key images already drawn
as PNG, e.g. by `imaging.keyimages.render_key_image`) and `render_report_pdf` turns it
into bytes. That keeps the renderer testable and lets a signed report be re-rendered from
the data it was signed with.

The renderer fetches nothing but the report stylesheet and the key images it was handed
(DESIGN.md, security rules). Two layers hold that line: every piece of user-written HTML is
cleaned again with the opinion allow-list (which has no <img>, <link>, <style> or style
attribute), and `ReportURLFetcher` answers only a fixed set of URLs under an origin that
cannot resolve, refusing file:, data: and every other http(s) URL.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import logging
import os
import re
import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import nh3
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from board import dates
from cases import markdown

logger = logging.getLogger(__name__)

# `.invalid` never resolves (RFC 6761), so even a fetcher bug could not reach a real host.
REPORT_ORIGIN = "https://report.invalid/"
STATIC_PREFIX = REPORT_ORIGIN + "static/"
KEY_IMAGE_PREFIX = REPORT_ORIGIN + "key-image/"
# The only static files a report may load, with the type each is served as.
STATIC_FILES = {"css/report.css": "text/css; charset=utf-8"}
STYLESHEET = "css/report.css"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EMBEDDED_FILE_TYPES = {"/Filespec", "/EmbeddedFile"}
LOGGED_SCHEMES = {"http", "https", "file", "data", "ftp"}
_KEY_IMAGE_URL = re.compile(re.escape(KEY_IMAGE_PREFIX) + r"([0-9]{1,4})\.png")

# --- the data a report is made of ------------------------------------------------------------


@dataclass(frozen=True)
class ReportStudy:
    """One imaging study the board reviewed."""

    date: datetime.date | None
    modality: str
    description: str
    series: int
    instances: int


@dataclass(frozen=True)
class ReportImage:
    """A key image, already windowed and annotated, as PNG bytes."""

    png: bytes
    caption: str


@dataclass(frozen=True)
class ReportOpinion:
    """One expert opinion. `html` is sanitised HTML, normally `render_markdown(opinion.body)`;
    it is cleaned again here with the same allow-list, so nothing else can slip in."""

    author: str
    written_at: datetime.datetime | datetime.date | None
    html: str
    # A reply says what it answers: the opinion's author, their specialty and the start of
    # its text (plain text), or that it was withdrawn before the signature.
    replies_to: ReportReplyTo | None = None


@dataclass(frozen=True)
class ReportReplyTo:
    """The opinion a reply answers, as the report names it."""

    author: str
    specialty: str = ""
    quote: str = ""
    withdrawn: bool = False


@dataclass(frozen=True)
class ReportSpecialty:
    label: str
    opinions: Sequence[ReportOpinion]


@dataclass(frozen=True)
class ReportProposal:
    """A proposal and its tally: agree/disagree/abstain, or `chosen` in a single-choice round."""

    title: str
    category: str = ""
    agree: int = 0
    disagree: int = 0
    abstain: int = 0
    chosen: int | None = None
    adopted: bool = False
    # Its number on the case (P1, P2, …); a ballot can skip one that was withdrawn. None:
    # numbered by position.
    number: int | None = None

    @property
    def total(self) -> int:
        if self.chosen is not None:
            return self.chosen
        return self.agree + self.disagree + self.abstain


@dataclass(frozen=True)
class ReportDissent:
    name: str
    reason: str


@dataclass(frozen=True)
class ReportAttendee:
    name: str
    specialty: str
    joined_at: datetime.datetime | None = None
    left_at: datetime.datetime | None = None


@dataclass(frozen=True)
class ReportSignature:
    name: str
    role: str
    signed_at: datetime.datetime


@dataclass(frozen=True)
class ReportPatient:
    """Who the patient is, on the copies whose readers know it already (referrer, patient)."""

    name: str
    date_of_birth: datetime.date | None = None
    hospital_number: str = ""


@dataclass(frozen=True)
class ReportAddressee:
    """Whom the referrer copy is addressed to: the referring doctor and their institution."""

    name: str
    institution: str = ""


@dataclass(frozen=True)
class ReportSection:
    """One part of the clinical record (diagnosis, stage, grade, ...): its facts as (label,
    value) pairs, plain text, and the engine's notes or refusals in words."""

    title: str
    facts: Sequence[tuple[str, str]] = ()
    notes: Sequence[str] = ()
    # The element id in the PDF's HTML (tests and readers find a section by it).
    key: str = ""


@dataclass(frozen=True)
class ReportTreatment:
    """One treatment row as the case records it (cases.models.Treatment), in words."""

    kind: str
    timing: str = ""
    started_on: datetime.date | None = None
    ended_on: datetime.date | None = None
    ongoing: bool = False
    detail: str = ""  # procedure and margin, dose and fractions, or regimen and cycles
    response: str = ""
    notes: str = ""


@dataclass(frozen=True)
class ReportMolecular:
    """One molecular or genetic result (cases.models.MolecularResult); `germline` results are
    printed apart, as hereditary predisposition."""

    method: str
    target: str
    result: str
    detail: str = ""
    laboratory: str = ""
    reported_on: datetime.date | None = None
    germline: bool = False


@dataclass(frozen=True)
class ReportExpertReview:
    """One expert's signed opinion (issue #16): the case's answer on an expert service, or a
    review a board asked for before discussing the case. Plain text, escaped when rendered."""

    service: str
    expert: str
    signed_at: datetime.datetime
    answer: bool  # the case's answer (else a step before the board's discussion)
    pathology: bool  # a pathology review: diagnosis, grade and concordance side by side
    referring_diagnosis: str = ""
    reviewed_diagnosis: str = ""
    referring_grade: str = ""
    reviewed_grade: str = ""
    concordance: str = ""
    question: str = ""
    comment: str = ""
    recommendation: str = ""
    sha256: str = ""


@dataclass(frozen=True)
class ReportData:
    """Everything one copy of one version of a consensus report shows. The panel copy names
    the case by its pseudonym only; `patient` and `addressee` are for the other copies.

    Text fields are plain text, escaped when rendered, except `recommendation_html` and
    `ReportOpinion.html`, which are sanitised HTML (see `ReportOpinion`).
    """

    board: str
    case_pseudonym: str
    version: int
    generated_at: datetime.datetime
    meeting_title: str | None = None
    meeting_date: datetime.datetime | datetime.date | None = None
    supersedes: int | None = None
    structured: Sequence[tuple[str, str]] = ()
    # The clinical record, section by section, as cases/record.py reads the case.
    record: Sequence[ReportSection] = ()
    treatments: Sequence[ReportTreatment] = ()
    molecular: Sequence[ReportMolecular] = ()
    # The submitter's words: the clinical summary and the history (prior treatments), plain.
    clinical_summary: str = ""
    history: str = ""
    question: str = ""
    question_type: str = ""
    # Who is responsible for treatment, in the words this copy's reader needs (plain text).
    disclaimer: str = ""
    # The board's zone (board.models.Board.time_zone): every time in the report is in it.
    time_zone: str = "UTC"
    studies: Sequence[ReportStudy] = ()
    key_images: Sequence[ReportImage] = ()
    opinions: Sequence[ReportSpecialty] = ()
    proposals: Sequence[ReportProposal] = ()
    outcome: str = ""
    rule: str = ""
    quorum: str = ""
    dissent: Sequence[ReportDissent] = ()
    recommendation_html: str = ""
    attendees: Sequence[ReportAttendee] = ()
    signatures: Sequence[ReportSignature] = ()
    # Which copy this is (cases.models.ReportAudience), printed on every page.
    audience: str = "panel"
    audience_label: str = ""
    audience_note: str = ""
    patient: ReportPatient | None = None
    addressee: ReportAddressee | None = None
    # The copy says that a dissent was recorded, without who or why (`dissent` is empty).
    dissent_withheld: bool = False
    # The decision section (outcome, rule, tally): not on the patient copy.
    show_decision: bool = True
    # Expert opinions signed on the case (decisions.ExpertOpinion); ``expert_service``: the
    # case was answered by one expert of an expert service, not by a board's vote.
    expert_reviews: Sequence[ReportExpertReview] = ()
    expert_service: bool = False


class ReportError(ValueError):
    """The data cannot make a valid report (a caller's bug, not a user's input)."""


# --- fetching ---------------------------------------------------------------------------------


class ReportFetchRefused(ValueError):
    """The report asked for a URL outside the allow-list."""


class ReportURLFetcher(URLFetcher):
    """WeasyPrint's fetcher for one report: the report stylesheet and the key images only.

    WeasyPrint sends every request (stylesheets, images, fonts, attachments, SVG references)
    through `fetch`; this one never opens a file path or a socket, so file:, data:, ftp: and
    every http(s) URL but its own few are refused. `requested` records every URL asked for,
    which is how the tests prove that user text caused no fetch.
    """

    def __init__(self, images: Sequence[bytes]):
        # The parent's urllib handlers are never used (`fetch` below opens nothing), so its
        # HTTPS handler gets a bare context instead of loading the CA store (~50 ms a
        # report). fail_on_errors=False: a refused URL is a hole in the page, not a failure.
        super().__init__(ssl_context=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
        self._images = tuple(images)
        self.requested: list[str] = []

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        self.requested.append(url)
        body, content_type = self._resolve(url)
        return URLFetcherResponse(url, body, {"Content-Type": content_type})

    def _resolve(self, url: str) -> tuple[bytes, str]:
        if url.startswith(STATIC_PREFIX):
            name = url.removeprefix(STATIC_PREFIX)
            if name in STATIC_FILES:
                return _read_static(name), STATIC_FILES[name]
        elif match := _KEY_IMAGE_URL.fullmatch(url):
            index = int(match[1])
            if index < len(self._images):
                return self._images[index], "image/png"
        # The scheme only: a refused URL came from somewhere unexpected and may carry text
        # a user wrote, which has no place in the log.
        scheme = url.split(":", 1)[0].lower()
        logger.warning(
            "report renderer refused a %s URL", scheme if scheme in LOGGED_SCHEMES else "other"
        )
        raise ReportFetchRefused(f"the report renderer does not fetch {url[:200]!r}")


def _read_static(name: str) -> bytes:
    # The finders read the source tree (development, tests); after collectstatic the
    # storage has the same file. `name` is always a key of STATIC_FILES, never user input.
    path = finders.find(name)
    if path:
        with open(path, "rb") as handle:
            return handle.read()
    with staticfiles_storage.open(name) as handle:
        return handle.read()


def key_image_url(index: int) -> str:
    return f"{KEY_IMAGE_PREFIX}{index}.png"


# --- rendering --------------------------------------------------------------------------------


def clean_html(value: str) -> SafeString:
    """User HTML cleaned with the opinion allow-list (idempotent on render_markdown output)."""
    cleaned = nh3.clean(
        value or "",
        tags=markdown.ALLOWED_TAGS,
        clean_content_tags=markdown.DROPPED_WITH_CONTENT,
        attributes=markdown.ALLOWED_ATTRIBUTES,
        tag_attribute_values={"th": markdown.CELL_ALIGN, "td": markdown.CELL_ALIGN},
        url_schemes=markdown.LINK_SCHEMES,
        url_relative="deny",
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(cleaned)  # noqa: S308 - every byte passed the allow-list above


def _css_string(value: str) -> str:
    """A CSS string literal holding `value` as text: anything but letters, digits and spaces
    becomes a hex escape, so no quote, backslash or `</style>` can end it."""
    return '"' + "".join(c if c.isalnum() or c == " " else f"\\{ord(c):x} " for c in value) + '"'


_PAGE_PLACEHOLDER = re.compile(r"(%\(page\)s|%\(pages\)s)")


def _page_css(data: ReportData) -> SafeString:
    """The running header and footer, whose words come from the translation catalogue."""
    running = _("Case %(case)s · report version %(version)s") % {
        "case": data.case_pseudonym,
        "version": data.version,
    }
    if data.audience_label:
        running = f"{running} · {data.audience_label}"
    return page_css(
        board=data.board, running=running, generated_at=data.generated_at, zone=data.time_zone
    )


def page_css(*, board: str, running: str, generated_at: datetime.datetime, zone: str) -> SafeString:
    """The running header and footer of any document made here (report, follow-up addendum,
    meeting minutes): the board top left, ``running`` top right, when and the page below."""
    generated = _("Generated %(when)s") % {"when": format_when(generated_at, zone)}
    # One translatable sentence, its placeholders turned into CSS page counters.
    page_of = " ".join(
        {"%(page)s": "counter(page)", "%(pages)s": "counter(pages)"}.get(part) or _css_string(part)
        for part in _PAGE_PLACEHOLDER.split(_("Page %(page)s of %(pages)s"))
        if part
    )
    css = (
        "@page {"
        f" @top-left {{ content: {_css_string(board)}; }}"
        f" @top-right {{ content: {_css_string(running)}; }}"
        f" @bottom-left {{ content: {_css_string(generated)}; }}"
        f" @bottom-right {{ content: {page_of}; }}"
        " }"
    )
    # Safe: every value above went through _css_string, which escapes all punctuation.
    return mark_safe(css)  # noqa: S308


# --- dates and times: one format, unambiguous ------------------------------------------------
# The report uses the format of every page (board/dates.py): "3 Dec 2026", "3 Dec 2026, 14:30
# CET", in the board's zone (always passed explicitly here) and with that zone named, since a
# report travels across borders.


def format_day(value: datetime.date | datetime.datetime | None, zone: str = "UTC") -> str:
    return dates.format_day(value, zone)


def format_clock(value: datetime.datetime | None, zone: str) -> str:
    return dates.format_clock(value, zone)


def format_when(value: datetime.datetime | datetime.date | None, zone: str) -> str:
    return dates.format_when(value, zone)


# The tally chart's geometry, in SVG user units (1 unit = 1 CSS px when drawn at 100%).
CHART_WIDTH = 600
CHART_LABEL = 34
CHART_COUNT = 70
CHART_ROW = 24
CHART_BAR = 14
CHART_LEGEND = 26
CHART_COLOURS = {
    "agree": "#1e6b3a",
    "disagree": "#a1262b",
    "abstain": "#a6adb8",
    "chosen": "#0f5e6e",
}


def tally_svg(proposals: Sequence[ReportProposal]) -> SafeString:
    """A bar per proposal (P1, P2, … as in the tally table): stacked agree/disagree/abstain,
    or one bar of votes in a single-choice round. All text in it is escaped here."""
    if not proposals:
        return mark_safe("")
    single_choice = all(p.chosen is not None for p in proposals)
    if single_choice:
        parts = [("chosen", _("Votes"))]
    else:
        parts = [("agree", _("Agree")), ("disagree", _("Disagree")), ("abstain", _("Abstain"))]
    scale_max = max(max(p.total for p in proposals), 1)
    bar_width = CHART_WIDTH - CHART_LABEL - CHART_COUNT
    height = CHART_LEGEND + CHART_ROW * len(proposals)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="tally-chart" role="img"'
        f' viewBox="0 0 {CHART_WIDTH} {height}" width="{CHART_WIDTH}" height="{height}"'
        f' aria-label="{escape(_("Votes per proposal"))}">'
    ]
    x = CHART_LABEL
    for kind, label in parts:
        out.append(
            f'<rect x="{x}" y="4" width="10" height="10" fill="{CHART_COLOURS[kind]}"/>'
            f'<text x="{x + 14}" y="13" font-size="11" fill="#1d2430">{escape(label)}</text>'
        )
        x += 30 + 7 * len(label)
    for row, proposal in enumerate(proposals):
        top = CHART_LEGEND + row * CHART_ROW
        middle = top + CHART_BAR / 2 + 4
        out.append(
            f'<text x="0" y="{middle}" font-size="11" font-weight="bold" fill="#1d2430">'
            f"P{proposal.number or row + 1}</text>"
            f'<rect x="{CHART_LABEL}" y="{top}" width="{bar_width}" height="{CHART_BAR}"'
            f' fill="#f1f3f6"/>'
        )
        x = float(CHART_LABEL)
        for kind, _label in parts:
            count = getattr(proposal, kind) or 0
            width = bar_width * count / scale_max
            if width <= 0:
                continue
            out.append(
                f'<rect x="{x:.1f}" y="{top}" width="{width:.1f}" height="{CHART_BAR}"'
                f' fill="{CHART_COLOURS[kind]}"/>'
            )
            if width >= 16:
                out.append(
                    f'<text x="{x + width / 2:.1f}" y="{middle}" font-size="10"'
                    f' text-anchor="middle" fill="#ffffff">{count}</text>'
                )
            x += width
        out.append(
            f'<text x="{CHART_WIDTH - CHART_COUNT + 8}" y="{middle}" font-size="10"'
            f' fill="#5b6575">n = {proposal.total}</text>'
        )
    out.append("</svg>")
    # Safe: the markup is ours, the numbers are ints and every label went through escape().
    return mark_safe("".join(out))  # noqa: S308


def report_context(data: ReportData) -> dict[str, Any]:
    for index, image in enumerate(data.key_images):
        if not image.png.startswith(PNG_SIGNATURE):
            raise ReportError(f"key image {index + 1} is not a PNG")
    return {
        "data": data,
        "language": translation.get_language() or "en",
        "stylesheet_url": STATIC_PREFIX + STYLESHEET,
        "page_css": _page_css(data),
        "generated": format_when(data.generated_at, data.time_zone),
        "zone": data.time_zone,
        "zone_label": data.time_zone.replace("_", " "),
        "created_iso": data.generated_at.isoformat(timespec="seconds"),
        "recommendation": clean_html(data.recommendation_html),
        "specialties": [
            {
                "label": specialty.label,
                "opinions": [
                    {"opinion": opinion, "html": clean_html(opinion.html)}
                    for opinion in specialty.opinions
                ],
            }
            for specialty in data.opinions
            if specialty.opinions
        ],
        "key_images": [
            {"url": key_image_url(index), "caption": image.caption, "number": index + 1}
            for index, image in enumerate(data.key_images)
        ],
        "somatic": [row for row in data.molecular if not row.germline],
        "germline": [row for row in data.molecular if row.germline],
        "single_choice": bool(data.proposals) and all(p.chosen is not None for p in data.proposals),
        "tally_chart": tally_svg(data.proposals),
    }


def report_html(data: ReportData) -> str:
    return render_to_string("decisions/report/report.html", report_context(data))


def refuse_embedded_files(document: Any, pdf: Any) -> None:
    """WeasyPrint finisher: a report carries no attachments, so one that would is an error."""
    for pdf_object in pdf.objects:
        if isinstance(pdf_object, dict) and pdf_object.get("Type") in EMBEDDED_FILE_TYPES:
            raise ReportError("the report would embed a file")
    if "EmbeddedFiles" in pdf.catalog.get("Names", {}):
        raise ReportError("the report would embed a file")


def images_not_interpolated(document: Any, pdf: Any) -> None:
    """WeasyPrint finisher: every image XObject (soft masks too) says /Interpolate false.

    ISO 19005-2 6.2.8 (PDF/A-2, and PDF/A-3 by reference): "If an Image dictionary contains
    the Interpolate key, its value shall be false". WeasyPrint 70 writes true for every image
    drawn with CSS image-rendering: auto, so a report with key images stopped being PDF/A.
    """
    for pdf_object in pdf.objects:
        extra = getattr(pdf_object, "extra", None)
        if isinstance(extra, dict) and extra.get("Subtype") == "/Image":
            extra["Interpolate"] = "false"
            mask = extra.get("SMask")
            if isinstance(getattr(mask, "extra", None), dict):
                mask.extra["Interpolate"] = "false"


def finish_report(document: Any, pdf: Any) -> None:
    refuse_embedded_files(document, pdf)
    images_not_interpolated(document, pdf)


def render_report_pdf(data: ReportData) -> bytes:
    """The report as PDF/A-3b bytes: A4, fonts embedded, no attachments, nothing fetched
    beyond the report stylesheet and `data.key_images`."""
    return render_html_pdf(
        report_html(data), at=data.generated_at, images=[image.png for image in data.key_images]
    )


def render_html_pdf(html: str, *, at: datetime.datetime, images: Sequence[bytes] = ()) -> bytes:
    """Any document of ours (report, follow-up addendum, minutes) as PDF/A-3b bytes, under the
    report's fetcher: the report stylesheet and ``images`` are all it may load. ``at`` is the
    document's own time, stamped in its fonts (same data, same bytes)."""
    fetcher = ReportURLFetcher(images)
    document = HTML(string=html, base_url=REPORT_ORIGIN, url_fetcher=fetcher)
    with _font_timestamps(at):
        return document.write_pdf(
            pdf_variant="pdf/a-3b",
            # Honours the `align` the opinion sanitiser keeps on table cells.
            presentational_hints=True,
            finisher=finish_report,
        )


_TIMESTAMP_LOCK = threading.Lock()


@contextlib.contextmanager
def _font_timestamps(at: datetime.datetime):
    """Same data, same bytes: fontTools stamps each embedded font subset's `head` table with
    the time it was written (WeasyPrint 70), unless SOURCE_DATE_EPOCH (the
    reproducible-builds convention it honours) names one. The report's own time is used."""
    with _TIMESTAMP_LOCK:
        previous = os.environ.get("SOURCE_DATE_EPOCH")
        os.environ["SOURCE_DATE_EPOCH"] = str(int(at.timestamp()))
        try:
            yield
        finally:
            if previous is None:
                del os.environ["SOURCE_DATE_EPOCH"]
            else:
                os.environ["SOURCE_DATE_EPOCH"] = previous


def report_sha256(pdf: bytes) -> str:
    """The hex SHA-256 of a rendered report, recorded when it is signed."""
    return hashlib.sha256(pdf).hexdigest()

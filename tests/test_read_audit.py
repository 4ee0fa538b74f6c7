"""Every URL that returns patient data leaves exactly one audit event per read.

The walk enumerates the URL patterns themselves (django.urls): a new pattern fails
``test_every_url_is_walked_or_exempt`` until it is walked here or exempted with a reason,
so a future view cannot silently skip auditing. Frames and images are audited once per
reader, series and window (cases.reads): their second read in the window adds no event and
counts on in the window's row instead.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from board.models import User
from cases import reads
from cases.access import case_access
from cases.models import AuditEvent, AuditReadWindow, Case, PatientIdentity
from decisions import reports
from decisions.models import Report
from imaging import services as imaging_services
from imaging.ingest import ingest_many
from imaging.models import Series
from tests.cases.factories import add_pdf, invite, make_case, opinion
from tests.decisions.factories import decided_case, draft, make_meeting, sign
from tests.helpers import signed_in
from tests.imaging.dicom import series_bytes

pytestmark = pytest.mark.django_db

IP = "10.20.30.40"
DICOM = 'multipart/related; type="application/dicom"'
FRAMES = 'multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.1'


@dataclass(frozen=True)
class Read:
    action: str
    windowed: bool = False  # frames and images: one event per reader, series and window
    accept: str = ""
    query: dict = field(default_factory=dict)


WINDOWED = Read(reads.ACTION, windowed=True)

# Every GET that returns patient data, and the event it must leave (the chair reads).
WALKED: dict[str, Read] = {
    "my-cases": Read("case.list"),
    "board-queue": Read("queue.view", query={"q": "thigh"}),
    "case-detail": Read("case.view"),
    "case-edit": Read("identity.view"),
    "case-clinical-edit": Read("clinical.view"),
    "case-audit": Read("audit.view"),
    "case-clinical-history": Read("clinical.history"),
    "attachment-download": Read("attachment.download"),
    "opinion-fragment": Read("opinion.view"),
    "opinion-edit": Read("opinion.view"),
    "opinion-history": Read("opinion.history"),
    "case-invites": Read("invite.list"),
    "decision-panel": Read("decision.panel"),
    "request-list": Read("request.view"),
    "report-download": Read("report.download"),
    "case-viewer": Read("imaging.viewer"),
    "series-manifest": Read("imaging.view"),
    "series-stream": WINDOWED,
    "series-thumbnail": WINDOWED,
    "frame-raw": WINDOWED,
    "frame-rendered": WINDOWED,
    "annotation-list": Read("annotation.list"),
    "key-image-list": Read("key_image.list"),
    "key-image-png": WINDOWED,
    "meeting-live-item": Read("case.view"),
    "dicomweb-studies": Read("dicomweb.search"),
    "dicomweb-series": Read("dicomweb.search"),
    "dicomweb-instances": Read("dicomweb.search"),
    "dicomweb-study": Read("dicomweb.retrieve", accept=DICOM),
    "dicomweb-study-metadata": Read("dicomweb.retrieve"),
    "dicomweb-study-series": Read("dicomweb.search"),
    "dicomweb-study-instances": Read("dicomweb.search"),
    "dicomweb-series-retrieve": Read("dicomweb.retrieve", accept=DICOM),
    "dicomweb-series-metadata": Read("dicomweb.retrieve"),
    "dicomweb-series-instances": Read("dicomweb.search"),
    "dicomweb-instance": Read("dicomweb.retrieve", accept=DICOM),
    "dicomweb-instance-metadata": Read("dicomweb.retrieve"),
    "dicomweb-instance-rendered": Read(reads.ACTION, windowed=True, accept="image/png"),
    "dicomweb-frames": Read(reads.ACTION, windowed=True, accept=FRAMES),
    "dicomweb-frames-rendered": Read(reads.ACTION, windowed=True, accept="image/png"),
}

WRITE = "a write only: its service audits it (GET is 405)"
NO_PATIENT_DATA = "shows no patient data"
PSEUDONYMS = "pseudonyms, statuses and times only: nothing clinical, nothing identifying"
EXEMPT: dict[str, str] = {
    "home": PSEUDONYMS + " (and each case's urgency: the work list's order)",
    "board-list": NO_PATIENT_DATA,
    "meeting-list": NO_PATIENT_DATA + " (meetings and how many cases each agenda has)",
    "queue": NO_PATIENT_DATA + " (how many cases each board has at each stage)",
    "board-detail": NO_PATIENT_DATA,
    "board-settings": NO_PATIENT_DATA,
    # A board's PACS inbox is no case's: tests/imaging/test_inbox_views.py checks that its
    # read (and a member's refused read) leaves one event, imaging.inbox_read.
    "board-inbox": "audited per board, tested in tests/imaging/test_inbox_views.py",
    "board-inbox-settings": WRITE,
    "board-inbox-attach": WRITE,
    "board-inbox-discard": WRITE,
    "account": NO_PATIENT_DATA,
    "api-token-create": NO_PATIENT_DATA,
    "api-token-revoke": WRITE,
    "login": NO_PATIENT_DATA,
    "logout": NO_PATIENT_DATA,
    "password_change": NO_PATIENT_DATA,
    "password_change_done": NO_PATIENT_DATA,
    "healthz": NO_PATIENT_DATA,
    "favicon": NO_PATIENT_DATA,
    "case-new": "a blank form (a patient sees their own name in it)",
    "case-status": WRITE,
    "case-ready": WRITE,
    "attachment-upload": WRITE,
    "attachment-remove": WRITE + " (POST; attachment.remove)",
    "study-remove": WRITE + " (POST; study.remove)",
    "opinion-create": WRITE,
    "request-create": WRITE + " (POST; request.open)",
    "request-answer": WRITE + " (POST; request.answer)",
    "request-close": WRITE + " (POST; request.close)",
    "request-withdraw": WRITE + " (POST; request.withdraw)",
    "opinion-withdraw": WRITE,
    "invite-revoke": WRITE,
    "imaging-upload": WRITE,
    "annotation-detail": WRITE + " (PATCH and DELETE)",
    "key-image-detail": WRITE + " (DELETE and POST)",
    "key-image-release": WRITE + " (POST; key_image.release / key_image.withhold)",
    "invite-open": PSEUDONYMS + " (acceptance is audited as invite.accept)",
    "invite-signup": NO_PATIENT_DATA,
    "email-change": NO_PATIENT_DATA,
    "email-change-confirm": NO_PATIENT_DATA,
    "second-factor-enrol": NO_PATIENT_DATA,
    "second-factor-manage": NO_PATIENT_DATA,
    "second-factor-passkey-remove": WRITE + " (auth.second_factor.passkey_removed)",
    "second-factor-recovery-codes": NO_PATIENT_DATA,
    "second-factor-verify": NO_PATIENT_DATA,
    "session-end": WRITE + " (auth.session.ended)",
    "sessions-end-others": WRITE + " (auth.session.ended)",
    "session-keep-alive": NO_PATIENT_DATA,
    "session-status": NO_PATIENT_DATA,
    "board-meetings": PSEUDONYMS,
    "meeting-new": NO_PATIENT_DATA,
    "meeting-detail": PSEUDONYMS,
    "meeting-edit": PSEUDONYMS,
    "meeting-cancel": WRITE,
    "meeting-invite": PSEUDONYMS + " (the calendar file)",
    "meeting-live": "its case part is the live item's, walked as meeting-live-item; "
    "with no case open it shows pseudonyms only",
    "agenda-add": WRITE,
    "agenda-remove": WRITE,
    "agenda-move": WRITE,
    "agenda-presenter": WRITE,
    "agenda-time-box": WRITE,
    "proposal-create": WRITE,
    "proposal-withdraw": WRITE,
    "vote-round-open": WRITE,
    "vote-cast": WRITE,
    "vote-round-close": WRITE,
    "consensus-draft": WRITE,
    "consensus-sign": WRITE,
    "consensus-cosign": WRITE,
    "report-regenerate": WRITE,
    "report-verify": "a form; the check itself (POST) is audited with its outcome",
    "viewer-launch": "a redirect to case-viewer (walked); the launch is audited as imaging.launch "
    "too, refusals included: tests/imaging/test_viewer_launch.py",
    "case-fhir-export": "the referrer copy's readers only (the chair walking here gets 403); "
    "each export is audited as report.fhir: tests/decisions/test_fhir_export.py",
    # Expert services (issue #16): POST only, each audited by its service.
    "expert-review-request": WRITE,
    "expert-review-assign": WRITE,
    "expert-review-take": WRITE,
    "expert-review-waive": WRITE,
    "expert-opinion-save": WRITE,
    "expert-opinion-sign": WRITE,
    # Follow-up and minutes (issue #18): their own access objects, tests/decisions/test_followup.py
    # and test_minutes.py.
    "followup-record": "pseudonymous; its read is audited as followup.view",
    "followup-addendum": "its download is audited (followup_views.addendum_download)",
    "meeting-minutes": PSEUDONYMS + " (the minutes name cases by pseudonym only)",
    "meeting-minutes-edit": WRITE,
    "meeting-minutes-sign": WRITE,
    "meeting-minutes-pdf": PSEUDONYMS + "; the download is audited as minutes.download",
}
# The admin's pages are walked by test_admin_change_pages_are_audited below; django-otp-webauthn's
# passkey ceremony answers with WebAuthn options and its translations, no patient data.
EXEMPT_NAMESPACES = {"admin", "otp_webauthn"}


def url_patterns(resolver=None, params=frozenset(), namespace=""):
    """(namespace, name, parameter names) of every named pattern, includes followed."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        found = params | set(getattr(entry.pattern, "converters", {}))
        if isinstance(entry, URLResolver):
            yield from url_patterns(entry, found, entry.namespace or namespace)
        elif isinstance(entry, URLPattern) and entry.name:
            yield namespace, entry.name, found


def test_every_url_is_walked_or_exempt():
    names = {name for ns, name, _ in url_patterns() if ns not in EXEMPT_NAMESPACES}
    assert names - WALKED.keys() - EXEMPT.keys() == set(), "walk these or exempt them"
    assert (WALKED.keys() | EXEMPT.keys()) - names == set(), "no longer URLs"
    assert WALKED.keys() & EXEMPT.keys() == set()


@dataclass
class World:
    case: Case  # open: in review, with everything a case can have
    params: dict
    reported: Case  # concluded, with its signed report (a closed case refuses edits)
    report_params: dict

    def for_read(self, name: str) -> tuple[Case, dict]:
        if name == "report-download":
            return self.reported, self.report_params
        return self.case, self.params


@pytest.fixture
def world(cast, fast_passwords, monkeypatch, django_capture_on_commit_callbacks) -> World:
    monkeypatch.setattr(reports, "render_report_pdf", lambda data: b"%PDF-1.7 stand-in")
    reported, _p1, _round = decided_case(cast)
    with django_capture_on_commit_callbacks(execute=True):
        sign(cast, reported, draft(cast, reported))
    case = make_case(cast)
    invite(cast, case)
    files = [(str(i), io.BytesIO(d)) for i, d in enumerate(series_bytes(3))]
    ingest_many(case=case, by=None, files=files)
    series = Series.objects.select_related("study").get()
    instance = series.instances.first()
    key_image = imaging_services.key_image_create(
        access=case_access(cast.chair, case), instance=instance, frame=0, state={}
    )
    meeting = make_meeting(cast, case)
    params = {
        "board_id": cast.board.uuid,
        "case_id": case.uuid,
        "attachment_id": add_pdf(case, cast.referrer).uuid,
        "opinion_id": opinion(case, cast.chair).uuid,
        "series_id": series.uuid,
        "instance_id": instance.uuid,
        "frame": 0,
        "key_image_id": key_image.uuid,
        "meeting_id": meeting.uuid,
        "item_id": meeting.agenda_items.get().uuid,
        "study_uid": series.study.study_instance_uid,
        "series_uid": series.series_instance_uid,
        "instance_uid": instance.sop_instance_uid,
        "frames": "1",
    }
    report_params = {
        "case_id": reported.uuid,
        "report_id": Report.objects.get(consensus__case=reported, audience="panel").uuid,
    }
    return World(case, params, reported, report_params)


PARAMS = {name: params for _ns, name, params in url_patterns()}


def read(client, name, world: World, spec: Read):
    _case, params = world.for_read(name)
    url = reverse(name, kwargs={key: params[key] for key in PARAMS[name]})
    headers = {"HTTP_ACCEPT": spec.accept} if spec.accept else {}
    response = client.get(url, spec.query, REMOTE_ADDR=IP, **headers)
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)
    return response


def new_events(since: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(id__gt=since).order_by("id"))


def last_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


@pytest.mark.parametrize("name", sorted(WALKED))
def test_each_read_leaves_one_event(cast, world, monkeypatch, name):
    monkeypatch.setattr(reads, "FLUSH_EVERY", 1)  # the window's row counts every read
    case, params = world.for_read(name)
    spec = WALKED[name]
    reader = cast.chair
    client = signed_in(reader)
    before, started = last_id(), timezone.now()
    response = read(client, name, world, spec)
    assert response.status_code == 200, response.content[:300]
    [event] = new_events(before)
    assert (event.actor, event.action, event.outcome, event.ip) == (
        reader,
        spec.action,
        "allowed",
        IP,
    )
    assert started <= event.at <= timezone.now()
    if name != "my-cases" and name != "board-queue":
        assert event.case == case
    if name != "my-cases":
        assert event.case_id or event.object_id, "the event names what was read"
    if spec.windowed:
        again = last_id()
        assert read(client, name, world, spec).status_code == 200
        assert new_events(again) == []
        frames = 2 * (len(params["frames"].split(",")) if name == "dicomweb-frames" else 1)
        if name == "series-stream":
            frames = 2 * 3  # the whole series, twice
        assert AuditReadWindow.objects.get(event=event).reads == frames


CASE_READS = sorted(name for name in WALKED if "case_id" in PARAMS[name])


@pytest.mark.parametrize("name", CASE_READS)
def test_a_refused_read_leaves_one_denied_event(cast, world, name):
    case, _params = world.for_read(name)
    before = last_id()
    response = read(signed_in(cast.outsider), name, world, WALKED[name])
    assert response.status_code == 404
    [event] = new_events(before)
    assert (event.actor, event.case, event.outcome, event.ip) == (
        cast.outsider,
        case,
        "denied",
        IP,
    )
    # The outsider's 404 is the same as for a case that does not exist.
    assert str(case.pseudonym) not in response.content.decode(errors="replace")


def test_a_new_window_opens_after_the_last_one_and_closes_it(cast, world, monkeypatch):
    client = signed_in(cast.chair)
    for _ in range(3):
        read(client, "frame-raw", world, WALKED["frame-raw"])
    [first] = AuditEvent.objects.filter(action=reads.ACTION)
    assert AuditReadWindow.objects.get(event=first).reads == 1  # counted in the cache so far
    later = timezone.now() + timedelta(seconds=reads.window_seconds() + 1)
    monkeypatch.setattr(reads.timezone, "now", lambda: later)
    read(client, "frame-raw", world, WALKED["frame-raw"])
    first_window, second_window = AuditReadWindow.objects.order_by("id")
    assert (first_window.event, first_window.reads) == (first, 3)  # closed with its count
    assert second_window.reads == 1
    assert AuditEvent.objects.filter(action=reads.ACTION).count() == 2


def test_the_count_reaches_the_database_every_few_reads(cast, world):
    client = signed_in(cast.chair)
    for _ in range(reads.FLUSH_EVERY + 1):
        read(client, "frame-raw", world, WALKED["frame-raw"])
    assert AuditReadWindow.objects.get().reads == reads.FLUSH_EVERY


def test_each_reader_has_a_window_of_their_own(cast, world):
    for who in (cast.chair, cast.pathologist, cast.chair):
        read(signed_in(who), "frame-raw", world, WALKED["frame-raw"])
    # Two sign-ins of the chair are two sessions: two windows.
    actors = list(
        AuditEvent.objects.filter(action=reads.ACTION).values_list("actor__username", flat=True)
    )
    assert actors == ["chair", "pathologist", "chair"]


def test_other_series_open_their_own_window(cast, world):
    case = world.case
    files = [(str(i), io.BytesIO(d)) for i, d in enumerate(series_bytes(2))]
    ingest_many(case=case, by=None, files=files)
    client = signed_in(cast.chair)
    for series in Series.objects.all():
        url = reverse("series-thumbnail", kwargs={"case_id": case.uuid, "series_id": series.uuid})
        client.get(url)
        client.get(url)
    assert AuditEvent.objects.filter(action=reads.ACTION).count() == 2


@pytest.mark.parametrize(
    ("model", "key"),
    [
        ("case", "case"),
        ("patientidentity", "identity"),
        ("opinion", "opinion"),
        ("attachment", "attachment"),
        ("caseinvite", "invite"),
    ],
)
def test_admin_change_pages_are_audited(cast, world, model, key):
    case = world.case
    admin = User.objects.create_superuser("auditor", "auditor@example.org", "x-Very-long-1")
    found = {
        "case": case,
        "identity": PatientIdentity.objects.get(case=case),
        "opinion": case.opinions.first(),
        "attachment": case.attachments.first(),
        "invite": case.invites.first(),
    }[key]
    before = last_id()
    response = signed_in(admin).get(
        reverse(f"admin:cases_{model}_change", args=[found.pk]), REMOTE_ADDR=IP
    )
    assert response.status_code == 200
    [event] = new_events(before)
    assert (event.actor, event.action, event.case, event.outcome, event.ip) == (
        admin,
        f"admin.{model}.view",
        case,
        "allowed",
        IP,
    )


def test_a_read_while_the_window_opens_joins_it(cast, world, monkeypatch):
    """The viewer's first frames arrive over several connections at once: one window."""
    monkeypatch.setattr(reads, "FLUSH_EVERY", 1)
    client = signed_in(cast.chair)
    opened = []
    real_open = reads._open

    def open_with_a_second_read_meanwhile(**kwargs):
        if not opened:
            opened.append(True)
            read(client, "frame-raw", world, WALKED["frame-raw"])  # arrives mid-opening
        real_open(**kwargs)

    monkeypatch.setattr(reads, "_open", open_with_a_second_read_meanwhile)
    read(client, "frame-raw", world, WALKED["frame-raw"])
    read(client, "frame-raw", world, WALKED["frame-raw"])
    [event] = AuditEvent.objects.filter(action=reads.ACTION)
    assert AuditReadWindow.objects.get(event=event).reads == 3


def test_the_case_audit_page_shows_how_many_frames_a_window_read(cast, world, monkeypatch):
    monkeypatch.setattr(reads, "FLUSH_EVERY", 1)
    client = signed_in(cast.pathologist)
    for _ in range(3):
        read(client, "frame-raw", world, WALKED["frame-raw"])
    html = signed_in(cast.chair).get(reverse("case-audit", kwargs={"case_id": world.case.uuid}))
    text = html.content.decode()
    assert reads.ACTION in text
    assert "(3 reads)" in text


@pytest.mark.parametrize("name", ["opinion-fragment", "opinion-history"])
def test_a_blinded_panelist_asking_for_anothers_opinion_is_refused_and_audited(cast, world, name):
    cast.board.blinded_opinions = True
    cast.board.save(update_fields=["blinded_opinions"])
    before = last_id()
    response = read(signed_in(cast.surgeon), name, world, WALKED[name])  # has not posted
    assert response.status_code == 403
    [event] = new_events(before)
    assert (event.actor, event.action, event.case, event.outcome, event.object_id) == (
        cast.surgeon,
        WALKED[name].action,
        world.case,
        "denied",
        str(world.params["opinion_id"]),
    )


def test_an_opinion_of_another_case_is_a_refused_read(cast, world):
    other = opinion(make_case(cast), cast.chair)
    url = reverse("opinion-fragment", kwargs={"case_id": world.case.uuid, "opinion_id": other.uuid})
    before = last_id()
    assert signed_in(cast.chair).get(url).status_code == 404
    [event] = new_events(before)
    assert (event.action, event.case, event.outcome) == ("opinion.view", world.case, "denied")

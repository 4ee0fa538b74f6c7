"""The canary: a case whose identifiers and free texts are unique strings, run through the whole
workflow, and every place they reach is checked against one table of where they may appear.

The workflow goes through the Django test client as people would: the referrer submits (the
form and a DICOM upload whose header carries the canaries), the chair triages and schedules
it, the panel writes opinions, votes, and the chair signs; the report is downloaded and
the images are searched and read over DICOMweb. Every log record (all loggers at DEBUG),
every email (subject, body, attachments), every audit event, every page, PDF and DICOMweb
answer is captured, and ``MAY_CARRY`` says which canaries each may hold: nothing anywhere
but where the table allows it.

To adjust for a new artifact or audience (the referrer's and the patient's copies of the
report, for instance), add a row to ``MAY_CARRY`` and read the artifact in the workflow.
"""

from __future__ import annotations

import datetime
import io
import logging

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from cases.models import AuditEvent, Case, ReportAudience
from decisions.models import Consensus, Report, VoteRound
from imaging.models import Instance, Series
from meetings.models import Meeting
from tests.cases.factories import case_form_data
from tests.cast import PASSWORD
from tests.decisions.factories import SURGERY, pdf_text
from tests.helpers import signed_in
from tests.imaging.dicom import ct_dataset, to_bytes

pytestmark = pytest.mark.django_db

# One unique word per kind of datum, so that any copy of it is found wherever it lands.
FIRST, LAST = "Zarvinia", "Quexlington"
NAME = f"{FIRST} {LAST}"
MRN = "QZ7741302"
DOB = datetime.date(1953, 7, 19)
ACCESSION = "ACCQZ55813"
QUESTION = "Vorpalquest: resect after radiotherapy?"
SUMMARY = "Snarkbundle mass of the left thigh, growing for 4 months."

IDENTITY = {
    "name": (FIRST, LAST),
    "hospital number": (MRN,),
    # ... and as the report prints a date ("19 Jul 1953").
    "date of birth": ("1953-07-19", "19530719", "19 July 1953", "July 19, 1953", "19 Jul 1953"),
    "accession number": (ACCESSION,),
}
FREE_TEXT = {"question": ("Vorpalquest",), "summary": ("Snarkbundle",)}
CANARIES = {**IDENTITY, **FREE_TEXT}
EVERY = set(CANARIES)
WHO_THE_PATIENT_IS = {"name", "hospital number", "date of birth"}

# Where each canary may appear: artifact -> the canaries it may hold. Anything else is a leak.
MAY_CARRY: dict[str, set[str]] = {
    "log records": set(),
    "emails": set(),  # the pseudonym only
    "audit trail": set(),
    "case page, submitter": WHO_THE_PATIENT_IS | set(FREE_TEXT),
    "case page, chair": WHO_THE_PATIENT_IS | set(FREE_TEXT),
    "case page, panel member": set(FREE_TEXT),
    "queue, panel member": {"question"},
    "decision panel": set(),
    # The report states the question the board answered and the clinical summary it read
    # (issue 16), as the case page shows them to the panel. The panel copy is pseudonymous
    # (invited experts read it); the referrer's copy is filed in the chart, so it names the
    # patient as the referrer entered them.
    "report PDF, panel": set(FREE_TEXT),
    "report PDF, referrer": WHO_THE_PATIENT_IS | set(FREE_TEXT),
    "DICOMweb search by the patient's name": set(),
    "DICOMweb answers": set(),
    "stored DICOM files": set(),
    "meeting invitations (iCalendar)": set(),
}


def found_in(text: str) -> set[str]:
    lowered = text.lower()
    return {kind for kind, words in CANARIES.items() if any(w.lower() in lowered for w in words)}


class Capture(logging.Handler):
    """Every record of every logger, formatted as a handler would write it."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def logs():
    capture = Capture()
    root = logging.getLogger()
    loggers = [root] + [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    levels = [(logger, logger.level, logger.propagate) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.propagate = True
    root.addHandler(capture)
    yield capture
    root.removeHandler(capture)
    for logger, level, propagate in levels:
        logger.setLevel(level)
        logger.propagate = propagate


def case_form(cast) -> dict:
    return case_form_data(
        cast,
        full_name=NAME,
        date_of_birth=DOB.isoformat(),
        hospital_number=MRN,
        question=QUESTION,
        clinical_summary=SUMMARY,
    )


def canary_dicom(count: int = 3) -> list[tuple[str, io.BytesIO]]:
    files = []
    study, series = "1.2.826.0.1.3680043.8.498.1", "1.2.826.0.1.3680043.8.498.2"
    for i in range(count):
        ds = ct_dataset(study_uid=study, series_uid=series, z=-5.0 * i, number=i + 1)
        ds.PatientName = f"{LAST}^{FIRST}"
        ds.PatientID = MRN
        ds.PatientBirthDate = DOB.strftime("%Y%m%d")
        ds.AccessionNumber = ACCESSION
        ds.OtherPatientIDs = MRN
        ds.ReferringPhysicianName = f"{LAST}^Referrer"
        files.append((f"slice{i}.dcm", io.BytesIO(to_bytes(ds))))
    return files


def test_canaries_stay_where_they_belong(
    cast, fast_passwords, logs, django_capture_on_commit_callbacks
):
    for user in (cast.chair, cast.referrer, *cast.members):
        user.email = f"{user.username}@board.example"
        user.save(update_fields=["email"])
    seen: dict[str, list[str]] = {artifact: [] for artifact in MAY_CARRY}

    def step(client, method: str, url: str, data=None, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            response = getattr(client, method)(url, data or {}, **extra)
        assert response.status_code < 400, (url, response.status_code, response.content[:400])
        return response

    def body(response) -> bytes:
        if hasattr(response, "streaming_content"):
            return b"".join(response.streaming_content)
        return response.content

    referrer, chair = signed_in(cast.referrer), signed_in(cast.chair)
    panel = {user: signed_in(user) for user in cast.members}

    # The referrer submits: the form, then the images.
    created = step(referrer, "post", reverse("case-new"), case_form(cast))
    assert created.status_code == 302, created.context["form"].errors
    case = Case.objects.get()
    url = lambda name, **kw: reverse(name, kwargs={"case_id": case.uuid, **kw})  # noqa: E731
    upload = step(
        referrer,
        "post",
        url("imaging-upload"),
        {"files": [f for _name, f in canary_dicom()]},
        HTTP_ACCEPT="application/json",
    )
    assert upload.json()["stored"] == 3
    step(referrer, "post", url("case-status"), {"to": Case.Status.SUBMITTED})

    # The chair triages, schedules a meeting and puts the case on its agenda.
    step(chair, "post", url("case-status"), {"to": Case.Status.IN_REVIEW})
    step(chair, "post", url("case-ready"))
    case.refresh_from_db()
    assert case.ready_at is not None, "the checklist refused the case"
    start = timezone.localtime() + datetime.timedelta(days=3)
    step(
        chair,
        "post",
        reverse("meeting-new", kwargs={"board_id": cast.board.uuid}),
        {
            "title": "Sarcoma board",
            "date": start.date().isoformat(),
            "time": "17:00",
            "time_zone": "Europe/Paris",
            "duration_minutes": "60",
            "video_url": "",
        },
    )
    meeting = Meeting.objects.get()
    step(
        chair,
        "post",
        reverse("agenda-add", kwargs={"meeting_id": meeting.uuid}),
        {"case": case.uuid, "time_box_minutes": 10},
    )

    # The panel reads, writes opinions, proposes and votes; the chair signs.
    for user, client in panel.items():
        step(client, "post", url("opinion-create"), {"body": f"{user.specialty}: agree."})
    step(
        panel[cast.surgeon],
        "post",
        url("proposal-create"),
        {f"proposal-{k}": v for k, v in SURGERY.items()},
    )
    deadline = (timezone.now() + datetime.timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    step(chair, "post", url("vote-round-open"), {"round-deadline": deadline})
    round_ = VoteRound.objects.get()
    for client in (chair, *panel.values()):
        ballot = {f"vote-p-{p.uuid}": "agree" for p in round_.proposals.all()}
        step(client, "post", url("vote-cast", round_id=round_.uuid), ballot)
    step(chair, "post", url("vote-round-close", round_id=round_.uuid))
    consensus_data = {**SURGERY, "text": "Resection after radiotherapy."}
    step(
        chair,
        "post",
        url("consensus-draft"),
        {f"consensus-{k}": v for k, v in consensus_data.items()},
    )
    consensus = Consensus.objects.get()
    step(
        chair,
        "post",
        url("consensus-sign", consensus_id=consensus.uuid),
        {"sign-password": PASSWORD},
    )
    copies = {report.audience: report for report in Report.objects.all()}
    assert set(copies) == {ReportAudience.PANEL, ReportAudience.REFERRER}
    assert all(report.is_ready for report in copies.values())

    # What each audience reads.
    pathologist = panel[cast.pathologist]
    seen["case page, submitter"].append(step(referrer, "get", url("case-detail")).content.decode())
    seen["case page, chair"].append(step(chair, "get", url("case-detail")).content.decode())
    seen["case page, panel member"].append(
        step(pathologist, "get", url("case-detail")).content.decode()
    )
    seen["queue, panel member"].append(
        step(
            pathologist, "get", reverse("board-queue", kwargs={"board_id": cast.board.uuid})
        ).content.decode()
    )
    seen["decision panel"].append(step(pathologist, "get", url("decision-panel")).content.decode())
    for reader, audience, artifact in [
        (pathologist, ReportAudience.PANEL, "report PDF, panel"),
        (referrer, ReportAudience.REFERRER, "report PDF, referrer"),
    ]:
        download = url("report-download", report_id=copies[audience].uuid)
        seen[artifact].append(pdf_text(body(step(reader, "get", download))))

    # DICOMweb: a search by the patient's name finds nothing (the stored files no longer
    # carry it), and what the panel reads is de-identified.
    root = reverse("dicomweb-studies", kwargs={"case_id": case.uuid}).removesuffix("studies")

    def dicomweb(path: str) -> str:
        return root + path

    by_name = step(pathologist, "get", dicomweb("studies"), {"PatientName": f"{LAST}*"})
    seen["DICOMweb search by the patient's name"].append(by_name.content.decode())
    assert by_name.status_code == 204 or by_name.json() == []
    series = Series.objects.select_related("study").get()
    instance = Instance.objects.filter(series=series).first()
    study_path = f"studies/{series.study.study_instance_uid}"
    series_path = f"{study_path}/series/{series.series_instance_uid}"
    for path, accept in [
        ("studies", ""),
        (f"{study_path}/series", ""),
        (f"{series_path}/instances", ""),
        (f"{series_path}/metadata", ""),
        (
            f"{series_path}/instances/{instance.sop_instance_uid}",
            'multipart/related; type="application/dicom"',
        ),
    ]:
        headers = {"HTTP_ACCEPT": accept} if accept else {}
        answer = body(step(pathologist, "get", dicomweb(path), **headers))
        seen["DICOMweb answers"].append(answer.decode("latin-1"))
    for stored in Instance.objects.all():
        with stored.file.open("rb") as fh:
            seen["stored DICOM files"].append(fh.read().decode("latin-1"))

    # Everything said on the side.
    seen["log records"] = logs.lines
    assert mail.outbox, "the workflow sends email (submission, invitations, report)"
    for message in mail.outbox:
        parts = [message.subject, message.body]
        parts += [content for content, _type in getattr(message, "alternatives", [])]
        for attachment in message.attachments:
            if hasattr(attachment, "get_payload"):  # a MIME part (base64 on the wire)
                content = attachment.get_payload(decode=True)
            else:  # (filename, content, mimetype)
                content = attachment[1]
            if isinstance(content, bytes):
                content = content.decode("utf-8", "replace")
            target = "meeting invitations (iCalendar)" if "VCALENDAR" in str(content) else "emails"
            seen[target].append(str(content))
        seen["emails"].append("\n".join(parts))
    seen["audit trail"] = [
        f"{e.actor_label} {e.action} {e.object_type} {e.object_id} {e.detail}"
        for e in AuditEvent.objects.all()
    ]

    leaks = {}
    for artifact, texts in seen.items():
        assert texts, f"nothing was captured for {artifact!r}: the test would prove nothing"
        extra = found_in("\n".join(texts)) - MAY_CARRY[artifact]
        if extra:
            leaks[artifact] = sorted(extra)
    assert leaks == {}
    # And the table is not vacuous: the canaries do reach the places that should show them.
    assert found_in("\n".join(seen["case page, submitter"])) >= WHO_THE_PATIENT_IS
    assert found_in("\n".join(seen["report PDF, panel"])) >= {"question"}
    assert found_in("\n".join(seen["report PDF, referrer"])) >= WHO_THE_PATIENT_IS

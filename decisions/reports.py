"""The reports of a signed consensus version: their lifecycle, from the signature to the PDFs.

A signed version has one report per audience the case has (``report_audiences``): the panel
copy (everything, pseudonymous), the referrer copy (for the referring doctor's chart) and the
patient copy (for a patient who asked for a second opinion, where the board sends reports to
patients). decisions.report_data decides what each copy holds; CaseAccess.report_audience
decides which copy a reader gets.

The rows are written with the signature (``report_request``: pending) and each PDF is
rendered after the signature commits (``report_generate``: ready, or failed), each copy on its
own. A ready copy never changes: a correction is a new version with reports of its own. A
report shows the case as it stood when the version was signed (decisions.report_data), so a
copy made again after a failure says the same. Co-signatures come after the signature: a copy
lists those known when it was rendered (normally none); the case page lists them all.

Where a copy stands is the row's ``status`` column; the audit trail records what happened
but never decides. A pending row older than REPORT_PENDING_FOR belongs to a process that died
while rendering: it reads as failed, and the chair may ask again.

The submitter gets an email when their copy is ready; members follow the case page.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from board.models import User
from cases import notify
from cases.access import CaseAccess
from cases.audit import audit
from cases.models import Case, ReportAudience
from decisions.models import Consensus, Report
from decisions.render import render_report_pdf, report_sha256
from decisions.report_data import report_data
from realtime.events import ReportChanged
from realtime.publish import publish_case_event

logger = logging.getLogger(__name__)

REPORT_PENDING_FOR = timedelta(minutes=5)


class ReportConflict(Exception):
    """The report cannot be asked for again (it is ready, or the version is not signed)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def report_audiences(case: Case) -> list[str]:
    """The copies a signed version of this case gets: always the panel's; the referrer's when
    a clinician submitted the case; the patient's when the patient did and the board sends
    reports to patients."""
    audiences = [ReportAudience.PANEL]
    submitter = case.submitted_by
    if submitter.kind == User.Kind.CLINICIAN:
        audiences.append(ReportAudience.REFERRER)
    elif case.board.send_report_to_patient:
        audiences.append(ReportAudience.PATIENT)
    return audiences


def report_of(consensus: Consensus, audience: str) -> Report | None:
    return Report.objects.filter(consensus=consensus, audience=audience).first()


def report_status(report: Report | None) -> str:
    """ready, pending (being rendered) or failed; a pending report nobody finished is failed."""
    if report is None:
        return Report.Status.FAILED
    stale = timezone.now() - report.requested_at >= REPORT_PENDING_FOR
    if report.status == Report.Status.PENDING and stale:
        return Report.Status.FAILED
    return report.status


def report_request(*, consensus: Consensus) -> list[Report]:
    """Inside the signature's transaction: a pending row per audience, and the rendering of
    each after commit (one copy failing leaves the others to be made)."""
    now = timezone.now()
    copies = [
        Report.objects.create(consensus=consensus, audience=audience, requested_at=now)
        for audience in report_audiences(consensus.case)
    ]
    for copy in copies:
        transaction.on_commit(
            lambda audience=copy.audience: report_generate(consensus=consensus, audience=audience),
            robust=True,
        )
    return copies


def report_generate(*, consensus: Consensus, audience: str, by: User | None = None) -> Report:
    """Render and store one copy of a signed version whose copy is not ready. A failure is
    logged, audited and recorded on the row, leaves the signature standing and tells the case
    page (the chair can then generate it again). A ready copy is returned unchanged."""
    consensus = Consensus.objects.select_related(
        "case__board", "case__submitted_by", "signed_by", "supersedes", "round__meeting"
    ).get(pk=consensus.pk)
    if not consensus.is_signed:
        raise ValueError("only a signed consensus has a report")
    report = Report.objects.get_or_create(consensus=consensus, audience=audience)[0]
    if report.is_ready:
        return report
    case = consensus.case
    by = by or consensus.signed_by
    detail = {"version": consensus.version, "audience": audience}
    try:
        pdf = render_report_pdf(report_data(consensus, audience))
        report.file.save("report.pdf", ContentFile(pdf), save=False)
        name = report.file.name
    except Exception as exc:
        logger.exception("could not make the %s report of consensus %s", audience, consensus.uuid)
        Report.objects.filter(pk=report.pk).exclude(status=Report.Status.READY).update(
            status=Report.Status.FAILED, error=type(exc).__name__
        )
        audit(
            actor=by,
            action="report.generate",
            case=case,
            target=consensus,
            allowed=False,
            detail={**detail, "error": type(exc).__name__},
        )
        _publish(consensus, Report.Status.FAILED)
        report.refresh_from_db()
        return report
    with transaction.atomic():
        # Only one rendering wins (a regenerate beside a slow first attempt): the first to
        # mark the row ready; the other's file is thrown away.
        won = (
            Report.objects.filter(pk=report.pk)
            .exclude(status=Report.Status.READY)
            .update(
                status=Report.Status.READY,
                file=name,
                sha256=report_sha256(pdf),
                size=len(pdf),
                error="",
                generated_at=timezone.now(),
            )
        )
        if won:
            report.refresh_from_db()
            audit(
                actor=by,
                action="report.generate",
                case=case,
                target=report,
                detail={**detail, "sha256": report.sha256},
            )
            _publish(consensus, Report.Status.READY)
            if audience != ReportAudience.PANEL:
                transaction.on_commit(lambda: report_deliver(report=report, by=by), robust=True)
    if not won:
        report.file.storage.delete(name)
        report.refresh_from_db()
    return report


def report_regenerate(*, access: CaseAccess, consensus: Consensus, audience: str) -> Report:
    """The chair asks again for one copy of a signed version whose copy is not ready (its
    rendering failed, or the audience came later: the board began sending reports to
    patients)."""
    access.require(access.is_manager, "report.regenerate")
    if consensus.case_id != access.case.pk:
        raise ValueError("the consensus is not this case's")
    if not consensus.is_signed:
        raise ReportConflict(_("Only a signed version has a report."))
    if audience not in report_audiences(access.case):
        raise ReportConflict(_("This case has no such copy of the report."))
    with transaction.atomic():
        report = Report.objects.select_for_update().get_or_create(
            consensus=consensus, audience=audience
        )[0]
        if report.is_ready:
            raise ReportConflict(
                _("This copy of the report is ready already; a report is never changed.")
            )
        report.status = Report.Status.PENDING
        report.requested_at = timezone.now()
        report.error = ""
        report.save(update_fields=["status", "requested_at", "error"])
        audit(
            actor=access.user,
            action="report.regenerate",
            case=access.case,
            target=consensus,
            detail={"version": consensus.version, "audience": audience},
        )
    return report_generate(consensus=consensus, audience=audience, by=access.user)


def report_recipients(case: Case, audience: str) -> list[User]:
    """Who is emailed when a copy is ready: the submitter, when it is the copy for them."""
    submitter = case.submitted_by
    if submitter.kind == User.Kind.PATIENT:
        wanted = ReportAudience.PATIENT if case.board.send_report_to_patient else None
    else:
        wanted = ReportAudience.REFERRER
    return [submitter] if audience == wanted else []


def report_deliver(*, report: Report, by: User | None = None) -> int:
    """Tell the submitter their copy is ready (pseudonym and link only; the PDF stays behind
    the login). Runs after the copy is stored; returns how many were emailed."""
    consensus = report.consensus
    case = consensus.case
    subject = _("The board's report on case %(pseudonym)s is ready") % {"pseudonym": case.pseudonym}
    if consensus.version > 1:
        intro = _(
            "%(board)s signed a corrected report (version %(version)d) on case %(pseudonym)s."
        )
    else:
        intro = _("%(board)s signed its report on case %(pseudonym)s.")
    values = {"board": case.board.name, "version": consensus.version, "pseudonym": case.pseudonym}
    link = _("Sign in to read the recommendation and download the PDF:\n%(url)s\n") % {
        "url": notify.case_url(case)
    }
    # Re-checked at send time: a submitter who can no longer read this copy is not told.
    sent = notify.send(
        subject,
        f"{intro % values}\n\n{link}",
        report_recipients(case, report.audience),
        case=case,
        allowed=lambda access: access.report_audience == report.audience,
    )
    audit(
        actor=by,
        action="report.deliver",
        case=case,
        target=report,
        detail={"version": consensus.version, "audience": report.audience, "emails": sent},
    )
    return sent


def verify_report(case: Case, digest: str) -> Report | None:
    """The ready report of this case, of any audience, whose SHA-256 is ``digest``, if any."""
    return (
        Report.objects.filter(
            consensus__case=case, status=Report.Status.READY, sha256=digest.lower()
        )
        .select_related("consensus__signed_by")
        .first()
    )


def _publish(consensus: Consensus, status: str) -> None:
    publish_case_event(
        consensus.case,
        ReportChanged(
            case=str(consensus.case.uuid),
            consensus=str(consensus.uuid),
            version=consensus.version,
            status=str(status),
        ),
    )

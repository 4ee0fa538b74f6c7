"""The report of a signed consensus version: its lifecycle, from the signature to the PDF.

The row is written with the signature (``report_request``: pending) and the PDF is rendered
after the signature commits (``report_generate``: ready, or failed). A ready report never
changes: a correction is a new version with a report of its own. The report shows the case
as it stood when the version was signed (decisions.report_data), so a report made again after
a failure says the same. Co-signatures come after the signature: the report lists those known
when it was rendered (normally none); the case page lists them all.

Where a report stands is the row's ``status`` column; the audit trail records what happened
but never decides. A pending row older than REPORT_PENDING_FOR belongs to a process that died
while rendering: it reads as failed, and the chair may ask again.

Who may download it is ``CaseAccess.can_read_report``. The submitter, if they may read it,
gets an email when it is ready; members follow the case page.
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
from cases.models import Case
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


def report_of(consensus: Consensus) -> Report | None:
    try:
        return consensus.report
    except Report.DoesNotExist:
        return None


def report_status(report: Report | None) -> str:
    """ready, pending (being rendered) or failed; a pending report nobody finished is failed."""
    if report is None:
        return Report.Status.FAILED
    stale = timezone.now() - report.requested_at >= REPORT_PENDING_FOR
    if report.status == Report.Status.PENDING and stale:
        return Report.Status.FAILED
    return report.status


def report_request(*, consensus: Consensus) -> Report:
    """Inside the signature's transaction: the pending row, and the rendering after commit."""
    report = Report.objects.create(consensus=consensus, requested_at=timezone.now())
    transaction.on_commit(lambda: report_generate(consensus=consensus), robust=True)
    return report


def report_generate(*, consensus: Consensus, by: User | None = None) -> Report:
    """Render and store the PDF of a signed version whose report is not ready. A failure is
    logged, audited and recorded on the row, leaves the signature standing and tells the case
    page (the chair can then generate it again). A ready report is returned unchanged."""
    consensus = Consensus.objects.select_related(
        "case__board", "signed_by", "supersedes", "round__meeting"
    ).get(pk=consensus.pk)
    if not consensus.is_signed:
        raise ValueError("only a signed consensus has a report")
    report = Report.objects.get_or_create(consensus=consensus)[0]
    if report.is_ready:
        return report
    case = consensus.case
    by = by or consensus.signed_by
    try:
        pdf = render_report_pdf(report_data(consensus))
        report.file.save("report.pdf", ContentFile(pdf), save=False)
        name = report.file.name
    except Exception as exc:
        logger.exception("could not make the report of consensus %s", consensus.uuid)
        Report.objects.filter(pk=report.pk).exclude(status=Report.Status.READY).update(
            status=Report.Status.FAILED, error=type(exc).__name__
        )
        audit(
            actor=by,
            action="report.generate",
            case=case,
            target=consensus,
            allowed=False,
            detail={"version": consensus.version, "error": type(exc).__name__},
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
                detail={"version": consensus.version, "sha256": report.sha256},
            )
            _publish(consensus, Report.Status.READY)
            transaction.on_commit(lambda: report_deliver(report=report, by=by), robust=True)
    if not won:
        report.file.storage.delete(name)
        report.refresh_from_db()
    return report


def report_regenerate(*, access: CaseAccess, consensus: Consensus) -> Report:
    """The chair asks again for the report of a signed version whose report is not ready."""
    access.require(access.is_manager, "report.regenerate")
    if consensus.case_id != access.case.pk:
        raise ValueError("the consensus is not this case's")
    if not consensus.is_signed:
        raise ReportConflict(_("Only a signed version has a report."))
    with transaction.atomic():
        report = Report.objects.select_for_update().get_or_create(consensus=consensus)[0]
        if report.is_ready:
            raise ReportConflict(
                _("This version has its report already; a report is never changed.")
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
            detail={"version": consensus.version},
        )
    return report_generate(consensus=consensus, by=access.user)


def report_recipients(case: Case) -> list[User]:
    """Who is emailed when a report is ready: the submitter, if they may read it."""
    submitter = case.submitted_by
    if submitter.kind == User.Kind.PATIENT and not case.board.send_report_to_patient:
        return []
    return [submitter]


def report_deliver(*, report: Report, by: User | None = None) -> int:
    """Tell the submitter the report is ready (pseudonym and link only; the PDF stays behind
    the login). Runs after the report is stored; returns how many were emailed."""
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
    sent = notify.send(subject, f"{intro % values}\n\n{link}", report_recipients(case))
    audit(
        actor=by,
        action="report.deliver",
        case=case,
        target=report,
        detail={"version": consensus.version, "emails": sent},
    )
    return sent


def verify_report(case: Case, digest: str) -> Report | None:
    """The ready report of this case whose SHA-256 is ``digest``, if any."""
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

"""The decisions panel of a case and its forms: proposals, votes, consensus.

Each form posts to its own URL. Posted by decisions.js (header ``X-Requested-With: fetch``)
the answer is the re-rendered panel; posted plainly, a redirect back to the case page with a
message. A clash with the record (a vote after the close, a second ballot, a signed version)
is 409 either way and writes nothing.
"""

from __future__ import annotations

import hashlib
import io
import logging
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import FileField, Form
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from board.models import Specialty
from board.second_factor import require_recent_second_factor
from cases.access import CaseAccess, get_case_for_user
from cases.audit import audit
from cases.models import ReportAudience
from decisions import reports, services
from decisions.forms import (
    ChairSignForm,
    ConsensusForm,
    ProposalForm,
    SignForm,
    VoteForm,
    VoteRoundForm,
)
from decisions.models import Consensus, Proposal, Report, VoteRound
from decisions.panel import decision_state
from decisions.report_data import meeting_quorum_shortfall

logger = logging.getLogger(__name__)

PANEL = "decisions/_panel_body.html"
# The largest file the verification page hashes: a report with many key images is a few MB.
REPORT_CHECK_MAX_BYTES = 20 * 2**20


def panel_context(
    request: HttpRequest, access: CaseAccess, forms: dict[str, Form] | None = None
) -> dict[str, Any]:
    """Everything the panel template needs; ``forms`` replaces the blank forms (with errors)."""
    case = access.case
    context: dict[str, Any] = {"case": case, "access": access, "request": request}
    panelist = access.is_panelist
    state = decision_state(access) if panelist else None
    if state is not None:
        consensus = state.consensus
    else:
        # The submitter sees the signed recommendation with its report, or neither.
        consensus = _latest_signed(case) if access.can_read_report else None
    context.update(panelist=panelist, state=state, consensus=consensus)
    if consensus is not None and consensus.is_signed:
        report = reports.report_of(consensus, access.report_audience)
        context["report"] = report if report is not None and report.is_ready else None
        context["report_status"] = reports.report_status(report)
        if access.is_manager:
            # Managers follow every copy (and make one again), but download only the panel's.
            copies = {r.audience: r for r in consensus.reports.all()}
            context["report_copies"] = [
                {
                    "audience": audience,
                    "label": ReportAudience(audience).label,
                    "status": reports.report_status(copies.get(audience)),
                }
                for audience in reports.report_audiences(case)
            ]
    if not panelist:
        return context
    forms = forms or {}
    context["panel_errors"] = error_summary(forms.values())
    round_ = state.round
    if access.can_propose:
        context["proposal_form"] = forms.get("proposal") or ProposalForm()
    if access.can_vote and round_ and round_.accepts_votes and state.my_vote is None:
        context["vote_form"] = forms.get("vote") or VoteForm(round=round_, proposals=state.ballot)
        on_live_page = round_.meeting and request.GET.get("meeting") == str(round_.meeting.uuid)
        if services.is_live_for_present_only(round_) and not on_live_page:
            # Said beside the ballot on the case page. The live page asks for its panel with
            # ?meeting= as it opens its socket, which makes its reader present.
            context["absent_from_live_vote"] = not services.present_in_meeting(round_, request.user)
    # An expert service's case is answered by its expert's signed opinion (decisions.expert):
    # no vote, no consensus drafted by the managers.
    if access.is_manager and not case.board.is_expert_service:
        if round_ is None or not round_.is_open:
            # The live meeting page asks for its panel with ?meeting=<uuid>: a vote opened
            # there is a vote of that meeting unless the chair says otherwise.
            context["round_form"] = forms.get("round") or VoteRoundForm(
                case=case, initial={"meeting": request.GET.get("meeting")}
            )
        if not case.is_closed or (consensus and consensus.is_signed):
            context["consensus_form"] = forms.get("consensus") or ConsensusForm(
                initial=services.consensus_initial(case)
            )
        if consensus and not consensus.is_signed:
            context["sign_form"] = forms.get("sign") or ChairSignForm(prefix="sign")
            shortfall = meeting_quorum_shortfall(consensus, timezone.now())
            context["sign_quorum_shortfall"] = [
                (Specialty(s).label, n) for s, n in (shortfall or {}).items()
            ]
    if (
        access.can_vote
        and consensus
        and consensus.is_signed
        and consensus.signed_by_id != request.user.pk
        and not any(c.signer_id == request.user.pk for c in consensus.cosignatures.all())
    ):
        context["cosign_form"] = forms.get("cosign") or SignForm(prefix="cosign")
    return context


def error_summary(forms) -> list[dict[str, str]]:
    """The errors of failed forms, each with the id of its field (or none for a form-wide
    one), for the summary that takes focus after a failed submit (WCAG 3.3.1)."""
    rows = []
    for form in forms:
        for name, errors in form.errors.items():
            field_id = form[name].auto_id if name in form.fields else ""
            label = form.fields[name].label if name in form.fields else ""
            rows.extend({"id": field_id, "label": str(label or ""), "error": e} for e in errors)
    return rows


def _latest_signed(case) -> Consensus | None:
    return (
        case.consensus_versions.filter(signed_at__isnull=False)
        .select_related("signed_by")
        .prefetch_related("cosignatures__signer")
        .order_by("-version")
        .first()
    )


def _is_fetch(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def _case_url(access: CaseAccess) -> str:
    return reverse("case-detail", kwargs={"case_id": access.case.uuid}) + "#decisions"


def _done(request: HttpRequest, access: CaseAccess, message: str) -> HttpResponse:
    if _is_fetch(request):
        context = panel_context(request, access)
        context["panel_message"] = message
        return render(request, PANEL, context)
    messages.success(request, message)
    return redirect(_case_url(access))


def _invalid(request: HttpRequest, access: CaseAccess, name: str, form: Form) -> HttpResponse:
    if _is_fetch(request):
        return render(request, PANEL, panel_context(request, access, {name: form}), status=400)
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)
    return redirect(_case_url(access))


def _refused(
    request: HttpRequest, access: CaseAccess, action: str, message: str, status: int
) -> HttpResponse:
    """409 for a clash with the record, 400 for a request the rules refuse; audited."""
    audit(
        actor=request.user,
        action=action,
        case=access.case,
        allowed=False,
        detail={"reason": message, "status": status},
    )
    if _is_fetch(request):
        context = panel_context(request, access)
        context["panel_error"] = message
        return render(request, PANEL, context, status=status)
    if status == 409:
        context = {"case": access.case, "message": message}
        return render(request, "decisions/conflict.html", context, status=409)
    messages.error(request, message)
    return redirect(_case_url(access))


# --- the panel --------------------------------------------------------------------------------


@require_GET
def decision_panel(request: HttpRequest, case_id: UUID) -> HttpResponse:
    """The panel alone, for decisions.js to re-fetch when an event says it changed. Opened
    directly (a bookmark, a link shared), a fragment is no page (no title, no landmarks, no
    language): the same panel comes inside the site's page."""
    access = get_case_for_user(request.user, case_id)
    audit(actor=request.user, action="decision.panel", case=access.case, target=access.case)
    context = panel_context(request, access)
    if _is_fetch(request):
        return render(request, PANEL, context)
    response = render(request, "decisions/panel_page.html", context)
    patch_vary_headers(response, ["X-Requested-With"])
    return response


# --- proposals --------------------------------------------------------------------------------


@require_POST
def proposal_create(request: HttpRequest, case_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id)
    form = ProposalForm(request.POST)
    if not form.is_valid():
        return _invalid(request, access, "proposal", form)
    proposal = services.proposal_create(access=access, data=form.cleaned_data)
    return _done(request, access, _("Proposal %(p)s added.") % {"p": f"P{proposal.number}"})


@require_POST
def proposal_withdraw(request: HttpRequest, case_id: UUID, proposal_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id)
    proposal = Proposal.objects.filter(case=access.case, uuid=proposal_id).first()
    if proposal is None:
        raise Http404
    try:
        services.proposal_withdraw(access=access, proposal=proposal)
    except services.Conflict as exc:
        return _refused(request, access, "proposal.withdraw", exc.message, 409)
    return _done(request, access, _("Proposal withdrawn. It stays in the record."))


# --- votes ------------------------------------------------------------------------------------


def _round_for(access: CaseAccess, round_id: UUID) -> VoteRound:
    round_ = VoteRound.objects.filter(case=access.case, uuid=round_id).first()
    if round_ is None:
        raise Http404
    round_.case = access.case
    return round_


@require_POST
def vote_round_open(request: HttpRequest, case_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id)
    form = VoteRoundForm(request.POST, case=access.case)
    if not form.is_valid():
        return _invalid(request, access, "round", form)
    try:
        round_ = services.vote_round_open(
            access=access,
            deadline=form.cleaned_data["deadline"],
            meeting=form.cleaned_data["meeting"],
        )
    except services.Conflict as exc:
        return _refused(request, access, "vote.open", exc.message, 409)
    except ValidationError as exc:
        return _refused(request, access, "vote.open", " ".join(exc.messages), 400)
    return _done(request, access, _("Vote %(n)d is open.") % {"n": round_.number})


@require_POST
def vote_cast(request: HttpRequest, case_id: UUID, round_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id)
    round_ = _round_for(access, round_id)
    if not round_.accepts_votes:
        return _refused(request, access, "vote.cast", _("This vote is closed."), 409)
    form = VoteForm(request.POST, round=round_, proposals=list(round_.proposals.all()))
    if not form.is_valid():
        return _invalid(request, access, "vote", form)
    try:
        services.vote_cast(access=access, round=round_, **form.ballot())
    except services.Conflict as exc:
        return _refused(request, access, "vote.cast", exc.message, 409)
    except ValidationError as exc:
        return _refused(request, access, "vote.cast", " ".join(exc.messages), 400)
    return _done(request, access, _("Your vote is recorded."))


@require_POST
def vote_round_close(request: HttpRequest, case_id: UUID, round_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id)
    round_ = _round_for(access, round_id)
    try:
        round_ = services.vote_round_close(access=access, round=round_)
    except services.Conflict as exc:
        return _refused(request, access, "vote.close", exc.message, 409)
    return _done(
        request,
        access,
        _("Vote %(n)d is closed: %(result)s.")
        % {"n": round_.number, "result": round_.get_result_display().lower()},
    )


# --- consensus --------------------------------------------------------------------------------


def _consensus_for(access: CaseAccess, consensus_id: UUID) -> Consensus:
    consensus = Consensus.objects.filter(case=access.case, uuid=consensus_id).first()
    if consensus is None:
        raise Http404
    return consensus


@require_POST
def consensus_draft(request: HttpRequest, case_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id)
    form = ConsensusForm(request.POST)
    if not form.is_valid():
        return _invalid(request, access, "consensus", form)
    try:
        consensus = services.consensus_draft(access=access, data=form.cleaned_data)
    except ValidationError as exc:
        return _refused(request, access, "consensus.draft", " ".join(exc.messages), 400)
    return _done(request, access, _("Draft version %(v)d saved.") % {"v": consensus.version})


@require_POST
# A signature binds the board: the second factor again, not only the password.
@require_recent_second_factor
def consensus_sign(request: HttpRequest, case_id: UUID, consensus_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id)
    consensus = _consensus_for(access, consensus_id)
    return _sign(request, access, consensus, "sign", services.consensus_sign)


@require_POST
# A signature binds the board: the second factor again, not only the password.
@require_recent_second_factor
def consensus_cosign(request: HttpRequest, case_id: UUID, consensus_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id)
    consensus = _consensus_for(access, consensus_id)
    return _sign(request, access, consensus, "cosign", services.consensus_cosign)


def _sign(request, access, consensus, prefix, service) -> HttpResponse:
    chair = prefix == "sign"
    form = (ChairSignForm if chair else SignForm)(request.POST, prefix=prefix)
    if form.is_valid():
        extra = {"quorum_reason": form.cleaned_data["quorum_reason"]} if chair else {}
        try:
            service(
                access=access,
                consensus=consensus,
                password=form.cleaned_data["password"],
                **extra,
            )
        except services.WrongPassword:
            form.add_error("password", _("That is not your password. Nothing was signed."))
        except services.QuorumReasonRequired as exc:
            form.add_error("quorum_reason", exc.message)
        except services.Conflict as exc:
            return _refused(request, access, f"consensus.{prefix}", exc.message, 409)
        else:
            return _done(request, access, _("Signed."))
    return _invalid(request, access, prefix, form)


# --- the report -------------------------------------------------------------------------------


@require_GET
def report_download(request: HttpRequest, case_id: UUID, report_id: UUID) -> HttpResponse:
    """The signed PDF, as stored; every download is audited."""
    access = get_case_for_user(request.user, case_id, action="report.download")
    access.require(access.can_read_report, "report.download")
    # Only the reader's own copy: another audience's copy of this case is 404 to them.
    report = (
        Report.objects.select_related("consensus")
        .filter(
            consensus__case=access.case,
            uuid=report_id,
            status=Report.Status.READY,
            audience=access.report_audience,
        )
        .first()
    )
    if report is None:
        audit(
            actor=request.user,
            action="report.download",
            case=access.case,
            allowed=False,
            detail={"requested": str(report_id)},
        )
        raise Http404
    with report.file.open("rb") as handle:
        pdf = handle.read()
    if hashlib.sha256(pdf).hexdigest() != report.sha256:
        # The stored file is not the one that was signed: never hand it out as the report.
        logger.error("report %s no longer matches its SHA-256", report.uuid)
        audit(
            actor=request.user,
            action="report.download",
            case=access.case,
            target=report,
            allowed=False,
            detail={"reason": "integrity"},
        )
        return HttpResponse(
            _("The stored report does not match its signature record. Contact the board."),
            status=500,
            content_type="text/plain; charset=utf-8",
        )
    version = report.consensus.version
    audit(
        actor=request.user,
        action="report.download",
        case=access.case,
        target=report,
        detail={"version": version, "audience": report.audience},
    )
    response = FileResponse(
        io.BytesIO(pdf),
        as_attachment=True,
        filename=f"consilium-{access.case.pseudonym}-report-v{version}-{report.audience}.pdf",
        content_type="application/pdf",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
def report_regenerate(request: HttpRequest, case_id: UUID, consensus_id: UUID) -> HttpResponse:
    """Render a copy of the report of a signed version that has none (its first attempt
    failed, or its audience came later); POST ``audience`` names the copy (default: panel)."""
    access = get_case_for_user(request.user, case_id)
    consensus = _consensus_for(access, consensus_id)
    # An unknown audience is refused by the service (409), after the manager check (403).
    audience = request.POST.get("audience") or ReportAudience.PANEL
    try:
        report = reports.report_regenerate(access=access, consensus=consensus, audience=audience)
    except reports.ReportConflict as exc:
        return _refused(request, access, "report.regenerate", exc.message, 409)
    if not report.is_ready:
        message = _("The report could not be generated. The error is logged; try again later.")
        if _is_fetch(request):
            context = panel_context(request, access)
            context["panel_error"] = message
            return render(request, PANEL, context)
        messages.error(request, message)
        return redirect(_case_url(access))
    return _done(
        request, access, _("The report of version %(v)d is ready.") % {"v": consensus.version}
    )


class ReportCheckForm(Form):
    file = FileField(
        label=gettext_lazy("Report PDF"),
        help_text=gettext_lazy("The file is hashed and compared, not stored."),
    )


@require_http_methods(["GET", "POST"])
def report_verify(request: HttpRequest, case_id: UUID) -> HttpResponse:
    """Anyone who may open the case checks a PDF against the SHA-256 recorded for each of its
    reports: the file is hashed, compared and thrown away."""
    access = get_case_for_user(request.user, case_id, action="report.verify")
    case = access.case
    form, checked, error, status = ReportCheckForm(), None, "", 200
    if request.method == "POST":
        # Refused before Django reads the body into a temporary file.
        if int(request.META.get("CONTENT_LENGTH") or 0) > REPORT_CHECK_MAX_BYTES + 2**16:
            error, status = _too_big(), 413
        else:
            form = ReportCheckForm(request.POST, request.FILES)
            if not form.is_valid():
                status = 400
            elif form.cleaned_data["file"].size > REPORT_CHECK_MAX_BYTES:
                error, status = _too_big(), 413
        if status == 200:
            digest = hashlib.sha256()
            for chunk in form.cleaned_data["file"].chunks():
                digest.update(chunk)
            match = reports.verify_report(case, digest.hexdigest())
            audit(
                actor=request.user,
                action="report.verify",
                case=case,
                target=match,
                detail={"matched": match is not None, "sha256": digest.hexdigest()},
            )
            checked = {"sha256": digest.hexdigest(), "report": match}
        else:
            audit(
                actor=request.user,
                action="report.verify",
                case=case,
                allowed=False,
                detail={"status": status},
            )
    stored = list(
        Report.objects.filter(consensus__case=case, status=Report.Status.READY)
        .select_related("consensus__signed_by")
        .order_by("-consensus__version", "audience")
    )
    context = {
        "case": case,
        "form": form,
        "error": error,
        "checked": checked,
        "reports": stored,
        "can_read_report": access.can_read_report,
        "max_mb": REPORT_CHECK_MAX_BYTES // 2**20,
    }
    return render(request, "decisions/report_verify.html", context, status=status)


def _too_big() -> str:
    return _("The file is larger than %(mb)d MB: it is not a report of this case.") % {
        "mb": REPORT_CHECK_MAX_BYTES // 2**20
    }

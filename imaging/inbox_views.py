"""The board's inbox of studies received from a PACS, and its DICOM settings.

Only the board's managers (chair, coordinators) see it: it names patients. Every read and
every refusal is audited, like any read of patient data.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from board.access import BoardAccess, get_board_for_manager
from cases.audit import audit
from cases.models import Case
from imaging import services
from imaging.models import InboxStudy


def _inbox_access(request: HttpRequest, board_id: UUID, action: str) -> BoardAccess:
    """The board for its managers: 404 to outsiders, 403 (audited) to its members."""
    try:
        return get_board_for_manager(request.user, board_id)
    except PermissionDenied:
        audit(actor=request.user, action=action, allowed=False, detail={"board": str(board_id)})
        raise


def _inbox_study(access: BoardAccess, study_id: UUID, action: str) -> InboxStudy:
    study = InboxStudy.objects.filter(board=access.board, uuid=study_id).first()
    if study is None:
        audit(actor=access.user, action=action, target=access.board, allowed=False)
        raise Http404
    return study


@require_GET
def inbox(request: HttpRequest, board_id: UUID) -> HttpResponse:
    access = _inbox_access(request, board_id, "imaging.inbox_read")
    board = access.board
    studies = list(InboxStudy.objects.filter(board=board))
    audit(
        actor=request.user,
        action="imaging.inbox_read",
        target=board,
        detail={"studies": len(studies)},
    )
    callers = "\n".join(
        f"{c.ae_title} {c.host}" if c.host else c.ae_title for c in board.dicom_callers.all()
    )
    cases = Case.objects.filter(board=board).order_by("-pk").only("pseudonym")[:200]
    return render(
        request,
        "imaging/inbox.html",
        {
            "board": board,
            "membership": access.membership,
            "studies": studies,
            "callers": callers,
            "cases": cases,
        },
    )


@require_POST
def inbox_settings(request: HttpRequest, board_id: UUID) -> HttpResponse:
    access = _inbox_access(request, board_id, "board.dicom_settings")
    try:
        services.dicom_settings_update(
            access=access,
            ae_title=request.POST.get("ae_title", ""),
            case_tag=request.POST.get("case_tag", ""),
            callers=request.POST.get("callers", ""),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("DICOM settings saved."))
    return redirect("board-inbox", board_id=access.board.uuid)


@require_POST
def inbox_attach(request: HttpRequest, board_id: UUID, study_id: UUID) -> HttpResponse:
    access = _inbox_access(request, board_id, "imaging.inbox_attach")
    study = _inbox_study(access, study_id, "imaging.inbox_attach")
    try:
        case, batch = services.inbox_study_attach(
            access=access, study=study, case_code=request.POST.get("case", "")
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("board-inbox", board_id=access.board.uuid)
    messages.success(
        request,
        _("%(stored)d file(s) attached to case %(case)s.")
        % {"stored": batch.stored, "case": case.pseudonym},
    )
    return redirect("board-inbox", board_id=access.board.uuid)


@require_POST
def inbox_discard(request: HttpRequest, board_id: UUID, study_id: UUID) -> HttpResponse:
    access = _inbox_access(request, board_id, "imaging.inbox_discard")
    study = _inbox_study(access, study_id, "imaging.inbox_discard")
    services.inbox_study_discard(access=access, study=study)
    messages.success(request, _("The study was discarded."))
    return redirect("board-inbox", board_id=access.board.uuid)

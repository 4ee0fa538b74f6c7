from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from board.access import get_board_for_user
from board.models import User
from cases import checklist, clinical, patient_view, request_views, services
from cases.access import CaseAccess, cases_visible_to, get_case_for_user
from cases.attachments import AttachmentRejected
from cases.audit import audit
from cases.consumers import case_socket_path
from cases.forms import (
    BoardChoiceForm,
    CaseForm,
    IdentityForm,
    InviteForm,
    OpinionForm,
    PatientCaseForm,
    QueueFilterForm,
    age_on,
)
from cases.models import (
    Attachment,
    AuditEvent,
    Case,
    CaseInvite,
    Opinion,
    PatientIdentity,
    awaiting_information,
)
from cases.opinions import visible_thread
from cases.record_forms import MOLECULAR_TARGETS, row_formsets, rows_to_save, rows_valid

TRANSITION_LABELS = {
    Case.Status.SUBMITTED: _lazy("Submit to the board"),
    Case.Status.IN_REVIEW: _lazy("Accept for review"),
    Case.Status.DISCUSSED: _lazy("Mark discussed"),
    Case.Status.CONCLUDED: _lazy("Conclude"),
    Case.Status.WITHDRAWN: _lazy("Withdraw"),
}


CHECKLIST_STATUSES = (Case.Status.DRAFT, Case.Status.SUBMITTED, Case.Status.IN_REVIEW)


def _transitions(access: CaseAccess) -> list[tuple[str, str]]:
    """The moves this user may make now, with the button's words. Scheduling is not one of
    them: a case is scheduled by putting it on a meeting's agenda."""
    return [(status, TRANSITION_LABELS[status]) for status in access.next_statuses]


def _case_form_class(user: User) -> type[CaseForm | PatientCaseForm]:
    return PatientCaseForm if user.kind == User.Kind.PATIENT else CaseForm


def _identity_initial(user: User) -> dict:
    # A patient asks about themselves.
    return {"full_name": user.get_full_name()} if user.kind == User.Kind.PATIENT else {}


def _case_data(form: CaseForm | PatientCaseForm, identity: IdentityForm) -> dict:
    """The form's case fields; a known date of birth sets the age."""
    data = form.case_data()
    dob = identity.cleaned_data.get("date_of_birth")
    if dob:
        data["age"] = age_on(dob, timezone.localdate())
    return data


def _case_url(case: Case) -> str:
    return reverse("case-detail", kwargs={"case_id": case.uuid})


# --- lists -------------------------------------------------------------------------------


@require_GET
def my_cases(request: HttpRequest) -> HttpResponse:
    cases = (
        Case.objects.filter(submitted_by=request.user)
        .select_related("board")
        .order_by("-created_at")
    )
    # The list shows each case's question: clinical text, so a read like the case page.
    audit(actor=request.user, action="case.list", detail={"results": len(cases)})
    return render(request, "cases/my_cases.html", {"cases": cases})


@require_GET
def board_queue(request: HttpRequest, board_id: UUID) -> HttpResponse:
    access = get_board_for_user(request.user, board_id)
    board, membership = access.board, access.membership
    form = QueueFilterForm(request.GET)
    cases = (
        cases_visible_to(request.user)
        .filter(board=board)
        .select_related("board")
        .annotate(opinion_count=Count("opinions", filter=Q(opinions__withdrawn_at__isnull=True)))
        .annotate(awaiting_information=awaiting_information())
        .order_by("-created_at")
    )
    if form.is_valid():
        if form.cleaned_data["status"]:
            cases = cases.filter(status=form.cleaned_data["status"])
        query = form.cleaned_data["q"].strip()
        if query:
            cases = cases.filter(
                Q(pseudonym__icontains=query)
                | Q(question__icontains=query)
                | Q(clinical_summary__icontains=query)
                | Q(diagnosis_other__icontains=query)
                | Q(entity__in=[entity.key for entity in clinical.search_entities(query)])
                | Q(referring_institution__icontains=query)
            )
    page = Paginator(cases, 50).get_page(request.GET.get("page"))
    # The queue shows clinical text (questions, summaries). The search words are not kept:
    # they may be a patient's name typed in the box.
    audit(
        actor=request.user,
        action="queue.view",
        target=board,
        detail={
            "searched": bool(form.is_valid() and form.cleaned_data["q"].strip()),
            "results": page.paginator.count,
        },
    )
    return render(
        request,
        "cases/board_queue.html",
        {"board": board, "membership": membership, "form": form, "page": page},
    )


# --- the case -------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def case_new(request: HttpRequest) -> HttpResponse:
    form_class = _case_form_class(request.user)
    clinician = form_class is CaseForm
    if request.method == "POST":
        board_form = BoardChoiceForm(request.POST, user=request.user)
        form = form_class(request.POST)
        identity = IdentityForm(request.POST)
        rows = row_formsets(Case(), request.POST) if clinician else []
        valid = [board_form.is_valid(), form.is_valid(), identity.is_valid(), rows_valid(rows)]
        if all(valid):
            case = services.case_create(
                by=request.user,
                board=board_form.cleaned_data["board"],
                data=_case_data(form, identity),
                identity=identity.cleaned_data,
                rows=rows_to_save(rows),
            )
            messages.success(
                request,
                _("Draft saved as case %(pseudonym)s. Add reports, then submit it to the board.")
                % {"pseudonym": case.pseudonym},
            )
            return redirect("case-detail", case_id=case.uuid)
    else:
        initial_board = request.GET.get("board")
        board_form = BoardChoiceForm(user=request.user, initial={"board": initial_board})
        form = form_class()
        identity = IdentityForm(initial=_identity_initial(request.user))
        rows = row_formsets(Case()) if clinician else []
    return render(
        request,
        "cases/case_form.html",
        {
            "form": form,
            "identity": identity,
            "board_form": board_form,
            "case": None,
            "rows": rows,
            "molecular_targets": MOLECULAR_TARGETS,
        },
    )


@require_GET
def case_detail(request: HttpRequest, case_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id)
    case = access.case
    identity = None
    if access.can_see_identity:
        identity = PatientIdentity.objects.filter(case=case).first()
    # One event for the page; it says whether the page showed who the patient is.
    detail = {"identity": True} if identity is not None else None
    audit(actor=request.user, action="case.view", case=case, target=case, detail=detail)
    # The latest threads; all of them when the reader asks for the earlier ones.
    all_threads = request.GET.get("opinions") == "all"
    thread = visible_thread(access, all_threads=all_threads) if access.can_see_opinions else None
    # The submitter sees what to add before the board can discuss the case; the managers
    # see the same list above "Mark ready for board". Once ready, the list is done with.
    checklist_items = None
    if (
        (access.is_manager or access.is_submitter)
        and case.status in CHECKLIST_STATUSES
        and case.ready_at is None
    ):
        checklist_items = checklist.checklist(case)
    context = {
        "case": case,
        "access": access,
        "identity": identity,
        "attachments": case.attachments.select_related("uploaded_by"),
        "studies": case.studies.prefetch_related("series"),
        # Removed uploads: listed for the managers (who, when, why), never downloadable.
        "removed_attachments": (
            Attachment.all_objects.filter(case=case, removed_at__isnull=False).select_related(
                "removed_by"
            )
            if access.is_manager
            else ()
        ),
        "removed_studies": (
            # The model through the relation: cases sits below imaging and cannot import it.
            case.studies.model.all_objects.filter(
                case=case, removed_at__isnull=False
            ).select_related("removed_by")
            if access.is_manager
            else ()
        ),
        "key_images": [
            key
            for key in case.key_images.select_related("author", "instance")
            if access.can_see_key_image(key)
        ],
        "thread": thread,
        "opinion_form": OpinionForm() if access.can_write_opinion else None,
        "checklist": checklist_items,
        "checklist_blocking": any(i.required and i.missing for i in checklist_items or ()),
        "checklist_missing": [i for i in checklist_items or () if i.missing],
        "checklist_done": [i for i in checklist_items or () if i.done],
        "document_types": Attachment.DocumentType.choices,
        "transitions": _transitions(access),
        "invites": (
            case.invites.select_related("expert").filter(
                revoked_at__isnull=True, expires_at__gt=timezone.now()
            )
            if access.is_manager
            else None
        ),
        "max_upload_mb": settings.ATTACHMENT_MAX_BYTES // 1048576,
        "max_files": settings.ATTACHMENTS_PER_REQUEST,
    }
    context.update(request_views.requests_context(access))
    context["case_config"] = _case_config(access)
    if patient_view.is_patient_reader(access):
        # A patient's own request reads in plain words, without the clinicians' jargon.
        context.update(patient_view.context(case, access, checklist_items))
        return render(request, "cases/case_patient.html", context)
    return render(request, "cases/case_detail.html", context)


def _case_config(access: CaseAccess) -> dict:
    """What static/js/case-live.js needs: the case socket (for those who may follow it),
    the decisions panel and the words it shows."""
    case = access.case
    return {
        "socket": case_socket_path(case) if access.can_see_opinions else None,
        "panelUrl": reverse("decision-panel", kwargs={"case_id": case.uuid}),
        "requestsUrl": reverse("request-list", kwargs={"case_id": case.uuid}),
        "text": {
            "blindedNew": _("A new opinion was posted. Post your own to see the others."),
            "statuses": dict(Case.Status.choices),
        },
    }


@require_http_methods(["GET", "POST"])
def case_edit(request: HttpRequest, case_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id)
    access.require(access.can_edit, "case.update")
    case = access.case
    form_class = _case_form_class(case.submitted_by)
    clinician = form_class is CaseForm
    stored_identity = PatientIdentity.objects.filter(case=case).first()
    if request.method == "POST":
        form = form_class(request.POST, instance=Case.objects.get(pk=case.pk))
        identity = IdentityForm(request.POST)
        rows = row_formsets(case, request.POST) if clinician else []
        if all([form.is_valid(), identity.is_valid(), rows_valid(rows)]):
            services.case_update(
                by=request.user,
                case=case,
                data=_case_data(form, identity),
                identity=identity.cleaned_data,
                rows=rows_to_save(rows),
            )
            messages.success(request, _("Case saved."))
            return redirect("case-detail", case_id=case.uuid)
    else:
        # The form shows the stored name, date of birth and hospital number.
        audit(actor=request.user, action="identity.view", case=case, target=case)
        form = form_class(instance=case)
        rows = row_formsets(case) if clinician else []
        identity = IdentityForm(
            initial={
                "full_name": stored_identity.full_name if stored_identity else "",
                "date_of_birth": stored_identity.date_of_birth if stored_identity else None,
                "hospital_number": stored_identity.hospital_number if stored_identity else "",
            }
        )
    return render(
        request,
        "cases/case_form.html",
        {
            "form": form,
            "identity": identity,
            "board_form": None,
            "case": case,
            "rows": rows,
            "molecular_targets": MOLECULAR_TARGETS,
        },
    )


@require_POST
def case_status(request: HttpRequest, case_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id)
    to = request.POST.get("to", "")
    access.require(access.can_move_to(to), "case.status")
    try:
        services.case_transition(access=access, to=to)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("The case is now %(status)s.") % {"status": Case.Status(to).label.lower()}
        )
    return redirect("case-detail", case_id=access.case.uuid)


@require_POST
def case_ready(request: HttpRequest, case_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id)
    access.require(access.is_manager, "case.ready")
    try:
        services.case_mark_ready(access=access)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The case is ready for the board."))
    return redirect("case-detail", case_id=access.case.uuid)


@require_GET
def case_audit(request: HttpRequest, case_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id)
    access.require(access.is_manager, "audit.view")
    # Recorded first: the page counts the events and must include this one.
    audit(actor=request.user, action="audit.view", case=access.case, target=access.case)
    events = AuditEvent.objects.filter(case=access.case).select_related("actor", "read_window")
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    return render(request, "cases/audit.html", {"case": access.case, "page": page})


# --- attachments ---------------------------------------------------------------------------


@require_POST
def attachment_upload(request: HttpRequest, case_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id)
    access.require(access.can_upload, "attachment.upload")
    files = request.FILES.getlist("files")
    # Optional: API clients and older forms send none, and the documents are "other".
    document_type = request.POST.get("document_type") or Attachment.DocumentType.OTHER
    results = []
    try:
        services.attachments_check_batch(files)
    except AttachmentRejected as exc:
        results = [{"name": f.name, "ok": False, "reason": exc.reason} for f in files]
        files = []
    for uploaded in files:
        try:
            attachment = services.attachment_add(
                by=request.user, case=access.case, uploaded=uploaded, document_type=document_type
            )
        except AttachmentRejected as exc:
            audit(
                actor=request.user,
                action="attachment.upload",
                case=access.case,
                allowed=False,
                detail={"reason": exc.reason},
            )
            results.append({"name": uploaded.name, "ok": False, "reason": exc.reason})
        else:
            results.append({"name": uploaded.name, "ok": True, "id": str(attachment.uuid)})
    if not results:
        results.append({"name": "", "ok": False, "reason": _("No file was chosen.")})
    status = 200 if any(r["ok"] for r in results) else 400
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"results": results}, status=status)
    for result in results:
        if result["ok"]:
            messages.success(request, _("%(name)s was attached.") % {"name": result["name"]})
        else:
            name = result["name"]
            messages.error(request, f"{name}: {result['reason']}" if name else result["reason"])
    return redirect("case-detail", case_id=access.case.uuid)


@require_GET
def attachment_download(request: HttpRequest, case_id: UUID, attachment_id: UUID) -> FileResponse:
    access = get_case_for_user(request.user, case_id, action="attachment.download")
    attachment = Attachment.objects.filter(case=access.case, uuid=attachment_id).first()
    if attachment is None:
        audit(actor=request.user, action="attachment.download", case=access.case, allowed=False)
        raise Http404
    audit(actor=request.user, action="attachment.download", case=access.case, target=attachment)
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=not attachment.inline,
        filename=attachment.original_name,
        content_type=attachment.mime,
    )
    response["X-Content-Type-Options"] = "nosniff"
    # A previewed PDF must not run script or load anything in our origin.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


# --- opinions ----------------------------------------------------------------------------


def _opinion_for(access: CaseAccess, opinion_id: UUID, action: str = "opinion.view") -> Opinion:
    opinion = (
        Opinion.objects.select_related("author", "parent")
        .filter(case=access.case, uuid=opinion_id)
        .first()
    )
    if opinion is None:
        audit(actor=access.user, action=action, case=access.case, allowed=False)
        raise Http404
    return opinion


def _readable_opinion(access: CaseAccess, opinion_id: UUID, action: str) -> Opinion:
    """The opinion, audited as read; 403 (audited) while the thread is blinded to the reader."""
    access.require(access.can_see_opinions, action)
    opinion = _opinion_for(access, opinion_id, action)
    if access.opinions_blinded and opinion.author_id != access.user.pk:
        audit(actor=access.user, action=action, case=access.case, target=opinion, allowed=False)
        raise PermissionDenied
    audit(actor=access.user, action=action, case=access.case, target=opinion)
    return opinion


@require_POST
def opinion_create(request: HttpRequest, case_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id)
    access.require(access.can_write_opinion, "opinion.create")
    form = OpinionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The opinion is empty or too long."))
        return redirect("case-detail", case_id=access.case.uuid)
    parent = None
    if form.cleaned_data["parent"]:
        parent = _opinion_for(access, form.cleaned_data["parent"], "opinion.create")
    opinion = services.opinion_post(access=access, body=form.cleaned_data["body"], parent=parent)
    # Said in the page's status region (base.html), so a screen reader hears it went through.
    messages.success(request, _("Your opinion was posted."))
    return redirect(f"{_case_url(access.case)}#opinion-{opinion.uuid}")


@require_GET
def opinion_fragment(request: HttpRequest, case_id: UUID, opinion_id: UUID) -> HttpResponse:
    """One opinion as HTML, for the live case page (same rules as the page itself)."""
    access = get_case_for_user(request.user, case_id)
    opinion = _readable_opinion(access, opinion_id, "opinion.view")
    return render(
        request,
        "cases/_opinion.html",
        {"opinion": opinion, "access": access, "case": access.case, "replies": []},
    )


@require_http_methods(["GET", "POST"])
def opinion_edit(request: HttpRequest, case_id: UUID, opinion_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id)
    opinion = _opinion_for(access, opinion_id, "opinion.edit")
    allowed = opinion.author_id == request.user.pk and not opinion.withdrawn_at
    access.require(allowed and not access.case.is_closed, "opinion.edit")
    if request.method == "POST":
        form = OpinionForm(request.POST)
        if form.is_valid():
            services.opinion_edit(access=access, opinion=opinion, body=form.cleaned_data["body"])
            messages.success(
                request, _("Opinion updated; the previous text is kept in its history.")
            )
            return redirect(f"{_case_url(access.case)}#opinion-{opinion.uuid}")
    else:
        audit(actor=request.user, action="opinion.view", case=access.case, target=opinion)
        form = OpinionForm(initial={"body": opinion.body})
    return render(
        request, "cases/opinion_edit.html", {"case": access.case, "opinion": opinion, "form": form}
    )


@require_POST
def opinion_withdraw(request: HttpRequest, case_id: UUID, opinion_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id)
    opinion = _opinion_for(access, opinion_id, "opinion.withdraw")
    allowed = opinion.author_id == request.user.pk and not opinion.withdrawn_at
    access.require(allowed and not access.case.is_closed, "opinion.withdraw")
    services.opinion_withdraw(access=access, opinion=opinion)
    messages.success(request, _("Opinion withdrawn. It stays in the case's history."))
    return redirect("case-detail", case_id=access.case.uuid)


@require_GET
def opinion_history(request: HttpRequest, case_id: UUID, opinion_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id)
    opinion = _readable_opinion(access, opinion_id, "opinion.history")
    revisions = opinion.revisions.select_related("edited_by")
    return render(
        request,
        "cases/opinion_history.html",
        {"case": access.case, "opinion": opinion, "revisions": revisions},
    )


# --- invited experts ----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def case_invites(request: HttpRequest, case_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id)
    access.require(access.is_manager, "invite.view")
    if request.method == "POST":
        form = InviteForm(request.POST)
        if form.is_valid():
            try:
                services.invite_create(
                    access=access,
                    email=form.cleaned_data["email"],
                    name=form.cleaned_data["name"],
                    expires_at=timezone.now() + timedelta(days=form.cleaned_data["days"]),
                )
            except ValidationError as exc:
                form.add_error("email", exc)
            else:
                messages.success(
                    request,
                    _("An invitation link was sent to %(email)s.")
                    % {"email": form.cleaned_data["email"]},
                )
                return redirect("case-invites", case_id=access.case.uuid)
    else:
        form = InviteForm(initial={"days": settings.INVITE_DAYS})
    # Who may read the case is part of its record: the list is a read like any other.
    audit(actor=request.user, action="invite.list", case=access.case, target=access.case)
    invites = access.case.invites.select_related("expert", "invited_by")
    return render(
        request,
        "cases/invites.html",
        {"case": access.case, "form": form, "invites": invites, "now": timezone.now()},
    )


@require_POST
def invite_revoke(request: HttpRequest, case_id: UUID, invite_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id)
    access.require(access.is_manager, "invite.revoke")
    invite = CaseInvite.objects.filter(case=access.case, uuid=invite_id).first()
    if invite is None:
        raise Http404
    services.invite_revoke(access=access, invite=invite)
    messages.success(request, _("The invitation is revoked."))
    return redirect("case-invites", case_id=access.case.uuid)

"""The account page's "Your sessions", and the idle warning's two endpoints."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from board.models import UserSession
from board.sessions import idle_remaining, session_end, session_touch, sessions_end_others


@require_POST
def session_end_view(request: HttpRequest, session_id: UUID) -> HttpResponse:
    user_session = get_object_or_404(
        UserSession, uuid=session_id, user=request.user, ended_at__isnull=True
    )
    if user_session.session_key == request.session.session_key:
        # Ending the session in use is signing out, which has its own button.
        messages.error(request, _("To end this session, sign out."))
        return redirect("account")
    session_end(user_session=user_session, reason=UserSession.EndReason.ENDED, actor=request.user)
    messages.success(request, _("The session was ended."))
    return redirect("account")


@require_POST
def sessions_end_others_view(request: HttpRequest) -> HttpResponse:
    ended = sessions_end_others(
        user=request.user,
        keep_key=request.session.session_key,
        reason=UserSession.EndReason.ENDED,
        actor=request.user,
    )
    messages.success(request, _("Other sessions ended: %(count)d.") % {"count": ended})
    return redirect("account")


@never_cache
@require_GET
def session_status(request: HttpRequest) -> JsonResponse:
    """Seconds left before the session ends; asking does not count as activity."""
    return JsonResponse({"remaining": idle_remaining(request.session)})


@never_cache
@require_POST
def session_keep_alive(request: HttpRequest) -> JsonResponse:
    """ "Stay signed in", and a page's report that its user is interacting with it."""
    session_touch(session=request.session)
    return JsonResponse({"remaining": idle_remaining(request.session)})

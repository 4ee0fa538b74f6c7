"""The home page: the user's work list, read across the apps (board/worklist.py).

A wiring module of board/, like urls.py: it sits above every app, so it may import them all.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from board.worklist import worklist_for
from cases.access import active_invites
from cases.models import Case


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    work = worklist_for(request.user)
    invited = (
        active_invites(request.user)
        .exclude(case__status=Case.Status.DRAFT)
        .select_related("case", "case__board")
        .order_by("expires_at")
    )
    return render(request, "board/home.html", {"work": work, "invites": invited})

"""The home page: a dashboard that reads across the apps (boards, cases, invites, meetings).

A wiring module of board/, like urls.py: it sits above every app, so it may import them all.
"""

from __future__ import annotations

import datetime

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from board.models import Membership
from cases.access import active_invites
from cases.models import Case
from meetings.access import meetings_for_user
from meetings.models import MAX_DURATION, Meeting


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    memberships = (
        Membership.objects.filter(user=request.user)
        .select_related("board")
        .annotate(member_count=Count("board__memberships", distinct=True))
        .order_by("board__name")
    )
    my_cases = (
        Case.objects.filter(submitted_by=request.user)
        .select_related("board")
        .order_by("-created_at")[:10]
    )
    invited = (
        active_invites(request.user)
        .exclude(case__status=Case.Status.DRAFT)
        .select_related("case", "case__board")
        .order_by("expires_at")
    )
    # A meeting under way is still upcoming; the database cannot add a per-row duration on
    # every backend, so take those started within the longest duration and drop ended ones.
    now = timezone.now()
    recent = now - datetime.timedelta(minutes=MAX_DURATION)
    meetings = [
        meeting
        for meeting in meetings_for_user(request.user)
        .filter(status=Meeting.Status.SCHEDULED, starts_at__gte=recent)
        .select_related("board")
        .order_by("starts_at")[:10]
        if meeting.ends_at > now
    ]
    return render(
        request,
        "board/home.html",
        {
            "memberships": memberships,
            "my_cases": my_cases,
            "invites": invited,
            "meetings": meetings,
        },
    )

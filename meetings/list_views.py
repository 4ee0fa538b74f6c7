"""The coming meetings of all the user's boards, reached from the main navigation."""

from __future__ import annotations

import datetime

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from board.models import Membership
from meetings.access import meetings_for_user
from meetings.models import MAX_DURATION, Meeting


@require_GET
def meeting_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    # Under way or to come: ends_at is a per-row sum the database cannot do on every backend,
    # so take those started within the longest duration and drop the ended ones here.
    meetings = [
        meeting
        for meeting in meetings_for_user(request.user)
        .filter(
            status=Meeting.Status.SCHEDULED,
            starts_at__gte=now - datetime.timedelta(minutes=MAX_DURATION),
        )
        .select_related("board")
        .annotate(item_count=Count("agenda_items"))
        .order_by("starts_at", "pk")
        if meeting.ends_at > now
    ]
    memberships = (
        Membership.objects.filter(user=request.user).select_related("board").order_by("board__name")
    )
    return render(
        request,
        "meetings/meeting_list.html",
        {"meetings": meetings, "memberships": memberships},
    )

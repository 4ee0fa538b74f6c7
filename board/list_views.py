"""The user's boards, reached from the main navigation."""

from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from board.models import Membership


@require_GET
def board_list(request: HttpRequest) -> HttpResponse:
    memberships = (
        Membership.objects.filter(user=request.user)
        .select_related("board")
        .annotate(member_count=Count("board__memberships", distinct=True))
        .order_by("board__name")
    )
    return render(request, "board/board_list.html", {"memberships": memberships})

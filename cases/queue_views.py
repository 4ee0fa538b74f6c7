"""The queue, reached from the main navigation: the one board's case queue, or with several
boards a pick of them with how many cases each holds at each open stage."""

from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from board.models import Membership
from cases.models import Case

S = Case.Status
OPEN_STAGES = (S.SUBMITTED, S.IN_REVIEW, S.SCHEDULED, S.DISCUSSED)


@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    memberships = list(
        Membership.objects.filter(user=request.user).select_related("board").order_by("board__name")
    )
    if len(memberships) == 1:
        return redirect("board-queue", board_id=memberships[0].board.uuid)
    # Counts only (no case is named): a draft is its submitter's alone (cases_visible_to).
    counts: dict[tuple[int, str], int] = {
        (row["board"], row["status"]): row["n"]
        for row in Case.objects.filter(
            board__in=[m.board_id for m in memberships], status__in=OPEN_STAGES
        )
        .values("board", "status")
        .annotate(n=Count("pk"))
    }
    stages = [(status, S(status).label) for status in OPEN_STAGES]
    rows = [
        {
            "membership": membership,
            "counts": [counts.get((membership.board_id, status), 0) for status in OPEN_STAGES],
        }
        for membership in memberships
    ]
    return render(request, "cases/queue_pick.html", {"rows": rows, "stages": stages})

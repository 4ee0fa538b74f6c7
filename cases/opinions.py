"""The opinion thread as one viewer may see it, built from one query."""

from __future__ import annotations

from dataclasses import dataclass, field

from cases.access import CaseAccess
from cases.models import Opinion


@dataclass
class ThreadNode:
    opinion: Opinion
    replies: list[ThreadNode] = field(default_factory=list)


@dataclass
class Thread:
    roots: list[ThreadNode]
    hidden: int  # opinions a blinded viewer may not see yet
    blinded: bool


def visible_thread(access: CaseAccess) -> Thread:
    opinions = list(
        Opinion.objects.filter(case=access.case)
        .select_related("author")
        .prefetch_related("revisions")
        .order_by("created_at")
    )
    blinded = access.opinions_blinded
    hidden = 0
    if blinded:
        own = [o for o in opinions if o.author_id == access.user.pk]
        hidden = len(opinions) - len(own)
        opinions = own
    nodes = {o.pk: ThreadNode(o) for o in opinions}
    roots = []
    for node in nodes.values():
        parent = nodes.get(node.opinion.parent_id)
        (parent.replies if parent else roots).append(node)
    return Thread(roots=roots, hidden=hidden, blinded=blinded)

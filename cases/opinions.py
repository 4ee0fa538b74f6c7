"""The opinion thread as one viewer may see it: the latest threads, older ones on demand.

A page shows the newest THREADS_SHOWN threads (a first opinion with all its replies) and a
link to the rest, so its cost does not grow with a long discussion: one light query reads
the thread's shape (ids and parents), a second loads only the opinions shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cases.access import CaseAccess
from cases.models import Opinion


@dataclass
class ThreadNode:
    opinion: Opinion
    replies: list[ThreadNode] = field(default_factory=list)


THREADS_SHOWN = 20


@dataclass
class Thread:
    roots: list[ThreadNode]
    hidden: int  # opinions a blinded viewer may not see yet
    blinded: bool
    older: int = 0  # earlier threads left out; shown when asked for (all_threads)


def visible_thread(access: CaseAccess, *, all_threads: bool = False) -> Thread:
    shape = list(
        Opinion.objects.filter(case=access.case)
        .order_by("created_at", "pk")
        .values_list("pk", "parent_id", "author_id")
    )
    blinded = access.opinions_blinded
    hidden = 0
    if blinded:
        own = [row for row in shape if row[2] == access.user.pk]
        hidden = len(shape) - len(own)
        shape = own
    parent_of = {pk: parent for pk, parent, _ in shape}
    # A reply whose parent this reader may not see starts a thread of its own.
    thread_roots = [pk for pk, parent, _ in shape if parent not in parent_of]
    shown_roots = set(thread_roots if all_threads else thread_roots[-THREADS_SHOWN:])
    root_of: dict[int, int] = {}
    for pk, parent, _ in shape:  # in time order: a parent's root is known before its reply's
        root_of[pk] = root_of.get(parent, pk) if parent in parent_of else pk
    shown = [pk for pk, _, _ in shape if root_of[pk] in shown_roots]
    opinions = list(
        Opinion.objects.filter(pk__in=shown)
        .select_related("author")
        .prefetch_related("revisions")
        .order_by("created_at", "pk")
    )
    nodes = {o.pk: ThreadNode(o) for o in opinions}
    roots = []
    for node in nodes.values():
        parent = nodes.get(node.opinion.parent_id)
        (parent.replies if parent else roots).append(node)
    older = len(thread_roots) - len(shown_roots)
    return Thread(roots=roots, hidden=hidden, blinded=blinded, older=older)

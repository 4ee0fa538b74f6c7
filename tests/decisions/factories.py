"""Decisions as tests need them: a case with proposals, a closed vote, a draft, a signature;
and what reads a report PDF back."""

from __future__ import annotations

import datetime
import io

from django.utils import timezone
from pypdf import PdfReader
from pypdf.generic import IndirectObject

from board.models import Board
from cases.access import case_access
from cases.models import Case
from decisions import services as actions
from decisions.models import Consensus, Proposal, VoteRound
from meetings.models import AgendaItem, Meeting
from tests.cases.factories import make_case
from tests.cast import PASSWORD

SURGERY = {
    "category": "surgery",
    "text": "Wide **en bloc** resection.",
    "guideline": "esmo_sts_2021",
    "guideline_reference": "section 4.2",
    "evidence_level": "III",
    "grade": "A",
}
RADIOTHERAPY = {**SURGERY, "category": "radiotherapy", "text": "Preoperative RT 50 Gy."}


def access(user, case):
    return case_access(user, case)


def propose(cast, case, data=SURGERY, by=None) -> Proposal:
    return actions.proposal_create(access=access(by or cast.surgeon, case), data=data)


def open_round(cast, case, **kwargs) -> VoteRound:
    kwargs.setdefault("deadline", timezone.now() + datetime.timedelta(days=2))
    return actions.vote_round_open(access=access(cast.chair, case), **kwargs)


def vote(user, case, round_, *, agree=(), disagree=(), comment="", choice=None):
    """Agree with the proposals in `agree`, disagree with those in `disagree`, abstain on the
    rest (per-proposal rounds); or pick `choice` (single-choice rounds)."""
    if round_.vote_mode == Board.VoteMode.SINGLE_CHOICE:
        return actions.vote_cast(
            access=access(user, case),
            round=round_,
            choice=choice.uuid if choice else None,
            comment=comment,
        )
    positions = {}
    for proposal in round_.proposals.all():
        position = "abstain"
        if proposal in agree:
            position = "agree"
        elif proposal in disagree:
            position = "disagree"
        positions[str(proposal.uuid)] = position
    return actions.vote_cast(
        access=access(user, case), round=round_, positions=positions, comment=comment
    )


def close(cast, case, round_) -> VoteRound:
    return actions.vote_round_close(access=access(cast.chair, case), round=round_)


def decided_case(cast, status=Case.Status.SCHEDULED):
    """A case whose first round adopted P1 (surgery) with the radiologist dissenting."""
    case = make_case(cast, status=status)
    p1 = propose(cast, case)
    round_ = open_round(cast, case)
    for user in (cast.chair, cast.pathologist, cast.oncologist, cast.surgeon):
        vote(user, case, round_, agree=[p1])
    vote(cast.radiologist, case, round_, disagree=[p1], comment="Margins unlikely without RT.")
    return case, p1, close(cast, case, round_)


def draft(cast, case, **changes) -> Consensus:
    data = {**actions.consensus_initial(case), **changes}
    return actions.consensus_draft(access=access(cast.chair, case), data=data)


def sign(cast, case, consensus, password=PASSWORD) -> Consensus:
    return actions.consensus_sign(
        access=access(cast.chair, case), consensus=consensus, password=password
    )


def make_meeting(cast, case, status=Meeting.Status.SCHEDULED) -> Meeting:
    meeting = Meeting.objects.create(
        board=cast.board,
        title="Sarcoma board",
        starts_at=timezone.now(),
        created_by=cast.chair,
        status=status,
    )
    AgendaItem.objects.create(meeting=meeting, case=case, position=1)
    return meeting


# --- reading a report back ----------------------------------------------------------------


def pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def image_xobjects(reader: PdfReader) -> set[tuple[int, int]]:
    """Every image XObject the pages draw, also inside form XObjects, by object id."""
    found: set[tuple[int, int]] = set()
    seen: set[tuple[int, int]] = set()

    def walk(resources) -> None:
        if resources is None:
            return
        xobjects = resources.get_object().get("/XObject")
        if xobjects is None:
            return
        for reference in xobjects.get_object().values():
            assert isinstance(reference, IndirectObject)
            key = (reference.idnum, reference.generation)
            if key in seen:
                continue
            seen.add(key)
            xobject = reference.get_object()
            if xobject.get("/Subtype") == "/Image":
                found.add(key)
            elif xobject.get("/Subtype") == "/Form":
                walk(xobject.get("/Resources"))

    for page in reader.pages:
        walk(page.get("/Resources"))
    return found


def hostile_texts(base: str) -> list[str]:
    return [
        f"![x]({base}/a.png)",
        '<img src="file:///etc/passwd">',
        f'<img src="{base}/b">',
        f'<link rel="stylesheet" href="{base}/c.css">',
        f'<link rel="attachment" href="{base}/d.txt">',
        f"<style>@import url({base}/e.css); body {{ background: url({base}/f.png) }}</style>",
        f'<p style="background: url({base}/g.png)">styled</p>',
        '<object data="file:///etc/passwd"></object><iframe src="file:///etc/passwd"></iframe>',
        f'<svg><image href="{base}/h.png"/></svg>',
        f'<a href="file:///etc/passwd">passwd link</a> <a href="{base}/i">plain link</a>',
    ]

"""What the decisions panel shows a panelist: one read of the case's proposals, vote and
consensus versions (a selector; the panel's template and forms are decisions.views')."""

from __future__ import annotations

from dataclasses import dataclass

from board.models import Specialty
from cases.access import CaseAccess
from decisions import tally as tallying
from decisions.models import Consensus, Proposal, Vote, VoteRound
from decisions.services import round_outcome, voters_of


@dataclass
class DecisionState:
    proposals: list[Proposal]
    round: VoteRound | None  # the open round, else the latest closed one
    ballot: list[Proposal]  # the proposals of `round`
    my_vote: Vote | None
    votes: int  # ballots cast in `round`
    voters: int  # members who may vote
    tally: list[tuple[Proposal, tallying.Count]] | None  # None while hidden
    shortfall: list[tuple[str, int]]  # specialty label, how many more voters it needed
    dissent: list[Vote]
    consensus: Consensus | None  # the latest version
    earlier: list[Consensus]


def decision_state(access: CaseAccess) -> DecisionState:
    """What the decisions panel shows a panelist."""
    case = access.case
    proposals = list(case.proposals.select_related("author"))
    round_ = case.vote_rounds.select_related("meeting", "winner").order_by("-number").first()
    ballot, my_vote, votes, rows, shortfall, dissent = [], None, 0, None, [], []
    if round_ is not None:
        round_.case = case
        ballot_ids = set(round_.proposals.values_list("pk", flat=True))
        ballot = [p for p in proposals if p.pk in ballot_ids]
        votes = round_.votes.count()
        my_vote = round_.votes.filter(voter_id=access.user.pk).first()
        if round_.tally_visible:
            data = round_.tally if not round_.is_open else round_outcome(round_).to_json()
            counts = data.get("counts", {})
            rows = [(p, tallying.Count(**counts[str(p.uuid)])) for p in ballot]
            if not round_.is_open:
                shortfall = [(Specialty(s).label, n) for s, n in data["shortfall"].items()]
                dissent = list(
                    round_.votes.filter(uuid__in=data["dissent"]).select_related("voter", "choice")
                )
    versions = list(
        case.consensus_versions.select_related("signed_by", "drafted_by")
        .prefetch_related("cosignatures__signer", "reports")
        .order_by("-version")
    )
    for version in versions:
        # The copy this reader may download (the template links to it and to no other).
        version.reader_report = next(
            (r for r in version.reports.all() if r.audience == access.report_audience), None
        )
    return DecisionState(
        proposals=proposals,
        round=round_,
        ballot=ballot,
        my_vote=my_vote,
        votes=votes,
        voters=voters_of(case),
        tally=rows,
        shortfall=shortfall,
        dissent=dissent,
        consensus=versions[0] if versions else None,
        earlier=versions[1:],
    )

"""How the ballots of a vote round become its outcome. Pure: no database, no clock.

The rules, exactly (the board's settings are copied onto a round when it opens):

- A *ballot* is one member's vote in the round. Every ballot counts toward quorum, an
  abstention too (the member took part); abstentions never count as votes *cast*.
- Per-proposal mode: a ballot says agree, disagree or abstain on each proposal (a missing
  answer is an abstention). For a proposal, cast = agree + disagree.
- Single-choice mode: a ballot names one proposal or abstains. For a proposal, agree = the
  ballots naming it, disagree = the ballots naming another proposal; cast = agree + disagree
  (the same for every proposal: all the ballots that named one).
- A proposal is *carried* when cast ≥ 1 and
    - unanimity: disagree = 0;
    - qualified majority p/q: agree * q ≥ p * cast (exact fractions, so two votes of three
      meet "2/3");
    - simple majority: agree * 2 > cast (exactly half is not a majority).
- Quorum is checked first: ``quorum_shortfall`` (``Board.quorum_shortfall``) gets the
  specialty of every ballot; any shortfall makes the result NO_QUORUM and nothing is adopted.
- Otherwise the result is ADOPTED when one carried proposal has strictly more agree votes
  than every other carried proposal (several can be carried in per-proposal mode), and
  NO_CONSENSUS when nothing is carried, the top is a tie, or no vote was cast at all.
- Dissent, only when a proposal is adopted: per-proposal mode, the ballots that disagreed
  with it; single-choice mode, the ballots that named another proposal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

AGREE, DISAGREE, ABSTAIN = "agree", "disagree", "abstain"
PER_PROPOSAL, SINGLE_CHOICE = "per_proposal", "single_choice"
UNANIMITY, QUALIFIED_MAJORITY, MAJORITY = "unanimity", "qualified_majority", "majority"
ADOPTED, NO_CONSENSUS, NO_QUORUM = "adopted", "no_consensus", "no_quorum"


def parse_fraction(text: str) -> Fraction:
    """ "2/3" -> Fraction(2, 3); the board stores its qualified majority this way."""
    numerator, _, denominator = text.partition("/")
    value = Fraction(int(numerator), int(denominator or 1))
    if not Fraction(1, 2) < value <= 1:
        raise ValueError(f"a qualified majority must be above 1/2 and at most 1, not {text}")
    return value


@dataclass(frozen=True)
class Rule:
    mode: str  # PER_PROPOSAL or SINGLE_CHOICE
    consensus: str  # UNANIMITY, QUALIFIED_MAJORITY or MAJORITY
    fraction: Fraction = Fraction(2, 3)  # only for QUALIFIED_MAJORITY


@dataclass(frozen=True)
class Ballot:
    key: str  # names the ballot in the outcome's dissent (the vote's UUID)
    specialty: str  # the voter's specialty on the board, for quorum
    choice: str | None = None  # single-choice mode: a proposal key, None to abstain
    positions: Mapping[str, str] = field(default_factory=dict)  # per-proposal mode


@dataclass(frozen=True)
class Count:
    agree: int = 0
    disagree: int = 0
    abstain: int = 0

    @property
    def cast(self) -> int:
        return self.agree + self.disagree


@dataclass(frozen=True)
class Outcome:
    result: str  # ADOPTED, NO_CONSENSUS or NO_QUORUM
    winner: str | None  # the adopted proposal's key
    counts: dict[str, Count]
    shortfall: dict[str, int]  # specialty -> how many more voters it needed
    dissent: tuple[str, ...]  # ballot keys
    ballots: int

    def to_json(self) -> dict:
        return {
            "result": self.result,
            "winner": self.winner,
            "counts": {
                key: {"agree": c.agree, "disagree": c.disagree, "abstain": c.abstain}
                for key, c in self.counts.items()
            },
            "shortfall": self.shortfall,
            "dissent": list(self.dissent),
            "ballots": self.ballots,
        }


def count(ballots: Sequence[Ballot], proposals: Sequence[str], mode: str) -> dict[str, Count]:
    """Agree / disagree / abstain per proposal, as defined above."""
    counts = {}
    for key in proposals:
        if mode == PER_PROPOSAL:
            answers = [b.positions.get(key, ABSTAIN) for b in ballots]
            counts[key] = Count(
                agree=answers.count(AGREE),
                disagree=answers.count(DISAGREE),
                abstain=answers.count(ABSTAIN),
            )
        else:
            chose = [b.choice for b in ballots]
            agree = chose.count(key)
            abstain = chose.count(None)
            counts[key] = Count(agree=agree, disagree=len(chose) - agree - abstain, abstain=abstain)
    return counts


def carried(c: Count, rule: Rule) -> bool:
    if c.cast == 0:
        return False
    if rule.consensus == UNANIMITY:
        return c.disagree == 0
    if rule.consensus == QUALIFIED_MAJORITY:
        return c.agree * rule.fraction.denominator >= rule.fraction.numerator * c.cast
    if rule.consensus == MAJORITY:
        return c.agree * 2 > c.cast
    raise ValueError(f"unknown consensus rule {rule.consensus!r}")


def tally(
    ballots: Iterable[Ballot],
    proposals: Sequence[str],
    rule: Rule,
    quorum_shortfall: Callable[[Iterable[str]], dict[str, int]],
) -> Outcome:
    ballots = list(ballots)
    counts = count(ballots, proposals, rule.mode)
    shortfall = dict(quorum_shortfall(b.specialty for b in ballots))
    if shortfall:
        return Outcome(NO_QUORUM, None, counts, shortfall, (), len(ballots))
    ranked = sorted(
        (key for key in proposals if carried(counts[key], rule)),
        key=lambda key: counts[key].agree,
        reverse=True,
    )
    if not ranked or (len(ranked) > 1 and counts[ranked[0]].agree == counts[ranked[1]].agree):
        return Outcome(NO_CONSENSUS, None, counts, {}, (), len(ballots))
    winner = ranked[0]
    if rule.mode == PER_PROPOSAL:
        dissent = tuple(b.key for b in ballots if b.positions.get(winner) == DISAGREE)
    else:
        dissent = tuple(b.key for b in ballots if b.choice not in (None, winner))
    return Outcome(ADOPTED, winner, counts, {}, dissent, len(ballots))

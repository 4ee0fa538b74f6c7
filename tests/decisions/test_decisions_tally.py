"""The outcome of a vote, rule by rule: decisions.tally is pure, so these need no database."""

from collections import Counter
from fractions import Fraction

import pytest

from board.models import Board
from decisions.models import VoteChoice, VoteRound
from decisions.tally import (
    ABSTAIN,
    ADOPTED,
    AGREE,
    DISAGREE,
    MAJORITY,
    NO_CONSENSUS,
    NO_QUORUM,
    PER_PROPOSAL,
    QUALIFIED_MAJORITY,
    SINGLE_CHOICE,
    UNANIMITY,
    Ballot,
    Rule,
    parse_fraction,
    tally,
)

A, D, X = AGREE, DISAGREE, ABSTAIN
SPECIALTIES = ["pathology", "radiology", "medical_oncology", "surgical_oncology"]


def no_quorum_needed(present):
    return {}


def requiring(**minimum):
    """The shape of Board.quorum_shortfall, without a database."""

    def shortfall(present):
        have = Counter(present)
        return {s: n - have[s] for s, n in minimum.items() if have[s] < n}

    return shortfall


def per_proposal(*rows: str) -> list[Ballot]:
    """One string per ballot, one letter per proposal: "AD" agrees with P1, disagrees with P2."""
    letters = {"A": A, "D": D, "X": X}
    return [
        Ballot(
            key=f"v{i}",
            specialty=SPECIALTIES[i % len(SPECIALTIES)],
            positions={f"p{j + 1}": letters[c] for j, c in enumerate(row)},
        )
        for i, row in enumerate(rows)
    ]


def single(*choices: str | None) -> list[Ballot]:
    return [
        Ballot(key=f"v{i}", specialty=SPECIALTIES[i % len(SPECIALTIES)], choice=c)
        for i, c in enumerate(choices)
    ]


def rule(consensus, mode=PER_PROPOSAL, fraction=Fraction(2, 3)):
    return Rule(mode=mode, consensus=consensus, fraction=fraction)


TWO_THIRDS = rule(QUALIFIED_MAJORITY)
THREE_QUARTERS = rule(QUALIFIED_MAJORITY, fraction=Fraction(3, 4))

# (name, ballots, proposals, rule, expected result, expected winner)
CASES = [
    # simple majority: more than half of the votes cast
    ("majority 2 of 3", per_proposal("A", "A", "D"), ["p1"], rule(MAJORITY), ADOPTED, "p1"),
    (
        "majority exactly half fails",
        per_proposal("A", "D"),
        ["p1"],
        rule(MAJORITY),
        NO_CONSENSUS,
        None,
    ),
    (
        "majority 2-2 tie fails",
        per_proposal("A", "A", "D", "D"),
        ["p1"],
        rule(MAJORITY),
        NO_CONSENSUS,
        None,
    ),
    (
        "majority ignores abstentions",
        per_proposal("A", "X", "X", "X"),
        ["p1"],
        rule(MAJORITY),
        ADOPTED,
        "p1",
    ),
    (
        "majority all abstain",
        per_proposal("X", "X", "X"),
        ["p1"],
        rule(MAJORITY),
        NO_CONSENSUS,
        None,
    ),
    ("zero ballots", [], ["p1"], rule(MAJORITY), NO_CONSENSUS, None),
    # qualified majority: agree / cast >= p/q, exactly
    ("2/3 exact boundary 2 of 3", per_proposal("A", "A", "D"), ["p1"], TWO_THIRDS, ADOPTED, "p1"),
    (
        "2/3 exact boundary 4 of 6",
        per_proposal("A", "A", "A", "A", "D", "D"),
        ["p1"],
        TWO_THIRDS,
        ADOPTED,
        "p1",
    ),
    (
        "2/3 just below 3 of 5",
        per_proposal("A", "A", "A", "D", "D"),
        ["p1"],
        TWO_THIRDS,
        NO_CONSENSUS,
        None,
    ),
    (
        "2/3 abstentions excluded",
        per_proposal("A", "A", "D", "X", "X"),
        ["p1"],
        TWO_THIRDS,
        ADOPTED,
        "p1",
    ),
    ("3/4 refuses 2 of 3", per_proposal("A", "A", "D"), ["p1"], THREE_QUARTERS, NO_CONSENSUS, None),
    ("3/4 exact 3 of 4", per_proposal("A", "A", "A", "D"), ["p1"], THREE_QUARTERS, ADOPTED, "p1"),
    ("2/3 all abstain", per_proposal("X", "X"), ["p1"], TWO_THIRDS, NO_CONSENSUS, None),
    # unanimity of the votes cast: abstentions do not block, one disagreement does
    ("unanimity all agree", per_proposal("A", "A", "A"), ["p1"], rule(UNANIMITY), ADOPTED, "p1"),
    (
        "unanimity with abstention",
        per_proposal("A", "X", "A"),
        ["p1"],
        rule(UNANIMITY),
        ADOPTED,
        "p1",
    ),
    (
        "unanimity one dissent",
        per_proposal("A", "A", "D"),
        ["p1"],
        rule(UNANIMITY),
        NO_CONSENSUS,
        None,
    ),
    ("unanimity all abstain", per_proposal("X", "X"), ["p1"], rule(UNANIMITY), NO_CONSENSUS, None),
    # several proposals per proposal: the carried one with most agree votes, ties refuse
    (
        "two carried, more agree wins",
        per_proposal("AA", "AA", "AD"),
        ["p1", "p2"],
        rule(MAJORITY),
        ADOPTED,
        "p1",
    ),
    (
        "two carried tie",
        per_proposal("AA", "AA", "DD"),
        ["p1", "p2"],
        rule(MAJORITY),
        NO_CONSENSUS,
        None,
    ),
    (
        "only the second carried",
        per_proposal("DA", "DA", "AA"),
        ["p1", "p2"],
        rule(MAJORITY),
        ADOPTED,
        "p2",
    ),
    (
        "unanimity two carried tie",
        per_proposal("AA", "AA"),
        ["p1", "p2"],
        rule(UNANIMITY),
        NO_CONSENSUS,
        None,
    ),
    (
        "missing answer is abstention",
        per_proposal("A", "A", ""),
        ["p1"],
        rule(UNANIMITY),
        ADOPTED,
        "p1",
    ),
    # single choice: one proposal per ballot, abstention = no choice
    (
        "choice majority",
        single("p1", "p1", "p2"),
        ["p1", "p2"],
        rule(MAJORITY, SINGLE_CHOICE),
        ADOPTED,
        "p1",
    ),
    (
        "choice plurality is not majority",
        single("p1", "p1", "p2", "p3"),
        ["p1", "p2", "p3"],
        rule(MAJORITY, SINGLE_CHOICE),
        NO_CONSENSUS,
        None,
    ),
    (
        "choice tie",
        single("p1", "p2"),
        ["p1", "p2"],
        rule(MAJORITY, SINGLE_CHOICE),
        NO_CONSENSUS,
        None,
    ),
    (
        "choice 2/3 exact",
        single("p1", "p1", "p2", None),
        ["p1", "p2"],
        rule(QUALIFIED_MAJORITY, SINGLE_CHOICE),
        ADOPTED,
        "p1",
    ),
    (
        "choice 2/3 below",
        single("p1", "p1", "p2", "p2", "p1"),
        ["p1", "p2"],
        rule(QUALIFIED_MAJORITY, SINGLE_CHOICE),
        NO_CONSENSUS,
        None,
    ),
    (
        "choice unanimity",
        single("p2", "p2", None),
        ["p1", "p2"],
        rule(UNANIMITY, SINGLE_CHOICE),
        ADOPTED,
        "p2",
    ),
    (
        "choice unanimity broken",
        single("p2", "p2", "p1"),
        ["p1", "p2"],
        rule(UNANIMITY, SINGLE_CHOICE),
        NO_CONSENSUS,
        None,
    ),
    (
        "choice all abstain",
        single(None, None),
        ["p1", "p2"],
        rule(MAJORITY, SINGLE_CHOICE),
        NO_CONSENSUS,
        None,
    ),
    ("choice zero ballots", [], ["p1"], rule(UNANIMITY, SINGLE_CHOICE), NO_CONSENSUS, None),
]


@pytest.mark.parametrize(
    ("ballots", "proposals", "the_rule", "result", "winner"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_consensus_rules(ballots, proposals, the_rule, result, winner):
    outcome = tally(ballots, proposals, the_rule, no_quorum_needed)
    assert (outcome.result, outcome.winner) == (result, winner)
    assert outcome.ballots == len(ballots)


QUORUM_CASES = [
    # (name, ballots, quorum, expected result, expected shortfall)
    (
        "every specialty voted",
        per_proposal("A", "A", "A", "A"),
        requiring(pathology=1, radiology=1, medical_oncology=1, surgical_oncology=1),
        ADOPTED,
        {},
    ),
    (
        "surgery missing",
        per_proposal("A", "A", "A"),
        requiring(pathology=1, radiology=1, medical_oncology=1, surgical_oncology=1),
        NO_QUORUM,
        {"surgical_oncology": 1},
    ),
    (
        "abstainers count for quorum",
        per_proposal("A", "X", "X", "X"),
        requiring(pathology=1, radiology=1, medical_oncology=1, surgical_oncology=1),
        ADOPTED,
        {},
    ),
    (
        "two pathologists required",
        per_proposal("A", "A", "A", "A"),
        requiring(pathology=2),
        NO_QUORUM,
        {"pathology": 1},
    ),
    (
        "two pathologists present",
        per_proposal("A", "A", "A", "A", "A"),
        requiring(pathology=2),
        ADOPTED,
        {},
    ),
    ("zero ballots, quorum required", [], requiring(radiology=1), NO_QUORUM, {"radiology": 1}),
    ("zero ballots, no requirement", [], no_quorum_needed, NO_CONSENSUS, {}),
    (
        "quorum fails even if unanimous",
        per_proposal("A", "A"),
        requiring(medical_oncology=1, surgical_oncology=1),
        NO_QUORUM,
        {"medical_oncology": 1, "surgical_oncology": 1},
    ),
]


@pytest.mark.parametrize(
    ("ballots", "quorum", "result", "shortfall"),
    [c[1:] for c in QUORUM_CASES],
    ids=[c[0] for c in QUORUM_CASES],
)
def test_quorum(ballots, quorum, result, shortfall):
    outcome = tally(ballots, ["p1"], rule(MAJORITY), quorum)
    assert outcome.result == result
    assert outcome.shortfall == shortfall
    if result == NO_QUORUM:
        assert outcome.winner is None and outcome.dissent == ()


def test_counts_per_proposal():
    outcome = tally(per_proposal("AD", "DX", "AA"), ["p1", "p2"], rule(MAJORITY), no_quorum_needed)
    assert outcome.counts["p1"].agree == 2 and outcome.counts["p1"].disagree == 1
    assert (outcome.counts["p2"].agree, outcome.counts["p2"].disagree) == (1, 1)
    assert outcome.counts["p2"].abstain == 1


def test_dissent_per_proposal_is_who_disagreed_with_the_winner():
    ballots = per_proposal("AD", "AA", "DA", "AX")
    outcome = tally(ballots, ["p1", "p2"], rule(MAJORITY), no_quorum_needed)
    assert outcome.winner == "p1"
    assert outcome.dissent == ("v2",)


def test_dissent_single_choice_is_who_chose_another_proposal():
    outcome = tally(
        single("p1", "p1", "p2", None, "p1"),
        ["p1", "p2"],
        rule(MAJORITY, SINGLE_CHOICE),
        no_quorum_needed,
    )
    assert outcome.winner == "p1"
    assert outcome.dissent == ("v2",)  # the abstention is not dissent
    assert outcome.counts["p1"].agree == 3
    assert outcome.counts["p1"].disagree == 1
    assert outcome.counts["p1"].abstain == 1


def test_no_dissent_without_an_adopted_proposal():
    outcome = tally(per_proposal("A", "D"), ["p1"], rule(MAJORITY), no_quorum_needed)
    assert outcome.result == NO_CONSENSUS
    assert outcome.dissent == ()


def test_outcome_round_trips_through_json():
    outcome = tally(per_proposal("AD", "AA"), ["p1", "p2"], rule(MAJORITY), no_quorum_needed)
    data = outcome.to_json()
    assert data["counts"]["p1"] == {"agree": 2, "disagree": 0, "abstain": 0}
    assert data["counts"]["p2"] == {"agree": 1, "disagree": 1, "abstain": 0}
    assert (data["result"], data["winner"], data["ballots"]) == (ADOPTED, "p1", 2)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2/3", Fraction(2, 3)),
        ("3/5", Fraction(3, 5)),
        ("3/4", Fraction(3, 4)),
        ("4/5", Fraction(4, 5)),
    ],
)
def test_parse_fraction(text, value):
    assert parse_fraction(text) == value


@pytest.mark.parametrize("text", ["1/2", "2/5", "5/4", "0/1"])
def test_parse_fraction_refuses_what_is_not_a_qualified_majority(text):
    with pytest.raises(ValueError, match="qualified majority"):
        parse_fraction(text)


def test_board_choices_match_the_tally_vocabulary():
    assert set(Board.ConsensusRule.values) == {UNANIMITY, QUALIFIED_MAJORITY, MAJORITY}
    assert set(Board.VoteMode.values) == {PER_PROPOSAL, SINGLE_CHOICE}
    assert set(VoteChoice.Position.values) == {AGREE, DISAGREE, ABSTAIN}
    assert set(VoteRound.Result.values) == {ADOPTED, NO_CONSENSUS, NO_QUORUM}
    for value in Board.QualifiedMajority.values:
        parse_fraction(value)

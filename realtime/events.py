"""Every event the server pushes to browsers, declared in one place.

An event is a frozen dataclass with a ``type`` string. It is encoded to JSON
once, when published; consumers forward the encoded text to their sockets
without decoding it again. ``EVENT_TYPES`` maps each ``type`` to its class so
``Event.from_json`` can rebuild any event (tests use it to prove the round
trip: the in-memory channel layer does not serialize, Redis does).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, ClassVar

EVENT_TYPES: dict[str, type[Event]] = {}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Event:
    type: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        event_type = cls.__dict__.get("type")
        if not isinstance(event_type, str):
            raise TypeError(f"{cls.__name__} must declare a string `type`")
        if event_type in EVENT_TYPES:
            raise TypeError(f"event type {event_type!r} is declared twice")
        EVENT_TYPES[event_type] = cls

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **dataclasses.asdict(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True)

    @staticmethod
    def from_json(text: str) -> Event:
        data = json.loads(text)
        cls = EVENT_TYPES[data.pop("type")]
        return cls(**data)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionReady(Event):
    """Sent on connect: the socket is authenticated and subscribed."""

    type: ClassVar[str] = "session.ready"
    user: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class AccessRevoked(Event):
    """The session ended (logout) or the account was deactivated: the socket closes."""

    type: ClassVar[str] = "access.revoked"
    reason: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class Notice(Event):
    """A short message for the user (an operator broadcast, a test ping)."""

    type: ClassVar[str] = "notice"
    text: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class OpinionPosted(Event):
    """An opinion was posted, edited or withdrawn. Clients fetch it with their own rights."""

    type: ClassVar[str] = "opinion.posted"
    case: str  # case UUID
    opinion: str  # opinion UUID
    parent: str | None  # parent opinion UUID for a reply
    change: str  # "created", "edited" or "withdrawn"


@dataclasses.dataclass(frozen=True, kw_only=True)
class CaseStatusChanged(Event):
    type: ClassVar[str] = "case.status"
    case: str
    status: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class RequestChanged(Event):
    """A request to the submitter was opened, answered, closed or withdrawn (issue #16).
    Carries no text: clients reload the case's requests with their own rights."""

    type: ClassVar[str] = "request.changed"
    case: str  # case UUID
    request: str  # request UUID
    change: str  # "opened", "answered", "closed" or "withdrawn"
    status: str  # the request's status after the change


@dataclasses.dataclass(frozen=True, kw_only=True)
class CaseAccessRevoked(Event):
    """One user lost access to one case (a revoked invite): their case sockets close."""

    type: ClassVar[str] = "case.access_revoked"
    case: str
    user: str  # user UUID


@dataclasses.dataclass(frozen=True, kw_only=True)
class AnnotationChanged(Event):
    """An annotation was created, updated or deleted. Clients fetch it with their own rights."""

    type: ClassVar[str] = "annotation.changed"
    case: str  # case UUID
    annotation: str  # annotation UUID
    instance: str  # instance UUID
    frame: int
    change: str  # "created", "updated" or "deleted"
    version: int  # the annotation's version after the change


@dataclasses.dataclass(frozen=True, kw_only=True)
class KeyImageChanged(Event):
    type: ClassVar[str] = "key_image.changed"
    case: str  # case UUID
    key_image: str  # key image UUID
    change: str  # "created", "deleted", "released" or "withheld"


@dataclasses.dataclass(frozen=True, kw_only=True)
class LiveSnapshot(Event):
    """The whole live state of a meeting: sent on connect and on request (a gap in seq).

    Every sequenced event below (those with a ``seq``) changes it; folding them into an old
    snapshot in seq order gives the new one (meetings.live.apply_event)."""

    type: ClassVar[str] = "live.snapshot"
    seq: int
    epoch: int
    presenter: str | None  # user UUID
    item: str | None  # agenda item UUID
    state: dict | None  # the viewer state (see meetings.live.clean_viewer_state)
    present: list[str]  # user UUIDs of those in the meeting now
    status: str  # the meeting's status: "scheduled", "cancelled" or "held"
    # The agenda in order, each item as meetings.live.agenda_entry makes it:
    # {"uuid", "case" (case UUID), "pseudonym", "time_box" (minutes), "presenter" (user UUID
    # or None: who is planned to present it, not who presents now)}.
    agenda: list[dict]


@dataclasses.dataclass(frozen=True, kw_only=True)
class LiveState(Event):
    """The presenter's viewer state: a full replacement, never a delta."""

    type: ClassVar[str] = "live.state"
    seq: int
    epoch: int
    state: dict


@dataclasses.dataclass(frozen=True, kw_only=True)
class LivePresenter(Event):
    """A hand-off: a new presenter (or none) and a new epoch."""

    type: ClassVar[str] = "live.presenter"
    seq: int
    epoch: int
    presenter: str | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class LiveItem(Event):
    """The chair moved the meeting to another agenda item."""

    type: ClassVar[str] = "live.item"
    seq: int
    epoch: int
    item: str
    presenter: str | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class AgendaItemAdded(Event):
    """A case was put on the agenda, at ``position`` (1 is the first item)."""

    type: ClassVar[str] = "agenda.item_added"
    seq: int
    item: dict  # as in LiveSnapshot.agenda
    position: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class AgendaItemRemoved(Event):
    """A case came off the agenda. Were it the one on show, the meeting shows none now."""

    type: ClassVar[str] = "agenda.item_removed"
    seq: int
    item: str  # agenda item UUID


@dataclasses.dataclass(frozen=True, kw_only=True)
class AgendaReordered(Event):
    """The agenda's new order: every item's UUID, first to last."""

    type: ClassVar[str] = "agenda.reordered"
    seq: int
    order: list[str]


@dataclasses.dataclass(frozen=True, kw_only=True)
class AgendaPresenterSet(Event):
    """Who is planned to present an item (the presenter the chair's "go to" hands it to);
    not a hand-off of the viewer, which is live.presenter."""

    type: ClassVar[str] = "agenda.presenter"
    seq: int
    item: str  # agenda item UUID
    presenter: str | None  # user UUID


@dataclasses.dataclass(frozen=True, kw_only=True)
class AgendaTimeBoxSet(Event):
    """The minutes set aside for an item."""

    type: ClassVar[str] = "agenda.time_box"
    seq: int
    item: str  # agenda item UUID
    minutes: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class MeetingStatusChanged(Event):
    """The meeting was cancelled (or held): a live page says so and stops."""

    type: ClassVar[str] = "meeting.status"
    seq: int
    status: str  # "scheduled", "cancelled" or "held"


@dataclasses.dataclass(frozen=True, kw_only=True)
class LivePointer(Event):
    """The presenter's laser pointer, in image pixels of one viewport (None: off the image).

    Not stored and without a seq: only the latest one matters."""

    type: ClassVar[str] = "live.pointer"
    epoch: int
    pointer: dict | None  # {"viewport": 0-3, "x": column, "y": row}


@dataclasses.dataclass(frozen=True, kw_only=True)
class LivePresence(Event):
    """Who is in the meeting now: users with at least one open socket (tabs count once)."""

    type: ClassVar[str] = "live.presence"
    present: list[str]  # user UUIDs


@dataclasses.dataclass(frozen=True, kw_only=True)
class LiveControlRequest(Event):
    """A member asks the chair for control of the viewer."""

    type: ClassVar[str] = "live.control_request"
    user: str  # user UUID
    name: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class BoardAccessRevoked(Event):
    """A user left a board (membership removed): their meeting sockets of that board close."""

    type: ClassVar[str] = "board.access_revoked"
    board: str  # board UUID
    user: str  # user UUID


@dataclasses.dataclass(frozen=True, kw_only=True)
class ProposalChanged(Event):
    """A proposal was added to a case or withdrawn. Clients re-fetch the decisions panel."""

    type: ClassVar[str] = "proposal.changed"
    case: str  # case UUID
    proposal: str  # proposal UUID
    change: str  # "created" or "withdrawn"


@dataclasses.dataclass(frozen=True, kw_only=True)
class VoteRoundChanged(Event):
    """A vote round opened or closed."""

    type: ClassVar[str] = "vote.round"
    case: str  # case UUID
    round: str  # vote round UUID
    number: int
    status: str  # "open" or "closed"


@dataclasses.dataclass(frozen=True, kw_only=True)
class VoteCast(Event):
    """Someone voted. Only the count: never who voted what (the tally may be hidden)."""

    type: ClassVar[str] = "vote.cast"
    case: str  # case UUID
    round: str  # vote round UUID
    votes: int  # ballots cast in the round so far


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConsensusSigned(Event):
    """A consensus version was signed (signatures=1) or co-signed (signatures>1)."""

    type: ClassVar[str] = "consensus.signed"
    case: str  # case UUID
    consensus: str  # consensus UUID
    version: int
    signatures: int  # the signer and the co-signers so far


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReportChanged(Event):
    """The PDF report of a signed version was stored, or could not be made. It is rendered
    after the signature commits, so it comes after consensus.signed."""

    type: ClassVar[str] = "consensus.report"
    case: str  # case UUID
    consensus: str  # consensus UUID
    version: int
    status: str  # "ready" or "failed"

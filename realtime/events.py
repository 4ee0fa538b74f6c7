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
    change: str  # "created" or "deleted"


@dataclasses.dataclass(frozen=True, kw_only=True)
class LiveSnapshot(Event):
    """The whole live state of a meeting: sent on connect and on request (a gap in seq)."""

    type: ClassVar[str] = "live.snapshot"
    seq: int
    epoch: int
    presenter: str | None  # user UUID
    item: str | None  # agenda item UUID
    state: dict | None  # the viewer state (see meetings.live.clean_viewer_state)


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

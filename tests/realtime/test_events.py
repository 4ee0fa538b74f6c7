"""Every declared event survives a JSON round trip (Redis serializes; memory does not)."""

import dataclasses
import json
import uuid

import pytest
from django.db import transaction

from realtime import publish
from realtime.events import (
    EVENT_TYPES,
    AccessRevoked,
    AgendaItemAdded,
    AgendaItemRemoved,
    AgendaPresenterSet,
    AgendaReordered,
    AgendaTimeBoxSet,
    AnnotationChanged,
    BoardAccessRevoked,
    CaseAccessRevoked,
    CaseStatusChanged,
    ConsensusSigned,
    Event,
    KeyImageChanged,
    LiveControlRequest,
    LiveItem,
    LivePointer,
    LivePresence,
    LivePresenter,
    LiveSnapshot,
    LiveState,
    MeetingStatusChanged,
    Notice,
    OpinionPosted,
    ProposalChanged,
    ReportChanged,
    RequestChanged,
    SessionReady,
    VoteCast,
    VoteRoundChanged,
)

SAMPLES = {
    "live.snapshot": LiveSnapshot(
        seq=4,
        epoch=2,
        presenter=None,
        item=None,
        state=None,
        present=[str(uuid.uuid4())],
        status="scheduled",
        agenda=[
            {
                "uuid": str(uuid.uuid4()),
                "case": str(uuid.uuid4()),
                "pseudonym": "MTB-2031-0007",
                "time_box": 15,
                "presenter": None,
            }
        ],
    ),
    "agenda.item_added": AgendaItemAdded(
        seq=8,
        item={
            "uuid": str(uuid.uuid4()),
            "case": str(uuid.uuid4()),
            "pseudonym": "MTB-2031-0008",
            "time_box": 10,
            "presenter": str(uuid.uuid4()),
        },
        position=2,
    ),
    "agenda.item_removed": AgendaItemRemoved(seq=9, item=str(uuid.uuid4())),
    "agenda.reordered": AgendaReordered(seq=10, order=[str(uuid.uuid4()), str(uuid.uuid4())]),
    "agenda.presenter": AgendaPresenterSet(seq=11, item=str(uuid.uuid4()), presenter=None),
    "agenda.time_box": AgendaTimeBoxSet(seq=12, item=str(uuid.uuid4()), minutes=25),
    "meeting.status": MeetingStatusChanged(seq=13, status="cancelled"),
    "live.pointer": LivePointer(epoch=2, pointer={"viewport": 0, "x": 120.5, "y": 88.0}),
    "live.presence": LivePresence(present=[str(uuid.uuid4()), str(uuid.uuid4())]),
    "live.control_request": LiveControlRequest(user=str(uuid.uuid4()), name="Dr Rossi"),
    "board.access_revoked": BoardAccessRevoked(board=str(uuid.uuid4()), user=str(uuid.uuid4())),
    "live.state": LiveState(seq=5, epoch=2, state={"layout": "1x1", "viewports": [{"zoom": 1.5}]}),
    "live.presenter": LivePresenter(
        seq=6, epoch=3, presenter="2d4e6f80-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
    ),
    "live.item": LiveItem(
        seq=7, epoch=4, item="0b8e2f8a-4c3d-4d7e-8a3f-2b9c1d0e6f22", presenter=None
    ),
    "session.ready": SessionReady(user="Dr A"),
    "access.revoked": AccessRevoked(reason="logout"),
    "notice": Notice(text='quotes " and <tags> and ünïcode'),
    "opinion.posted": OpinionPosted(
        case="6f1c1f5e-8d6b-4a43-9a62-1f0a8c7f0b11",
        opinion="0b8e2f8a-4c3d-4d7e-8a3f-2b9c1d0e6f22",
        parent=None,
        change="created",
    ),
    "request.changed": RequestChanged(
        case="6f1c1f5e-8d6b-4a43-9a62-1f0a8c7f0b11",
        request="0b8e2f8a-4c3d-4d7e-8a3f-2b9c1d0e6f22",
        change="answered",
        status="answered",
    ),
    "case.status": CaseStatusChanged(
        case="6f1c1f5e-8d6b-4a43-9a62-1f0a8c7f0b11", status="in_review"
    ),
    "case.access_revoked": CaseAccessRevoked(
        case="6f1c1f5e-8d6b-4a43-9a62-1f0a8c7f0b11", user="2d4e6f80-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
    ),
    "annotation.changed": AnnotationChanged(
        case="6f1c1f5e-8d6b-4a43-9a62-1f0a8c7f0b11",
        annotation="3c5d7e9f-2b4c-4d6e-8f0a-1b2c3d4e5f60",
        instance="4d6e8f0a-3c5d-4e7f-9a1b-2c3d4e5f6071",
        frame=3,
        change="updated",
        version=2,
    ),
    "key_image.changed": KeyImageChanged(
        case="6f1c1f5e-8d6b-4a43-9a62-1f0a8c7f0b11",
        key_image="5e7f9a1b-4d6e-4f80-8b2c-3d4e5f607182",
        change="created",
    ),
    "proposal.changed": ProposalChanged(
        case="6f1c1f5e-8d6b-4a43-9a62-1f0a8c7f0b11", proposal=str(uuid.uuid4()), change="created"
    ),
    "vote.round": VoteRoundChanged(
        case="6f1c1f5e-8d6b-4a43-9a62-1f0a8c7f0b11",
        round=str(uuid.uuid4()),
        number=2,
        status="open",
    ),
    "vote.cast": VoteCast(
        case="6f1c1f5e-8d6b-4a43-9a62-1f0a8c7f0b11", round=str(uuid.uuid4()), votes=3
    ),
    "consensus.signed": ConsensusSigned(
        case="6f1c1f5e-8d6b-4a43-9a62-1f0a8c7f0b11",
        consensus=str(uuid.uuid4()),
        version=1,
        signatures=2,
    ),
    "consensus.report": ReportChanged(
        case="6f1c1f5e-8d6b-4a43-9a62-1f0a8c7f0b11",
        consensus=str(uuid.uuid4()),
        version=1,
        status="ready",
    ),
}


def test_every_declared_event_has_a_sample():
    assert set(SAMPLES) == set(EVENT_TYPES)


@pytest.mark.parametrize("event", SAMPLES.values(), ids=list(SAMPLES))
def test_round_trip(event):
    text = event.to_json()
    assert json.loads(text)["type"] == event.type
    assert Event.from_json(text) == event


def test_a_type_cannot_be_declared_twice():
    with pytest.raises(TypeError, match="declared twice"):

        @dataclasses.dataclass(frozen=True, kw_only=True)
        class Again(Event):
            type = "notice"


@pytest.mark.django_db(transaction=True)
def test_publish_waits_for_commit_and_skips_rollback(monkeypatch):
    sent = []
    monkeypatch.setattr(publish, "publish_now", lambda group, event: sent.append((group, event)))
    with transaction.atomic():
        publish.publish_on_commit("user.x", Notice(text="committed"))
        assert sent == []
    assert sent == [("user.x", Notice(text="committed"))]

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        publish.publish_on_commit("user.x", Notice(text="rolled back"))
        raise Boom
    assert len(sent) == 1


def test_publish_survives_an_unreachable_channel_layer(settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    assert publish.publish_now("user.x", Notice(text="lost")) is False

"""The live page's case panel shows the clinical record of the case the meeting is on:
the page as drawn and the fragment it loads when the meeting moves to another case."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from cases.models import MolecularResult, Treatment
from meetings.models import LiveSession
from tests.helpers import signed_in
from tests.html_text import texts_by_id
from tests.meetings.factories import put_on_agenda, ready_case

pytestmark = pytest.mark.django_db


def test_the_live_panel_follows_the_meeting_to_the_next_case(cast, meeting):
    first = put_on_agenda(meeting, ready_case(cast, question_type="surgery"), 1)
    gist = ready_case(
        cast,
        question="Adjuvant imatinib?",
        question_type="systemic",
        entity="gist",
        primary_site="stomach",
        size_cm=Decimal("12"),
        mitoses_per_5mm2=8,
        differentiation_score=None,
        mitotic_count=None,
        necrosis=None,
    )
    MolecularResult.objects.create(
        case=gist, method="NGS", target="KIT exon 11", result="detected", detail="p.W557_K558del"
    )
    Treatment.objects.create(
        case=gist, kind="surgery", started_on=datetime.date(2026, 9, 1), procedure="wedge resection"
    )
    second = put_on_agenda(meeting, gist, 2)
    LiveSession.objects.create(meeting=meeting, current_item=first)
    client = signed_in(cast.pathologist)

    page = texts_by_id(
        client.get(reverse("meeting-live", kwargs={"meeting_id": meeting.uuid})).content.decode()
    )
    # UPS of the thigh, 11.5 cm, G3: ch. 41 T3 N0 M0 G3 → IIIB.
    assert (page["stage"], page["tnm"]) == ("Stage IIIB", "T3 N0 M0 G3")
    assert page["diagnosis"] == "Undifferentiated pleomorphic sarcoma 8802/3"
    assert page["question-type"] == "Surgical planning"

    url = reverse("meeting-live-item", kwargs={"meeting_id": meeting.uuid, "item_id": second.uuid})
    panel = texts_by_id(client.get(url).json()["html"]["case"])
    # Ch. 43, gastric: T4 > 10 cm, > 5 mitoses per 5 mm² is a high rate: T4 N0 M0 high → IIIB.
    assert (panel["stage"], panel["tnm"]) == ("Stage IIIB", "T4 N0 M0 mitotic rate high")
    assert "ch. 43" in panel["stage-system"]
    # AFIP, stomach, > 10 cm, > 5 per 5 mm²: high risk; Joensuu, > 10 cm: high risk.
    assert panel["structured"].count("High risk") == 2
    assert panel["question-type"] == "Systemic therapy"
    assert "KIT exon 11 (NGS): detected / positive — p.W557_K558del" in panel["molecular"]
    assert "Surgery, Sep 2026: wedge resection" in panel["treatments"]

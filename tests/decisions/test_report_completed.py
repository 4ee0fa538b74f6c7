"""The report, completed (issue 16): the clinical summary and history, the referring question
with its type, a disclaimer on the responsibility for treatment (in plain words on the patient
copy), each reply shown with what it answers, and every time in the board's zone, the zone
named, in one unambiguous format ("3 Dec 2026, 14:30 CET")."""

from __future__ import annotations

import datetime

import pytest

from cases import services as case_services
from cases.models import Case, QuestionType, ReportAudience
from decisions.render import (
    ReportData,
    ReportPatient,
    ReportSignature,
    ReportStudy,
    ReportTreatment,
    render_report_pdf,
)
from decisions.report_data import report_data
from tests.cases.factories import make_case
from tests.decisions.factories import access, close, draft, open_round, pdf_text, propose, sign
from tests.decisions.factories import vote as cast_vote

SUMMARY = "Canarysummary: deep thigh mass growing over four months."
HISTORY = "Canaryhistory: marginal excision elsewhere in 2024."
QUESTION = "Canaryquestion: re-excision or radiotherapy first?"
PARENT = "Canaryparent: FNCLCC grade 3, margins involved at the deep border."
REPLY = "Canaryreply: agree, the MRI shows residual disease."
# The words the standard asks for: the board advises the treating physician, who remains
# responsible for treatment decisions with the patient.
CLINICIAN_DISCLAIMER = "advice to the treating physician, who remains responsible"
PATIENT_DISCLAIMER = "you and your doctor decide together"


def signed(cast, *, shared: bool = False):
    cast.board.share_opinions_with_referrers = shared
    cast.board.save()
    case = make_case(
        cast,
        status=Case.Status.SCHEDULED,
        clinical_summary=SUMMARY,
        history=HISTORY,
        question=QUESTION,
        question_type=QuestionType.TREATMENT,
    )
    parent = case_services.opinion_post(access=access(cast.pathologist, case), body=PARENT)
    case_services.opinion_post(access=access(cast.radiologist, case), body=REPLY, parent=parent)
    p1 = propose(cast, case)
    round_ = open_round(cast, case)
    for user in (cast.chair, cast.pathologist, cast.oncologist, cast.surgeon, cast.radiologist):
        cast_vote(user, case, round_, agree=[p1])
    close(cast, case, round_)
    return sign(cast, case, draft(cast, case, category="surgery", text="Wide resection."))


def text_of(consensus, audience) -> str:
    return " ".join(pdf_text(render_report_pdf(report_data(consensus, audience))).split())


@pytest.mark.parametrize(
    ("audience", "shared"),
    [
        (ReportAudience.PANEL, False),
        (ReportAudience.REFERRER, True),
        (ReportAudience.REFERRER, False),
        (ReportAudience.PATIENT, False),
    ],
)
def test_each_copy_carries_the_summary_history_question_and_its_disclaimer(cast, audience, shared):
    text = text_of(signed(cast, shared=shared), audience)
    for words in (SUMMARY, HISTORY, QUESTION, "Treatment recommendation"):
        assert words in text, (audience, words)
    assert "Clinical summary" in text and "History and prior treatments" in text
    assert "Responsibility for treatment" in text
    if audience == ReportAudience.PATIENT:
        assert PATIENT_DISCLAIMER in text and CLINICIAN_DISCLAIMER not in text
    else:
        assert CLINICIAN_DISCLAIMER in text and PATIENT_DISCLAIMER not in text


@pytest.mark.parametrize(
    ("audience", "shared", "shows"),
    [
        (ReportAudience.PANEL, False, True),
        (ReportAudience.REFERRER, True, True),
        (ReportAudience.REFERRER, False, False),
        (ReportAudience.PATIENT, True, False),
    ],
)
def test_a_reply_names_the_opinion_it_answers_where_opinions_are_shown(
    cast, audience, shared, shows
):
    text = text_of(signed(cast, shared=shared), audience)
    pathologist = cast.pathologist.display_name
    answered = f"In reply to {pathologist} (Pathology): “{PARENT}”"
    assert (answered in text) == shows, text
    assert (REPLY in text) == shows
    assert "In reply to" in text if shows else "In reply to" not in text


def test_a_reply_to_a_withdrawn_opinion_says_so_without_quoting_it(cast):
    consensus = signed(cast)
    parent = consensus.case.opinions.get(parent=None)
    parent.withdrawn_at = consensus.signed_at - datetime.timedelta(seconds=1)
    parent.save()
    text = text_of(consensus, ReportAudience.PANEL)
    assert f"In reply to an opinion by {cast.pathologist.display_name}, withdrawn" in text
    assert PARENT not in text


def test_a_long_answered_opinion_is_quoted_by_its_start(cast):
    consensus = signed(cast)
    parent = consensus.case.opinions.get(parent=None)
    parent.body = "Canarylong " + "word " * 60 + "CANARYEND"
    parent.save()
    data = report_data(consensus, ReportAudience.PANEL)
    [reply] = [o for s in data.opinions for o in s.opinions if o.replies_to]
    assert reply.replies_to.quote.startswith("Canarylong word")
    assert reply.replies_to.quote.endswith("…") and "CANARYEND" not in reply.replies_to.quote


def test_the_report_is_in_the_boards_zone(cast):
    cast.board.time_zone = "Europe/Paris"
    cast.board.save()
    consensus = signed(cast)
    assert report_data(consensus, ReportAudience.PANEL).time_zone == "Europe/Paris"
    text = text_of(consensus, ReportAudience.PANEL)
    assert "All times in this report are Europe/Paris time." in text
    # Signed today: the signature reads in Paris time, CET or CEST, never UTC.
    assert " CET" in text or " CEST" in text
    assert " UTC" not in text


WINTER = datetime.datetime(2026, 12, 3, 13, 30, tzinfo=datetime.UTC)
SUMMER = datetime.datetime(2026, 7, 1, 22, 15, tzinfo=datetime.UTC)


def rendered(zone: str, **changes) -> str:
    data = ReportData(
        board="Sarcoma Board",
        case_pseudonym="ABC123",
        version=1,
        generated_at=WINTER,
        meeting_title="Board",
        meeting_date=SUMMER,
        signatures=(ReportSignature("Dr Chair", "Chair", SUMMER),),
        time_zone=zone,
        **changes,
    )
    return " ".join(pdf_text(render_report_pdf(data)).split())


def test_times_read_in_the_boards_zone_with_the_zone_named():
    # 13:30 UTC on 3 Dec is 14:30 in Paris (CET, UTC+1); 22:15 UTC on 1 July is 00:15 on
    # 2 July in Paris (CEST, UTC+2): the day follows the zone.
    text = rendered("Europe/Paris")
    assert "Generated 3 Dec 2026, 14:30 CET" in text
    assert "Board, 2 Jul 2026, 00:15 CEST" in text
    assert "Dr Chair Chair 2 Jul 2026, 00:15 CEST" in text
    assert "All times in this report are Europe/Paris time." in text
    # New York: EST in December, EDT in July.
    text = rendered("America/New_York")
    assert "Generated 3 Dec 2026, 08:30 EST" in text
    assert "1 Jul 2026, 18:15 EDT" in text
    # A zone the tz database gives no letters (Dubai: "+04") is named by its offset.
    assert "3 Dec 2026, 17:30 UTC+4" in rendered("Asia/Dubai")
    # The default zone is UTC, named too.
    assert "Generated 3 Dec 2026, 13:30 UTC" in rendered("UTC")


def test_dates_alone_read_day_month_in_words_year():
    text = rendered(
        "Pacific/Auckland",
        patient=ReportPatient("Canary Patient", datetime.date(1961, 3, 14)),
        studies=(ReportStudy(datetime.date(2025, 2, 27), "MR", "Thigh", 4, 120),),
        treatments=(
            ReportTreatment("Radiotherapy", started_on=datetime.date(2025, 1, 6), ongoing=True),
        ),
    )
    # A date alone is a day wherever it is read: no zone shifts it.
    assert "Date of birth 14 Mar 1961" in text
    assert "27 Feb 2025" in text and "6 Jan 2025 – ongoing" in text
    assert "1961-03-14" not in text and "2025-02-27" not in text

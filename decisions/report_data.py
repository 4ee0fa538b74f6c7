"""What each copy of the report of a signed version shows, gathered from the database as the
case stood when the version was signed (decisions.render draws it; it never reads the
database).

Each audience gets exactly what it may read on the case page, and no more:

- panel copy (members, managers, invited experts): everything, by pseudonym only — no name,
  date of birth or hospital number, since an invited expert reads it too;
- referrer copy (filed in the referring doctor's chart): the recommendation, the decision
  and tally, the released key images (captions, without authors or annotation labels), the
  patient's identity as entered at submission and the referring doctor as addressee. The
  opinions, the dissent's names and reasons and the attendance only where the board shares
  opinions with referrers; otherwise "a dissent was recorded";
- patient copy: the recommendation in the words the chair signed, the released key images
  and the patient's name; no opinions, tally, dissent or attendance.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.html import format_html, linebreaks, strip_tags
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext

from board.models import Board, Membership, Specialty
from cases import clinical
from cases.clinical.data import gist_risk
from cases.markdown import render_markdown
from cases.models import Case, ExpertReview, Opinion, PatientIdentity, ReportAudience, Treatment
from decisions import tally as tallying
from decisions.models import Consensus, ExpertOpinion, VoteRound
from decisions.render import (
    ReportAddressee,
    ReportAttendee,
    ReportData,
    ReportDissent,
    ReportExpertReview,
    ReportImage,
    ReportMolecular,
    ReportOpinion,
    ReportPatient,
    ReportProposal,
    ReportReplyTo,
    ReportSection,
    ReportSignature,
    ReportSpecialty,
    ReportStudy,
    ReportTreatment,
    format_day,
)
from imaging.keyimages import render_key_image
from meetings.models import PRESENCE_TIMEOUT, Attendance, Meeting

# Longest side of a key image in the PDF, in pixels: sharp at the printed width (8 cm).
REPORT_KEY_IMAGE_SIZE = 512


def report_data(consensus: Consensus, audience: str = ReportAudience.PANEL) -> ReportData:
    """Everything one copy of the report of a signed version shows, as the case stood when it
    was signed (decisions.reports says why). Key images are drawn here, with their window and
    annotations (labels only on the panel copy)."""

    case = consensus.case
    panel = audience == ReportAudience.PANEL
    patient_copy = audience == ReportAudience.PATIENT
    # The referrer reads what the case page shows them: the opinions if the board shares them.
    shared = panel or (
        audience == ReportAudience.REFERRER and case.board.share_opinions_with_referrers
    )
    at = consensus.signed_at or timezone.now()
    round_ = consensus.round
    meeting = round_.meeting if round_ is not None else None
    decision = _report_decision(round_) if round_ is not None else {}
    quorum = decision.pop("quorum", "")
    attendees = []
    if meeting is not None:
        attendees, present = _report_attendees(meeting, case, at)
        quorum = " ".join(
            part
            for part in (quorum, _attendance_quorum(case, present), _quorum_reason(consensus))
            if part
        )
    dissent = decision.pop("dissent", [])
    signer_role = (
        Membership.objects.filter(board_id=case.board_id, user_id=consensus.signed_by_id)
        .values_list("role", flat=True)
        .first()
    )
    signatures = [
        ReportSignature(
            name=consensus.signed_by.display_name,
            role=str(Membership.Role(signer_role).label) if signer_role else _("Signed"),
            signed_at=consensus.signed_at,
        )
    ] + [
        ReportSignature(name=c.signer.display_name, role=_("Co-signer"), signed_at=c.signed_at)
        for c in consensus.cosignatures.select_related("signer")
    ]
    if patient_copy:
        decision, quorum = {}, ""
    expert_service = case.board.is_expert_service
    expert_reviews = _report_expert_reviews(case, at)
    if patient_copy:
        # The patient reads the expert's answer to their own request, not a board's steps.
        expert_reviews = [review for review in expert_reviews if review.answer]
    if expert_service:
        signatures = [
            ReportSignature(
                name=consensus.signed_by.display_name,
                role=_("Expert, %(service)s") % {"service": case.board.name},
                signed_at=consensus.signed_at,
            )
        ]
    return ReportData(
        board=case.board.name,
        case_pseudonym=case.pseudonym,
        version=consensus.version,
        generated_at=timezone.now(),
        meeting_title=meeting.title if meeting else None,
        meeting_date=meeting.starts_at if meeting else None,
        supersedes=consensus.supersedes.version if consensus.supersedes else None,
        structured=() if patient_copy else _report_structured(case),
        record=_report_record(case, patient_copy=patient_copy),
        treatments=_report_treatments(case, at),
        molecular=() if patient_copy else _report_molecular(case, at),
        clinical_summary=case.clinical_summary,
        history=case.history,
        question=case.question,
        question_type=case.get_question_type_display() if case.question_type else "",
        disclaimer=_disclaimer(audience, expert=case.board.is_expert_service),
        time_zone=case.board.time_zone or "UTC",
        studies=_report_studies(case, at),
        key_images=_report_key_images(case, at, panel=panel),
        opinions=_report_opinions(case, at) if shared else [],
        quorum=quorum,
        recommendation_html=(
            _plain_html(consensus.text)
            if expert_service
            else render_markdown(consensus.text) + _coded_recommendation(consensus)
        ),
        attendees=attendees if shared else [],
        signatures=signatures,
        dissent=dissent if shared and not patient_copy else [],
        dissent_withheld=bool(dissent) and not shared and not patient_copy,
        show_decision=not patient_copy and not expert_service,
        expert_reviews=expert_reviews,
        expert_service=expert_service,
        audience=str(audience),
        audience_label=str(ReportAudience(audience).label),
        audience_note=_audience_note(audience, shared),
        patient=None if panel else _report_patient(case, hospital_number=not patient_copy),
        addressee=_report_addressee(case) if audience == ReportAudience.REFERRER else None,
        **decision,
    )


def _plain_html(text: str) -> str:
    """An expert's plain text as paragraphs (their line breaks kept, everything escaped)."""
    return linebreaks(text, autoescape=True)


def diagnosis_label(entity: str, other: str) -> str:
    if entity in clinical.ENTITIES:
        found = clinical.get_entity(entity)
        return f"{found.name} ({found.icdo})"
    return other or _("not recorded")


def grade_label(grade: str) -> str:
    return str(Case.ReportedGrade(grade).label) if grade else _("not recorded")


def _report_expert_reviews(case: Case, at: datetime) -> list[ReportExpertReview]:
    """The expert opinions signed on the case by the time of the signature, oldest first."""
    opinions = (
        ExpertOpinion.objects.filter(review__case=case, signed_at__lte=at)
        .select_related("review__service", "signed_by")
        .order_by("signed_at")
    )
    return [
        ReportExpertReview(
            service=opinion.review.service.name,
            expert=opinion.signed_by.display_name,
            signed_at=opinion.signed_at,
            answer=opinion.review.purpose == ExpertReview.Purpose.ANSWER,
            pathology=opinion.review.service.review_kind == "pathology",
            referring_diagnosis=diagnosis_label(
                opinion.referring_entity, opinion.referring_diagnosis_other
            ),
            reviewed_diagnosis=diagnosis_label(
                opinion.reviewed_entity, opinion.reviewed_diagnosis_other
            ),
            referring_grade=grade_label(opinion.referring_grade),
            reviewed_grade=grade_label(opinion.reviewed_grade),
            concordance=opinion.get_concordance_display() if opinion.concordance else "",
            question=opinion.review.question,
            comment=opinion.comment,
            recommendation=opinion.recommendation,
            sha256=opinion.sha256,
        )
        for opinion in opinions
    ]


def _audience_note(audience: str, shared: bool) -> str:
    if audience == ReportAudience.PANEL:
        return _("For the board and its invited experts. Pseudonymous.")
    if audience == ReportAudience.PATIENT:
        return _("For the patient: the board's recommendation as signed.")
    if shared:
        return _("For the referring doctor, to file in the patient's chart.")
    return _(
        "For the referring doctor, to file in the patient's chart. The board's internal "
        "opinions are not part of this copy."
    )


def _disclaimer(audience: str, *, expert: bool = False) -> str:
    """Who decides the treatment: the board advises the treating physician, who remains
    responsible for the decision, taken with the patient. The patient copy says it in plain
    words."""
    if expert and audience == ReportAudience.PATIENT:
        return _(
            "This is an expert's advice to the doctor who treats you. It does not decide "
            "your treatment: you and your doctor decide together. Your doctor can explain "
            "what it means for you and answer your questions."
        )
    if expert:
        return _(
            "The expert's opinion is advice to the treating physician, who remains "
            "responsible for treatment decisions, taken with the patient. It rests on the "
            "information and material given to the expert, listed in this report."
        )
    if audience == ReportAudience.PATIENT:
        return _(
            "This is the board's advice to the doctor who treats you. It does not decide "
            "your treatment: you and your doctor decide together. Your doctor can explain "
            "what it means for you and answer your questions."
        )
    return _(
        "The board's recommendation is advice to the treating physician, who remains "
        "responsible for treatment decisions, taken with the patient. It rests on the "
        "information and images given to the board, listed in this report."
    )


def _report_patient(case: Case, *, hospital_number: bool) -> ReportPatient | None:
    """The identity as entered at submission (readers of this copy hold it already)."""
    identity = PatientIdentity.objects.filter(case=case).first()
    if identity is None:
        return None
    return ReportPatient(
        name=identity.full_name,
        date_of_birth=identity.date_of_birth,
        hospital_number=identity.hospital_number if hospital_number else "",
    )


def _report_addressee(case: Case) -> ReportAddressee:
    """The referring doctor as the submission names them, else the submitter's account."""
    submitter = case.submitted_by
    return ReportAddressee(
        name=case.referring_physician or submitter.display_name,
        institution=case.referring_institution or submitter.institution,
    )


def _report_structured(case: Case) -> list[tuple[str, str]]:
    """The patient as the board sees them (the clinical record follows, by section)."""
    age = _("%(age)d years") % {"age": case.age} if case.age is not None else ""
    return [
        (_("Sex"), case.get_sex_display() if case.sex else ""),
        (_("Age"), age),
        (_("ECOG"), "" if case.ecog is None else str(case.ecog)),
        (_("Expert pathology review"), case.get_pathology_review_display()),
    ]


# What the risk categories of cases.clinical.data.gist_risk say in words.
GIST_RISK_WORDS = {
    gist_risk.NONE: _lazy("No risk (AFIP: none)"),
    gist_risk.VERY_LOW: _lazy("Very low risk"),
    gist_risk.LOW: _lazy("Low risk"),
    gist_risk.MODERATE: _lazy("Moderate risk"),
    gist_risk.INTERMEDIATE: _lazy("Intermediate risk"),
    gist_risk.HIGH: _lazy("High risk"),
    gist_risk.INSUFFICIENT: _lazy("Insufficient data (too few cases in the published cell)"),
    gist_risk.CONFLICT: _lazy("Published reproductions of the table disagree: see the original"),
}


def _facts(*pairs: tuple[str, str], keep: tuple[str, ...] = ()) -> tuple[tuple[str, str], ...]:
    """The pairs that hold a value, and those in `keep` (shown as "—" when empty)."""
    return tuple((label, value) for label, value in pairs if value or label in keep)


def _date(value) -> str:
    return format_day(value)


def _report_record(case: Case, *, patient_copy: bool) -> list[ReportSection]:
    """The clinical record, section by section, as the case page shows it: every value from
    the case's fields or from cases/record.py, nothing computed here.

    The patient copy carries what the recommendation is about, in the same words as the
    other copies: the diagnosis, the site, the disease setting and the stage (with the system
    that produced it); and the treatments (the caller adds them). It leaves out what a doctor
    should explain rather than a document announce, or that only the panel works with: the
    grading details, the GIST risk of recurrence, the margins, the workup, the molecular and
    hereditary (germline) results, the engine's notes and the coding left to review."""
    record = case.clinical
    topography = case.topography_obj
    site = str(topography) if topography else ""
    if site and case.laterality:
        site += f", {case.get_laterality_display().lower()}"
    diagnosis = case.diagnosis_label
    if case.diagnosis_code:
        diagnosis = f"{diagnosis} (WHO 2020; ICD-O-3 {case.diagnosis_code})"
    elif diagnosis:
        diagnosis = _("%(diagnosis)s (not coded to a WHO 2020 entity)") % {"diagnosis": diagnosis}
    size = f"{case.size_cm} cm" if case.size_cm else ""
    if size and case.depth:
        size += f", {case.get_depth_display().lower()}"
    stage_label = _("Stage")

    sections = [
        ReportSection(
            _("Diagnosis"),
            _facts(
                (_("Diagnosis"), diagnosis),
                (_("Primary site (ICD-O-3)"), site),
                (
                    _("Site for staging"),
                    case.get_primary_site_display() if case.primary_site else "",
                ),
                (_("Size"), size),
                keep=(_("Diagnosis"), _("Primary site (ICD-O-3)")),
            ),
            ()
            if patient_copy or not case.coding_review
            else (_("To review: %(what)s") % {"what": case.coding_review},),
            key="diagnosis",
        ),
        ReportSection(
            _("Disease setting"),
            _facts(
                (_("Setting"), case.get_disease_setting_display() if case.disease_setting else ""),
                (_("Radiation-associated"), _("Yes") if case.radiation_associated else ""),
                (_("First diagnosis"), _date(case.first_diagnosis_date)),
                (_("Recurrence"), _date(case.recurrence_date)),
                keep=(_("Setting"),),
            ),
            key="setting",
        ),
        ReportSection(
            _("Stage"),
            _facts(
                (stage_label, record.stage_text),
                (_("System"), record.stage.system or ""),
                keep=(stage_label,),
            ),
            () if patient_copy else tuple(record.stage.notes),
            key="stage",
        ),
    ]
    if patient_copy:
        return sections

    grade = record.grade
    specimen = case.get_grade_specimen_display() if case.grade_specimen else ""
    if specimen and case.grade_after_neoadjuvant:
        specimen = _("%(specimen)s, taken after neoadjuvant treatment") % {"specimen": specimen}
    viable = f"{case.viable_tumour_percent} %" if case.viable_tumour_percent is not None else ""
    grade_notes = []
    if grade.reason and grade.reason != record.grade_text:
        grade_notes.append(grade.reason)
    sections.append(
        ReportSection(
            _("Grade"),
            _facts(
                (_("Grade"), record.grade_text),
                (_("System"), grade.system or ""),
                (_("Graded specimen"), specimen),
                (_("Viable tumour after neoadjuvant treatment"), viable),
                keep=(_("Grade"),),
            ),
            tuple(grade_notes) + tuple(record.problems),
            key="grade",
        )
    )
    if record.gist_risks:
        sections.append(
            ReportSection(
                _("GIST risk of progression"),
                tuple(
                    (
                        risk.system,
                        str(GIST_RISK_WORDS.get(risk.category, risk.category))
                        if risk.category
                        else risk.reason,
                    )
                    for risk in record.gist_risks
                )
                + _facts(
                    (_("Mitoses per 5 mm²"), _count(case.mitoses_per_5mm2)),
                    (_("Tumour rupture"), _yes_no(case.tumour_rupture)),
                ),
                key="gist-risk",
            )
        )
    margin = f"{case.closest_margin_mm} mm" if case.closest_margin_mm is not None else ""
    sections.append(
        ReportSection(
            _("Margins"),
            _facts(
                (_("Resection"), case.get_resection_display() if case.resection else ""),
                (_("Residual tumour (R)"), case.get_r_class_display() if case.r_class else ""),
                (_("Closest margin"), margin),
                (_("Anatomical barrier"), case.margin_barrier),
            ),
            key="margins",
        )
    )
    imaging = " ".join(
        part
        for part in (
            case.get_primary_imaging_modality_display() if case.primary_imaging_modality else "",
            _date(case.primary_imaging_date),
        )
        if part
    )
    chest = " ".join(
        part
        for part in (
            case.get_chest_staging_display() if case.chest_staging else "",
            _date(case.chest_staging_date),
        )
        if part
    )
    sections.append(
        ReportSection(
            _("Workup"),
            _facts(
                (_("Imaging of the primary"), imaging),
                (_("Chest staging CT"), chest),
                (_("Metastatic sites"), case.metastatic_sites),
                (_("Number of metastases"), _count(case.metastasis_count)),
            ),
            key="workup",
        )
    )
    if case.molecular_findings:
        # Recorded before molecular results had rows, or beside them: never dropped.
        sections.append(
            ReportSection(
                _("Molecular findings"),
                ((_("As recorded (free text)"), case.molecular_findings),),
                key="molecular-text",
            )
        )
    return [section for section in sections if section.facts or section.notes]


def _count(value: int | None) -> str:
    return "" if value is None else str(value)


def _yes_no(value: bool | None) -> str:
    return "" if value is None else (_("Yes") if value else _("No"))


def _report_treatments(case: Case, at: datetime) -> list[ReportTreatment]:
    """The treatments recorded before the signature, newest first (the case's order)."""
    rows = []
    for row in case.treatments.filter(created_at__lte=at):
        if row.kind == Treatment.Kind.SURGERY:
            parts = [row.procedure, row.get_margin_display() if row.margin else ""]
        elif row.kind == Treatment.Kind.RADIOTHERAPY:
            dose = f"{row.dose_gy} Gy" if row.dose_gy is not None else ""
            fractions = (
                ngettext("%(n)d fraction", "%(n)d fractions", row.fractions) % {"n": row.fractions}
                if row.fractions
                else ""
            )
            parts = [" in ".join(p for p in (dose, fractions) if p)]
        else:
            cycles = (
                ngettext("%(n)d cycle", "%(n)d cycles", row.cycles) % {"n": row.cycles}
                if row.cycles
                else ""
            )
            parts = [row.regimen, cycles]
        rows.append(
            ReportTreatment(
                kind=row.get_kind_display(),
                timing=row.get_timing_display() if row.timing else "",
                started_on=row.started_on,
                ended_on=row.ended_on,
                ongoing=row.ongoing,
                detail=", ".join(p for p in parts if p),
                response=row.get_response_display() if row.response else "",
                notes=row.notes,
            )
        )
    return rows


def _report_molecular(case: Case, at: datetime) -> list[ReportMolecular]:
    return [
        ReportMolecular(
            method=row.get_method_display(),
            target=row.target,
            result=row.get_result_display(),
            detail=row.detail,
            laboratory=row.laboratory,
            reported_on=row.reported_on,
            germline=row.germline,
        )
        for row in case.molecular_results.filter(created_at__lte=at)
    ]


def _report_studies(case: Case, at: datetime) -> list:

    studies = []
    for study in case.studies.filter(created_at__lte=at).prefetch_related("series"):
        series = list(study.series.all())
        modalities = sorted({s.modality for s in series if s.modality})
        studies.append(
            ReportStudy(
                date=study.study_date,
                modality=", ".join(modalities),
                description=study.description,
                series=len(series),
                instances=sum(s.instance_count for s in series),
            )
        )
    return studies


def _report_key_images(case: Case, at: datetime, *, panel: bool) -> list:
    """The panel copy: every key image, captioned with its author, annotations labelled. The
    other copies: only those released with the report, without author or labels."""

    images = []
    key_images = case.key_images.filter(created_at__lte=at).select_related(
        "author", "instance__series"
    )
    if not panel:
        key_images = key_images.filter(released_with_report=True)
    for key in key_images:
        series = key.instance.series
        where = " ".join(part for part in (series.modality, series.description) if part)
        author = key.author.display_name if panel else ""
        caption = " · ".join(part for part in (key.caption, where, author) if part)
        # Never enlarged: a 256-pixel MR stays 256 pixels.
        native = max(key.instance.rows, key.instance.columns)
        png = render_key_image(key, min(REPORT_KEY_IMAGE_SIZE, native) or None, labels=panel)
        images.append(ReportImage(png=png, caption=caption))
    return images


# How much of the answered opinion a reply quotes, in characters of plain text.
REPLY_QUOTE_LENGTH = 140


def _report_opinions(case: Case, at: datetime) -> list:
    """The opinions standing when the version was signed, by specialty, each with the text it
    had then (an edit after the signature left its earlier text in a revision); a reply
    names the opinion it answers, with the start of that opinion's text as it stood then."""

    opinions = (
        Opinion.objects.filter(case=case, created_at__lte=at)
        .select_related("author")
        .prefetch_related("revisions")
    )
    everything = {opinion.pk: opinion for opinion in opinions}
    by_specialty: dict[str, list] = {}
    for opinion in everything.values():
        if opinion.withdrawn_at is not None and opinion.withdrawn_at <= at:
            continue
        by_specialty.setdefault(opinion.author_specialty, []).append(
            ReportOpinion(
                author=opinion.author.display_name,
                written_at=opinion.created_at,
                html=render_markdown(_body_at(opinion, at)),
                replies_to=_replies_to(everything.get(opinion.parent_id), at),
            )
        )
    order = list(Specialty.values)
    return [
        ReportSpecialty(label=str(Specialty(key).label), opinions=by_specialty[key])
        for key in sorted(by_specialty, key=lambda k: order.index(k) if k in order else len(order))
    ]


def _body_at(opinion: Opinion, at: datetime) -> str:
    later = [r for r in opinion.revisions.all() if r.edited_at > at]
    return min(later, key=lambda r: r.edited_at).body if later else opinion.body


def _replies_to(parent: Opinion | None, at: datetime) -> ReportReplyTo | None:
    if parent is None:
        return None
    specialty = (
        str(Specialty(parent.author_specialty).label)
        if parent.author_specialty in Specialty.values
        else ""
    )
    if parent.withdrawn_at is not None and parent.withdrawn_at <= at:
        return ReportReplyTo(author=parent.author.display_name, specialty=specialty, withdrawn=True)
    text = " ".join(strip_tags(render_markdown(_body_at(parent, at))).split())
    if len(text) > REPLY_QUOTE_LENGTH:
        text = text[: REPLY_QUOTE_LENGTH - 1].rstrip() + "…"
    return ReportReplyTo(author=parent.author.display_name, specialty=specialty, quote=text)


def _report_decision(round_: VoteRound) -> dict[str, Any]:
    """The proposals with their tally, the outcome, the rule, the vote's quorum, the dissent."""

    counts = round_.tally.get("counts", {})
    single = round_.vote_mode == tallying.SINGLE_CHOICE
    proposals = []
    for proposal in round_.proposals.all():
        c = counts.get(str(proposal.uuid), {})
        text = " ".join(strip_tags(render_markdown(proposal.text)).split())
        proposals.append(
            ReportProposal(
                title=text if len(text) <= 160 else text[:159].rstrip() + "…",
                category=proposal.get_category_display(),
                agree=c.get("agree", 0),
                disagree=0 if single else c.get("disagree", 0),
                abstain=0 if single else c.get("abstain", 0),
                chosen=c.get("agree", 0) if single else None,
                adopted=proposal.pk == round_.winner_id,
                number=proposal.number,
            )
        )
    dissent = [
        ReportDissent(name=vote.voter.display_name, reason=vote.comment)
        for vote in round_.votes.filter(uuid__in=round_.tally.get("dissent", [])).select_related(
            "voter"
        )
    ]
    outcome = str(round_.get_result_display())
    if round_.winner_id is not None:
        outcome = _("%(result)s: P%(n)d") % {"result": outcome, "n": round_.winner.number}
    return {
        "proposals": proposals,
        "dissent": dissent,
        "outcome": outcome,
        "rule": rule_label(round_),
        "quorum": _vote_quorum(round_),
    }


def _missing(shortfall: dict[str, int]) -> str:
    return ", ".join(f"{Specialty(s).label} ×{n}" for s, n in shortfall.items())


def _vote_quorum(round_: VoteRound) -> str:
    ballots = round_.tally.get("ballots", 0)
    shortfall = round_.tally.get("shortfall", {})
    cast = ngettext("%(n)d ballot cast", "%(n)d ballots cast", ballots) % {"n": ballots}
    if shortfall:
        return _("Vote: quorum not met (%(cast)s; missing %(missing)s).") % {
            "cast": cast,
            "missing": _missing(shortfall),
        }
    return _("Vote: quorum met (%(cast)s).") % {"cast": cast}


def _report_attendees(meeting: Meeting, case: Case, at: datetime) -> tuple[list, list[str]]:
    """One row per person who joined the meeting before the signature: first join, last
    leave (none while any of their tabs was still open at the signature); and the specialty
    each sat in, for the quorum."""

    specialties = dict(
        Membership.objects.filter(board_id=case.board_id).values_list("user_id", "specialty")
    )
    people: dict[int, dict[str, Any]] = {}
    for row in Attendance.objects.filter(meeting=meeting, joined_at__lte=at).select_related("user"):
        person = people.setdefault(
            row.user_id, {"user": row.user, "joined": row.joined_at, "left": [], "open": False}
        )
        person["joined"] = min(person["joined"], row.joined_at)
        left = row.left_at
        if left is None and row.seen_at is not None and row.seen_at < at - PRESENCE_TIMEOUT:
            left = row.seen_at  # its socket died unannounced: gone since its last heartbeat
        if left is None or left > at:
            person["open"] = True
        else:
            person["left"].append(left)
    attendees, present = [], []
    for user_id, person in sorted(people.items(), key=lambda item: item[1]["joined"]):
        specialty = specialties.get(user_id) or person["user"].specialty
        present.append(specialty)
        attendees.append(
            ReportAttendee(
                name=person["user"].display_name,
                specialty=str(Specialty(specialty).label) if specialty else "",
                joined_at=person["joined"],
                left_at=None if person["open"] else max(person["left"]),
            )
        )
    return attendees, present


def _attendance_quorum(case: Case, present: list[str]) -> str:
    shortfall = case.board.quorum_shortfall(present)
    people = ngettext("%(n)d attendee", "%(n)d attendees", len(present)) % {"n": len(present)}
    if shortfall:
        return _("Meeting: quorum not met (%(people)s; missing %(missing)s).") % {
            "people": people,
            "missing": _missing(shortfall),
        }
    return _("Meeting: quorum met (%(people)s).") % {"people": people}


def meeting_quorum_shortfall(consensus: Consensus, at: datetime) -> dict[str, int] | None:
    """What the meeting's attendance lacked for quorum at ``at``, counted as the report counts
    it (``_report_attendees``): None when the decision was not a meeting's, {} when met.
    decisions.services asks it at the signature, so that the report never prints a quorum not
    met beside an adopted proposal without the chair's reason."""
    round_ = consensus.round
    meeting = round_.meeting if round_ is not None else None
    if meeting is None:
        return None
    _attendees, present = _report_attendees(meeting, consensus.case, at)
    return consensus.case.board.quorum_shortfall(present)


def _quorum_reason(consensus: Consensus) -> str:
    if not consensus.quorum_reason:
        return ""
    return _("Signed with the meeting's quorum not met; the chair's reason: %(reason)s") % {
        "reason": consensus.quorum_reason
    }


def _coded_recommendation(consensus: Consensus) -> str:
    """The recommendation's coded fields under its text (escaped here; the report cleans all
    HTML it is given again)."""
    guideline = consensus.guideline_text
    return format_html(
        "<p><strong>{}</strong>: {}<br><strong>{}</strong>: {}<br>"
        "<strong>{}</strong>: {}<br><strong>{}</strong>: {}</p>",
        _("Category"),
        consensus.get_category_display(),
        _("Guideline"),
        guideline,
        _("Level of evidence"),
        consensus.get_evidence_level_display(),
        _("Grade of recommendation"),
        consensus.get_grade_display(),
    )


def rule_label(round_: VoteRound) -> str:
    label = Board.ConsensusRule(round_.consensus_rule).label
    if round_.consensus_rule == Board.ConsensusRule.QUALIFIED_MAJORITY:
        return f"{label} ({round_.qualified_majority})"
    return str(label)

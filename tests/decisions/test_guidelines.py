"""The guideline catalogue: each published guideline with its citation, what a recommendation
must add to cite it (NCCN: the version; institutional or national: the reference), and the
full title wherever a recommendation is printed (proposal, consensus, report)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from decisions import guidelines
from decisions.forms import ConsensusForm, ProposalForm
from decisions.models import Consensus, Proposal
from decisions.render import render_report_pdf
from decisions.report_data import report_data
from tests.cases.factories import make_case
from tests.decisions.factories import SURGERY, decided_case, draft, pdf_text, propose, sign
from tests.helpers import signed_in

# The published titles and years (the journals' records; decisions/guidelines.py cites them).
PUBLISHED = {
    "esmo_sts_2021": (
        "Soft tissue and visceral sarcomas: ESMO–EURACAN–GENTURIS Clinical Practice "
        "Guidelines for diagnosis, treatment and follow-up",
        2021,
        "Ann Oncol 2021;32(11):1348",
    ),
    "esmo_gist_2022": (
        "Gastrointestinal stromal tumours: ESMO–EURACAN–GENTURIS Clinical Practice "
        "Guidelines for diagnosis, treatment and follow-up",
        2022,
        "Ann Oncol 2022;33(1):20",
    ),
    "esmo_bone_2021": (
        "Bone sarcomas: ESMO–EURACAN–GENTURIS–ERN PaedCan Clinical Practice Guideline for "
        "diagnosis, treatment and follow-up",
        2021,
        "Ann Oncol 2021;32(12):1520",
    ),
    "tarpswg_rps_2015": (
        "Management of primary retroperitoneal sarcoma (RPS) in the adult: a consensus "
        "approach from the Trans-Atlantic RPS Working Group",
        2015,
        "Ann Surg Oncol 2015;22(1):256",
    ),
    "tarpswg_rps_2021": (
        "Management of primary retroperitoneal sarcoma (RPS) in the adult: an updated "
        "consensus approach from the Transatlantic Australasian RPS Working Group",
        2021,
        "Ann Surg Oncol 2021;28(12):7873",
    ),
    "desmoid_dtwg_2020": (
        "The management of desmoid tumours: a joint global consensus-based guideline "
        "approach for adult and paediatric patients",
        2020,
        "Eur J Cancer 2020;127:96",
    ),
}
VERSIONED = {"nccn_sts": "Soft Tissue Sarcoma", "nccn_bone": "Bone Cancer"}


@pytest.mark.parametrize("key", sorted(PUBLISHED))
def test_each_published_guideline_has_its_title_year_and_citation(key):
    title, year, citation = PUBLISHED[key]
    row = guidelines.get(key)
    assert (row.name, row.year) == (title, year)
    assert citation in row.citation and "doi:10." in row.citation
    assert row.publisher
    assert not row.needs_version and not row.needs_reference


@pytest.mark.parametrize("key", sorted(VERSIONED))
def test_nccn_guidelines_need_a_version(key):
    row = guidelines.get(key)
    assert row.needs_version and row.year is None
    assert row.name == f"NCCN Clinical Practice Guidelines in Oncology: {VERSIONED[key]}"
    assert row.citation.startswith("National Comprehensive Cancer Network")


def test_every_row_is_cited_or_asks_for_its_reference():
    for row in guidelines.GUIDELINES:
        if row.key == guidelines.NONE:
            continue
        assert row.citation or row.needs_reference, row.key
        assert row.label and row.name, row.key
    assert {r.key for r in guidelines.GUIDELINES if r.needs_reference} == {
        "institutional",
        "national",
    }
    assert all(len(r.key) <= guidelines.KEY_MAX_LENGTH for r in guidelines.GUIDELINES)


def test_no_title_is_a_society_name_alone():
    for row in guidelines.GUIDELINES:
        assert row.name not in {"ESMO–EURACAN", "ESMO", "NCCN", "TARPSWG"}, row.key


@pytest.mark.parametrize(
    ("key", "version", "reference", "errors"),
    [
        ("nccn_sts", "", "", {"guideline_version"}),
        ("nccn_bone", "2025", "", {"guideline_version"}),  # revision and year: "2.2025"
        ("nccn_bone", "v2", "", {"guideline_version"}),
        ("nccn_sts", "2.2025", "", set()),
        ("nccn_sts", "10.2024", "section SARC-3", set()),
        ("institutional", "", "", {"guideline_reference"}),
        ("institutional", "", "   ", {"guideline_reference"}),
        ("institutional", "", "RPS protocol v4, Riverside 2024", set()),
        ("national", "", "", {"guideline_reference"}),
        ("national", "", "S3-Leitlinie Adulte Weichgewebesarkome 2022", set()),
        ("esmo_sts_2021", "", "", set()),
        ("esmo_sts_2021", "2.2025", "", {"guideline_version"}),  # versions are NCCN's
        ("none", "", "", set()),
        ("esmo_euracan", "", "", {"guideline"}),  # the old society-only value
    ],
)
def test_check_asks_for_what_the_row_requires(key, version, reference, errors):
    assert set(guidelines.check(key, version=version, reference=reference)) == errors


def test_printed_text_is_the_full_title_with_year_or_version_and_reference():
    assert guidelines.guideline_text("esmo_gist_2022", reference="section 5") == (
        "Gastrointestinal stromal tumours: ESMO–EURACAN–GENTURIS Clinical Practice Guidelines "
        "for diagnosis, treatment and follow-up (2022) — section 5"
    )
    assert guidelines.guideline_text("nccn_bone", version="1.2026") == (
        "NCCN Clinical Practice Guidelines in Oncology: Bone Cancer, Version 1.2026"
    )
    # Migrated from the old "nccn" value, whose version was never recorded.
    assert guidelines.guideline_text("nccn_sts").endswith(
        "Soft Tissue Sarcoma, version not recorded"
    )
    assert guidelines.guideline_text("institutional", reference="RPS protocol v4") == (
        "Institutional protocol — RPS protocol v4"
    )


def form_data(prefix, **changes):
    data = {**SURGERY, "guideline_version": "", **changes}
    return {f"{prefix}-{k}": v for k, v in data.items()}


@pytest.mark.parametrize(
    ("form_class", "prefix"), [(ProposalForm, "proposal"), (ConsensusForm, "consensus")]
)
def test_the_forms_require_the_version_and_the_reference(form_class, prefix):
    form = form_class(form_data(prefix, guideline="nccn_sts"))
    assert not form.is_valid()
    assert "2.2025" in form.errors["guideline_version"][0]
    form = form_class(form_data(prefix, guideline="institutional", guideline_reference=""))
    assert not form.is_valid() and "guideline_reference" in form.errors
    form = form_class(form_data(prefix, guideline="esmo_euracan"))
    assert not form.is_valid() and "guideline" in form.errors
    form = form_class(form_data(prefix, guideline="nccn_sts", guideline_version="2.2025"))
    assert form.is_valid(), form.errors


@pytest.mark.django_db
def test_a_proposal_without_the_nccn_version_is_refused_over_http(cast):
    case = make_case(cast)
    client = signed_in(cast.surgeon)
    target = reverse("proposal-create", kwargs={"case_id": case.uuid})
    response = client.post(
        target, form_data("proposal", guideline="nccn_sts"), HTTP_X_REQUESTED_WITH="fetch"
    )
    assert response.status_code == 400
    assert Proposal.objects.count() == 0
    response = client.post(
        target, form_data("proposal", guideline="nccn_sts", guideline_version="2.2025")
    )
    assert response.status_code == 302
    assert Proposal.objects.get().guideline_version == "2.2025"


@pytest.mark.django_db
def test_proposal_consensus_and_report_print_the_full_title(cast):
    case, p1, _round = decided_case(cast)
    full = PUBLISHED["esmo_sts_2021"][0]
    html = signed_in(cast.pathologist).get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    page = html.content.decode()
    assert f"{full} (2021) — section 4.2" in page
    # The consensus copies the adopted proposal's guideline, version included.
    nccn = propose(cast, case, {**SURGERY, "guideline": "nccn_sts", "guideline_version": "2.2025"})
    assert nccn.guideline_text.endswith("Soft Tissue Sarcoma, Version 2.2025 — section 4.2")
    consensus = sign(cast, case, draft(cast, case))
    assert consensus.guideline == p1.guideline
    text = pdf_text(render_report_pdf(report_data(Consensus.objects.get(pk=consensus.pk))))
    assert f"Guideline: {full} (2021) — section 4.2" in " ".join(text.split())
    assert not re.search(r"Guideline: ESMO–EURACAN\b(?!–)", text)

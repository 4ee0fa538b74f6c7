"""The case admin: the clinical record grouped, its rows inline, its history read-only, and
the cases whose coding a person must review found with one filter (issue #15)."""

import pytest
from django.urls import reverse

from cases.models import Case, ClinicalRevision, MolecularResult, Treatment
from tests.cases.factories import make_case

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:cases_case_changelist"


def listed(admin_client, **query) -> set[str]:
    response = admin_client.get(reverse(CHANGELIST), query)
    assert response.status_code == 200
    return {case.pseudonym for case in response.context["cl"].result_list}


def test_the_coding_to_review_filter_finds_the_flagged_cases(cast, admin_client):
    flagged = make_case(
        cast,
        entity="",
        histotype="liposarcoma_wd_dd",
        coding_review="'Well-/dedifferentiated liposarcoma' names two WHO 2020 entities.",
    )
    coded = make_case(cast)
    assert listed(admin_client, coding_review="yes") == {flagged.pseudonym}
    assert listed(admin_client, coding_review="no") == {coded.pseudonym}
    assert listed(admin_client) == {flagged.pseudonym, coded.pseudonym}


def test_the_change_page_shows_the_flag_first_and_the_old_histotype_read_only(cast, admin_client):
    case = make_case(cast, histotype="rhabdomyosarcoma", coding_review="Choose the subtype.")
    response = admin_client.get(reverse("admin:cases_case_change", args=[case.pk]))
    text = response.content.decode()
    first_fieldset = response.context["adminform"].fieldsets[0]
    assert first_fieldset[1]["fields"] == ("coding_review", "histotype")
    assert "Choose the subtype." in text
    assert 'name="histotype"' not in text  # shown, not editable
    assert "Rhabdomyosarcoma" in text


def test_rows_are_inline_and_the_history_cannot_be_edited(cast, admin_client):
    case = make_case(cast)
    Treatment.objects.create(case=case, kind="radiotherapy", dose_gy=50, fractions=25)
    MolecularResult.objects.create(case=case, method="FISH", target="MDM2", result="detected")
    ClinicalRevision.objects.create(
        case=case,
        edited_by=cast.referrer,
        changes=[{"field": "size_cm", "label": "tumour size (cm)", "old": "10", "new": "11.5"}],
    )
    response = admin_client.get(reverse("admin:cases_case_change", args=[case.pk]))
    text = response.content.decode()
    inlines = {f.opts.model: f for f in response.context["inline_admin_formsets"]}
    assert set(inlines) >= {Treatment, MolecularResult, ClinicalRevision}
    assert 'name="treatments-0-dose_gy"' in text
    assert 'name="molecular_results-0-target"' in text
    revisions = inlines[ClinicalRevision]
    assert not revisions.has_add_permission
    assert not revisions.has_change_permission
    assert not revisions.has_delete_permission
    assert "clinical_revisions-0-changes" not in text  # no input for the history
    assert "11.5" in text  # but it is shown


def test_an_attachments_type_can_be_corrected_in_the_admin(cast, admin_client):
    from tests.cases.factories import add_pdf

    case = make_case(cast)
    attachment = add_pdf(case, cast.referrer)
    response = admin_client.get(reverse("admin:cases_case_change", args=[case.pk]))
    assert 'name="attachments-0-document_type"' in response.content.decode()
    assert Case.objects.get(pk=case.pk).attachments.get() == attachment

from django.urls import path

from decisions import fhir_views, views

urlpatterns = [
    path("cases/<uuid:case_id>/decisions/", views.decision_panel, name="decision-panel"),
    path("cases/<uuid:case_id>/proposals/", views.proposal_create, name="proposal-create"),
    path(
        "cases/<uuid:case_id>/proposals/<uuid:proposal_id>/withdraw/",
        views.proposal_withdraw,
        name="proposal-withdraw",
    ),
    path("cases/<uuid:case_id>/votes/", views.vote_round_open, name="vote-round-open"),
    path(
        "cases/<uuid:case_id>/votes/<uuid:round_id>/",
        views.vote_cast,
        name="vote-cast",
    ),
    path(
        "cases/<uuid:case_id>/votes/<uuid:round_id>/close/",
        views.vote_round_close,
        name="vote-round-close",
    ),
    path("cases/<uuid:case_id>/consensus/", views.consensus_draft, name="consensus-draft"),
    path(
        "cases/<uuid:case_id>/consensus/<uuid:consensus_id>/sign/",
        views.consensus_sign,
        name="consensus-sign",
    ),
    path(
        "cases/<uuid:case_id>/consensus/<uuid:consensus_id>/cosign/",
        views.consensus_cosign,
        name="consensus-cosign",
    ),
    path(
        "cases/<uuid:case_id>/consensus/<uuid:consensus_id>/report/",
        views.report_regenerate,
        name="report-regenerate",
    ),
    path("cases/<uuid:case_id>/report/verify/", views.report_verify, name="report-verify"),
    path(
        "cases/<uuid:case_id>/report/<uuid:report_id>.pdf",
        views.report_download,
        name="report-download",
    ),
    # FHIR R4 export for the referrer (decisions/fhir.py).
    path("cases/<uuid:case_id>/fhir/", fhir_views.case_fhir_export, name="case-fhir-export"),
]

from django.urls import path

from decisions import expert_views, fhir_views, followup_views, views

urlpatterns = [
    # Expert services (issue #16).
    path(
        "cases/<uuid:case_id>/expert-reviews/",
        expert_views.expert_review_request,
        name="expert-review-request",
    ),
    path(
        "cases/<uuid:case_id>/expert-reviews/<uuid:review_id>/assign/",
        expert_views.expert_review_assign,
        name="expert-review-assign",
    ),
    path(
        "cases/<uuid:case_id>/expert-reviews/<uuid:review_id>/take/",
        expert_views.expert_review_take,
        name="expert-review-take",
    ),
    path(
        "cases/<uuid:case_id>/expert-reviews/<uuid:review_id>/waive/",
        expert_views.expert_review_waive,
        name="expert-review-waive",
    ),
    path(
        "cases/<uuid:case_id>/expert-reviews/<uuid:review_id>/opinion/",
        expert_views.expert_opinion_save,
        name="expert-opinion-save",
    ),
    path(
        "cases/<uuid:case_id>/expert-reviews/<uuid:review_id>/sign/",
        expert_views.expert_opinion_sign,
        name="expert-opinion-sign",
    ),
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
    # Follow-up of recommendations and meeting minutes (decisions.followup, .minutes).
    path("followups/<uuid:followup_id>/", followup_views.followup_record, name="followup-record"),
    path(
        "followups/addenda/<uuid:addendum_id>.pdf",
        followup_views.addendum_download,
        name="followup-addendum",
    ),
    path(
        "meetings/<uuid:meeting_id>/minutes/", followup_views.minutes_page, name="meeting-minutes"
    ),
    path(
        "meetings/<uuid:meeting_id>/minutes/edit/",
        followup_views.minutes_edit,
        name="meeting-minutes-edit",
    ),
    path(
        "meetings/<uuid:meeting_id>/minutes/sign/",
        followup_views.minutes_sign,
        name="meeting-minutes-sign",
    ),
    path(
        "meetings/<uuid:meeting_id>/minutes.pdf",
        followup_views.minutes_download,
        name="meeting-minutes-pdf",
    ),
    # FHIR R4 export for the referrer (decisions/fhir.py).
    path("cases/<uuid:case_id>/fhir/", fhir_views.case_fhir_export, name="case-fhir-export"),
]

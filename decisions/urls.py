from django.urls import path

from decisions import expert_views, views

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
]

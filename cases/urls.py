from django.urls import path

from cases import (
    history_views,
    invite_views,
    queue_views,
    record_views,
    removal_views,
    request_views,
    views,
)

urlpatterns = [
    path("invites/<str:token>/", invite_views.invite_open, name="invite-open"),
    path("invites/<str:token>/signup/", invite_views.invite_signup, name="invite-signup"),
    path("cases/", views.my_cases, name="my-cases"),
    path("queue/", queue_views.queue, name="queue"),
    path("cases/new/", views.case_new, name="case-new"),
    path("boards/<uuid:board_id>/cases/", views.board_queue, name="board-queue"),
    path("cases/<uuid:case_id>/", views.case_detail, name="case-detail"),
    path("cases/<uuid:case_id>/edit/", views.case_edit, name="case-edit"),
    path(
        "cases/<uuid:case_id>/clinical/",
        record_views.case_clinical_edit,
        name="case-clinical-edit",
    ),
    path("cases/<uuid:case_id>/status/", views.case_status, name="case-status"),
    path("cases/<uuid:case_id>/ready/", views.case_ready, name="case-ready"),
    path("cases/<uuid:case_id>/audit/", views.case_audit, name="case-audit"),
    path(
        "cases/<uuid:case_id>/clinical/history/",
        history_views.clinical_history,
        name="case-clinical-history",
    ),
    path("cases/<uuid:case_id>/attachments/", views.attachment_upload, name="attachment-upload"),
    path(
        "cases/<uuid:case_id>/attachments/<uuid:attachment_id>/",
        views.attachment_download,
        name="attachment-download",
    ),
    path(
        "cases/<uuid:case_id>/attachments/<uuid:attachment_id>/remove/",
        removal_views.attachment_remove,
        name="attachment-remove",
    ),
    path("cases/<uuid:case_id>/opinions/", views.opinion_create, name="opinion-create"),
    path(
        "cases/<uuid:case_id>/opinions/<uuid:opinion_id>/",
        views.opinion_fragment,
        name="opinion-fragment",
    ),
    path(
        "cases/<uuid:case_id>/opinions/<uuid:opinion_id>/edit/",
        views.opinion_edit,
        name="opinion-edit",
    ),
    path(
        "cases/<uuid:case_id>/opinions/<uuid:opinion_id>/withdraw/",
        views.opinion_withdraw,
        name="opinion-withdraw",
    ),
    path(
        "cases/<uuid:case_id>/opinions/<uuid:opinion_id>/history/",
        views.opinion_history,
        name="opinion-history",
    ),
    path("cases/<uuid:case_id>/invites/", views.case_invites, name="case-invites"),
    path(
        "cases/<uuid:case_id>/invites/<uuid:invite_id>/revoke/",
        views.invite_revoke,
        name="invite-revoke",
    ),
    path("cases/<uuid:case_id>/requests/", request_views.request_list, name="request-list"),
    path("cases/<uuid:case_id>/requests/new/", request_views.request_create, name="request-create"),
    path(
        "cases/<uuid:case_id>/requests/<uuid:request_id>/answer/",
        request_views.request_answer,
        name="request-answer",
    ),
    path(
        "cases/<uuid:case_id>/requests/<uuid:request_id>/close/",
        request_views.request_close,
        name="request-close",
    ),
    path(
        "cases/<uuid:case_id>/requests/<uuid:request_id>/withdraw/",
        request_views.request_withdraw,
        name="request-withdraw",
    ),
]

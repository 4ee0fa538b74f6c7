from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from board import (
    account_sessions,
    email_views,
    errors,
    home,
    list_views,
    second_factor_views,
    views,
)

urlpatterns = [
    path("", home.home, name="home"),
    path("boards/", list_views.board_list, name="board-list"),
    path("boards/<uuid:board_id>/", views.board_detail, name="board-detail"),
    path("boards/<uuid:board_id>/settings/", views.board_settings, name="board-settings"),
    path("account/", views.account, name="account"),
    path("account/tokens/", views.api_token_create, name="api-token-create"),
    path("account/tokens/<uuid:token_id>/revoke/", views.api_token_revoke, name="api-token-revoke"),
    path("account/email/", email_views.email_change, name="email-change"),
    path(
        "account/email/confirm/<str:code>/",
        email_views.email_change_confirm_view,
        name="email-change-confirm",
    ),
    path(
        "account/sessions/<uuid:session_id>/end/",
        account_sessions.session_end_view,
        name="session-end",
    ),
    path(
        "account/sessions/end-others/",
        account_sessions.sessions_end_others_view,
        name="sessions-end-others",
    ),
    path("account/session/", account_sessions.session_status, name="session-status"),
    path(
        "account/session/keep-alive/",
        account_sessions.session_keep_alive,
        name="session-keep-alive",
    ),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("", include(second_factor_views.urlpatterns)),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", errors.favicon, name="favicon"),
    path("", include("cases.urls")),
    path("", include("imaging.urls")),
    path("", include("meetings.urls")),
    path("", include("decisions.urls")),
    path("dicomweb/cases/<uuid:case_id>/", include("imaging.dicomweb_urls")),
    path("admin/", admin.site.urls),
]

# 503 with a short page while the database is unreachable; the 500 page otherwise.
handler500 = "board.errors.server_error"

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BoardConfig(AppConfig):
    name = "board"
    verbose_name = _("Boards and accounts")

    def ready(self) -> None:
        from django.conf import settings
        from django.contrib import admin
        from django_otp.admin import OTPAdminSite

        from board import auth_events, signals  # noqa: F401  (connects the receivers)
        from board.second_factor import socket_refusal
        from board.sessions import session_refusal
        from realtime.consumers import register_session_check

        register_session_check(socket_refusal)
        register_session_check(session_refusal)
        if not settings.SECOND_FACTOR_DISABLED:
            # The admin site too: no admin page for a session without a second factor.
            admin.site.__class__ = OTPAdminSite

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BoardConfig(AppConfig):
    name = "board"
    verbose_name = _("Boards and accounts")

    def ready(self) -> None:
        from django.conf import settings
        from django.contrib import admin
        from django_otp.admin import OTPAdminSite

        from board import signals  # noqa: F401  (connects the receivers)
        from board.second_factor import socket_allowed
        from realtime.consumers import register_session_gate

        register_session_gate(socket_allowed)
        if not settings.SECOND_FACTOR_DISABLED:
            # The admin site too: no admin page for a session without a second factor.
            admin.site.__class__ = OTPAdminSite

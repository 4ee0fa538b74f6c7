from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BoardConfig(AppConfig):
    name = "board"
    verbose_name = _("Boards and accounts")

    def ready(self) -> None:
        from board import auth_events, signals  # noqa: F401  (connects the receivers)
        from board.sessions import session_is_current
        from realtime.consumers import register_session_check

        register_session_check(session_is_current)

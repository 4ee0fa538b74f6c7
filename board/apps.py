from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BoardConfig(AppConfig):
    name = "board"
    verbose_name = _("Boards and accounts")

    def ready(self) -> None:
        from board import signals  # noqa: F401  (connects the receivers)

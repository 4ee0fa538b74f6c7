from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Cases")

    def ready(self) -> None:
        from board.second_factor import register_auditor
        from cases.audit import audit

        # Sign-in events (second factor passed, failed, reset) join the audit trail.
        register_auditor(audit)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Cases")

    def ready(self) -> None:
        # board (below) makes and revokes API tokens; the audit trail is this app's.
        from board.tokens import register_token_observer
        from cases.audit import audit

        def audit_token(action, token, actor, detail) -> None:
            audit(actor=actor, action=action, target=token, detail=detail)

        register_token_observer(audit_token)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Cases")

    def ready(self) -> None:
        from board.second_factor import register_auditor
        from board.tokens import register_token_observer
        from cases.audit import audit

        # board (below) makes and revokes API tokens; the audit trail is this app's.
        def audit_token(action, token, actor, detail) -> None:
            audit(actor=actor, action=action, target=token, detail=detail)

        register_token_observer(audit_token)
        # Sign-in events (second factor passed, failed, reset) join the audit trail.
        register_auditor(audit)
        from cases import security_audit

        security_audit.connect()

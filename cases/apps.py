from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Cases")

    def ready(self) -> None:
        from board.tokens import register_token_observer
        from cases import security_audit
        from cases.audit import audit

        # board (below) makes and revokes API tokens; the audit trail is this app's.
        def audit_token(action, token, actor, detail) -> None:
            audit(actor=actor, action=action, target=token, detail=detail)

        register_token_observer(audit_token)
        # Sign-in events (passwords, second factor, sessions, lockouts) join the audit trail.
        security_audit.connect()

"""The account page's "Your sessions" and "Recent security events" sections."""

from django import template
from django.utils.translation import gettext_lazy as _

from board.models import UserSession
from board.security import recent_security_events

register = template.Library()

EVENT_LABELS = {
    "auth.login": _("Signed in"),
    "auth.logout": _("Signed out"),
    "auth.login.failed": _("Failed sign-in"),
    "auth.lockout": _("Sign-in locked after repeated failures"),
    "auth.unlock": _("Sign-in lock lifted by an administrator"),
    "auth.session.ended": _("Session ended"),
    "auth.password.changed": _("Password changed"),
    "auth.second_factor.passed": _("Second factor passed"),
    "auth.second_factor.failed": _("Wrong second-factor code"),
    "auth.second_factor.enrol_failed": _("Wrong code while setting up the authenticator app"),
    "auth.second_factor.totp_enrolled": _("Authenticator app set up"),
    "auth.second_factor.recovery_codes_created": _("New recovery codes made"),
    "auth.second_factor.passkey_added": _("Passkey added"),
    "auth.second_factor.passkey_removed": _("Passkey removed"),
    "auth.second_factor.reset": _("Second factor reset by an administrator"),
}


@register.inclusion_tag("board/_your_sessions.html", takes_context=True)
def your_sessions(context) -> dict:
    request = context["request"]
    sessions = UserSession.objects.filter(user=request.user, ended_at__isnull=True)
    return {
        "sessions": list(sessions),
        "current_key": request.session.session_key,
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("board/_security_events.html", takes_context=True)
def security_events(context) -> dict:
    events = recent_security_events(context["request"].user)
    return {"events": [(event, EVENT_LABELS.get(event.action, event.action)) for event in events]}

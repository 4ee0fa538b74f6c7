"""What static/js/idle.js needs on every page of a signed-in user (the idle warning)."""

from django.conf import settings
from django.middleware.csrf import get_token
from django.urls import reverse

from board.sessions import idle_remaining, touch_interval


def idle_config(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "idle_config": {
            "remaining": idle_remaining(request.session),
            # A minute's warning; half the timeout when it is shorter than two minutes.
            "warnBefore": min(60, settings.SESSION_IDLE_TIMEOUT // 2),
            "touchEvery": touch_interval(),
            "statusUrl": reverse("session-status"),
            "keepAliveUrl": reverse("session-keep-alive"),
            "loginUrl": reverse("login"),
            "csrfToken": get_token(request),
        }
    }

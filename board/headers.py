"""Cache-Control for what a signed-in person sees: nothing of it stays in a cache.

A page or a JSON answer about a case, left in the browser's cache, is still readable after
the person signed out or lost access (a shared ward computer, the back button). So every
response to an authenticated request that does not choose its own Cache-Control is
``private, no-store``. Views that serve frames and images choose ``private, no-cache`` with
an ETag: the browser keeps the bytes but asks each time, the view checks access first, and
only then answers 304 (see imaging.views). Static files never reach this middleware
(WhiteNoise answers them earlier, with their own long caching).
"""

from __future__ import annotations

NO_STORE = "private, no-store"


class NoStoreMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and "Cache-Control" not in response:
            response["Cache-Control"] = NO_STORE
        if "Cache-Control" not in response and response.get("Content-Type", "").startswith(
            "text/html"
        ):
            # Anonymous pages (sign-in, invites) carry a CSRF token and sometimes an email.
            response["Cache-Control"] = NO_STORE
        return response

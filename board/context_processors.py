from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _

from board.models import Membership, User
from board.second_factor import second_factor_owed
from realtime.consumers import ACCOUNT_SOCKET_PATH


def _roles(request) -> frozenset[str]:
    """The user's roles on their boards, asked once per request (header and navigation)."""
    if not hasattr(request, "_board_roles"):
        roles = Membership.objects.filter(user=request.user).values_list("role", flat=True)
        request._board_roles = frozenset(roles)
    return request._board_roles


def _role_label(request) -> str:
    """The one word the header shows next to the user's name."""
    user = request.user
    if user.kind == User.Kind.PATIENT:
        return _("Patient")
    roles = _roles(request)
    for role in (Membership.Role.CHAIR, Membership.Role.COORDINATOR, Membership.Role.MEMBER):
        if role in roles:
            return role.label
    return _("Referring clinician")


def navigation(request):
    user = getattr(request, "user", None)
    # A program with an API token (DICOMweb) gets no page chrome, and has no second factor to
    # ask about: an error page rendered for it (404.html) must not ask.
    if user is None or not user.is_authenticated or getattr(request, "bearer", False):
        return {}
    found = {
        "user_role_label": SimpleLazyObject(lambda: _role_label(request)),
        # Boards, meetings and the queue are in the navigation of those with a seat.
        "nav_has_seat": SimpleLazyObject(lambda: bool(_roles(request))),
    }
    if second_factor_owed(request):
        # No account socket yet: it would be refused (4403) and send the page to sign-in,
        # away from the second-factor page the person is on.
        return found
    return {**found, "account_config": account_config()}


def account_config() -> dict:
    """What static/js/account-socket.js needs on every page of a signed-in user."""
    return {
        "socket": ACCOUNT_SOCKET_PATH,
        "loginUrl": reverse("login"),
    }

"""Default deny: every URL needs a login unless it is on the public list."""

from __future__ import annotations

import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.helpers import totp_device

# Public by design, with the reason.
PUBLIC = {
    "login",  # the way in
    "healthz",  # load balancers probe it without credentials; it reveals nothing
}
# Browsers ask for /favicon.ico before anyone signs in: it sends them to the static icon.
TO_STATIC = {"favicon"}
# An invitation link is opened before its holder has an account (cases.invite_views): it
# shows only what the invitation email already said, and grants nothing without a login or
# a new account. An unknown link is 404; sign-up answers POST only.
INVITATION_LINKS = {"invite-open", "invite-signup"}
# Programs, not people: DICOMweb answers 401 with a Bearer challenge, not a redirect.
OWN_AUTH_PREFIX = "dicomweb-"
# The FHIR export serves programs too (decisions/fhir_views.py): the same 401 and challenge.
OWN_AUTH = {"case-fhir-export"}
# The admin may send anonymous visitors to its own login page instead.
ADMIN_LOGIN = "/admin/login/"


def walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def concrete(route: str) -> str:
    """A URL for a route, with every converter filled by a plausible value."""
    out = route.lstrip("^").rstrip("$")
    for converter, value in (
        ("<uuid:", str(uuid.uuid4())),
        ("<int:", "1"),
        ("<path:", "x/y"),
        ("<dicom_uid:", "1.2.3"),
        ("<frame_list:", "1"),
        ("<slug:", "x"),
        ("<str:", "x"),
        ("<", "x"),
    ):
        while converter in out:
            start = out.index(converter)
            out = out[:start] + value + out[out.index(">", start) + 1 :]
    # regex routes from the admin
    for token in ("(?P<app_label>", "(?P<object_id>", "(?P<content_type_id>", "(?P<"):
        while token in out:
            start = out.index(token)
            out = out[:start] + "x" + out[out.index(")", start) + 1 :]
    return "/" + out.replace("\\", "")


ROUTES = [
    (route, pattern.name)
    for route, pattern in walk(get_resolver().url_patterns)
    if "(?" not in route
]


def test_the_walk_finds_the_app_routes():
    names = {name for _, name in ROUTES}
    assert {"home", "board-detail", "board-settings", "account", "login", "logout"} <= names


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "name"), ROUTES, ids=[r for r, _ in ROUTES])
def test_anonymous_visitors_are_sent_to_login(client, route, name):
    url = concrete(route)
    response = client.get(url)
    if name in PUBLIC:
        assert response.status_code in (200, 405), url
        return
    if name in TO_STATIC:
        assert response.status_code == 301, url
        assert response["Location"] == "/static/favicon.svg", url
        return
    if name in INVITATION_LINKS:
        assert response.status_code in (404, 405), url
        return
    if (name or "").startswith(OWN_AUTH_PREFIX) or name in OWN_AUTH:
        assert response.status_code == 401, url
        assert response["WWW-Authenticate"].startswith("Bearer"), url
        return
    assert response.status_code == 302, url
    location = response["Location"]
    assert location.startswith("/accounts/login/?next=") or (
        url.startswith("/admin/") and location.startswith(ADMIN_LOGIN)
    ), url


# What a session that has passed its password but not its second factor may still reach.
SECOND_FACTOR_PAGES = {
    "second-factor-verify",
    "second-factor-enrol",
    "logout",
    "login",
    "healthz",
    "credential-authentication-begin",
    "credential-authentication-complete",
    "js-i18n-catalog",
}


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "name"), ROUTES, ids=[r for r, _ in ROUTES])
def test_an_enrolled_user_reaches_nothing_with_the_password_alone(cast, client, route, name):
    totp_device(cast.chair)
    client.force_login(cast.chair)  # the password passed, the second factor not yet
    url = concrete(route)
    for method in (client.get, client.post):
        response = method(url)
        if name in SECOND_FACTOR_PAGES:
            return
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/second-factor/?next="), url

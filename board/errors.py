"""Error pages and the refusals that are routine, not incidents.

The pages themselves are templates Django finds by name (``templates/400.html``, ``403.html``,
``404.html``, ``500.html``). This module holds what templates cannot do:

- ``RoutineRefusalFilter``: Django logs every ``PermissionDenied`` as a warning *with its
  traceback* (``django.core.handlers.exception.response_for_exception`` passes the exception
  as ``exc_info``). A refusal is the access rules doing their job, dozens a day, and a
  traceback per refusal buries the errors that matter. The one-line warning stays (who asked
  for what path is still logged); the traceback goes. Audit events of denials are written
  by the access helpers, not from the log.
- ``server_error`` (``handler500``) and ``DatabaseDownFilter``: while the database is
  unreachable every request fails, often before its view (the session and time-zone
  middleware load the user). Those answer 503 with a short page and ``Retry-After`` (a load
  balancer takes the process out, a browser knows to try again) instead of a bare 500, and
  each failure is logged in one line naming the cause instead of a 115-line traceback.
  Nothing is kept between requests: the next request tries the database again.
- ``favicon``: browsers ask for ``/favicon.ico`` whatever the page says; send them to the
  SVG icon instead of a logged 404 on every first visit.
"""

from __future__ import annotations

import logging
import sys

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.views.decorators.http import require_GET


class RoutineRefusalFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if isinstance(record.exc_info, tuple) else record.exc_info
        if getattr(record, "status_code", None) == 403 and isinstance(exc, PermissionDenied):
            record.exc_info = None
            record.exc_text = None
        return True


# Seconds a client is asked to wait while the database is unreachable.
DATABASE_RETRY_AFTER_S = 10


def database_unreachable(exc: BaseException | None) -> bool:
    return isinstance(exc, OperationalError | InterfaceError)


def cause_of(exc: BaseException) -> str:
    """The first line of the database driver's message: why, without a traceback."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


class DatabaseDownFilter(logging.Filter):
    """One line per request that failed because the database is unreachable."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if isinstance(record.exc_info, tuple) else None
        if database_unreachable(exc):
            record.msg = "database unavailable, %s %s answered 503: %s"
            request = getattr(record, "request", None)
            path = getattr(request, "path", "?")
            method = getattr(request, "method", "?")
            record.args = (method, path, cause_of(exc))
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info = None
            record.exc_text = None
        return True


class OneLineFilter(logging.Filter):
    """psycopg's pool explains a failed connection on two lines; a log line is one."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "\n" in message:
            record.msg, record.args = " ".join(message.split()), None
        return True


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: 503 and a short page while the database is unreachable, else the 500 page."""
    exc = sys.exc_info()[1]  # Django calls the handler inside its `except` block
    if database_unreachable(exc):
        # No request context: its processors would ask the database for the user again.
        body = render_to_string("503.html", {"retry_after": DATABASE_RETRY_AFTER_S})
        response = HttpResponse(body, status=503)
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_S)
        return response
    return HttpResponse(render_to_string("500.html"), status=500)


@login_not_required
@require_GET
def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    return HttpResponsePermanentRedirect(static("favicon.svg"))

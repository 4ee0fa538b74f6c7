"""Error pages and the refusals that are routine, not incidents.

The pages themselves are templates Django finds by name (``templates/400.html``, ``403.html``,
``404.html``, ``500.html``). This module holds what templates cannot do:

- ``RoutineRefusalFilter``: Django logs every ``PermissionDenied`` as a warning *with its
  traceback* (``django.core.handlers.exception.response_for_exception`` passes the exception
  as ``exc_info``). A refusal is the access rules doing their job, dozens a day, and a
  traceback per refusal buries the errors that matter. The one-line warning stays (who asked
  for what path is still logged); the traceback goes. Audit events of denials are written
  by the access helpers, not from the log.
- ``favicon``: browsers ask for ``/favicon.ico`` whatever the page says; send them to the
  SVG icon instead of a logged 404 on every first visit.
"""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.views.decorators.http import require_GET


class RoutineRefusalFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if isinstance(record.exc_info, tuple) else record.exc_info
        if getattr(record, "status_code", None) == 403 and isinstance(exc, PermissionDenied):
            record.exc_info = None
            record.exc_text = None
        return True


@login_not_required
@require_GET
def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    return HttpResponsePermanentRedirect(static("favicon.svg"))

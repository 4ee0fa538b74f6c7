"""A manager releases a key image with the report, or takes it back (the case page's form).

Released key images are the only ones the submitter sees, on the case page and in the
referrer and patient copies of the report (imaging.services.key_image_release)."""

from __future__ import annotations

from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from cases.access import get_case_for_user
from imaging import services
from imaging.annotation_views import _key_image


@require_POST
def key_image_release(request: HttpRequest, case_id: UUID, key_image_id: UUID) -> HttpResponse:
    """POST released=1 releases, released=0 withholds; answers with the case page."""
    access = get_case_for_user(request.user, case_id, action="imaging.view")
    key_image = _key_image(access, key_image_id)
    access.require(access.can_release_key_images, "key_image.release")
    released = request.POST.get("released") == "1"
    services.key_image_release(access=access, key_image=key_image, released=released)
    case_url = reverse("case-detail", kwargs={"case_id": access.case.uuid})
    return redirect(f"{case_url}#key-images")

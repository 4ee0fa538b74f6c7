"""One PNG thumbnail per series, from its middle slice."""

from __future__ import annotations

import logging

from django.core.files.base import ContentFile
from django.db.models import F

from imaging import pixels
from imaging.models import Instance, Series

logger = logging.getLogger(__name__)

THUMBNAIL_SIZE = 128


def ordered_instances(series: Series):
    """A series in space: along the slice normal, then by number, then by arrival."""
    return series.instances.order_by(
        F("slice_position").asc(nulls_last=True),
        F("instance_number").asc(nulls_last=True),
        "created_at",
        "pk",
    )


def thumbnail_is_current(series: Series) -> bool:
    return bool(series.thumbnail) and series.thumbnail_count == series.instance_count


def refresh_thumbnail(series: Series) -> bool:
    """Render the series' thumbnail from its middle slice now; False if it has none.

    Uploads do not call this: a series arrives in many requests, and only its last middle
    slice matters, so the thumbnail is made when it is first asked for after a change.
    """
    count = series.instance_count  # read before the slices: a later upload makes it stale
    instances = list(ordered_instances(series).only("pk", "frames"))
    if not instances:
        return False
    middle = instances[len(instances) // 2]
    instance = Instance.objects.get(pk=middle.pk)
    try:
        png = pixels.render(instance, instance.frames // 2, size=THUMBNAIL_SIZE)
    except Exception:
        logger.exception("no thumbnail for series %s", series.uuid)
        return False
    old = series.thumbnail.name if series.thumbnail else None
    series.thumbnail.save(f"{series.uuid.hex}.png", ContentFile(png), save=False)
    series.thumbnail_count = count
    Series.objects.filter(pk=series.pk).update(
        thumbnail=series.thumbnail.name, thumbnail_count=count
    )
    if old and old != series.thumbnail.name:
        series.thumbnail.storage.delete(old)
    return True

from django.urls import path

from imaging import views

urlpatterns = [
    path("cases/<uuid:case_id>/imaging/", views.upload, name="imaging-upload"),
    path(
        "cases/<uuid:case_id>/series/<uuid:series_id>/",
        views.series_manifest,
        name="series-manifest",
    ),
    path(
        "cases/<uuid:case_id>/series/<uuid:series_id>/frames/",
        views.series_stream,
        name="series-stream",
    ),
    path(
        "cases/<uuid:case_id>/series/<uuid:series_id>/thumbnail.png",
        views.series_thumbnail,
        name="series-thumbnail",
    ),
    path(
        "cases/<uuid:case_id>/instances/<uuid:instance_id>/frames/<int:frame>/",
        views.frame_raw,
        name="frame-raw",
    ),
    path(
        "cases/<uuid:case_id>/instances/<uuid:instance_id>/frames/<int:frame>/rendered",
        views.frame_rendered,
        name="frame-rendered",
    ),
]

from django.urls import path

from imaging import annotation_views, inbox_views, launch, release_views, removal_views, views

urlpatterns = [
    # Opened by other systems (IHE Invoke Image Display style): imaging/launch.py.
    path("viewer/launch", launch.viewer_launch, name="viewer-launch"),
    path("cases/<uuid:case_id>/viewer/", views.viewer_page, name="case-viewer"),
    path("cases/<uuid:case_id>/imaging/", views.upload, name="imaging-upload"),
    path(
        "cases/<uuid:case_id>/studies/<uuid:study_id>/remove/",
        removal_views.study_remove,
        name="study-remove",
    ),
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

# Annotations and key images.
urlpatterns += [
    path(
        "cases/<uuid:case_id>/annotations/",
        annotation_views.annotations,
        name="annotation-list",
    ),
    path(
        "cases/<uuid:case_id>/annotations/<uuid:annotation_id>/",
        annotation_views.annotation_detail,
        name="annotation-detail",
    ),
    path(
        "cases/<uuid:case_id>/key-images/",
        annotation_views.key_images,
        name="key-image-list",
    ),
    path(
        "cases/<uuid:case_id>/key-images/<uuid:key_image_id>/",
        annotation_views.key_image_detail,
        name="key-image-detail",
    ),
    path(
        "cases/<uuid:case_id>/key-images/<uuid:key_image_id>/image.png",
        annotation_views.key_image_png,
        name="key-image-png",
    ),
    path(
        "cases/<uuid:case_id>/key-images/<uuid:key_image_id>/release/",
        release_views.key_image_release,
        name="key-image-release",
    ),
    # Receiving from a PACS: the board's inbox and DICOM settings (managers only).
    path("boards/<uuid:board_id>/inbox/", inbox_views.inbox, name="board-inbox"),
    path(
        "boards/<uuid:board_id>/inbox/settings/",
        inbox_views.inbox_settings,
        name="board-inbox-settings",
    ),
    path(
        "boards/<uuid:board_id>/inbox/<uuid:study_id>/attach/",
        inbox_views.inbox_attach,
        name="board-inbox-attach",
    ),
    path(
        "boards/<uuid:board_id>/inbox/<uuid:study_id>/discard/",
        inbox_views.inbox_discard,
        name="board-inbox-discard",
    ),
]

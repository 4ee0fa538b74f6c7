from django.urls import path

from meetings import list_views, views

urlpatterns = [
    path("meetings/", list_views.meeting_list, name="meeting-list"),
    path("boards/<uuid:board_id>/meetings/", views.board_meetings, name="board-meetings"),
    path("boards/<uuid:board_id>/meetings/new/", views.meeting_new, name="meeting-new"),
    path("meetings/<uuid:meeting_id>/", views.meeting_detail, name="meeting-detail"),
    path("meetings/<uuid:meeting_id>/edit/", views.meeting_edit, name="meeting-edit"),
    path("meetings/<uuid:meeting_id>/cancel/", views.meeting_cancel, name="meeting-cancel"),
    path("meetings/<uuid:meeting_id>/invite.ics", views.meeting_invite, name="meeting-invite"),
    path("meetings/<uuid:meeting_id>/live/", views.meeting_live, name="meeting-live"),
    path(
        "meetings/<uuid:meeting_id>/live/items/<uuid:item_id>/",
        views.meeting_live_item,
        name="meeting-live-item",
    ),
    path("meetings/<uuid:meeting_id>/agenda/", views.agenda_add, name="agenda-add"),
    path(
        "meetings/<uuid:meeting_id>/agenda/<uuid:item_id>/remove/",
        views.agenda_remove,
        name="agenda-remove",
    ),
    path(
        "meetings/<uuid:meeting_id>/agenda/<uuid:item_id>/move/",
        views.agenda_move,
        name="agenda-move",
    ),
    path(
        "meetings/<uuid:meeting_id>/agenda/<uuid:item_id>/presenter/",
        views.agenda_presenter,
        name="agenda-presenter",
    ),
    path(
        "meetings/<uuid:meeting_id>/agenda/<uuid:item_id>/time-box/",
        views.agenda_time_box,
        name="agenda-time-box",
    ),
]

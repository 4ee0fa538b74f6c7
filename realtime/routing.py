from django.urls import path

from realtime.consumers import AccountConsumer, CaseConsumer, MeetingConsumer

websocket_urlpatterns = [
    path("ws/account/", AccountConsumer.as_asgi()),
    path("ws/cases/<uuid:case_id>/", CaseConsumer.as_asgi()),
    path("ws/meetings/<uuid:meeting_id>/", MeetingConsumer.as_asgi()),
]

"""The WebSocket URL list (wiring, like board/urls.py): each socket lives with its data."""

from django.urls import path

from cases.consumers import CaseConsumer
from meetings.consumers import MeetingConsumer
from realtime.consumers import AccountConsumer

# Pages learn these paths from the server (realtime.consumers.ACCOUNT_SOCKET_PATH,
# cases.consumers.case_socket_path, meetings.consumers.meeting_socket_path).
websocket_urlpatterns = [
    path("ws/account/", AccountConsumer.as_asgi()),
    path("ws/cases/<uuid:case_id>/", CaseConsumer.as_asgi()),
    path("ws/meetings/<uuid:meeting_id>/", MeetingConsumer.as_asgi()),
]

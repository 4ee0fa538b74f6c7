from django.urls import path

from realtime.consumers import AccountConsumer, CaseConsumer

websocket_urlpatterns = [
    path("ws/account/", AccountConsumer.as_asgi()),
    path("ws/cases/<uuid:case_id>/", CaseConsumer.as_asgi()),
]

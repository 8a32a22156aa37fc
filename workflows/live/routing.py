from django.urls import path

from .consumers import LiveConsumer

websocket_urlpatterns = [
    path("ws/live/", LiveConsumer.as_asgi()),
    # The run view's address of the first wave: the same consumer, with the run given.
    path("ws/runs/<str:run_id>/", LiveConsumer.as_asgi()),
]

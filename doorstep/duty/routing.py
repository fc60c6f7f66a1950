from django.urls import path

from doorstep.duty.consumers import DutyConsumer

websocket_urlpatterns = [path("ws/duty/", DutyConsumer.as_asgi())]

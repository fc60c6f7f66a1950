from django.urls import path

from doorstep.alarms.consumers import AlarmConsumer

websocket_urlpatterns = [path("ws/alarms/", AlarmConsumer.as_asgi())]

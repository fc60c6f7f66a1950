"""ASGI entry point: HTTP through Django, WebSockets through Channels with session authentication."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doorstep.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from doorstep.accounts.sockets import TwoFactorSocketMiddleware  # noqa: E402
from doorstep.alarms.routing import websocket_urlpatterns as alarm_websockets  # noqa: E402
from doorstep.duty.routing import websocket_urlpatterns as duty_websockets  # noqa: E402
from doorstep.video.routing import websocket_urlpatterns as video_websockets  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(
                # a session that has not passed two-factor login is anonymous to every consumer
                TwoFactorSocketMiddleware(URLRouter(alarm_websockets + video_websockets + duty_websockets))
            )
        ),
    }
)

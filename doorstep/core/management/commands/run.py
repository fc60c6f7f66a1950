"""`doorstep run`: the embedded all-in-one server (ASGI web + WebSocket in one process)."""

from __future__ import annotations

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve Doorstep (HTTP + WebSocket) with uvicorn; the embedded default needs no other server."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--reload", action="store_true", help="restart on code changes (development)")

    def handle(self, *args, host, port, reload, **options):
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        self.stdout.write(f"Doorstep 家门口派出所 → http://{host}:{port}/  (Ctrl+C 退出)")
        uvicorn.run(
            "doorstep.asgi:application",
            host=host,
            port=port,
            reload=reload,
            log_level="info",
            lifespan="off",
            ws="websockets-sansio" if _has_sansio() else "auto",
        )


def _has_sansio() -> bool:
    try:
        import websockets  # noqa: F401
        from uvicorn.protocols.websockets import websockets_sansio_impl  # noqa: F401
    except ImportError:
        return False
    return True

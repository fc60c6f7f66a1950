"""`doorstep run`: the embedded all-in-one server — ASGI web + WebSocket (uvicorn), the alarm daemon
(alarmd: SIA DC-09, MQTT, supervision) and the video worker (videod: cameras, detection, broadcasts) in one
process and one asyncio event loop.

One loop, because the embedded channel layer is in-memory and its queues belong to the loop that serves
the consoles: an alarm that alarmd commits is published from this loop and reaches them at once."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from doorstep.alarms.daemon import Alarmd
from doorstep.alarms.leadership import Leadership
from doorstep.core.periodic import Ticker
from doorstep.video.daemon import Videod


class Command(BaseCommand):
    help = (
        "Serve Doorstep (HTTP + WebSocket) with uvicorn, and the alarm receivers (alarmd) and the video worker "
        "(videod) in the same loop."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--reload", action="store_true", help="restart on code changes (development)")
        parser.add_argument(
            "--no-alarmd",
            action="store_true",
            help="do not run the alarm receivers (alarmd) in this process (setting: DOORSTEP_ALARMD=false)",
        )
        parser.add_argument(
            "--no-videod",
            action="store_true",
            help="do not run the video worker (videod) in this process (setting: DOORSTEP_VIDEOD=false)",
        )

    def handle(self, *args, host, port, reload, no_alarmd, no_videod, **options):
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        with_alarmd = settings.ALARMD_IN_RUN and not no_alarmd
        with_videod = settings.VIDEOD_IN_RUN and not no_videod
        self.stdout.write(f"Doorstep 家门口派出所 → http://{host}:{port}/  (Ctrl+C 退出)")
        options = {
            "host": host,
            "port": port,
            "log_level": "info",
            "lifespan": "off",
            # A live picture (MJPEG) is a response that never ends by itself: give open ones 5 s, not for ever.
            "timeout_graceful_shutdown": 5,
            "ws": "websockets-sansio" if _has_sansio() else "auto",
        }
        if reload:
            if with_alarmd:
                self.stdout.write(
                    _("--reload 模式不在本进程运行报警接收（alarmd），需要时请另开 `doorstep alarmd`")
                )
            uvicorn.run("doorstep.asgi:application", reload=True, **options)
            return
        config = uvicorn.Config("doorstep.asgi:application", **options)
        # uvicorn's own loop choice (uvloop when installed), which a plain asyncio.run would bypass.
        with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
            runner.run(self._serve(config, with_alarmd, with_videod))

    async def _serve(self, config: uvicorn.Config, with_alarmd: bool, with_videod: bool) -> None:
        config.load()  # the application and Django's URLs, models, templates: loaded once, kept for good
        quiet_garbage_collector()
        server = uvicorn.Server(config)

        def stop(sig, frame):
            server.should_exit = True

        # uvicorn puts its own handlers in place while it serves and, once stopped, restores these and
        # raises the signal again: they must only ask for the stop, so that alarmd is stopped cleanly below.
        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        alarmd = videod = demo_speaker = alarmd_watch = None
        ticker = Ticker()

        def report_dc09(started: Alarmd) -> None:
            if started.dc09_error is not None:
                self.stderr.write(
                    _("报警接收（DC-09）未启动：%(error)s") % {"error": started.dc09_error.strerror}
                )

        try:
            await ticker.start()  # the periodic jobs (`doorstep tick`), every minute
            if with_alarmd:
                # Only with the alarmd lock of the database (alarms.leadership): should a separate `doorstep
                # alarmd` (or another `doorstep run`) hold it, the parts here stay standby and the web serves on.
                # A taken DC-09 port is reported (strict=False) and asked for again in the background; the
                # web serves on. Any other failed start is logged, the lock released, and retried (the
                # leadership loop); `start` returns at once (the takeover grace runs in the background).
                alarmd = Leadership(lambda: Alarmd(strict=False), on_started=report_dc09)
                await alarmd.start()
                alarmd_watch = asyncio.ensure_future(alarmd.wait())  # kept: its end is never silent
                alarmd_watch.add_done_callback(_report_alarmd_end)
            if settings.VIDEO_DEMO_SPEAKER_PORT:
                demo_speaker = start_demo_speaker(settings.VIDEO_DEMO_SPEAKER_PORT)
            if with_videod:
                videod = Videod()
                await videod.start()
            await server.serve()
        finally:
            await ticker.stop()
            if videod is not None:
                await videod.stop()
            if demo_speaker is not None:
                demo_speaker.stop()
            if alarmd is not None:
                await alarmd.stop()
            if alarmd_watch is not None:
                await asyncio.gather(alarmd_watch, return_exceptions=True)
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _report_alarmd_end(watch: asyncio.Future) -> None:
    """The alarmd leadership loop of `doorstep run` should only end when stopped: say so if it dies."""
    if not watch.cancelled() and watch.exception() is not None:
        logging.getLogger("doorstep.alarmd").error(
            "alarmd 主备循环异常结束，本进程不再运行报警接收（请检查日志并重启）", exc_info=watch.exception()
        )


def start_demo_speaker(port: int):
    """`make demo`: the demo's speakers are simulated, answering at http://127.0.0.1:<port>/<code>. A taken
    port (a second demo) is reported and the platform serves on: its broadcasts then show 发送失败."""
    from doorstep.video.simulator import SimulatedHttpSpeaker

    try:
        speaker = SimulatedHttpSpeaker(port=port)
    except OSError as exc:
        logging.getLogger("doorstep.videod").warning("演示音柱未启动（端口 %s：%s）", port, exc.strerror)
        return None
    speaker.start()
    return speaker


def _has_sansio() -> bool:
    try:
        import websockets  # noqa: F401
        from uvicorn.protocols.websockets import websockets_sansio_impl  # noqa: F401
    except ImportError:
        return False
    return True


def quiet_garbage_collector() -> None:
    """Keep Python's cyclic collector out of the alarm path's tail latency: what is loaded at start-up (Django,
    the app, their caches: hundreds of thousands of objects that live as long as the process) is moved out of
    the collector's sight, so a full collection no longer walks it all in the middle of a press."""
    gc.collect()
    gc.freeze()

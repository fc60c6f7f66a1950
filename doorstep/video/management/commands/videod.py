"""`doorstep videod`: the video worker on its own — camera readers with motion detection, the broadcast
sender and the tour/camera tick — until SIGTERM or SIGINT, then a clean stop."""

from __future__ import annotations

import asyncio
import logging
import signal

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from doorstep.video.daemon import Videod

log = logging.getLogger("doorstep.videod")


class Command(BaseCommand):
    help = (
        "运行视频巡查工作进程 videod（读取摄像机、入侵检测、广播发送、巡查计划），收到 SIGTERM/SIGINT 后停止"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--group",
            default=None,
            help="只读取这个分组的摄像机（每组一个 videod）：分组编号，或分组名称（各派出所同名的分组都算）",
        )
        parser.add_argument("--no-cameras", action="store_true", help="不读取摄像机（只发送广播）")
        parser.add_argument("--no-sender", action="store_true", help="不发送广播（只读取摄像机）")
        parser.add_argument(
            "--mqtt-url", default=None, help="音柱的 MQTT 代理地址（默认 DOORSTEP_VIDEO_MQTT_URL）"
        )

    def handle(self, *args, group, no_cameras, no_sender, mqtt_url, **options):
        settings.VIDEO_FRAME_DIR.mkdir(parents=True, exist_ok=True)
        videod = Videod(group=group, cameras=not no_cameras, sender=not no_sender, mqtt_url=mqtt_url)
        with asyncio.Runner(loop_factory=uvicorn.Config(None).get_loop_factory()) as runner:
            runner.run(self._serve(videod))

    async def _serve(self, videod: Videod) -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await videod.start()
        if "InMemoryChannelLayer" in settings.CHANNEL_LAYERS["default"]["BACKEND"]:
            log.warning(
                "通道层在进程内（未设置 REDIS_URL）：单独运行的 videod 检测到的事件不会实时推送到 Web 进程的巡查台"
                "（刷新页面可见）；请设置 REDIS_URL，或用 `doorstep run` 在同一进程内运行"
            )
        self.stdout.write(_("videod 已启动（Ctrl+C 或 SIGTERM 停止）"))
        self.stdout.flush()
        await stop.wait()
        await videod.stop()
        self.stdout.write(_("videod 已停止"))

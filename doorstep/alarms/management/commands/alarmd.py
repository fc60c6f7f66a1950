"""`doorstep alarmd`: the alarm daemon on its own — SIA DC-09 (TCP and UDP), MQTT, the supervision tick —
until SIGTERM or SIGINT, then a clean stop (what is being committed is finished and answered).

Safe to start on two hosts: only the process holding the alarmd lock (`alarms.leadership`: a PostgreSQL
advisory lock, a lock file on SQLite) runs the receivers; the other waits as a standby and takes over when
the active one dies."""

from __future__ import annotations

import asyncio
import logging
import signal

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from doorstep.alarms.daemon import Alarmd
from doorstep.alarms.dc09_server import PortInUseError
from doorstep.alarms.leadership import Leadership
from doorstep.core.management.commands.run import quiet_garbage_collector

log = logging.getLogger("doorstep.alarmd")


class Command(BaseCommand):
    help = "运行报警接收守护进程 alarmd（SIA DC-09 TCP/UDP、MQTT、监督循环），收到 SIGTERM/SIGINT 后停止"

    def add_arguments(self, parser):
        parser.add_argument("--dc09-host", default=None, help="DC-09 监听地址（默认 DOORSTEP_DC09_HOST）")
        parser.add_argument(
            "--dc09-port",
            type=int,
            default=None,
            help="DC-09 端口，TCP 与 UDP 共用（默认 DOORSTEP_DC09_PORT）",
        )
        parser.add_argument("--no-dc09", action="store_true", help="不启动 DC-09 接收")
        parser.add_argument(
            "--mqtt-url", default=None, help="MQTT 代理地址（默认 DOORSTEP_MQTT_URL，空则不接收）"
        )
        parser.add_argument("--no-supervision", action="store_true", help="不运行监督循环")

    def handle(self, *args, dc09_host, dc09_port, no_dc09, mqtt_url, no_supervision, **options):
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        alarmd_options = {
            "dc09": False if no_dc09 else None,
            "dc09_host": dc09_host,
            "dc09_port": dc09_port,
            "mqtt_url": mqtt_url,
            "supervise": not no_supervision,
        }
        try:
            with asyncio.Runner(loop_factory=uvicorn.Config(None).get_loop_factory()) as runner:
                runner.run(
                    self._serve(alarmd_options)
                )  # the loop `doorstep run` uses (uvloop when installed)
        except PortInUseError as exc:
            raise CommandError(exc.strerror) from None

    async def _serve(self, alarmd_options: dict) -> None:
        quiet_garbage_collector()
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if "InMemoryChannelLayer" in settings.CHANNEL_LAYERS["default"]["BACKEND"]:
            log.warning(
                "通道层在进程内（未设置 REDIS_URL）：单独运行的 alarmd 收到的报警不会推送到 Web 进程的调度台；"
                "请设置 REDIS_URL，或用 `doorstep run` 在同一进程内运行"
            )
        # A taken DC-09 port ends the command with the error (strict start: the operator must see it); any
        # other start error is logged and retried by the leadership loop, the lock released meanwhile.
        leadership = Leadership(lambda: Alarmd(**alarmd_options), fatal=(PortInUseError,))
        await leadership.start()  # returns at once: the lock, its grace and the receivers come in a task
        self.stdout.write(_("alarmd 已启动（Ctrl+C 或 SIGTERM 停止）"))
        self.stdout.flush()
        stopping = loop.create_task(stop.wait())
        leading = loop.create_task(leadership.wait())
        await asyncio.wait({stopping, leading}, return_when=asyncio.FIRST_COMPLETED)
        if stopping.done():
            log.info("收到停止信号，alarmd 正在停止（处理中的事件会完成并应答）")
        stopping.cancel()
        await leadership.stop()
        if leading.done() and not leading.cancelled() and leading.exception() is not None:
            raise leading.exception()  # a taken DC-09 port: exit with the error
        self.stdout.write(_("alarmd 已停止"))

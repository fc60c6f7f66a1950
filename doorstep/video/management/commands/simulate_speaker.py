"""`doorstep simulate_speaker --topic doorstep/speakers/sp-001`: a simulated MQTT speaker until Ctrl+C.

For demos and drills without hardware: it subscribes to the speaker's topic on the broker, prints each
warning it "plays" and acknowledges it (``played``, or ``--status busy|error``, or never with
``--no-ack``), as a real speaker with the MQTT driver does.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import aiomqtt
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from doorstep.video.simulator import DEFAULT_MQTT_URL, STATUSES, SimulatedMqttSpeaker
from doorstep.video.speakers import validate_address

STATUS_LABELS = {"played": "已播放", "busy": "忙", "error": "出错"}


class Command(BaseCommand):
    help = "运行一个模拟 MQTT 广播喇叭：打印收到的每条广播并回复确认，Ctrl+C 停止（演示、演练用）"

    def add_arguments(self, parser):
        parser.add_argument("--topic", required=True, help="喇叭订阅的主题，如 doorstep/speakers/sp-001")
        parser.add_argument(
            "--mqtt-url",
            default=None,
            help=f"MQTT 代理地址（默认音柱所用的 DOORSTEP_VIDEO_MQTT_URL，未设置则 {DEFAULT_MQTT_URL}）",
        )
        parser.add_argument("--no-ack", action="store_true", help="收到后不回复确认（模拟离线或故障）")
        parser.add_argument("--status", default="played", choices=STATUSES, help="回复的状态（默认 played）")
        parser.add_argument("--delay", type=float, default=0.0, help="回复确认前等待的秒数（模拟播放时长）")

    def handle(self, *args, topic, mqtt_url, no_ack, status, delay, **options):
        try:
            topic = validate_address("mqtt", topic)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        # The broker the video worker sends broadcasts through (which may not be the alarm receivers' one).
        url = mqtt_url or settings.VIDEO_MQTT_URL or DEFAULT_MQTT_URL
        try:
            speaker = SimulatedMqttSpeaker(
                topic, url=url, ack=not no_ack, status=status, delay=max(delay, 0.0), on_message=self._played
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        try:
            asyncio.run(self._run(speaker))
        except aiomqtt.MqttError as exc:
            raise CommandError(f"无法连接 MQTT 代理 {speaker.broker}：{exc}") from None

    async def _run(self, speaker: SimulatedMqttSpeaker) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await speaker.start()
        answer = f"回复 {speaker.status}" if speaker.ack else "不回复确认"
        self.stdout.write(f"模拟喇叭已连接 {speaker.broker}，订阅 {speaker.topic}（{answer}），Ctrl+C 停止")
        self.stdout.flush()
        try:
            await stop.wait()
        finally:
            await speaker.stop()
        self.stdout.write(f"模拟喇叭已停止，共收到 {len(speaker.messages)} 条广播")

    def _played(self, body: dict[str, Any], status: str | None) -> None:
        text = str(body.get("text", ""))
        parts = [f"「{text}」× {body.get('repeat', 1)}"]
        if body.get("volume") is not None:
            parts.append(f"音量 {body['volume']}")
        audio = body.get("audio")
        if isinstance(audio, str):
            parts.append(f"附带 {body.get('audio_format', '?')} 音频 {len(audio) * 3 // 4} 字节")
        reply = f"回复 {status}（{STATUS_LABELS.get(status, status)}）" if status else "不回复"
        self.stdout.write(f"播放广播 {str(body.get('id', '?'))[:40]}：{'，'.join(parts)} → {reply}")
        self.stdout.flush()

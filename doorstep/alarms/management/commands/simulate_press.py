"""`doorstep simulate_press DEVICE_ID`: press a demo device's button, signed with its real credentials.

For demos and drills on a test system: it reads the device's secret (or SIA account and AES key) from the
database and sends what the device would send — a signed HTTP event to the web server, or a SIA DC-09
frame to alarmd — then prints the answer. It never prints the credentials.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from doorstep.alarms import dc09, signing
from doorstep.alarms.choices import Protocol
from doorstep.alarms.models import AlarmDevice

# What a panel sends for each press: (token, data after the account). A DC-09 panel has no "test" press: a
# panic inside a scheduled drill window is the drill.
DC09_PRESSES = {
    "panic": ("SIA-DCS", "Nri1/PA001"),
    "silent_panic": ("ADM-CID", "1122 01 001"),
    "tamper": ("SIA-DCS", "Nri1/TA001"),
}


class Command(BaseCommand):
    help = "模拟一次报警按键：用设备的真实凭据签名后发送（演示、演练用）"

    def add_arguments(self, parser):
        parser.add_argument("device_id")
        parser.add_argument("--type", default="panic", choices=["panic", "silent_panic", "test", "tamper"])
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="HTTP 设备所连的 Doorstep 地址")
        parser.add_argument("--dc09-host", default=None)
        parser.add_argument("--dc09-port", type=int, default=None)

    def handle(self, *args, device_id, type, url, dc09_host, dc09_port, **options):
        device = AlarmDevice.objects.filter(device_id=device_id).first()
        if device is None:
            raise CommandError(f"没有设备 {device_id}")
        if device.protocol == Protocol.DC09:
            host = dc09_host or getattr(settings, "DC09_HOST", "127.0.0.1")
            port = dc09_port or getattr(settings, "DC09_PORT", 7700)
            self._dc09(device, type, host, port)
        else:
            self._http(device, type, url)

    def _http(self, device: AlarmDevice, event_type: str, url: str) -> None:
        if not url.startswith(("http://", "https://")):
            raise CommandError("--url 应以 http:// 或 https:// 开头")
        body = json.dumps(
            {
                "event_id": uuid.uuid4().hex,
                "type": event_type,
                "occurred_at": datetime.now(UTC).isoformat(),
            }
        ).encode()
        timestamp = str(int(time.time()))
        signature = signing.signature(device.secret, timestamp, body)
        request = urllib.request.Request(  # noqa: S310 (scheme checked above)
            url.rstrip("/") + "/api/v1/alarm-events",
            data=body,
            headers={
                "Content-Type": "application/json",
                "X-Device-Id": device.device_id,
                "X-Timestamp": timestamp,
                "X-Signature": signature,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                self.stdout.write(f"HTTP {response.status}: {response.read().decode()}")
        except urllib.error.HTTPError as exc:
            raise CommandError(f"HTTP {exc.code}: {exc.read().decode()}") from exc
        except OSError as exc:
            raise CommandError(f"无法连接 {url}：{exc}") from exc

    def _dc09(self, device: AlarmDevice, event_type: str, host: str, port: int) -> None:
        if event_type not in DC09_PRESSES:
            raise CommandError("SIA DC-09 设备没有测试按键：在演练时段内按 panic 即为演练")
        token, data = DC09_PRESSES[event_type]
        key = bytes.fromhex(device.aes_key) if device.aes_key else None
        frame = dc09.build_frame(
            token,
            sequence=int(time.time()) % 10000,
            account=device.sia_account,
            data=f"#{device.sia_account}|{data}",
            timestamp=datetime.now(UTC),
            key=key,
        )
        try:
            with socket.create_connection((host, port), timeout=10) as sock:
                sock.sendall(frame)
                answer = sock.recv(1024)
        except OSError as exc:
            raise CommandError(f"无法连接报警接收机 {host}:{port}：{exc}") from exc
        token = answer[answer.find(b'"') : answer.find(b'"', answer.find(b'"') + 1) + 1].decode(
            errors="replace"
        )
        self.stdout.write(f"SIA DC-09 应答 {token or '（无应答）'}")

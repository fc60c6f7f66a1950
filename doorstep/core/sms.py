"""Text messages (短信) through a pluggable gateway: the portal's one-time codes now, officers' dispatch
notices later (#13). `send(phone, text)` hands the message to the gateway named by DOORSTEP_SMS_GATEWAY:

- ``console`` (the default outside production): writes the message to the log with the phone masked — the
  one-time code is in the text, which is what a developer needs and harmless with synthetic phones;
- ``memory``: keeps messages in `outbox` (tests read them, like Django's mail outbox);
- ``http``: POSTs JSON ``{"phone": ..., "text": ...}`` to DOORSTEP_SMS_URL (a carrier's or the police SMS
  platform's adapter), with DOORSTEP_SMS_TOKEN as a bearer token; any answer but 2xx is a failure.

A gateway raises `SmsError` when the message was not accepted; callers show a plain message and keep going.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from doorstep.core.masking import mask_phone

log = logging.getLogger("doorstep.sms")


class SmsError(Exception):
    """The gateway did not accept the message. `transient`: worth sending again — no answer, or a 5xx/429
    (the gateway is busy or away); a 4xx says the message itself was refused, and will be again."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Message:
    phone: str
    text: str


class Gateway(Protocol):
    def send(self, message: Message) -> None: ...


outbox: list[Message] = []


class ConsoleGateway:
    def send(self, message: Message) -> None:
        log.info("短信 → %s：%s", mask_phone(message.phone), message.text)


class MemoryGateway:
    def send(self, message: Message) -> None:
        outbox.append(message)


class HttpGateway:
    def __init__(self, url: str, token: str = "", timeout: float = 5.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise SmsError("DOORSTEP_SMS_URL must be an http(s) URL")
        self.url, self.token, self.timeout = url, token, timeout

    def send(self, message: Message) -> None:
        body = json.dumps({"phone": message.phone, "text": message.text}, ensure_ascii=False).encode()
        request = urllib.request.Request(self.url, data=body, method="POST")  # noqa: S310 (http(s) checked)
        request.add_header("Content-Type", "application/json; charset=utf-8")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (http(s) checked)
                if not 200 <= response.status < 300:
                    raise SmsError(f"gateway answered {response.status}")
        except urllib.error.HTTPError as exc:  # before OSError: it is one
            raise SmsError(
                f"gateway answered {exc.code}", transient=exc.code >= 500 or exc.code == 429
            ) from exc
        except (urllib.error.URLError, OSError) as exc:  # refused, unreachable, no answer in time
            raise SmsError(str(exc), transient=True) from exc
        except ValueError as exc:
            raise SmsError(str(exc)) from exc


GATEWAYS = {"console": ConsoleGateway, "memory": MemoryGateway}


def gateway() -> Gateway:
    name = settings.SMS_GATEWAY
    if name == "http":
        return HttpGateway(settings.SMS_URL, settings.SMS_TOKEN)
    if name in GATEWAYS:
        return GATEWAYS[name]()
    return import_string(name)()  # a dotted path to a class of one's own


def send(phone: str, text: str) -> None:
    """Hand one message to the configured gateway; SmsError when it was not accepted."""
    gateway().send(Message(phone=phone, text=text))

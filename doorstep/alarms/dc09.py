"""SIA DC-09 protocol layer of the alarm receiver (报警接收机): frames, AES, responses, event codes.

Pure functions, no Django, no sockets: the receiver daemon feeds each received frame to `handle` and sends
the returned response itself, after it has committed what the frame reported.

Frame (ANSI/SIA DC-09-2012/2013, all ASCII)::

    <LF> crc 0LLL "id" seq [Rrcvr] [Lpref] [#acct] [ data ] [xdata]... [_HH:MM:SS,MM-DD-YYYY] <CR>

- ``crc``: 4 hex digits, CRC-16/ARC (poly 0x8005 reflected, init 0) over the bytes from the first ``"``
  to the end of the frame before ``<CR>``; ``0LLL``: 4 hex digits, the count of those same bytes.
- ``id``: ``SIA-DCS`` (SIA DC-03/DC-07 event codes), ``ADM-CID`` (Ademco Contact ID), ``NULL`` (link
  test); with a leading ``*`` when encrypted. ``seq``: 4 decimal digits, echoed in the answer.
- ``Rrcvr``, ``Lpref``: receiver and line prefix, 1-6 hex digits each, echoed as received.
- ``#acct``: the account (1-16 letters or digits); without it the account is taken from the data
  (``[#acct|...]``). An encrypted frame must carry it: it selects the key.
- data: ``#acct|Nri1/PA001`` for SIA-DCS (``N`` then modifiers such as ``ri`` area, ``id`` user,
  ``ti`` time, and one or more two-letter event codes with their zone or user number, separated by
  ``/``), ``#acct|1120 01 015`` for ADM-CID (qualifier 1 new / 3 restore / 6 status, event, partition,
  zone), empty for NULL. Extended data blocks (``[X...]``, ``[M...]``...) are kept as text.
- The timestamp is UTC. It is optional in a plain frame and required in an encrypted one.

Encryption: AES-128/192/256 in CBC mode with an all-zero IV. The ``[`` stays in clear; from the pad to
the end of the timestamp everything is encrypted and sent as upper-case hex: ``pad | data ] [xdata]...
_timestamp``, where ``pad`` is 1-16 bytes other than ``|``, ``[`` and ``]`` bringing the encrypted
length to a multiple of 16 (we accept any length, one widely used dialler sends up to 17). A wrong key
shows as a decrypted region without that structure, or without a timestamp.

What the receiver answers (`handle`):

=============================  ==========================================================================
frame                          answer
=============================  ==========================================================================
well formed, timestamp in the  ``ACK`` (``"ACK"seq Rrcvr Lpref #acct []_timestamp``); to an encrypted
window (-40 s / +20 s)         frame ``"*ACK"`` encrypted with the same key
timestamp outside the window,  ``NAK`` ``"NAK"0000R0L0A0[]_timestamp`` with the receiver's time, never
or not a real date/time        encrypted, so that the sender can correct its clock and send again
(`TimestampError`)
supported ``id``, plain, data  ``ACK``; the frame reports one event of kind ``unknown`` whose code is
that cannot be read (ADM-CID   the data as received (``Frame.readable`` is False when the data block
data that is not Contact ID,   could not even be delimited): it arrived intact, so a human must see it,
no closing ``]``, text after   and a DUH would only leave the panel retrying it
the data block)
an ``id`` we do not support   ``ACK``; one event of kind ``unknown`` whose code is ``id:data``. DC-09
(not SIA-DCS, ADM-CID, NULL)   would answer DUH ("cannot be processed"), but a DUH leaves a panel
                               retrying or failing over with the event unseen; the issue's rule is that
                               whatever arrives intact from a known account is ACKed and shown to a
                               human. This receiver therefore sends no DUH at all
bad CRC, bad length,           no answer: the sender retries, or fails over to its backup path. A frame
malformed header, too long     that cannot be trusted gets nothing to address an answer to
encrypted for an account with  no answer: DC-09 defines NAK only for the timestamp test, and a NAK
no key, cannot be decrypted,   there would help an unauthenticated sender probe accounts and keys
plain from an account that     (`UnknownAccountError`, `DecryptionError`, `EncryptionRequiredError`)
has a key
a response (ACK/NAK/DUH/RSP)   no answer, so that two receivers can never ping-pong
=============================  ==========================================================================

The NAK carries ``A0`` where other answers carry ``#acct``: that is the fixed NAK of DC-09 section
5.5.3.2 as open-source receivers send it and as NAKs captured from receivers in the field carry it (the
tests check two such published frames byte for byte).
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import ClassVar, NamedTuple

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

MAX_FRAME_BYTES = 1024
PAST_SECONDS = 40
FUTURE_SECONDS = 20
KEY_SIZES = (16, 24, 32)

KeyLookup = Callable[[str], bytes | None]
"""``key_for(account)``: the account's AES key (16, 24 or 32 bytes), or None when it has none."""

SUPPORTED_TOKENS = frozenset({"SIA-DCS", "ADM-CID", "NULL"})
RESPONSE_TOKENS = frozenset({"ACK", "NAK", "DUH", "RSP"})


class EventKind(StrEnum):
    PANIC = "panic"
    HEARTBEAT = "heartbeat"
    TAMPER = "tamper"
    LOW_BATTERY = "low_battery"
    LINK_TEST = "link_test"
    UNKNOWN = "unknown"


# SIA DC-03 codes -> (kind, restore). The restorals keep the kind of what they restore.
SIA_KINDS: dict[str, tuple[EventKind, bool]] = {
    "PA": (EventKind.PANIC, False),  # panic alarm
    "HA": (EventKind.PANIC, False),  # hold-up alarm
    "PR": (EventKind.PANIC, True),  # panic restoral
    "PH": (EventKind.PANIC, True),  # panic alarm restore
    "HR": (EventKind.PANIC, True),  # hold-up restoral
    "HH": (EventKind.PANIC, True),  # hold-up alarm restore
    "RP": (EventKind.HEARTBEAT, False),  # automatic (periodic) test
    "TA": (EventKind.TAMPER, False),  # tamper alarm
    "TR": (EventKind.TAMPER, True),  # tamper restoral
    "TH": (EventKind.TAMPER, True),  # tamper alarm restore
    "YT": (EventKind.LOW_BATTERY, False),  # system battery trouble
    "YR": (EventKind.LOW_BATTERY, True),  # system battery restoral
    "XT": (EventKind.LOW_BATTERY, False),  # transmitter (wireless button) battery trouble
    "XR": (EventKind.LOW_BATTERY, True),  # transmitter battery restoral
}

# Contact ID event codes -> kind; qualifier 3 marks the restore.
CID_KINDS: dict[str, EventKind] = {
    "120": EventKind.PANIC,  # panic
    "121": EventKind.PANIC,  # duress
    "122": EventKind.PANIC,  # silent panic
    "602": EventKind.HEARTBEAT,  # periodic test report
    "137": EventKind.TAMPER,  # tamper
    "144": EventKind.TAMPER,  # sensor tamper
    "302": EventKind.LOW_BATTERY,  # low system battery
    "384": EventKind.LOW_BATTERY,  # RF transmitter low battery
}


# --- errors -----------------------------------------------------------------------------------------


class FrameError(Exception):
    """A frame the receiver does not accept. ``answer`` is what `handle` replies; ``frame`` is what could
    be read of it (None when nothing could be trusted)."""

    answer: ClassVar[str | None] = None

    def __init__(self, message: str, frame: Frame | None = None) -> None:
        super().__init__(message)
        self.frame = frame


class CrcError(FrameError):
    """The CRC does not match: the frame was damaged on the way."""


class LengthError(FrameError):
    """The length field does not match the frame."""


class MalformedFrameError(FrameError):
    """Not a DC-09 frame: framing, header or size is wrong, or it is a response."""


class UnknownAccountError(FrameError):
    """An encrypted frame whose account has no key here (or that names no account)."""


class EncryptionRequiredError(FrameError):
    """A plain frame from an account that has a key: accepting it would let anyone forge its events."""


class DecryptionError(FrameError):
    """The encrypted region does not decrypt to a DC-09 data block: wrong key, or not DC-09."""


class TimestampError(FrameError):
    """The timestamp lies outside the window around the receiver's time, or is not a real date/time."""

    answer = "NAK"


# --- values -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """One received (or built) DC-09 message, decrypted."""

    token: str  # "SIA-DCS", "ADM-CID", "NULL" (without the "*" of encryption)
    encrypted: bool
    sequence: str  # 4 digits, as sent
    receiver: str | None  # hex digits after "R", as sent
    prefix: str | None  # hex digits after "L", as sent
    account: str | None
    data: str  # the first data block without its brackets (and without the pad): "#1234|Nri1/PA001"
    extended: tuple[str, ...]  # the extended data blocks without brackets: ("X116.3", "Y39.9")
    timestamp: datetime | None  # UTC
    raw: bytes
    key: bytes | None = field(default=None, repr=False, compare=False)  # to encrypt the answer
    # False when the data block could not be delimited (no closing "]", text after it): ``data`` then holds
    # everything after "[" as received, and the frame reports one unknown event carrying it.
    readable: bool = True


@dataclass(frozen=True)
class Event:
    """One event decoded from a frame's data block."""

    kind: EventKind
    code: str  # SIA "PA", Contact ID "120", "NULL" for a link test, "" when none could be read
    zone: str | None  # zone or user number, as the code defines
    restore: bool = False
    area: str | None = None  # SIA "ri" area / Contact ID partition


class Dc09Result(NamedTuple):
    response: bytes | None  # ACK / NAK frame to send (an ACK only after committing), or None
    frame: Frame | None
    events: list[Event]  # non-empty only together with an ACK
    error: FrameError | None  # why the frame was not ACKed, for the log


# --- CRC and framing --------------------------------------------------------------------------------


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16(data: bytes) -> int:
    """CRC-16/ARC, as DC-09 section 5.5.1.2 specifies."""
    crc = 0
    for byte in data:
        crc = (crc >> 8) ^ _CRC_TABLE[(crc ^ byte) & 0xFF]
    return crc


def _wrap(body: str) -> bytes:
    encoded = body.encode("latin-1")
    return b"\n%04X%04X%s\r" % (crc16(encoded), len(encoded), encoded)


# Every quantifier is bounded or stops at a delimiter it cannot contain: matching is linear.
_HEX4 = re.compile(rb"[0-9A-Fa-f]{4}")
_HEADER = re.compile(
    r'"(\*?)([A-Za-z0-9-]{1,16})"([0-9]{4})(?:R([0-9A-Fa-f]{1,6}))?(?:L([0-9A-Fa-f]{1,6}))?'
    r"(?:#([0-9A-Za-z]{1,16}))?\["
)
_HEX = re.compile(r"[0-9A-Fa-f]+")
_DATA_ACCOUNT = re.compile(r"#([0-9A-Za-z]{1,16})(?:\||\Z)")
_TIMESTAMP = re.compile(r"_([0-9]{2}):([0-9]{2}):([0-9]{2}),([0-9]{2})-([0-9]{2})-([0-9]{4})")


def format_timestamp(moment: datetime) -> str:
    """``_HH:MM:SS,MM-DD-YYYY`` in UTC."""
    t = _utc(moment)
    return f"_{t.hour:02d}:{t.minute:02d}:{t.second:02d},{t.month:02d}-{t.day:02d}-{t.year:04d}"


def _utc(moment: datetime) -> datetime:
    # A naive datetime is taken to be UTC already.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _split_content(content: str) -> tuple[str, tuple[str, ...], str | None] | None:
    """``data]`` + ``[xdata]``... + optional timestamp -> (data, extended, timestamp text), or None."""
    end = content.find("]")
    if end < 0 or "[" in content[:end]:
        return None
    data, pos, extended = content[:end], end + 1, []
    while pos < len(content) and content[pos] == "[":
        close = content.find("]", pos)
        if close < 0 or "[" in content[pos + 1 : close]:
            return None
        extended.append(content[pos + 1 : close])
        pos = close + 1
    tail = content[pos:]
    if tail and not _TIMESTAMP.fullmatch(tail):
        return None
    return data, tuple(extended), tail or None


def _parse_timestamp(text: str) -> datetime:
    match = _TIMESTAMP.fullmatch(text)
    if match is None:  # pragma: no cover - _split_content only lets a well-shaped timestamp through
        raise ValueError(text)
    hour, minute, second, month, day, year = (int(part) for part in match.groups())
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def _data_account(data: str) -> str | None:
    match = _DATA_ACCOUNT.match(data)
    return match.group(1) if match else None


def _aes(key: bytes) -> Cipher[modes.CBC]:
    return Cipher(algorithms.AES(key), modes.CBC(bytes(16)))


_PAD_ALPHABET = string.ascii_letters + string.digits


def encrypt_region(content: str, key: bytes) -> str:
    """Pad, encrypt and hex-encode ``content`` (``data]...[xdata]_timestamp``) for the part after ``[``.

    The pad is drawn from letters and digits: DC-09 allows any byte but ``|``, ``[``, ``]``, and printable
    pad keeps diallers that decode the plaintext as ASCII working."""
    if len(key) not in KEY_SIZES:
        raise ValueError("an AES key has 16, 24 or 32 bytes")
    body = content.encode("latin-1")
    pad_length = 16 - (len(body) + 1) % 16  # 16 when the region is already a multiple of 16
    pad = "".join(secrets.choice(_PAD_ALPHABET) for _ in range(pad_length)).encode("ascii")
    encryptor = _aes(key).encryptor()
    return (encryptor.update(pad + b"|" + body) + encryptor.finalize()).hex().upper()


def decrypt_region(hex_text: str, key: bytes) -> str:
    """Inverse of `encrypt_region`: the decrypted region without its pad. Raises DecryptionError."""
    if len(key) not in KEY_SIZES:
        raise DecryptionError("the account's key does not have 16, 24 or 32 bytes")
    if not hex_text or len(hex_text) % 32 or not _HEX.fullmatch(hex_text):
        raise DecryptionError("the encrypted region is not whole AES blocks in hex")
    decryptor = _aes(key).decryptor()
    plain = (decryptor.update(bytes.fromhex(hex_text)) + decryptor.finalize()).decode("latin-1")
    bar = plain.find("|")
    if bar < 0 or "[" in plain[:bar] or "]" in plain[:bar]:
        raise DecryptionError("no pad terminator in the decrypted region")
    return plain[bar + 1 :]


# --- parsing ----------------------------------------------------------------------------------------


def parse_frame(raw: bytes, key_for: KeyLookup | None = None) -> Frame:
    """Parse and, when encrypted, decrypt one frame (``<LF>`` ... ``<CR>``). Raises only FrameError.

    ``key_for`` is called with the account of an encrypted frame, and of a plain one to refuse plain
    frames from accounts that have a key. Exceptions from ``key_for`` itself propagate."""
    if isinstance(raw, bytearray | memoryview):
        raw = bytes(raw)
    if len(raw) > MAX_FRAME_BYTES:
        raise MalformedFrameError(f"frame longer than {MAX_FRAME_BYTES} bytes")
    if len(raw) < 12 or raw[:1] != b"\n" or raw[-1:] != b"\r":
        raise MalformedFrameError("a frame starts with LF and ends with CR")
    crc_field, length_field, body = raw[1:5], raw[5:9], raw[9:-1]
    if not _HEX4.fullmatch(crc_field) or not _HEX4.fullmatch(length_field):
        raise MalformedFrameError("CRC and length are 4 hex digits each")
    if crc16(body) != int(crc_field, 16):
        raise CrcError("CRC mismatch")
    if len(body) != int(length_field, 16):
        raise LengthError(f"length field {int(length_field, 16)} but {len(body)} bytes")

    text = body.decode("latin-1")
    header = _HEADER.match(text)
    if header is None:
        raise MalformedFrameError("no DC-09 header")
    star, token, sequence, receiver, prefix, account = header.groups()
    encrypted, rest = star == "*", text[header.end() :]
    frame = Frame(token, encrypted, sequence, receiver, prefix, account, rest, (), None, raw)
    if token in RESPONSE_TOKENS:
        raise MalformedFrameError(f"a {token} response, not a message", frame)

    key = None
    if encrypted:
        if account is None:
            raise UnknownAccountError("an encrypted frame without an account", frame)
        if not _HEX.fullmatch(rest):
            raise MalformedFrameError("the encrypted region is not hex", frame)
        key = key_for(account) if key_for is not None else None
        if key is None:
            raise UnknownAccountError(f"no key for account {account}", frame)
        content = decrypt_region(rest, key)
    else:
        content = rest
    parts = _split_content(content)
    if parts is None:
        if encrypted:  # most often a wrong key: nothing in it can be trusted
            raise DecryptionError("the data block cannot be read", frame)
        # Arrived intact (CRC and length) but the data block cannot be delimited: reported as it is.
        parts, frame = (content, (), None), replace(frame, readable=False)
    data, extended, timestamp_text = parts
    if encrypted and timestamp_text is None:
        # DC-09 requires it; a missing one is also how most wrong keys show.
        raise DecryptionError("no timestamp in the encrypted region", frame)
    frame = replace(frame, data=data, extended=extended, account=account or _data_account(data), key=key)
    if not encrypted and frame.account is not None and key_for is not None and key_for(frame.account):
        raise EncryptionRequiredError(f"account {frame.account} has a key but sent a plain frame", frame)
    if timestamp_text is not None:
        try:
            frame = replace(frame, timestamp=_parse_timestamp(timestamp_text))
        except ValueError:
            raise TimestampError(f"{timestamp_text} is not a date and time", frame) from None
    return frame


def check_timestamp(
    frame: Frame, now: datetime, *, past_seconds: float = PAST_SECONDS, future_seconds: float = FUTURE_SECONDS
) -> None:
    """Raise TimestampError unless ``now - past_seconds <= timestamp <= now + future_seconds``.

    ``now`` is compared in whole seconds, the resolution of the timestamp. A frame without a timestamp
    passes (parse_frame already refused encrypted ones without)."""
    if frame.timestamp is None:
        return
    offset = (frame.timestamp - _utc(now).replace(microsecond=0)).total_seconds()
    if not -past_seconds <= offset <= future_seconds:
        raise TimestampError(f"timestamp {offset:+.0f} s from the receiver's time", frame)


# --- events -----------------------------------------------------------------------------------------

_SIA_TEXT = re.compile(r"\^[^^]*\^")
_SIA_ITEM = re.compile(r"([a-z]{2})([0-9:]*)|([A-Z]{2})([0-9]*)")
_CID = re.compile(r"([136])([0-9]{3}) ?([0-9A-Fa-f]{2}) ?([0-9A-Fa-f]{3})")


def _without_account(data: str) -> str:
    if data.startswith("#"):
        bar = data.find("|")
        return data[bar + 1 :] if bar >= 0 else ""
    return data.removeprefix("|")


def _decode_sia(data: str) -> list[Event]:
    events = []
    # Sections after "|": "N" new-event data, "A" free text (skipped: its words are not codes).
    for section in _without_account(data).split("|"):
        if not section.startswith("N"):
            continue
        body, pos, area = _SIA_TEXT.sub("", section[1:]), 0, None
        while pos < len(body):
            item = _SIA_ITEM.match(body, pos)
            if item is None:  # "/" separators and anything unrecognised
                pos += 1
                continue
            pos = item.end()
            modifier, value, code, address = item.groups()
            if modifier == "ri":
                area = value or None
            elif code is not None:
                kind, restore = SIA_KINDS.get(code, (EventKind.UNKNOWN, False))
                events.append(Event(kind, code, address or None, restore, area))
    return events or [Event(EventKind.UNKNOWN, "", None)]


def _decode_cid(frame: Frame) -> list[Event]:
    match = _CID.fullmatch(_without_account(frame.data))
    if match is None:  # not Contact ID: one unknown event that carries the data for a human to read
        return [Event(EventKind.UNKNOWN, _without_account(frame.data) or frame.data, None)]
    qualifier, code, partition, zone = match.groups()
    kind = CID_KINDS.get(code, EventKind.UNKNOWN)
    return [Event(kind, code, zone, restore=qualifier == "3", area=partition)]


def decode_events(frame: Frame) -> list[Event]:
    """The events a frame reports, never none; unknown codes come back as kind "unknown", and a data block
    that cannot be read (unreadable frame, ADM-CID data that is not Contact ID) as one unknown event whose
    code is that data as received."""
    if not frame.readable:
        return [Event(EventKind.UNKNOWN, frame.data, None)]
    if frame.token not in SUPPORTED_TOKENS:
        return [Event(EventKind.UNKNOWN, f"{frame.token}:{frame.data}", None)]
    if frame.token == "NULL":
        return [Event(EventKind.LINK_TEST, "NULL", None)]
    if frame.token == "ADM-CID":
        return _decode_cid(frame)
    return _decode_sia(frame.data)


# --- building ---------------------------------------------------------------------------------------


def build_frame(
    token: str,
    *,
    sequence: str | int,
    account: str | None,
    data: str = "",
    receiver: str | None = None,
    prefix: str | None = "0",
    extended: tuple[str, ...] = (),
    timestamp: datetime | None = None,
    key: bytes | None = None,
) -> bytes:
    """Build a frame; with ``key`` the token gets its ``*`` and the region after ``[`` is encrypted."""
    if key is not None and (timestamp is None or account is None):
        raise ValueError("an encrypted frame needs a timestamp and an account")
    sequence = f"{int(sequence):04d}" if isinstance(sequence, int) else sequence
    header = (
        f'"{"*" if key is not None else ""}{token}"{sequence}'
        f"{'' if receiver is None else 'R' + receiver}{'' if prefix is None else 'L' + prefix}"
        f"{'' if account is None else '#' + account}["
    )
    content = data + "]" + "".join(f"[{block}]" for block in extended)
    content += "" if timestamp is None else format_timestamp(timestamp)
    return _wrap(header + (content if key is None else encrypt_region(content, key)))


def ack(frame: Frame, now: datetime) -> bytes:
    """``ACK`` echoing sequence, receiver, line and account, with the receiver's time; ``*ACK`` encrypted
    with the frame's key when the frame was encrypted."""
    if frame.encrypted and frame.key is None:
        raise ValueError("the key of an encrypted frame is needed to answer it")
    return build_frame(
        "ACK",
        sequence=frame.sequence,
        account=frame.account,
        receiver=frame.receiver,
        prefix=frame.prefix,
        timestamp=now,
        key=frame.key if frame.encrypted else None,
    )


def nak(now: datetime) -> bytes:
    """The fixed NAK with the receiver's time; never encrypted."""
    return _wrap(f'"NAK"0000R0L0A0[]{format_timestamp(now)}')


# --- the receiver's step ----------------------------------------------------------------------------


def handle(
    raw: bytes,
    now: datetime,
    key_for: KeyLookup,
    *,
    past_seconds: float = PAST_SECONDS,
    future_seconds: float = FUTURE_SECONDS,
    check_plain_timestamps: bool = True,
) -> Dc09Result:
    """One received frame -> what to answer, what it was, what it reports. Never raises on any input.

    Send ``response`` as it is: for an ACK only after the events are committed, so that a crash before
    the commit makes the sender repeat the message. ``check_plain_timestamps=False`` skips the window
    for plain frames (DC-09 requires it only for encrypted ones)."""
    try:
        frame = parse_frame(raw, key_for)
        if frame.encrypted or check_plain_timestamps:
            check_timestamp(frame, now, past_seconds=past_seconds, future_seconds=future_seconds)
        events = decode_events(frame)
    except TimestampError as exc:
        return Dc09Result(nak(now), exc.frame, [], exc)
    except FrameError as exc:
        return Dc09Result(None, None, [], exc)
    return Dc09Result(ack(frame, now), frame, events, None)

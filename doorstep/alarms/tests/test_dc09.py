"""The SIA DC-09 protocol layer (doorstep/alarms/dc09.py): frames, AES, responses, event codes.

Plain pytest, no database. Known frames come from the test suites of open-source DC-09 implementations
(a Java DC-09 library and the SIADC09Debugger suite share the encrypted one, key ABCD...ABCD) and a NAK
captured from a Visonic PowerLink receiver; their CRCs and lengths were checked independently of this
module. Interoperability runs against `my-dc09-spt`, an independent DC-09 dialler from PyPI: once through
its message builder and answer checker, and once end to end over real TCP and UDP sockets on loopback.
"""

from __future__ import annotations

import contextlib
import re
import socketserver
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from my_dc09_spt.dc09_spt import dc09_spt
from my_dc09_spt.msg.dc03_msg import dc03_msg
from my_dc09_spt.msg.dc05_msg import dc05_msg
from my_dc09_spt.msg.dc09_msg import dc09_msg

from doorstep.alarms import dc09
from doorstep.alarms.dc09 import EventKind

NOW = datetime(2026, 11, 28, 8, 30, 0, tzinfo=UTC)
ACCOUNT = "123456"
KEY_128 = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
KEY_192 = bytes(range(24))
KEY_256 = bytes(range(100, 132))
PUBLISHED_KEY = bytes.fromhex("ABCD" * 8)

PUBLISHED_FRAMES = [
    '\n7C37006b"SIA-DCS"0000RC0FFDL1234#080027E62A64[#080027E62A64|NHB0003][X115000][X115000][X115000]'
    "_13:53:11,06-22-2015\r",
    '\n9B6D0059"SIA-DCS"0000RC0FFDL1234#080027E62A64[#080027E62A64|NHB0003][E115000]_14:25:17,06-22-2015\r',
    '\n7ea80059"SIA-DCS"0000Rc0ffdL1234#080027E62A64[#080027E62A64|NHB0003][E115000]_09:00:13,06-23-2015\r',
    '\n953a004c"SIA-DCS"0001L0#7878[#7878|Nri01^TOTAL^/LX901^centrale d\'alarme JA-106K(R)^]\r',
    '\n68AF0025"SIA-DCS"0001L0#1234[#1234|Nri1/BA12]\r',
    '\nB0AC0027"ADM-CID"0001L0#7099[#7099|1628 01 000]\r',
    '\nA18D0027"ADM-CID"0001L0#7099[#7099|1131 01 003]\r',
    '\n1D85002B"NULL"0001L0#00653210[]_09:17:32,05-18-2016\r',
]
PUBLISHED_ENCRYPTED = (
    b'\nE88800a7"*SIA-DCS"0000RC0FFDL1234#080027E62A64[A054F111518361720BAB126501C6D994CD9151D2C84881C0FEA933A'
    b"0790F49A9236EBD45F2AED32FAA252EB1AA18FC3CDEDE2452F33185E5931D31308D9B9882\r"
)


def keys(account: str) -> bytes | None:
    return {"ENC128": KEY_128, "ENC192": KEY_192, "ENC256": KEY_256, "080027E62A64": PUBLISHED_KEY}.get(
        account
    )


def no_keys(account: str) -> bytes | None:
    return None


def wrap(body: str | bytes) -> bytes:
    """Frame a body with a correct CRC and length, whatever it holds."""
    body = body.encode("latin-1") if isinstance(body, str) else body
    return b"\n%04X%04X%s\r" % (dc09.crc16(body), len(body), body)


_RESPONSE = re.compile(r'"(\*?)(ACK|NAK|DUH)"([0-9]{4})(R[0-9A-Fa-f]+)?(L[0-9A-Fa-f]+?)?(#\w+|A0)?\[(.*)\Z')


def read_response(response: bytes, key: bytes | None = None) -> dict:
    """Check a response's framing, CRC and length; return its parts, decrypted with ``key``."""
    assert response[:1] == b"\n" and response[-1:] == b"\r"
    body = response[9:-1]
    assert int(response[1:5], 16) == dc09.crc16(body)
    assert int(response[5:9], 16) == len(body)
    match = _RESPONSE.match(body.decode("ascii"))
    assert match is not None, response
    star, token, sequence, receiver, prefix, account, rest = match.groups()
    if star:
        rest = dc09.decrypt_region(rest, key)
    return {
        "token": star + token,
        "sequence": sequence,
        "receiver": receiver,
        "prefix": prefix,
        "account": account,
        "rest": rest,
    }


def sia_frame(data: str = f"#{ACCOUNT}|Nri1/PA001", **kwargs) -> bytes:
    kwargs.setdefault("sequence", 42)
    kwargs.setdefault("account", ACCOUNT)
    kwargs.setdefault("timestamp", NOW)
    return dc09.build_frame("SIA-DCS", data=data, **kwargs)


# --- published frames -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", PUBLISHED_FRAMES)
def test_published_frames_parse_with_their_crc_and_length(text):
    raw = text.encode("latin-1")

    frame = dc09.parse_frame(raw, no_keys)

    assert dc09.crc16(raw[9:-1]) == int(text[1:5], 16)
    assert frame.raw == raw
    assert not frame.encrypted


def test_published_frame_fields():
    frame = dc09.parse_frame(PUBLISHED_FRAMES[0].encode(), no_keys)

    assert (frame.token, frame.sequence, frame.receiver, frame.prefix) == ("SIA-DCS", "0000", "C0FFD", "1234")
    assert frame.account == "080027E62A64"
    assert frame.data == "#080027E62A64|NHB0003"
    assert frame.extended == ("X115000", "X115000", "X115000")
    assert frame.timestamp == datetime(2015, 6, 22, 13, 53, 11, tzinfo=UTC)


def test_published_encrypted_frame_decrypts():
    frame = dc09.parse_frame(PUBLISHED_ENCRYPTED, keys)

    assert frame.encrypted and frame.token == "SIA-DCS"
    assert frame.data == "#080027E62A64|NHB0003"
    assert frame.extended == ("E115000",)
    assert frame.timestamp == datetime(2015, 6, 22, 15, 12, 40, tzinfo=UTC)


def test_published_encrypted_ack_has_the_shape_we_send():
    published = (
        '"*ACK"0001R5678L1234#080027E62A64[14F088FF5DCB19D1908069507EAB97C7CDB20F1C6EFA550BB59864D54B2DFA1C'
    )

    assert wrap(published)[1:9] == b"E34C0062"  # the CRC and length it was published with
    assert read_response(wrap(published), PUBLISHED_KEY)["rest"] == "]_16:08:12,04-14-2015"


def test_ack_matches_a_published_ack():
    frame = dc09.parse_frame(PUBLISHED_FRAMES[2].encode(), no_keys)

    response = dc09.ack(frame, datetime(2015, 6, 22, 12, 10, 40, tzinfo=UTC))

    assert response == b'\n01FC0037"ACK"0000Rc0ffdL1234#080027E62A64[]_12:10:40,06-22-2015\r'


@pytest.mark.parametrize(
    ("moment", "published"),
    [
        (datetime(2015, 4, 14, 16, 9, 9, tzinfo=UTC), b'\n3C830025"NAK"0000R0L0A0[]_16:09:09,04-14-2015\r'),
        (datetime(2024, 7, 30, 10, 10, 18, tzinfo=UTC), b'\nE5630025"NAK"0000R0L0A0[]_10:10:18,07-30-2024\r'),
    ],
)
def test_nak_matches_published_naks(moment, published):
    assert dc09.nak(moment) == published


# --- round trips ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("account", "key"), [(ACCOUNT, None), ("ENC128", KEY_128), ("ENC192", KEY_192), ("ENC256", KEY_256)]
)
def test_round_trip(account, key):
    raw = sia_frame(
        f"#{account}|Nri2/PA003", account=account, receiver="1A", prefix="2", extended=("X116.3",), key=key
    )

    frame = dc09.parse_frame(raw, keys)

    assert frame.encrypted is (key is not None)
    assert (frame.token, frame.sequence, frame.receiver, frame.prefix) == ("SIA-DCS", "0042", "1A", "2")
    assert (frame.account, frame.data, frame.extended, frame.timestamp) == (
        account,
        f"#{account}|Nri2/PA003",
        ("X116.3",),
        NOW,
    )


_DATA_TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters="[]"), max_size=60
)


@settings(max_examples=300, deadline=None)
@given(
    data=_DATA_TEXT,
    extended=st.lists(_DATA_TEXT, max_size=3),
    sequence=st.integers(0, 9999),
    account=st.sampled_from([ACCOUNT, "ENC128", "ENC192", "ENC256"]),
    moment=st.datetimes(datetime(2000, 1, 1), datetime(2099, 12, 31)),
)
def test_round_trip_property(data, extended, sequence, account, moment):
    moment = moment.replace(microsecond=0, tzinfo=UTC)
    raw = sia_frame(
        data,
        sequence=sequence,
        account=account,
        extended=tuple(extended),
        timestamp=moment,
        key=keys(account),
    )

    frame = dc09.parse_frame(raw, keys)

    assert (frame.data, frame.extended, frame.timestamp) == (data, tuple(extended), moment)
    assert frame.sequence == f"{sequence:04d}" and frame.account == account


# --- answers ----------------------------------------------------------------------------------------


def test_plain_frame_is_acked_with_its_addressing_and_the_receiver_time():
    raw = sia_frame(receiver="7", prefix="3")

    result = dc09.handle(raw, NOW, keys)

    parts = read_response(result.response)
    assert parts == {
        "token": "ACK",
        "sequence": "0042",
        "receiver": "R7",
        "prefix": "L3",
        "account": f"#{ACCOUNT}",
        "rest": "]" + dc09.format_timestamp(NOW),
    }
    assert result.error is None and result.frame.account == ACCOUNT


@pytest.mark.parametrize(("account", "key"), [("ENC128", KEY_128), ("ENC256", KEY_256)])
def test_ack_to_an_encrypted_frame_is_encrypted_with_the_same_key(account, key):
    raw = sia_frame(f"#{account}|Nri1/PA001", account=account, key=key)

    result = dc09.handle(raw, NOW, keys)

    assert b'"*ACK"' in result.response
    assert dc09.format_timestamp(NOW).encode() not in result.response
    parts = read_response(result.response, key)
    assert (parts["token"], parts["sequence"], parts["account"]) == ("*ACK", "0042", f"#{account}")
    assert parts["rest"] == "]" + dc09.format_timestamp(NOW)


def test_nak_format_even_for_an_encrypted_frame():
    raw = sia_frame("#ENC128|Nri1/PA001", account="ENC128", key=KEY_128, timestamp=NOW - timedelta(minutes=5))

    result = dc09.handle(raw, NOW, keys)

    parts = read_response(result.response)
    assert parts == {
        "token": "NAK",
        "sequence": "0000",
        "receiver": "R0",
        "prefix": "L0",
        "account": "A0",
        "rest": "]" + dc09.format_timestamp(NOW),
    }
    assert isinstance(result.error, dc09.TimestampError)
    assert result.events == [] and result.frame.account == "ENC128"


@pytest.mark.parametrize(
    ("offset", "answer"), [(-40, "ACK"), (-41, "NAK"), (0, "ACK"), (20, "ACK"), (21, "NAK")]
)
@pytest.mark.parametrize(("account", "key"), [(ACCOUNT, None), ("ENC128", KEY_128)])
def test_timestamp_window_edges(offset, answer, account, key):
    raw = sia_frame(f"#{account}|NPA1", account=account, key=key, timestamp=NOW + timedelta(seconds=offset))

    result = dc09.handle(raw, NOW + timedelta(microseconds=900_000), keys)

    assert read_response(result.response, key)["token"].lstrip("*") == answer


def test_timestamp_window_is_configurable_and_can_skip_plain_frames():
    stale = sia_frame(timestamp=NOW - timedelta(seconds=90))

    assert read_response(dc09.handle(stale, NOW, keys, past_seconds=120).response)["token"] == "ACK"
    assert (
        read_response(dc09.handle(stale, NOW, keys, check_plain_timestamps=False).response)["token"] == "ACK"
    )
    encrypted = sia_frame(
        "#ENC128|NPA1", account="ENC128", key=KEY_128, timestamp=NOW - timedelta(seconds=90)
    )
    assert (
        read_response(dc09.handle(encrypted, NOW, keys, check_plain_timestamps=False).response)["token"]
        == "NAK"
    )


def test_plain_frame_without_timestamp_is_acked():
    result = dc09.handle(sia_frame(timestamp=None), NOW, keys)

    assert read_response(result.response)["token"] == "ACK"
    assert result.frame.timestamp is None


def test_account_from_the_data_block_when_the_header_has_none():
    result = dc09.handle(wrap('"SIA-DCS"0001L0[#5678|NPA1]'), NOW, keys)
    odd = dc09.handle(wrap('"SIA-DCS"0001L0[# 5678|NPA1]'), NOW, keys)

    assert result.frame.account == "5678" and read_response(result.response)["account"] == "#5678"
    assert odd.frame.account is None and read_response(odd.response)["account"] is None


# --- every error class ------------------------------------------------------------------------------


def _encrypted_body(content: str, key: bytes = KEY_128, header: str = '"*SIA-DCS"0001L0#ENC128[') -> bytes:
    return wrap(header + dc09.encrypt_region(content, key))


_TS = dc09.format_timestamp(NOW)
ERROR_CASES = [
    ("crc", b"\n0000" + sia_frame()[5:], dc09.CrcError, None),
    ("length", sia_frame()[:5] + b"0001" + sia_frame()[9:], dc09.LengthError, None),
    ("no LF", sia_frame()[1:], dc09.MalformedFrameError, None),
    ("no CR", sia_frame()[:-1], dc09.MalformedFrameError, None),
    ("CRC not hex", b"\nZZZZ" + sia_frame()[5:], dc09.MalformedFrameError, None),
    ("too long", wrap('"SIA-DCS"0001L0#1234[#1234|N' + "/PA1" * 260 + "]"), dc09.MalformedFrameError, None),
    ("no header", wrap("SIA-DCS 0001 #1234 [PA1]"), dc09.MalformedFrameError, None),
    ("a response", wrap(f'"ACK"0001L0#1234[]{_TS}'), dc09.MalformedFrameError, None),
    ("no key", sia_frame("#ENC999|NPA1", account="ENC999", key=KEY_128), dc09.UnknownAccountError, None),
    (
        "encrypted without account",
        _encrypted_body(f"#ENC128|NPA1]{_TS}", header='"*SIA-DCS"0001L0['),
        dc09.UnknownAccountError,
        None,
    ),
    (
        "plain from keyed account",
        sia_frame("#ENC128|NPA1", account="ENC128"),
        dc09.EncryptionRequiredError,
        None,
    ),
    ("wrong key", _encrypted_body(f"#ENC128|NPA1]{_TS}", key=KEY_256), dc09.DecryptionError, None),
    ("not whole blocks", wrap('"*SIA-DCS"0001L0#ENC128[00112233'), dc09.DecryptionError, None),
    ("encrypted without timestamp", _encrypted_body("#ENC128|NPA1]"), dc09.DecryptionError, None),
    ("encrypted not hex", wrap('"*SIA-DCS"0001L0#ENC128[NOT-HEX]'), dc09.MalformedFrameError, None),
    ("month 13", wrap('"SIA-DCS"0001L0#1234[#1234|NPA1]_08:30:00,13-28-2026'), dc09.TimestampError, "NAK"),
    ("stale", sia_frame(timestamp=NOW - timedelta(hours=1)), dc09.TimestampError, "NAK"),
]


@pytest.mark.parametrize(
    ("raw", "error", "answer"), [case[1:] for case in ERROR_CASES], ids=[c[0] for c in ERROR_CASES]
)
def test_error_classes_and_their_answers(raw, error, answer):
    result = dc09.handle(raw, NOW, keys)

    assert type(result.error) is error
    assert isinstance(result.error, dc09.FrameError)
    assert result.error.answer == answer
    assert result.events == []
    if answer is None:
        assert result.response is None and result.frame is None
    else:
        assert read_response(result.response)["token"] == answer


UNREADABLE_CASES = [
    ("no closing ]", '"SIA-DCS"0001L0#1234[#1234|NPA1', "#1234|NPA1"),
    ("junk after data", '"SIA-DCS"0001L0#1234[#1234|NPA1]junk', "#1234|NPA1]junk"),
    (
        "broken timestamp",
        '"ADM-CID"0001L0#1234[#1234|1120 01 015]_8:30,11-28-2026',
        "#1234|1120 01 015]_8:30,11-28-2026",
    ),
    ("not Contact ID", '"ADM-CID"0001L0#1234[#1234|9120 01 015]', "9120 01 015"),
    ("Contact ID without account", '"ADM-CID"0001L0#1234[hello]', "hello"),
    ("NULL with junk", '"NULL"0001L0#1234[', ""),
]


@pytest.mark.parametrize(
    ("body", "code"), [c[1:] for c in UNREADABLE_CASES], ids=[c[0] for c in UNREADABLE_CASES]
)
def test_supported_token_with_unreadable_data_is_acked_as_one_unknown_event(body, code):
    result = dc09.handle(wrap(body), NOW, keys)

    assert result.error is None
    assert read_response(result.response)["token"] == "ACK"
    assert read_response(result.response)["account"] == "#1234"
    assert [(e.kind, e.code, e.zone, e.restore) for e in result.events] == [
        (EventKind.UNKNOWN, code, None, False)
    ]


def test_unreadable_data_from_an_account_with_a_key_is_still_refused_in_plain():
    result = dc09.handle(wrap('"SIA-DCS"0001L0#ENC128[#ENC128|NPA1'), NOW, keys)

    assert isinstance(result.error, dc09.EncryptionRequiredError) and result.response is None


def test_never_a_duh_an_unsupported_token_is_acked_as_one_unknown_event():
    answers = {
        dc09.handle(wrap(f'"{token}"0001L0#1234[#1234|NPA1'), NOW, keys).response[9:14]
        for token in ("SIA-DCS", "ADM-CID", "NULL", "SIA-XYZ")
    }
    result = dc09.handle(wrap('"ADM-HEX"0001L0#1234[#1234|1234 5]'), NOW, keys)

    assert answers == {b'"ACK"'}
    assert result.error is None and read_response(result.response)["token"] == "ACK"
    assert [(e.kind, e.code) for e in result.events] == [(EventKind.UNKNOWN, "ADM-HEX:#1234|1234 5")]


def test_parse_raises_the_error_classes():
    with pytest.raises(dc09.CrcError):
        dc09.parse_frame(b"\n0000" + sia_frame()[5:])
    with pytest.raises(dc09.UnknownAccountError):
        dc09.parse_frame(sia_frame("#ENC128|NPA1", account="ENC128", key=KEY_128))  # no key_for at all


# --- events -----------------------------------------------------------------------------------------


def events_of(data: str, token: str = "SIA-DCS") -> list[tuple]:
    raw = dc09.build_frame(token, sequence=1, account=ACCOUNT, data=data, timestamp=NOW)
    result = dc09.handle(raw, NOW, keys)
    assert read_response(result.response)["token"] == "ACK"
    return [(e.kind, e.code, e.zone, e.restore, e.area) for e in result.events]


@pytest.mark.parametrize(
    ("code", "kind", "restore"),
    [
        ("PA", EventKind.PANIC, False),
        ("HA", EventKind.PANIC, False),
        ("PR", EventKind.PANIC, True),
        ("RP", EventKind.HEARTBEAT, False),
        ("TA", EventKind.TAMPER, False),
        ("TR", EventKind.TAMPER, True),
        ("YT", EventKind.LOW_BATTERY, False),
        ("XT", EventKind.LOW_BATTERY, False),
        ("BA", EventKind.UNKNOWN, False),
        ("QQ", EventKind.UNKNOWN, False),
    ],
)
def test_sia_codes(code, kind, restore):
    assert events_of(f"#{ACCOUNT}|Nri1/{code}001") == [(kind, code, "001", restore, "1")]


@pytest.mark.parametrize(
    ("data", "kind", "restore"),
    [
        ("1120 01 015", EventKind.PANIC, False),
        ("3120 01 015", EventKind.PANIC, True),
        ("6120 01 015", EventKind.PANIC, False),
        ("1121 01 015", EventKind.PANIC, False),
        ("1122 01 015", EventKind.PANIC, False),
        ("1602 01 015", EventKind.HEARTBEAT, False),
        ("1137 01 015", EventKind.TAMPER, False),
        ("3144 01 015", EventKind.TAMPER, True),
        ("1302 01 015", EventKind.LOW_BATTERY, False),
        ("1384 01 015", EventKind.LOW_BATTERY, False),
        ("1130 01 015", EventKind.UNKNOWN, False),
        ("1999 01 015", EventKind.UNKNOWN, False),
    ],
)
def test_contact_id_codes(data, kind, restore):
    assert events_of(f"#{ACCOUNT}|{data}", "ADM-CID") == [(kind, data[1:4], "015", restore, "01")]


def test_several_sia_events_in_one_block_with_modifiers_and_text():
    data = f"#{ACCOUNT}|Nri1/id0007/PA001^front gate^/ri2/TA002/YT/RP000|Aa free TEXT BA1"

    assert events_of(data) == [
        (EventKind.PANIC, "PA", "001", False, "1"),
        (EventKind.TAMPER, "TA", "002", False, "2"),
        (EventKind.LOW_BATTERY, "YT", None, False, "2"),
        (EventKind.HEARTBEAT, "RP", "000", False, "2"),
    ]


def test_sia_data_forms_without_account_or_slashes():
    assert events_of("|Nri1/PA501") == [(EventKind.PANIC, "PA", "501", False, "1")]
    assert events_of("Nri1PA5") == [(EventKind.PANIC, "PA", "5", False, "1")]
    assert events_of("#123456|Nri1CL0^VX FRONTE ^") == [(EventKind.UNKNOWN, "CL", "0", False, "1")]


def test_sia_block_without_event_code_is_one_unknown_event():
    assert events_of(f"#{ACCOUNT}|Aonly text") == [(EventKind.UNKNOWN, "", None, False, None)]


@pytest.mark.parametrize("key", [None, KEY_128])
def test_null_is_a_link_test(key):
    account = "ENC128" if key else ACCOUNT
    raw = dc09.build_frame("NULL", sequence=0, account=account, timestamp=NOW, key=key)

    result = dc09.handle(raw, NOW, keys)

    assert read_response(result.response, key)["token"] == ("*ACK" if key else "ACK")
    assert [(e.kind, e.code) for e in result.events] == [(EventKind.LINK_TEST, "NULL")]


# --- fuzzing ----------------------------------------------------------------------------------------


def check_result(result: dc09.Dc09Result) -> None:
    """Only ACK / *ACK / NAK or nothing (never a DUH), well framed; events only with an ACK."""
    assert isinstance(result, dc09.Dc09Result)
    if result.response is None:
        assert result.events == [] and result.error is not None
        return
    key = result.frame.key if result.frame is not None else None
    token = read_response(result.response, key)["token"]
    assert token in {"ACK", "*ACK", "NAK"}
    assert (token in {"ACK", "*ACK"}) is (result.error is None) is bool(result.events)


@settings(max_examples=500, deadline=None)
@given(raw=st.binary(max_size=1100))
def test_fuzz_arbitrary_bytes(raw):
    check_result(dc09.handle(raw, NOW, keys))


@settings(max_examples=500, deadline=None)
@given(body=st.binary(max_size=1100))
def test_fuzz_bodies_with_a_correct_crc(body):
    check_result(dc09.handle(wrap(body), NOW, keys))


@settings(max_examples=500, deadline=None)
@given(
    header=st.sampled_from(
        ['"SIA-DCS"0001L0#1234[', '"ADM-CID"0001R1L0#1234[', '"*SIA-DCS"0001L0#ENC128[', '"NULL"0001[']
    ),
    rest=st.text(st.sampled_from("#|[]^/_:,-0123456789ABCDEFNPRTYXariid *"), max_size=200),
)
def test_fuzz_structured_text_with_a_correct_crc(header, rest):
    check_result(dc09.handle(wrap(header + rest), NOW, keys))


VALID_FRAMES = [
    sia_frame(),
    sia_frame("#ENC128|Nri1/PA001/TA2", account="ENC128", key=KEY_128, extended=("X1",)),
    sia_frame("#ENC256|NRP", account="ENC256", key=KEY_256),
    dc09.build_frame("ADM-CID", sequence=3, account=ACCOUNT, data=f"#{ACCOUNT}|1120 01 015", timestamp=NOW),
    dc09.build_frame("NULL", sequence=0, account="ENC192", timestamp=NOW, key=KEY_192),
    PUBLISHED_ENCRYPTED,
    *(text.encode("latin-1") for text in PUBLISHED_FRAMES),
]


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    frame=st.sampled_from(VALID_FRAMES),
    edits=st.lists(
        st.tuples(
            st.sampled_from(["replace", "insert", "delete", "truncate"]),
            st.integers(0, 1100),
            st.integers(0, 255),
        ),
        min_size=1,
        max_size=4,
    ),
    fix_crc=st.booleans(),
)
def test_fuzz_mutated_valid_frames(frame, edits, fix_crc):
    data = bytearray(frame)
    for op, position, byte in edits:
        index = position % (len(data) + 1)
        if op == "replace" and index < len(data):
            data[index] = byte
        elif op == "insert":
            data.insert(index, byte)
        elif op == "delete" and index < len(data):
            del data[index]
        elif op == "truncate":
            del data[index:]
    raw = bytes(data)
    if fix_crc and len(raw) >= 10:  # get past the CRC, to reach header, decryption and data parsing
        raw = wrap(raw[9:-1])

    check_result(dc09.handle(raw, NOW, keys))


def test_pathological_inputs_are_refused_without_backtracking():
    for body in ("[" * 1000, "^" * 1000, '"SIA-DCS"0001L0#1234[#1234|N' + "ri" * 480, "a" * 5000):
        check_result(dc09.handle(wrap(body), NOW, keys))


# --- interoperability with my-dc09-spt (an independent dialler) -------------------------------------

SPT_CASES = [
    ("SIA-DCS", {"code": "PA", "zone": 1, "area": 1}, (EventKind.PANIC, "PA", "1", False, "1")),
    ("SIA-DCS", {"code": "RP"}, (EventKind.HEARTBEAT, "RP", None, False, None)),
    (
        "SIA-DCS",
        {"code": "TA", "zone": 3, "zonename": "gate", "text": "tamper"},
        (EventKind.TAMPER, "TA", "3", False, None),
    ),
    ("SIA-DCS", {"code": "OP", "user": 5, "area": 2}, (EventKind.UNKNOWN, "OP", "5", False, "2")),
    ("ADM-CID", {"code": 120, "zone": 15, "area": 1}, (EventKind.PANIC, "120", "015", False, "01")),
    ("ADM-CID", {"code": 602}, (EventKind.HEARTBEAT, "602", "000", False, "00")),
    ("ADM-CID", {"code": 137, "zone": 2, "q": 3}, (EventKind.TAMPER, "137", "002", True, "00")),
    ("ADM-CID", {"code": 121, "user": 7}, (EventKind.PANIC, "121", "007", False, "00")),
]
SPT_KEYS = [
    pytest.param(None, id="plain"),
    pytest.param(KEY_128, id="aes128"),
    pytest.param(KEY_256, id="aes256"),
]


def spt_keys(key):
    return lambda account: key if account == ACCOUNT else None


def spt_payload(mtype, params):
    if mtype == "SIA-DCS":
        return dc03_msg.dc03event(ACCOUNT, dict(params))
    return dc05_msg.dc05event(ACCOUNT, dict(params))


@pytest.mark.parametrize("key", SPT_KEYS)
@pytest.mark.parametrize(("mtype", "params", "expected"), SPT_CASES)
def test_interop_messages_built_by_my_dc09_spt(mtype, params, expected, key):
    spt = dc09_msg(ACCOUNT, key, receiver=0x12, line=3)
    with time_machine.travel(NOW, tick=False):
        raw = spt.dc09block(17, mtype, spt_payload(mtype, params)).encode("ascii")

        result = dc09.handle(raw, NOW, spt_keys(key))

        answer, offset = spt.dc09answer(17, result.response.decode("ascii"))
    assert (answer, offset) == ("ACK", 0.0)
    assert result.frame.encrypted is (key is not None)
    assert (result.frame.token, result.frame.receiver, result.frame.prefix) == (mtype, "12", "3")
    assert [(e.kind, e.code, e.zone, e.restore, e.area) for e in result.events] == [expected]


@pytest.mark.parametrize("key", SPT_KEYS)
def test_interop_poll_built_by_my_dc09_spt(key):
    spt = dc09_msg(ACCOUNT, key, line=0)
    with time_machine.travel(NOW, tick=False):
        result = dc09.handle(spt.dc09poll().encode("ascii"), NOW, spt_keys(key))

        assert spt.dc09answer(0, result.response.decode("ascii")) == ("ACK", 0.0)
    assert [e.kind for e in result.events] == [EventKind.LINK_TEST]


def test_interop_my_dc09_spt_corrects_its_clock_from_our_nak():
    spt = dc09_msg(ACCOUNT, KEY_128, line=0)
    payload = spt_payload("SIA-DCS", {"code": "PA", "zone": 1})
    with time_machine.travel(NOW - timedelta(minutes=2), tick=False):  # the dialler's clock is 2 min slow
        first = dc09.handle(spt.dc09block(5, "SIA-DCS", payload).encode("ascii"), NOW, spt_keys(KEY_128))
        answer, offset = spt.dc09answer(5, first.response.decode("ascii"))
        spt.set_offset(offset)
        second = dc09.handle(spt.dc09block(5, "SIA-DCS", payload).encode("ascii"), NOW, spt_keys(KEY_128))

        assert (answer, offset) == ("NAK", 120.0)
        assert first.events == []
        assert spt.dc09answer(5, second.response.decode("ascii")) == ("ACK", 120.0)
    assert [e.kind for e in second.events] == [EventKind.PANIC]


@contextlib.contextmanager
def loopback_receiver(transport, key_for):
    """A tiny receiver on loopback: each frame goes through `dc09.handle`, its answer goes back."""
    results = []

    def answer(raw):
        result = dc09.handle(raw, datetime.now(UTC), key_for)
        results.append(result)
        return result.response

    class TcpHandler(socketserver.BaseRequestHandler):
        def handle(self):
            raw = b""
            while not raw.endswith(b"\r") and len(raw) <= dc09.MAX_FRAME_BYTES:
                chunk = self.request.recv(1024)
                if not chunk:
                    return
                raw += chunk
            response = answer(raw)
            if response:
                self.request.sendall(response)

    class UdpHandler(socketserver.BaseRequestHandler):
        def handle(self):
            raw, sock = self.request
            response = answer(raw)
            if response:
                sock.sendto(response, self.client_address)

    if transport == "tcp":
        server = socketserver.TCPServer(("127.0.0.1", 0), TcpHandler)
    else:
        server = socketserver.UDPServer(("127.0.0.1", 0), UdpHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], results
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize("key", SPT_KEYS)
@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_interop_my_dc09_spt_dialler_over_real_sockets(transport, key):
    with loopback_receiver(transport, spt_keys(key)) as (port, results):
        spt = dc09_spt(ACCOUNT)
        spt.set_path("main", "primary", "127.0.0.1", port, account=ACCOUNT, key=key, line=0, type=transport)

        spt.send_msg("SIA-DCS", {"code": "PA", "zone": 1, "area": 1})  # raises unless ACKed
        spt.send_msg("ADM-CID", {"code": 120, "zone": 15, "area": 1})
        polled = spt.transfer_msg(0, "NULL", "]", spt.tpaths["main"]["primary"]["path"])

    assert polled is True
    assert spt.state()["msgs queued"] == 0 and spt.state()["msgs sent"] == 2
    assert [[(e.kind, e.code) for e in r.events] for r in results] == [
        [(EventKind.PANIC, "PA")],
        [(EventKind.PANIC, "120")],
        [(EventKind.LINK_TEST, "NULL")],
    ]
    assert all(r.frame.encrypted is (key is not None) for r in results)

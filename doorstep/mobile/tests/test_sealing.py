"""ECIES sealing of queued records (mobile/sealing.py): what the browser seals, only the device's server-side
key opens; a changed byte, another client id or another device's key does not."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doorstep.mobile import sealing

RECORD = {"household": 12, "findings": "户内人员正常", "photo": None}


def test_a_sealed_record_opens_with_the_devices_key():
    salt = sealing.new_salt()
    client_id = str(uuid.uuid4())
    sealed = sealing.seal(sealing.public_key(salt), RECORD, client_id)
    assert set(sealed) == {"epk", "iv", "ct"}
    assert "户内" not in str(sealed)
    assert sealing.unseal(salt, sealed, client_id) == RECORD


def test_each_seal_uses_a_new_ephemeral_key_and_iv():
    salt = sealing.new_salt()
    public = sealing.public_key(salt)
    a, b = sealing.seal(public, RECORD, "x"), sealing.seal(public, RECORD, "x")
    assert a["epk"] != b["epk"] and a["iv"] != b["iv"] and a["ct"] != b["ct"]


def test_the_key_is_derived_from_the_secret_and_the_salt(settings):
    salt = sealing.new_salt()
    public = sealing.public_key(salt)
    assert sealing.public_key(salt) == public
    assert sealing.public_key(sealing.new_salt()) != public
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    assert sealing.public_key(salt) != public


def test_another_client_id_does_not_open():
    salt = sealing.new_salt()
    sealed = sealing.seal(sealing.public_key(salt), RECORD, "a")
    with pytest.raises(sealing.SealError):
        sealing.unseal(salt, sealed, "b")


def test_another_devices_key_does_not_open():
    sealed = sealing.seal(sealing.public_key(sealing.new_salt()), RECORD, "a")
    with pytest.raises(sealing.SealError):
        sealing.unseal(sealing.new_salt(), sealed, "a")


def test_a_rotated_secret_key_does_not_open(settings):
    salt = sealing.new_salt()
    sealed = sealing.seal(sealing.public_key(salt), RECORD, "a")
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    with pytest.raises(sealing.SealError):
        sealing.unseal(salt, sealed, "a")


@pytest.mark.parametrize("part", ["epk", "iv", "ct"])
def test_any_changed_byte_does_not_open(part):
    salt = sealing.new_salt()
    sealed = sealing.seal(sealing.public_key(salt), RECORD, "a")
    raw = bytearray(sealing.b64d(sealed[part]))
    raw[len(raw) // 2] ^= 0x01
    with pytest.raises(sealing.SealError):
        sealing.unseal(salt, {**sealed, part: sealing.b64e(bytes(raw))}, "a")


@settings(max_examples=100, deadline=None)
@given(
    sealed=st.one_of(
        st.none(),
        st.text(max_size=10),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(
            st.sampled_from(["epk", "iv", "ct", "x"]),
            st.one_of(
                st.none(), st.integers(), st.text(max_size=120), st.binary(max_size=80).map(sealing.b64e)
            ),
        ),
    )
)
def test_garbage_is_a_seal_error_never_another_exception(sealed):
    with pytest.raises(sealing.SealError):
        sealing.unseal(sealing.new_salt(), sealed, "a")

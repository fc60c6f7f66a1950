"""Sealed records from the phone's offline queue (ADR 0024).

A record waits on the phone sealed to its device's public key (ECIES on P-256): for each record the browser
makes an ephemeral ECDH key pair, derives an AES-256-GCM key from the shared secret with HKDF-SHA-256
(salt ``SALT``, info ``INFO``), encrypts the record's JSON with the client id as associated data and keeps
``{"epk": raw ephemeral public key, "iv": 12 bytes, "ct": ciphertext+tag}`` (base64url without padding).
The phone cannot read back what it sealed; only the server can, with the device's private key, which is
derived from SECRET_KEY and the device's random salt each time it is needed and never stored. Revoking the
device (logout, or an administrator's "sign out everywhere") makes the server refuse to unseal.

The same construction in the browser is `static/doorstep/mobile/seal.js`; the tests seal in Python with
`seal()` below, exactly as the browser does.
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

SALT = b"doorstep.mobile"
INFO = b"doorstep.mobile.seal.v1"
KEY_INFO = b"doorstep.mobile.device-key.v1"
CURVE = ec.SECP256R1()
# The order of P-256's base point: a private scalar must lie in [1, N - 1].
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


class SealError(ValueError):
    """The sealed record is malformed or does not open with this device's key."""


def b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64d(text: Any) -> bytes:
    if not isinstance(text, str) or len(text) > 20_000_000:
        raise SealError("not base64 text")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise SealError("not base64 text") from exc


def new_salt() -> str:
    return b64e(secrets.token_bytes(32))


def private_key(salt: str) -> ec.EllipticCurvePrivateKey:
    """The device's private key: HKDF(SECRET_KEY, salt) reduced to a P-256 scalar."""
    material = HKDF(algorithm=hashes.SHA256(), length=48, salt=b64d(salt), info=KEY_INFO).derive(
        settings.SECRET_KEY.encode()
    )
    scalar = int.from_bytes(material, "big") % (N - 1) + 1
    return ec.derive_private_key(scalar, CURVE)


def public_key(salt: str) -> str:
    """The device's public key as the browser imports it: the raw uncompressed point, base64url."""
    point = (
        private_key(salt)
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return b64e(point)


def _aes_key(shared: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=SALT, info=INFO).derive(shared)


def unseal(salt: str, sealed: Any, client_id: str) -> Any:
    """The record sealed for the device with this salt, parsed from JSON; SealError otherwise."""
    if not isinstance(sealed, dict):
        raise SealError("sealed record must be an object")
    epk, iv, ct = b64d(sealed.get("epk")), b64d(sealed.get("iv")), b64d(sealed.get("ct"))
    if len(iv) != 12 or len(ct) < 16:
        raise SealError("bad iv or ciphertext")
    try:
        peer = ec.EllipticCurvePublicKey.from_encoded_point(CURVE, epk)
    except ValueError as exc:
        raise SealError("bad ephemeral key") from exc
    shared = private_key(salt).exchange(ec.ECDH(), peer)
    try:
        plain = AESGCM(_aes_key(shared)).decrypt(iv, ct, str(client_id).encode())
    except InvalidTag as exc:
        raise SealError("the record does not open with this device's key") from exc
    try:
        return json.loads(plain.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SealError("the record is not JSON") from exc


def seal(public: str, record: Any, client_id: str) -> dict[str, str]:
    """What the browser does (for tests and tools): seal `record` to the device's public key."""
    peer = ec.EllipticCurvePublicKey.from_encoded_point(CURVE, b64d(public))
    ephemeral = ec.generate_private_key(CURVE)
    shared = ephemeral.exchange(ec.ECDH(), peer)
    iv = secrets.token_bytes(12)
    ct = AESGCM(_aes_key(shared)).encrypt(
        iv, json.dumps(record, ensure_ascii=False).encode("utf-8"), str(client_id).encode()
    )
    epk = ephemeral.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return {"epk": b64e(epk), "iv": b64e(iv), "ct": b64e(ct)}
